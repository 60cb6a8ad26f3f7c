"""Publishing with pipelined publisher confirms.

pika's BlockingChannel.confirm_delivery() turns every basic_publish into a
round trip (it waits for each ack).  To keep a *window* of outstanding
confirms we put the underlying (asynchronous) pika channel into confirm mode
ourselves, publish on it, and let BlockingConnection.process_data_events()
run the I/O that delivers basic.ack / basic.nack / basic.return to our
callbacks.  Everything stays on one thread; the input is read by a helper
thread so a slow pipe (`tail -f | mqcli rabbit publish`) never starves the
connection of heartbeats.

Messages are marshalled here, with pika's encoders, into the bytes pika's
basic_publish would write, and a batch is handed to pika's transport as one
write: pika's own basic_publish builds three frame objects per message and
writes each frame with its own socket send, which cost far more CPU than the
broker needs per message.  Properties that do not vary between messages are
encoded once, and a message of fixed destination and properties takes one
struct.pack (fast_frames).  A message's own properties and headers (a move
from Kafka: timestamp, delivery mode, headers) are encoded without pika's
objects (convert.encode_properties, pika's bytes), and to a fixed destination
its frames again take one struct.pack (own_frames).  A batch goes straight to the socket when pika
has nothing buffered (see _emit).

Outcome per message, reported through callbacks with the Message (whose
`line` names the input record); publish_stream hands them to a DeliveryReport
(mqcli.core.delivery):
* ok      basic.ack (and not returned)
* failed  basic.nack, basic.return (--mandatory, unroutable), channel or
          connection lost, or no confirm within `confirm_timeout`.
"""

from __future__ import annotations

import re
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pika
import pika.exceptions as pex
from pika.adapters.utils.io_services_utils import _AsyncPlaintextTransport as _PLAIN_TRANSPORT
from pika.frame import Method as MethodFrame

from mqcli.core.delivery import DeliveryReport
from mqcli.core.errors import DeliveryFailed, InputError, MqcliError
from mqcli.core.message import Message
from mqcli.core.rabbit.client import ConnectionLost, RabbitClient, ReconnectPolicy, amqp_errors, channel_error
from mqcli.core.rabbit.convert import build_properties, encode_properties
from mqcli.core.signals import DeferredSignals

# `rabbit publish --confirm-window`'s default, and a Kafka -> RabbitMQ move's
# window.  1,024 (256 before): the broker confirms persistent messages after
# writing them to disk, a batch at a time, and with 256 outstanding the
# publisher spent much of a run waiting for the next batch; with 1,024 it
# keeps sending while confirms stream back (README "Benchmarks").  It is also
# the most messages in doubt after a crash (README "Reliability").
CONFIRM_WINDOW = 1024


@dataclass
class PublishSettings:
    exchange: str | None = None  # None: each message's own (JSON Lines)
    routing_key: str | None = None  # None: each message's own, else ""
    mandatory: bool = False
    confirm: bool = True
    window: int = 256  # outstanding unconfirmed messages (rabbit publish: --confirm-window, CONFIRM_WINDOW)
    confirm_timeout: float = 30.0  # seconds without any confirm before giving up
    properties: dict[str, Any] = field(default_factory=dict)  # defaults for every message
    headers: list[tuple[str, Any]] = field(default_factory=list)
    generate_message_id: bool = False
    timestamp_now: bool = False
    # On a lost connection: reconnect and send every unconfirmed message
    # again (duplicates possible for those in flight), then the rest.
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)


# Longest single wait for I/O while confirms are awaited.  A confirm (or a
# closed channel) ends the wait at once (Publisher._wake), so this only
# bounds how late a deferred Ctrl-C or the confirm timeout is noticed while
# the broker sends nothing.
POLL = 0.05

# After Ctrl-C/SIGTERM: how long to wait for the confirms of what was already sent.
SIGNAL_GRACE = 5.0

# Marshalled frames are handed to pika's transport once this many bytes are
# buffered, even within a batch (large bodies), so one batch never holds much.
EMIT_BYTES = 1 << 16

# Unconfirmed messages are kept (to be sent again, or named when refused).
# Bodies larger than LARGE_BODY are counted, and one is sent only while the
# counted ones unconfirmed stay within MAX_UNCONFIRMED_BYTES (or none is
# unconfirmed): the window alone would let 1,024 bodies of 100 MB be held.
# Smaller ones are bounded by the window (1,024 x 64 KiB) and cost nothing.
LARGE_BODY = 1 << 16
MAX_UNCONFIRMED_BYTES = 64 << 20

