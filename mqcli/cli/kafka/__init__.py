"""`mqcli kafka ...`: one module per verb, registered here.

Command modules import the Kafka client libraries (through `mqcli.core.kafka`)
only inside the command functions, so `mqcli --help` and rabbit commands
never load them.  The verbs are imported and built only when used (see
mqcli.cli.lazy): `mqcli kafka produce --help` builds `produce` alone.
"""

from collections.abc import Mapping
from typing import Annotated, ClassVar, Optional

import typer

from mqcli.cli.kafka._common import ENGINE_META
from mqcli.cli.lazy import LazyGroup


class KafkaGroup(LazyGroup):
    lazy_commands: ClassVar[Mapping[str, str]] = {
        "produce": "mqcli.cli.kafka.produce:produce",
        "consume": "mqcli.cli.kafka.consume:consume",
        "group-consume": "mqcli.cli.kafka.group_consume:group_consume",
        "info": "mqcli.cli.kafka.info:info",
        "topics": "mqcli.cli.kafka.topics:app",
        "groups": "mqcli.cli.kafka.groups:app",
        "schemas": "mqcli.cli.kafka.schemas:app",
        "wait": "mqcli.cli.kafka.wait:app",
        "users": "mqcli.cli.kafka.users:app",
        "acls": "mqcli.cli.kafka.acls:app",
    }


app = typer.Typer(
    cls=KafkaGroup,
    help="Apache Kafka: produce, consume, group-consume, topics, groups, info.\n\nExample: mqcli kafka consume events -e",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.callback()
def kafka(
    ctx: typer.Context,
    engine: Annotated[
        Optional[str],
        typer.Option(
            "--engine",
            metavar="NAME",
            help="Kafka client library: kafka-python, librdkafka or native (librdkafka with mqcli's compiled "
            "produce and consume loops; default: $MQCLI_KAFKA_ENGINE, else the profile's kafka.engine, else native when built, "
            "else librdkafka when confluent-kafka is installed, else kafka-python).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Apache Kafka: produce, consume, group-consume, topics, groups, info.

    Example: mqcli kafka --engine librdkafka consume events -e
    """
    # Read by kafka_settings() in the command; ctx.meta is shared by the whole command tree.
    ctx.meta[ENGINE_META] = engine
