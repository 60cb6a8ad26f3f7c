"""Publishing with pipelined publisher confirms.

pika's BlockingChannel.confirm_delivery() turns every basic_publish into a
round trip (it waits for each ack).  To keep a *window* of outstanding
confirms we put the underlying (asynchronous) pika channel into confirm mode
ourselves, publish on it, and let BlockingConnection.process_data_events()
run the I/O that delivers basic.ack / basic.nack / basic.return to our
callbacks.  Everything stays on one thread; the input is read by a helper
thread so a slow pipe (`tail -f | mqcli rabbit publish`) never starves the
connection of heartbeats.

Outcome per message, reported through callbacks with the Message (whose
`line` names the input record):
* ok      basic.ack (and not returned)
* failed  basic.nack, basic.return (--mandatory, unroutable), channel or
          connection lost, or no confirm within `confirm_timeout`.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pika
import pika.exceptions as pex

from mqcli.core.errors import DeliveryFailed, InputError, MqcliError
from mqcli.core.message import Message
from mqcli.core.rabbit.client import RabbitClient, amqp_errors, channel_error
from mqcli.core.rabbit.convert import build_properties


@dataclass
class PublishSettings:
    exchange: str | None = None  # None: each message's own (JSON Lines)
    routing_key: str | None = None  # None: each message's own, else ""
    mandatory: bool = False
    confirm: bool = True
    window: int = 256  # outstanding unconfirmed messages
    confirm_timeout: float = 30.0  # seconds without any confirm before giving up
    properties: dict[str, Any] = field(default_factory=dict)  # defaults for every message
    headers: list[tuple[str, Any]] = field(default_factory=list)
    generate_message_id: bool = False
    timestamp_now: bool = False


# process_data_events() returns early only for consumer deliveries, not for
# confirms handled by our callbacks: wait in short slices so a confirm is
# noticed within milliseconds.
POLL = 0.005

OnOk = Callable[[Message], None]
OnFail = Callable[[Message, str], None]


class Publisher:
    """Publishes messages on one channel, keeping up to `window` unconfirmed."""

    def __init__(self, client: RabbitClient, settings: PublishSettings, on_ok: OnOk, on_fail: OnFail) -> None:
        self.client = client
        self.settings = settings
        self.on_ok = on_ok
        self.on_fail = on_fail
        self.sent = 0
        self.failed = 0
        self._pending: dict[int, tuple[Message, str, str, bytes]] = {}
        self._returned: dict[int, str] = {}
        self._next_tag = 1
        self._closed_reason: tuple[int, str] | None = None
        self._last_progress = time.monotonic()
        self._channel = client.channel()
        # The asynchronous channel under pika's blocking wrapper: see the module docstring.
        self._impl = self._channel._impl  # noqa: SLF001
        self._impl.add_on_close_callback(self._on_close)
        self._impl.add_on_return_callback(self._on_return)
        if settings.confirm:
            selected: list[bool] = []
            self._impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=lambda _frame: selected.append(True))
            self._wait(lambda: bool(selected), settings.confirm_timeout, "confirm.select")

    # -- broker callbacks (run inside process_data_events) ---------------------
    def _on_close(self, _channel: Any, reason: BaseException) -> None:
        if isinstance(reason, pex.ChannelClosedByBroker):
            self._closed_reason = (reason.reply_code, reason.reply_text)
        elif not isinstance(reason, pex.ChannelClosedByClient):
            self._closed_reason = (0, str(reason))

    def _on_return(self, _channel: Any, method: Any, props: Any, body: bytes) -> None:
        # basic.return carries no delivery tag; it always precedes the ack of
        # its message, so it belongs to the oldest pending message with the
        # same destination and body that was not returned yet.
        for tag, (_msg, exchange, rk, mbody) in self._pending.items():
            if tag not in self._returned and exchange == method.exchange and rk == method.routing_key and mbody == body:
                self._returned[tag] = f"returned unroutable ({method.reply_code} {method.reply_text})"
                break

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        ack = isinstance(method, pika.spec.Basic.Ack)
        tag = method.delivery_tag
        if method.multiple:
            tags = [t for t in self._pending if t <= tag]
        else:
            tags = [tag] if tag in self._pending else []
        self._last_progress = time.monotonic()
        for t in tags:
            msg = self._pending.pop(t)[0]
            returned = self._returned.pop(t, None)
            if returned is not None:
                self._fail(msg, returned)
            elif ack:
                self.sent += 1
                self.on_ok(msg)
            else:
                self._fail(msg, "rejected by the broker (basic.nack)")

    def _fail(self, msg: Message, why: str) -> None:
        self.failed += 1
        self.on_fail(msg, why)

    # -- driving I/O -----------------------------------------------------------
    def _poll(self, time_limit: float) -> None:
        with amqp_errors(self.client):
            try:
                self.client.connection.process_data_events(time_limit=time_limit)
            except pex.AMQPConnectionError:
                self._fail_pending("connection lost before the broker confirmed it")
                raise
        self._check_closed()

    def _check_closed(self) -> None:
        if self._closed_reason is not None:
            code, text = self._closed_reason
            self._fail_pending(f"channel closed by the broker ({code} {text})")
            if code:
                raise channel_error(code, text, where=self.client.where())
            raise MqcliError(f"RabbitMQ channel closed: {text}")

    def _fail_pending(self, why: str) -> None:
        pending, self._pending = self._pending, {}
        for _tag, (msg, *_rest) in pending.items():
            self._fail(msg, why)

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise MqcliError(f"RabbitMQ did not answer {what} within {timeout:g}s")
            self._poll(min(left, POLL))

    def _wait_window(self, limit: int) -> None:
        """Process I/O until at most `limit` messages are unconfirmed."""
        while len(self._pending) > limit:
            if time.monotonic() - self._last_progress > self.settings.confirm_timeout:
                n = len(self._pending)
                self._fail_pending(f"not confirmed within {self.settings.confirm_timeout:g}s")
                raise DeliveryFailed(f"{n} message(s) not confirmed by RabbitMQ within {self.settings.confirm_timeout:g}s")
            self._poll(POLL)

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

    def publish(self, msg: Message, *, flush: bool = True) -> None:
        s = self.settings
        exchange, rk = self._destination(msg)
        props = build_properties(msg, s.properties, s.headers)
        if s.generate_message_id and props.message_id is None:
            props.message_id = str(uuid.uuid4())
        if s.timestamp_now and props.timestamp is None:
            props.timestamp = int(time.time())
        body = msg.value or b""
        self._check_closed()
        if s.confirm:
            self._wait_window(s.window - 1)
        with amqp_errors(self.client):
            try:
                self._impl.basic_publish(exchange=exchange, routing_key=rk, body=body, properties=props, mandatory=s.mandatory)
            except (pex.UnsupportedAMQPFieldException, pex.ShortStringTooLong) as e:
                where = f"line {msg.line}: " if msg.line is not None else ""
                raise InputError(f"{where}cannot encode this message for AMQP ({type(e).__name__})") from None
        if s.confirm:
            if not self._pending:
                self._last_progress = time.monotonic()
            self._pending[self._next_tag] = (msg, exchange, rk, body)
            self._next_tag += 1
        else:
            self.sent += 1
            self.on_ok(msg)
        if flush:
            # Send now and pick up whatever confirms have arrived, without waiting.
            self._poll(0)

    def finish(self) -> None:
        """Wait for every outstanding confirm (or fail them after confirm_timeout)."""
        if self.settings.confirm:
            self._wait_window(0)
        else:
            self._poll(0)

    def close(self) -> None:
        try:
            if self._channel.is_open:
                self._channel.close()
        except Exception:
            pass


_END = object()


def publish_stream(
    client: RabbitClient,
    messages: Iterable[Message],
    settings: PublishSettings,
    on_ok: OnOk,
    on_fail: OnFail,
) -> Publisher:
    """Publish every message of `messages`; return the Publisher with its counts.

    Raises DeliveryFailed when any message was not confirmed (each one was
    reported through `on_fail` first), and input errors after the messages
    before them were confirmed.
    """
    publisher = Publisher(client, settings, on_ok, on_fail)
    inbox: queue.Queue[Any] = queue.Queue(maxsize=max(16, settings.window))

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
    count = 0
    try:
        while True:
            try:
                item = inbox.get(timeout=0.2)
            except queue.Empty:
                publisher._poll(0)  # keep heartbeats and confirms flowing while input is idle
                continue
            if item is _END:
                break
            if isinstance(item, BaseException):
                input_error = item
                break
            count += 1
            try:
                # Write out in batches while more input is ready: far fewer syscalls.
                publisher.publish(item, flush=inbox.empty() or count % 128 == 0)
            except InputError as e:
                input_error = e  # after the confirms of what was sent before it
                break
        publisher.finish()
    except BaseException:
        # Lost connection, Ctrl-C, ...: whatever awaited its confirm is reported, never silently dropped.
        publisher._fail_pending("no confirm from the broker before mqcli stopped")
        raise
    finally:
        publisher.close()
    if input_error is not None:
        raise input_error
    if publisher.failed:
        raise DeliveryFailed(f"{publisher.failed} message(s) not confirmed by RabbitMQ (listed above)")
    return publisher
