"""The consume loop shared by `consume`, `subscribe` and `rpc serve`.

At least once: a message is acknowledged only after the handler returned
ACK, i.e. its output was written and flushed or its --exec command
succeeded.  Whatever is unacknowledged when mqcli stops (Ctrl-C, a closed
pipe, an error, --count reached with more prefetched) goes back to the queue
when the channel closes.

When it stops (--count, --exit-when-empty, --timeout) and which messages
it skips (--match) follow mqcli.core.stops, as for Kafka.

Writing consumers (`consume`/`subscribe` without --exec) acknowledge in
batches: one flush of the output, then one basic.ack with multiple=True for
every message written so far (see _Acks).  A flush and a basic.ack per
message, each a round of socket I/O, held the rate to less than half.

Deliveries are parsed from the connection's input by
mqcli.core.rabbit.deliveries (pika's frame objects and BlockingChannel
events per message cost more than twice the CPU of the rest of the loop).
"""

from __future__ import annotations

import datetime
import enum
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from mqcli.core.errors import MqcliError, TimeoutExpired
from mqcli.core.execute import ExecRunner, Executed
from mqcli.core.message import Message
from mqcli.core.rabbit.client import ConnectionLost, RabbitClient, ReconnectPolicy, amqp_errors
from mqcli.core.rabbit.convert import delivery_fields, from_delivery
from mqcli.core.rabbit.deliveries import FastDeliveries
from mqcli.core.signals import DeferredSignals
from mqcli.core.stops import COUNT, END, STOPPED, RunResult, StopRules, StopTracker

DEFAULT_PREFETCH = 100
# Writing consumers flush and acknowledge at least every prefetch/ACK_EVERY
# messages (and whenever no more are at hand), so the broker sends the next
# ones while the rest are written.  Measured: 1, 2 and 4 alike (200k
# messages, prefetch 100), 10 (an ack per 10 messages) slower; 4 keeps the
# batch (what comes again after a crash) small.
ACK_EVERY = 4
# After the broker reports no ready message, how long to keep listening for
# deliveries that were already on their way before stopping (--exit-when-empty).
EMPTY_GRACE = 0.1
# ... and how long after this consumer requeued a message, which comes back
# to it (or goes to another consumer, or is dead-lettered) once the queue
# has taken the nack.
REQUEUE_GRACE = 1.0
# A stream read with -e that got no delivery this long after attaching
# attached past the end (a stream sends what it has at once).
STREAM_FIRST_WAIT = 2.0


def _past_end(start: str | int | datetime.datetime | None, end: int) -> bool:
    """Whether a stream read attached at `start` begins after offset `end`."""
    return start == "next" or (isinstance(start, int) and start > end)


class Outcome(enum.Enum):
    ACK = "ack"  # done: acknowledge
    REQUEUE = "requeue"  # failed: back to the queue
    REJECT = "reject"  # failed: drop or dead-letter (when the queue has a DLX)
    STOP = "stop"  # failed: back to the queue, and stop consuming
    # Done, but left unacknowledged until the channel closes, which gives it
    # back to the queue in its place (`move --dry-run`; needs ConsumeSettings.holding).
    HOLD = "hold"


@dataclass(kw_only=True)
class ConsumeSettings(StopRules):
    """The queue to consume and how, and the stop rules (mqcli.core.stops):
    `count`, `idle_timeout`, `matcher`, and `exit_at_end` -- stop when the
    queue has no ready message left (--exit-when-empty).  `until_ms` does
    not apply to a queue."""

    queue: str
    no_ack: bool = False
    prefetch: int = DEFAULT_PREFETCH
    exclusive: bool = False
    # A stream read (mqcli.core.rabbit.streams): where to attach (x-stream-offset);
    # exit_at_end then means the stream's last offset when the run began.
    stream_offset: str | int | datetime.datetime | None = None

    # Messages --match leaves out are held (unacknowledged until the channel
    # closes: back in their place, never seen twice in one run) instead of
    # acknowledged, and so are those the handler answers HOLD; at most
    # HOLD_LIMIT, then the run ends HELD.  Held deliveries count against the
    # consumer's prefetch window: see _Acks.hold for how the flow goes on.
    holding: bool = False
    # Whether `matcher` filters (--match given): a matcher that only decodes
    # (--value-format) does not make an idle timeout's message speak of matching.
    # None: whenever there is a matcher.
    filtering: bool | None = None

    @property
    def stream(self) -> bool:
        return self.stream_offset is not None


