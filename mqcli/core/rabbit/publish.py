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
`line` names the input record); publish_stream hands them to a DeliveryReport
(mqcli.core.delivery):
* ok      basic.ack (and not returned)
* failed  basic.nack, basic.return (--mandatory, unroutable), channel or
          connection lost, or no confirm within `confirm_timeout`.
"""

from __future__ import annotations

import queue
import re
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pika
import pika.exceptions as pex

from mqcli.core.delivery import DeliveryReport
from mqcli.core.errors import DeliveryFailed, InputError, MqcliError
from mqcli.core.message import Message
from mqcli.core.rabbit.client import ConnectionLost, RabbitClient, ReconnectPolicy, amqp_errors, channel_error
from mqcli.core.rabbit.convert import build_properties
from mqcli.core.signals import DeferredSignals


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

OnOk = Callable[[Message], None]
OnFail = Callable[[Message, str], None]


def _nothing() -> None:
    """The zero-delay timer of Publisher._wake: its only effect is to end the wait."""


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
    ) -> None:
        self.client = client
        # Checked while waiting for confirms, so a deferred Ctrl-C is not stuck
        # behind a full window (e.g. a broker blocking publishers).
        self.stop_requested = stop_requested
        self.settings = settings
        self.on_ok = on_ok  # confirmed (or, without confirms, sent)
        self.on_fail = on_fail
        # Unconfirmed messages by delivery tag, oldest first: a multiple ack
        # pops from the front (O(messages it confirms), never a scan of the
        # window), and take_pending() returns them in input order.
        self._pending: OrderedDict[int, tuple[Message, str, str, bytes]] = OrderedDict()
        self._returned: dict[int, str] = {}
        self._next_tag = 1
        self._closed_reason: tuple[int, str] | None = None
        self._last_progress = time.monotonic()
        self.max_line: int | None = None  # highest input line handed to basic_publish
        self._waiting = False  # in _wait/_wait_window's process_data_events: end it on a confirm
        self._channel = client.channel()
        # The only use of pika internals here: the asynchronous channel under
        # pika's blocking wrapper (see the module docstring).
        self._impl = self._channel._impl
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
        """End the process_data_events() that _wait/_wait_window is in.

        BlockingConnection.process_data_events(time_limit) returns early only
        for its own events (consumer deliveries, timers), not for frames
        handled by callbacks on the asynchronous channel, so a confirm alone
        would leave it sleeping for the whole slice.  A zero-delay timer is
        such an event: pika runs timers right after the I/O that delivered
        the confirm, in the same loop iteration, and then returns.  Measured
        alike (about 0.5 ms from publish to return for one message, against
        the whole 50 ms slice without a wake-up): asking pika for a channel
        dispatch (private) and add_callback_threadsafe (a pipe write and one
        more poll each time); call_later is public and costs no system call."""
        if self._waiting and self.client.connection.is_open:
            self._waiting = False
            self.client.connection.call_later(0, _nothing)

    def _on_close(self, _channel: Any, reason: BaseException) -> None:
        if isinstance(reason, pex.ChannelClosedByBroker):
            self._closed_reason = (reason.reply_code, reason.reply_text)
            self._wake()  # a lost connection ends the wait by itself; a closed channel does not
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
        pending = self._pending
        settled: list[tuple[int, tuple[Message, str, str, bytes]]] = []
        if method.multiple:
            # Every pending tag up to `tag`: they are at the front.
            while pending and next(iter(pending)) <= tag:
                settled.append(pending.popitem(last=False))
        elif tag in pending:
            settled.append((tag, pending.pop(tag)))
        self._last_progress = time.monotonic()
        self._wake()
        for t, (msg, *_rest) in settled:
            returned = self._returned.pop(t, None) if self._returned else None
            if returned is not None:
                self._fail(msg, returned)
            elif ack:
                self.on_ok(msg)
            else:
                self._fail(msg, "rejected by the broker (basic.nack)")

    def _fail(self, msg: Message, why: str) -> None:
        self.on_fail(msg, why)

    # -- driving I/O -----------------------------------------------------------
    def _poll(self, time_limit: float) -> None:
        # A lost connection leaves the unconfirmed messages pending: the caller
        # either re-sends them on a new connection or reports them.
        with amqp_errors(self.client):
            self.client.connection.process_data_events(time_limit=time_limit)
        self._check_closed()

    def _check_closed(self) -> None:
        if self._closed_reason is None:
            return
        code, text = self._closed_reason
        if not self.client.connection.is_open:
            raise ConnectionLost(f"connection to RabbitMQ at {self.client.where()} lost: {text}")
        oversized = oversized_message(code, text, [m for m, *_ in self._pending.values()])
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
        pending, self._pending = self._pending, OrderedDict()
        self._returned.clear()
        return [msg for msg, *_rest in pending.values()]

    def is_pending(self, msg: Message) -> bool:
        return any(m is msg for m, *_ in self._pending.values())

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
        while len(self._pending) > limit:
            if self.stop_requested():
                raise _SignalStop()
            if time.monotonic() - self._last_progress > self.settings.confirm_timeout:
                n = len(self._pending)
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
            # One free slot is enough: RabbitMQ confirms in batches (one wait
            # frees most of the window), and refilling in larger steps (1/8,
            # 1/4 of the window) measured no faster.
            self._wait_window(s.window - 1)
        with amqp_errors(self.client):
            try:
                self._impl.basic_publish(
                    exchange=exchange, routing_key=rk, body=body, properties=props, mandatory=s.mandatory
                )
            except (pex.UnsupportedAMQPFieldException, pex.ShortStringTooLong) as e:
                where = f"line {msg.line}: " if msg.line is not None else ""
                raise InputError(f"{where}cannot encode this message for AMQP ({type(e).__name__})") from None
        if msg.line is not None and (self.max_line is None or msg.line > self.max_line):
            self.max_line = msg.line
        if s.confirm:
            if not self._pending:
                self._last_progress = time.monotonic()
            self._pending[self._next_tag] = (msg, exchange, rk, body)
            self._next_tag += 1
        else:
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

    def drain(self, grace: float) -> None:
        """Wait up to `grace` seconds for the outstanding confirms."""
        deadline = time.monotonic() + grace
        while self._pending and time.monotonic() < deadline:
            self._poll_until_confirm(min(POLL, max(0.0, deadline - time.monotonic())))

    def renew(self) -> Publisher:
        """A Publisher on a new channel of the (reconnected) client, with the same callbacks."""
        fresh = Publisher(self.client, self.settings, self.on_ok, self.on_fail, self.stop_requested)
        fresh.max_line = self.max_line
        return fresh

    def close(self) -> None:
        try:
            if self._channel.is_open:
                self._channel.close()
        except Exception:
            pass


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

    publisher = Publisher(client, settings, on_ok, report.fail, lambda: signals.received is not None)
    inbox: queue.Queue[Any] = queue.Queue(maxsize=max(16, settings.window))
    # Messages to send (again) before taking more input: the unconfirmed ones
    # of a lost connection, in input order.
    redo: deque[Message] = deque()

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
                    break
                else:
                    try:
                        item = inbox.get(timeout=0.2)
                    except queue.Empty:
                        publisher._poll(0)  # keep heartbeats and confirms flowing while input is idle
                        continue
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
                    flush = inbox.empty() or count % 128 == 0
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
