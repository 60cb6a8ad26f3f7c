"""The publisher's own marshalling of message frames matches pika's byte for byte."""

from __future__ import annotations

import decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pika import frame, spec

from mqcli.core.rabbit.publish import content_frames, fast_frames


def pika_frames(channel: int, props: spec.BasicProperties, body: bytes, body_max: int) -> bytes:
    """What pika's Connection._send_message writes after the method frame."""
    out = [frame.Header(channel, len(body), props).marshal()]
    for start in range(0, len(body), body_max):
        out.append(frame.Body(channel, body[start : start + body_max]).marshal())
    return b"".join(out)


PROPS = [
    spec.BasicProperties(),
    spec.BasicProperties(delivery_mode=2),
    spec.BasicProperties(
        content_type="text/plain",
        delivery_mode=2,
        priority=7,
        message_id="m-1",
        timestamp=1764059000,
        expiration="60000",
        headers={"a": "b", "n": 3, "d": decimal.Decimal("1.5"), "l": [1, "x"], "t": {"k": True}},
    ),
]


@pytest.mark.parametrize("props", PROPS)
@pytest.mark.parametrize("size", [0, 1, 100, 131064, 131065, 3 * 131064 + 5])
@pytest.mark.parametrize("channel", [1, 65535])
def test_content_frames_match_pika(props: spec.BasicProperties, size: int, channel: int) -> None:
    body_max = 131064  # frame_max 131072 minus the frame's header and end
    body = bytes(i % 251 for i in range(size))
    out: list[bytes] = []
    added = content_frames(out, channel, b"".join(props.encode()) + b"\xce", body, body_max)
    data = b"".join(out)
    assert data == pika_frames(channel, props, body, body_max)
    assert added == len(data)


def test_content_frames_small_frame_max() -> None:
    props = spec.BasicProperties(delivery_mode=1)
    body = b"0123456789" * 3
    out: list[bytes] = []
    content_frames(out, 3, b"".join(props.encode()) + b"\xce", body, 7)
    assert b"".join(out) == pika_frames(3, props, body, 7)
    assert len(out) == 2 + 3 * 5  # header (2 pieces) and five body frames of 7, 7, 7, 7, 2 bytes


def pika_message(
    channel: int, publish: spec.Basic.Publish, props: spec.BasicProperties, body: bytes, body_max: int
) -> bytes:
    """Everything pika's basic_publish writes for one message: method, content header, body frames."""
    return frame.Method(channel, publish).marshal() + pika_frames(channel, props, body, body_max)


_short = st.text(max_size=40)
_header_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.lists(st.integers(-1000, 1000), max_size=3),
)
_properties = st.builds(
    spec.BasicProperties,
    content_type=st.none() | _short,
    content_encoding=st.none() | _short,
    headers=st.none() | st.dictionaries(st.text(min_size=1, max_size=10), _header_values, max_size=4),
    delivery_mode=st.none() | st.sampled_from([1, 2]),
    priority=st.none() | st.integers(0, 9),
    correlation_id=st.none() | _short,
    reply_to=st.none() | _short,
    expiration=st.none() | st.integers(0, 10**9).map(str),
    message_id=st.none() | _short,
    timestamp=st.none() | st.integers(0, 2**40),
    type=st.none() | _short,
    app_id=st.none() | _short,
)


@settings(max_examples=150, deadline=None)
@given(
    props=_properties,
    size=st.integers(0, 300),
    body_max=st.integers(1, 120),
    channel=st.integers(1, 65535),
    exchange=_short,
    routing_key=_short,
    mandatory=st.booleans(),
)
def test_frames_match_pika_any_message(
    props: spec.BasicProperties,
    size: int,
    body_max: int,
    channel: int,
    exchange: str,
    routing_key: str,
    mandatory: bool,
) -> None:
    """content_frames, and fast_frames wherever the publisher uses it (a body of
    1..body_max bytes), give pika's bytes for any properties, body size and
    frame size (bodies above body_max are split as pika splits them)."""
    body = bytes(i % 251 for i in range(size))
    publish = spec.Basic.Publish(exchange=exchange, routing_key=routing_key, mandatory=mandatory)
    method = frame.Method(channel, publish).marshal()
    encoded = b"".join(props.encode()) + b"\xce"
    expected = pika_message(channel, publish, props, body, body_max)
    out = [method]
    added = content_frames(out, channel, encoded, body, body_max)
    assert b"".join(out) == expected
    assert added + len(method) == len(expected)
    if 0 < size <= body_max:
        st_, (head, mid) = fast_frames(method, channel, encoded)
        fast = st_.pack(head, size, mid, size) + body + b"\xce"
        assert fast == expected
        assert st_.size + 1 + size == len(expected)  # Publisher._fast_size + the body
