"""Engine-neutral Kafka types: what the CLI hands to a producer or consumer
and gets back, whichever client library does the work.  (When a consume run
stops, and its result, are broker-neutral: mqcli.core.stops.)

Nothing here imports a Kafka client library, so the librdkafka engine never
loads kafka-python (its import alone costs ~130 ms of start-up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mqcli.core.errors import UsageError
from mqcli.core.message import Message, header_text

# -- producing -------------------------------------------------------------------

ACKS = ("0", "1", "all")
COMPRESSION = ("none", "gzip", "snappy", "lz4", "zstd")


@dataclass
class ProduceOptions:
    acks: str = "all"
    compression: str = "none"
    linger_ms: int = 5
    batch_size: int | None = 16384  # bytes per partition; None: the engine's own default
    idempotence: bool = True
    delivery_timeout: float = 120.0  # seconds
    sync: bool = False
    partition: int | None = None  # overrides a message's own partition
    key: bytes | None = None  # for messages without a key
    headers: list[tuple[str, str]] = field(default_factory=list)  # added to every message
    max_in_flight: int = 10000  # messages sent but not yet acknowledged
    max_in_flight_bytes: int = 64 * 1024 * 1024

    def check(self) -> None:
        """UsageError for values no engine accepts."""
        if self.acks not in ACKS:
            raise UsageError(f"invalid --acks {self.acks!r} (use 0, 1 or all)")
        if self.compression not in COMPRESSION:
            raise UsageError(f"invalid --compression {self.compression!r} (use {', '.join(COMPRESSION)})")


@dataclass
class Delivery:
    """The outcome for one input message."""

    msg: Message
    size: int
    partition: int | None = None
    offset: int | None = None
    timestamp: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class DeliveryReport:
    """Where a producer reports the fate of every message it was handed.

    Successes are counted (`delivered`, `bytes`); one call per message would
    cost more than sending it at librdkafka's rates.  Each failure comes to
    `failure()` with its message (whose `line` names the input record), and
    each success to `landed()` as well when `each` is set (`--sync` prints
    where every message landed).  `progress()` is called now and then while
    sending.  When send_all returns or raises, every message up to input line
    `handed_line` has been reported one way or the other.
    """

    each = False

    def __init__(self) -> None:
        self.delivered = 0
        self.failed = 0
        self.bytes = 0  # key + value bytes of the delivered messages
        self.handed_line = 0

    def settle(self, delivery: Delivery) -> None:
        """Count one outcome and pass it on (for producers with an outcome object per message)."""
        if delivery.error is None:
            self.delivered += 1
            self.bytes += delivery.size
            if self.each:
                self.landed(delivery)
        else:
            self.failed += 1
            self.failure(delivery)

    def landed(self, delivery: Delivery) -> None:
        """One delivered message (only called when `each`)."""

    def failure(self, delivery: Delivery) -> None:
        """One message that was not delivered (`delivery.error` says why)."""

    def progress(self) -> None:
        """Counts changed (called every few hundred messages)."""


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
class ResetTarget:
    """Where `groups reset-offsets --to` moves a group's committed offsets."""

    kind: str  # earliest | latest | offset | time
    offset: int | None = None
    timestamp_ms: int | None = None
