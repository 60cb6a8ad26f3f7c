"""The relay pipelined (a Kafka source to RabbitMQ), without brokers: a batch
is handed over without waiting for its confirms, and a source's mark is
released -- becomes committable -- only once every message taken before it
was confirmed (or refused and skipped or dead-lettered)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mqcli.core.delivery import DeliveryReport
from mqcli.core.errors import DeliveryFailed
from mqcli.core.message import Message
from mqcli.core.move import PipelinedTarget, Refused, Relay
from tests.core.test_move import _Output


class _Pipe:
    """An in-memory pipelined target: what it was handed stays outstanding
    until `confirm` (or `wait`); values in `refuse` are refused when handed
    over, those in `refuse_late` when confirmed."""

    pipelines = True
    label = "rabbit:q"
    refuses_in_advance = False

    def __init__(self, refuse: tuple[bytes, ...] = (), refuse_late: tuple[bytes, ...] = ()) -> None:
        self.refuse = refuse
        self.refuse_late = refuse_late
        self.outstanding: list[Message] = []
        self.sent: list[bytes | None] = []
        self.waits = 0
        self.confirmed: Callable[[Message], None] = lambda _m: None
        self.refused: Callable[[int, str], None] = lambda _n, _w: None

    def pipeline(self, confirmed: Callable[[Message], None], refused: Callable[[int, str], None]) -> None:
        self.confirmed, self.refused = confirmed, refused

    def submit(self, batch: list[Message], first: int) -> None:
        for i, msg in enumerate(batch):
            if msg.value in self.refuse:
                self.refused(first + i, "too big")
                continue
            self.sent.append(msg.value)
            self.outstanding.append(Message(msg.value, line=first + i))

    def confirm(self, *numbers: int) -> None:
        """Confirm these (any order), or every outstanding one."""
        todo = [m for m in self.outstanding if not numbers or m.line in numbers]
        for msg in sorted(todo, key=lambda m: numbers.index(m.line) if numbers else 0):
            self.outstanding.remove(msg)
            assert msg.line is not None
            if msg.value in self.refuse_late:
                self.refused(msg.line, "unroutable")
            else:
                self.confirmed(msg)

    def wait(self) -> None:
        self.waits += 1
        self.confirm()

    def send(self, batch: list[Message]) -> list[tuple[Message, str]]:
        raise AssertionError("a pipelined target is never sent a batch to wait for")

    def close(self) -> None: ...


class _DeadLetters:
    def __init__(self) -> None:
        self.got: list[Message] = []

    def send(self, batch: list[Message]) -> list[tuple[Message, str]]:
        self.got += batch
        return []

    def close(self) -> None: ...


def _relay(
    target: _Pipe, *, skip: bool = False, dead: _DeadLetters | None = None
) -> tuple[Relay, DeliveryReport, _Output, list[tuple[str, int]]]:
    out = _Output()
    report = DeliveryReport(out, verb="moved")
    relay = Relay(target, report, skip_refused=skip, warn=lambda _t: None, dead_letter=dead)
    assert relay.pipeline()
    released: list[tuple[str, int]] = []
    relay.bind(lambda key, offset: released.append((key, offset)))
    return relay, report, out, released


def _take(relay: Relay, partition: int, *offsets: int) -> None:
    """A poll batch of one partition, taken, then marked as the consumer marks it."""
    writer = relay.batch_writer()
    assert writer is not None  # whole batches: the target refuses nothing in advance
    writer.write_batch([Message(f"v{o}".encode(), topic="t", partition=partition, offset=o) for o in offsets])
    relay.hold(f"t[{partition}]", offsets[-1] + 1)


def test_the_fake_is_a_pipelined_target() -> None:
    assert isinstance(_Pipe(), PipelinedTarget)


def test_a_batch_goes_out_before_the_last_one_is_confirmed_and_marks_follow_the_confirms() -> None:
    target = _Pipe()
    relay, report, _out, released = _relay(target)
    _take(relay, 0, 0, 1, 2)
    relay.deliver()
    assert target.sent == [b"v0", b"v1", b"v2"] and released == [] and report.delivered == 0
    _take(relay, 0, 3, 4)
    relay.deliver()  # handed over although nothing of the first batch is confirmed
    assert target.sent == [b"v0", b"v1", b"v2", b"v3", b"v4"] and released == []
    target.confirm(0, 1)
    assert released == []  # message 2 of the first batch is still out
    target.confirm(2)
    assert released == [("t[0]", 3)]
    relay.settle()  # waits for the rest
    assert released == [("t[0]", 3), ("t[0]", 5)]
    assert report.delivered == 5 and report.bytes == 10 and relay.targets == {"rabbit:q": 5}


def test_a_mark_waits_for_other_partitions_taken_before_it() -> None:
    target = _Pipe()
    relay, _report, _out, released = _relay(target)
    _take(relay, 0, 0, 1)
    _take(relay, 1, 7)
    relay.deliver()
    target.confirm(2)  # partition 1's message first
    assert released == []
    target.confirm(0, 1)
    assert released == [("t[0]", 2), ("t[1]", 8)]


def test_a_mark_made_before_its_batch_is_handed_over_waits_for_it() -> None:
    target = _Pipe()
    relay, _report, _out, released = _relay(target)
    _take(relay, 0, 0)
    relay.deliver()
    target.confirm()
    assert released == [("t[0]", 1)]
    _take(relay, 0, 1)  # taken and marked, not handed over yet
    target.confirm()
    assert released == [("t[0]", 1)]
    relay.settle()
    assert released == [("t[0]", 1), ("t[0]", 2)]


def test_a_refusal_stops_after_what_came_before_was_confirmed() -> None:
    target = _Pipe(refuse_late=(b"v3",))
    relay, report, out, released = _relay(target)
    _take(relay, 0, 0, 1, 2)
    relay.deliver()
    _take(relay, 0, 3, 4)
    relay.deliver()
    target.confirm(3, 4)  # the refusal comes first; 0..2 are still out
    with pytest.raises(Refused) as e:
        relay.deliver() if relay.pending else relay.settle()
    assert "t[0]@3" in e.value.message and out.problems == ["not moved: t[0]@3: unroutable"]
    # What came before it was awaited and released; it and what followed stay uncommitted.
    assert released == [("t[0]", 3)]
    assert relay.broken and report.failed == 1 and report.delivered == 4 and relay.targets == {"rabbit:q": 4}
    _take(relay, 0, 5)
    with pytest.raises(DeliveryFailed):
        relay.deliver()
    relay.settle()  # after a broken delivery: nothing more
    assert released == [("t[0]", 3)] and target.sent == [b"v0", b"v1", b"v2", b"v3", b"v4"]


def test_a_refusal_before_sending_is_named_and_stops_too() -> None:
    target = _Pipe(refuse=(b"v1",))
    relay, report, out, released = _relay(target)
    _take(relay, 0, 0, 1, 2)
    with pytest.raises(Refused):
        relay.deliver()
    assert out.problems == ["not moved: t[0]@1: too big"]
    assert target.waits == 1 and released == [] and report.delivered == 2


def test_skip_settles_the_refused_one_and_goes_on() -> None:
    target = _Pipe(refuse_late=(b"v1",))
    relay, report, _out, released = _relay(target, skip=True)
    _take(relay, 0, 0, 1, 2)
    relay.settle()
    assert released == [("t[0]", 3)]
    assert relay.skipped == 1 and report.failed == 1 and report.delivered == 2 and not relay.broken


def test_dead_letter_settles_the_refused_one_once_sent_there() -> None:
    target = _Pipe(refuse_late=(b"v1",))
    dead = _DeadLetters()
    relay, _report, _out, released = _relay(target, dead=dead)
    _take(relay, 0, 0, 1, 2)
    relay.settle()
    assert [m.value for m in dead.got] == [b"v1"] and dict(dead.got[0].headers)["x-mqcli-move-error"] == "unroutable"
    assert released == [("t[0]", 3)] and relay.dead_lettered == 1


def test_a_dry_run_or_a_target_without_pipelining_is_not_pipelined() -> None:
    report = DeliveryReport(_Output(), verb="moved")
    assert not Relay(_Pipe(), report, skip_refused=False, warn=lambda _t: None, dry_run=True).pipeline()
    assert not Relay(_DeadLetters(), report, skip_refused=False, warn=lambda _t: None).pipeline()
