"""When a consume run stops, for both brokers: the stop rules (`--count`,
`-e`, `--until`, `--timeout`, `--match`), the result of a run, and the
tracker that applies the rules while a consume loop feeds it what arrives.

The tracker knows no broker and no client library.  A loop asks it what to
take from a batch given as runs of one partition's records (`take_runs`, the
fast path: whole batches, no call per record), whether a record is still wanted
(`admit`) and what to do with a message (`offer`), whether the run is over
(`sweep`, `over`) and how long it may wait for more (`wait`).  What differs
between engines stays in their loops: how they poll, how they read a
record's partition, offset and timestamp, how they pause a finished
partition, when they commit.  RabbitMQ's loop uses the count, idle and
match rules only (a queue has no partitions; its "end" is an empty queue).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from mqcli.core.message import Message

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, built with less work at import (see mqcli/core/_dataclass.py)
    from mqcli.core._dataclass import dataclass

Matcher = Callable[[Message], bool]

# Why a run ended (RunResult.reason).
COUNT = "count"  # --count reached
END = "end"  # -e: every partition reached its end offset (Kafka), the queue is empty (RabbitMQ)
UNTIL = "until"  # every partition passed --until
IDLE = "idle"  # --timeout expired
STOPPED = "stopped"  # the handler asked to stop

# How long a loop waits for messages at most before it looks at the rules again (seconds).
LONGEST_WAIT = 0.5


@dataclass
class StopRules:
    """What ends a consume run, and which messages count towards it."""

    count: int | None = None  # stop after this many handled messages
    # Kafka: stop when every partition reached the end offset it had when
    # the run (or its assignment) began; RabbitMQ: when the queue is empty.
    exit_at_end: bool = False
    until_ms: int | None = None  # Kafka: stop each partition at its first message after this time
    idle_timeout: float | None = None  # seconds without a handled (matching) message
    matcher: Matcher | None = None  # --match: the others are skipped (and not counted)


@dataclass
class RunResult:
    """How a consume run went."""

    reason: str | None = None  # one of the reasons above; None while the run goes on
    handled: int = 0  # messages the handler took (written, or --exec succeeded)
    failed: int = 0  # messages the handler gave back (RabbitMQ: requeued or rejected)
    skipped: int = 0  # messages that did not match --match


K = TypeVar("K", bound=Hashable)  # how a loop names a partition
R = TypeVar("R")  # a client library's record


class StopTracker(Generic[K]):
    """The stop rules applied to one run, partition by partition.

    `stop_at` holds the offset each partition stops at with -e (shared with
    the caller, which may fill it as partitions are assigned);
    `resolve_stop(key)` looks one up when a record arrives from a partition
    that has none yet.  `on_done(key)` is called once when a partition has
    nothing more to give (the engine pauses it).
    """

    def __init__(
        self,
        rules: StopRules,
        *,
        stop_at: dict[K, int] | None = None,
        resolve_stop: Callable[[K], int | None] | None = None,
        on_done: Callable[[K], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], float] = lambda: time.time() * 1000,
    ) -> None:
        self.rules = rules
        self.count = rules.count
        self.exit_at_end = rules.exit_at_end
        self.until = rules.until_ms
        self.matcher = rules.matcher
        self.stop_at: dict[K, int] = {} if stop_at is None else stop_at
        self.done: set[K] = set()  # partitions finished (paused) in this run
        self.result = RunResult()
        self.full = False  # `take` reached --count
        self._resolve_stop = resolve_stop
        self._on_done = on_done
        self._clock = clock
        self._wall_ms = wall_ms
        self._last_activity = clock()

    @property
    def whole_batches(self) -> bool:
        """Whether records may be taken a partition run at a time (`take`):
        nothing needs to look at a record but its offset."""
        return self.matcher is None and self.until is None

    # -- partitions ------------------------------------------------------------------

    def mark_done(self, key: K) -> None:
        if key not in self.done:
            self.done.add(key)
            if self._on_done is not None:
                self._on_done(key)

    def forget(self, keys: Iterable[K]) -> None:
        """Partitions revoked (maybe assigned again, unpaused): they start over."""
        self.done.difference_update(keys)

    def _stop(self, key: K) -> int | None:
        stop = self.stop_at.get(key)
        if stop is None and self._resolve_stop is not None:
            stop = self._resolve_stop(key)
            if stop is not None:
                self.stop_at[key] = stop
        return stop

    def sweep(self, assigned: Iterable[K], position: Callable[[K], int], at_end: Callable[[K], bool]) -> None:
        """Mark done the partitions already at their stop (empty ones, or a
        filtered tail): no record will come to say so.  `position(key)` is the
        next offset the loop will read, `at_end(key)` whether it has read all
        there is (asked only once --until has passed)."""
        past_until = self.until is not None and self._wall_ms() > self.until
        exit_at_end = self.exit_at_end
        stop_at = self.stop_at
        for key in assigned:
            if key in self.done:
                continue
            if exit_at_end and key in stop_at and position(key) >= stop_at[key]:
                self.mark_done(key)
            elif past_until and at_end(key):
                self.mark_done(key)

    def over(self, assigned: Collection[K]) -> str | None:
        """Why the run is over (END, UNTIL or IDLE), or None."""
        if assigned and all(key in self.done for key in assigned):
            return END if self.exit_at_end else UNTIL
        if self.rules.idle_timeout is not None and self.idle_left() <= 0:
            return IDLE
        return None

    def idle_left(self) -> float:
        """Seconds before --timeout expires (infinite without one)."""
        if self.rules.idle_timeout is None:
            return float("inf")
        return self._last_activity + self.rules.idle_timeout - self._clock()

    def wait(self, longest: float = LONGEST_WAIT) -> float:
        """How long the next poll may wait for messages (seconds)."""
        return max(0.0, min(longest, self.idle_left()))

    def touch(self) -> None:
        """Something was handled: the idle clock starts again."""
        self._last_activity = self._clock()

    # -- whole batches (no --match, no --until) --------------------------------------

    def take(self, key: K, records: Sequence[R], offset: Callable[[R], int]) -> int:
        """How many of `records` -- the next ones of partition `key`, not
        done, offsets growing -- to hand on: those before its -e stop offset
        (the partition is then done) and within --count (`full` is then set).
        They are counted as handled; `touch()` once they were."""
        n = len(records)
        ended = False
        if self.exit_at_end:
            stop = self._stop(key)
            if stop is not None and offset(records[-1]) >= stop:
                n = next(i for i, r in enumerate(records) if offset(r) >= stop)
                ended = True
        if self.count is not None and n >= self.count - self.result.handled:
            # --count is reached before (or at) the stop offset.
            n = self.count - self.result.handled
            self.full = True
        elif ended:
            self.mark_done(key)
        self.result.handled += n
        return n

    def take_runs(self, runs: Iterable[tuple[K, list[R]]], offset: Callable[[R], int]) -> list[tuple[K, list[R]]]:
        """`take` over a batch given as runs of one partition's records: the
        runs (cut where needed) to hand on, in order.  Partitions done are
        passed over; it stops at --count (`full`)."""
        taken: list[tuple[K, list[R]]] = []
        done = self.done
        for key, records in runs:
            if key in done or not records:
                continue
            n = self.take(key, records, offset)
            if n:
                taken.append((key, records if n == len(records) else records[:n]))
            if self.full:
                break
        return taken

    # -- one record at a time --------------------------------------------------------

    def admit(self, key: K, offset: int, timestamp: int | None = None) -> bool:
        """Whether a record of partition `key` is still wanted: False once the
        partition is done, and for the record at its -e stop offset or the first
        one after --until (`timestamp` in ms; None: unknown), which finish it."""
        if key in self.done:
            return False
        if self.exit_at_end:
            stop = self.stop_at.get(key)  # this runs once per message: _stop() only when unknown
            if stop is None:
                stop = self._stop(key)
            if stop is not None and offset >= stop:
                self.mark_done(key)
                return False
        until = self.until
        if until is not None and timestamp is not None and timestamp > until:
            self.mark_done(key)
            return False
        return True

    def matches(self, msg: Message) -> bool:
        """--match: False (and counted as skipped) for a message to leave out."""
        if self.matcher is None or self.matcher(msg):
            return True
        self.result.skipped += 1
        return False

    def handled(self) -> bool:
        """Count one handled message; True when --count is reached."""
        self.result.handled += 1
        return self.count is not None and self.result.handled >= self.count

    def reached(self) -> bool:
        """Whether --count is reached."""
        return self.count is not None and self.result.handled >= self.count

    def offer(
        self,
        msg: Message,
        handle: Callable[[Message], bool | None],
        on_skipped: Callable[[Message], None] | None = None,
    ) -> str | None:
        """Hand an admitted message to `handle` unless --match leaves it out
        (then to `on_skipped`).  COUNT or STOPPED (`handle` returned False: the
        message is not done) when the run is over, else None."""
        # matches(), handled() and touch() written out: this runs once per message.
        result = self.result
        if self.matcher is not None and not self.matcher(msg):
            result.skipped += 1
            if on_skipped is not None:
                on_skipped(msg)
            return None
        if handle(msg) is False:
            return STOPPED
        result.handled += 1
        self._last_activity = self._clock()
        return COUNT if self.count is not None and result.handled >= self.count else None

    def end(self, reason: str) -> RunResult:
        """The result of the run, over for `reason`."""
        self.result.reason = reason
        return self.result
