"""Stream offsets (mqcli.core.rabbit.streams) without a broker."""

from __future__ import annotations

import datetime

import pytest

from mqcli.core.errors import UsageError
from mqcli.core.rabbit.consume import _past_end
from mqcli.core.rabbit.streams import offset_of, parse_offset

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("first", "first"),
        (" LAST ", "last"),
        ("next", "next"),
        ("0", 0),
        ("42", 42),
        ("-1h", datetime.datetime.fromtimestamp(NOW - 3600, tz=datetime.timezone.utc)),
        ("1800000000000", datetime.datetime.fromtimestamp(NOW, tz=datetime.timezone.utc)),
        ("2027-01-15T10:00:00Z", datetime.datetime(2027, 1, 15, 10, tzinfo=datetime.timezone.utc)),
    ],
)
def test_parse_offset(text: str, expected: object) -> None:
    assert parse_offset(text, now=NOW) == expected


def test_parse_offset_refuses_nonsense() -> None:
    with pytest.raises(UsageError, match="invalid --offset 'soon'"):
        parse_offset("soon")


def test_offset_of_header() -> None:
    assert offset_of({"x-stream-offset": 7}) == 7
    assert offset_of({"x-stream-offset": True}) is None
    assert offset_of({}) is None and offset_of(None) is None


def test_past_end() -> None:
    assert _past_end("next", 10) and _past_end(11, 10)
    assert not _past_end(10, 10) and not _past_end("first", 10) and not _past_end("last", 10)
