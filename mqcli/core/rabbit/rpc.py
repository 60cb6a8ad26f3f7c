"""Request/response over RabbitMQ: `rpc call` and `rpc serve`.

call: replies come back through direct reply-to (`amq.rabbitmq.reply-to`,
no reply queue to declare or clean up).  Each request gets a fresh
correlation id; requests are pipelined (up to `window` in flight) and the
replies are handed back in request order; replies with an unknown
correlation id (late answers to someone else) are ignored.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

from mqcli.core.errors import MqcliError, TimeoutExpired
from mqcli.core.execute import run_exec
from mqcli.core.message import Message
from mqcli.core.rabbit.client import RabbitClient, ReconnectPolicy, amqp_errors
from mqcli.core.rabbit.consume import ConsumeResult, ConsumeSettings, Outcome, consume, run_while_polling
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


def call(
    client: RabbitClient,
    requests: Iterable[Message],
    settings: CallSettings,
    on_reply: Callable[[Message, Message], None],
) -> int:
    """Send every request and hand (request, reply) to `on_reply` in request
    order.  Returns the number of requests.  TimeoutExpired when a reply does
    not come within `settings.timeout`."""
    client.queue_info(settings.queue)  # NotFound (exit 6) rather than waiting for a reply that cannot come
    replies: dict[str, Message] = {}
    returned: list[str] = []
    pending: deque[tuple[str, Message, float]] = deque()
    conn = client.connection
    with amqp_errors(client):
        ch = client.connection.channel()

        def on_message(_ch: Any, method: Any, props: Any, body: bytes) -> None:
            corr = props.correlation_id
            if corr is not None and any(corr == p[0] for p in pending):
                replies[corr] = from_delivery(method, props, body)

        # Direct reply-to: the consumer must exist (on this channel) before publishing.
        ch.basic_consume(DIRECT_REPLY_TO, on_message_callback=on_message, auto_ack=True)
        ch.add_on_return_callback(lambda _ch, method, props, _body: returned.append(f"{method.reply_code} {method.reply_text}"))

    sent = 0

    def deliver_ready() -> None:
        while pending and pending[0][0] in replies:
            corr, request, _t = pending.popleft()
            on_reply(request, replies.pop(corr))

    def poll(limit: float) -> None:
        with amqp_errors(client):
            conn.process_data_events(time_limit=limit)
        if returned:
            raise MqcliError(f"request to queue '{settings.queue}' was returned unroutable ({returned[0]}); was the queue deleted?")
        deliver_ready()
        if pending and time.monotonic() - pending[0][2] > settings.timeout:
            where = f"line {pending[0][1].line}" if pending[0][1].line is not None else "the request"
            raise TimeoutExpired(f"no reply to {where} from queue '{settings.queue}' within {settings.timeout:g}s")

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
    try:
        while True:
            try:
                item = inbox.get(timeout=0.05)
            except queue_mod.Empty:
                poll(0)
                continue
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            while len(pending) >= settings.window:
                poll(0.1)
            corr = str(uuid.uuid4())
            props = build_properties(item, settings.properties, settings.headers)
            props.correlation_id = corr
            props.reply_to = DIRECT_REPLY_TO
            with amqp_errors(client):
                ch.basic_publish("", settings.queue, item.value or b"", properties=props, mandatory=True)
            pending.append((corr, item, time.monotonic()))
            sent += 1
            poll(0)
        while pending:
            poll(0.1)
    finally:
        try:
            if ch.is_open:
                ch.close()
        except Exception:
            pass
    return sent


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

    def reply_channel() -> BlockingChannel:
        # One channel for replies, opened again on a new connection.
        ch = channels.get("reply")
        if ch is None or not ch.is_open:
            with amqp_errors(client):
                ch = channels["reply"] = client.connection.channel()
        return ch

    def handle(request: Message) -> Outcome:
        done = run_while_polling(client, lambda: run_exec(command, request, capture=True), notify)
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
