"""Write mqcli/cli/_fastspec.py, the parameters of the fast path's commands as
typer declares them: `python -m mqcli.cli.fastgen > mqcli/cli/_fastspec.py`
(`make completions` runs it; tests/cli/test_fast.py fails when it is stale).

The description is read from the Click commands typer builds (names, flags,
types, ranges, choices, defaults, environment variables, callbacks) and the
command functions' annotations (what typer's own converters make of a value:
an Enum member, a list).  Anything mqcli.cli.fast could not reproduce
exactly is an error here, or marked "refuse" (the fast path hands a command
line that uses it to typer).
"""

from __future__ import annotations

import enum
import inspect
import sys
import typing
from typing import Any

import typer
import typer.main
from typer._click import core, types  # typer's vendored Click

from mqcli.cli.app import configure
from mqcli.cli.root import app

# The commands the fast path runs: the one-message commands of issue 15.
COMMANDS = (("kafka", "produce"), ("kafka", "consume"), ("rabbit", "publish"), ("rabbit", "consume"))
# Options with a callback that the fast path refuses when given and skips
# otherwise: their callbacks do nothing with the default (--version prints
# and exits only when set; --help and completion are eager and exit).
SKIPPED_CALLBACKS = {"version", "help", "install_completion", "show_completion"}


def _base(annotation: Any) -> tuple[Any, bool]:
    """(element type, is a list) of a parameter's annotation, Annotated and Optional removed."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        assert len(args) == 1, annotation
        annotation = args[0]
    if typing.get_origin(annotation) is list:
        return typing.get_args(annotation)[0], True
    return annotation, False


def _type(param: Any) -> dict[str, Any]:
    t = param.type
    if isinstance(t, types.IntRange):
        assert not (t.min_open or t.max_open or t.clamp), param.name
        return {"type": "int", "min": t.min, "max": t.max}
    if type(t) is types.IntParamType:
        return {"type": "int", "min": None, "max": None}
    if type(t) is types.StringParamType:
        return {"type": "str"}
    if type(t) is types.BoolParamType and getattr(param, "is_flag", False):
        return {"type": "bool"}
    if type(t).__name__ == "TyperChoice":
        choices = [c.value if isinstance(c, enum.Enum) else c for c in t.choices]
        assert all(isinstance(c, str) for c in choices), param.name
        # Only exact matches are taken (case-insensitive ones go to typer).
        return {"type": "choice", "choices": choices}
    raise SystemExit(f"fastgen: {param.name}: type {t!r} is not one the fast path converts")


def _describe(param: Any, func: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": param.name}
    if param.callback is not None or param.is_eager or not param.expose_value:
        if param.name not in SKIPPED_CALLBACKS:
            raise SystemExit(f"fastgen: {param.name}: a callback the fast path does not run")
        # sorted: typer orders the help option's names differently from run to run
        out.update(action="refuse", opts=sorted([*param.opts, *param.secondary_opts]))
        return out
    annotation = func.__annotations__[param.name] if func is not None else None
    element, is_list = _base(annotation) if annotation is not None else (None, False)
    out.update(_type(param))
    if isinstance(element, type) and issubclass(element, enum.Enum):
        out["enum"] = f"{element.__module__}:{element.__qualname__}"
    elif element is not None and not (element in (str, int, bool) or typing.get_origin(element) is typing.Literal):
        raise SystemExit(f"fastgen: {param.name}: annotation {annotation!r} is not one the fast path converts")
    out["list"] = is_list
    # typer passes None for a list nobody gave only when its default is None (fast.py does the same).
    assert not is_list or param.default is None, param.name
    default = param.default
    if isinstance(default, enum.Enum):
        default = default.value
    out["default"] = default
    out["envvar"] = param.envvar
    if param.param_type_name == "argument":
        out.update(kind="argument", nargs=param.nargs, required=param.required)
        return out
    assert param.nargs == 1 and not param.required and not param.prompt, param.name
    if param.count:
        action = "count"
    elif param.is_flag:
        assert param.is_bool_flag and param._depr_flag_value is True, param.name
        action = "flag"
    else:
        action = "value"
    out.update(kind="option", action=action, opts=list(param.opts), secondary=list(param.secondary_opts))
    out["multiple"] = param.multiple
    return out


def _command(cmd: Any, ctx: Any, func: Any) -> dict[str, Any]:
    assert not ctx.ignore_unknown_options and ctx.token_normalize_func is None
    assert ctx.auto_envvar_prefix is None and not ctx.default_map
    # A group takes its options, then the subcommand; a command takes nothing more than its parameters.
    group = hasattr(cmd, "list_commands")
    assert (ctx.allow_extra_args, ctx.allow_interspersed_args) == ((True, False) if group else (False, True))
    return {"params": [_describe(p, func) for p in cmd.get_params(ctx)]}


def _target(func: Any) -> tuple[str, str | None]:
    """("module:function", its typer.Context parameter) of a command or group callback."""
    context = [n for n, p in inspect.signature(func).parameters.items() if p.annotation is typer.Context]
    return f"{func.__module__}:{func.__qualname__}", (context[0] if context else None)


def describe() -> dict[str, Any]:
    """The fast path's description of the root, the groups and COMMANDS."""
    root_cmd: Any = typer.main.get_command(app)  # the MqcliGroup
    root_ctx = root_cmd.make_context("mqcli", ["kafka"], resilient_parsing=True)
    assert app.registered_callback is not None and app.registered_callback.callback is not None
    root_func = app.registered_callback.callback
    # The fast path does what the root callback does with mqcli.cli.app.configure.
    taken = set(inspect.signature(configure).parameters) - {"app"}
    given = set(inspect.signature(root_func).parameters) - {"ctx", "version"}
    assert taken == given, (taken, given)
    spec: dict[str, Any] = {"root": _command(root_cmd, root_ctx, root_func), "groups": {}, "commands": {}}
    for group_name, name in COMMANDS:
        group = root_cmd.get_command(root_ctx, group_name)
        group_ctx = core.Context(group, parent=root_ctx, info_name=group_name)
        if group_name not in spec["groups"]:
            module, _, attribute = root_cmd.lazy_commands[group_name].partition(":")
            typer_app = getattr(sys.modules[module], attribute)
            callback = typer_app.registered_callback.callback if typer_app.registered_callback else None
            described = _command(group, group_ctx, callback)
            described["target"], described["context"] = _target(callback) if callback else (None, None)
            spec["groups"][group_name] = described
        leaf = group.get_command(group_ctx, name)
        leaf_ctx = core.Context(leaf, parent=group_ctx, info_name=name)
        module, _, attribute = group.lazy_commands[name].partition(":")
        func = getattr(sys.modules[module], attribute)
        described = _command(leaf, leaf_ctx, func)
        described["target"], described["context"] = _target(func)
        spec["commands"][f"{group_name} {name}"] = described
    return spec


