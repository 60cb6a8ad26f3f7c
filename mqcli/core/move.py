"""`mqcli move` / `mqcli copy`: the endpoint grammar, how a message is
mapped between brokers, and the relay that acknowledges a source message
only after the target confirmed it (at least once, end to end).

Endpoints (one grammar for every command):

    kafka[@PROFILE]:TOPIC
    rabbit[@PROFILE]:QUEUE
    rabbit[@PROFILE]:exchange/NAME[/ROUTING_KEY]
    -                       JSON Lines on stdin (source) or stdout (target)

The relay works in batches: a source's consume loop hands each message to
`Relay.take` and calls `Relay.deliver` where it would flush its output
(mqcli.core.kafka.hooks.LoopHooks.finish, the `flush` of
mqcli.core.rabbit.consume.consume).  `deliver` sends the batch to the target
and returns only when every message of it was confirmed (publisher
confirms, acks=all); the loop acknowledges or commits after it returned,
never before.  A refusal raises (nothing of that batch is acknowledged) or,
with --on-error skip, is counted and acknowledged with the rest.

Nothing here imports typer, rich or a client library at module level.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from mqcli.core.delivery import DeliveryReport
from mqcli.core.errors import DeliveryFailed, InputError, TimeoutExpired, UsageError
from mqcli.core.message import Message, header_text
from mqcli.core.signals import DeferredSignals

if TYPE_CHECKING:
    from mqcli.core.config import Profile
    from mqcli.core.kafka.contract import Producer
    from mqcli.core.rabbit.client import RabbitClient
    from mqcli.core.stops import StopRules

KAFKA = "kafka"
RABBIT = "rabbit"
STDIO = "-"

# Kafka topic names: ASCII letters, digits, '.', '_', '-', at most 249.
_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
_PROFILE = re.compile(r"[A-Za-z0-9_.-]+")
_ENDPOINT = re.compile(r"(?P<kind>[a-z]+)(?:@(?P<profile>[^:]*))?:(?P<rest>.*)", re.DOTALL)
GRAMMAR = "kafka[@PROFILE]:TOPIC, rabbit[@PROFILE]:QUEUE, rabbit[@PROFILE]:exchange/NAME[/ROUTING_KEY] or -"

# AMQP properties travel through Kafka as headers with this prefix (and back).
AMQP_HEADER_PREFIX = "x-amqp-"
_INT_PROPERTIES = ("delivery_mode", "priority", "timestamp")


@dataclass(frozen=True)
class Endpoint:
    """One side of a move: where messages are read from or sent to."""

    kind: str  # KAFKA, RABBIT or STDIO
    text: str  # as the user wrote it (for messages)
    profile: str | None = None  # None: the command's profile
    topic: str | None = None  # Kafka
    queue: str | None = None  # RabbitMQ queue
    exchange: str | None = None  # RabbitMQ exchange ("" is the default exchange)
    routing_key: str | None = None  # with an exchange; None: each message's own

    def __str__(self) -> str:
        return self.text


def _bad(text: str, why: str) -> UsageError:
    return UsageError(f"invalid endpoint {text!r}: {why} (use {GRAMMAR})")


def parse_endpoint(text: str) -> Endpoint:
    """The endpoint `text` names; UsageError (exit 2) naming it when it is not one."""
    if text == STDIO:
        return Endpoint(STDIO, text)
    m = _ENDPOINT.fullmatch(text)
    if m is None:
        raise _bad(text, "no broker prefix")
    kind, profile, rest = m["kind"], m["profile"], m["rest"]
    if kind not in (KAFKA, RABBIT):
        raise _bad(text, f"unknown broker {kind!r}")
    if profile is not None and not _PROFILE.fullmatch(profile):
        raise _bad(text, "empty or invalid profile name after '@'")
    if kind == KAFKA:
        if not _TOPIC.fullmatch(rest) or rest in (".", ".."):
            raise _bad(text, "a topic name is 1-249 of A-Z a-z 0-9 . _ -")
        return Endpoint(KAFKA, text, profile, topic=rest)
    if rest.startswith("exchange/"):
        name, sep, key = rest[len("exchange/") :].partition("/")
        if not name and not key:
            raise _bad(text, "the default exchange needs a routing key (exchange//KEY)")
        return Endpoint(RABBIT, text, profile, exchange=name, routing_key=key if sep else None)
    if not rest:
        raise _bad(text, "no queue name")
    if len(rest.encode("utf-8")) > 255:
        raise _bad(text, "a queue name is at most 255 bytes")
    return Endpoint(RABBIT, text, profile, queue=rest)


def default_group(source: Endpoint, target: Endpoint) -> str:
    """The consumer group a move from a Kafka source commits in, unless --group
    names one: the same for the same source and target, so a second run
    continues where the first stopped."""

    def part(e: Endpoint) -> str:
        return re.sub(r"[^A-Za-z0-9._-]", "_", e.text if e.kind != STDIO else "stdout")

    return f"mqcli-move.{part(source)}.to.{part(target)}"


# -- what travels -------------------------------------------------------------------


def for_kafka(msg: Message) -> Message:
    """`msg` as a Kafka target gets it: key, value, headers and timestamp; AMQP
    properties as `x-amqp-NAME` headers (the `timestamp` property, seconds,
    also becomes the record's timestamp when it has none).  The source's
    partition is not kept: the target partitions by key."""
    headers = list(msg.headers)
    timestamp = msg.timestamp
    for name, value in msg.properties.items():
        if value is None:
            continue
        headers.append((AMQP_HEADER_PREFIX + name, header_text(value)))
        if name == "timestamp" and timestamp is None and isinstance(value, int):
            timestamp = value * 1000
    return Message(value=msg.value, key=msg.key, headers=headers, timestamp=timestamp)


def for_rabbit(msg: Message, target: Endpoint) -> Message:
    """`msg` as a RabbitMQ target gets it: body, headers, properties; the
    `x-amqp-NAME` headers of a message that came through Kafka become its
    properties again, a Kafka timestamp (ms) the `timestamp` property
    (seconds) when none is given.  The routing key: the endpoint's, else the
    message's own, else its key (text)."""
    from mqcli.core.rabbit.convert import PROPERTY_TYPES

    headers: list[tuple[str, Any]] = []
    properties = dict(msg.properties)
    for name, value in msg.headers:
        prop = name[len(AMQP_HEADER_PREFIX) :] if name.startswith(AMQP_HEADER_PREFIX) else None
        if prop in PROPERTY_TYPES and prop not in properties:
            text = header_text(value)
            if prop in _INT_PROPERTIES:
                try:
                    properties[prop] = int(text)
                except ValueError:
                    headers.append((name, value))
                continue
            properties[prop] = text
            continue
        headers.append((name, value))
    if "timestamp" not in properties and msg.timestamp is not None:
        properties["timestamp"] = msg.timestamp // 1000
    routing_key = msg.routing_key
    if target.queue is None and target.routing_key is None and routing_key is None and msg.key is not None:
        routing_key = msg.key.decode("utf-8", errors="replace")
    return Message(value=msg.value, key=None, headers=headers, properties=properties, routing_key=routing_key)


def describe(msg: Message) -> str:
    """How a source message is named in a failure: topic[partition]@offset,
    queue 'Q' message #N (its position in this run), or line N of the input."""
    if msg.topic is not None and msg.partition is not None:
        return f"{msg.topic}[{msg.partition}]@{msg.offset}"
    if msg.queue is not None:
        mid = msg.properties.get("message_id")
        return f"queue '{msg.queue}' message #{msg.line}" + (f" (message_id {mid})" if mid else "")
    if msg.line is not None:
        return f"line {msg.line}"
    return "message"


# -- targets ---------------------------------------------------------------------------

Refusals = list[tuple[Message, str]]


class Target(Protocol):
    def send(self, batch: list[Message]) -> Refusals:
        """Send `batch` and wait until every message of it was confirmed or
        refused; the refused ones (the batch's own objects) with why.  Raises
        when the outcome of some is unknown (connection lost...)."""

    def close(self) -> None: ...


class _NoOutput:
    """A ReportOutput that says nothing: the per-batch report only records."""

    live = False

    def problem(self, text: str) -> None: ...
    def warn(self, text: str) -> None: ...
    def info(self, text: str) -> None: ...
    def summary(self, text: str) -> None: ...
    def draw(self, text: str) -> None: ...
    def result(self, line: str) -> None: ...


class _Outcomes(DeliveryReport):
    """The outcome of each message of one batch, from a Kafka producer's
    send_all: `landed` (each success, as with --sync) and `failure` are the
    hooks the producers call per message; `line` is the batch position."""

    def __init__(self) -> None:
        super().__init__(_NoOutput(), landed=lambda _d: "")
        self.refused: list[tuple[int, str]] = []
        self.unknown: str | None = None

    def landed(self, delivery: Any) -> None:
        pass  # counted by the producer; nothing to say

    def failure(self, msg: Message, why: str) -> None:
        if msg.line is None:
            self.unknown = why  # a report for no particular message: the whole batch is in doubt
        else:
            self.refused.append((msg.line, why))


class KafkaTarget:
    def __init__(self, producer: Producer, topic: str) -> None:
        self.producer = producer
        self.topic = topic

    def send(self, batch: list[Message]) -> Refusals:
        outcomes = _Outcomes()
        converted = [replace(for_kafka(m), line=i) for i, m in enumerate(batch)]
        self.producer.send_all(self.topic, converted, outcomes)
        if outcomes.unknown is not None:
            raise DeliveryFailed(f"the Kafka producer lost track of messages: {outcomes.unknown}")
        return [(batch[i], why) for i, why in outcomes.refused]

    def close(self) -> None:
        self.producer.close()


class RabbitTarget:
    """Publishes with confirms and mandatory (an unroutable message is refused)."""

    def __init__(
        self, client: RabbitClient, endpoint: Endpoint, notify: Callable[[str], None] = lambda _t: None
    ) -> None:
        from mqcli.core.rabbit.publish import Publisher, PublishSettings

        self.client = client
        self.endpoint = endpoint
        self.notify = notify
        if endpoint.queue is not None:
            settings = PublishSettings(exchange="", routing_key=endpoint.queue, mandatory=True)
        else:
            settings = PublishSettings(exchange=endpoint.exchange, routing_key=endpoint.routing_key, mandatory=True)
        self._refused: list[tuple[int, str]] = []
        self.publisher = Publisher(client, settings, lambda _m: None, self._on_fail)

    def _on_fail(self, msg: Message, why: str) -> None:
        self._refused.append((msg.line if msg.line is not None else -1, why))

    def send(self, batch: list[Message]) -> Refusals:
        from mqcli.core.rabbit.publish import MessageTooLarge

        self._refused = []
        self._reopen_if_lost()
        try:
            for i, m in enumerate(batch):
                out = replace(for_rabbit(m, self.endpoint), line=i)
                try:
                    self.publisher.publish(out, flush=False)
                except InputError as e:
                    if type(e) is not InputError:
                        raise  # MessageTooLarge: the broker closed the channel
                    self._refused.append((i, e.message))  # e.g. a property of the wrong type from JSON Lines
            self.publisher.finish()
        except MessageTooLarge as e:
            # The publisher names the message by its `line`: here, its place in the batch.
            text = re.sub(r"^line (\d+): ", lambda m: f"{describe(batch[int(m[1])])}: ", e.message)
            raise MessageTooLarge(f"{text}; it stays in the source", hint=e.hint) from None
        if any(i < 0 for i, _ in self._refused):
            raise DeliveryFailed("RabbitMQ refused a message that cannot be named")
        return [(batch[i], why) for i, why in self._refused]

    def _reopen_if_lost(self) -> None:
        """Before a batch nothing is unconfirmed, so a connection lost while
        the source had nothing to give is simply opened again (once): pika
        answers heartbeats only while it is driven, and a move that follows
        a quiet source drives it only when messages come."""
        from mqcli.core.rabbit.client import ConnectionLost, ReconnectPolicy, amqp_errors

        try:
            if not self.client.connection.is_open:
                raise ConnectionLost(f"connection to RabbitMQ at {self.client.where()} lost")
            with amqp_errors(self.client):
                self.client.connection.process_data_events(time_limit=0)
            return
        except ConnectionLost as lost:
            self.client.reconnect(ReconnectPolicy(attempts=1, first=0.0), lost, self.notify)
        self.publisher = self.publisher.renew()

    def close(self) -> None:
        self.publisher.close()
        self.client.close()


class StreamTarget:
    """JSON Lines on a stream (stdout): confirmed once written and flushed."""

    def __init__(self, stream: BinaryIO) -> None:
        from mqcli.core.writers import JsonWriter

        self.writer = JsonWriter(stream)

    def send(self, batch: list[Message]) -> Refusals:
        self.writer.write_batch([replace(m, line=None) for m in batch])
        self.writer.flush()
        return []

    def close(self) -> None:
        pass


# -- the relay ---------------------------------------------------------------------------


class Refused(DeliveryFailed):
    """The target refused a message and --on-error is stop (exit 1)."""


class Relay:
    """Batches source messages and delivers them to the target; see the module doc.

    `pending` holds what was taken but is not confirmed yet.  `broken` is set
    while a delivery is under way and stays set when it did not finish (a
    refusal, a lost connection): from then on nothing more may be
    acknowledged, and `deliver` refuses to run again.
    """

    def __init__(
        self,
        target: Target,
        report: DeliveryReport,
        *,
        skip_refused: bool,
        warn: Callable[[str], None],
        dead_letter: Target | None = None,
    ) -> None:
        self.target = target
        self.report = report
        self.skip_refused = skip_refused
        self.warn = warn
        self.dead_letter = dead_letter  # --on-error dead-letter:ENDPOINT
        self.pending: list[Message] = []
        self.broken = False
        self.skipped = 0
        self.dead_lettered = 0

    def take(self, msg: Message) -> None:
        self.pending.append(msg)

    @property
    def clean(self) -> bool:
        """Whether everything taken so far was confirmed (or skipped): the source may acknowledge it all."""
        return not self.pending and not self.broken

    def deliver(self) -> None:
        """Send what is pending; return once all of it was confirmed.  A first
        Ctrl-C/SIGTERM waits for the confirms (then acts); a second one stops at once."""
        if not self.pending:
            return
        if self.broken:
            raise DeliveryFailed("an earlier delivery did not complete; nothing after it is acknowledged")
        self.broken = True
        batch = self.pending
        with DeferredSignals() as signals:
            refused = self.target.send(batch)
            self.report.delivered += len(batch) - len(refused)
            no = {id(m) for m, _ in refused}
            self.report.bytes += sum(len(m.value or b"") for m in batch if id(m) not in no)
            self.report.failed += len(refused)
            if refused and self.dead_letter is not None:
                refused = self._dead_letter(refused)
        self.report.progress()
        if refused:
            if not self.skip_refused:
                for msg, why in refused:
                    self.report.out.problem(f"not moved: {describe(msg)}: {why}")
                first, why = refused[0]
                raise Refused(f"the target refused {describe(first)} ({why}); it stays in the source")
            for msg, why in refused:
                self.skipped += 1
                self.warn(f"skipped: {describe(msg)}: {why} (acknowledged, --on-error skip)")
        self.pending = []
        self.broken = False
        signals.raise_received()

    def _dead_letter(self, refused: Refusals) -> Refusals:
        """Send what the target refused to the dead-letter target (with why, in
        a header); the refusals left: those it refused too."""
        assert self.dead_letter is not None
        tagged = [replace(m, headers=[*m.headers, (DEAD_LETTER_HEADER, why)]) for m, why in refused]
        again = {id(m): why for m, why in self.dead_letter.send(tagged)}
        left: Refusals = []
        for (msg, why), sent in zip(refused, tagged, strict=True):
            if id(sent) in again:
                left.append((msg, f"{why}; the dead-letter target refused it too ({again[id(sent)]})"))
            else:
                self.dead_lettered += 1
                self.warn(f"dead-lettered: {describe(msg)}: {why}")
        return left


# The header that tells, on a dead-lettered message, why the target refused it.
DEAD_LETTER_HEADER = "x-mqcli-move-error"


def stdin_batches(messages: Iterable[Message], size: int = 500) -> Iterator[list[Message]]:
    """`messages` in lists of up to `size` (the batches a `-` source delivers)."""
    batch: list[Message] = []
    for msg in messages:
        batch.append(msg)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- opening targets and running sources ------------------------------------------
# The CLI resolves each endpoint's profile and says how lines reach the
# terminal (`note`, `debug`); everything else happens here.


def open_target(
    target: Endpoint, profile: Profile, engine: str | None, stdout: BinaryIO, note: Callable[[str], None]
) -> Target:
    """The target, connected, after checking that it exists (NotFound, exit 6):
    nothing is read from the source before that."""
    if target.kind == KAFKA:
        from mqcli.core.kafka.common import ProduceOptions
        from mqcli.core.kafka.engine import admin, producer, resolve

        settings = resolve(profile.kafka, engine)
        assert target.topic is not None
        with admin(settings, profile.name) as a:
            a.partitions(target.topic)
        d = settings.producer
        options = ProduceOptions(
            acks="all",  # the guarantee needs every in-sync replica's acknowledgement ...
            compression=d.compression or "none",
            linger_ms=int(d.linger_ms),
            batch_size=d.batch_size,
            idempotence=True,  # ... and no duplicates from the producer's own retries
            delivery_timeout=float(d.delivery_timeout),
        )
        return KafkaTarget(producer(settings, options, profile.name), target.topic)
    if target.kind == RABBIT:
        from mqcli.core.rabbit.client import RabbitClient

        client = RabbitClient(profile.rabbit, profile=profile.name)
        try:
            if target.queue is not None:
                client.queue_info(target.queue)
            elif target.exchange is not None:
                client.check_exchange(target.exchange)
            return RabbitTarget(client, target, note)
        except BaseException:
            client.close()
            raise
    return StreamTarget(stdout)


def from_kafka(
    source: Endpoint,
    profile: Profile,
    relay: Relay,
    rules: StopRules,
    *,
    group: str | None,
    engine: str | None,
    timeout: str | None,
    note: Callable[[str], None],
    debug: Callable[[str], None],
) -> None:
    """Read `source` into `relay`: in consumer group `group` (offsets committed
    only for confirmed messages), else from the beginning without commits.
    `timeout` is --timeout as given, for the message when it cut the run short."""
    from mqcli.core.kafka.engine import group_consumer, partition_consumer, resolve
    from mqcli.core.stops import IDLE

    settings = resolve(profile.kafka, engine)
    assert source.topic is not None
    if group is not None:
        note(f"consumer group {group}: offsets are committed once the target confirmed their messages")
        consumer = group_consumer(
            settings,
            group,
            [source.topic],
            start="earliest",
            profile=profile.name,
            on_event=lambda text: debug(f"group {group}: {text}"),
        )

        def take(msg: Message) -> bool:
            relay.take(msg)
            return True  # marked now, committed only after relay.deliver() (the batch's flush) returned

        try:
            result = consumer.run(rules, take, relay.deliver)
        finally:
            # Commit (after delivering what is pending) only when no delivery
            # broke off: then every marked offset's message was confirmed.
            consumer.close(commit=not relay.broken)
    else:
        from mqcli.core.kafka.common import StartOffset

        plain = partition_consumer(settings, source.topic, profile=profile.name)
        try:
            plain.seek(StartOffset("beginning"))
            result = plain.run(rules, relay.take, relay.deliver)
            relay.deliver()
        finally:
            plain.close()
    count = rules.count
    if result.reason == IDLE and (result.handled == 0 or (count is not None and result.handled < count)):
        got = f"{result.handled} of {count}" if count is not None else "no"
        raise TimeoutExpired(f"{got} messages from {source} within {timeout} of idle time")


def from_rabbit(source: Endpoint, profile: Profile, relay: Relay, rules: StopRules) -> None:
    """Consume queue `source` into `relay`: each delivery is acknowledged with
    its batch, after relay.deliver() returned (--match is not offered here:
    consume would take the messages that do not match too)."""
    from mqcli.core.rabbit.client import RabbitClient
    from mqcli.core.rabbit.consume import ConsumeSettings, Outcome, consume

    assert source.queue is not None
    numbers = itertools.count(1)

    def take(msg: Message) -> Outcome:
        msg.line = next(numbers)  # names it in a failure: its position in this run
        relay.take(msg)
        return Outcome.ACK  # sent with the batch's basic.ack, after relay.deliver() (its flush) returned

    # Ctrl-C/SIGTERM are held while consuming (one landing inside pika can
    # leave the connection unable to close); the loop looks at them between
    # messages, acknowledges what was confirmed, and then the signal acts.
    with DeferredSignals() as signals, RabbitClient(profile.rabbit, profile=profile.name) as client:
        client.queue_info(source.queue)  # NotFound (exit 6)
        settings = ConsumeSettings(
            queue=source.queue,
            count=rules.count,
            exit_at_end=rules.exit_at_end,
            idle_timeout=rules.idle_timeout,
            prefetch=1000,
        )
        try:
            consume(client, settings, take, flush=relay.deliver, stop_requested=lambda: signals.received is not None)
        except TimeoutExpired:
            # As for a Kafka source: --timeout is an error only when it cut the move short.
            moved = relay.report.delivered + relay.skipped
            if moved == 0 or (rules.count is not None and moved < rules.count):
                raise
    signals.raise_received()


def from_stream(stream: BinaryIO, relay: Relay, count: int | None) -> None:
    """JSON Lines from `stream` (the `-` source) into `relay`, a batch at a time."""
    from mqcli.core.readers import InputMode, ReaderOptions, read_messages

    messages: Iterable[Message] = read_messages([stream], ReaderOptions(mode=InputMode.jsonl))
    if count is not None:
        messages = itertools.islice(messages, count)
    for batch in stdin_batches(messages):
        for msg in batch:
            relay.take(msg)
        relay.deliver()
