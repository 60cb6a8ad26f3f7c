"""`mqcli rabbit connections list|close`, through the management API."""

import typer

from mqcli.cli.rabbit.connections import close
from mqcli.cli.rabbit.connections import list as list_

app = typer.Typer(
    help="Client connections: list them, close one (management API).\n\nExample: mqcli rabbit connections list",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("list")(list_.list_connections)
app.command("close")(close.close)
