"""`mqcli rabbit ...`: one module per verb, registered here."""

import typer

app = typer.Typer(
    help="RabbitMQ: publish, consume, subscribe, rpc, delay and topology.\n\nExample: mqcli rabbit publish --queue jobs 'hello'",
    no_args_is_help=True,
    rich_markup_mode=None,
)
