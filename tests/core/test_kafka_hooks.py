"""The group member's hooks (mqcli.core.kafka.hooks): when handled messages
become committed.  Pure: the engines' loops call these hooks."""

from __future__ import annotations

from mqcli.core.kafka.hooks import COMMIT_EVERY, LoopHooks, commit_retrying, group_hooks, held_marks
from mqcli.core.message import Message


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _hooks(events: list[str], clock: Clock, ok: bool = True) -> LoopHooks[int]:
    return group_hooks(
        lambda msg: ok,
        lambda: events.append("flush"),
        None,
        mark=lambda msg: events.append(f"mark {msg.offset}"),
        mark_offset=lambda key, off: None,
        commit=lambda: events.append("commit"),
        revoked=lambda: [],
        clock=clock,
    )


def test_a_quick_batch_commits_once_at_its_end() -> None:
    events: list[str] = []
    clock = Clock()
    hooks = _hooks(events, clock)
    for off in range(3):
        clock.now += COMMIT_EVERY / 10
        assert hooks.handle(Message(value=b"x", offset=off))
    hooks.finish()
    assert events == ["mark 0", "mark 1", "mark 2", "flush", "commit"]


def test_a_slow_batch_commits_as_it_goes_output_first() -> None:
    events: list[str] = []
    clock = Clock()
    hooks = _hooks(events, clock)
    clock.now += COMMIT_EVERY  # a slow --exec
    assert hooks.handle(Message(value=b"x", offset=0))
    clock.now += COMMIT_EVERY / 2
    assert hooks.handle(Message(value=b"x", offset=1))  # not yet: the last commit was just now
    clock.now += COMMIT_EVERY / 2
    assert hooks.handle(Message(value=b"x", offset=2))
    assert events == ["mark 0", "flush", "commit", "mark 1", "mark 2", "flush", "commit"]


def test_a_failed_message_is_neither_marked_nor_committed() -> None:
    events: list[str] = []
    clock = Clock()
    hooks = _hooks(events, clock, ok=False)
    clock.now += 10 * COMMIT_EVERY
    assert not hooks.handle(Message(value=b"x", offset=0))
    assert events == []


def test_commit_retrying_tries_again_until_it_succeeds() -> None:
    now = [0.0]
    calls: list[float] = []
    events: list[str] = []

    def commit() -> None:
        calls.append(now[0])
        if len(calls) < 3:
            raise RuntimeError("coordinator not available")

    def sleep(seconds: float) -> None:
        now[0] += seconds

    assert commit_retrying(commit, 45.0, events.append, clock=lambda: now[0], sleep=sleep)
    assert calls == [0.0, 1.0, 2.0]
    assert events == ["commit on close failed, trying again: coordinator not available"] * 2


def test_commit_retrying_gives_up_after_its_time() -> None:
    now = [0.0]
    events: list[str] = []

    def commit() -> None:
        raise RuntimeError("down")

    def sleep(seconds: float) -> None:
        now[0] += seconds

    assert not commit_retrying(commit, 2.5, events.append, clock=lambda: now[0], sleep=sleep)
    assert events[-1] == "commit on close failed: down" and len(events) == 4
    # Without time to retry (group-consume's own close): one try.
    events.clear()
    assert not commit_retrying(commit, 0.0, events.append, clock=lambda: now[0], sleep=sleep)
    assert events == ["commit on close failed: down"]


class _Holder:
    """A Deferral that holds every mark until `release_all`."""

    def __init__(self) -> None:
        self.held: list[tuple[int, int]] = []
        self.release = lambda _k, _o: None

    def bind(self, release: object) -> None:
        self.release = release  # type: ignore[assignment]

    def hold(self, key: int, next_offset: int) -> None:
        self.held.append((key, next_offset))

    def settle(self) -> None:
        for key, offset in self.held:
            self.release(key, offset)
        self.held = []


def test_held_marks_go_to_the_deferral_and_come_back_through_release() -> None:
    done: dict[int, int] = {}
    own = (lambda msg: done.update({-1: 0}), lambda key, off: done.update({key: off}))
    # Without a deferral: the consumer's own functions.
    assert held_marks(None, lambda m: m.partition or 0, *own, done.__setitem__) == own
    holder = _Holder()
    mark, mark_offset = held_marks(holder, lambda m: m.partition or 0, *own, done.__setitem__)
    mark(Message(b"", topic="t", partition=1, offset=4))
    mark_offset(2, 9)
    assert done == {} and holder.held == [(1, 5), (2, 9)]
    holder.settle()
    assert done == {1: 5, 2: 9}
