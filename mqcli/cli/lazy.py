"""Command groups whose subcommands are imported and built only when used.

Typer turns every registered command into a Click command up front (it
reads each signature and evaluates each annotation), and the command modules
must be imported for that: for mqcli's ~30 commands this was about half the
time of `mqcli --help`.  A `LazyGroup` names its subcommands as
"module:attribute" (a command function, or a Typer app for a nested group)
and builds one only when Click asks for it: to run it, to complete it, or to
list it in a help page.  The command tree, help texts and behaviour are the
same as with `app.command(name)(function)` and `app.add_typer(sub_app, name=name)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, ClassVar

import typer
import typer.main
from typer.core import TyperGroup

from mqcli.cli.options import cli_help

Command = Any  # a Click command (typer's vendored Click has no stable public path)


def build_command(name: str, target: str) -> Command:
    """Import "module:attribute" and build the command `name` from it."""
    module, _, attribute = target.partition(":")
    obj = getattr(importlib.import_module(module), attribute)
    if isinstance(obj, typer.Typer):
        command: Command = typer.main.get_group(obj)
    else:
        # A one-command app builds just that command, as a group builds each
        # of its commands (same help, parameters and callback).
        single = typer.Typer(add_completion=False, rich_markup_mode=None)
        # A verb may name its own command class (`--watch [INTERVAL]`: mqcli.cli.watch).
        single.command(name, cls=getattr(obj, "command_class", None))(obj)
        command = typer.main.get_command(single)
    command.name = name
    return cli_help(command)


class LazyCommands(MutableMapping[str, Command]):
    """A group's name -> command mapping that builds a command on first access.
    Iterating (names, in registration order) builds nothing."""

    def __init__(self, built: Mapping[str, Command], lazy: Mapping[str, str]) -> None:
        self._entries: dict[str, Command | str] = {**lazy, **built}

    def __getitem__(self, name: str) -> Command:
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = self._entries[name] = build_command(name, entry)
        return entry

    def __setitem__(self, name: str, command: Command) -> None:
        self._entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class LazyGroup(TyperGroup):
    """A TyperGroup with subcommands built on first use: subclasses set
    `lazy_commands` to {name: "module:attribute"}, in the order help lists them."""

    lazy_commands: ClassVar[Mapping[str, str]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.commands, self.lazy_commands)
