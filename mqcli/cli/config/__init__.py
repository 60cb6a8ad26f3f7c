"""`mqcli config ...`: configuration profiles, one module per verb (imported
and built only when used, see mqcli.cli.lazy)."""

from collections.abc import Mapping
from typing import ClassVar

import typer

from mqcli.cli.lazy import LazyGroup


class ConfigGroup(LazyGroup):
    lazy_commands: ClassVar[Mapping[str, str]] = {
        "list": "mqcli.cli.config.list:list_profiles_cmd",
        "show": "mqcli.cli.config.show:show",
        "validate": "mqcli.cli.config.validate:validate",
        "init": "mqcli.cli.config.init:init",
    }


app = typer.Typer(
    cls=ConfigGroup,
    help=(
        "Configuration profiles: list, show, validate, init.\n\n"
        "Lookup: --config, $MQCLI_CONFIG, ./mqcli.yaml, ~/.config/mqcli/config.yaml; "
        "without a file the built-in profile 'local' (localhost) is used.\n\n"
        "Example: mqcli config show prod"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
