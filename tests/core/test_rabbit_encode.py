"""encode_properties (the publisher's own encoding of a message's properties
and headers) gives pika's bytes, or None where build_properties must decide."""

from __future__ import annotations

import datetime
import decimal
import struct
from typing import Any

import pika.exceptions as pex
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pika import frame, spec

from mqcli.core.errors import InputError
from mqcli.core.message import Message
from mqcli.core.move import KAFKA_TIMESTAMP_HEADER, PERSISTENT, Endpoint, for_rabbit, parse_endpoint
from mqcli.core.rabbit.convert import build_properties, encode_properties
from mqcli.core.rabbit.publish import content_frames, own_frames


def pika_bytes(properties: dict[str, Any], headers: list[tuple[str, Any]]) -> bytes:
    """What the publisher encoded before: build_properties (no defaults), then pika."""
    return b"".join(build_properties(Message(value=b"", properties=properties, headers=headers), {}, []).encode())


CASES: list[tuple[dict[str, Any], list[tuple[str, Any]]]] = [
    ({}, []),
    ({"delivery_mode": 2}, []),
    ({"timestamp": 1764059000, "delivery_mode": PERSISTENT}, [(KAFKA_TIMESTAMP_HEADER, 1764059000123)]),
    ({"timestamp": 0}, [(KAFKA_TIMESTAMP_HEADER, 0)]),
    ({"timestamp": 2**64 - 1}, []),
    ({"delivery_mode": 1, "priority": 0}, []),
    ({"priority": 255, "content_type": "application/json"}, []),
    # every property, in an order other than the wire's
    (
        {
            "cluster_id": "c",
            "app_id": "app",
            "user_id": "guest",
            "type": "t",
            "timestamp": 17,
            "message_id": "m-\u00e9",
            "expiration": "60000",
            "reply_to": "amq.rabbitmq.reply-to",
            "correlation_id": "c" * 255,
            "priority": 9,
            "delivery_mode": 2,
            "content_encoding": "gzip",
            "content_type": "",
        },
        [("h", b"v")],
    ),
    ({"message_id": None, "delivery_mode": 2}, [("a", None)]),  # a None property: not there
    (
        {},
        [
            ("bytes", b"\x00\xff"),
            ("empty", b""),
            ("text", "caf\u00e9"),
            ("int", 7),
            ("int32 max", 2**31 - 1),
            ("int32 min", -(2**31)),
            ("int64", 2**31),
            ("int64 min", -(2**63)),
            ("int64 max", 2**63 - 1),
            ("negative", -(2**31) - 1),
            ("true", True),
            ("false", False),
            ("none", None),
            ("float", 1.5),
            ("decimal", decimal.Decimal("-2.25")),
            ("datetime", datetime.datetime(2026, 12, 2, 22, 0, tzinfo=datetime.timezone.utc)),
            ("table", {"k": 1, "f": 0.25, "n": {"x": b"y"}}),
            ("array", [1, "two", b"3", None, True, 2.5]),
            ("\u00fcnicode name", "v"),
            ("n" * 255, 1),
        ],
    ),
    ({}, [("dup", 1), ("other", 2), ("dup", "last wins")]),
]


@pytest.mark.parametrize(("properties", "headers"), CASES)
def test_matches_pika(properties: dict[str, Any], headers: list[tuple[str, Any]]) -> None:
    assert encode_properties(properties, headers) == pika_bytes(properties, headers)


