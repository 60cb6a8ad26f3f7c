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

import contextlib
import datetime
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, runtime_checkable

from mqcli.core.delivery import DeliveryReport, ReportOutput
from mqcli.core.errors import ConnectionFailed, DeliveryFailed, InputError, TimeoutExpired, UsageError
from mqcli.core.message import Message, header_text
from mqcli.core.settle import Ledger
from mqcli.core.signals import DeferredSignals

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings, Profile
    from mqcli.core.kafka.common import StartOffset
    from mqcli.core.kafka.contract import GroupConsumer, Producer, TransactionalProducer
    from mqcli.core.rabbit.client import ConnectionLost, RabbitClient, ReconnectPolicy
    from mqcli.core.rabbit.publish import MessageTooLarge
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

# The record timestamp in milliseconds, as a header of a message a RabbitMQ
# target gets from Kafka: the AMQP `timestamp` property holds seconds only,
# so this is what brings the milliseconds back on the way to Kafka.
KAFKA_TIMESTAMP_HEADER = "x-kafka-timestamp"

KEY_FROM = "routing-key|header:NAME|none"
# AMQP delivery_mode of a message written to disk: what a move from Kafka publishes.
PERSISTENT = 2


@dataclass(frozen=True)
class KeyFrom:
    """--key-from: where a Kafka key goes on RabbitMQ, and comes from there.

    routing-key: Kafka -> RabbitMQ the key is the routing key (the target
    endpoint must name none), RabbitMQ -> Kafka the routing key is the key.
    header: the key travels in header `header` (bytes as they are), and back.
    none: the key is dropped (-> RabbitMQ) or none is given (-> Kafka)."""

    mode: str  # "routing-key", "header" or "none"
    header: str | None = None

    def __str__(self) -> str:
        return f"header:{self.header}" if self.mode == "header" else self.mode


def parse_key_from(text: str) -> KeyFrom:
    """--key-from TEXT; UsageError (exit 2) when it is none of KEY_FROM."""
    if text in ("routing-key", "none"):
        return KeyFrom(text)
    if text.startswith("header:") and text[len("header:") :]:
        return KeyFrom("header", text[len("header:") :])
    raise UsageError(f"invalid --key-from {text!r} (use {KEY_FROM})")


def for_kafka(msg: Message, keys: KeyFrom | None = None, line: int | None = None) -> Message:
    """`msg` as a Kafka target gets it: key, value, headers and timestamp; AMQP
    properties as `x-amqp-NAME` headers (the `timestamp` property, seconds,
    also becomes the record's timestamp when it has none).  The source's
    partition is not kept: the target partitions by key.

    A message that came from Kafka through RabbitMQ gets its timestamp back
    to the millisecond from KAFKA_TIMESTAMP_HEADER (which goes, with the
    `timestamp` property derived from it and the persistent `delivery_mode`
    the move gave it).  `keys` (--key-from) says where
    the key comes from (the routing key, a header, none); without it the
    message's own key travels.  `line`: the record's position in its batch
    (how a producer names a refused one)."""
    if msg.topic is not None and keys is None and not msg.properties:
        # A Kafka record as it is (the common case, once per message): nothing to map.
        return Message(value=msg.value, key=msg.key, headers=msg.headers, timestamp=msg.timestamp, line=line)
    headers = list(msg.headers)
    timestamp = msg.timestamp
    key = msg.key
    derived_seconds: int | None = None
    derived_mode: int | None = None
    # Only a message from RabbitMQ or `-` (a Kafka record's headers travel as they are).
    for i, (name, value) in enumerate(headers if msg.topic is None else []):
        if name == KAFKA_TIMESTAMP_HEADER:
            try:
                ms = int(header_text(value))
            except ValueError:
                break  # not ours: it travels as any header
            del headers[i]
            timestamp = ms
            derived_seconds = ms // 1000
            # So did the move from Kafka: delivery_mode PERSISTENT (RabbitTarget.convert).
            derived_mode = PERSISTENT
            break
    if keys is not None:
        if keys.mode == "routing-key":
            key = msg.routing_key.encode("utf-8") if msg.routing_key is not None else None
        elif keys.mode == "none":
            key = None
        else:
            key = None
            for i, (name, value) in enumerate(headers):
                if name == keys.header:
                    key = value if isinstance(value, bytes) else header_text(value).encode("utf-8")
                    del headers[i]
                    break
    for name, value in msg.properties.items():
        if value is None or (name, value) in (("timestamp", derived_seconds), ("delivery_mode", derived_mode)):
            continue  # put there by a move from Kafka: not a property of the record's own
        headers.append((AMQP_HEADER_PREFIX + name, header_text(value)))
        if name == "timestamp" and timestamp is None and isinstance(value, int):
            timestamp = value * 1000
    return Message(value=msg.value, key=key, headers=headers, timestamp=timestamp, line=line)


