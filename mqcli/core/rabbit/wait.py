"""`mqcli rabbit wait`: the conditions on a queue, for CI jobs.

Pure logic, tested without a broker; the polling loop that waits for one is
the broker-neutral mqcli.core.wait (re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass

from mqcli.core.errors import UsageError
from mqcli.core.wait import Waited as Waited
from mqcli.core.wait import wait_for as wait_for


@dataclass(frozen=True)
class QueueState:
    """What a poll saw: the broker's exact ready count and consumer count (a passive
    declare), or that the queue does not exist (yet)."""

    exists: bool
    ready: int = 0
    consumers: int = 0

    def describe(self) -> str:
        if not self.exists:
            return "the queue does not exist"
        return f"{self.ready} ready, {self.consumers} consumer{'' if self.consumers == 1 else 's'}"


@dataclass(frozen=True)
class QueueCondition:
    """All of the given parts must hold (None: not asked for)."""

    max_ready: int | None = None  # --empty is max_ready 0
    min_ready: int | None = None
    min_consumers: int | None = None

    @classmethod
    def from_options(
        cls, *, empty: bool, max_ready: int | None, min_ready: int | None, consumers: int | None
    ) -> QueueCondition:
        if empty and max_ready is not None:
            raise UsageError("give --empty or --max, not both (--empty is --max 0)")
        if empty:
            max_ready = 0
        if max_ready is None and min_ready is None and consumers is None:
            raise UsageError("say what to wait for: --empty, --max N, --min N or --consumers N")
        if max_ready is not None and min_ready is not None and min_ready > max_ready:
            raise UsageError(f"--min {min_ready} is more than --max {max_ready}: that can never hold")
        return cls(max_ready, min_ready, consumers)

    def holds(self, state: QueueState) -> bool:
        if not state.exists:
            return False
        return (
            (self.max_ready is None or state.ready <= self.max_ready)
            and (self.min_ready is None or state.ready >= self.min_ready)
            and (self.min_consumers is None or state.consumers >= self.min_consumers)
        )

    def describe(self) -> str:
        parts = []
        if self.max_ready == 0:
            parts.append("empty")
        elif self.max_ready is not None:
            parts.append(f"at most {self.max_ready} ready")
        if self.min_ready is not None:
            parts.append(f"at least {self.min_ready} ready")
        if self.min_consumers is not None:
            parts.append(f"at least {self.min_consumers} consumer{'' if self.min_consumers == 1 else 's'}")
        return " and ".join(parts)
