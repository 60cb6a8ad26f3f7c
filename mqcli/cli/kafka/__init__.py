"""`mqcli kafka ...`: one module per verb, registered here.

Command modules import the Kafka client libraries (through `mqcli.core.kafka`)
only inside the command functions, so `mqcli --help` and rabbit commands
never load them.
"""

from typing import Annotated, Optional

import typer

from mqcli.cli.kafka import consume, group_consume, info, produce
from mqcli.cli.kafka._common import ENGINE_META
from mqcli.cli.kafka.groups import app as groups_app
from mqcli.cli.kafka.topics import app as topics_app

app = typer.Typer(
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
            help="Kafka client library: kafka-python or librdkafka (default: $MQCLI_KAFKA_ENGINE, "
            "else the profile's kafka.engine, else librdkafka when confluent-kafka is installed, else kafka-python).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Apache Kafka: produce, consume, group-consume, topics, groups, info.

    Example: mqcli kafka --engine librdkafka consume events -e
    """
    # Read by kafka_settings() in the command; ctx.meta is shared by the whole command tree.
    ctx.meta[ENGINE_META] = engine


app.command("produce")(produce.produce)
app.command("consume")(consume.consume)
app.command("group-consume")(group_consume.group_consume)
app.command("info")(info.info)
app.add_typer(topics_app, name="topics")
app.add_typer(groups_app, name="groups")
