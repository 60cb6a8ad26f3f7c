"""`rabbit wait`'s conditions and polling loop, with a fake clock: no broker."""

from __future__ import annotations

import pytest

from mqcli.core.errors import UsageError
from mqcli.core.rabbit.wait import QueueCondition, QueueState, wait_for


def cond(
    *, empty: bool = False, max_ready: int | None = None, min_ready: int | None = None, consumers: int | None = None
) -> QueueCondition:
    return QueueCondition.from_options(empty=empty, max_ready=max_ready, min_ready=min_ready, consumers=consumers)


@pytest.mark.parametrize(
    ("condition", "state", "holds"),
    [
        (cond(empty=True), QueueState(True, 0, 0), True),
        (cond(empty=True), QueueState(True, 1, 3), False),
        (cond(empty=True), QueueState(False), False),  # a missing queue is not an empty one
        (cond(max_ready=5), QueueState(True, 5, 0), True),
        (cond(max_ready=5), QueueState(True, 6, 0), False),
        (cond(min_ready=2), QueueState(True, 2, 0), True),
        (cond(min_ready=2), QueueState(True, 1, 0), False),
        (cond(consumers=2), QueueState(True, 9, 2), True),
        (cond(consumers=2), QueueState(True, 0, 1), False),
        (cond(empty=True, consumers=1), QueueState(True, 0, 0), False),
        (cond(empty=True, consumers=1), QueueState(True, 0, 1), True),
        (cond(min_ready=1, max_ready=3), QueueState(True, 4, 0), False),
        (cond(consumers=0), QueueState(False), False),
    ],
)
def test_queue_conditions(condition: QueueCondition, state: QueueState, holds: bool) -> None:
    assert condition.holds(state) is holds


def test_condition_descriptions() -> None:
    assert cond(empty=True).describe() == "empty"
    assert cond(max_ready=3, consumers=1).describe() == "at most 3 ready and at least 1 consumer"
    assert cond(min_ready=2, consumers=2).describe() == "at least 2 ready and at least 2 consumers"
    assert QueueState(True, 3, 1).describe() == "3 ready, 1 consumer"
    assert QueueState(False).describe() == "the queue does not exist"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({}, "say what to wait for"),
        ({"empty": True, "max_ready": 2}, "not both"),
        ({"min_ready": 5, "max_ready": 2}, "can never hold"),
    ],
)
def test_condition_usage_errors(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        cond(**kwargs)  # type: ignore[arg-type]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_returns_as_soon_as_the_condition_holds() -> None:
    clock = FakeClock()
    states = iter([5, 3, 0, 0])
    seen: list[tuple[int, float]] = []
    result = wait_for(
        lambda: next(states),
        lambda n: n == 0,
        timeout=10,
        interval=1,
        on_poll=lambda n, t: seen.append((n, t)),
        clock=clock,
        sleep=clock.sleep,
    )
    assert (result.held, result.last, result.polls, result.elapsed) == (True, 0, 3, 2.0)
    assert seen == [(5, 0.0), (3, 1.0), (0, 2.0)]


def test_wait_times_out_with_the_last_state_and_a_poll_at_the_deadline() -> None:
    clock = FakeClock()
    count = iter(range(100))
    result = wait_for(lambda: next(count), lambda n: False, timeout=2.5, interval=1, clock=clock, sleep=clock.sleep)
    assert not result.held
    # polls at 0, 1, 2 and the deadline 2.5
    assert (result.polls, result.last, result.elapsed) == (4, 3, 2.5)
    assert clock.sleeps == [1, 1, 0.5]


def test_wait_polls_once_with_a_zero_timeout() -> None:
    clock = FakeClock()
    result = wait_for(lambda: "x", lambda s: False, timeout=0, interval=1, clock=clock, sleep=clock.sleep)
    assert (result.held, result.polls, clock.sleeps) == (False, 1, [])


def test_wait_refuses_a_zero_interval() -> None:
    with pytest.raises(UsageError, match="--interval"):
        wait_for(lambda: 0, lambda s: True, timeout=1, interval=0)
