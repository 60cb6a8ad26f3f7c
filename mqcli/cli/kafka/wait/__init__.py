"""`mqcli kafka wait lag|topic`: wait for a condition, for CI (exit 5 on timeout)."""

import typer

from mqcli.cli.kafka.wait import lag, topic

app = typer.Typer(
    help="Wait until a group has caught up, or until a topic exists (exit 5 on timeout).\n\n"
    "Example: mqcli kafka wait lag --group billing --timeout 2m",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("lag")(lag.wait_lag)
app.command("topic")(topic.wait_topic)