def for_rabbit(msg: Message, target: Endpoint, keys: KeyFrom | None = None) -> Message:
    """`msg` as a RabbitMQ target gets it: body, headers, properties; the
    `x-amqp-NAME` headers of a message that came through Kafka become its
    properties again, a Kafka timestamp (ms) the `timestamp` property
    (seconds) when none is given, with KAFKA_TIMESTAMP_HEADER (ms).  The
    routing key: the endpoint's, else the message's own, else its key
    (text) -- unless `keys` (--key-from) puts the key in a header or drops it."""
    if keys is None and not msg.headers and not msg.properties and msg.routing_key is None:
        # A Kafka record without headers (the common case, once per message):
        # what the general path below makes of it, without its loops.
        ts = msg.timestamp
        routing_key = None
        if msg.key is not None and target.queue is None and target.routing_key is None:
            routing_key = msg.key.decode("utf-8", errors="replace")
        if ts is None:
            return Message(value=msg.value, routing_key=routing_key)
        return Message(
            value=msg.value,
            headers=[(KAFKA_TIMESTAMP_HEADER, ts)],
            properties={"timestamp": ts // 1000},
            routing_key=routing_key,
        )
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
    if msg.timestamp is not None and "timestamp" not in properties:
        properties["timestamp"] = msg.timestamp // 1000
        # The property is derived from the record timestamp: the header keeps
        # its milliseconds and tells the way back to Kafka that it was derived.
        if not any(name == KAFKA_TIMESTAMP_HEADER for name, _v in headers):
            headers.append((KAFKA_TIMESTAMP_HEADER, msg.timestamp))
    routing_key = msg.routing_key
    if keys is not None and keys.mode == "header":
        if msg.key is not None:
            headers = [(n, v) for n, v in headers if n != keys.header] + [(str(keys.header), msg.key)]
    elif (keys is None or keys.mode == "routing-key") and msg.key is not None:
        if target.queue is None and target.routing_key is None and (routing_key is None or keys is not None):
            routing_key = msg.key.decode("utf-8", errors="replace")
    return Message(value=msg.value, key=None, headers=headers, properties=properties, routing_key=routing_key)


def key_refusal(msg: Message, keys: KeyFrom | None) -> str | None:
    """Why --key-from routing-key cannot make `msg`'s key a routing key (an
    AMQP short string: at most 255 bytes of text), or None."""
    if keys is None or keys.mode != "routing-key" or msg.key is None:
        return None
    try:
        msg.key.decode("utf-8")
    except UnicodeDecodeError:
        return "its key is not UTF-8 text, so it cannot be a routing key (use --key-from header:NAME)"
    if len(msg.key) > 255:
        return "its key is longer than a routing key may be (255 bytes; use --key-from header:NAME)"
    return None


def describe(msg: Message) -> str:
    """How a source message is named in a failure: topic[partition]@offset,
    queue 'Q' message #N (its position in this run), or line N of the input."""
    if msg.topic is not None and msg.partition is not None:
        return f"{msg.topic}[{msg.partition}]@{msg.offset}"
    if msg.queue is not None and msg.offset is not None:
        return f"stream '{msg.queue}' offset {msg.offset}"
    if msg.queue is not None:
        mid = msg.properties.get("message_id")
        return f"queue '{msg.queue}' message #{msg.line}" + (f" (message_id {mid})" if mid else "")
    if msg.line is not None:
        return f"line {msg.line}"
    return "message"


# -- dead letters back where they came from (--to-origin) ---------------------------

# The headers RabbitMQ adds when it dead-letters a message (--strip-death removes them).
DEATH_HEADERS = frozenset(
    {
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
    }
)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


def origin_of(msg: Message) -> tuple[str, str] | None:
    """(exchange, routing key) `msg` was dead-lettered from, or None when it
    carries no death information.

    The most recent `x-death` entry (RabbitMQ keeps them most recent first)
    names the exchange it had been published to and its routing key(s): the
    first of those.  Without a usable `x-death`, `x-first-death-queue` (the
    queue it died in) is reached through the default exchange."""
    headers = dict(msg.headers)
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        death = deaths[0]
        exchange = _text(death.get("exchange"))
        keys = death.get("routing-keys")
        key = _text(keys[0]) if isinstance(keys, list) and keys else None
        if exchange is not None and key is not None:
            return exchange, key
        queue = _text(death.get("queue"))
        if queue:
            return "", queue
    queue = _text(headers.get("x-first-death-queue"))
    if queue:
        return "", queue
    return None


def origin_label(exchange: str, routing_key: str) -> str:
    """An origin in the endpoint grammar (how it is reported)."""
    return f"rabbit:exchange/{exchange}/{routing_key}"


NO_ORIGIN = "no x-death header: it was not dead-lettered, so it has no origin"

# Kafka dead-letter topics name the original topic in a header: Spring Kafka's
# DeadLetterPublishingRecoverer, then Kafka Connect's errors.deadletterqueue.
ORIGIN_TOPIC_HEADERS = ("kafka_dlt-original-topic", "__connect.errors.topic")
# What --strip-death removes from a Kafka dead letter (the same two conventions).
KAFKA_DEATH_PREFIXES = ("kafka_dlt-", "__connect.errors.")
# The header naming the original partition, for each convention's topic header:
# Spring writes a 4-byte big-endian int, Kafka Connect the number as text.
ORIGIN_PARTITION_HEADERS = {
    "kafka_dlt-original-topic": "kafka_dlt-original-partition",
    "__connect.errors.topic": "__connect.errors.partition",
}


def origin_topic(msg: Message, header: str | None = None) -> str | None:
    """The topic a Kafka dead letter came from: header `header` (--origin-header),
    else the first of ORIGIN_TOPIC_HEADERS it has; None without one."""
    names = (header,) if header is not None else ORIGIN_TOPIC_HEADERS
    for name in names:
        for key, value in msg.headers:
            if key == name:
                text = header_text(value) if not isinstance(value, bytes) else value.decode("utf-8", "replace")
                if text:
                    return text
    return None


def origin_partition(msg: Message, header: str | None = None) -> int | str | None:
    """The partition a Kafka dead letter came from, when its convention names
    one (ORIGIN_PARTITION_HEADERS, for the topic header that named its origin
    topic; none with --origin-header): the number, None without the header,
    or why the header is not a partition number."""
    names = (header,) if header is not None else ORIGIN_TOPIC_HEADERS
    found = next((n for n in names if origin_topic(msg, n) is not None), None)
    name = ORIGIN_PARTITION_HEADERS.get(found or "")
    if name is None:
        return None
    value = msg.header(name)
    if value is None:
        return None
    if isinstance(value, bytes) and len(value) == 4 and not value.isdigit():
        return int.from_bytes(value, "big", signed=True)  # Spring: ByteBuffer.putInt
    text = header_text(value).strip()
    if text.isdigit():
        return int(text)
    return f"its {name} header ({value!r}) is not a partition number"


# -- pace (--rate, --speed) ------------------------------------------------------------


class TokenBucket:
    """--rate N/s: on average at most `rate` messages a second, in bursts of
    at most `burst` (default: a tenth of a second's worth, at least one)."""

    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise UsageError("--rate must be more than 0")
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate / 10)
        self.tokens = 1.0
        self.clock = clock
        self.last = clock()

    def delay(self, msg: Message | None = None) -> float:
        """Take one token: how long to wait (seconds) before sending the message."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= 1
        # A negative balance is a debt the wait pays off: the next call starts from it.
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class Replay:
    """--speed X: the gaps between messages' timestamps, divided by X (2: twice
    as fast), from the first message on.  A message without a timestamp, or
    older than one before it, goes at once."""

    def __init__(self, speed: float, clock: Callable[[], float] = time.monotonic) -> None:
        if speed <= 0:
            raise UsageError("--speed must be more than 0")
        self.speed = speed
        self.clock = clock
        self.anchor: tuple[float, int] | None = None  # (clock, timestamp ms) of the first message

    def delay(self, msg: Message | None = None) -> float:
        ts = msg.timestamp if msg is not None else None
        if ts is None:
            return 0.0
        now = self.clock()
        if self.anchor is None:
            self.anchor = (now, ts)
            return 0.0
        due = self.anchor[0] + (ts - self.anchor[1]) / 1000 / self.speed
        return max(0.0, due - now)


def parse_rate(text: str) -> float:
    """--rate: `N/s`, `N/m`, `N/h` or a bare N (per second) -> messages per second."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(?:/\s*(s|sec|m|min|h|hour))?\s*", text)
    if m is None or float(m[1]) <= 0:
        raise UsageError(f"invalid --rate {text!r} (use N/s, N/m or N/h, N more than 0)")
    per = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600}[m[2] or "s"]
    return float(m[1]) / per


class Pace:
    """--rate and --speed together: before a message, the longer of their waits."""

    def __init__(self, rules: list[TokenBucket | Replay]) -> None:
        self.rules = rules

    def delay(self, msg: Message) -> float:
        return max([r.delay(msg) for r in self.rules], default=0.0)


def pause(seconds: float, tick: Callable[[float], None] = time.sleep, stop: Callable[[], bool] = lambda: False) -> bool:
    """Wait `seconds` in short steps (`tick`: sleep, or serve a connection
    meanwhile); False when `stop()` said stop first."""
    deadline = time.monotonic() + seconds
    while True:
        if stop():
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        tick(min(left, 0.1))


# -- targets ---------------------------------------------------------------------------

Refusals = list[tuple[Message, str]]


class Target(Protocol):
    def send(self, batch: list[Message]) -> Refusals:
        """Send `batch` and wait until every message of it was confirmed or
        refused; the refused ones (the batch's own objects) with why.  Raises
        when the outcome of some is unknown (connection lost...)."""

    def close(self) -> None: ...

    # Targets may also say where a message goes, in the endpoint grammar
    # (`where(msg) -> str`: per-target counts, --dry-run) and why they would
    # refuse it without sending it (`precheck(msg) -> str | None`: no origin).


@runtime_checkable
class PipelinedTarget(Protocol):
    """A target that confirms later than it sends (RabbitTarget): `submit`
    returns before the batch is confirmed, and each outcome is reported as
    it comes -- `confirmed(published message)`, whose `line` is the number
    `submit` gave it, or `refused(number, why)` -- to the callbacks given
    to `pipeline`; `wait` returns once nothing is outstanding.  Every
    message goes to `label`."""

    label: str

    def pipeline(self, confirmed: Callable[[Message], None], refused: Callable[[int, str], None]) -> None: ...

    def submit(self, batch: list[Message], first: int) -> None: ...

    def wait(self) -> None: ...


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
        super().__init__(_NoOutput())
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
    def __init__(self, producer: Producer, topic: str, label: str | None = None, keys: KeyFrom | None = None) -> None:
        self.producer = producer
        self.topic = topic
        self.label = label or f"kafka:{topic}"
        self.keys = keys  # --key-from

    def where(self, msg: Message) -> str:
        return self.label

    def precheck(self, msg: Message) -> str | None:
        return None

    def send(self, batch: list[Message]) -> Refusals:
        outcomes = _Outcomes()
        keys = self.keys
        converted = [for_kafka(m, keys, i) for i, m in enumerate(batch)]
        self.producer.send_all(self.topic, converted, outcomes)
        if outcomes.unknown is not None:
            raise DeliveryFailed(f"the Kafka producer lost track of messages: {outcomes.unknown}")
        return [(batch[i], why) for i, why in outcomes.refused]

    def close(self) -> None:
        self.producer.close()


class ExactlyOnceTarget:
    """--exactly-once (Kafka to Kafka on one cluster): each batch is one
    transaction holding its records and the source offsets after them
    (sendOffsetsToTransaction), so the move's progress is committed with
    its output or not at all.  A killed run's open transaction is aborted by
    the next run's `init` (the same transactional id, derived from the
    group); read_committed readers never see its records.

    `attach` hands over the source's group consumer (its group metadata goes
    with the offsets) before the first batch.  A record the broker refuses
    aborts the whole transaction: nothing of the batch moved (Refused)."""

    def __init__(self, producer: TransactionalProducer, topic: str, label: str) -> None:
        self.producer = producer
        self.topic = topic
        self.label = label
        self.consumer: GroupConsumer | None = None

    def attach(self, consumer: GroupConsumer) -> None:
        self.consumer = consumer

    def where(self, msg: Message) -> str:
        return self.label

    def precheck(self, msg: Message) -> str | None:
        return None

    def send(self, batch: list[Message]) -> Refusals:
        assert self.consumer is not None, "attach() the source's group consumer first"
        offsets: dict[tuple[str, int], int] = {}
        for msg in batch:
            assert msg.topic is not None and msg.partition is not None and msg.offset is not None
            key = (msg.topic, msg.partition)
            offsets[key] = max(offsets.get(key, 0), msg.offset + 1)
        self.producer.begin()
        try:
            sent: dict[int, Message] = {}  # the record handed over -> its source message
            for msg in batch:
                record = for_kafka(msg)
                sent[id(record)] = msg
                why = self.producer.send(self.topic, record)
                if why is not None:
                    raise self._refused(msg, why)
            failed = self.producer.flush()
            if failed:
                record, why = failed[0]
                raise self._refused(sent.get(id(record), record), why)
            self.producer.send_offsets(offsets, self.consumer)
            self.producer.commit()
        except BaseException as e:
            # Nothing of the batch may become visible: abort, unless the
            # producer was fenced (then the broker already did).
            if not getattr(e, "fatal", False):
                try:
                    self.producer.abort()
                except Exception:  # the broker aborts it after the transaction timeout anyway
                    pass
            raise
        return []

    @staticmethod
    def _refused(msg: Message, why: str) -> DeliveryFailed:
        return Refused(
            f"the target refused {describe(msg)} ({why}); the transaction was aborted, it stays in the source"
        )

    def close(self) -> None:
        self.producer.close()


