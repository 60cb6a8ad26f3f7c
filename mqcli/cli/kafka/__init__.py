"""`mqcli kafka ...`: one module per verb, registered here.

Command modules import kafka-python (through `mqcli.core.kafka`) only inside
the command functions, so `mqcli --help` and rabbit commands never load it.
"""

import typer

from mqcli.cli.kafka import consume, group_consume, info, produce
from mqcli.cli.kafka.groups import app as groups_app
from mqcli.cli.kafka.topics import app as topics_app

app = typer.Typer(
    help="Apache Kafka: produce, consume, group-consume, topics, groups, info.\n\nExample: mqcli kafka consume events -e",
    no_args_is_help=True,
    rich_markup_mode=None,
)

app.command("produce")(produce.produce)
app.command("consume")(consume.consume)
app.command("group-consume")(group_consume.group_consume)
app.command("info")(info.info)
app.add_typer(topics_app, name="topics")
app.add_typer(groups_app, name="groups")
