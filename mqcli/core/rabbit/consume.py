"""The consume loop shared by `consume`, `subscribe` and `rpc serve`.

At least once: a message is acknowledged only after the handler returned
ACK, i.e. its output was written and flushed or its --exec command
succeeded.  Whatever is unacknowledged when mqcli stops (Ctrl-C, a closed
pipe, an error, --count reached with more prefetched) goes back to the queue
when the channel closes.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from mqcli.core.errors import MqcliError, TimeoutExpired
from mqcli.core.filters import Matcher
from mqcli.core.message import Message
from mqcli.core.rabbit.client import ConnectionLost, RabbitClient, ReconnectPolicy, amqp_errors
from mqcli.core.rabbit.convert import from_delivery

DEFAULT_PREFETCH = 100
# After the broker reports no ready message, how long to keep listening for
# deliveries that were already on their way before stopping (--exit-when-empty).
EMPTY_GRACE = 0.1


class Outcome(enum.Enum):
    ACK = "ack"  # done: acknowledge
    REQUEUE = "requeue"  # failed: back to the queue
    REJECT = "reject"  # failed: drop or dead-letter (when the queue has a DLX)
    STOP = "stop"  # failed: back to the queue, and stop consuming


@dataclass
class ConsumeSettings:
    queue: str
    no_ack: bool = False
    prefetch: int = DEFAULT_PREFETCH
    count: int | None = None
    exit_when_empty: bool = False
    idle_timeout: float | None = None
    matcher: Matcher | None = None
    exclusive: bool = False


@dataclass
class ConsumeResult:
    handled: int = 0  # acknowledged after the handler succeeded
    failed: int = 0  # requeued or rejected by the handler
    skipped: int = 0  # did not match --match (acknowledged, not handled)
    stopped_by_handler: bool = False


Handler = Callable[[Message], Outcome]

T = TypeVar("T")


def run_while_polling(client: RabbitClient, fn: Callable[[], T], notify: Callable[[str], None] = lambda _t: None) -> T:
    """Run `fn` (a blocking --exec command) on a helper thread while this
    thread keeps servicing the connection, so a job that runs for minutes
    does not miss heartbeats and lose its connection (and its ack).  Only
    this thread touches pika; deliveries arriving meanwhile wait in the inbox.

    The command is never abandoned half-way: when the connection is lost it
    still runs to its end (its message comes again: at least once), and a
    first Ctrl-C/SIGTERM lets it finish so its message can be settled before
    mqcli stops (`client.interrupted` holds the signal for the consume loop).
    A second signal stops at once; the message goes back to the queue."""
    box: dict[str, Any] = {}
    # An Event, not Thread.is_alive(): a signal interrupting Thread.join() can
    # leave the thread looking finished while it still runs.
    finished = threading.Event()

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # re-raised on the calling thread
            box["error"] = e
        finally:
            finished.set()

    threading.Thread(target=target, name="mqcli-exec", daemon=True).start()
    lost: Exception | None = None
    first = True
    while not finished.is_set():
        try:
            if first:
                first = False
                finished.wait(0.05)  # most commands are quick: no polling at all
                continue
            if lost is None:
                with amqp_errors(client):
                    client.connection.process_data_events(time_limit=0)
            finished.wait(0.2)
        except Exception as e:  # the connection went away; the command still finishes
            lost = e
        except BaseException as e:  # KeyboardInterrupt, SIGTERM
            if client.interrupted is not None:
                raise  # the second one: stop now
            client.interrupted = e
            notify("stopping after the running --exec command finishes (signal again to stop at once)")
    if "error" in box:
        raise box["error"]
    if lost is not None:
        raise lost
    return box["value"]


@dataclass
class _Progress:
    """Consume state that outlives a connection (for --reconnect)."""

    last_match: float
    subscribed: bool = False  # basic.consume succeeded on the current connection


def consume(
    client: RabbitClient,
    settings: ConsumeSettings,
    handle: Handler,
    *,
    reconnect: ReconnectPolicy | None = None,
    notify: Callable[[str], None] = lambda _t: None,
    on_reconnect: Callable[[], None] | None = None,
) -> ConsumeResult:
    """Consume `settings.queue` until --count, --exit-when-empty, --timeout or
    a STOP outcome; raises TimeoutExpired (exit 5) when the idle timeout expires.

    With `reconnect`, a lost connection is re-opened (bounded attempts, see
    ReconnectPolicy), `on_reconnect` re-creates what the consumer needs
    (subscribe's queue and bindings) and consuming resumes: what was not
    acknowledged on the old connection is redelivered by the broker."""
    result = ConsumeResult()
    progress = _Progress(last_match=time.monotonic())
    policy = reconnect or ReconnectPolicy()
    attempts_left = policy.attempts
    reconnected = False
    while True:
        try:
            if reconnected and on_reconnect is not None:
                on_reconnect()
            _consume_channel(client, settings, handle, result, progress)
            return result
        except ConnectionLost as lost:
            if policy.attempts <= 0:
                raise
            if progress.subscribed:
                attempts_left = policy.attempts  # it worked for a while: a new outage gets the full budget
            progress.subscribed = False
            used = client.reconnect(ReconnectPolicy(attempts_left, policy.first, policy.longest), lost, notify)
            attempts_left -= used
            reconnected = True


def _consume_channel(
    client: RabbitClient, settings: ConsumeSettings, handle: Handler, result: ConsumeResult, progress: _Progress
) -> None:
    inbox: deque[tuple[Any, Any, bytes]] = deque()
    cancelled: list[bool] = []
    conn = client.connection
    with amqp_errors(client, what=f"queue '{settings.queue}'"):
        ch = conn.channel()
        prefetch = settings.prefetch
        if settings.count is not None:
            # Don't pull (and then hand back, marked redelivered) more than asked for.
            prefetch = min(prefetch, settings.count - result.handled)
        # --no-ack is implemented as "ack on receipt" rather than AMQP auto-ack:
        # same at-most-once meaning, but the prefetch limit still applies, so
        # `--no-ack --count 1` cannot make the broker push (and forget) the
        # whole queue at us.
        ch.basic_qos(prefetch_count=prefetch)
        ch.add_on_cancel_callback(lambda _frame: cancelled.append(True))
        ch.basic_consume(
            settings.queue,
            on_message_callback=lambda _ch, method, props, body: inbox.append((method, props, body)),
            auto_ack=False,
            exclusive=settings.exclusive,
        )
    progress.subscribed = True

    def settle(tag: int, outcome: Outcome) -> None:
        if settings.no_ack:
            return  # acknowledged on receipt
        with amqp_errors(client):
            if outcome is Outcome.ACK:
                ch.basic_ack(tag)
            else:
                ch.basic_nack(tag, requeue=outcome is not Outcome.REJECT)

    last_empty_check = 0.0
    try:
        while settings.count is None or result.handled < settings.count:
            if not inbox:
                if cancelled:
                    raise MqcliError(f"RabbitMQ cancelled the consumer of queue '{settings.queue}' (was it deleted?)")
                now = time.monotonic()
                if settings.idle_timeout is not None and now - progress.last_match >= settings.idle_timeout:
                    raise TimeoutExpired(
                        f"no {'matching ' if settings.matcher else ''}message from queue '{settings.queue}' within {settings.idle_timeout:g}s"
                        + (f" ({result.handled} of {settings.count} received)" if settings.count else "")
                    )
                if settings.exit_when_empty and now - last_empty_check >= 0.2:
                    last_empty_check = now
                    ready, _consumers = client.queue_info(settings.queue)
                    if ready == 0:
                        with amqp_errors(client):
                            conn.process_data_events(time_limit=EMPTY_GRACE)
                        if not inbox:
                            break
                        continue
                wait = 0.2
                if settings.idle_timeout is not None:
                    wait = max(0.0, min(wait, settings.idle_timeout - (now - progress.last_match)))
                with amqp_errors(client):
                    conn.process_data_events(time_limit=wait)
                continue
            method, props, body = inbox.popleft()
            if settings.no_ack:
                with amqp_errors(client):
                    ch.basic_ack(method.delivery_tag)
            msg = from_delivery(method, props, body, queue=settings.queue)
            if settings.matcher is not None and not settings.matcher(msg):
                result.skipped += 1
                settle(method.delivery_tag, Outcome.ACK)
                continue
            progress.last_match = time.monotonic()
            outcome = handle(msg)
            if client.interrupted is not None and outcome is not Outcome.ACK:
                # The command may have failed because of the signal: back to the queue, never dropped.
                outcome = Outcome.REQUEUE
            settle(method.delivery_tag, outcome)
            if client.interrupted is not None:
                raise client.interrupted  # the command finished and its message is settled: now stop
            if outcome is Outcome.ACK:
                result.handled += 1
            else:
                result.failed += 1
                if outcome is Outcome.STOP:
                    result.stopped_by_handler = True
                    break
    finally:
        # Closing the channel hands every unacknowledged delivery back to the queue.
        try:
            if ch.is_open:
                ch.close()
        except Exception:
            pass
