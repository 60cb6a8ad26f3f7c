"""`mqcli kafka ...`: one module per verb, registered here."""

import typer

app = typer.Typer(
    help="Apache Kafka: produce, consume, group-consume, topics, groups, info.\n\nExample: mqcli kafka consume events -e",
    no_args_is_help=True,
    rich_markup_mode=None,
)