# AMQP 0-9-1 frame layout (section 4.2.3): type, channel, payload size, payload, end.
_FRAME_END = b"\xce"
# A content header frame's start: type 2, channel, size, then its payload's
# class id (basic, 60), weight (0) and body size; the encoded properties follow.
_HEADER_START = struct.Struct(">BHIHxxQ")
_BODY_START = struct.Struct(">BHI")  # type 3, channel, size; then the body
_FRAME_HEADER, _FRAME_BODY = 2, 3
_BASIC_CLASS = 60

# Cached basic.publish method frames by destination: bounded, as JSON Lines
# input may name a different routing key on every line.
METHOD_CACHE = 1024

OnOk = Callable[[Message], None]
OnOkMany = Callable[[list[Message | None]], None]  # confirmed together; None: settled before
OnFail = Callable[[Message, str], None]


class _SignalStop(BaseException):
    """A deferred SIGINT/SIGTERM was noticed (see mqcli.core.signals)."""


class Publisher:
    """Publishes messages on one channel, keeping up to `window` unconfirmed."""

    def __init__(
        self,
        client: RabbitClient,
        settings: PublishSettings,
        on_ok: OnOk,
        on_fail: OnFail,
        stop_requested: Callable[[], bool] = lambda: False,
        on_ok_many: OnOkMany | None = None,
    ) -> None:
        self.client = client
        # Checked while waiting for confirms, so a deferred Ctrl-C is not stuck
        # behind a full window (e.g. a broker blocking publishers).
        self.stop_requested = stop_requested
        self.settings = settings
        self.on_ok = on_ok  # confirmed (or, without confirms, sent)
        self.on_fail = on_fail
        # A basic.ack with multiple=true settles a hundred or more at once:
        # counted in one call instead of one on_ok each.
        self.on_ok_many = on_ok_many
        self._pending = Unconfirmed()
        # Without confirms: handed over, not counted yet (see _count_sent).
        self._sent: list[Message | None] = []
        self._returned: dict[int, str] = {}
        self._closed_reason: tuple[int, str] | None = None
        self._open = True  # False once pika reports the channel closed, for whatever reason
        self._last_progress = time.monotonic()
        self.max_line: int | None = None  # highest input line handed to basic_publish
        self._waiting = False  # in _wait/_wait_window's process_data_events: end it on a confirm
        self._channel = client.channel()
        # pika internals used here: the asynchronous channel under pika's
        # blocking wrapper (see the module docstring), and, for writing
        # messages, its connection's output and negotiated body frame size
        # (see publish).
        self._impl = self._channel._impl
        self._number: int = self._impl.channel_number
        self._body_max: int = self._impl.connection._body_max_length
        # The fast paths take bodies that fit one frame and are not counted as large.
        self._fast_max = min(self._body_max, LARGE_BODY)
        # Marshalled frames not yet handed to pika's transport, and their size.
        self._out: list[bytes] = []
        self._out_bytes = 0
        self._methods: dict[tuple[str, str], bytes] = {}
        # The encoded properties (plus the frame end) of a message that brings
        # none of its own: the same for every such message, so built once.
        self._fixed_props: bytes | None = None
        # With a fixed destination and fixed properties, every message's
        # frames up to its body differ only in the body size: one struct
        # packs them (see _fast_frames); None until the first such message.
        self._fast: struct.Struct | None = None
        self._fast_parts: tuple[bytes, bytes] = (b"", b"")
        self._fast_size = 0  # the bytes of a message's frames besides its body
        self._props_vary = settings.generate_message_id or settings.timestamp_now
        # --queue, or --exchange with --routing-key: the same destination for every message.
        self._fixed_destination = (
            (settings.exchange, settings.routing_key)
            if settings.exchange is not None and settings.routing_key is not None
            else None
        )
        # A message's own properties are encoded by encode_properties (no pika
        # objects) when nothing is merged into them: no defaults, none generated.
        self._own_props = not (settings.properties or settings.headers or self._props_vary)
        # Messages with properties of their own to the fixed destination: by the
        # length of the encoded properties, a struct and the constant parts of
        # its frames (see own_frames); the method frame once known.
        self._own_method: bytes | None = None
        self._own: dict[int, tuple[struct.Struct, bytes, bytes]] = {}
        self._impl.add_on_close_callback(self._on_close)
        self._impl.add_on_return_callback(self._on_return)
        if settings.confirm:
            selected: list[bool] = []

            def on_select_ok(_frame: Any) -> None:
                selected.append(True)
                self._wake()

            self._impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=on_select_ok)
            self._wait(lambda: bool(selected), settings.confirm_timeout, "confirm.select")

    # -- broker callbacks (run inside process_data_events) ---------------------
    def _wake(self) -> None:
        """End the process_data_events() that _wait/_wait_window is in (see
        RabbitClient.wake).  Measured alike (about 0.5 ms from publish to
        return for one message, against the whole 50 ms slice without a
        wake-up): asking pika for a channel dispatch (private) and
        add_callback_threadsafe (a pipe write and one more poll each time)."""
        if self._waiting:
            self._waiting = False
            self.client.wake()

    def _on_close(self, _channel: Any, reason: BaseException) -> None:
        self._open = False
        if isinstance(reason, pex.ChannelClosedByBroker):
            self._closed_reason = (reason.reply_code, reason.reply_text)
            self._wake()  # a lost connection ends the wait by itself; a closed channel does not
        elif not isinstance(reason, pex.ChannelClosedByClient):
            self._closed_reason = (0, str(reason))

    def _on_return(self, _channel: Any, method: Any, props: Any, body: bytes) -> None:
        # basic.return carries no delivery tag; it always precedes the ack of
        # its message, so it belongs to the oldest pending message with the
        # same destination and body that was not returned yet.
        for tag, msg in self._pending.tagged():
            if tag in self._returned:
                continue
            exchange, rk = self._fixed_destination or self._destination(msg)
            if exchange == method.exchange and rk == method.routing_key and _body(msg) == body:
                self._returned[tag] = f"returned unroutable ({method.reply_code} {method.reply_text})"
                break

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        ack = isinstance(method, pika.spec.Basic.Ack)
        first, settled = self._pending.settle(method.delivery_tag, method.multiple)
        self._last_progress = time.monotonic()
        self._wake()
        on_ok = self.on_ok
        if ack and not self._returned:
            if self.on_ok_many is not None:
                self.on_ok_many(settled)
                return
            for msg in settled:
                if msg is not None:
                    on_ok(msg)
            return
        for t, msg in enumerate(settled, first):
            if msg is None:
                continue
            returned = self._returned.pop(t, None) if self._returned else None
            if returned is not None:
                self._fail(msg, returned)
            elif ack:
                on_ok(msg)
            else:
                self._fail(msg, "rejected by the broker (basic.nack)")

    def _fail(self, msg: Message, why: str) -> None:
        self.on_fail(msg, why)

    # -- driving I/O -----------------------------------------------------------
    def _poll(self, time_limit: float) -> None:
        # A lost connection leaves the unconfirmed messages pending: the caller
        # either re-sends them on a new connection or reports them.
        self._emit()
        with amqp_errors(self.client):
            self.client.connection.process_data_events(time_limit=time_limit)
        self._check_closed()

    def _check_closed(self) -> None:
        if self._closed_reason is None:
            return
        code, text = self._closed_reason
        if not self.client.connection.is_open:
            raise ConnectionLost(f"connection to RabbitMQ at {self.client.where()} lost: {text}")
        oversized = oversized_message(code, text, self._pending.messages())
        self._fail_pending(f"channel closed by the broker ({code} {text})")
        if oversized is not None:
            raise oversized
        if code:
            raise channel_error(code, text, where=self.client.where())
        raise MqcliError(f"RabbitMQ channel closed: {text}")

    def _fail_pending(self, why: str) -> None:
        for msg in self.take_pending():
            self._fail(msg, why)

    def take_pending(self) -> list[Message]:
        """The unconfirmed messages in the order they were sent, forgotten here
        (to be sent again on a new channel)."""
        pending = self._pending.take()
        self._returned.clear()
        # Not written yet: they go out again on the new channel, not this one.
        self._out.clear()
        self._out_bytes = 0
        return pending

    def is_pending(self, msg: Message) -> bool:
        return any(m is msg for m in self._pending.messages())

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if self.stop_requested():
                raise _SignalStop()
            left = deadline - time.monotonic()
            if left <= 0:
                raise MqcliError(f"RabbitMQ did not answer {what} within {timeout:g}s")
            self._poll_until_confirm(min(left, POLL))

    def _poll_until_confirm(self, time_limit: float) -> None:
        """_poll, returning as soon as a confirm (or confirm.select-ok) arrives (see _wake)."""
        self._waiting = True
        try:
            self._poll(time_limit)
        finally:
            self._waiting = False

    def _wait_window(self, limit: int) -> None:
        """Process I/O until at most `limit` messages are unconfirmed."""
        self._wait_confirms(lambda: self._pending.count <= limit)

    def _wait_confirms(self, done: Callable[[], bool]) -> None:
        """Process I/O until `done()`, as confirms come (DeliveryFailed after
        confirm_timeout without any)."""
        while not done():
            if self.stop_requested():
                raise _SignalStop()
            if time.monotonic() - self._last_progress > self.settings.confirm_timeout:
                n = self._pending.count
                self._fail_pending(f"not confirmed within {self.settings.confirm_timeout:g}s")
                raise DeliveryFailed(
                    f"{n} message(s) not confirmed by RabbitMQ within {self.settings.confirm_timeout:g}s"
                )
            self._poll_until_confirm(POLL)

    # -- publishing ------------------------------------------------------------
    def _destination(self, msg: Message) -> tuple[str, str]:
        s = self.settings
        exchange = s.exchange if s.exchange is not None else (msg.exchange or "")
        if s.routing_key is not None:
            return exchange, s.routing_key
        if msg.routing_key is not None:
            return exchange, msg.routing_key
        if s.exchange is not None:
            return exchange, ""
        where = f"line {msg.line}: " if msg.line is not None else ""
        raise InputError(f"{where}no routing_key in the message (give --queue, or --exchange and --routing-key)")

    def _build_properties(self, msg: Message) -> pika.BasicProperties:
        """`msg`'s properties: the settings' defaults, its own (validated here), the generated ones."""
        s = self.settings
        props = build_properties(msg, s.properties, s.headers)
        if s.generate_message_id and props.message_id is None:
            props.message_id = str(uuid.uuid4())
        if s.timestamp_now and props.timestamp is None:
            props.timestamp = int(time.time())
        return props

    def _method(self, exchange: str, rk: str) -> bytes:
        """The marshalled basic.publish method frame to this destination (pika's own encoding)."""
        frame = self._methods.get((exchange, rk))
        if frame is None:
            publish = pika.spec.Basic.Publish(exchange=exchange, routing_key=rk, mandatory=self.settings.mandatory)
            frame = MethodFrame(self._number, publish).marshal()
            if len(self._methods) >= METHOD_CACHE:
                self._methods.clear()
            self._methods[(exchange, rk)] = frame
        return frame

    def _count_sent(self) -> None:
        """(Without confirms.) Count what was handed over as sent."""
        if self._sent:
            assert self.on_ok_many is not None
            sent, self._sent = self._sent, []
            self.on_ok_many(sent)

    def _emit(self) -> None:
        """Hand the buffered frames to pika's transport as one write."""
        if self._sent:
            self._count_sent()
        if not self._out:
            return
        data = b"".join(self._out)
        self._out.clear()
        self._out_bytes = 0
        # On a channel the broker closed meanwhile the frames would be discarded
        # by the broker anyway; the caller's next poll raises the reason.
        if not self._impl.is_open:
            return
        conn = self._impl.connection
        transport = conn._transport
        if (
            type(transport) is _PLAIN_TRANSPORT
            and transport.get_write_buffer_size() == 0
            and transport._state == transport._STATE_ACTIVE
            and transport._sock.gettimeout() == 0.0  # non-blocking, as pika sets it: never stuck in send
        ):
            # Nothing of pika's is waiting to go out: send now, as much as the
            # socket takes, instead of handing it all to pika's transport,
            # which sends only after its I/O loop saw the socket writable
            # (two epoll_ctl calls and a poll per batch, each releasing the
            # GIL to the input thread).  The rest, if any, goes to pika
            # behind it, so frames stay in order; a socket error is left to
            # pika to find on its own write.
            try:
                sent = transport._sock.send(data)
            except OSError:
                sent = 0
            if sent:
                conn.bytes_sent += sent  # what pika's heartbeat checker watches
                conn.frames_sent += 1
                if sent == len(data):
                    return
                data = data[sent:]
        with amqp_errors(self.client):
            conn._output_marshaled_frames((data,))

    def publish(self, msg: Message, *, flush: bool = True) -> None:
        """Hand `msg` over: marshalled into the output buffer, which goes to
        the socket when `flush` (or when it grows large), and pending until
        confirmed."""
        s = self.settings
        body = msg.value
        fast = self._fast
        large = 0  # (see LARGE_BODY)
        if (
            fast is not None
            and type(body) is bytes
            and 0 < len(body) <= self._fast_max
            and not (msg.properties or msg.headers)
            and self._open
            and self._pending.count < s.window
        ):
            # The common case (plain input to one destination): the frames
            # content_frames would build, from one struct.pack.
            size = len(body)
            head, mid = self._fast_parts
            out = self._out
            out.append(fast.pack(head, size, mid, size))
            out.append(body)
            out.append(_FRAME_END)
            self._out_bytes += self._fast_size + size
        elif (
            self._own_method is not None
            and type(body) is bytes
            and 0 < len(body) <= self._fast_max
            and self._open
            and self._pending.count < s.window
            and (props := encode_properties(msg.properties, msg.headers)) is not None
        ):
            # Properties of its own (a move from Kafka: timestamp, headers) to
            # the one destination: content_frames' bytes from one struct.pack.
            size = len(body)
            own = self._own.get(len(props)) or self._own_frames(len(props))
            packer, head, mid = own
            out = self._out
            out.append(packer.pack(head, size, props, mid, size))
            out.append(body)
            out.append(_FRAME_END)
            self._out_bytes += packer.size + 1 + size
        else:
            large = self._publish_slow(msg)
        line = msg.line
        if line is not None and (self.max_line is None or line > self.max_line):
            self.max_line = line
        if s.confirm:
            if not self._pending.count:
                self._last_progress = time.monotonic()
            self._pending.add(msg, large)
        elif self.on_ok_many is not None:
            self._sent.append(msg)  # counted in _emit, a batch at a time
        else:
            self.on_ok(msg)
        if flush:
            # Send now and pick up whatever confirms have arrived, without waiting.
            self._poll(0)
        elif self._out_bytes >= EMIT_BYTES:
            self._emit()

    def _publish_slow(self, msg: Message) -> int:
        """Marshal `msg` into the output buffer, waiting for room in the window
        first; any message (its own properties, a destination of its own, a
        large or empty body, a closed channel).  Its size when it counts as
        large (LARGE_BODY), else 0."""
        s = self.settings
        exchange, rk = self._fixed_destination or self._destination(msg)
        # A message with no properties of its own gets the same encoded
        # properties as every other such message: built (and validated) once.
        fixed = not (msg.properties or msg.headers or self._props_vary)
        props = self._fixed_props if fixed else None
        if props is None and self._own_props:
            own = encode_properties(msg.properties, msg.headers)
            if own is not None:
                props = own + _FRAME_END
                if fixed:
                    self._fixed_props = props
        built = self._build_properties(msg) if props is None else None
        body = _body(msg)
        if self._closed_reason is not None:
            self._check_closed()
        if s.confirm and self._pending.count >= s.window:
            # One free slot is enough: RabbitMQ confirms in batches (one wait
            # frees most of the window), and refilling in larger steps (1/8,
            # 1/4 of the window) measured no faster.
            self._wait_window(s.window - 1)
        large = len(body) if s.confirm and len(body) > LARGE_BODY else 0
        if large:
            pending = self._pending
            self._wait_confirms(lambda: not pending.count or pending.large_bytes + large <= MAX_UNCONFIRMED_BYTES)
        if not self._impl.is_open:
            with amqp_errors(self.client):
                self._impl._raise_if_not_open()  # as basic_publish would
        try:
            method = self._methods.get((exchange, rk)) or self._method(exchange, rk)
            if built is not None:
                props = b"".join(built.encode()) + _FRAME_END
                if fixed:
                    self._fixed_props = props
            assert props is not None
            # The bytes pika's basic_publish would write, without its three
            # frame objects and three transport writes (socket sends) per
            # message: a batch goes to the transport as one write.
            out = self._out
            out.append(method)
            self._out_bytes += len(method) + content_frames(out, self._number, props, body, self._body_max)
        except (pex.UnsupportedAMQPFieldException, pex.ShortStringTooLong) as e:
            where = f"line {msg.line}: " if msg.line is not None else ""
            raise InputError(f"{where}cannot encode this message for AMQP ({type(e).__name__})") from None
        if self._fixed_destination is not None:
            if fixed and self._fast is None:
                self._fast, self._fast_parts = fast_frames(method, self._number, props)
                self._fast_size = self._fast.size + 1
            if self._own_props:
                self._own_method = method  # from now on, publish encodes own properties itself
        return large

    def _own_frames(self, length: int) -> tuple[struct.Struct, bytes, bytes]:
        """own_frames for encoded properties of `length` bytes, cached."""
        assert self._own_method is not None
        if len(self._own) >= METHOD_CACHE:
            self._own.clear()
        own = self._own[length] = own_frames(self._own_method, self._number, length)
        return own

    def finish(self) -> None:
        """Wait for every outstanding confirm (or fail them after confirm_timeout)."""
        if self.settings.confirm:
            self._wait_window(0)
        else:
            self._poll(0)

    def drain(self, grace: float) -> None:
        """Wait up to `grace` seconds for the outstanding confirms."""
        deadline = time.monotonic() + grace
        while self._pending.count and time.monotonic() < deadline:
            self._poll_until_confirm(min(POLL, max(0.0, deadline - time.monotonic())))

    def renew(self) -> Publisher:
        """A Publisher on a new channel of the (reconnected) client, with the same callbacks."""
        fresh = Publisher(self.client, self.settings, self.on_ok, self.on_fail, self.stop_requested, self.on_ok_many)
        fresh.max_line = self.max_line
        return fresh

    def close(self) -> None:
        self._count_sent()
        try:
            if self._channel.is_open:
                self._emit()  # what was handed over goes out, as pika would send its buffer
                self._channel.close()
        except Exception:
            pass


