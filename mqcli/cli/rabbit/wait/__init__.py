"""`mqcli rabbit wait queue|exists`: wait for a condition, for CI (exit 5 on timeout)."""

import typer

from mqcli.cli.rabbit.wait import exists, queue

app = typer.Typer(
    help="Wait until a queue is drained, deep enough or consumed, or until something exists (exit 5 on timeout).\n\n"
    "Example: mqcli rabbit wait queue jobs --empty --timeout 2m",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("queue")(queue.wait_queue)
app.command("exists")(exists.wait_exists)