@pytest.mark.parametrize(
    ("properties", "headers"),
    [
        ({"nope": 1}, []),  # unknown property
        ({"priority": 256}, []),
        ({"priority": -1}, []),
        ({"delivery_mode": 3}, []),
        ({"delivery_mode": True}, []),
        ({"timestamp": "1"}, []),
        ({"timestamp": -1}, []),
        ({"timestamp": 2**64}, []),
        ({"message_id": 5}, []),
        ({"message_id": "x" * 256}, []),
        ({"expiration": 60000}, []),  # build_properties makes it text
        ({}, [("n" * 256, 1)]),
        ({}, [("big", 2**63)]),
        ({}, [("object", object())]),
    ],
)
def test_leaves_the_rest_to_build_properties(properties: dict[str, Any], headers: list[tuple[str, Any]]) -> None:
    """None where build_properties validates, converts or pika refuses: the
    publisher then goes the old way, which refuses it (or, for an expiration
    given as a number, makes it text)."""
    assert encode_properties(properties, headers) is None
    if properties == {"expiration": 60000}:
        assert pika_bytes(properties, headers) == pika_bytes({"expiration": "60000"}, headers)
    else:
        with pytest.raises((InputError, pex.ShortStringTooLong, pex.UnsupportedAMQPFieldException, struct.error)):
            pika_bytes(properties, headers)


_short = st.text(max_size=30)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6).map(lambda f: round(f, 3)),
    st.lists(st.integers(-1000, 1000) | st.text(max_size=3), max_size=3),
)
_properties = st.fixed_dictionaries(
    {},
    optional={
        "content_type": _short,
        "content_encoding": _short,
        "delivery_mode": st.sampled_from([1, 2]),
        "priority": st.integers(0, 255),
        "correlation_id": _short,
        "reply_to": _short,
        "expiration": st.integers(0, 10**9).map(str),
        "message_id": st.none() | _short,
        "timestamp": st.integers(0, 2**64 - 1),
        "type": _short,
        "user_id": _short,
        "app_id": _short,
        "cluster_id": _short,
    },
)


@settings(max_examples=300, deadline=None)
@given(properties=_properties, headers=st.lists(st.tuples(st.text(max_size=12), _values), max_size=5))
def test_matches_pika_any(properties: dict[str, Any], headers: list[tuple[str, Any]]) -> None:
    assert encode_properties(properties, headers) == pika_bytes(properties, headers)


@settings(max_examples=100, deadline=None)
@given(
    key=st.none() | st.binary(max_size=20),
    headers=st.lists(st.tuples(st.text(max_size=12), st.none() | st.binary(max_size=10)), max_size=4),
    timestamp=st.none() | st.integers(0, 2**45),
    target=st.sampled_from(["rabbit:q", "rabbit:exchange/ex", "rabbit:exchange/ex/rk"]),
)
def test_kafka_records_as_a_move_publishes_them(
    key: bytes | None, headers: list[tuple[str, Any]], timestamp: int | None, target: str
) -> None:
    """A Kafka record as RabbitTarget.convert makes it: the same bytes as pika's."""
    endpoint: Endpoint = parse_endpoint(target)
    record = Message(value=b"v", key=key, headers=headers, topic="t", partition=0, offset=1, timestamp=timestamp)
    out = for_rabbit(record, endpoint)
    out.properties.setdefault("delivery_mode", PERSISTENT)
    assert encode_properties(out.properties, out.headers) == pika_bytes(out.properties, out.headers)


@settings(max_examples=150, deadline=None)
@given(
    properties=_properties,
    size=st.integers(1, 300),
    channel=st.integers(1, 65535),
    exchange=_short,
    routing_key=_short,
)
def test_own_frames_match_pika(
    properties: dict[str, Any], size: int, channel: int, exchange: str, routing_key: str
) -> None:
    """own_frames (a message with properties of its own, one destination) gives
    what content_frames gives, which is pika's (tests/core/test_rabbit_frames)."""
    body = bytes(i % 251 for i in range(size))
    method = frame.Method(channel, spec.Basic.Publish(exchange=exchange, routing_key=routing_key)).marshal()
    props = encode_properties(properties, [])
    assert props is not None
    packer, head, mid = own_frames(method, channel, len(props))
    got = packer.pack(head, size, props, mid, size) + body + b"\xce"
    out = [method]
    content_frames(out, channel, props + b"\xce", body, 131064)
    assert got == b"".join(out)
    assert packer.size + 1 + size == len(got)  # what Publisher.publish counts