def _body(msg: Message) -> bytes:
    """The body `msg` is published with (a str as UTF-8, as pika's basic_publish takes it)."""
    body = msg.value or b""
    if type(body) is not bytes and isinstance(body, str):
        body = body.encode("utf-8")
    return body


def fast_frames(method: bytes, channel: int, props: bytes) -> tuple[struct.Struct, tuple[bytes, bytes]]:
    """For messages of fixed method frame and properties: a struct and its two
    constant parts, `head` and `mid`, such that ``st.pack(head, n, mid, n)``
    followed by a body of n bytes (1 <= n <= the largest body frame) and the
    frame end is what `method` plus content_frames would give for it.

    `props` is the encoded properties followed by the frame end byte, as for
    content_frames."""
    head = method + struct.pack(">BHIHH", _FRAME_HEADER, channel, 11 + len(props), _BASIC_CLASS, 0)
    mid = props + struct.pack(">BH", _FRAME_BODY, channel)
    return struct.Struct(f">{len(head)}sQ{len(mid)}sI"), (head, mid)


def own_frames(method: bytes, channel: int, length: int) -> tuple[struct.Struct, bytes, bytes]:
    """For messages of fixed method frame and encoded properties of `length`
    bytes (without the frame end): a struct and its constant parts `head` and
    `mid`, such that ``st.pack(head, n, props, mid, n)`` followed by a body of
    n bytes (1 <= n <= the largest body frame) and the frame end is what
    `method` plus content_frames would give for `props`."""
    head = method + struct.pack(">BHIHxx", _FRAME_HEADER, channel, 12 + length, _BASIC_CLASS)
    mid = _FRAME_END + struct.pack(">BH", _FRAME_BODY, channel)
    return struct.Struct(f">{len(head)}sQ{length}s{len(mid)}sI"), head, mid


