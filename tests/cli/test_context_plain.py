"""AppContext's stderr lines without Rich: byte for byte what Rich writes."""

from __future__ import annotations

import io

import pytest

from mqcli.cli.context import AppContext

TEXTS = [
    "sent 1, failed 0, 5 B, 123 msg/s, 0.0s",
    "x" * 300 + " end",  # longer than any width: never wrapped
    "ünïcödé ☃ [bold]not markup[/] :smile:",
    "trailing   ",
    "tab\there",  # not printable: Rich expands the tab
    "bell\x07 and\rreturn",  # not printable: Rich strips these
]


def _app(env: dict[str, str] | None = None) -> tuple[AppContext, io.StringIO]:
    err = io.StringIO()
    return AppContext.create(stderr=err, env=env or {}, width=40), err


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("method", ["note", "error", "info", "report", "warn"])
def test_plain_lines_match_rich(text: str, method: str) -> None:
    fast, fast_err = _app()
    getattr(fast, method)(text)
    rich, rich_err = _app()
    assert rich.err is not None  # a console in use: every line goes through Rich
    getattr(rich, method)(text)
    assert fast_err.getvalue() == rich_err.getvalue()


def test_printable_line_does_not_need_rich() -> None:
    app, err = _app()
    app.note("sent 1")
    assert err.getvalue() == "mqcli: sent 1\n"
    assert app._err is None  # no Console built


def test_control_characters_still_go_through_rich() -> None:
    app, err = _app()
    app.note("a\tb")
    assert app._err is not None
    assert "\t" not in err.getvalue()
