"""`mqcli rabbit wait`: conditions on a queue (or on what exists) and the
polling loop that waits for one, for CI jobs.

Pure logic: what is polled is a function the caller passes (a passive declare
through core/rabbit/client.py), and the clock and sleep can be replaced, so
the conditions and the deadline are tested without a broker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from mqcli.core.errors import UsageError

S = TypeVar("S")


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


@dataclass(frozen=True)
class Waited(Generic[S]):
    """The outcome of a wait: whether the condition held, the last state seen, how long it took."""

    held: bool
    last: S
    elapsed: float
    polls: int


def wait_for(
    poll: Callable[[], S],
    holds: Callable[[S], bool],
    *,
    timeout: float,
    interval: float,
    on_poll: Callable[[S, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Waited[S]:
    """Poll until `holds(state)` or `timeout` seconds pass (at least one poll, and one
    more at the deadline, so a condition met during the last interval is not missed)."""
    if interval <= 0:
        raise UsageError("--interval must be more than 0")
    start = clock()
    deadline = start + timeout
    polls = 0
    while True:
        state = poll()
        polls += 1
        now = clock()
        if on_poll is not None:
            on_poll(state, now - start)
        if holds(state):
            return Waited(True, state, now - start, polls)
        if now >= deadline:
            return Waited(False, state, now - start, polls)
        sleep(min(interval, deadline - now))
