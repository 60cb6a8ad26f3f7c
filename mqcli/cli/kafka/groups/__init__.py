"""`mqcli kafka groups list|describe|delete|delete-offsets|reset-offsets`: one module per verb."""

import typer

from mqcli.cli.kafka.groups import describe, lag, reset_offsets
from mqcli.cli.kafka.groups import list as list_
from mqcli.cli.kafka.groups.delete import delete as delete_groups
from mqcli.cli.kafka.groups.delete_offsets import delete_offsets
from mqcli.cli.watch import WatchCommand

app = typer.Typer(
    help="Consumer groups: list, describe, lag, reset offsets, delete groups or their offsets.\n\nExample: mqcli kafka groups describe billing",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("list", cls=WatchCommand)(list_.list_groups)
app.command("describe", cls=WatchCommand)(describe.describe)
app.command("lag", cls=WatchCommand)(lag.lag)
app.command("delete")(delete_groups)
app.command("delete-offsets")(delete_offsets)
app.command("reset-offsets")(reset_offsets.reset_offsets)
