"""`mqcli rabbit queue inspect|purge|delete`."""

import typer

from mqcli.cli.rabbit.queue import delete, inspect, purge

app = typer.Typer(
    help="Inspect, purge or delete a queue.\n\nExample: mqcli rabbit queue inspect jobs --output json",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("inspect")(inspect.inspect)
app.command("purge")(purge.purge)
app.command("delete")(delete.delete)