def content_frames(out: list[bytes], channel: int, props: bytes, body: bytes, body_max: int) -> int:
    """Append the content header and body frames of a message to `out`, as
    pika marshals them; returns the number of bytes appended.

    `props` is the encoded basic properties followed by the frame end byte;
    `body_max` the largest body frame payload the connection negotiated."""
    size = len(body)
    out.append(_HEADER_START.pack(_FRAME_HEADER, channel, 11 + len(props), _BASIC_CLASS, size))
    out.append(props)
    added = _HEADER_START.size + len(props)
    if size <= body_max:
        if size:
            out.append(_BODY_START.pack(_FRAME_BODY, channel, size))
            out.append(body)
            out.append(_FRAME_END)
            added += _BODY_START.size + size + 1
        return added
    for start in range(0, size, body_max):
        chunk = body[start : start + body_max]
        out.append(_BODY_START.pack(_FRAME_BODY, channel, len(chunk)))
        out.append(chunk)
        out.append(_FRAME_END)
        added += _BODY_START.size + len(chunk) + 1
    return added


class Unconfirmed:
    """The messages sent on a channel in confirm mode and not settled yet, by
    delivery tag (1, 2, 3... in the order they were sent).

    Tags are consecutive, so the message of tag t is ``_items[t - first_tag]``:
    a multiple ack settles from the front (no lookup per message), a single
    ack or nack of a later tag leaves None in its place.  `count` is the
    number not settled (the window)."""

    def __init__(self) -> None:
        self._items: deque[Message | None] = deque()
        self.first_tag = 1  # the tag of _items[0]
        self.count = 0
        self.large_bytes = 0  # the sizes given to `add`, of messages not settled
        self._sizes: dict[int, int] = {}  # tag -> size, of those

    def add(self, msg: Message, size: int = 0) -> int:
        """`msg` was sent: its delivery tag.  `size`: counted in large_bytes until settled."""
        self._items.append(msg)
        self.count += 1
        tag = self.first_tag + len(self._items) - 1
        if size:
            self._sizes[tag] = size
            self.large_bytes += size
        return tag

    def settle(self, tag: int, multiple: bool) -> tuple[int, list[Message | None]]:
        """basic.ack/nack of `tag` (and every tag before it when `multiple`):
        the first tag it settled and the messages of that tag onwards, None
        for a tag settled before (or an unknown tag: nothing)."""
        items = self._items
        first = self.first_tag
        settled: list[Message | None]
        if multiple:
            n = min(max(tag - first + 1, 0), len(items))
            settled = [items.popleft() for _ in range(n)]
        else:
            settled = []
            n = 0
            if 0 <= tag - first < len(items):
                settled.append(items[tag - first])
                items[tag - first] = None
                first = tag
        # Tags settled earlier one by one may now lead: drop them.
        while items and items[0] is None:
            items.popleft()
            n += 1
        self.first_tag += n
        self.count -= sum(1 for m in settled if m is not None)
        if self._sizes:
            for t, m in enumerate(settled, first):
                if m is not None:
                    self.large_bytes -= self._sizes.pop(t, 0)
        return first, settled

    def tagged(self) -> Iterator[tuple[int, Message]]:
        """(tag, message) of every unsettled message, oldest first."""
        for tag, msg in enumerate(self._items, self.first_tag):
            if msg is not None:
                yield tag, msg

    def messages(self) -> list[Message]:
        """The unsettled messages, oldest first."""
        return [m for m in self._items if m is not None]

    def take(self) -> list[Message]:
        """The unsettled messages, oldest first, forgotten here; the tags go
        on from where they were (as on the channel they were sent on)."""
        taken = self.messages()
        self.first_tag += len(self._items)
        self._items.clear()
        self._sizes.clear()
        self.large_bytes = 0
        self.count = 0
        return taken


