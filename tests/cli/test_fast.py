"""The one-shot fast path (mqcli.cli.fast): its description of the commands is
the typer declarations' (mqcli/cli/_fastspec.py is current), and whenever it
takes a command line it reads it exactly as typer does: the same values for
the root callback, the group's callback and the command.  A command line it
refuses goes to typer (help, errors), so refusing is always allowed; taking
one typer would read differently, or reject, is the failure these tests find."""

from __future__ import annotations

import inspect
import os
from typing import Any

import pytest
import typer
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqcli.cli import _fastspec, fastgen
from mqcli.cli.fast import parse
from tests.conftest import ROOT

COMMANDS = list(_fastspec.COMMANDS)


def test_spec_is_current() -> None:
    committed = (ROOT / "mqcli" / "cli" / "_fastspec.py").read_text()
    assert committed == fastgen.source(), "mqcli/cli/_fastspec.py is stale: run `make completions`"


# -- typer's reading of a command line ---------------------------------------------
class TyperReading:
    """The root, group and command callbacks of the real typer app, replaced by
    recorders of what typer passes them (after Click's parsing and typer's converters)."""

    def __init__(self, command: str) -> None:
        from mqcli.cli.root import app

        self.seen: dict[str, dict[str, Any]] = {}
        self.root = root = typer.main.get_command(app)
        group_name, name = command.split()
        root.callback = self._record("root", root.callback)
        group = root.commands[group_name]  # type: ignore[attr-defined]
        if group.callback is not None:
            group.callback = self._record("group", group.callback)
        func = group.commands[name].callback.__wrapped__  # typer's wrapper of the command function

        def command_function(**kwargs: Any) -> None:
            self.seen["command"] = kwargs

        command_function.__signature__ = inspect.signature(func)  # type: ignore[attr-defined]
        command_function.__annotations__ = func.__annotations__  # evaluated when mqcli built the command
        single = typer.Typer(add_completion=False)
        single.command(name)(command_function)
        group.commands[name] = typer.main.get_command(single)
        self.context = _fastspec.COMMANDS[command]["context"]

    def _record(self, level: str, callback: Any) -> Any:
        def record(**kwargs: Any) -> None:
            self.seen[level] = kwargs

        return record

    def read(self, argv: list[str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
        """(root, group, command) values, or None: typer did not run the command."""
        self.seen = {}
        try:
            self.root.main(args=argv, prog_name="mqcli", standalone_mode=False)
        except Exception:
            return None
        if "command" not in self.seen:
            return None
        root = {k: v for k, v in self.seen["root"].items() if k != "version"}
        command = {k: v for k, v in self.seen["command"].items() if k != self.context}
        return root, self.seen.get("group", {}), command


_readers: dict[str, TyperReading] = {}


def typer_reading(command: str, argv: list[str]) -> Any:
    if command not in _readers:
        _readers[command] = TyperReading(command)
    return _readers[command].read(argv)


def typed(values: dict[str, Any]) -> dict[str, tuple[type, Any]]:
    """Values with their types: True is not 1, "1" is not 1."""
    return {k: (type(v), [(type(x), x) for x in v] if isinstance(v, list) else v) for k, v in values.items()}


def check(argv: list[str]) -> bool:
    """The fast path's reading equals typer's whenever it takes `argv`; True if it took it."""
    parsed = parse(argv, os.environ)
    if parsed is None:
        return False
    assert parsed.command in COMMANDS
    reading = typer_reading(parsed.command, argv)
    assert reading is not None, f"the fast path takes {argv} but typer rejects it"
    root, group, command = reading
    assert typed(parsed.root) == typed(root), argv
    assert typed(parsed.group) == typed(group), argv
    assert typed(parsed.kwargs) == typed(command), argv
    return True


# -- hand-written command lines ------------------------------------------------------
TAKEN = [
    ["kafka", "produce", "T", "hello"],
    ["kafka", "consume", "T", "--offset", "-1", "--count", "1"],
    ["rabbit", "publish", "--queue", "Q", "hello"],
    ["rabbit", "consume", "Q", "--count", "1"],
    # global and group options, every spelling of a value, repeats, `--`, negative numbers
    ["--profile", "p", "--debug", "-q", "-vv", "kafka", "--engine", "librdkafka", "produce", "T", "a", "b"],
    ["-P", "p", "--connect-timeout=2s", "-v", "--verbose", "kafka", "produce", "T", "-kK", "-H", "a=1", "-Hb=2"],
    ["--config", "x.yaml", "kafka", "--engine=kafka-python", "consume", "T", "-p", "0", "-p1", "--partition=2"],
    ["kafka", "produce", "T", "--partition", "0", "--", "-1", "--key", "-x"],
    ["kafka", "produce", "--key", "--", "T", "v"],
    ["kafka", "produce", "-k=v", "T"],
    ["kafka", "produce", "T", "--input", "whole", "-D", "\\t", "--sync", "-o", "json", "--null"],
    ["kafka", "produce", "T", "-i", "jsonl", "-i", "line", "--linger-ms", "0", "--batch-size", "1_000"],
    ["kafka", "consume", "T", "-e", "-o", "json", "-c", "3", "-m", "x", "--match", "y", "--from", "-1h"],
    ["kafka", "consume", "T", "--offset=-5", "-f", "{key}", "-g", "G", "--isolation", "read_committed"],
    ["rabbit", "publish", "-q", "Q", "--transient", "--persistent", "--priority", "255", "-H", "x=1", "a", "b"],
    ["rabbit", "publish", "--exchange", "", "-r", "k", "--no-confirm", "--confirm-window=1", "-"],
    ["rabbit", "consume", "Q", "-c1", "-t", "1s", "--exit-at-end", "--on-error", "reject", "--prefetch", "1"],
    ["rabbit", "consume", "--", "-Q"],
    ["-q", "rabbit", "consume", "Q", "-o", "raw", "-D", "\\0", "--reconnect", "0", "-x", "cat", "--no-ack"],
]
REFUSED = [
    [],
    ["kafka"],
    ["kafka", "produce"],
    ["--help"],
    ["kafka", "produce", "--help"],
    ["kafka", "produce", "T", "-h"],
    ["--version", "kafka", "produce", "T"],
    ["kafka", "produce", "T", "--partition", "-1"],  # out of range: typer's error
    ["kafka", "produce", "T", "--nope"],
    ["kafka", "produce", "T", "--sync=1"],  # a flag given a value
    ["kafka", "produce", "T", "--key"],  # a value missing
    ["kafka", "consume", "T", "U"],  # an extra argument
    ["kafka", "consume", "T", "-o", "JSON"],  # not exactly a choice
    ["kafka", "consume", "T", "-c", "x"],
    ["kafka", "topics", "list"],  # not a fast command
    ["-vq", "--", "kafka", "produce", "T"],
    ["rabbit", "publish", "--priority", "256", "x"],
    ["rabbit", "consume", "Q", "-ec", "1", "-x"],
]


@pytest.mark.parametrize("argv", TAKEN, ids=" ".join)
def test_taken_as_typer_reads_it(argv: list[str]) -> None:
    assert check(argv), f"the fast path refused {argv}"


@pytest.mark.parametrize("argv", REFUSED, ids=lambda a: " ".join(a) or "(none)")
def test_refused(argv: list[str]) -> None:
    assert parse(argv, os.environ) is None


def test_environment_variables_as_typer_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["kafka", "produce", "T", "x"]
    with monkeypatch.context() as m:
        m.setenv("MQCLI_PROFILE", "p")
        m.setenv("MQCLI_CONFIG", "c.yaml")
        assert check(argv) and check(["--profile", "q", *argv])
    with monkeypatch.context() as m:
        m.setenv("MQCLI_PROFILE", "")  # empty: as unset
        assert check(argv)
    with monkeypatch.context() as m:
        m.setenv("_MQCLI_COMPLETE", "bash_complete")
        assert parse(argv, os.environ) is None


# -- generated command lines ---------------------------------------------------------
VALUES = st.one_of(
    st.sampled_from(["1", "0", "-1", "256", "1_0", " 2", "x", "a=b", "", "-", "--", "-k", "-h", "line", "whole"]),
    st.sampled_from(["jsonl", "json", "JSON", "auto", "raw", "human", "read_committed", "stop", "requeue"]),
    st.text(alphabet="ab=-1 ", max_size=4),
)


def _value(param: dict[str, Any]) -> st.SearchStrategy[str]:
    """Mostly values typer takes for `param`, sometimes anything (one in eight)."""
    if param.get("type") == "int":
        low = param["min"] if param["min"] is not None else -5
        good = st.integers(low, param["max"] if param["max"] is not None else low + 300).map(str)
    elif param.get("type") == "choice":
        good = st.sampled_from(param["choices"])
    else:
        good = st.text(alphabet="ab=-1\\ ", max_size=5)
    return st.integers(0, 7).flatmap(lambda i: VALUES if i == 0 else good)


@st.composite
def _option(draw: st.DrawFn, params: list[dict[str, Any]]) -> list[str]:
    """The tokens of one option, in one of Click's spellings (sometimes a wrong one)."""
    options = [p for p in params if p.get("kind") == "option"]
    # Now and then --help, --version and the like, which the fast path leaves to typer.
    refused = [p for p in params if p.get("action") == "refuse"]
    param = draw(st.sampled_from(refused if (refused and draw(st.integers(0, 29)) == 0) or not options else options))
    opt = draw(st.sampled_from(param["opts"] + param.get("secondary", [])))
    takes_value = param.get("action") == "value"
    form = draw(st.integers(0, 9))
    if not takes_value and form < 8:
        return [opt]
    value = draw(_value(param))
    if form < 5 or (not takes_value and form == 8):
        return [opt, value]
    return [f"{opt}={value}"] if opt.startswith("--") else [opt + value]


def _part(params: list[dict[str, Any]], positional: bool) -> st.SearchStrategy[list[str]]:
    if not any(p.get("kind") == "option" for p in params):  # only --help: now and then
        return st.integers(0, 9).flatmap(lambda i: _option(params) if i == 0 else st.just([]))
    pieces: list[st.SearchStrategy[list[str]]] = [_option(params)] * 4
    # More arguments (a command without VALUE... refuses them, so rarely there).
    if positional or any(p.get("nargs") == -1 for p in params):
        words = st.integers(0, 7).flatmap(lambda i: VALUES if i == 0 else st.sampled_from(["T", "hello", "x y", "--"]))
        pieces.append(st.lists(words, min_size=1, max_size=2))
    return st.lists(st.one_of(*pieces), max_size=5).map(lambda parts: [t for part in parts for t in part])


@st.composite
def command_lines(draw: st.DrawFn, command: str) -> list[str]:
    """`[global options] GROUP [group options] COMMAND [its arguments and options]`, the
    required arguments first (mostly), options and more arguments anywhere."""
    group, name = command.split()
    params = _fastspec.COMMANDS[command]["params"]
    required = ["T" for p in params if p.get("kind") == "argument" and p["required"]]
    return [
        *draw(_part(_fastspec.ROOT, False)),
        group,
        *draw(_part(_fastspec.GROUPS[group]["params"], False)),
        name,
        *(required if draw(st.integers(0, 9)) else []),
        *draw(_part(params, draw(st.integers(0, 9)) == 0)),
    ]


@pytest.mark.parametrize("command", COMMANDS)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_command_lines_as_typer_reads_them(command: str, data: st.DataObject) -> None:
    check(data.draw(command_lines(command)))
