"""The publisher's unconfirmed-message bookkeeping (core/rabbit/publish.py
Unconfirmed) against a plain model: a dict of delivery tag -> message."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mqcli.core.message import Message
from mqcli.core.rabbit.publish import Unconfirmed

# ("add", size), ("settle", offset from the newest tag, multiple), ("take",)
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from([0, 0, 70_000, 1 << 20])),
        st.tuples(st.just("settle"), st.integers(-3, 12), st.booleans()),
        st.just(("take",)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(ops=_ops)
def test_unconfirmed_matches_a_dict_by_tag(ops: list[tuple]) -> None:
    u = Unconfirmed()
    model: dict[int, Message] = {}
    sizes: dict[int, int] = {}  # the large_bytes sizes given to add
    next_tag = 1
    for op in ops:
        if op[0] == "add":
            msg = Message(b"m%d" % next_tag, line=next_tag)
            assert u.add(msg, op[1]) == next_tag
            model[next_tag] = msg
            sizes[next_tag] = op[1]
            next_tag += 1
        elif op[0] == "settle":
            tag, multiple = next_tag - 1 - op[1], op[2]
            expected = sorted(t for t in model if (t <= tag if multiple else t == tag))
            first, settled = u.settle(tag, multiple)
            got = [(t, m) for t, m in enumerate(settled, first) if m is not None]
            assert got == [(t, model[t]) for t in expected]
            for t in expected:
                del model[t]
        else:
            assert u.take() == [model[t] for t in sorted(model)]
            model.clear()
        assert u.count == len(model)
        assert u.large_bytes == sum(sizes[t] for t in model)
        assert u.messages() == [model[t] for t in sorted(model)]
        assert list(u.tagged()) == sorted(model.items())


def test_single_acks_out_of_order_then_multiple() -> None:
    u = Unconfirmed()
    msgs = [Message(b"%d" % i, line=i) for i in range(1, 6)]
    for m in msgs:
        u.add(m)
    assert u.settle(3, False) == (3, [msgs[2]])
    assert u.settle(3, False) == (3, [None])  # settled already: nothing to report
    assert u.count == 4
    first, settled = u.settle(4, True)
    assert (first, settled) == (1, [msgs[0], msgs[1], None, msgs[3]])
    assert u.messages() == [msgs[4]] and u.count == 1
    assert u.settle(5, False) == (5, [msgs[4]])
    assert u.count == 0 and u.first_tag == 6