class MessageTooLarge(InputError):
    """The broker refused a message above its max_message_size (and closed the channel)."""


def oversized_message(code: int, text: str, pending: list[Message]) -> MessageTooLarge | None:
    """The input error for "PRECONDITION_FAILED - message size 200 is larger
    than configured max size 100" (RabbitMQ's max_message_size, 128 MiB by
    default), naming the input line of the message of that size."""
    m = re.search(r"message size (\d+) is larger than configured max size (\d+)", text or "")
    if code != 406 or m is None:
        return None
    size, limit = int(m[1]), int(m[2])
    line = next((msg.line for msg in pending if len(msg.value or b"") == size), None)
    where = f"line {line}: " if line is not None else ""
    return MessageTooLarge(
        f"{where}message of {size} bytes is larger than RabbitMQ accepts ({limit} bytes)",
        hint="the broker's max_message_size",
    )


_END = object()


class _Inbox:
    """The hand-off from the input thread to the publishing thread.

    A deque and two events instead of a queue.Queue: appending and popping
    take no lock, and an event is set only when the other side sleeps on it
    (queue.Queue takes a lock and notifies a condition for every item).
    Bounded, so a fast input never runs far ahead of the broker."""

    def __init__(self, limit: int) -> None:
        self._items: deque[Any] = deque()
        self._limit = limit
        self._ready = threading.Event()  # set when there may be items (the taker waits on it)
        self._room = threading.Event()  # set when there may be room (the putter waits on it)

    def put(self, item: Any) -> None:
        """(The input thread.) Add `item`, waiting while the inbox is full."""
        items = self._items
        items.append(item)
        if not self._ready.is_set():
            self._ready.set()
        if len(items) >= self._limit:
            # Clear first, then look again: a take() between the two sets it again.
            self._room.clear()
            while len(items) >= self._limit:
                self._room.wait()
                self._room.clear()

    def empty(self) -> bool:
        return not self._items

    def take(self, timeout: float) -> list[Any]:
        """(The publishing thread.) Every item there is, oldest first (one
        hand-off per batch, not per message), waiting up to `timeout` for
        one; queue.Empty-like IndexError after `timeout` without one."""
        items = self._items
        if not items:
            # Clear first, then look again: a put() between the two sets it again.
            self._ready.clear()
            if not items:
                self._ready.wait(timeout)
            if not items:
                raise IndexError("nothing")
        # Only this thread pops, so the first len(items) are all ours.
        taken = [items.popleft() for _ in range(len(items))]
        if not self._room.is_set():
            self._room.set()
        return taken