# Unconfirmed messages a RabbitMQ target lets out: as many as the largest batch
# a source hands over (a queue source's prefetch), so a batch goes out whole.
# Pipelined (a Kafka source: Relay.pipeline), `rabbit publish`'s window
# (core.rabbit.publish.CONFIRM_WINDOW): the messages a SIGKILL can leave
# confirmed but not committed are then those unconfirmed plus those confirmed
# since the last commit (about a poll batch, max_poll_records 500).
MOVE_CONFIRM_WINDOW = 1000


def _ignore(*_args: object) -> None:
    pass


def _named(e: MessageTooLarge, message: Callable[[int], Message]) -> MessageTooLarge:
    """The publisher names a message too large by its `line` (here: its number
    in the batch or the ledger): the same error naming its source message."""
    from mqcli.core.rabbit.publish import MessageTooLarge

    text = re.sub(r"^line (\d+): ", lambda m: f"{describe(message(int(m[1])))}: ", e.message)
    return MessageTooLarge(f"{text}; it stays in the source", hint=e.hint)


class RabbitTarget:
    """Publishes with confirms and mandatory (an unroutable message is refused).

    `send` publishes a batch and waits for its confirms.  Pipelined
    (`pipeline`, then `submit` and `wait`) a batch goes out while the
    confirms of earlier ones are outstanding (up to the window), and each
    outcome is reported as it comes: the published message (its `line` the
    number `submit` gave it) or (number, why) refused."""

    pipelines = True  # every message goes to the one endpoint (`label`): see Relay.pipeline

    def __init__(
        self,
        client: RabbitClient,
        endpoint: Endpoint,
        notify: Callable[[str], None] = lambda _t: None,
        reconnect: ReconnectPolicy | None = None,
        keys: KeyFrom | None = None,
    ) -> None:
        from mqcli.core.rabbit.client import ReconnectPolicy
        from mqcli.core.rabbit.publish import Publisher, PublishSettings

        self.client = client
        self.endpoint = endpoint
        self.label = endpoint.text
        self.keys = keys  # --key-from
        self.notify = notify
        # --reconnect: a connection lost while messages are unconfirmed is
        # opened again and they are sent again (duplicates: at most those,
        # counted in `resent`); without it the loss ends the move (exit 4).
        self.reconnect = reconnect or ReconnectPolicy()
        self.reconnects = 0
        self.resent = 0
        self._attempts = self.reconnect.attempts  # left for this outage (full again after progress)
        self._handed = 0  # messages handed to the publisher since the last outage
        # The window is a batch's messages at most (the source settles a batch
        # only once all of it is confirmed anyway): sending a whole batch, then
        # waiting once, instead of stopping at every 256 for confirms.
        window = MOVE_CONFIRM_WINDOW
        if endpoint.queue is not None:
            self.settings = PublishSettings(exchange="", routing_key=endpoint.queue, mandatory=True, window=window)
        else:
            self.settings = PublishSettings(
                exchange=endpoint.exchange, routing_key=endpoint.routing_key, mandatory=True, window=window
            )
        self._refused: Callable[[int, str], None] = _ignore
        self.publisher = Publisher(client, self.settings, _ignore, self._fail)

    @property
    def refuses_in_advance(self) -> bool:
        """Whether `precheck` may refuse a message (then a source looks at each one before taking it)."""
        return self.keys is not None and self.keys.mode == "routing-key"

    def where(self, msg: Message) -> str:
        return self.endpoint.text

    def precheck(self, msg: Message) -> str | None:
        return key_refusal(msg, self.keys)

    def convert(self, msg: Message) -> Message | str:
        """`msg` as published, or why it is refused without being sent."""
        why = key_refusal(msg, self.keys)
        if why is not None:
            return why
        out = for_rabbit(msg, self.endpoint, self.keys)
        if msg.topic is not None and "delivery_mode" not in out.properties:
            # A Kafka record is on disk: published transient, a confirmed message
            # would be lost when the broker restarts (found by a restart test).
            out.properties["delivery_mode"] = PERSISTENT
        return out

    def _fail(self, msg: Message, why: str) -> None:
        self._refused(msg.line if msg.line is not None else -1, why)

    def pipeline(self, confirmed: Callable[[Message], None], refused: Callable[[int, str], None]) -> None:
        """Pipelined from now on: outcomes go to `confirmed` (the published
        message) and `refused` (its number, why), up to `rabbit publish`'s
        window unconfirmed (with 500, a poll batch, the move took 10-20% longer
        than with 1,024 in each of four alternating rounds: README "Benchmarks")."""
        from mqcli.core.rabbit.publish import CONFIRM_WINDOW, Publisher

        if self.settings.window != CONFIRM_WINDOW:
            self.settings = replace(self.settings, window=CONFIRM_WINDOW)
            self.publisher.close()
            self.publisher = Publisher(self.client, self.settings, _ignore, self._fail)
        self.publisher.on_ok = confirmed
        self._refused = refused

    def send(self, batch: list[Message]) -> Refusals:
        from mqcli.core.rabbit.publish import MessageTooLarge

        refused: list[tuple[int, str]] = []
        self.publisher.on_ok = _ignore
        self._refused = lambda number, why: refused.append((number, why))
        try:
            self.submit(batch, 0)
            self.wait()
        except MessageTooLarge as e:
            raise _named(e, batch.__getitem__) from None
        if any(i < 0 for i, _ in refused):
            raise DeliveryFailed("RabbitMQ refused a message that cannot be named")
        return [(batch[i], why) for i, why in refused]

    def submit(self, batch: list[Message], first: int) -> None:
        """Publish `batch`, numbered from `first` (each one's `line`), without
        waiting for more confirms than the window needs; a message refused
        before it is sent is reported at once."""
        self._reopen_if_lost()
        todo: list[Message] = []
        refused = self._refused
        for i, msg in enumerate(batch):
            converted = self.convert(msg)
            if isinstance(converted, str):
                refused(first + i, converted)
                continue
            converted.line = first + i  # a Message of its own (for_rabbit made it): no copy needed
            todo.append(converted)
        self._send(todo)

    def wait(self) -> None:
        """Wait until every message published is confirmed or refused
        (through lost connections, with --reconnect: the unconfirmed ones
        are sent again)."""
        from mqcli.core.rabbit.client import ConnectionLost

        while True:
            try:
                self.publisher.finish()
                return
            except ConnectionLost as lost:
                self._send(self._recover(lost))

    def _send(self, todo: list[Message]) -> None:
        """Publish `todo` in order; the last one flushes (sent at once, the
        confirms that arrived taken in).  A lost connection (--reconnect) is
        opened again and what was unconfirmed sent again before the rest."""
        from mqcli.core.rabbit.client import ConnectionLost

        publish = self.publisher.publish
        i, last = 0, len(todo) - 1
        flushed = not todo
        while i <= last:
            msg = todo[i]
            try:
                publish(msg, flush=i == last)
                flushed = i == last
                i += 1
            except ConnectionLost as lost:
                again = self._recover(lost)
                # One lost before basic_publish is simply published (once) after them.
                rest = todo[i + 1 :] if any(m is msg for m in again) else todo[i:]
                todo, i, last = [*again, *rest], 0, len(again) + len(rest) - 1
                publish = self.publisher.publish
                flushed = not todo
                continue
            except InputError as e:
                if type(e) is not InputError:
                    raise  # MessageTooLarge: the broker closed the channel
                self._refused(msg.line if msg.line is not None else -1, e.message)  # e.g. a property of the wrong type
                i += 1
            self._handed += 1
        if not flushed:
            self.wait()  # the last one was refused before it was sent: the rest still goes out now

    def _recover(self, lost: ConnectionLost, *, idle: bool = False) -> list[Message]:
        """Open the lost connection again (--reconnect N: up to N attempts, the
        budget full again after progress) and return the unconfirmed
        messages, to be sent again.  `idle`: found lost before a batch; with
        nothing unconfirmed it is opened again once even without --reconnect
        (pika answers heartbeats only while it is driven, and a move that
        follows a quiet source drives it only when messages come)."""
        from mqcli.core.rabbit.client import ReconnectPolicy

        unconfirmed = self.publisher.take_pending()
        r = self.reconnect
        if r.attempts <= 0:
            if unconfirmed or not idle:
                raise lost
            self.client.reconnect(ReconnectPolicy(attempts=1, first=0.0), lost, self.notify)
        else:
            if self._handed > len(unconfirmed):
                self._attempts = r.attempts  # some were settled since the last outage
            self._attempts -= self.client.reconnect(
                ReconnectPolicy(self._attempts, r.first, r.longest), lost, self.notify
            )
        self.publisher = self.publisher.renew()
        self.reconnects += 1
        self._handed = 0
        if unconfirmed:
            self.resent += len(unconfirmed)
            self.notify(f"sending {len(unconfirmed)} unconfirmed message(s) again (duplicates possible)")
        return unconfirmed

    def _reopen_if_lost(self) -> None:
        """A connection lost between batches is opened again here (see _recover's `idle`)."""
        from mqcli.core.rabbit.client import ConnectionLost, amqp_errors

        try:
            if not self.client.connection.is_open:
                raise ConnectionLost(f"connection to RabbitMQ at {self.client.where()} lost")
            with amqp_errors(self.client):
                self.client.connection.process_data_events(time_limit=0)
        except ConnectionLost as lost:
            self._send(self._recover(lost, idle=True))

    def close(self) -> None:
        self.publisher.close()
        self.client.close()


