"""--offset parsing (pure logic; found by the fuzzing run in tests/fuzz)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mqcli.core.errors import UsageError
from mqcli.core.kafka.common import StartOffset


@pytest.mark.parametrize(
    "text, kind, value",
    [
        ("beginning", "beginning", 0),
        ("END", "end", 0),
        ("stored", "stored", 0),
        ("42", "offset", 42),
        ("-3", "relative", -3),
        ("-0", "relative", 0),
    ],
)
def test_offsets(text: str, kind: str, value: int) -> None:
    assert StartOffset.parse(text) == StartOffset(kind, value)


@pytest.mark.parametrize("bad", ["--0", "²", "1.5", "", "-", "first"])
def test_bad_offsets_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match="invalid --offset"):
        StartOffset.parse(bad)


@given(st.text(max_size=12))
def test_offset_parser_only_raises_usage_error(text: str) -> None:
    try:
        StartOffset.parse(text)
    except UsageError:
        pass


def test_resolve_clamps_to_the_partition() -> None:
    assert StartOffset("offset", 99).resolve(5, 10) == 10
    assert StartOffset("relative", -99).resolve(5, 10) == 5
    assert StartOffset("time").resolve(5, 10, found=None) == 10
    assert StartOffset("stored").resolve(5, 10, committed=None, reset="latest") == 10
