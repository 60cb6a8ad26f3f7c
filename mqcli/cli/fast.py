"""The one-shot fast path: the hot one-message commands without typer or Click.

Importing typer (with its vendored Click) and building a command from its
declaration cost about 100 M instructions, a fifth of a one-message
`mqcli kafka produce T hello`.  For the commands in mqcli/cli/_fastspec.py
(generated from the typer declarations by mqcli.cli.fastgen, checked by a
test), `parse` reads the command line as Click's parser and typer's
converters would, and `run` calls the same command function with the same
arguments, inside the same error boundary (mqcli.cli.app).

It refuses rather than guesses: anything it does not reproduce exactly (help,
--version, shell completion, an unknown option or command, a value typer
would reject or normalise, a missing argument) returns None, and the command
line goes to typer, whose output and exit code are then what they always were.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from mqcli.cli._fastspec import COMMANDS, GROUPS, ROOT

Param = dict[str, Any]


class Refused(Exception):
    """The command line is typer's to read."""


class Parsed:
    """A command line the fast path runs: the values typer would pass to the
    root callback, the group's callback and the command."""

    __slots__ = ("command", "group", "kwargs", "root")

    def __init__(self, root: dict[str, Any], group: dict[str, Any], command: str, kwargs: dict[str, Any]) -> None:
        self.root = root
        self.group = group
        self.command = command
        self.kwargs = kwargs


def parse(argv: Sequence[str], env: Mapping[str, str]) -> Parsed | None:
    """`argv` (without the program name) as typer would read it, or None: not ours."""
    if any(name.startswith("_MQCLI_COMPLETE") or name.startswith("_TYPER_") for name in env):
        return None  # shell completion
    try:
        root, rest = _parse_options(ROOT, list(argv), interspersed=False)
        if len(rest) < 2 or rest[0] not in GROUPS:
            return None
        group_name = rest[0]
        group, rest = _parse_options(GROUPS[group_name]["params"], rest[1:], interspersed=False)
        name = f"{group_name} {rest[0]}" if rest else ""
        if name not in COMMANDS:
            return None
        params = COMMANDS[name]["params"]
        given, positional = _parse_options(params, rest[1:], interspersed=True)
        return Parsed(
            _values(ROOT, root, [], env),
            _values(GROUPS[group_name]["params"], group, [], env),
            name,
            _values(params, given, positional, env),
        )
    except Refused:
        return None


def _parse_options(params: list[Param], args: list[str], *, interspersed: bool) -> tuple[dict[str, Any], list[str]]:
    """Click's option parser over one command's options: (what each option got,
    the positional arguments).  A group stops at its first positional argument
    (the subcommand); a command takes options and arguments in any order, and
    everything after `--` as arguments."""
    long: dict[str, tuple[Param, bool]] = {}
    short: dict[str, tuple[Param, bool]] = {}
    for param in params:
        if param.get("kind") == "argument":
            continue
        for opts, const in ((param["opts"], True), (param.get("secondary", []), False)):
            for opt in opts:
                (short if len(opt) == 2 and opt[0] == "-" and opt[1] != "-" else long)[opt] = (param, const)
    given: dict[str, Any] = {}
    positional: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            if not interspersed:
                raise Refused()  # `mqcli -- kafka ...`: left to typer
            break
        if arg[:1] == "-" and len(arg) > 1:
            _option(arg, rest, long, short, given)
        elif interspersed:
            positional.append(arg)
        else:
            rest.insert(0, arg)
            break
    return given, positional + rest


def _option(
    arg: str,
    rest: list[str],
    long: dict[str, tuple[Param, bool]],
    short: dict[str, tuple[Param, bool]],
    given: dict[str, Any],
) -> None:
    """One option token, as Click's parser takes it (`--name`, `--name=VALUE`,
    `--name VALUE`, `-x VALUE`, `-xVALUE`, `-abc` for flags)."""
    name, explicit = arg.split("=", 1) if "=" in arg else (arg, None)
    if name in long:
        param, const = long[name]
        if param["action"] == "value":
            if explicit is not None:
                rest.insert(0, explicit)
            _store(param, _next(rest), const, given)
        elif explicit is not None:
            raise Refused()  # a flag given a value: Click's error
        else:
            _store(param, None, const, given)
        return
    if arg[:2] == "--":
        raise Refused()  # no such option
    for i, char in enumerate(arg[1:], start=2):
        if "-" + char not in short:
            raise Refused()
        param, const = short["-" + char]
        if param["action"] == "value":
            if i < len(arg):
                rest.insert(0, arg[i:])
            _store(param, _next(rest), const, given)
            return
        _store(param, None, const, given)


