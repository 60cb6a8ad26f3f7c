"""`mqcli rabbit consumers list`, through the management API."""

import typer

from mqcli.cli.rabbit.consumers import list as list_

app = typer.Typer(
    help="Consumers of the queues of a vhost (management API).\n\nExample: mqcli rabbit consumers list --queue jobs",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("list")(list_.list_consumers)