def _filters(settings: ConsumeSettings) -> bool:
    return settings.matcher is not None if settings.filtering is None else settings.filtering


# Held deliveries stay on the channel, unacknowledged, until the run ends: a
# bound, so that a filter matching nothing does not take a whole queue out.
HOLD_LIMIT = 65535 - 1000
HELD = "held"  # RunResult.reason: HOLD_LIMIT messages were held


# How a consume ran: `handled` counts the messages acknowledged after the
# handler succeeded, `failed` those it requeued or rejected, `skipped` those
# that did not match --match (acknowledged, not handled); `reason` is COUNT,
# END (the queue was empty) or STOPPED (a STOP outcome).
ConsumeResult = RunResult


Handler = Callable[[Message], Outcome]

T = TypeVar("T")


def run_while_polling(
    client: RabbitClient, fn: Callable[[], T], signals: DeferredSignals, notify: Callable[[str], None] = lambda _t: None
) -> T:
    """Run `fn` (a blocking --exec command) on a helper thread while this
    thread keeps servicing the connection, so a job that runs for minutes
    does not miss heartbeats and lose its connection (and its ack).  Only
    this thread touches pika; deliveries arriving meanwhile wait in the inbox.

    The command is never abandoned half-way: when the connection is lost it
    still runs to its end (its message comes again: at least once), and a
    first Ctrl-C/SIGTERM (deferred by `signals`, which the caller holds
    around this) lets it finish so its message can be settled before mqcli
    stops.  A second signal stops at once; the message goes back to the queue."""
    value: list[T] = []
    error: list[BaseException] = []
    # An Event, not Thread.is_alive(): a signal interrupting Thread.join() can
    # leave the thread looking finished while it still runs.
    finished = threading.Event()

    def target() -> None:
        try:
            value.append(fn())
        except BaseException as e:  # re-raised on the calling thread
            error.append(e)
        finally:
            finished.set()

    told = False

    def tell() -> None:
        nonlocal told
        if signals.received is not None and not told:
            told = True
            notify("stopping after the running --exec command finishes (signal again to stop at once)")

    threading.Thread(target=target, name="mqcli-exec", daemon=True).start()
    lost: Exception | None = None
    first = True
    while not finished.is_set():
        tell()
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
    tell()
    if error:
        raise error[0]
    if lost is not None:
        raise lost
    return value[0]


def exec_while_polling(
    client: RabbitClient, runner: ExecRunner, msg: Message, notify: Callable[[str], None] = lambda _t: None
) -> Executed:
    """`runner.run(msg)` through run_while_polling.  A signal that arrived
    meanwhile is kept in `client.interrupted` for the consume loop, which
    raises it once the message is settled."""

    def wait(
        fn: Callable[[], subprocess.CompletedProcess[bytes]], signals: DeferredSignals
    ) -> subprocess.CompletedProcess[bytes]:
        return run_while_polling(client, fn, signals, notify)

    done = runner.run(msg, wait)
    if done.signal is not None and client.interrupted is None:
        client.interrupted = done.interruption()
    return done


@dataclass
class _Progress:
    """Consume state that outlives a connection (for --reconnect)."""

    stops: StopTracker[str]  # counts, the idle clock and --match (no partitions)
    subscribed: bool = False  # basic.consume succeeded on the current connection
    # A stream read: the end for -e (looked up once, at the start), whether it
    # was, and the next offset to read (a reconnect resumes there).
    stream_end: int | None = None
    stream_end_known: bool = False
    stream_next: int | None = None


