"""`mqcli kafka topics list|describe|create|delete`: one module per verb."""

import typer

from mqcli.cli.kafka.topics import create, delete, describe
from mqcli.cli.kafka.topics import list as list_
from mqcli.cli.watch import WatchCommand

app = typer.Typer(
    help="List, describe, create and delete topics.\n\nExample: mqcli kafka topics create orders --partitions 3 --if-not-exists",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("list")(list_.list_topics)
app.command("describe", cls=WatchCommand)(describe.describe)
app.command("create")(create.create)
app.command("delete")(delete.delete)
