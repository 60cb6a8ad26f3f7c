"""`mqcli rabbit bindings list`: bindings, through the management API."""

import typer

from mqcli.cli.rabbit.bindings import list as list_

app = typer.Typer(
    help="Bindings of a vhost, a queue or an exchange (management API).\n\nExample: mqcli rabbit bindings list --queue jobs",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("list")(list_.list_bindings)
