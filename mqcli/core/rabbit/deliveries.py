"""Reading a consumer's deliveries straight from the connection's input.

pika turns every delivery into three frame objects, each passed through its
connection's and channel's callback machinery, then a pending event of the
BlockingChannel dispatched at the end of process_data_events(): most of the
CPU a consumer spends per message.  `FastDeliveries` sits in front of that
for one channel: it parses the basic.deliver method frame, the content
header and the body frames itself and hands the delivery on at once, in the
order they came.  Every other frame (heartbeats, basic.cancel, channel or
connection close, anything on other channels) still goes through pika, one
frame at a time in its place in the stream.  Properties are decoded with
pika's own decoder, once per distinct encoding (the messages of one
publisher usually share theirs).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pika.spec
from pika.frame import decode_frame

from mqcli.core.rabbit.client import RabbitClient

# AMQP 0-9-1 frame layout (section 4.2.3): type, channel, payload size; payload; frame end.
_FRAME_START = struct.Struct(">BHI")
_FRAME_END = 0xCE
_METHOD, _HEADER, _BODY = 1, 2, 3
# basic.deliver: class 60, method 60.
_DELIVER_ID = struct.pack(">HH", 60, 60)
# A content header frame's start: type, channel, size, class id and weight (skipped), body size.
_HEADER_START = struct.Struct(">BHI4xQ")
_TAG_BIT = struct.Struct(">QB")  # basic.deliver's delivery tag and its redelivered bit
# A larger read per socket recv() than pika's 4 KiB: far fewer trips through
# its I/O loop when deliveries come fast (a 100-byte message is ~200 bytes).
RECV_BYTES = 1 << 16

# (delivery tag, redelivered, exchange, routing key, properties, body)
OnDelivery = Callable[[int, bool, Any, Any, pika.spec.BasicProperties, bytes], None]


def _short_str(buf: bytes, pos: int) -> tuple[Any, int]:
    """An AMQP short string at `pos` as pika decodes it (str, or bytes when not UTF-8)."""
    end = pos + 1 + buf[pos]
    raw = buf[pos + 1 : end]
    try:
        return raw.decode("utf-8"), end
    except UnicodeDecodeError:
        return raw, end


class FastDeliveries:
    """Delivers channel `number`'s basic.deliver frame sets to `on_delivery`
    without pika's frame objects, while installed on `connection` (pika's
    asynchronous connection; see the module docstring).  `wake` is called
    after a read that delivered something, so that a waiting
    process_data_events() returns (pika does not know about them)."""

    def __init__(self, connection: Any, number: int, on_delivery: OnDelivery, wake: Callable[[], None]) -> None:
        self._conn = connection
        self._number = number
        self._on_delivery = on_delivery
        self._wake = wake
        self._props_raw: bytes | None = None
        self._props: Any = None  # pika.spec.BasicProperties
        self._where_raw: bytes | None = None
        self._where: tuple[Any, Any] = ("", "")
        self._installed = False
        self._transport: Any = None
        self._frames = 0  # frames of the last delivery handed on

    @classmethod
    def install_on(cls, client: RabbitClient, channel: Any, on_delivery: OnDelivery) -> FastDeliveries | None:
        """Read `channel`'s deliveries (a BlockingChannel of `client`'s
        connection) this way from now on; None, leaving them to pika, when
        this pika lacks the internals it relies on."""
        conn = client.connection._impl
        if not all(hasattr(conn, a) for a in ("_frame_buffer", "_process_frame", "bytes_received", "frames_received")):
            return None
        fast = cls(conn, channel.channel_number, on_delivery, client.wake)
        fast.install()
        return fast

    def install(self) -> None:
        # An instance attribute shadows the method pika's transport calls with each read.
        self._conn._on_data_available = self._on_data
        transport = getattr(self._conn, "_transport", None)
        if transport is not None and getattr(transport, "_MAX_RECV_BYTES", RECV_BYTES) < RECV_BYTES:
            transport._MAX_RECV_BYTES = RECV_BYTES
            self._transport = transport
        self._installed = True

    def uninstall(self) -> None:
        if self._installed:
            self._installed = False
            self._conn.__dict__.pop("_on_data_available", None)
            if self._transport is not None:
                self._transport.__dict__.pop("_MAX_RECV_BYTES", None)
                self._transport = None

    def _on_data(self, data: bytes) -> None:
        conn = self._conn
        buf = conn._frame_buffer + data if conn._frame_buffer else data
        conn._frame_buffer = b""
        size = len(buf)
        pos = 0
        delivered = False
        try:
            while size - pos >= 8:
                kind, channel, length = _FRAME_START.unpack_from(buf, pos)
                if (
                    kind == _METHOD
                    and channel == self._number
                    and buf[pos + 7 : pos + 11] == _DELIVER_ID
                    and pos + 8 + length <= size
                ):
                    end = self._deliver(buf, pos, size)
                    if end is None:
                        break  # the rest of this message has not arrived yet
                    conn.bytes_received += end - pos  # what pika's heartbeat checker watches
                    conn.frames_received += self._frames
                    pos = end
                    delivered = True
                    continue
                # Anything else is pika's, one frame at a time, in its place.
                used, frame = decode_frame(buf[pos : pos + 8 + length])
                if frame is None:
                    break  # not complete yet
                conn.bytes_received += used
                pos += used
                conn._process_frame(frame)
                if not conn.is_open:
                    # Closing: pika handles the rest as it would (it resets its buffer).
                    rest, pos = buf[pos:], size
                    self.uninstall()
                    if rest:
                        conn._on_data_available(rest)
                    break
        finally:
            if pos < size:
                conn._frame_buffer = buf[pos:] if pos else buf
            if delivered:
                self._wake()

    def _deliver(self, buf: bytes, pos: int, size: int) -> int | None:
        """Hand on the delivery whose method frame starts at `pos`; where the
        next frame starts, or None when its frames are not all here yet."""
        number = self._number
        method_end = pos + 7 + _FRAME_START.unpack_from(buf, pos)[2]
        if buf[method_end] != _FRAME_END:
            raise pika.exceptions.InvalidFrameError("Invalid FRAME_END marker")
        # The header frame must follow on the same channel (AMQP 4.2.6).
        head = method_end + 1
        if size - head < 19:
            return None
        kind, channel, hlength, body_size = _HEADER_START.unpack_from(buf, head)
        if kind != _HEADER or channel != number:
            raise pika.exceptions.UnexpectedFrameError(f"frame type {kind} on channel {channel} after basic.deliver")
        head_end = head + 7 + hlength
        if head_end >= size:
            return None
        if buf[head_end] != _FRAME_END:
            raise pika.exceptions.InvalidFrameError("Invalid FRAME_END marker")
        # The body frames; all must be here before anything is handed on.
        at: int = head_end + 1
        chunks: list[bytes] = []
        got = 0
        while got < body_size:
            if size - at < 8:
                return None
            kind, channel, blength = _FRAME_START.unpack_from(buf, at)
            if kind != _BODY or channel != number:
                raise pika.exceptions.UnexpectedFrameError(f"frame type {kind} on channel {channel} in a message body")
            body_end = at + 7 + blength
            if body_end >= size:
                return None
            if buf[body_end] != _FRAME_END:
                raise pika.exceptions.InvalidFrameError("Invalid FRAME_END marker")
            chunks.append(buf[at + 7 : body_end])
            got += blength
            at = body_end + 1
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        # basic.deliver's fields: consumer tag (one consumer per channel
        # here), delivery tag, redelivered, exchange, routing key.
        p = pos + 12 + buf[pos + 11]
        tag, redelivered = _TAG_BIT.unpack_from(buf, p)
        # Exchange and routing key, usually the same for every delivery: decoded once.
        where = buf[p + 9 : method_end]
        if where != self._where_raw:
            exchange, q = _short_str(buf, p + 9)
            self._where = exchange, _short_str(buf, q)[0]
            self._where_raw = where
        raw = buf[head + 19 : head_end]
        if raw != self._props_raw:
            props = pika.spec.BasicProperties()
            props.decode(raw)
            self._props_raw, self._props = raw, props
        self._frames = 2 + len(chunks)
        self._on_delivery(tag, bool(redelivered & 1), *self._where, self._props, body)
        return at