def _next(rest: list[str]) -> str:
    if not rest:
        raise Refused()  # an option without its value
    return rest.pop(0)


def _store(param: Param, value: str | None, const: bool, given: dict[str, Any]) -> None:
    action = param["action"]
    name = param["name"]
    if action == "refuse":
        raise Refused()
    if action == "count":
        given[name] = given.get(name, 0) + 1
    elif action == "flag":
        given[name] = const
    elif param["multiple"]:
        given.setdefault(name, []).append(value)
    else:
        given[name] = value  # the last one wins, as in Click


def _values(
    params: list[Param], given: dict[str, Any], positional: list[str], env: Mapping[str, str]
) -> dict[str, Any]:
    """Each parameter's value as typer passes it to the function."""
    arguments = [p for p in params if p.get("kind") == "argument"]
    values = dict(zip([p["name"] for p in arguments], _unpack(arguments, positional), strict=True))
    out: dict[str, Any] = {}
    for param in params:
        if param.get("action") == "refuse":
            continue  # given, it was refused; not given, its callback does nothing (see fastgen)
        name = param["name"]
        argument = param["kind"] == "argument"
        raw = values.get(name) if argument else given.get(name)
        if raw is None and param["envvar"] is not None:
            if argument or param["multiple"]:
                raise Refused()  # Click splits those: not reproduced here
            raw = env.get(param["envvar"]) or None
        if raw is None:
            value = param["default"]
            if param["list"]:
                value = None  # typer: an empty list whose default is None is None
            elif value is not None and "enum" in param:
                value = _enum(param)(value)
        elif param["list"]:
            value = [_convert(param, v) for v in raw] or None
        elif param.get("action") in ("flag", "count"):
            value = raw
        else:
            value = _convert(param, raw)
        out[name] = value
    return out


def _unpack(arguments: list[Param], tokens: list[str]) -> list[Any]:
    """The positional tokens shared among the arguments as Click does, for
    arguments of one value and at most one of any number (nargs -1)."""
    counts = [p["nargs"] for p in arguments]
    if any(n not in (1, -1) for n in counts) or counts.count(-1) > 1:
        raise Refused()
    if -1 not in counts:
        if len(tokens) != len(counts):
            raise Refused()  # a missing or an extra argument: Click's error
        return list(tokens)
    i = counts.index(-1)
    after = len(counts) - i - 1
    if len(tokens) < i + after:
        raise Refused()
    middle = tokens[i : len(tokens) - after]
    return [*tokens[:i], middle or None, *tokens[len(tokens) - after :]]


def _convert(param: Param, value: str) -> Any:
    """One value from the command line, as Click's type and typer's converter make it."""
    kind = param["type"]
    if kind == "str":
        return value
    if kind == "int":
        try:
            number = int(value)
        except ValueError:
            raise Refused() from None
        if (param["min"] is not None and number < param["min"]) or (param["max"] is not None and number > param["max"]):
            raise Refused()
        return number
    if kind == "choice":
        if value not in param["choices"]:
            raise Refused()  # also a choice in other letter case, which Click would normalise
        return _enum(param)(value) if "enum" in param else value
    raise Refused()


def _enum(param: Param) -> Any:
    import importlib

    module, _, name = param["enum"].partition(":")
    return getattr(importlib.import_module(module), name)


def _function(target: str) -> Any:
    import importlib

    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def run(argv: Sequence[str]) -> int | None:
    """Run `argv` on the fast path and return the exit code; None: not ours (typer's)."""
    parsed = parse(argv, os.environ)
    if parsed is None:
        return None
    from mqcli.cli.app import configure, failure_exit_code
    from mqcli.cli.context import AppContext, CommandContext

    app = AppContext.create()
    ctx = CommandContext(app)
    try:
        try:
            # As typer: the root callback, the group's, then the command, each
            # in the error boundary; the context closes when the command ends.
            configure(app, **parsed.root)
            group = GROUPS[parsed.command.split()[0]]
            if group["target"] is not None:
                _call(group, ctx, parsed.group)
            _call(COMMANDS[parsed.command], ctx, parsed.kwargs)
        finally:
            ctx.close()
    except BaseException as e:
        code = failure_exit_code(e, app)
        if code is None:
            raise
        return code
    return 0


def _call(entry: dict[str, Any], ctx: Any, kwargs: dict[str, Any]) -> None:
    if entry["context"] is not None:
        kwargs = {entry["context"]: ctx, **kwargs}
    _function(entry["target"])(**kwargs)
