"""`mqcli rabbit delay publish|status`: delayed delivery."""

import typer

from mqcli.cli.rabbit.delay import publish, status

app = typer.Typer(
    help="Delayed delivery through TTL + dead-letter queues (or the delayed-message plugin).\n\nExample: mqcli rabbit delay publish --delay 30s --queue jobs 'later'",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("publish")(publish.publish)
app.command("status")(status.status)
