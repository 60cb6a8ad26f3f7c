"""The engine-neutral transaction loop (mqcli.core.kafka.transactions) and the
DeliveryReport's transaction outcomes, with a scripted engine (no broker:
the engines themselves are tested against Kafka in tests/kafka/test_transactions.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mqcli.core.delivery import DeliveryReport
from mqcli.core.errors import DeliveryFailed, InputError, UsageError
from mqcli.core.kafka.transactions import (
    TransactionFailed,
    TransactionRules,
    fenced,
    send_in_transactions,
    with_ticks,
)
from mqcli.core.message import Message
from tests.core.test_delivery import Clock, Terminal


class Engine:
    """A TransactionalProducer that records the steps it was asked for."""

    def __init__(
        self,
        refuse: set[bytes] | None = None,
        fail: set[bytes] | None = None,
        raise_on: bytes | None = None,
        error: BaseException | None = None,
    ) -> None:
        self.steps: list[str] = []
        self.refuse = refuse or set()
        self.fail = fail or set()
        self.raise_on = raise_on
        self.error = error
        self.open: list[Message] = []

    def partitions(self, topic: str) -> list[int]:
        return [0]

    def init(self) -> None:
        self.steps.append("init")

    def begin(self) -> None:
        self.steps.append("begin")
        self.open = []

    def send(self, topic: str, msg: Message) -> str | None:
        if msg.value == self.raise_on:
            assert self.error is not None
            raise self.error
        if msg.value in self.refuse:
            return "too large"
        self.steps.append(f"send {msg.value!r}")
        self.open.append(msg)
        return None

    def flush(self) -> list[tuple[Message, str]]:
        return [(m, "not acknowledged") for m in self.open if m.value in self.fail]

    def commit(self) -> None:
        self.steps.append("commit")

    def abort(self) -> None:
        self.steps.append("abort")

    def close(self) -> None:
        self.steps.append("close")


def _messages(*values: str) -> list[Message]:
    return [Message(value=v.encode(), line=i) for i, v in enumerate(values, 1)]


def _run(engine: Engine, messages: list[Message], rules: TransactionRules) -> tuple[DeliveryReport, Terminal]:
    out = Terminal()
    report = DeliveryReport(out, clock=Clock())
    with report.sending():
        send_in_transactions(engine, "t", messages, report, rules, clock=Clock())
    return report, out


def test_size_cuts_transactions_and_counts_only_committed_records() -> None:
    engine = Engine()
    report, out = _run(engine, _messages("a", "b", "c", "d", "e"), TransactionRules(size=2))
    assert engine.steps == [
        "begin", "send b'a'", "send b'b'", "commit",
        "begin", "send b'c'", "send b'd'", "commit",
        "begin", "send b'e'", "commit",
    ]  # fmt: skip
    assert (report.delivered, report.failed, report.committed_transactions) == (5, 0, 3)
    assert report.handed_line == 5 and report.input_ended
    assert out.lines[-1][1].endswith("3 transaction(s) committed")


def test_whole_input_is_one_transaction_by_default() -> None:
    engine = Engine()
    report, _out = _run(engine, _messages("a", "b", "c"), TransactionRules())
    assert engine.steps.count("begin") == 1 and engine.steps.count("commit") == 1
    assert report.delivered == 3


def test_time_cuts_before_the_late_record() -> None:
    clock = Clock()
    engine = Engine()

    # The input advances the clock as the loop reads it.
    def gen() -> Iterator[Message]:
        for i, m in enumerate(_messages("a", "b", "c")):
            if i == 2:
                clock.now += 5
            yield m

    out = Terminal()
    report = DeliveryReport(out, clock=clock)
    send_in_transactions(engine, "t", gen(), report, TransactionRules(seconds=1.0), clock=clock, tick=None)
    assert engine.steps == ["begin", "send b'a'", "send b'b'", "commit", "begin", "send b'c'", "commit"]
    assert report.committed_transactions == 2


def test_unacknowledged_record_aborts_and_names_the_transactions_first_line() -> None:
    engine = Engine(fail={b"d"})
    with pytest.raises(DeliveryFailed, match="aborted: 1 record"):
        _run(engine, _messages("a", "b", "c", "d", "e"), TransactionRules(size=2))
    assert engine.steps[-1] == "abort" and "send b'e'" not in engine.steps


def test_abort_lines_and_counts() -> None:
    engine = Engine(fail={b"d"})
    out = Terminal()
    report = DeliveryReport(out, clock=Clock())
    with pytest.raises(DeliveryFailed), report.sending(explained=(DeliveryFailed,)):
        send_in_transactions(engine, "t", _messages("a", "b", "c", "d", "e"), report, TransactionRules(size=2))
    problems = [text for kind, text in out.lines if kind == "problem"]
    assert problems == [
        "not delivered: line 4: not acknowledged",
        "transaction from line 3 aborted (2 record(s) not committed): 1 record(s) not acknowledged",
        # Said even though the error explains itself: a rerun must resume at the transaction's first line.
        "input from line 3 on was not sent",
    ]
    assert (report.delivered, report.failed) == (2, 2)
    assert out.lines[-1][1].endswith("1 transaction(s) committed, 1 aborted")


def test_refused_record_aborts() -> None:
    engine = Engine(refuse={b"b"})
    out = Terminal()
    report = DeliveryReport(out, clock=Clock())
    with pytest.raises(DeliveryFailed, match="line 2: too large"), report.sending(explained=(DeliveryFailed,)):
        send_in_transactions(engine, "t", _messages("a", "b", "c"), report, TransactionRules())
    assert engine.steps == ["begin", "send b'a'", "abort"]
    assert ("problem", "input from line 1 on was not sent") in out.lines


def test_tombstone_without_key_is_refused_before_the_engine() -> None:
    engine = Engine()
    msgs = [Message(value=b"a", line=1), Message(value=None, line=2)]
    with pytest.raises(DeliveryFailed, match="tombstone"):
        _run(engine, msgs, TransactionRules())
    assert engine.steps == ["begin", "send b'a'", "abort"]


def test_signal_aborts_the_open_transaction_and_reraises() -> None:
    engine = Engine(raise_on=b"d", error=KeyboardInterrupt())
    out = Terminal()
    report = DeliveryReport(out, clock=Clock())
    with pytest.raises(KeyboardInterrupt), report.sending():
        send_in_transactions(engine, "t", _messages("a", "b", "c", "d"), report, TransactionRules(size=2))
    assert engine.steps[-1] == "abort"
    problems = [text for kind, text in out.lines if kind == "problem"]
    assert problems == [
        "transaction from line 3 aborted (1 record(s) not committed): interrupted",
        "input from line 3 on was not sent",
    ]


def test_signal_between_transactions_resumes_after_the_last_commit() -> None:
    def gen() -> Iterator[Message]:
        yield from _messages("a", "b")
        raise KeyboardInterrupt

    engine = Engine()
    out = Terminal()
    report = DeliveryReport(out, clock=Clock())
    with pytest.raises(KeyboardInterrupt), report.sending():
        send_in_transactions(engine, "t", gen(), report, TransactionRules(size=2))
    assert "abort" not in engine.steps
    assert ("problem", "input from line 3 on was not sent") in out.lines


def test_fenced_producer_is_not_asked_to_abort() -> None:
    engine = Engine(raise_on=b"b", error=fenced("tid-1"))
    out = Terminal()
    report = DeliveryReport(out, clock=Clock())
    with pytest.raises(TransactionFailed, match="fenced: another producer took over transactional id 'tid-1'"):
        with report.sending(explained=(DeliveryFailed,)):
            send_in_transactions(engine, "t", _messages("a", "b"), report, TransactionRules())
    assert "abort" not in engine.steps
    assert ("problem", "transaction from line 1 aborted (1 record(s) not committed): fenced by another producer") in (
        out.lines
    )


def test_failed_abort_says_the_broker_aborts_later() -> None:
    class NoAbort(Engine):
        def abort(self) -> None:
            raise TransactionFailed("could not abort the transaction: broker away")

    engine = NoAbort(fail={b"a"})
    out = Terminal()
    report = DeliveryReport(out, clock=Clock())
    with pytest.raises(DeliveryFailed), report.sending(explained=(DeliveryFailed,)):
        send_in_transactions(engine, "t", _messages("a"), report, TransactionRules())
    assert any("the broker aborts it after the transaction timeout" in text for _k, text in out.lines)


def test_rules_are_checked() -> None:
    with pytest.raises(UsageError, match="exclude each other"):
        TransactionRules.from_options(2, 1.0)
    with pytest.raises(UsageError):
        TransactionRules.from_options(0, None)
    rules = TransactionRules.from_options(None, 2.0)
    assert not rules.full(10**6) and rules.expired(0.0, 2.0) and not rules.expired(0.0, 1.9)
    assert TransactionRules.from_options(3, None).full(3)


def test_quiet_input_commits_the_open_transaction_on_time() -> None:
    """--transaction-time with a live feed: the transaction is committed while
    the input is quiet, not held open until the next record."""
    seen_before_b: list[list[str]] = []
    engine = Engine()

    def feed() -> Iterator[Message]:
        a, b = _messages("a", "b")
        yield a
        time.sleep(1.0)  # quiet: longer than the transaction time
        seen_before_b.append(list(engine.steps))
        yield b

    out = Terminal()
    report = DeliveryReport(out)
    send_in_transactions(engine, "t", feed(), report, TransactionRules(seconds=0.1))
    assert seen_before_b == [["begin", "send b'a'", "commit"]]
    assert engine.steps == ["begin", "send b'a'", "commit", "begin", "send b'b'", "commit"]
    assert report.committed_transactions == 2 and report.input_ended


def test_with_ticks_passes_records_ticks_and_errors() -> None:
    def feed() -> Iterator[Message]:
        yield Message(value=b"x", line=1)
        time.sleep(0.3)
        raise InputError("line 2: not JSON")

    got: list[object] = []
    with pytest.raises(InputError, match="not JSON"):
        for item in with_ticks(feed(), 0.05):
            got.append(item.value if item is not None else None)
    assert got[0] == b"x" and None in got[1:]
