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
import inspect
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Annotated, Any, ClassVar

import typer
import typer.main
from typer.core import TyperArgument, TyperGroup
from typer.models import ParameterInfo

from mqcli.cli.params import Declared

Command = Any  # a Click command (typer's vendored Click has no stable public path)


def evaluate_annotations(func: Callable[..., Any]) -> None:
    """Replace the string annotations of `func` (its module has `from __future__
    import annotations`) by the objects they name, and do the same for the
    parameter callbacks and completers its `typer.Option`s name.

    Typer reads a command's signature and type hints several times while building
    it (`inspect.signature(eval_str=True)` and `get_type_hints`, for the command,
    its callback wrapper and each parameter callback), and each time compiles
    and evaluates every annotation string again: for `kafka produce` (36
    parameters) that was ~15 ms of a one-shot command.  Evaluated once here, the
    same objects are found each time, as in a module without the future import."""
    annotations = getattr(func, "__annotations__", None)
    if not annotations or not any(isinstance(a, str) for a in annotations.values()):
        return
    # A module the fast path imports names typer only for type checkers
    # (`ctx: typer.Context`): the annotations find it here.
    evaluated = inspect.get_annotations(func, eval_str=True, locals={"typer": typer})
    func.__annotations__ = evaluated = {name: _made(a) for name, a in evaluated.items()}
    for annotation in evaluated.values():
        for info in getattr(annotation, "__metadata__", ()):
            if isinstance(info, ParameterInfo):
                for hook in (info.callback, info.autocompletion):
                    if hook is not None:
                        evaluate_annotations(hook)


def _made(annotation: Any) -> Any:
    """`Annotated[T, params.Option(...)]` as `Annotated[T, typer.Option(...)]` (see mqcli.cli.params)."""
    metadata = getattr(annotation, "__metadata__", ())
    if not any(isinstance(m, Declared) for m in metadata):
        return annotation
    made = tuple(m.make() if isinstance(m, Declared) else m for m in metadata)
    return Annotated[(annotation.__origin__, *made)]


def evaluate_app_annotations(app: typer.Typer) -> None:
    """evaluate_annotations for every callback of a Typer app and its sub-apps."""
    callbacks = [c.callback for c in app.registered_commands]
    if app.registered_callback is not None:
        callbacks.append(app.registered_callback.callback)
    for func in callbacks:
        if func is not None:
            evaluate_annotations(func)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            evaluate_app_annotations(group.typer_instance)


@contextmanager
def signatures_read_once() -> Iterator[None]:
    """While building commands, typer reads each function's parameters once.

    typer reads a command function's parameters twice (for its Click
    parameters, then for the callback wrapper, which only needs their names),
    each time with `inspect.signature`, `typing.get_type_hints` and a copy of
    every `typer.Option`: for `kafka produce` (36 parameters) the second reading
    was ~8 M instructions of a one-shot command.  Neither reader changes what
    it gets, so the first reading is reused for the second."""
    # typer.main calls it by the name it imported from typer.utils (not re-exported: a private seam).
    real = typer.main.get_params_from_function  # type: ignore[attr-defined]
    read: dict[Callable[..., Any], Any] = {}

    def once(func: Callable[..., Any]) -> Any:
        if func not in read:
            read[func] = real(func)
        return read[func]

    typer.main.get_params_from_function = once  # type: ignore[attr-defined]
    try:
        yield
    finally:
        typer.main.get_params_from_function = real  # type: ignore[attr-defined]


def build_command(name: str, target: str) -> Command:
    """Import "module:attribute" and build the command `name` from it."""
    module, _, attribute = target.partition(":")
    obj = getattr(importlib.import_module(module), attribute)
    with signatures_read_once():
        return _build(name, obj)


def _build(name: str, obj: Any) -> Command:
    if isinstance(obj, typer.Typer):
        evaluate_app_annotations(obj)
        command: Command = typer.main.get_group(obj)
    else:
        # A one-command app builds just that command, as a group builds each
        # of its commands (same help, parameters and callback).
        evaluate_annotations(obj)
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
