"""FastDeliveries (core/rabbit/deliveries.py) against pika's own frame encoding
and decoding: every delivery handed on as pika would decode it, however the
bytes are split between reads, and every other frame left to pika in its
place in the stream."""

from __future__ import annotations

import random
from typing import Any

import pika.exceptions
import pika.frame
import pika.spec
import pytest

from mqcli.core.rabbit.deliveries import FastDeliveries

CH = 1


class _Conn:
    """The part of pika's connection FastDeliveries uses: the leftover input,
    the counters, and _process_frame (recorded here: what pika would handle)."""

    def __init__(self) -> None:
        self._frame_buffer = b""
        self.bytes_received = 0
        self.frames_received = 0
        self.is_open = True
        self.log: list[Any] = []

    def _process_frame(self, frame: Any) -> None:
        self.frames_received += 1
        self.log.append(("pika", frame))

    def _on_data_available(self, data: bytes) -> None:  # pika's own, used when the hook is absent
        self.log.append(("pika-data", data))


def deliver(tag: int, body: bytes, props: pika.spec.BasicProperties, *, ch: int = CH, frame_max: int = 131072) -> bytes:
    """A delivery's frames as the broker sends them (pika's marshalling)."""
    method = pika.spec.Basic.Deliver(
        consumer_tag="ctag1.abc", delivery_tag=tag, redelivered=tag % 2 == 0, exchange="ex", routing_key="rk.é"
    )
    out = [pika.frame.Method(ch, method).marshal(), pika.frame.Header(ch, len(body), props).marshal()]
    step = frame_max - 8
    for start in range(0, len(body), step):
        out.append(pika.frame.Body(ch, body[start : start + step]).marshal())
    return b"".join(out)


def expected(tag: int, body: bytes, props: pika.spec.BasicProperties) -> tuple[Any, ...]:
    # What pika's own decoding of these frames gives.
    decoded = pika.frame.decode_frame(pika.frame.Header(CH, len(body), props).marshal())[1]
    assert isinstance(decoded, pika.frame.Header)
    return (tag, tag % 2 == 0, "ex", "rk.é", decoded.properties.__dict__, body)


def run(stream: bytes, cuts: list[int]) -> tuple[_Conn, list[tuple[Any, ...]], int]:
    conn = _Conn()
    got: list[tuple[Any, ...]] = []
    wakes = [0]

    def on_delivery(tag: int, redelivered: bool, exchange: Any, rk: Any, props: Any, body: bytes) -> None:
        got.append((tag, redelivered, exchange, rk, dict(props.__dict__), body))

    fast = FastDeliveries(conn, CH, on_delivery, lambda: wakes.__setitem__(0, wakes[0] + 1))
    fast.install()
    start = 0
    for cut in [*cuts, len(stream)]:
        conn._on_data_available(stream[start:cut])
        start = cut
    assert conn._frame_buffer == b""  # everything consumed
    return conn, got, wakes[0]


PROPS = [
    pika.spec.BasicProperties(delivery_mode=2),
    pika.spec.BasicProperties(),
    pika.spec.BasicProperties(
        content_type="text/plain",
        headers={"a": 1, "b": b"x", "x-stream-offset": 7, "nested": {"k": [1, "two"]}},
        delivery_mode=1,
        priority=3,
        correlation_id="c",
        reply_to="r",
        expiration="60000",
        message_id="m",
        timestamp=1764059000,
        type="t",
        user_id="guest",
        app_id="app",
        cluster_id="cl",
    ),
]


def test_deliveries_as_pika_decodes_them_however_the_reads_split() -> None:
    rng = random.Random(15)
    messages = [(i + 1, rng.randbytes(rng.choice([0, 1, 100, 5000])), PROPS[i % 3]) for i in range(30)]
    stream = b"".join(deliver(t, b, p) for t, b, p in messages)
    want = [expected(t, b, p) for t, b, p in messages]
    for cuts in ([], list(range(1, len(stream))), sorted(rng.sample(range(1, len(stream)), 40))):
        conn, got, wakes = run(stream, cuts)
        assert got == want
        assert conn.bytes_received == len(stream)
        assert conn.frames_received == sum(3 if b else 2 for _t, b, _p in messages)
        assert conn.log == []
        assert wakes >= 1


def test_a_body_across_several_frames() -> None:
    body = bytes(range(256)) * 40
    stream = deliver(9, body, PROPS[0], frame_max=1000)
    conn, got, _ = run(stream, [500, 3000])
    assert got == [expected(9, body, PROPS[0])]
    assert conn.frames_received == 2 + 11


def test_other_frames_go_to_pika_in_their_place() -> None:
    heartbeat = pika.frame.Heartbeat().marshal()
    cancel = pika.frame.Method(CH, pika.spec.Basic.Cancel(consumer_tag="ctag1.abc")).marshal()
    other_channel = deliver(5, b"elsewhere", PROPS[0], ch=2)
    stream = deliver(1, b"a", PROPS[0]) + heartbeat + other_channel + deliver(2, b"b", PROPS[0]) + cancel
    order: list[Any] = []
    conn = _Conn()
    conn._process_frame = lambda frame: order.append(type(frame).__name__)  # type: ignore[method-assign]

    def on_delivery(tag: int, *_rest: Any) -> None:
        order.append(tag)

    FastDeliveries(conn, CH, on_delivery, lambda: None).install()
    conn._on_data_available(stream)
    # Channel 2's delivery is pika's: its method, header and body frames, in place.
    assert order == [1, "Heartbeat", "Method", "Header", "Body", 2, "Method"]


def test_closing_hands_the_rest_to_pika_and_uninstalls() -> None:
    close = pika.frame.Method(
        0, pika.spec.Connection.Close(reply_code=320, reply_text="bye", class_id=0, method_id=0)
    ).marshal()
    rest = deliver(2, b"b", PROPS[0])
    conn = _Conn()
    got: list[int] = []
    fast = FastDeliveries(conn, CH, lambda tag, *_: got.append(tag), lambda: None)
    fast.install()

    def process(frame: Any) -> None:
        conn.is_open = False  # as pika's handling of connection.close leaves it

    conn._process_frame = process  # type: ignore[method-assign]
    conn._on_data_available(deliver(1, b"a", PROPS[0]) + close + rest)
    assert got == [1]
    assert conn.log == [("pika-data", rest)]
    assert "_on_data_available" not in conn.__dict__


def test_a_bad_frame_end_is_an_error_as_in_pika() -> None:
    stream = bytearray(deliver(1, b"abc", PROPS[0]))
    stream[-1] = 0
    conn = _Conn()
    FastDeliveries(conn, CH, lambda *_: None, lambda: None).install()
    with pytest.raises(pika.exceptions.InvalidFrameError):
        conn._on_data_available(bytes(stream))