class OriginTarget(RabbitTarget):
    """--to-origin: each message back to the exchange and routing key it was
    dead-lettered from (origin_of), with its death headers kept or
    stripped.  A message without death information, or whose exchange no
    longer exists, is refused (named; --on-error decides)."""

    def __init__(
        self,
        client: RabbitClient,
        strip_death: bool,
        notify: Callable[[str], None] = lambda _t: None,
        reconnect: ReconnectPolicy | None = None,
    ) -> None:
        # No exchange, no routing key in the endpoint: every message names its own.
        super().__init__(client, Endpoint(RABBIT, "--to-origin"), notify, reconnect)
        self.strip_death = strip_death
        self.exchanges: dict[str, bool] = {}  # exchange -> whether it exists (asked once)

    pipelines = False  # each message goes where it came from: counted per origin, a batch at a time

    @property
    def refuses_in_advance(self) -> bool:
        return True  # a message without death information, an origin exchange gone

    def where(self, msg: Message) -> str:
        origin = origin_of(msg)
        return origin_label(*origin) if origin is not None else "(no origin)"

    def precheck(self, msg: Message) -> str | None:
        from mqcli.core.errors import NotFound

        origin = origin_of(msg)
        if origin is None:
            return NO_ORIGIN
        exchange = origin[0]
        if exchange not in self.exchanges:
            try:
                self.client.check_exchange(exchange)
                self.exchanges[exchange] = True
            except NotFound:
                self.exchanges[exchange] = False
        if not self.exchanges[exchange]:
            return f"its origin exchange '{exchange}' does not exist"
        return None

    def convert(self, msg: Message) -> Message | str:
        why = self.precheck(msg)
        if why is not None:
            return why
        exchange, key = origin_of(msg) or ("", "")
        if self.strip_death:
            msg = replace(msg, headers=[(n, v) for n, v in msg.headers if n not in DEATH_HEADERS])
        return replace(for_rabbit(msg, self.endpoint), exchange=exchange, routing_key=key)


class KafkaOriginTarget:
    """--to-origin from a Kafka dead-letter topic: each message back to the
    topic its origin header names (origin_topic), in the partition its
    convention's partition header names (origin_partition), else partitioned
    by key as any Kafka target.  A message without the header, whose topic no
    longer exists, or whose partition is not one of the topic's, is refused
    (named; --on-error decides)."""

    def __init__(
        self, producer: Producer, partitions: Callable[[str], list[int] | None], header: str | None, strip: bool
    ) -> None:
        self.producer = producer
        self.partitions = partitions  # asked once per topic; None: no such topic
        self.header = header
        self.strip = strip
        self.topics: dict[str, list[int] | None] = {}

    def where(self, msg: Message) -> str:
        topic = origin_topic(msg, self.header)
        return f"kafka:{topic}" if topic is not None else "(no origin)"

    def precheck(self, msg: Message) -> str | None:
        topic = origin_topic(msg, self.header)
        if topic is None:
            names = self.header or " or ".join(ORIGIN_TOPIC_HEADERS)
            return f"no {names} header: it has no origin topic"
        if topic not in self.topics:
            self.topics[topic] = self.partitions(topic)
        known = self.topics[topic]
        if known is None:
            return f"its origin topic '{topic}' does not exist"
        partition = origin_partition(msg, self.header)
        if isinstance(partition, str):
            return partition
        if partition is not None and partition not in known:
            return f"its original partition {partition} is not one of topic '{topic}' (it has {len(known)})"
        return None

    def send(self, batch: list[Message]) -> Refusals:
        refused: Refusals = []
        by_topic: dict[str, list[Message]] = {}  # in batch order within each topic
        for i, msg in enumerate(batch):
            why = self.precheck(msg)
            if why is not None:
                refused.append((msg, why))
                continue
            partition = origin_partition(msg, self.header)
            if self.strip:
                msg = replace(msg, headers=[(n, v) for n, v in msg.headers if not n.startswith(KAFKA_DEATH_PREFIXES)])
            record = replace(for_kafka(msg), line=i, partition=partition if isinstance(partition, int) else None)
            by_topic.setdefault(origin_topic(batch[i], self.header) or "", []).append(record)
        for topic, messages in by_topic.items():
            outcomes = _Outcomes()
            self.producer.send_all(topic, messages, outcomes)
            if outcomes.unknown is not None:
                raise DeliveryFailed(f"the Kafka producer lost track of messages: {outcomes.unknown}")
            refused += [(batch[i], why) for i, why in outcomes.refused]
        return refused

    def close(self) -> None:
        self.producer.close()


class StreamTarget:
    """JSON Lines on a stream (stdout): confirmed once written and flushed."""

    def __init__(self, stream: BinaryIO) -> None:
        from mqcli.core.writers import JsonWriter

        self.writer = JsonWriter(stream)

    def where(self, msg: Message) -> str:
        return STDIO

    def precheck(self, msg: Message) -> str | None:
        return None

    def send(self, batch: list[Message]) -> Refusals:
        self.writer.write_batch([replace(m, line=None) for m in batch])
        self.writer.flush()
        return []

    def close(self) -> None:
        pass


# -- live progress -----------------------------------------------------------------------


class Remaining:
    """What is left in the source, for the live line: asked every `every`
    seconds in a thread of its own (with a connection of its own), so the
    move never waits for it.  `source` opens that connection and gives the
    question to ask; a failure only leaves the figure out."""

    def __init__(
        self, source: Callable[[], AbstractContextManager[Callable[[], int]]], label: str, every: float = 1.0
    ) -> None:
        self.source = source
        self.label = label  # e.g. "lag", "in queue"
        self.every = every
        self.value: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mqcli-move-remaining", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait: float = 0.0) -> None:
        """Stop asking; `wait`: up to so many seconds for the thread to close its connection."""
        self._stop.set()
        if wait > 0 and self._thread.is_alive():
            self._thread.join(wait)

    def _run(self) -> None:
        try:
            with self.source() as ask:
                while not self._stop.is_set():
                    self.value = ask()
                    self._stop.wait(self.every)
        except Exception:  # a live figure is a nicety: without it the line says less, nothing else changes
            self.value = None

    def text(self) -> str | None:
        return None if self.value is None else f"{self.label} {self.value:,}"


