"""`mqcli rabbit declare queue|exchange|binding`."""

import typer

from mqcli.cli.rabbit.declare import binding, exchange, queue

app = typer.Typer(
    help="Declare queues, exchanges and bindings (idempotent when the settings match).\n\nExample: mqcli rabbit declare queue jobs --type quorum",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("queue")(queue.queue)
app.command("exchange")(exchange.exchange)
app.command("binding")(binding.binding)
