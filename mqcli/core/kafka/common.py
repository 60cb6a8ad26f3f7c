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

# A producer's outcomes are reported to the broker-neutral DeliveryReport
# (mqcli.core.delivery); re-exported here, where the engines' types live.
from mqcli.core.delivery import Delivery as Delivery
from mqcli.core.delivery import DeliveryReport as DeliveryReport
from mqcli.core.errors import UsageError
from mqcli.core.message import header_text

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
class ResetTarget:
    """Where `groups reset-offsets --to` moves a group's committed offsets."""

    kind: str  # earliest | latest | offset | time
    offset: int | None = None
    timestamp_ms: int | None = None
