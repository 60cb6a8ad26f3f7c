"""Shared option aliases, so every command spells its options the same way, and
how arguments show in help pages."""

from __future__ import annotations

import os
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperArgument


def complete_profiles(incomplete: str) -> list[str]:
    """Profile names from the config file, for shell completion."""
    try:
        from mqcli.core.config import list_profiles

        names = list_profiles(config_path=os.environ.get("MQCLI_CONFIG"), env=os.environ)
    except Exception:  # completion must never print a traceback into the shell
        return []
    return [n for n in names if n.startswith(incomplete)]


ProfileOpt = Annotated[
    Optional[str],
    typer.Option(
        "--profile",
        "-P",
        metavar="NAME",
        help="Profile to use (overrides the global --profile and $MQCLI_PROFILE).",
        autocompletion=complete_profiles,
        show_default=False,
    ),
]


# -- arguments in help pages ------------------------------------------------------
class CliArgument(TyperArgument):
    """An argument as a CLI's help shows it: `TOPIC` / `[VALUE]...` in the usage
    line and `TOPIC` in the list (its help text says the rest), instead of
    typer's `{TOPIC}` and `topic:TEXT`."""

    def make_metavar(self, ctx: Any, *, usage: bool = False) -> str:
        name = self.metavar or (self.name or "").upper()
        if usage and not self.required:
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")


def cli_help(command: Any) -> Any:
    """Show the arguments of `command` (and of the subcommands of a group that
    typer built at once) as CliArguments; returns `command`.  Called on every
    command mqcli builds (mqcli.cli.lazy.build_command)."""
    for param in command.params:
        if type(param) is TyperArgument:
            # typer builds every argument as a TyperArgument and takes no class
            # for it; CliArgument only overrides how it is displayed.
            param.__class__ = CliArgument
    commands = getattr(command, "commands", None)
    if isinstance(commands, dict):  # a lazy group builds (and fixes) each command when it is used
        for sub in commands.values():
            cli_help(sub)
    return command