def _params(params: list[dict[str, Any]], indent: str) -> list[str]:
    return [f"{indent}{param!r}," for param in params]


def _entry(described: dict[str, Any], indent: str) -> list[str]:
    return [
        f"{indent}'target': {described['target']!r},",
        f"{indent}'context': {described['context']!r},",
        f"{indent}'params': [",
        *_params(described["params"], indent + "    "),
        f"{indent}],",
    ]


def source() -> str:
    """The text of mqcli/cli/_fastspec.py: one parameter a line."""
    spec = describe()
    lines = [
        '"""Generated by `python -m mqcli.cli.fastgen` from the typer declarations: do not edit.',
        "",
        "The parameters of the root, the groups and the commands mqcli.cli.fast runs",
        'without typer (see mqcli.cli.fastgen)."""',
        "",
        "from typing import Any",
        "",
        "# fmt: off",
        "ROOT: list[dict[str, Any]] = [",
        *_params(spec["root"]["params"], "    "),
        "]",
        "GROUPS: dict[str, dict[str, Any]] = {",
    ]
    for name, group in spec["groups"].items():
        lines += [f"    {name!r}: {{", *_entry(group, "        "), "    },"]
    lines.append("}")
    lines.append("COMMANDS: dict[str, dict[str, Any]] = {")
    for name, command in spec["commands"].items():
        lines += [f"    {name!r}: {{", *_entry(command, "        "), "    },"]
    lines += ["}", "# fmt: on", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(source())
