"""Help pages read like a CLI's (`TOPIC`, `N`, `DURATION`, `auto|json`), not like
Python types (`{topic}`, `<str>`, `<int range>`, `<list[int]>`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Optional

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from mqcli.cli.app import app
from mqcli.cli.lazy import cli_help

# A type placeholder anywhere on the page: <str>, <int range>, <list[str]>, <auto|json>.
# (Uppercase words in angle brackets are prose, e.g. PARTITION<TAB>OFFSET.)
TYPE_PLACEHOLDER = re.compile(r"<[a-z][^>]*>")
# Python's type names, and Click's (TEXT, INTEGER, ...) that plain Click would show.
TYPE_NAMES = {"str", "int", "float", "bool", "list", "dict", "tuple", "bytes", "path", "datetime"}
TYPE_NAMES |= {"TEXT", "INTEGER", "FLOAT", "BOOLEAN", "FILENAME", "DIRECTORY", "DATETIME"}
# The name column of an argument, and the value placeholder of an option.
ARGUMENT = re.compile(r"[A-Z][A-Z0-9_=]*(\.\.\.)?")
METAVAR = re.compile(r"[A-Za-z0-9_=|:.-]+")


def help_problems(page: str) -> list[str]:
    """What on a help page reads like a Python type instead of a CLI placeholder."""
    problems = [f"type placeholder {m.group()!r}" for m in TYPE_PLACEHOLDER.finditer(page)]
    section = ""
    for line in page.splitlines():
        if line.startswith("Usage:"):
            usage = line.split(" [OPTIONS]", 1)[-1].replace("COMMAND [ARGS]...", "")
            problems += [f"usage shows {usage.strip()!r}" for bad in "{}<" if bad in usage][:1]
            for word in re.findall(r"[^\s\[\]]+", usage.replace("...", "")):
                if not ARGUMENT.fullmatch(word):
                    problems.append(f"usage argument {word!r} is not a CLI metavar")
        elif line and not line.startswith(" "):
            section = line.rstrip(":")
        elif re.match(r"  \S", line) and section in ("Arguments", "Options"):
            column = re.split(r"\s{2,}", line.strip())[0]
            if section == "Arguments":
                if not ARGUMENT.fullmatch(column):
                    problems.append(f"argument {column!r} is not a CLI metavar")
                continue
            for spelling in column.split(" / "):
                words = [w for w in spelling.replace(",", " ").split() if not w.startswith("-")]
                for word in words:
                    if not METAVAR.fullmatch(word) or word in TYPE_NAMES:
                        problems.append(f"option {column!r} shows {word!r}")
    return problems


def _paths(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    # Reading .commands builds the lazily loaded groups and verbs (mqcli.cli.lazy).
    for name, cmd in group.commands.items():
        yield path + (name,)
        if hasattr(cmd, "commands"):
            yield from _paths(cmd, path + (name,))


ALL_PATHS = [(), *_paths(typer.main.get_command(app))]


def _help(typer_app: typer.Typer, args: list[str]) -> str:
    result = CliRunner().invoke(typer_app, [*args, "--help"], prog_name="mqcli")
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", ALL_PATHS, ids=[" ".join(p) or "mqcli" for p in ALL_PATHS])
def test_help_shows_cli_metavars(path: tuple[str, ...]) -> None:
    page = _help(app, list(path))
    assert help_problems(page) == [], page


def test_the_walk_reaches_lazy_verbs_and_nested_groups() -> None:
    paths = {" ".join(p) for p in ALL_PATHS}
    assert {"kafka produce", "kafka topics describe", "rabbit rpc call", "config show"} <= paths


def test_the_check_catches_typer_defaults() -> None:
    # Without mqcli's metavars and cli_help, typer shows Python types: the check must say so.
    plain = typer.Typer(rich_markup_mode=None)

    @plain.command()
    def cmd(
        topic: Annotated[str, typer.Argument(help="t")],
        count: Annotated[Optional[int], typer.Option("--count", min=1, help="n")] = None,
        items: Annotated[Optional[list[str]], typer.Option("--item", help="i")] = None,
    ) -> None:
        """x"""

    problems = help_problems(_help(plain, []))
    assert any("<str>" in p for p in problems)  # --item (typer < 0.29) or the argument (0.29)
    assert any("<int range>" in p for p in problems)
    assert any("'{topic}'" in p for p in problems)
    assert "argument 'topic' is not a CLI metavar" in problems


def test_cli_help_shows_arguments_by_their_metavar() -> None:
    plain = typer.Typer(rich_markup_mode=None)

    @plain.command()
    def cmd(
        topic: Annotated[str, typer.Argument(metavar="TOPIC", help="t")],
        values: Annotated[Optional[list[str]], typer.Argument(metavar="VALUE", help="v")] = None,
    ) -> None:
        """x"""

    command = cli_help(typer.main.get_command(plain))
    wrapper = typer.Typer(rich_markup_mode=None)
    wrapper.command("cmd")(cmd)
    ctx = typer.Context(command, info_name="cmd")
    assert command.collect_usage_pieces(ctx) == ["[OPTIONS]", "TOPIC", "[VALUE]..."]
    records = [p.get_help_record(ctx) for p in command.params if p.param_type_name == "argument"]
    assert [r[0] for r in records if r] == ["TOPIC", "VALUE..."]
