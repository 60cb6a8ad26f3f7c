"""Parsers for durations, times, delimiters and headers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mqcli.core.errors import UsageError
from mqcli.core.parse import parse_delimiter, parse_duration, parse_header, parse_time, typed_header_value, unescape


@pytest.mark.parametrize(
    "text, seconds",
    [("30s", 30), ("500ms", 0.5), ("1m30s", 90), ("2h", 7200), ("1d", 86400), ("1.5", 1.5), ("10", 10), (" 5s ", 5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "s", "5x", "-5s", "1 2", "1m30", "abc"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(UsageError, match="invalid duration"):
        parse_duration(bad)


def test_times() -> None:
    assert parse_time("2026-11-25T10:00:00Z") == 1795600800.0
    assert parse_time("2026-11-25T11:00:00+01:00") == 1795600800.0
    assert parse_time("2026-11-25T10:00:00") == 1795600800.0  # no offset: UTC
    assert parse_time("-1h", now=10_000.0) == 6_400.0
    assert parse_time("+30s", now=100.0) == 130.0
    assert parse_time("now", now=5.0) == 5.0
    assert parse_time("1795600800000") == 1795600800.0


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "-1x", "--1h"])
def test_bad_times(bad: str) -> None:
    with pytest.raises(UsageError, match="invalid time"):
        parse_time(bad)


def test_delimiters() -> None:
    assert parse_delimiter(r"\n") == b"\n"
    assert parse_delimiter(r"\0") == b"\0"
    assert parse_delimiter(r"\x1e") == b"\x1e"
    assert parse_delimiter("--") == b"--"
    assert parse_delimiter("é") == "é".encode()
    with pytest.raises(UsageError):
        parse_delimiter("")


def test_headers() -> None:
    assert parse_header("a=b=c") == ("a", "b=c")
    assert parse_header("a=") == ("a", "")
    for bad in ("=x", "novalue"):
        with pytest.raises(UsageError, match="invalid header"):
            parse_header(bad)


@pytest.mark.parametrize(
    "text, value",
    [
        ("30000", 30000),
        ("-2", -2),
        ("true", True),
        ("false", False),
        ("1.5", 1.5),
        ("abc", "abc"),
        ('"30000"', "30000"),
        ("", ""),
    ],
)
def test_typed_header_values(text: str, value: object) -> None:
    result = typed_header_value(text)
    assert result == value and type(result) is type(value)


@given(st.text(max_size=30))
def test_parsers_only_raise_usage_error(text: str) -> None:
    for parser in (parse_duration, parse_time, parse_delimiter, parse_header):
        try:
            parser(text)
        except UsageError:
            pass


@given(st.text(alphabet=st.characters(blacklist_characters="\\", blacklist_categories=("Cs",)), max_size=30))
def test_unescape_leaves_plain_text_alone(text: str) -> None:
    assert unescape(text) == text.encode("utf-8")


def test_unescape_gives_back_bytes_of_non_utf8_arguments() -> None:
    assert unescape(b"\xff".decode("utf-8", "surrogateescape")) == b"\xff"
