"""The live line of a move (no broker): what is left in a Kafka source, and
the figure on the live line but not in the summary."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from mqcli.core.move import MoveReport, Remaining, kafka_lag


def test_kafka_lag_counts_from_the_next_offset_to_read() -> None:
    ends = {0: (0, 100), 1: (10, 50), 2: (0, 0)}
    assert kafka_lag(ends, {}, {}) == 100 + 40  # from each partition's first offset
    assert kafka_lag(ends, {0: 60}, {}) == 40 + 40  # from the group's committed offset
    assert kafka_lag(ends, {0: 60}, {0: 90, 1: 50}) == 10  # from after the last one taken
    assert kafka_lag(ends, {1: 5}, {}) == 100 + 40  # a committed offset before the first is the first
    assert kafka_lag({0: (0, 10)}, {0: 12}, {}) == 0  # never negative


class _Out:
    live = True

    def __init__(self) -> None:
        self.drawn: list[str] = []
        self.summaries: list[str] = []

    def problem(self, text: str) -> None: ...
    def warn(self, text: str) -> None: ...
    def info(self, text: str) -> None: ...
    def result(self, line: str) -> None: ...

    def summary(self, text: str) -> None:
        self.summaries.append(text)

    def draw(self, text: str) -> None:
        self.drawn.append(text)


def _source(values: list[int]) -> Callable[[], contextlib.AbstractContextManager[Callable[[], int]]]:
    @contextlib.contextmanager
    def source() -> Iterator[Callable[[], int]]:
        yield lambda: values[0]

    return source


def _wait(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_the_live_line_says_what_is_left_and_the_summary_does_not() -> None:
    out = _Out()
    report = MoveReport(out, verb="moved")
    with report.remaining(_source([1234]), "lag"):
        assert report.left is not None
        _wait(lambda: report.left is not None and report.left.value == 1234)
        report.delivered = 5
        report.progress()
    assert out.drawn[-1].startswith("moved 5, failed 0") and out.drawn[-1].endswith(", lag 1,234")
    report.summary()
    assert out.drawn[-1] == ""  # cleared
    assert out.summaries == [out.summaries[0]] and "lag" not in out.summaries[0]


def test_no_figure_and_no_thread_when_nothing_is_drawn() -> None:
    out = _Out()
    out.live = False
    report = MoveReport(out, verb="moved")
    with report.remaining(_source([1]), "lag"):
        assert report.left is None
    assert "lag" not in report.line()


def test_a_failing_question_only_leaves_the_figure_out() -> None:
    @contextlib.contextmanager
    def broken() -> Iterator[Callable[[], int]]:
        raise ConnectionError("no broker")
        yield lambda: 0  # pragma: no cover

    left = Remaining(broken, "in queue", every=0.01)
    left.start()
    left._thread.join(timeout=5)
    assert not left._thread.is_alive() and left.text() is None
