"""`mqcli kafka ...`: one module per verb, registered here.

Command modules import the Kafka client libraries (through `mqcli.core.kafka`)
only inside the command functions, so `mqcli --help` and rabbit commands
never load them.  The verbs are imported and built only when used (see
mqcli.cli.lazy): `mqcli kafka produce --help` builds `produce` alone.
"""

from collections.abc import Mapping
from typing import ClassVar

import typer

from mqcli.cli.kafka._common import kafka
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


# The group's options: a function of the typer-free _common, which the fast path calls too.
app.callback()(kafka)