class MoveReport(DeliveryReport):
    """The report of a move: on a terminal its live line (redrawn in place on
    stderr, never on a pipe) also says what is left in the source -- a Kafka
    source's lag, a queue's depth -- through `remaining()`.  The summary at
    the end is the plain DeliveryReport line."""

    def __init__(self, out: ReportOutput, *, verb: str, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(out, verb=verb, clock=clock)
        self.left: Remaining | None = None
        self._final = False

    def line(self) -> str:
        text = super().line()
        left = self.left.text() if self.left is not None and not self._final else None
        return f"{text}, {left}" if left is not None else text

    def summary(self) -> None:
        self._final = True
        if self.left is not None:
            self.left.stop()
        super().summary()

    @contextlib.contextmanager
    def remaining(self, source: Callable[[], AbstractContextManager[Callable[[], int]]], label: str) -> Iterator[None]:
        """While the block runs, ask `source` what is left (only when the live line is drawn)."""
        if not self.out.live:
            yield
            return
        self.left = Remaining(source, label)
        self.left.start()
        try:
            yield
        finally:
            # Its connection closed before the move's own are (and the interpreter exits).
            self.left.stop(wait=2.0)


def kafka_lag(ends: dict[int, tuple[int, int]], committed: dict[int, int], taken: dict[int, int]) -> int:
    """Messages left in a Kafka source: per partition, its end offset minus the
    next offset to read -- the one after the last taken by this run, else the
    group's committed offset, else the partition's first (`ends`: (first, end))."""
    left = 0
    for partition, (first, end) in ends.items():
        at = max(taken.get(partition, -1), committed.get(partition, -1), first)
        left += max(0, end - at)
    return left


def _watch(
    relay: Relay, source: Callable[[], AbstractContextManager[Callable[[], int]]], label: str
) -> AbstractContextManager[None]:
    """The live figure of what is left, when the relay reports to a MoveReport."""
    report = relay.report
    return report.remaining(source, label) if isinstance(report, MoveReport) else contextlib.nullcontext()


def _kafka_remaining(
    settings: KafkaSettings, profile: str | None, topic: str, group: str | None, taken: dict[int, int]
) -> Callable[[], AbstractContextManager[Callable[[], int]]]:
    """The live lag of a Kafka source (its own admin connection, opened in Remaining's thread)."""
    from mqcli.core.kafka.engine import admin

    @contextlib.contextmanager
    def source() -> Iterator[Callable[[], int]]:
        with admin(settings, profile) as a:
            partitions = [(topic, p) for p in a.partitions(topic)]

            def ask() -> int:
                ends = {p: v for (_t, p), v in a.log_offsets(partitions).items()}
                done = {p: o for (t, p), o in a.committed_offsets(group).items() if t == topic} if group else {}
                return kafka_lag(ends, done, dict(taken))

            yield ask

    return source


def _queue_remaining(profile: Profile, queue: str) -> Callable[[], AbstractContextManager[Callable[[], int]]]:
    """The live depth (ready messages) of a queue source, on a connection of its own."""

    @contextlib.contextmanager
    def source() -> Iterator[Callable[[], int]]:
        from mqcli.core.rabbit.client import RabbitClient

        with RabbitClient(profile.rabbit, profile=profile.name) as client:
            yield lambda: client.queue_info(queue)[0]

    return source


# -- the relay ---------------------------------------------------------------------------


class Refused(DeliveryFailed):
    """The target refused a message and --on-error is stop (exit 1)."""


Recode = Callable[[Message], "Message | str"]  # a message as the target gets it, or why it cannot be


class _Recoding:
    """A target whose messages are re-encoded first (--value-format, --key-format:
    schema.codec.Recoder); one that cannot be is refused as the target refuses
    one, so --on-error decides what becomes of it."""

    def __init__(self, target: Any, recode: Recode) -> None:
        self.target = target
        self.recode = recode
        self.refused: Callable[[int, str], None] = _ignore  # pipelined: where refusals go (the relay's)
        self.label: str = getattr(target, "label", "target")

    def pipeline(self, confirmed: Callable[[Message], None], refused: Callable[[int, str], None]) -> None:
        self.target.pipeline(confirmed, refused)
        self.refused = refused

    def send(self, batch: list[Message]) -> Refusals:
        refused: Refusals = []
        todo: list[Message] = []
        origin: dict[int, Message] = {}
        for msg in batch:
            out = self.recode(msg)
            if isinstance(out, str):
                refused.append((msg, out))
            else:
                origin[id(out)] = msg
                todo.append(out)
        if todo:
            refused += [(origin[id(m)], why) for m, why in self.target.send(todo)]
        return refused

    def submit(self, batch: list[Message], first: int) -> None:
        """Pipelined: each run of re-encoded messages goes out numbered as in `batch`."""
        run: list[Message] = []
        start = first
        for i, msg in enumerate(batch):
            out = self.recode(msg)
            if isinstance(out, str):
                if run:
                    self.target.submit(run, start)
                run, start = [], first + i + 1
                self.refused(first + i, out)
            else:
                run.append(out)
        if run:
            self.target.submit(run, start)

    def wait(self) -> None:
        self.target.wait()


class Relay:
    """Batches source messages and delivers them to the target; see the module doc.

    `pending` holds what was taken but is not handed to the target yet.
    `broken` is set while a delivery is under way and stays set when it did
    not finish (a refusal, a lost connection): from then on nothing more may
    be acknowledged, and `deliver` refuses to run again.

    Pipelined (`pipeline()`: a Kafka source to a RabbitMQ endpoint), `deliver`
    publishes the batch and returns without waiting for its confirms; the
    relay is then the consumer's hooks.Deferral: the consumer's marks are
    held in `ledger` and released to it as the confirms come (`settle`
    waits for all of them).
    """

    def __init__(
        self,
        target: Target,
        report: DeliveryReport,
        *,
        skip_refused: bool,
        warn: Callable[[str], None],
        dead_letter: Target | None = None,
        dry_run: bool = False,
        preview: Callable[[str], None] = lambda _t: None,
        pace: Pace | None = None,
        recode: Recode | None = None,
    ) -> None:
        self.target = target
        self.recode = recode  # --value-format/--key-format (schema.codec.Recoder)
        self._recoded: dict[int, tuple[Message, Message]] = {}  # see admit
        # What deliveries go through: the target, or it behind the re-encoding.
        self._send: Callable[[list[Message]], Refusals] = (
            _Recoding(target, self._recode_taken).send if recode else target.send
        )
        self.report = report
        self.skip_refused = skip_refused
        self.warn = warn
        self.dead_letter = dead_letter  # --on-error dead-letter:ENDPOINT
        # --dry-run: nothing is sent; what would go where is counted, the first
        # PREVIEW messages named through `preview`, refusals known in advance warned.
        self.dry_run = dry_run
        self.preview = preview
        self.pace = pace
        self.pending: list[Message] = []
        self.broken = False
        # Live progress from a Kafka source: partition -> the offset after the last one taken.
        self.positions: dict[int, int] | None = None
        self.skipped = 0
        self.dead_lettered = 0
        self.targets: dict[str, int] = {}  # messages confirmed (dry run: that would go) per destination
        self.stopped_at: tuple[Message, str] | None = None  # the message `admit` refused to take
        # --reconnect on a RabbitMQ source: reconnections, and how many
        # messages already delivered may come again (at most).
        self.reconnects = 0
        self.redelivered = 0
        self.ledger: Ledger[Any] | None = None  # pipelined: see pipeline()
        self._pipe: PipelinedTarget | None = None  # the target, pipelined
        self._counted = 0  # pipelined: confirmed messages counted in `targets`
        self._refusals: list[tuple[int, str]] = []  # pipelined: (number, why) not handled yet

        # Optional on a target: one that sends everything one way and refuses
        # nothing in advance need not say so.
        self._where: Callable[[Message], str] = getattr(target, "where", lambda _m: "target")
        self._precheck: Callable[[Message], str | None] = getattr(target, "precheck", lambda _m: None)

    def take(self, msg: Message) -> None:
        self.pending.append(msg)
        if self.positions is not None and msg.partition is not None and msg.offset is not None:
            self.positions[msg.partition] = msg.offset + 1

    def batch_writer(self) -> _RelayWriter | None:
        """For a Kafka consumer's loop: a writer that takes whole poll batches
        (no Relay.take per message), or None when each message must be looked
        at on its own: --rate/--speed, --dry-run, re-encoding, a target that may
        refuse one in advance (--to-origin, --key-from).  The consumer's `flush` is still
        `deliver`, and it marks a batch's offsets only after handing it over."""
        if self.pace is not None or self.dry_run or self.recode is not None:
            return None
        target = self.target
        if isinstance(target, KafkaTarget | ExactlyOnceTarget) or (
            self.ledger is not None and not getattr(target, "refuses_in_advance", True)
        ):
            return _RelayWriter(self)
        return None

    # -- pipelined delivery (a Kafka source to RabbitMQ) ---------------------------------

    def pipeline(self) -> bool:
        """Deliver pipelined from now on, when the target can (a RabbitMQ
        queue or exchange; not a dry run): whether it does.  The source must
        then commit only what the relay releases (hooks.Deferral)."""
        target = self.target
        if self.dry_run or not getattr(target, "pipelines", False):
            return False
        assert isinstance(target, PipelinedTarget)
        self.ledger = Ledger()
        self._pipe = _Recoding(target, self._recode_taken) if self.recode else target
        self._pipe.pipeline(self._confirmed, self._refused)
        return True

    def bind(self, release: Callable[[Any, int], None]) -> None:
        assert self.ledger is not None
        self.ledger.release = release

    def hold(self, key: Any, next_offset: int) -> None:
        """A source's mark: released once every message taken before it is settled."""
        ledger = self.ledger
        assert ledger is not None
        ledger.hold(key, next_offset, ledger.high + len(self.pending))

    def settle(self) -> None:
        """Deliver what is pending and wait until everything delivered is
        settled (its held marks released).  Nothing after a broken delivery."""
        if self.ledger is None:
            self.deliver()
        elif not self.broken:
            self._pipelined(wait=True)

    def _confirmed(self, msg: Message) -> None:
        """The target confirmed the message numbered msg.line (once per message: kept short)."""
        assert self.ledger is not None and msg.line is not None
        self.ledger.settle(msg.line)
        report = self.report
        report.delivered += 1
        report.bytes += len(msg.value or b"")

    def _refused(self, number: int, why: str) -> None:
        self._refusals.append((number, why))

    def _pipelined(self, wait: bool) -> None:
        """Hand what is pending to the target; then (`wait`, or after a
        Ctrl-C/SIGTERM) wait for every confirm.  Refusals are handled here,
        outside the target's callbacks."""
        from mqcli.core.rabbit.publish import MessageTooLarge

        ledger, target = self.ledger, self._pipe
        assert ledger is not None and target is not None
        self.broken = True
        batch, self.pending = self.pending, []
        try:
            with DeferredSignals() as signals:
                try:
                    if batch:
                        target.submit(batch, ledger.add(batch))
                    if wait or signals.received is not None:
                        target.wait()
                except MessageTooLarge as e:
                    raise _named(e, ledger.message) from None
                if self._refusals:
                    self._handle_refusals()
        finally:
            # Confirms come one by one: counted per destination here, in bulk.
            delivered = self.report.delivered
            self.targets[target.label] = self.targets.get(target.label, 0) + delivered - self._counted
            self._counted = delivered
        self.report.progress()
        self.broken = False
        signals.raise_received()

    def _handle_refusals(self) -> None:
        """Refusals of pipelined messages: skipped or dead-lettered ones are
        settled; otherwise (or refused by the dead-letter target too) the
        outstanding confirms are awaited, so that what came before is
        released, and the move stops (Refused)."""
        ledger = self.ledger
        assert ledger is not None
        refusals, self._refusals = sorted(self._refusals), []  # in the order they were taken
        numbers = {id(ledger.message(n)): n for n, _why in refusals}
        refused = [(ledger.message(n), why) for n, why in refusals]
        self.report.failed += len(refused)
        if self.dead_letter is not None:
            left = self._dead_letter(refused)
            gone = {id(m) for m, _why in left}
            for msg, _why in refused:
                if id(msg) not in gone:
                    ledger.settle(numbers[id(msg)])
            refused = left
        elif self.skip_refused:
            for msg, why in refused:
                self.skipped += 1
                self.warn(f"skipped: {describe(msg)}: {why} (acknowledged, --on-error skip)")
                ledger.settle(numbers[id(msg)])
            refused = []
        if refused:
            for msg, why in refused:
                self.report.out.problem(f"not moved: {describe(msg)}: {why}")
            # The outstanding confirms release what came before; a failure meanwhile changes nothing.
            with contextlib.suppress(Exception):
                assert self._pipe is not None
                self._pipe.wait()
            self.report.failed += len(self._refusals)  # refused meanwhile: counted, and they stay too
            self._refusals = []
            first, why = refused[0]
            raise Refused(f"the target refused {describe(first)} ({why}); it stays in the source")

    def admit(self, msg: Message) -> bool:
        """Whether `msg` may be taken; False when the target would refuse it
        (no origin...) and --on-error is stop: the source then stops before
        it, after delivering and acknowledging what came before, and leaves it
        where it is (`stopped_at` names it)."""
        if self.dry_run or self.skip_refused or self.dead_letter is not None:
            return True  # the refusal is counted (or dead-lettered) with its batch
        why = self._precheck(msg)
        if why is None and self.recode is not None:
            # A message that cannot be re-encoded is known before anything is sent:
            # stop before it.  The result waits for the delivery (the entry keeps
            # `msg` alive, so its id names it until then).
            out = self.recode(msg)
            if isinstance(out, str):
                why = out
            else:
                self._recoded[id(msg)] = (msg, out)
        if why is None:
            return True
        self.stopped_at = (msg, why)
        return False

    def _recode_taken(self, msg: Message) -> Message | str:
        """A taken message re-encoded: by `admit` already, or now."""
        early = self._recoded.pop(id(msg), None)
        if early is not None:
            return early[1]
        assert self.recode is not None
        return self.recode(msg)

    def wait_turn(
        self, msg: Message, tick: Callable[[float], None] = time.sleep, stop: Callable[[], bool] = lambda: False
    ) -> bool:
        """--rate/--speed: wait until `msg` may go.  What is pending is delivered
        first, and confirmed, so nothing waits unconfirmed -- except, pipelined,
        over waits shorter than LONG_WAIT (a fast --rate: its confirms are
        taken in with the next batch).  False when `stop()` cut it short."""
        if self.pace is None:
            return True
        wait = self.pace.delay(msg)
        if wait <= 0:
            return True
        if self.ledger is not None and wait >= LONG_WAIT:
            self.settle()
        else:
            self.deliver()
        return pause(wait, tick, stop)

    def stop_error(self) -> Refused | None:
        """The error for the message `admit` refused to take, if any."""
        if self.stopped_at is None:
            return None
        msg, why = self.stopped_at
        self.report.failed += 1
        self.report.out.problem(f"not moved: {describe(msg)}: {why}")
        return Refused(f"the target refused {describe(msg)} ({why}); it stays in the source")

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
        if self.dry_run:
            self._dry_run()
            return
        if self.ledger is not None:
            self._pipelined(wait=False)
            return
        self.broken = True
        batch = self.pending
        with DeferredSignals() as signals:
            refused = self._send(batch)
            self.report.delivered += len(batch) - len(refused)
            no = {id(m) for m, _ in refused}
            self.report.bytes += sum(len(m.value or b"") for m in batch if id(m) not in no)
            self.report.failed += len(refused)
            self._count(m for m in batch if id(m) not in no)
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

    def _count(self, messages: Iterable[Message]) -> None:
        for msg in messages:
            where = self._where(msg)
            self.targets[where] = self.targets.get(where, 0) + 1

    def _dry_run(self) -> None:
        """Count what the pending messages would do; send and acknowledge nothing."""
        for msg in self.pending:
            why = self._precheck(msg)
            if why is not None:
                self.report.failed += 1
                self.warn(f"would not move: {describe(msg)}: {why}")
                continue
            seen = self.report.delivered
            self.report.delivered += 1
            self.report.bytes += len(msg.value or b"")
            self._count([msg])
            if seen < PREVIEW:
                self.preview(f"would move {describe(msg)} ({len(msg.value or b'')} B) to {self._where(msg)}")
        self.pending = []
        self.report.progress()

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


class _RelayWriter:
    """The Writer a Kafka consumer hands whole batches to (`write_batch`): they
    become the relay's pending messages, delivered at the consumer's flush."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    def write_batch(self, messages: list[Message]) -> None:
        relay = self.relay
        relay.pending.extend(messages)
        if relay.positions is not None and messages:
            for msg in messages:  # live progress: the offset after the last one taken, per partition
                if msg.partition is not None and msg.offset is not None:
                    relay.positions[msg.partition] = msg.offset + 1

    def write(self, msg: Message) -> None:
        self.relay.take(msg)

    def flush(self) -> None:
        self.relay.deliver()


# Pipelined, a --rate/--speed wait this long (seconds) or longer waits with
# nothing unconfirmed: the target's connection is not served meanwhile.
LONG_WAIT = 1.0

# --exactly-once: the poll batch, and so the transaction, holds up to this many
# records (at least; kafka.consumer.max_poll_records when that is larger).
TRANSACTION_BATCH = 5_000

# --dry-run names this many messages one by one (then only counts).
PREVIEW = 10

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
    target: Endpoint,
    profile: Profile,
    engine: str | None,
    stdout: BinaryIO,
    note: Callable[[str], None],
    reconnect: ReconnectPolicy | None = None,
    keys: KeyFrom | None = None,
) -> Target:
    """The target, connected, after checking that it exists (NotFound, exit 6):
    nothing is read from the source before that.  `keys`: --key-from."""
    if target.kind == KAFKA:
        from mqcli.core.kafka.engine import admin, resolve

        settings = resolve(profile.kafka, engine)
        assert target.topic is not None
        with admin(settings, profile.name) as a:
            a.partitions(target.topic)
        return KafkaTarget(_safe_producer(settings, profile.name), target.topic, target.text, keys)
    if target.kind == RABBIT:
        from mqcli.core.rabbit.client import RabbitClient

        client = RabbitClient(profile.rabbit, profile=profile.name)
        try:
            if target.queue is not None:
                client.queue_info(target.queue)
            elif target.exchange is not None:
                client.check_exchange(target.exchange)
            return RabbitTarget(client, target, note, reconnect, keys)
        except BaseException:
            client.close()
            raise
    return StreamTarget(stdout)


def _safe_producer(settings: KafkaSettings, profile: str | None) -> Producer:
    """A producer for the guarantee: acks=all and idempotence, the rest from the profile."""
    from mqcli.core.kafka.common import ProduceOptions
    from mqcli.core.kafka.engine import producer

    d = settings.producer
    options = ProduceOptions(
        acks="all",  # the guarantee needs every in-sync replica's acknowledgement ...
        compression=d.compression or "none",
        linger_ms=int(d.linger_ms),
        batch_size=d.batch_size,
        idempotence=True,  # ... and no duplicates from the producer's own retries
        delivery_timeout=float(d.delivery_timeout),
    )
    return producer(settings, options, profile)


def open_exactly_once(
    source: Endpoint, source_profile: Profile, target: Endpoint, profile: Profile, engine: str | None, group: str
) -> ExactlyOnceTarget:
    """--exactly-once: a transactional producer on the target topic, after
    checking that source and target are one cluster (UsageError, exit 2,
    when not: a transaction cannot span two) and the topic exists (exit 6).
    Its transactional id is derived from `group`: the next run with the same
    group fences this one off and aborts what it left open."""
    from mqcli.core.kafka.common import ProduceOptions
    from mqcli.core.kafka.engine import admin, resolve, transactional_producer

    settings = resolve(profile.kafka, engine)
    assert target.topic is not None
    with admin(settings, profile.name) as a:
        a.partitions(target.topic)
        if source.profile != target.profile:
            source_settings = resolve(source_profile.kafka, engine)
            with admin(source_settings, source_profile.name) as b:
                theirs = b.cluster().get("cluster_id")
            ours = a.cluster().get("cluster_id")
            if theirs is None or theirs != ours:
                raise UsageError(
                    f"--exactly-once needs source and target on one Kafka cluster: {source} is on cluster "
                    f"{theirs}, {target} on {ours} (a transaction cannot span two clusters)"
                )
    d = settings.producer
    options = ProduceOptions(
        acks="all",
        compression=d.compression or "none",
        linger_ms=int(d.linger_ms),
        batch_size=d.batch_size,
        idempotence=True,
        delivery_timeout=float(d.delivery_timeout),
        transactional_id=f"{group}.tx",
        transaction_timeout=float(d.transaction_timeout),
    )
    producer = transactional_producer(settings, options, profile.name)
    try:
        producer.init()  # fences off a killed run's producer and aborts its open transaction
    except BaseException:
        producer.close()
        raise
    return ExactlyOnceTarget(producer, target.topic, target.text)


def open_kafka_origin(profile: Profile, engine: str | None, header: str | None, strip: bool) -> Target:
    """--to-origin from a Kafka dead-letter topic: a producer that sends each
    message to the topic its origin header names."""
    from mqcli.core.errors import NotFound
    from mqcli.core.kafka.engine import admin, resolve

    settings = resolve(profile.kafka, engine)

    def partitions(topic: str) -> list[int] | None:
        try:
            with admin(settings, profile.name) as a:
                return a.partitions(topic)
        except NotFound:
            return None

    return KafkaOriginTarget(_safe_producer(settings, profile.name), partitions, header, strip)


def open_origin(
    profile: Profile, strip_death: bool, note: Callable[[str], None], reconnect: ReconnectPolicy | None = None
) -> Target:
    """--to-origin: a RabbitMQ connection that publishes each message where it came from."""
    from mqcli.core.rabbit.client import RabbitClient

    client = RabbitClient(profile.rabbit, profile=profile.name)
    try:
        return OriginTarget(client, strip_death, note, reconnect)
    except BaseException:
        client.close()
        raise


def start_group(
    settings: KafkaSettings, profile: str | None, group: str, topic: str, start: StartOffset, *, apply: bool = True
) -> dict[int, int]:
    """--from/--offset for a consumer group: per partition, the group's
    committed offset moved forward to `start` where it is behind (never
    back), so a first run starts there and a later one continues where the
    last stopped.  Returns each partition's committed offset as it was (-1:
    none); `apply=False` (--dry-run) changes nothing.  Moving offsets needs
    the group idle: a group with running members is an error (exit 1)."""
    from mqcli.core.kafka.common import ResetTarget
    from mqcli.core.kafka.engine import admin

    with admin(settings, profile) as a:
        if start.kind == "time":
            plan = a.plan_reset(group, [topic], ResetTarget("time", timestamp_ms=start.value))
        elif start.kind == "end":
            plan = a.plan_reset(group, [topic], ResetTarget("latest"))
        elif start.kind == "offset":
            plan = a.plan_reset(group, [topic], ResetTarget("offset", offset=start.value))
        else:  # beginning, or -N: N before the end, but not before the beginning
            plan = a.plan_reset(group, [topic], ResetTarget("earliest"))
            if start.kind == "relative":
                ends = {r["partition"]: r["new_offset"] for r in a.plan_reset(group, [topic], ResetTarget("latest"))}
                for row in plan:
                    row["new_offset"] = max(ends[row["partition"]] + start.value, row["new_offset"])
        behind = [r for r in plan if r["current_offset"] is None or r["current_offset"] < r["new_offset"]]
        if behind and apply:
            a.apply_reset(group, behind)
    return {r["partition"]: -1 if r["current_offset"] is None else r["current_offset"] for r in plan}


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
    start: StartOffset | None = None,
) -> None:
    """Read `source` into `relay`: in consumer group `group` (offsets committed
    only for confirmed messages), else from the beginning (or `start`:
    --from/--offset) without commits.  `timeout` is --timeout as given, for
    the message when it cut the run short.  A dry run (relay.dry_run) joins
    no group and commits nothing: it reads from the group's committed
    offsets (or `start`, not before them)."""
    from mqcli.core.kafka.common import StartOffset
    from mqcli.core.kafka.engine import group_consumer, partition_consumer, resolve
    from mqcli.core.stops import IDLE

    settings = resolve(profile.kafka, engine)
    assert source.topic is not None

    def paced(msg: Message) -> bool:
        if not relay.admit(msg):
            # The target would refuse it (no origin): what came before is
            # delivered (so its marks may be committed), this one stays.
            relay.deliver()
            return False
        # Waits before taking: an interruption meanwhile leaves `msg` untaken and nothing pending.
        relay.wait_turn(msg)
        relay.take(msg)
        return True  # marked now, committed only after relay.deliver() (the batch's flush) returned

    def plain_take(msg: Message) -> None:
        if not paced(msg):
            raise relay.stop_error() or DeliveryFailed("stopped")

    taken: dict[int, int] = {}
    if relay.report.out.live:
        relay.positions = taken
    with _watch(relay, _kafka_remaining(settings, profile.name, source.topic, group, taken), "lag"):
        if group is not None and not relay.dry_run:
            if start is not None:
                start_group(settings, profile.name, group, source.topic, start)
            note(f"consumer group {group}: offsets are committed once the target confirmed their messages")
            exactly_once = isinstance(relay.target, ExactlyOnceTarget)
            if exactly_once and settings.consumer.max_poll_records < TRANSACTION_BATCH:
                # Each poll batch is one transaction, whose commit costs a few round
                # trips whatever its size: larger ones (a killed run leaves no
                # duplicates, whatever the size) keep that cost per record low.
                consumer_settings = replace(settings.consumer, max_poll_records=TRANSACTION_BATCH)
                settings = replace(settings, consumer=consumer_settings)
            consumer = group_consumer(
                settings,
                group,
                [source.topic],
                start="earliest",
                profile=profile.name,
                on_event=lambda text: debug(f"group {group}: {text}"),
            )
            if exactly_once:
                assert isinstance(relay.target, ExactlyOnceTarget)
                relay.target.attach(consumer)
                # The offsets are committed by the transactions only: a commit of
                # the consumer's own (asynchronous between batches) could land
                # after a later transaction's and set the group back.  Where the
                # consumer would commit (between batches, before its partitions
                # are revoked) it delivers what is pending: one transaction.
                setattr(consumer, "commit", lambda *_a, **_k: relay.deliver())  # noqa: B010 (a method replaced on purpose)
            # To RabbitMQ: the next batch goes out while the last one's confirms
            # are outstanding; the consumer commits only what the relay releases.
            pipelined = relay.pipeline()
            finished = False
            try:
                result = consumer.run(
                    rules, paced, relay.deliver, writer=relay.batch_writer(), defer=relay if pipelined else None
                )
                finished = True
            finally:
                if exactly_once:
                    try:
                        if not relay.broken:
                            relay.deliver()  # the last transaction, while the consumer is still a member
                    finally:
                        consumer.close(commit=False)
                else:
                    # Commit (after delivering what is pending) only when no delivery
                    # broke off: then every marked offset's message was confirmed --
                    # pipelined, always: only released marks (confirmed messages) are
                    # committable, so the last confirms are awaited first.  A
                    # run can end while the source's broker is away (restarting: the
                    # rest was read ahead): the commit is tried again as long as the
                    # group keeps the member, and a failure is not a success.
                    late = None
                    try:
                        if pipelined:
                            late = _settle_last(relay, raising=finished)
                    finally:
                        committed = consumer.close(
                            commit=pipelined or not relay.broken, retry_for=float(settings.consumer.session_timeout)
                        )
                    if late is not None:
                        raise late
                    if finished and not relay.broken and not committed:
                        raise ConnectionFailed(
                            f"moved {relay.report.delivered}, but the consumer group {group} could not commit "
                            "their offsets: a rerun moves the uncommitted ones again (duplicates, nothing lost)"
                        )
            error = relay.stop_error()
            if error is not None:
                raise error
        else:
            begin = start or StartOffset("beginning")
            if group is not None:
                # A dry run reads where the move would start: the group's offsets
                # (read, never committed), moved forward to --from/--offset.
                if start is None:
                    begin = StartOffset("stored")
                else:
                    floor = start_group(settings, profile.name, group, source.topic, start, apply=False)
                    rules = _above(rules, floor)
            plain = partition_consumer(settings, source.topic, profile=profile.name, group=group)
            pipelined = relay.pipeline()  # (nothing is committed: no marks to hold)
            finished = False
            try:
                plain.seek(begin)
                result = plain.run(rules, plain_take, relay.deliver, writer=relay.batch_writer())
                relay.settle()
                finished = True
            finally:
                try:
                    if pipelined and not finished:
                        _settle_last(relay, raising=False)  # the counts say what was confirmed
                finally:
                    plain.close()
    count = rules.count
    if result.reason == IDLE and (result.handled == 0 or (count is not None and result.handled < count)):
        got = f"{result.handled} of {count}" if count is not None else "no"
        raise TimeoutExpired(f"{got} messages from {source} within {timeout} of idle time")


def _settle_last(relay: Relay, *, raising: bool) -> BaseException | None:
    """A pipelined run's end: wait for the outstanding confirms, so that what
    they release is committed.  Its error when `raising` (the run itself
    ended well: the error is the run's), else None (the run's own error is
    the one that counts; nothing more is confirmed).  A second Ctrl-C stops
    the wait at once."""
    if relay.broken:
        relay.pending.clear()  # never sent: their marks stay held
        return None
    try:
        relay.settle()
    except Exception as e:
        relay.pending.clear()
        return e if raising else None
    return None


def _above(rules: StopRules, floor: dict[int, int]) -> StopRules:
    """`rules` reading only messages at or after each partition's `floor` offset."""
    inner = rules.matcher

    def matcher(msg: Message) -> bool:
        if msg.offset is not None and msg.partition is not None and msg.offset < floor.get(msg.partition, -1):
            return False
        return inner is None or inner(msg)

    return replace(rules, matcher=matcher)