def publish_stream(
    client: RabbitClient,
    messages: Iterable[Message],
    settings: PublishSettings,
    report: DeliveryReport,
    notify: Callable[[str], None] = lambda _text: None,
) -> None:
    """Publish every message of `messages`, reporting each one's fate to `report`.

    Raises DeliveryFailed when any message was not confirmed (each one was
    reported first), and input errors after the messages before them were
    confirmed.  With `settings.reconnect`, a lost connection is re-opened
    and every unconfirmed message sent again before the rest of the input;
    `notify` hears about each attempt.  `report` holds the counts, the
    reconnects, and after an error where the input stopped.

    Ctrl-C/SIGTERM stop taking input; the confirms of what was sent are
    awaited (up to SIGNAL_GRACE seconds, a second signal stops at once), the
    rest is reported, then the signal's usual exception is raised.
    """
    with DeferredSignals() as signals:
        try:
            _publish_stream(client, messages, settings, report, notify, signals)
        except _SignalStop:
            signals.raise_received()
            raise  # the signal was ignored after all: still not everything was sent
        # A signal during the last confirms (e.g. Ctrl-C to the whole pipeline,
        # which also ended the input): everything is confirmed, but report it.
        signals.raise_received()


def _publish_stream(
    client: RabbitClient,
    messages: Iterable[Message],
    settings: PublishSettings,
    report: DeliveryReport,
    notify: Callable[[str], None],
    signals: DeferredSignals,
) -> None:
    def on_ok(msg: Message) -> None:
        report.ok(len(msg.value or b""))  # RabbitMQ's bytes: the bodies

    def on_ok_many(settled: list[Message | None]) -> None:
        n = size = 0
        for msg in settled:
            if msg is not None:
                n += 1
                size += len(msg.value or b"")
        report.delivered += n
        report.bytes += size
        report.progress()

    publisher = Publisher(client, settings, on_ok, report.fail, lambda: signals.received is not None, on_ok_many)
    inbox = _Inbox(max(16, settings.window))
    # Messages to send (again) before taking more input: the unconfirmed ones
    # of a lost connection, in input order.
    redo: deque[Message] = deque()
    # Taken from the inbox, not handed to the broker yet: sent after `redo`.
    ahead: deque[Any] = deque()

    def read() -> None:
        try:
            for m in messages:
                inbox.put(m)
        except BaseException as e:  # handed to the main thread, which raises it
            inbox.put(e)
            return
        inbox.put(_END)

    threading.Thread(target=read, name="mqcli-input", daemon=True).start()
    input_error: BaseException | None = None
    ended = False
    count = 0
    attempts_left = settings.reconnect.attempts
    confirmed_at_reconnect = 0
    current: Message | None = None  # being handed to the broker
    current_resent = False  # it came from `redo`, i.e. it was read (and sent) before
    renew = False

    def abandon(why: str) -> None:
        """Report everything that was read but is not confirmed: never dropped silently."""
        publisher._fail_pending(why)
        if current is not None and current_resent:
            publisher._fail(current, why)
        while redo:
            publisher._fail(redo.popleft(), why)
        publisher.close()
        report.handed_line = publisher.max_line or 0

    while True:
        try:
            if renew:
                # A new channel in confirm mode on the new connection.
                publisher = publisher.renew()
                renew = False
            while True:
                if signals.received is not None:
                    raise _SignalStop()
                if redo:
                    current, current_resent = redo.popleft(), True
                    flush = not redo
                elif ended:
                    break  # (an input error leaves what was read after it unsent)
                elif ahead:
                    item = ahead.popleft()
                    if item is _END:
                        ended = report.input_ended = True
                        continue
                    if isinstance(item, BaseException):
                        input_error = item
                        ended = report.input_ended = True
                        continue
                    current, current_resent = item, False
                    count += 1
                    # Write out in batches while more input is ready: far fewer syscalls.
                    flush = (not ahead and inbox.empty()) or count % 128 == 0
                else:
                    try:
                        ahead.extend(inbox.take(timeout=0.2))
                    except IndexError:
                        publisher._poll(0)  # keep heartbeats and confirms flowing while input is idle
                    continue
                try:
                    publisher.publish(current, flush=flush)
                except MessageTooLarge:
                    raise  # the broker closed the channel: nothing more can be sent on it
                except InputError as e:
                    input_error = e  # after the confirms of what was sent before it
                    ended = report.input_ended = True
                    current = None
                    continue
                current = None
            publisher.finish()
            break
        except ConnectionLost as lost:
            if not settings.confirm or settings.reconnect.attempts <= 0:
                abandon("connection lost before the broker confirmed it")
                raise
            # Everything unconfirmed goes out again, in input order, before more input.
            unconfirmed = publisher.take_pending()
            if current is not None and not any(m is current for m in unconfirmed):
                unconfirmed.append(current)  # it never reached basic_publish
            current = None
            redo.extendleft(reversed(unconfirmed))
            if report.delivered > confirmed_at_reconnect:
                attempts_left = settings.reconnect.attempts  # progress since the last outage: full budget again
            try:
                with signals.paused():  # Ctrl-C ends the waiting at once
                    used = client.reconnect(
                        ReconnectPolicy(attempts_left, settings.reconnect.first, settings.reconnect.longest),
                        lost,
                        notify,
                    )
            except BaseException:
                abandon("connection lost before the broker confirmed it")
                raise
            attempts_left -= used
            confirmed_at_reconnect = report.delivered
            report.reconnects += 1
            report.resent += len(unconfirmed)
            if unconfirmed:
                notify(f"sending {len(unconfirmed)} unconfirmed message(s) again (duplicates possible)")
            renew = True
        except _SignalStop:
            if settings.confirm:
                # Take no more input, but give what was sent a moment to be
                # confirmed, so only what really is in doubt is reported.
                try:
                    publisher.drain(SIGNAL_GRACE)
                except BaseException:  # a second signal, or the connection went: report the rest now
                    abandon("no confirm from the broker before mqcli stopped")
                    raise
            abandon("no confirm from the broker before mqcli stopped")
            raise
        except BaseException:
            # A channel error, a second signal, ...: whatever awaited its confirm is reported.
            abandon("no confirm from the broker before mqcli stopped")
            raise
    publisher.close()
    report.handed_line = publisher.max_line or 0
    if input_error is not None:
        raise input_error
    if report.failed:
        raise DeliveryFailed(f"{report.failed} message(s) not confirmed by RabbitMQ (listed above)")
