"""The broker-neutral delivery report (mqcli.core.delivery), without a broker."""

from __future__ import annotations

import json

import pytest

from mqcli.core.delivery import Delivery, DeliveryReport, human_bytes, landed_line, not_sent_from, skipped_input
from mqcli.core.errors import InputError, MqcliError
from mqcli.core.message import Message
from mqcli.core.readers import ReadStats


class Terminal:
    """A ReportOutput that keeps what it was given."""

    def __init__(self, live: bool = False) -> None:
        self.live = live
        self.lines: list[tuple[str, str]] = []

    def problem(self, text: str) -> None:
        self.lines.append(("problem", text))

    def warn(self, text: str) -> None:
        self.lines.append(("warn", text))

    def info(self, text: str) -> None:
        self.lines.append(("info", text))

    def summary(self, text: str) -> None:
        self.lines.append(("summary", text))

    def draw(self, text: str) -> None:
        self.lines.append(("draw", text))

    def result(self, line: str) -> None:
        self.lines.append(("result", line))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_counts_failures_and_summary() -> None:
    out, clock = Terminal(), Clock()
    report = DeliveryReport(out, clock=clock)
    report.ok(3)
    report.ok(4)
    report.fail(Message(value=b"x", line=3), "rejected by the broker (basic.nack)")
    report.fail(Message(value=b"y"), "no route")
    clock.now += 2.0
    report.summary()
    assert (report.delivered, report.failed, report.bytes) == (2, 2, 7)
    assert out.lines == [
        ("problem", "not delivered: line 3: rejected by the broker (basic.nack)"),
        ("problem", "not delivered: message: no route"),
        ("summary", "sent 2, failed 2, 7 B, 1 msg/s, 2.0s"),
    ]


def test_settle_and_landed_lines() -> None:
    out = Terminal()
    report = DeliveryReport(out, verb="sent", landed=landed_line("t", as_json=False))
    assert report.each
    report.settle(Delivery(msg=Message(value=b"ab", line=1), size=2, partition=0, offset=5))
    report.settle(Delivery(msg=Message(value=b"c", line=2), size=1, error="too large"))
    assert (report.delivered, report.failed, report.bytes) == (1, 1, 2)
    assert out.lines == [("result", "0\t5"), ("problem", "not delivered: line 2: too large")]

    as_json = landed_line("t", as_json=True)(Delivery(msg=Message(value=None, line=4), size=0, partition=1, offset=9))
    assert json.loads(as_json) == {"line": 4, "topic": "t", "partition": 1, "offset": 9, "timestamp": None}


def test_without_landed_successes_are_only_counted() -> None:
    out = Terminal()
    report = DeliveryReport(out)
    assert not report.each
    report.settle(Delivery(msg=Message(value=b"ab", line=1), size=2, partition=0, offset=5))
    assert out.lines == [] and report.delivered == 1


def test_failure_does_not_count_for_bulk_senders() -> None:
    out = Terminal()
    report = DeliveryReport(out)
    report.failed = 5  # a sender keeping its own totals
    report.failure(Message(value=None), "2 message(s) got no delivery report")
    assert report.failed == 5
    assert out.lines == [("problem", "not delivered: message: 2 message(s) got no delivery report")]


def test_live_line_is_drawn_at_most_every_fifth_of_a_second_and_cleared() -> None:
    out, clock = Terminal(live=True), Clock()
    report = DeliveryReport(out, verb="confirmed", clock=clock)
    clock.now += 1.0
    report.ok(1000)  # drawn
    report.ok(1000)  # too soon
    clock.now += 0.5
    report.delivered, report.bytes = 10, 2_500_000  # bulk counts
    report.progress()  # drawn
    report.summary()
    assert out.lines == [
        ("draw", "confirmed 1, failed 0, 1.0 kB, 1 msg/s, 1.0s"),
        ("draw", "confirmed 10, failed 0, 2.5 MB, 7 msg/s, 1.5s"),
        ("draw", ""),
        ("summary", "confirmed 10, failed 0, 2.5 MB, 7 msg/s, 1.5s"),
    ]


def test_not_live_draws_nothing() -> None:
    out = Terminal(live=False)
    report = DeliveryReport(out)
    report.ok(1)
    report.progress()
    report.summary()
    assert [kind for kind, _ in out.lines] == ["summary"]


def test_sending_says_where_to_resume_then_the_summary() -> None:
    out = Terminal()
    report = DeliveryReport(out, stats=ReadStats(skipped=2))
    with pytest.raises(KeyboardInterrupt):
        with report.sending(explained=(MqcliError,)):
            report.handed_line = 41
            raise KeyboardInterrupt
    assert out.lines[0] == ("problem", "input from line 42 on was not sent")
    assert out.lines[1][0] == "summary"
    assert out.lines[2] == ("warn", "skipped 2 invalid input record(s)")


def test_sending_stays_quiet_about_errors_that_explain_themselves_or_a_read_input() -> None:
    out = Terminal()
    report = DeliveryReport(out)
    with pytest.raises(InputError):
        with report.sending(explained=(InputError,)):
            raise InputError("line 3: bad JSON")
    report.input_ended = True
    with pytest.raises(MqcliError):
        with report.sending(explained=(InputError,)):
            raise MqcliError("lost")
    assert [kind for kind, _ in out.lines] == ["summary", "summary"]


def test_sending_reports_reconnects_after_a_good_run() -> None:
    out = Terminal()
    report = DeliveryReport(out)
    with report.sending():
        report.reconnects, report.resent = 2, 7
    assert out.lines[-1] == ("info", "reconnected 2 time(s), sent 7 unconfirmed message(s) again")


def test_texts() -> None:
    assert not_sent_from(None) == "input from line 1 on was not sent"
    assert not_sent_from(9) == "input from line 10 on was not sent"
    assert skipped_input(ReadStats()) is None
    assert [human_bytes(n) for n in (0, 999, 1000, 1_234_567, 5 * 10**12)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "1.2 MB",
        "5000.0 GB",
    ]
