"""What a Kafka consumer adds to its engine's consume loop besides the stop
rules (mqcli.core.stops): where messages go, and -- for a group member --
which offsets become committable and when they are committed.  Shared by
both engines (kafka_python/consumer.py, librdkafka/consumer.py); nothing
here imports a client library.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from mqcli.core.message import Message

if TYPE_CHECKING:
    from mqcli.core.writers import Writer

K = TypeVar("K", bound=Hashable)  # how an engine names a partition

# A group member also commits in the middle of a batch once this many seconds
# passed since its last commit: with a slow --exec a batch of hundreds of
# messages takes minutes, and until a commit neither lag views nor a restarted
# member see any of that progress (Kafka's own auto-commit interval is 5 s).
COMMIT_EVERY = 1.0


@dataclass
class LoopHooks(Generic[K]):
    """The callbacks of one consume run."""

    handle: Callable[[Message], bool | None]  # one message; False stops the run (the message is not done)
    flush: Callable[[], None]  # after each batch that handled anything
    # The writer `handle` writes to: without --match and --until whole batches
    # go to it instead, and `on_written(key, next_offset)` stands for what
    # `handle` would have recorded per message.
    writer: Writer | None = None
    on_written: Callable[[K, int], None] | None = None
    on_skipped: Callable[[Message], None] | None = None  # a message --match left out
    after_batch: Callable[[], None] | None = None  # after `flush` (a group member commits)
    revoked: Callable[[], Iterable[K]] | None = None  # partitions revoked since the last call

    def finish(self) -> None:
        """The end of a batch that handled anything: flush the output, then commit."""
        self.flush()
        if self.after_batch is not None:
            self.after_batch()


class Deferral(Protocol[K]):
    """Where a group member's marks go when its output is confirmed only
    later than it is handed over (`mqcli move` to RabbitMQ sends the next
    batch while the confirms of the last are outstanding).  A mark is held
    and comes back through `release(key, next_offset)` -- the consumer then
    commits it as usual -- once every message handed over before it was
    confirmed; `settle()` waits until all of them are (before partitions
    are revoked)."""

    def bind(self, release: Callable[[K, int], None]) -> None:
        """Where held marks go when they are released."""

    def hold(self, key: K, next_offset: int) -> None:
        """A mark (`next_offset` of partition `key` is committable) that waits
        for the messages handed over so far."""

    def settle(self) -> None:
        """Hand over what is pending and wait until everything handed over is settled."""


def held_marks(
    defer: Deferral[K] | None,
    key: Callable[[Message], K],
    mark: Callable[[Message], None],
    mark_offset: Callable[[K, int], None],
    release: Callable[[K, int], None],
) -> tuple[Callable[[Message], None], Callable[[K, int], None]]:
    """A group member's `mark` and `mark_offset` for one run: its own, or
    with `defer` ones that hold each mark there until it is released
    (through `release`: the consumer's own `mark_offset`, guarded)."""
    if defer is None:
        return mark, mark_offset
    defer.bind(release)
    hold = defer.hold

    def held(msg: Message) -> None:
        assert msg.offset is not None
        hold(key(msg), msg.offset + 1)

    return held, hold


def group_hooks(
    handle: Callable[[Message], bool],
    flush: Callable[[], None],
    writer: Writer | None,
    *,
    mark: Callable[[Message], None],
    mark_offset: Callable[[K, int], None],
    commit: Callable[[], None],
    revoked: Callable[[], Iterable[K]],
    clock: Callable[[], float] = time.monotonic,
) -> LoopHooks[K]:
    """The hooks of a group member: a message becomes committable (`mark`)
    once `handle` succeeded for it, and what is committable is committed
    after each batch, and within one every COMMIT_EVERY seconds."""
    last_commit = clock()

    def committed() -> None:
        nonlocal last_commit
        commit()
        last_commit = clock()

    def handled(msg: Message) -> bool:
        if not handle(msg):
            return False
        mark(msg)
        if clock() - last_commit >= COMMIT_EVERY:
            flush()  # the output first: a commit never runs ahead of what was written
            committed()
        return True

    # A message filtered out by --match is done too: committing past it keeps
    # the group from re-reading it forever.
    return LoopHooks(
        handled,
        flush,
        writer,
        on_written=mark_offset,
        on_skipped=mark,
        after_batch=committed,
        revoked=revoked,
    )


def commit_retrying(
    commit: Callable[[], None],
    retry_for: float,
    on_event: Callable[[str], None],
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """A group member's last commit, tried again for `retry_for` seconds when
    it fails (its coordinator away: a broker restarting); whether it succeeded."""
    deadline = clock() + retry_for
    while True:
        try:
            commit()
            return True
        except Exception as e:  # mapped client errors: the caller decides what a failure means
            if clock() >= deadline:
                on_event(f"commit on close failed: {e}")
                return False
            on_event(f"commit on close failed, trying again: {e}")
            sleep(1.0)
