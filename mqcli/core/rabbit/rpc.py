"""Request/response over RabbitMQ: `rpc call` and `rpc serve`.

call: replies come back through direct reply-to (`amq.rabbitmq.reply-to`,
no reply queue to declare or clean up).  Each request gets a fresh
correlation id; requests are pipelined (up to `window` in flight) and the
replies are handed back in request order; replies with an unknown
correlation id (late answers to someone else) are ignored.  Direct reply-to
belongs to the channel that consumes it: after a lost connection the
replies addressed to it are gone, so with --reconnect every request
without a reply is sent again (and may run twice on the server).

serve: consumes the request queue, runs a command per request and publishes
its stdout to the request's reply_to with the same correlation id, then
acknowledges.  A failing command produces an error reply: the
`x-mqcli-error` header holds the reason, and `rpc call` fails on it.
"""

from __future__ import annotations

import queue as queue_mod
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

from mqcli.core.errors import MqcliError, TimeoutExpired
from mqcli.core.execute import ExecRunner
from mqcli.core.message import Message
from mqcli.core.rabbit.client import ConnectionLost, RabbitClient, ReconnectPolicy, amqp_errors
from mqcli.core.rabbit.consume import ConsumeResult, ConsumeSettings, Outcome, consume, exec_while_polling
from mqcli.core.rabbit.convert import ERROR_HEADER, build_properties, from_delivery

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
_END = object()


@dataclass
class CallSettings:
    queue: str
    timeout: float = 30.0  # per request, from when it was sent
    window: int = 100  # requests in flight
    properties: dict[str, Any] = field(default_factory=dict)
    headers: list[tuple[str, Any]] = field(default_factory=list)


def reply_error(reply: Message) -> str | None:
    """The error text of an error reply, or None for a normal reply."""
    for name, value in reply.headers:
        if name == ERROR_HEADER:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return None


@dataclass
class CallRun:
    """What call() did, filled in as it goes (so it is there after an error too)."""

    sent: int = 0  # requests taken from the input and sent
    answered: int = 0  # replies handed to on_reply
    reconnects: int = 0
    resent: int = 0  # requests sent again after a reconnect
    last_line: int | None = None  # input line of the last request sent
    input_ended: bool = False  # every input record was read


@dataclass
class _Request:
    corr: str
    message: Message
    sent_at: float


