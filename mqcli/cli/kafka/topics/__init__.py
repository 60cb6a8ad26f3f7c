"""`mqcli kafka topics list|describe|create|delete|alter-config|add-partitions|delete-records`: one module per verb."""

import typer

from mqcli.cli.kafka.topics import add_partitions, alter_config, create, delete, describe
from mqcli.cli.kafka.topics import list as list_
from mqcli.cli.kafka.topics.delete_records import delete_records
from mqcli.cli.watch import WatchCommand

app = typer.Typer(
    help="List, describe, create, delete and alter topics.\n\nExample: mqcli kafka topics create orders --partitions 3 --if-not-exists",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("list")(list_.list_topics)
app.command("describe", cls=WatchCommand)(describe.describe)
app.command("delete-records")(delete_records)
app.command("create")(create.create)
app.command("delete")(delete.delete)
app.command("alter-config")(alter_config.alter_config)
app.command("add-partitions")(add_partitions.add_partitions)