def consume(
    client: RabbitClient,
    settings: ConsumeSettings,
    handle: Handler,
    *,
    flush: Callable[[], None] | None = None,
    reconnect: ReconnectPolicy | None = None,
    notify: Callable[[str], None] = lambda _t: None,
    on_reconnect: Callable[[], None] | None = None,
    stop_requested: Callable[[], bool] | None = None,
) -> ConsumeResult:
    """Consume `settings.queue` until --count, --exit-when-empty, --timeout or
    a STOP outcome; raises TimeoutExpired (exit 5) when the idle timeout expires.

    With `flush`, `handle` only writes its output (buffered) and the ACKs are
    sent in batches, each right after `flush()` returned (see _Acks).
    Without it (--exec, rpc serve: the work is done when `handle` returns)
    each message is acknowledged at once.

    With `reconnect`, a lost connection is re-opened (bounded attempts, see
    ReconnectPolicy), `on_reconnect` re-creates what the consumer needs
    (subscribe's queue and bindings) and consuming resumes: what was not
    acknowledged on the old connection is redelivered by the broker.

    With `stop_requested` (a caller holding Ctrl-C/SIGTERM in a
    DeferredSignals, so that none lands inside pika), the loop looks at it
    before each message and while waiting: when it says stop, what was
    handled is flushed and acknowledged, the rest goes back to the queue,
    and the run ends STOPPED."""
    progress = _Progress(StopTracker(settings))
    policy = reconnect or ReconnectPolicy()
    attempts_left = policy.attempts
    reconnected = False
    while True:
        try:
            if reconnected and on_reconnect is not None:
                on_reconnect()
            _consume_channel(client, settings, handle, flush, progress, stop_requested)
            return progress.stops.result
        except ConnectionLost as lost:
            if policy.attempts <= 0:
                raise
            if progress.subscribed:
                attempts_left = policy.attempts  # it worked for a while: a new outage gets the full budget
            progress.subscribed = False
            used = client.reconnect(ReconnectPolicy(attempts_left, policy.first, policy.longest), lost, notify)
            attempts_left -= used
            reconnected = True


def _listen(conn: Any, seconds: float, inbox: deque[Any]) -> None:
    """Handle broker events for `seconds`, or until a delivery is in the inbox.

    process_data_events(time_limit) returns after the first event it
    handles, such as the first frame of a delivery whose body has not
    arrived yet, so one call is no wait at all on a busy machine."""
    deadline = time.monotonic() + seconds
    while not inbox:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        conn.process_data_events(time_limit=left)


class _Acks:
    """Settles deliveries on one channel.

    With `flush`, an ACK waits: `send()` flushes the output, then sends one
    basic.ack with multiple=True for the highest tag acknowledged so far,
    which covers every earlier delivery on the channel.  That is exact
    because the loop settles deliveries one by one in arrival order, and a
    nack is preceded by a send(): every delivery up to that tag was handled
    and written.  Without `flush`, each ACK is sent at once.  With
    `on_receipt` (--no-ack) deliveries were acknowledged as they came: only
    the output is flushed, at the same points."""

    def __init__(
        self,
        client: RabbitClient,
        ch: Any,
        flush: Callable[[], None] | None,
        every: int,
        on_receipt: bool,
        stream: bool = False,
        resubscribe: Callable[[], None] | None = None,
    ) -> None:
        self._stream = stream  # a stream refuses nacks: a failed message is acknowledged (it stays in the stream)
        self._client = client
        self._ch = ch
        self._flush = flush
        self._every = every
        self._on_receipt = on_receipt
        self._tag: int | None = None  # the highest delivery tag written but not yet acknowledged
        self._waiting = 0  # messages written since the last send()
        # Once a delivery is held, multiple=True would acknowledge it too:
        # from then on each written tag is acknowledged on its own.
        self._tags: list[int] = []
        self._resubscribe = resubscribe
        self._held_here = 0  # held deliveries of the current consumer
        self._held_tags: list[int] = []  # in the order they came
        self.requeued_at = -REQUEUE_GRACE  # when a delivery was last handed back to the queue

    @property
    def held(self) -> int:
        return len(self._held_tags)

    def hold(self, tag: int, prefetch: int) -> None:
        """Leave a delivery unsettled, and keep the others flowing.

        A consumer's held deliveries fill its prefetch window, and RabbitMQ
        applies a raised per-consumer limit only to consumers that start
        later (a channel-wide limit would apply at once, but quorum queues
        refuse it: 540 NOT_IMPLEMENTED).  So once half the window is held, a
        new consumer on the same channel takes over with a whole window; the
        old one's held deliveries stay unacknowledged on the channel, and its
        deliveries already on the way still arrive, in order, before the new
        one's."""
        if not self.held and self._flush is not None:
            self.send()  # what came before goes with multiple=True, while nothing held is below it
        self._held_tags.append(tag)
        self._held_here += 1
        if 2 * self._held_here >= prefetch and self._resubscribe is not None:
            with amqp_errors(self._client):
                self._resubscribe()
            self._held_here = 0

    def settle(self, tag: int, outcome: Outcome) -> None:
        if outcome is not Outcome.ACK and self._stream:
            outcome = Outcome.ACK
            self.send()
        if outcome is not Outcome.ACK:
            self.send()
            if not self._on_receipt:
                with amqp_errors(self._client):
                    self._ch.basic_nack(tag, requeue=outcome is not Outcome.REJECT)
                if outcome is not Outcome.REJECT:
                    self.requeued_at = time.monotonic()
        elif self._flush is None:
            if not self._on_receipt:
                with amqp_errors(self._client):
                    self._ch.basic_ack(tag)
        else:
            if not self._on_receipt:
                self._tag = tag
                if self.held:
                    self._tags.append(tag)
            self._waiting += 1
            if self._waiting >= self._every:
                self.send()

    def give_back(self, unhandled: Iterable[int]) -> None:
        """Hand the held deliveries and the `unhandled` ones back to the queue,
        one by one in the order they came.

        Closing the channel does it too, but once a hold has replaced the
        consumer a quorum queue takes them back consumer by consumer, which
        is not their order (a multiple nack as well)."""
        if self.held and not self._stream and not self._on_receipt:
            for tag in sorted([*self._held_tags, *unhandled]):
                self._ch.basic_nack(tag, requeue=True)

    def send(self) -> None:
        """Flush the output, then acknowledge everything written so far."""
        if not self._waiting:
            return
        assert self._flush is not None
        self._flush()  # a closed pipe raises here: nothing is acknowledged
        tag, self._tag, self._waiting = self._tag, None, 0
        tags, self._tags = self._tags, []
        if self.held:
            with amqp_errors(self._client):
                for one in tags:
                    self._ch.basic_ack(one)
        elif tag is not None:
            with amqp_errors(self._client):
                self._ch.basic_ack(tag, multiple=True)


