"""`mqcli rabbit exchanges list`: every exchange, through the management API."""

import typer

from mqcli.cli.rabbit.exchanges import list as list_

app = typer.Typer(
    help="Exchanges with type, flags and rates (management API).\n\nExample: mqcli rabbit exchanges list -o json",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("list")(list_.list_exchanges)
