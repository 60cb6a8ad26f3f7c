"""`mqcli kafka users list|set-password|delete`: SCRAM credentials, one module per verb."""

import typer

from mqcli.cli.kafka.users.delete import delete
from mqcli.cli.kafka.users.list import list_users
from mqcli.cli.kafka.users.set_password import set_password

app = typer.Typer(
    help="SCRAM users (SASL SCRAM-SHA-256/512 credentials): list, set a password, delete.\n\n"
    "Example: mqcli kafka users set-password alice --password-stdin",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("list")(list_users)
app.command("set-password")(set_password)
app.command("delete")(delete)
