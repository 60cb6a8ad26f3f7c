"""`mqcli rabbit queues list`: every queue, through the management API."""

import typer

from mqcli.cli.rabbit.queues import list as list_
from mqcli.cli.watch import WatchCommand

app = typer.Typer(
    help="Queues with depth, consumers and rates (management API).\n\nExample: mqcli rabbit queues list --sort depth",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("list", cls=WatchCommand)(list_.list_queues)