def _consume_channel(
    client: RabbitClient,
    settings: ConsumeSettings,
    handle: Handler,
    flush: Callable[[], None] | None,
    progress: _Progress,
    stop_requested: Callable[[], bool] | None = None,
) -> None:
    stops, result = progress.stops, progress.stops.result
    # Deliveries (tag, message) in the order they came, not yet handled.
    inbox: deque[tuple[int, Message]] = deque()
    cancelled: list[bool] = []
    conn = client.connection
    stream_start: str | int | datetime.datetime | None = None
    if settings.stream:
        from mqcli.core.rabbit import streams

        if settings.exit_at_end and not progress.stream_end_known:
            progress.stream_end = streams.stream_end(client, settings.queue)
            progress.stream_end_known = True
            if progress.stream_end is None or _past_end(settings.stream_offset, progress.stream_end):
                stops.end(END)  # nothing to read up to the end as it was at the start
                return
        stream_start = progress.stream_next if progress.stream_next is not None else settings.stream_offset
    with amqp_errors(client, what=f"queue '{settings.queue}'"):
        ch = conn.channel()
        if settings.stream:
            streams.quiet_rejects(ch)
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

        queue = settings.queue

        def on_message(_ch: Any, method: Any, props: Any, body: bytes) -> None:
            inbox.append((method.delivery_tag, from_delivery(method, props, body, queue=queue)))

        # The properties object FastDeliveries last handed on, and its fields:
        # a publisher's messages usually share one encoding, decoded once.
        last: list[Any] = [None, None]

        def on_delivery(tag: int, redelivered: bool, exchange: Any, rk: Any, props: Any, body: bytes) -> None:
            if props is not last[0]:
                last[0], last[1] = props, delivery_fields(props)
            properties, headers, offset = last[1]
            msg = Message(
                value=body,
                headers=list(headers) if headers else [],
                offset=offset,
                queue=queue,
                exchange=exchange,
                routing_key=rk,
                redelivered=redelivered,
                properties=dict(properties),
            )
            inbox.append((tag, msg))

        # Before basic.consume: every delivery on this channel takes the same
        # path, so they reach the inbox in the order the broker sent them.
        fast = FastDeliveries.install_on(client, ch, on_delivery)
        consumer_tag = ""  # a queue's consumer (a stream's is never replaced)
        try:
            if stream_start is not None:
                streams.subscribe(
                    ch, settings.queue, on_message, stream_start, auto_ack=False, exclusive=settings.exclusive
                )
            else:
                consumer_tag = ch.basic_consume(
                    settings.queue, on_message_callback=on_message, auto_ack=False, exclusive=settings.exclusive
                )
        except BaseException:
            if fast is not None:
                fast.uninstall()
            raise
    progress.subscribed = True

    def resubscribe() -> None:
        nonlocal consumer_tag
        ch.basic_cancel(consumer_tag)
        consumer_tag = ch.basic_consume(
            settings.queue, on_message_callback=on_message, auto_ack=False, exclusive=settings.exclusive
        )

    acks = _Acks(
        client,
        ch,
        flush,
        max(1, prefetch // ACK_EVERY),
        on_receipt=settings.no_ack,
        stream=settings.stream,
        resubscribe=resubscribe if settings.holding and not settings.stream else None,
    )
    last_empty_check = 0.0
    subscribed_at = time.monotonic()
    try:
        while not stops.reached():
            if stop_requested is not None and stop_requested():
                stops.end(STOPPED)
                break
            if not inbox:
                # Nothing more at hand: what was written reaches the reader
                # and is acknowledged before waiting for more.
                acks.send()
                if cancelled:
                    raise MqcliError(f"RabbitMQ cancelled the consumer of queue '{settings.queue}' (was it deleted?)")
                if stops.idle_left() <= 0:
                    raise TimeoutExpired(
                        f"no {'matching ' if _filters(settings) else ''}message from queue '{settings.queue}' within {settings.idle_timeout:g}s"
                        + (f" ({result.handled} of {settings.count} received)" if settings.count else "")
                    )
                now = time.monotonic()
                if settings.stream:
                    if (
                        settings.exit_at_end
                        and progress.stream_next is None
                        and now - subscribed_at > STREAM_FIRST_WAIT
                    ):
                        # Attached past the end (a time after the last message): nothing will come.
                        stops.end(END)
                        break
                elif settings.exit_at_end and now - last_empty_check >= 0.2:
                    last_empty_check = now
                    ready, _consumers = client.queue_info(settings.queue)
                    if ready == 0:
                        # A delivery already on its way, or a message this loop
                        # just requeued: the broker may count it as ready only
                        # once its queue has processed the nack (a quorum
                        # queue's log applies it after the count was read).
                        grace = max(EMPTY_GRACE, acks.requeued_at + REQUEUE_GRACE - now)
                        with amqp_errors(client):
                            _listen(conn, grace, inbox)
                        if not inbox:
                            stops.end(END)
                            break
                        continue
                with amqp_errors(client):
                    conn.process_data_events(time_limit=stops.wait(0.2))
                continue
            tag, msg = inbox.popleft()
            last_of_stream = False
            if settings.stream:
                if msg.offset is None:
                    from mqcli.core.rabbit.streams import not_a_stream

                    raise not_a_stream(settings.queue)  # unacknowledged: it goes back when the channel closes
                end = progress.stream_end
                if settings.exit_at_end and end is not None and msg.offset > end:
                    stops.end(END)
                    break
                progress.stream_next = msg.offset + 1
                last_of_stream = settings.exit_at_end and end is not None and msg.offset >= end
            if settings.no_ack:
                with amqp_errors(client):
                    ch.basic_ack(tag)
            if not stops.matches(msg):
                if settings.holding:
                    acks.hold(tag, prefetch)
                    if acks.held >= HOLD_LIMIT:
                        stops.end(HELD)
                        break
                else:
                    acks.settle(tag, Outcome.ACK)
                if last_of_stream:
                    stops.end(END)
                    break
                continue
            stops.touch()
            outcome = handle(msg)
            if outcome is Outcome.HOLD:
                acks.hold(tag, prefetch)
                if stops.handled():
                    stops.end(COUNT)
                    break
                if acks.held >= HOLD_LIMIT:
                    stops.end(HELD)
                    break
                continue
            if client.interrupted is not None and outcome is not Outcome.ACK:
                # The command may have failed because of the signal: back to the queue, never dropped.
                outcome = Outcome.REQUEUE
            acks.settle(tag, outcome)
            if client.interrupted is not None:
                raise client.interrupted  # the command finished and its message is settled: now stop
            if outcome is Outcome.ACK:
                stops.handled()
            else:
                result.failed += 1
                if outcome is Outcome.STOP:
                    stops.end(STOPPED)
                    break
            if last_of_stream and not stops.reached():
                stops.end(END)
                break
        else:
            stops.end(COUNT)
        acks.send()
    except BaseException as e:
        if not isinstance(e, Exception):
            # Ctrl-C/SIGTERM while writing: what was written is flushed and
            # acknowledged, so it does not come again (best effort: if that
            # fails too, it goes back to the queue).
            try:
                acks.send()
            except Exception:
                pass
        raise
    finally:
        # Closing the channel hands every unacknowledged delivery back to the queue.
        try:
            if ch.is_open:
                acks.give_back(tag for tag, _msg in inbox)
                ch.close()
        except Exception:
            pass
        if fast is not None:
            fast.uninstall()
