"""The output funnel (mqcli.cli.output) and the context's stderr helpers, without a broker."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from mqcli.cli.context import AppContext
from mqcli.cli.output import Table, emit

TABLE = Table(("name", "count"), [("a", 1), ("b", None)], title="two rows")


def _app(*, quiet: bool = False) -> tuple[AppContext, io.BytesIO, io.StringIO]:
    out, err = io.BytesIO(), io.StringIO()
    app = AppContext.create(stdout=out, stderr=err, env={"NO_COLOR": "1"})
    app.quiet = quiet
    return app, out, err


@pytest.mark.parametrize("output", ["auto", "tsv"])
def test_tsv_in_a_pipe_has_a_header_row_and_the_title_on_stderr(output: str) -> None:
    app, out, err = _app()
    emit(app, output, {"unused": True}, TABLE)
    assert out.getvalue() == b"NAME\tCOUNT\na\t1\nb\t\n"
    assert err.getvalue() == "two rows\n"


def test_table_is_a_rich_table_even_in_a_pipe() -> None:
    app, out, err = _app()
    emit(app, "table", None, TABLE)
    text = out.getvalue().decode()
    assert "two rows" in text and "name" in text and "│" in text
    assert "\t" not in text and err.getvalue() == ""


def test_json_is_the_document_alone() -> None:
    app, out, err = _app()
    emit(app, "json", [{"name": "ä", "n": 1}], TABLE, note="not for json")
    assert json.loads(out.getvalue()) == [{"name": "ä", "n": 1}]
    assert out.getvalue().endswith(b"}\n]\n") and "ä".encode() in out.getvalue()
    assert err.getvalue() == ""


def test_note_goes_to_stderr_before_the_tables() -> None:
    app, out, err = _app()
    emit(app, "auto", None, Table(("x",), [(1,)]), Table(("y",), [(2,)]), note="cluster c")
    assert out.getvalue() == b"X\n1\nY\n2\n"
    assert err.getvalue() == "cluster c\n"


def test_stderr_helpers_decide_prefix_and_quiet() -> None:
    app, _, err = _app()
    app.info("mqcli: done")
    app.note("sent 3")
    app.report("ok: file")
    app.warn("careful")
    app.error("not delivered: line 2: why")
    assert err.getvalue().splitlines() == [
        "mqcli: done",
        "mqcli: sent 3",
        "ok: file",
        "mqcli: warning: careful",
        "mqcli: not delivered: line 2: why",
    ]
    app, _, err = _app(quiet=True)
    app.info("mqcli: done")
    app.note("sent 3")
    app.report("ok: file")
    app.error("not answered: line 1: timeout")
    assert err.getvalue().splitlines() == ["ok: file", "mqcli: not answered: line 1: timeout"]


@pytest.mark.parametrize(
    "args",
    [
        ("kafka", "topics", "list", "-o", "raw"),
        ("kafka", "groups", "describe", "g", "-o", "human"),
        ("rabbit", "queue", "inspect", "q", "-o", "raw"),
        ("rabbit", "declare", "queue", "q", "-o", "table"),
        ("config", "list", "-o", "text"),
        ("config", "show", "-o", "tsv"),
    ],
)
def test_a_choice_the_command_does_not_take_is_a_usage_error(cli: Callable[..., Any], args: tuple[str, ...]) -> None:
    r = cli(*args)
    assert r.exit_code == 2, r.stderr
    assert "--output" in r.stderr and r.stdout == ""
