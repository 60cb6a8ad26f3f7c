"""`mqcli kafka acls list|create|delete`: ACL bindings, one module per verb."""

import typer

from mqcli.cli.kafka.acls.create import create
from mqcli.cli.kafka.acls.delete import delete
from mqcli.cli.kafka.acls.list import list_acls

app = typer.Typer(
    help="ACLs (the broker's authorizer): list, create, delete, with kafka-acls.sh's flags.\n\n"
    "Example: mqcli kafka acls create --allow alice --operation read --topic orders",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("list")(list_acls)
app.command("create")(create)
app.command("delete")(delete)