class _Calls:
    """The requests in flight, which outlive a connection, and the channel of
    the current one (direct reply-to consumer, mandatory returns)."""

    def __init__(
        self, client: RabbitClient, settings: CallSettings, on_reply: Callable[[Message, Message], None], run: CallRun
    ) -> None:
        self.client = client
        self.settings = settings
        self.on_reply = on_reply
        self.run = run
        self.pending: deque[_Request] = deque()  # in request order
        self.replies: dict[str, Message] = {}  # arrived, waiting for the requests before them
        self.returned: list[str] = []
        self.ch: BlockingChannel | None = None
        self.input_error: BaseException | None = None  # the input failed: raised once the replies before it came

    def open(self) -> int:
        """A channel on the client's (new) connection, and every request that
        has no reply sent (again) on it: a reply addressed to a lost
        connection never arrives.  Returns how many were sent again."""
        # NotFound (exit 6) rather than waiting for a reply that cannot come.
        self.client.queue_info(self.settings.queue)
        self.returned = []
        with amqp_errors(self.client):
            ch = self.ch = self.client.connection.channel()
            # Direct reply-to: the consumer must exist (on this channel) before publishing.
            ch.basic_consume(DIRECT_REPLY_TO, on_message_callback=self._on_message, auto_ack=True)
            ch.add_on_return_callback(
                lambda _ch, method, _props, _body: self.returned.append(f"{method.reply_code} {method.reply_text}")
            )
        again = [r for r in self.pending if r.corr not in self.replies]
        for request in again:
            self.publish(request)
        return len(again)

    def _on_message(self, _ch: Any, method: Any, props: Any, body: bytes) -> None:
        corr = props.correlation_id
        # Late answers to someone else (or to a request already answered) are ignored.
        if corr is not None and corr not in self.replies and any(corr == r.corr for r in self.pending):
            self.replies[corr] = from_delivery(method, props, body)

    def send(self, message: Message) -> None:
        # Pending before it is published: if the connection goes now, it is sent again.
        request = _Request(str(uuid.uuid4()), message, time.monotonic())
        self.pending.append(request)
        self.run.sent += 1
        if message.line is not None:
            self.run.last_line = message.line
        self.publish(request)
        self.poll(0)

    def publish(self, request: _Request) -> None:
        assert self.ch is not None
        props = build_properties(request.message, self.settings.properties, self.settings.headers)
        props.correlation_id = request.corr
        props.reply_to = DIRECT_REPLY_TO
        request.sent_at = time.monotonic()
        with amqp_errors(self.client):
            self.ch.basic_publish(
                "", self.settings.queue, request.message.value or b"", properties=props, mandatory=True
            )

    def poll(self, limit: float) -> None:
        with amqp_errors(self.client):
            self.client.connection.process_data_events(time_limit=limit)
        if self.returned:
            raise MqcliError(
                f"request to queue '{self.settings.queue}' was returned unroutable ({self.returned[0]}); was the queue deleted?"
            )
        while self.pending and self.pending[0].corr in self.replies:
            request = self.pending.popleft()
            self.run.answered += 1
            self.on_reply(request.message, self.replies.pop(request.corr))
        if self.pending and time.monotonic() - self.pending[0].sent_at > self.settings.timeout:
            where = (
                f"line {self.pending[0].message.line}" if self.pending[0].message.line is not None else "the request"
            )
            raise TimeoutExpired(
                f"no reply to {where} from queue '{self.settings.queue}' within {self.settings.timeout:g}s"
            )

    def unanswered(self, lost: bool) -> Iterator[tuple[Message, str]]:
        """Every request whose reply was not handed on, with the reason."""
        first = True
        for request in self.pending:
            if request.corr in self.replies:
                why = "its reply came, but not the reply to an earlier request"
            elif lost:
                why = "connection lost before the reply came" if first else "no reply before the connection was lost"
            else:
                why = "no reply before mqcli stopped"
            first = False
            yield request.message, why

    def close(self) -> None:
        ch, self.ch = self.ch, None
        try:
            if ch is not None and ch.is_open:
                ch.close()
        except Exception:
            pass


def call(
    client: RabbitClient,
    requests: Iterable[Message],
    settings: CallSettings,
    on_reply: Callable[[Message, Message], None],
    *,
    reconnect: ReconnectPolicy | None = None,
    notify: Callable[[str], None] = lambda _t: None,
    on_unanswered: Callable[[Message, str], None] = lambda _m, _why: None,
    run: CallRun | None = None,
) -> CallRun:
    """Send every request and hand (request, reply) to `on_reply` in request
    order.  TimeoutExpired when a reply does not come within
    `settings.timeout` of its request.

    With `reconnect`, a lost connection is re-opened (bounded attempts, see
    ReconnectPolicy) and every request without a reply is sent again: its
    reply, addressed to the lost connection's direct reply-to, is gone, so
    the server may run a request twice.  When call() fails, each request sent
    but not answered is handed to `on_unanswered` first; `run` (also
    returned) holds the counts and where the input stopped."""
    run = run if run is not None else CallRun()
    policy = reconnect or ReconnectPolicy()
    calls = _Calls(client, settings, on_reply, run)
    inbox: queue_mod.Queue[Any] = queue_mod.Queue(maxsize=max(16, settings.window))

    def read() -> None:
        try:
            for m in requests:
                inbox.put(m)
        except BaseException as e:
            inbox.put(e)
            return
        inbox.put(_END)

    threading.Thread(target=read, name="mqcli-input", daemon=True).start()
    attempts_left = policy.attempts
    answered_at_reconnect = 0
    reconnected = False
    try:
        while True:
            try:
                again = calls.open()
                if reconnected:
                    run.resent += again
                    if again:
                        notify(f"sent {again} request(s) without a reply again (the server may run them twice)")
                _send_all(calls, inbox, run)
                return run
            except ConnectionLost as lost:
                if policy.attempts <= 0:
                    raise
                calls.close()
                if run.answered > answered_at_reconnect:
                    attempts_left = policy.attempts  # it worked for a while: a new outage gets the full budget
                used = client.reconnect(ReconnectPolicy(attempts_left, policy.first, policy.longest), lost, notify)
                attempts_left -= used
                answered_at_reconnect = run.answered
                run.reconnects += 1
                reconnected = True
    except BaseException as e:
        for message, why in calls.unanswered(lost=isinstance(e, ConnectionLost)):
            on_unanswered(message, why)
        raise
    finally:
        calls.close()


