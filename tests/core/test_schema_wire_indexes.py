"""Protobuf's message indexes in the Confluent wire format: zigzag varints (no broker)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mqcli.core.schema import wire


@pytest.mark.parametrize(
    ("n", "encoded"),
    [(0, b"\x00"), (-1, b"\x01"), (1, b"\x02"), (-2, b"\x03"), (63, b"\x7e"), (64, b"\x80\x01"), (300, b"\xd8\x04")],
)
def test_zigzag_varints_as_protobuf_writes_them(n: int, encoded: bytes) -> None:
    assert wire.write_varint(n) == encoded
    assert wire.read_varint(encoded) == (n, len(encoded))


@given(st.integers(-(2**63), 2**63 - 1))
def test_varint_round_trips(n: int) -> None:
    data = wire.write_varint(n)
    assert wire.read_varint(data + b"rest") == (n, len(data))


def test_varint_outside_64_bits_is_refused() -> None:
    with pytest.raises(ValueError):
        wire.write_varint(2**63)


def test_first_message_is_the_single_byte_zero() -> None:
    assert wire.write_indexes([0]) == b"\x00"
    indexes, body = wire.read_indexes(b"\x00\x08\x01")
    assert indexes == [0] and bytes(body) == b"\x08\x01"


def test_other_paths_are_count_then_indexes() -> None:
    # [1]: count 1 (zigzag 2), index 1 (zigzag 2); [2, 0]: count 2, 2, 0.
    assert wire.write_indexes([1]) == b"\x02\x02"
    assert wire.write_indexes([2, 0]) == b"\x04\x04\x00"
    assert wire.read_indexes(b"\x04\x04\x00body")[0] == [2, 0]


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=5), st.binary(max_size=16))
def test_indexes_round_trip(indexes: list[int], body: bytes) -> None:
    got, rest = wire.read_indexes(wire.write_indexes(indexes) + body)
    assert got == indexes and bytes(rest) == body


@pytest.mark.parametrize("data", [b"", b"\x80", b"\x04\x02", b"\x03\x02", b"\x7e", b"\x02\x01"])
def test_indexes_that_do_not_parse_are_not_framed(data: bytes) -> None:
    with pytest.raises(wire.NotFramed):
        wire.read_indexes(data)
