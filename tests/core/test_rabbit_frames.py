"""The publisher's own marshalling of message frames matches pika's byte for byte."""

from __future__ import annotations

import decimal

import pytest
from pika import frame, spec

from mqcli.core.rabbit.publish import content_frames


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
