"""mqcli.core.settle.Ledger: a mark is released only once every message
handed over before it is settled, in the order the marks were made, however
the confirms come."""

from __future__ import annotations

import random

from mqcli.core.message import Message
from mqcli.core.settle import Ledger


def _ledger() -> tuple[Ledger[str], list[tuple[str, int]]]:
    ledger: Ledger[str] = Ledger()
    released: list[tuple[str, int]] = []
    ledger.release = lambda key, offset: released.append((key, offset))
    return ledger, released


def _msgs(*values: str) -> list[Message]:
    return [Message(v.encode()) for v in values]


def test_a_mark_waits_for_the_messages_before_it() -> None:
    ledger, released = _ledger()
    assert ledger.add(_msgs("a", "b")) == 0
    ledger.hold("p0", 2, upto=2)
    assert ledger.add(_msgs("c")) == 2
    ledger.hold("p0", 3, upto=3)
    assert ledger.outstanding == 3 and released == []
    ledger.settle(0)
    assert released == []
    ledger.settle(1)
    assert released == [("p0", 2)]
    ledger.settle(2)
    assert released == [("p0", 2), ("p0", 3)] and ledger.outstanding == 0


def test_confirms_out_of_order_release_only_a_settled_prefix() -> None:
    ledger, released = _ledger()
    ledger.add(_msgs("a", "b", "c", "d"))
    ledger.hold("p0", 10, upto=1)
    ledger.hold("p1", 20, upto=4)
    ledger.settle(3)
    ledger.settle(1)
    assert released == [] and ledger.low == 0
    ledger.settle(0)  # 0 and 1 settled: the first mark; 2 is still out
    assert released == [("p0", 10)] and ledger.low == 2
    ledger.settle(2)
    assert released == [("p0", 10), ("p1", 20)] and ledger.low == 4


def test_a_mark_with_nothing_outstanding_is_released_at_once() -> None:
    ledger, released = _ledger()
    ledger.hold("p0", 5, upto=0)
    assert released == [("p0", 5)]
    ledger.add(_msgs("a"))
    ledger.settle(0)
    ledger.hold("p0", 6, upto=1)
    assert released == [("p0", 5), ("p0", 6)]


def test_marks_keep_their_order_even_when_a_later_one_waits_for_less() -> None:
    # A mark for messages not handed over yet (pending in the relay) holds the ones after it.
    ledger, released = _ledger()
    ledger.add(_msgs("a"))
    ledger.hold("p0", 1, upto=2)  # waits for message 1, not handed over yet
    ledger.hold("p1", 9, upto=1)
    ledger.settle(0)
    assert released == []
    ledger.add(_msgs("b"))
    ledger.settle(1)
    assert released == [("p0", 1), ("p1", 9)]


def test_a_message_never_settled_holds_every_mark_after_it() -> None:
    ledger, released = _ledger()
    ledger.add(_msgs("a", "b", "c"))
    ledger.hold("p0", 1, upto=1)
    ledger.hold("p0", 2, upto=2)
    ledger.hold("p0", 3, upto=3)
    ledger.settle(0)
    ledger.settle(2)  # 1 refused, and the move stops: never settled
    assert released == [("p0", 1)]
    assert ledger.message(1).value == b"b" and ledger.message(2).value == b"c"


def test_settling_twice_or_an_unknown_number_changes_nothing() -> None:
    ledger, released = _ledger()
    ledger.add(_msgs("a", "b"))
    ledger.hold("p0", 2, upto=2)
    ledger.settle(7)
    ledger.settle(0)
    ledger.settle(0)
    ledger.settle(-1)
    assert released == [] and ledger.low == 1
    ledger.settle(1)
    ledger.settle(2)  # beyond what was handed over
    assert released == [("p0", 2)] and ledger.low == 2 and ledger.high == 2


def test_any_order_of_confirms_releases_each_mark_only_after_its_messages() -> None:
    rng = random.Random(12)
    for _round in range(50):
        ledger, released = _ledger()
        n = rng.randint(1, 60)
        settled: set[int] = set()
        marks: list[tuple[int, int]] = []  # (upto, offset)
        handed = 0
        while handed < n:
            k = rng.randint(1, 5)
            ledger.add(_msgs(*["x"] * k))
            handed += k
            ledger.hold("p", handed, upto=handed)
            marks.append((handed, handed))
        order = list(range(handed))
        rng.shuffle(order)
        for number in order:
            ledger.settle(number)
            settled.add(number)
            for _key, offset in released:
                assert all(i in settled for i in range(offset)), (offset, sorted(settled))
        assert released == [("p", offset) for _upto, offset in marks]
        assert ledger.outstanding == 0