def is_stream(client: RabbitClient, queue: str) -> bool:
    """Whether `queue` is a stream: a stream accepts a consumer attached at an
    offset (at `next`: nothing is delivered), every other queue type refuses
    the argument before delivering anything.  Either way nothing is taken."""
    from mqcli.core.rabbit import streams
    from mqcli.core.rabbit.client import amqp_errors

    with amqp_errors(client, what=f"queue '{queue}'"):
        ch = client.connection.channel()
        try:
            streams.quiet_rejects(ch)
            ch.basic_qos(prefetch_count=1)
            try:
                streams.subscribe(ch, queue, lambda *_a: None, "next")
            except UsageError:
                return False  # the broker closed the probe's channel
            return True
        finally:
            if ch.is_open:
                ch.close()


def from_rabbit(
    source: Endpoint,
    profile: Profile,
    relay: Relay,
    rules: StopRules,
    *,
    prefetch: int = 1000,
    copy: bool = False,
    stream_offset: str | int | datetime.datetime | None = None,
    reconnect: ReconnectPolicy | None = None,
    note: Callable[[str], None] = lambda _t: None,
) -> None:
    """Consume queue `source` into `relay`: each delivery is acknowledged with
    its batch, after relay.deliver() returned.

    `copy`: the queue must be a stream (read from `stream_offset`, else
    first; -e: up to its last message when the run began), since reading
    any other queue takes its messages (UsageError, exit 2, naming it); a
    stream keeps them, so a move from one is a UsageError too.  On a stream
    an acknowledgement only gives the broker credit, and --match and
    --dry-run need not hold anything.

    `reconnect` (--reconnect): a lost connection is opened again and the
    consumer resumes (a stream at the offset after the last one read); what
    was taken but not delivered is dropped (the broker sends it again), and
    the last batch delivered but perhaps not acknowledged may come again:
    counted in `relay.redelivered` (at most).

    Messages that --match leaves out, and with --dry-run every message, are
    held: neither acknowledged nor given back while the run lasts (so none
    is seen twice), and when the channel closes RabbitMQ puts them back in
    their places, in their order.  A message the target would refuse
    anyway (`Relay.admit`) stops the run: what came before is delivered and
    acknowledged, it goes back to the queue, and Refused names it."""
    from mqcli.core.errors import ConnectionFailed
    from mqcli.core.rabbit.client import ConnectionLost, RabbitClient, amqp_errors
    from mqcli.core.rabbit.consume import HELD, ConsumeSettings, Outcome, consume

    assert source.queue is not None
    numbers = itertools.count(1)

    # Ctrl-C/SIGTERM are held while consuming (one landing inside pika can
    # leave the connection unable to close); the loop looks at them between
    # messages, acknowledges what was confirmed, and then the signal acts.
    with DeferredSignals() as signals, RabbitClient(profile.rabbit, profile=profile.name) as client:

        def serve(seconds: float) -> None:
            # While --rate waits, the source connection keeps answering heartbeats.
            with amqp_errors(client):
                client.connection.process_data_events(time_limit=seconds)

        def take(msg: Message) -> Outcome:
            msg.line = next(numbers)  # names it in a failure: its position in this run
            if not relay.admit(msg):
                return Outcome.STOP  # what came before is delivered and acknowledged; this one goes back
            try:
                if not relay.wait_turn(msg, serve, lambda: signals.received is not None):
                    return Outcome.REQUEUE  # a signal while waiting: back in its place; the loop stops next
            except ConnectionLost:
                if stream:
                    # The stream resumes after this one's offset: keep it (delivered with the next batch).
                    relay.take(msg)
                raise  # a queue sends it again
            relay.take(msg)
            if relay.dry_run:
                relay.deliver()  # counts it: nothing is sent
                # Given back when the channel closes (a stream keeps it anyway: the ack is credit).
                return Outcome.ACK if stream else Outcome.HOLD
            return Outcome.ACK  # sent with the batch's basic.ack, after relay.deliver() (its flush) returned

        client.queue_info(source.queue)  # NotFound (exit 6)
        stream = is_stream(client, source.queue)
        if stream and not copy:
            raise UsageError(
                f"cannot move from RabbitMQ stream '{source.queue}': a stream keeps its messages (use copy)"
            )
        if copy and not stream:
            raise UsageError(
                f"cannot copy from RabbitMQ queue '{source.queue}': reading takes the messages from it "
                "(use move; only a stream can be copied)"
            )
        settings = ConsumeSettings(
            queue=source.queue,
            count=rules.count,
            exit_at_end=rules.exit_at_end,
            idle_timeout=rules.idle_timeout,
            matcher=rules.matcher,
            # Only when something is held (--match, --dry-run; never on a stream).
            holding=(relay.dry_run or rules.matcher is not None) and not stream,
            prefetch=prefetch,
            stream_offset=(stream_offset if stream_offset is not None else "first") if stream else None,
        )
        # How many messages the target had confirmed when the source last
        # acknowledged (an ack follows each flush and covers everything
        # delivered before it), and at the flush before that one: a lost
        # connection may also have lost the last ack in flight.
        acked = [0, 0]

        def flush() -> None:
            try:
                relay.deliver()
            except ConnectionLost as e:
                # The target's connection (its own --reconnect gave up): not the
                # source's, which consume() would reconnect.  Exit 4 all the same.
                raise ConnectionFailed(e.message, hint=e.hint) from None
            acked[:] = [acked[1], relay.report.delivered]

        def on_reconnect() -> None:
            relay.reconnects += 1
            if stream:
                return  # resumed after the last offset read: what is pending is still to deliver, none comes again
            relay.pending.clear()  # not delivered, not acknowledged: the broker sends them again
            # Delivered but maybe not acknowledged: they come again (at most this many).
            relay.redelivered += relay.report.delivered - acked[0]
            acked[:] = [relay.report.delivered, relay.report.delivered]

        # A stream keeps its messages: its depth says nothing of what is left to copy.
        watch = (
            contextlib.nullcontext() if stream else _watch(relay, _queue_remaining(profile, source.queue), "in queue")
        )
        try:
            with watch:
                result = consume(
                    client,
                    settings,
                    take,
                    flush=flush,
                    stop_requested=lambda: signals.received is not None,
                    reconnect=reconnect,
                    notify=note,
                    on_reconnect=on_reconnect,
                )
        except TimeoutExpired:
            # As for a Kafka source: --timeout is an error only when it cut the move short.
            moved = relay.report.delivered + relay.skipped
            if moved == 0 or (rules.count is not None and moved < rules.count):
                raise
        else:
            error = relay.stop_error()
            if error is not None:
                raise error
            if result.reason == HELD:
                raise DeliveryFailed(
                    f"stopped after holding {result.skipped + (result.handled if relay.dry_run else 0)} messages "
                    f"of queue '{source.queue}' (the most one run can hold); they go back to the queue"
                )
    signals.raise_received()


def from_stream(stream: BinaryIO, relay: Relay, count: int | None) -> None:
    """JSON Lines from `stream` (the `-` source) into `relay`, a batch at a time."""
    from mqcli.core.readers import InputMode, ReaderOptions, read_messages

    messages: Iterable[Message] = read_messages([stream], ReaderOptions(mode=InputMode.jsonl))
    if count is not None:
        messages = itertools.islice(messages, count)
    for batch in stdin_batches(messages):
        for msg in batch:
            if not relay.admit(msg):
                relay.deliver()  # what came before goes; this one and the rest are not sent
                raise relay.stop_error() or DeliveryFailed("stopped")
            relay.wait_turn(msg)
            relay.take(msg)
        relay.deliver()
