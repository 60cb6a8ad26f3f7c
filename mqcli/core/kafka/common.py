"""Engine-neutral Kafka types: what the CLI hands to a producer or consumer
and gets back, whichever client library does the work.  (When a consume run
stops, and its result, are broker-neutral: mqcli.core.stops.)

Nothing here imports a Kafka client library, so the librdkafka engine never
loads kafka-python (its import alone costs ~130 ms of start-up).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import field
from functools import cached_property
from typing import TYPE_CHECKING, Any

# A producer's outcomes are reported to the broker-neutral DeliveryReport
# (mqcli.core.delivery); re-exported here, where the engines' types live.
from mqcli.core.delivery import Delivery as Delivery
from mqcli.core.delivery import DeliveryReport as DeliveryReport
from mqcli.core.errors import ConfigError, ConnectionFailed, MqcliError, NotFound, UsageError
from mqcli.core.message import header_text

if TYPE_CHECKING:
    from dataclasses import dataclass

    from mqcli.core.config import KafkaSettings
else:  # the same classes, built with less work at import (see mqcli/core/_dataclass.py)
    from mqcli.core._dataclass import dataclass


def sasl_credentials(settings: KafkaSettings) -> tuple[str, str]:
    """The username and password a SASL PLAIN or SCRAM profile must give (a config
    error naming the missing key, before a client library fails on it: kafka-python
    with "'NoneType' object has no attribute 'encode'")."""
    missing = [f"kafka.{key}" for key in ("username", "password") if getattr(settings, key) is None]
    if missing:
        raise ConfigError(
            f"kafka sasl_mechanism {settings.sasl_mechanism} ({settings.security_protocol}) needs {' and '.join(missing)}"
        )
    assert settings.username is not None and settings.password is not None  # for mypy: checked above
    return settings.username, settings.password


def session_ms(settings: KafkaSettings) -> int:
    """kafka.consumer.session_timeout in milliseconds, for both engines."""
    return int(settings.consumer.session_timeout * 1000)


def heartbeat_ms(settings: KafkaSettings) -> int:
    """Heartbeats at the clients' usual 3 s, or a third of a shorter session (both
    clients refuse an interval not below the session timeout)."""
    return max(min(3000, session_ms(settings) // 3), 1)


# -- producing -------------------------------------------------------------------

ACKS = ("0", "1", "all")
COMPRESSION = ("none", "gzip", "snappy", "lz4", "zstd")


@dataclass
class ProduceOptions:
    # The first six come from the profile's kafka.producer settings (their defaults
    # are declared once, in mqcli.core.config.ProducerDefaults) or the command line.
    acks: str
    compression: str
    linger_ms: int
    batch_size: int | None  # bytes per partition; None: the engine's own default
    idempotence: bool
    delivery_timeout: float  # seconds
    sync: bool = False
    partition: int | None = None  # overrides a message's own partition
    key: bytes | None = None  # for messages without a key
    headers: list[tuple[str, str]] = field(default_factory=list)  # added to every message
    max_in_flight: int = 10000  # messages sent but not yet acknowledged
    max_in_flight_bytes: int = 64 * 1024 * 1024
    # --transactional-id: records go in transactions (mqcli.core.kafka.transactions);
    # the broker aborts one left open longer than transaction_timeout (seconds).
    transactional_id: str | None = None
    transaction_timeout: float = 60.0

    def check(self) -> None:
        """UsageError for values no engine accepts."""
        if self.acks not in ACKS:
            raise UsageError(f"invalid --acks {self.acks!r} (use 0, 1 or all)")
        if self.compression not in COMPRESSION:
            raise UsageError(f"invalid --compression {self.compression!r} (use {', '.join(COMPRESSION)})")


def header_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    # Kafka header values are bytes; typed JSON values travel as their text.
    return header_text(value).encode("utf-8")


# -- consuming -------------------------------------------------------------------

ASSIGNORS = ("range", "roundrobin", "sticky", "cooperative-sticky")


@dataclass(frozen=True)
class StartOffset:
    """--offset beginning|end|stored|N|-N, or --from TIME (kind 'time', value ms)."""

    kind: str  # beginning | end | stored | offset | relative | time
    value: int = 0

    @classmethod
    def parse(cls, text: str) -> StartOffset:
        t = text.strip().lower()
        if t in ("beginning", "earliest", "start"):
            return cls("beginning")
        if t in ("end", "latest"):
            return cls("end")
        if t in ("stored", "committed"):
            return cls("stored")
        # ASCII digits only: str.isdigit() also accepts '²', which int() refuses.
        if re.fullmatch(r"-?[0-9]+", t):
            n = int(t)
            return cls("relative", n) if t.startswith("-") else cls("offset", n)
        raise UsageError(f"invalid --offset {text!r} (use beginning, end, stored, N or -N)")

    def resolve(
        self, lo: int, hi: int, *, found: int | None = None, committed: int | None = None, reset: str = "earliest"
    ) -> int:
        """The start position in a partition whose offsets run from lo to hi.

        `found` is the offset looked up for a time (None: no message that
        late), `committed` the group's stored offset (None: none stored).
        """
        if self.kind == "beginning":
            return lo
        if self.kind == "end":
            return hi
        if self.kind == "offset":
            return min(max(self.value, lo), hi)
        if self.kind == "relative":
            return max(hi + self.value, lo)
        if self.kind == "time":
            return hi if found is None or found < 0 else found
        if self.kind == "stored":
            if committed is None or committed < 0:
                return lo if reset == "earliest" else hi
            return committed
        raise UsageError(f"unknown start {self.kind}")  # pragma: no cover - parse guards this


# -- administration ----------------------------------------------------------------


@dataclass(frozen=True)
class OffsetEntry:
    """One row of a reset-offsets file: `where` is 'FILE:LINE', for messages."""

    topic: str
    partition: int
    offset: int
    where: str


@dataclass(frozen=True)
class ResetTarget:
    """Where `groups reset-offsets` moves a group's committed offsets: `--to`
    (earliest, latest, an offset, a time), `--shift-by N` (kind 'shift',
    `offset` = N) or `--to-offsets-file` (kind 'offsets', one entry per
    partition).  Both engines plan with select() and resolve(), so they
    agree partition by partition."""

    kind: str  # earliest | latest | offset | time | shift | offsets
    offset: int | None = None
    timestamp_ms: int | None = None
    entries: tuple[OffsetEntry, ...] = ()

    def select(
        self,
        group: str,
        topics: list[str],
        committed: Iterable[tuple[str, int]],
        partitions_of: Callable[[str], list[int]],
    ) -> list[tuple[str, int]]:
        """The (topic, partition) pairs to reset: the file's, else every
        partition of `topics` (default: the topics the group has offsets for).
        `partitions_of(topic)` raises NotFound for a missing topic."""
        if self.kind == "offsets":
            known: dict[str, set[int]] = {}
            for e in self.entries:
                if e.topic not in known:
                    try:
                        known[e.topic] = set(partitions_of(e.topic))
                    except NotFound:
                        raise NotFound(f"{e.where}: topic {e.topic!r} does not exist") from None
                if e.partition not in known[e.topic]:
                    raise NotFound(f"{e.where}: topic {e.topic!r} has no partition {e.partition}")
            return sorted((e.topic, e.partition) for e in self.entries)
        keys: list[tuple[str, int]] = []
        for t in topics or sorted({t for t, _ in committed}):
            keys += [(t, p) for p in partitions_of(t)]
        if not keys:
            raise UsageError(f"group {group!r} has no committed offsets; name the topic(s) to reset")
        return sorted(keys)

    def resolve(
        self, topic: str, partition: int, lo: int, hi: int, *, committed: int | None, found: int | None = None
    ) -> int | None:
        """The new offset of one partition whose log runs from lo to hi, clamped
        to that range as Kafka's own tool does.  `committed`: the group's
        offset there; `found`: the offset looked up for a time (None or
        negative: no message that late).  None: leave the partition as it is
        (a shift where the group has no offset to shift)."""
        if self.kind == "earliest":
            return lo
        if self.kind == "latest":
            return hi
        if self.kind == "time":
            return hi if found is None or found < 0 else found
        if self.kind == "offset":
            wanted = int(self.offset or 0)
        elif self.kind == "shift":
            if committed is None:
                return None
            wanted = committed + int(self.offset or 0)
        elif self.kind == "offsets":
            wanted = self._by_partition[(topic, partition)]
        else:  # pragma: no cover - the CLI builds only the kinds above
            raise UsageError(f"unknown reset target {self.kind}")
        return min(max(wanted, lo), hi)

    @cached_property
    def _by_partition(self) -> dict[tuple[str, int], int]:
        return {(e.topic, e.partition): e.offset for e in self.entries}

    def check(self, group: str, plan: list[dict[str, Any]]) -> None:
        """UsageError when a shift has nothing to move (no committed offsets)."""
        if self.kind == "shift" and all(r["new_offset"] is None for r in plan):
            raise UsageError(f"group {group!r} has no committed offsets on these partitions to shift")


@dataclass(frozen=True)
class RecordsBefore:
    """`topics delete-records --before OFFSET|TIME`: records below the offset,
    or older than the time (its first record at/after TIME stays), go."""

    kind: str  # offset | time
    value: int  # an offset, or epoch milliseconds

    def resolve(self, lo: int, hi: int, *, found: int | None = None) -> int:
        """The partition's new start offset (lo..hi): the offset clamped, or
        the first offset at/after the time (none that late: hi, everything)."""
        if self.kind == "time":
            return hi if found is None or found < 0 else min(max(found, lo), hi)
        return min(max(self.value, lo), hi)


def cut_row(topic: str, partition: int, lo: int, hi: int, before: RecordsBefore, found: int | None) -> dict[str, Any]:
    """One partition of a delete-records plan: its offsets now, the offset
    records are deleted below, and how many records that is."""
    cut = before.resolve(lo, hi, found=found)
    return {
        "topic": topic,
        "partition": partition,
        "earliest_offset": lo,
        "latest_offset": hi,
        "delete_before": cut,
        "records": cut - lo,
    }


def record_partitions(topic: str, wanted: list[int] | None, live: list[int]) -> list[int]:
    """The partitions of `topic` (`live`) to cut: `wanted`, checked, or all."""
    for p in wanted or []:
        if p not in live:
            raise NotFound(f"topic {topic!r} has no partition {p} (it has {len(live)})")
    return sorted(set(wanted)) if wanted else sorted(live)


def offset_partitions(topic: str, wanted: list[int] | None, committed: Iterable[int], live: list[int]) -> list[int]:
    """The partitions whose committed offsets `groups delete-offsets` deletes:
    `wanted`, or every partition of `topic` (`live`, empty when it no longer
    exists) and every one the group has an offset on (`committed`)."""
    known = set(live) | set(committed)
    if not known:
        raise NotFound(f"topic {topic!r} does not exist and the group has no offsets on it")
    for p in wanted or []:
        if p not in known:
            raise NotFound(f"topic {topic!r} has no partition {p}")
    return sorted(set(wanted)) if wanted else sorted(known)


# Kafka protocol error codes (the same in both engines) that group admin meets.
GROUP_AUTHORIZATION_FAILED = 30
TOPIC_AUTHORIZATION_FAILED = 29
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
GROUP_SUBSCRIBED_TO_TOPIC = 86
INVALID_GROUP_ID = 24


def compacted_refusal(topic: str) -> MqcliError:
    """delete-records on a compacted topic, which Kafka refuses with POLICY_VIOLATION."""
    return MqcliError(
        f"cannot delete records of topic {topic!r}: Kafka refuses on a compacted topic (POLICY_VIOLATION)",
        hint="delete-records needs cleanup.policy=delete",
    )


def group_refusal(group: str, action: str, code: int, name: str, *, topic: str | None = None) -> MqcliError:
    """The error for a group admin request the broker refused with Kafka
    error `code` (`name`: the engine's name for it), worded the same for both
    engines.  `action` says what was asked ('delete', 'delete offsets of')."""
    if code in (GROUP_ID_NOT_FOUND, INVALID_GROUP_ID):
        return NotFound(f"consumer group {group!r} does not exist")
    if code == NON_EMPTY_GROUP:
        return MqcliError(
            f"cannot {action} consumer group {group!r}: it has active members (Kafka: NON_EMPTY_GROUP)",
            hint="stop its consumers first",
        )
    if code == GROUP_SUBSCRIBED_TO_TOPIC:
        return MqcliError(
            f"cannot {action} consumer group {group!r}: its active members are subscribed to topic {topic!r} "
            "(Kafka: GROUP_SUBSCRIBED_TO_TOPIC)",
            hint="stop its consumers first",
        )
    if code in (GROUP_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED):
        return ConnectionFailed(f"not authorized to {action} consumer group {group!r}: {name}")
    return MqcliError(f"cannot {action} consumer group {group!r}: {name}")