def _send_all(calls: _Calls, inbox: queue_mod.Queue[Any], run: CallRun) -> None:
    """Send the rest of the input (up to `window` in flight) and wait for
    every reply.  Runs again after a reconnect, so nothing taken from the
    input may wait in a local variable across I/O: a request is taken only
    when there is room for it, and is pending before it is published."""
    while not run.input_ended:
        if len(calls.pending) >= calls.settings.window:
            calls.poll(0.1)
            continue
        try:
            item = inbox.get(timeout=0.05)
        except queue_mod.Empty:
            calls.poll(0)
            continue
        if item is _END:
            run.input_ended = True
        elif isinstance(item, BaseException):
            # Raised after the replies to the requests before it.
            run.input_ended = True
            calls.input_error = item
        else:
            calls.send(item)
    while calls.pending:
        calls.poll(0.1)
    if calls.input_error is not None:
        raise calls.input_error


def serve(
    client: RabbitClient,
    settings: ConsumeSettings,
    command: str,
    on_request: Callable[[Message, int], None] | None = None,
    *,
    reconnect: ReconnectPolicy | None = None,
    notify: Callable[[str], None] = lambda _t: None,
) -> ConsumeResult:
    """Answer requests from `settings.queue` with `command`'s stdout until
    --count or --timeout.  `on_request(request, exit_status)` is told of each.
    With `reconnect`, a lost connection is re-opened and serving resumes
    (requests that were not acknowledged come again)."""
    channels: dict[str, BlockingChannel] = {}
    runner = ExecRunner(command, capture=True)

    def reply_channel() -> BlockingChannel:
        # One channel for replies, opened again on a new connection.
        ch = channels.get("reply")
        if ch is None or not ch.is_open:
            with amqp_errors(client):
                ch = channels["reply"] = client.connection.channel()
        return ch

    def handle(request: Message) -> Outcome:
        done = exec_while_polling(client, runner, request, notify)
        if client.interrupted is not None and done.returncode != 0:
            # Probably killed by the same signal: let another server answer it.
            return Outcome.REQUEUE
        if on_request is not None:
            on_request(request, done.returncode)
        reply_to = request.properties.get("reply_to")
        if not reply_to:
            return Outcome.ACK  # a request nobody waits for: processed, nothing to send
        headers = {ERROR_HEADER: f"command exited with status {done.returncode}"} if done.returncode != 0 else None
        props = pika.BasicProperties(
            correlation_id=request.properties.get("correlation_id"),
            content_type="text/plain",
            headers=headers,
        )
        body = done.stdout or b""
        # Like $(cmd) in a shell: one trailing newline is the command's line end, not data.
        if body.endswith(b"\n"):
            body = body[:-1]
        ch = reply_channel()
        with amqp_errors(client):
            ch.basic_publish("", reply_to, body, properties=props)
        return Outcome.ACK

    try:
        reply_channel()
        return consume(client, settings, handle, reconnect=reconnect, notify=notify)
    finally:
        ch = channels.get("reply")
        try:
            if ch is not None and ch.is_open:
                ch.close()
        except Exception:
            pass
