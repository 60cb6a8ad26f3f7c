"""Waiting for a condition, for CI (`rabbit wait`, `kafka wait`): poll, say what
was seen, stop when it holds or when the time is up.

Broker-neutral and pure: what is polled and what must hold are functions the
caller passes, and the clock and sleep can be replaced, so the deadline logic
is tested without a broker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from mqcli.core.errors import UsageError

S = TypeVar("S")


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
