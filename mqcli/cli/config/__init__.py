"""`mqcli config ...`: configuration profiles, one module per verb."""

import typer

from mqcli.cli.config import init as init_cmd
from mqcli.cli.config import list as list_cmd
from mqcli.cli.config import show as show_cmd
from mqcli.cli.config import validate as validate_cmd

app = typer.Typer(
    help=(
        "Configuration profiles: list, show, validate, init.\n\n"
        "Lookup: --config, $MQCLI_CONFIG, ./mqcli.yaml, ~/.config/mqcli/config.yaml; "
        "without a file the built-in profile 'local' (localhost) is used.\n\n"
        "Example: mqcli config show prod"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)

app.command("list")(list_cmd.list_profiles_cmd)
app.command("show")(show_cmd.show)
app.command("validate")(validate_cmd.validate)
app.command("init")(init_cmd.init)
