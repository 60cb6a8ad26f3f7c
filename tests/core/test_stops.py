"""The stop-rule tracker both Kafka engines' consume loops (and RabbitMQ's)
apply: pure logic, driven here the way the loops drive it, without a broker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from mqcli.core.message import Message
from mqcli.core.stops import COUNT, END, IDLE, STOPPED, UNTIL, StopRules, StopTracker


@dataclass
class Rec:
    offset: int
    value: bytes = b"v"


def recs(*offsets: int) -> list[Rec]:
    return [Rec(o) for o in offsets]


def off(r: Rec) -> int:
    return r.offset


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def tracker(rules: StopRules, **kw: Any) -> tuple[StopTracker[str], list[str], Clock]:
    paused: list[str] = []
    clock = Clock()
    t: StopTracker[str] = StopTracker(rules, on_done=paused.append, clock=clock, **kw)
    return t, paused, clock


def msg(value: bytes = b"v", offset: int = 0) -> Message:
    return Message(value=value, partition=0, offset=offset)


# -- --count ---------------------------------------------------------------------


def test_count_across_batches() -> None:
    t, paused, _ = tracker(StopRules(count=5))
    assert t.whole_batches
    assert t.take("a", recs(0, 1, 2), off) == 3 and not t.full
    assert t.take("b", recs(7, 8, 9, 10), off) == 2 and t.full
    assert t.result.handled == 5
    assert paused == []  # --count ends the run; no partition reached its end


def test_count_exactly_at_a_batch_end_is_full() -> None:
    t, _, _ = tracker(StopRules(count=3))
    assert t.take("a", recs(0, 1, 2), off) == 3
    assert t.full
    assert t.end(COUNT).reason == COUNT


def test_count_one_message_at_a_time() -> None:
    t, _, _ = tracker(StopRules(count=2))
    handled: list[Message] = []
    assert t.offer(msg(), handled.append) is None
    assert t.offer(msg(), handled.append) == COUNT
    assert len(handled) == 2 and t.result.handled == 2
    assert t.reached()


def test_no_count_never_full() -> None:
    t, _, _ = tracker(StopRules())
    for i in range(10):
        assert t.take("a", recs(i * 3, i * 3 + 1, i * 3 + 2), off) == 3
    assert not t.full and not t.reached() and t.result.handled == 30


def test_take_runs_over_batches() -> None:
    t, paused, _ = tracker(StopRules(count=7, exit_at_end=True), stop_at={"a": 3, "b": 100, "c": 100})
    first = t.take_runs([("a", recs(0, 1)), ("b", []), ("c", recs(0, 1))], off)
    assert [(k, [r.offset for r in rs]) for k, rs in first] == [("a", [0, 1]), ("c", [0, 1])]
    # "a" ends at offset 3 (cut, paused); the count of 7 is reached in "b".
    second = t.take_runs([("a", recs(2, 3, 4)), ("b", recs(0, 1, 2, 3)), ("c", recs(2))], off)
    assert [(k, [r.offset for r in rs]) for k, rs in second] == [("a", [2]), ("b", [0, 1])]
    assert t.full and paused == ["a"] and t.result.handled == 7


def test_take_runs_passes_over_done_partitions_and_keeps_whole_runs() -> None:
    t, _, _ = tracker(StopRules(exit_at_end=True), stop_at={"a": 0})
    run = recs(5, 6)
    t.sweep(["a"], lambda key: 0, lambda key: False)
    taken = t.take_runs([("a", recs(0)), ("b", run)], off)
    assert taken == [("b", run)] and taken[0][1] is run  # not copied
    assert not t.full


# -- -e / --exit-at-end ----------------------------------------------------------


def test_exit_at_end_cuts_a_batch_at_the_stop_offset() -> None:
    t, paused, _ = tracker(StopRules(exit_at_end=True), stop_at={"a": 10})
    assert t.take("a", recs(7, 8, 9, 10, 11), off) == 3
    assert "a" in t.done and paused == ["a"]
    assert not t.full
    assert t.over(["a"]) == END


def test_exit_at_end_record_at_stop_offset_first() -> None:
    t, paused, _ = tracker(StopRules(exit_at_end=True), stop_at={"a": 5})
    assert t.take("a", recs(5, 6), off) == 0
    assert paused == ["a"] and t.result.handled == 0


def test_count_before_the_stop_offset_wins() -> None:
    t, paused, _ = tracker(StopRules(count=2, exit_at_end=True), stop_at={"a": 10})
    assert t.take("a", recs(7, 8, 9, 10), off) == 2
    assert t.full and paused == []


def test_exit_at_end_empty_partitions_are_done_by_position() -> None:
    # Empty partitions (position already at the end) never deliver a record.
    t, paused, _ = tracker(StopRules(exit_at_end=True), stop_at={"a": 0, "b": 3, "c": 2})
    positions = {"a": 0, "b": 1, "c": 2}
    t.sweep(["a", "b", "c"], positions.__getitem__, lambda key: False)
    assert paused == ["a", "c"]
    assert t.over(["a", "b", "c"]) is None
    assert t.take("b", recs(1, 2), off) == 2
    positions["b"] = 3
    t.sweep(["a", "b", "c"], positions.__getitem__, lambda key: False)
    assert t.over(["a", "b", "c"]) == END
    assert paused == ["a", "c", "b"]  # each partition paused once


def test_exit_at_end_filtered_tail() -> None:
    # --match leaves out the last records: the partition still ends at its stop offset.
    t, paused, _ = tracker(StopRules(exit_at_end=True, matcher=lambda m: m.value == b"yes"), stop_at={"a": 3})
    assert not t.whole_batches
    handled: list[Message] = []
    skipped: list[Message] = []
    for o, value in [(0, b"yes"), (1, b"no"), (2, b"no")]:
        assert t.admit("a", o)
        assert t.offer(msg(value, o), handled.append, skipped.append) is None
    assert [m.offset for m in handled] == [0] and [m.offset for m in skipped] == [1, 2]
    assert t.result.handled == 1 and t.result.skipped == 2
    assert t.over(["a"]) is None
    t.sweep(["a"], lambda key: 3, lambda key: False)
    assert paused == ["a"] and t.over(["a"]) == END


def test_exit_at_end_record_past_the_stop_finishes_the_partition() -> None:
    t, paused, _ = tracker(StopRules(exit_at_end=True, matcher=lambda m: True), stop_at={"a": 2})
    assert t.admit("a", 1)
    assert not t.admit("a", 2)
    assert not t.admit("a", 3)  # done: nothing more from it
    assert paused == ["a"]


def test_stop_offsets_resolved_once_when_a_partition_first_delivers() -> None:
    looked_up: list[str] = []

    def resolve(key: str) -> int | None:
        looked_up.append(key)
        return {"a": 2}.get(key)

    t, paused, _ = tracker(StopRules(exit_at_end=True), resolve_stop=resolve)
    assert t.take("a", recs(0, 1), off) == 2
    assert t.take("a", recs(2, 3), off) == 0
    assert looked_up == ["a"] and t.stop_at == {"a": 2} and paused == ["a"]
    # No end offset known: no stop, asked again next time.
    assert t.take("b", recs(0), off) == 1
    assert t.admit("b", 1)
    assert looked_up == ["a", "b", "b"]


def test_no_assignment_is_not_the_end() -> None:
    t, _, _ = tracker(StopRules(exit_at_end=True))
    assert t.over([]) is None


# -- --until ---------------------------------------------------------------------


def test_until_stops_each_partition_at_its_first_later_message() -> None:
    now = [1_000.0]
    t, paused, _ = tracker(StopRules(until_ms=500), wall_ms=lambda: now[0])
    assert not t.whole_batches
    assert t.admit("a", 0, 400)
    assert t.admit("a", 1, None)  # no timestamp: kept
    assert t.admit("a", 2, 500)
    assert not t.admit("a", 3, 501)
    assert not t.admit("a", 4, 100)  # the partition is done
    assert paused == ["a"]
    # "b" is at its end and --until has passed: done too.
    t.sweep(["a", "b"], lambda key: 0, lambda key: key == "b")
    assert t.over(["a", "b"]) == UNTIL


def test_until_not_yet_passed_keeps_waiting_at_the_end() -> None:
    now = [100.0]
    asked: list[str] = []

    def at_end(key: str) -> bool:
        asked.append(key)
        return True

    t, paused, _ = tracker(StopRules(until_ms=500), wall_ms=lambda: now[0])
    t.sweep(["a"], lambda key: 0, at_end)
    assert paused == [] and asked == []  # not even asked before --until
    now[0] = 600.0
    t.sweep(["a"], lambda key: 0, at_end)
    assert paused == ["a"] and t.over(["a"]) == UNTIL


# -- --timeout (idle) ------------------------------------------------------------


def test_idle_timeout() -> None:
    t, _, clock = tracker(StopRules(idle_timeout=2.0))
    assert t.over(["a"]) is None
    assert t.wait() == 0.5
    clock.now += 1.8
    assert t.wait() == pytest.approx(0.2)
    assert t.over(["a"]) is None
    clock.now += 0.2
    assert t.over(["a"]) == IDLE
    assert t.wait() == 0.0


def test_handled_messages_restart_the_idle_clock_skipped_ones_do_not() -> None:
    t, _, clock = tracker(StopRules(idle_timeout=1.0, matcher=lambda m: m.value == b"yes"))
    clock.now += 0.9
    assert t.offer(msg(b"yes"), lambda m: None) is None
    clock.now += 0.9
    assert t.over(["a"]) is None
    assert t.offer(msg(b"no"), lambda m: None) is None
    clock.now += 0.2
    assert t.over(["a"]) == IDLE


def test_whole_batches_restart_the_idle_clock_when_touched() -> None:
    t, _, clock = tracker(StopRules(idle_timeout=1.0))
    clock.now += 0.9
    t.take("a", recs(0), off)
    t.touch()
    clock.now += 0.9
    assert t.over(["a"]) is None


def test_no_idle_timeout_waits_the_longest() -> None:
    t, _, clock = tracker(StopRules())
    clock.now += 1e6
    assert t.over(["a"]) is None and t.wait() == 0.5 and t.wait(0.2) == 0.2


def test_all_partitions_done_wins_over_idle() -> None:
    t, _, clock = tracker(StopRules(exit_at_end=True, idle_timeout=1.0), stop_at={"a": 0})
    clock.now += 5
    t.sweep(["a"], lambda key: 0, lambda key: False)
    assert t.over(["a"]) == END


# -- rebalances --------------------------------------------------------------------


def test_partitions_revoked_and_reassigned_start_over() -> None:
    stop_at = {"a": 2, "b": 1}
    t, paused, _ = tracker(StopRules(exit_at_end=True), stop_at=stop_at, resolve_stop=lambda key: 5)
    assert t.take("a", recs(0, 1, 2), off) == 2
    t.sweep(["a", "b"], lambda key: 1, lambda key: False)
    assert t.done == {"a", "b"} and t.over(["a", "b"]) == END
    # "a" is revoked (its owner forgets its stop offset), then assigned again.
    del stop_at["a"]
    t.forget(["a"])
    assert t.done == {"b"}
    assert t.over(["a", "b"]) is None
    assert t.admit("a", 3)  # new stop offset looked up: 5
    assert t.stop_at["a"] == 5
    assert not t.admit("a", 5)
    assert paused == ["a", "b", "a"]
    assert t.over(["a", "b"]) == END


def test_a_revoked_partition_no_longer_counts() -> None:
    t, _, _ = tracker(StopRules(exit_at_end=True), stop_at={"a": 0, "b": 9})
    t.sweep(["a", "b"], lambda key: 0, lambda key: False)
    assert t.over(["a", "b"]) is None
    assert t.over(["a"]) == END  # "b" went to another member


# -- the handler -------------------------------------------------------------------


def test_handler_stop() -> None:
    t, _, clock = tracker(StopRules(count=10, idle_timeout=5.0))
    seen: list[Message] = []

    def handle(m: Message) -> bool:
        seen.append(m)
        return m.value != b"bad"

    assert t.offer(msg(b"ok"), handle) is None
    clock.now += 3
    assert t.offer(msg(b"bad"), handle) == STOPPED
    assert len(seen) == 2
    result = t.end(STOPPED)
    assert result.reason == STOPPED and result.handled == 1  # the refused message is not done
    assert t.idle_left() == pytest.approx(2.0)  # and did not count as activity


def test_handler_returning_none_goes_on() -> None:
    t, _, _ = tracker(StopRules())
    assert t.offer(msg(), lambda m: None) is None
    assert t.result.handled == 1


def test_matches_counts_skipped() -> None:
    t, _, _ = tracker(StopRules(matcher=lambda m: m.value == b"yes"))
    assert t.matches(msg(b"yes")) and not t.matches(msg(b"no"))
    assert t.result.skipped == 1 and t.result.handled == 0
    assert not t.handled() and t.result.handled == 1


def test_on_done_called_once_per_partition() -> None:
    t, paused, _ = tracker(StopRules(exit_at_end=True), stop_at={"a": 0})
    t.mark_done("a")
    t.mark_done("a")
    assert not t.admit("a", 0)
    assert paused == ["a"]
