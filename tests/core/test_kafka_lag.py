"""Consumer-group lag arithmetic (mqcli.core.kafka.lag), without a broker."""

from __future__ import annotations

from typing import Any

import pytest

from mqcli.core.errors import NotFound
from mqcli.core.kafka.lag import GroupLag, LagCondition, PartitionLag, lags, measure_groups, partition_lag


@pytest.mark.parametrize(
    ("committed", "earliest", "end", "lag"),
    [
        (5, 0, 12, 7),
        (12, 0, 12, 0),
        (None, 3, 10, 7),  # no committed offset: every message still in the log
        (None, 10, 10, 0),  # ... of which there are none
        (15, 0, 12, 0),  # committed past the end (the topic was created again): nothing left
        (5, 0, None, None),  # end unknown
        (None, None, 10, None),
    ],
)
def test_partition_lag(committed: int | None, earliest: int | None, end: int | None, lag: int | None) -> None:
    assert partition_lag(committed, earliest, end) == lag


def test_lags_per_partition_topic_and_total() -> None:
    g = lags(
        "billing",
        {("orders", 0): 5, ("orders", 1): 9, ("audit", 0): 2},
        {"orders": [1, 0, 2], "audit": [0]},
        {("orders", 0): (0, 10), ("orders", 1): (0, 9), ("orders", 2): (4, 6), ("audit", 0): (0, 2)},
        state="Stable",
    )
    assert [(p.topic, p.partition, p.lag) for p in g.partitions] == [
        ("audit", 0, 0),
        ("orders", 0, 5),
        ("orders", 1, 0),
        ("orders", 2, 2),
    ]
    assert g.total == 7
    rows = g.topics()
    assert [(r.topic, r.partitions, r.uncommitted, r.lag, r.end) for r in rows] == [
        ("audit", 1, 0, 0, 2),
        ("orders", 3, 1, 7, 25),
    ]
    assert rows[1].to_dict() == {
        "group": "billing",
        "state": "Stable",
        "topic": "orders",
        "partitions": 3,
        "uncommitted_partitions": 1,
        "lag": 7,
    }
    assert g.describe() == "lag 7: orders[0]=5, orders[2]=2"
    assert g.describe(limit=1) == "lag 7: orders[0]=5 and 1 more"


def test_a_group_without_offsets() -> None:
    g = GroupLag("new", ())
    assert g.total == 0 and g.describe() == "no committed offsets"
    (row,) = g.topics()
    assert row.topic is None and row.lag is None and row.partitions == 0
    assert not LagCondition(0).holds(g)  # nothing committed is not caught up
    assert GroupLag("g", (), ("a", "b")).describe() == "topics 'a', 'b' do not exist"
    assert GroupLag("g", (), ("a",)).describe() == "topic 'a' does not exist"


def test_lag_condition() -> None:
    lagging = GroupLag("g", (PartitionLag("t", 0, 3, 0, 5),))
    assert not LagCondition(0).holds(lagging) and LagCondition(2).holds(lagging)
    assert LagCondition(0).holds(GroupLag("g", (PartitionLag("t", 0, 5, 0, 5),)))
    # A topic asked for that does not exist is not caught up, whatever the rest says.
    assert not LagCondition(9).holds(GroupLag("g", (PartitionLag("t", 0, 5, 0, 5),), ("gone",)))
    assert LagCondition(0).describe() == "catch up (no lag)" and LagCondition(0).done() == "has caught up"
    assert LagCondition(3).describe() == "have a total lag of at most 3"


class FakeAdmin:
    """The three Admin methods measure_groups uses, with fixed answers (counting requests)."""

    def __init__(self) -> None:
        self.topics = {"orders": [0, 1], "audit": [0]}
        self.offsets = {("orders", 0): (0, 10), ("orders", 1): (2, 4), ("audit", 0): (0, 0)}
        self.committed = {"a": {("orders", 0): 10, ("gone", 0): 3}, "b": {("audit", 0): 0}}
        self.requests: list[str] = []

    def committed_offsets(self, group: str) -> dict[tuple[str, int], int]:
        return dict(self.committed.get(group, {}))

    def partitions(self, topic: str) -> list[int]:
        self.requests.append(f"partitions {topic}")
        if topic not in self.topics:
            raise NotFound(topic)
        return self.topics[topic]

    def log_offsets(self, partitions: Any) -> dict[tuple[str, int], tuple[int, int]]:
        self.requests.append(f"offsets {len(partitions)}")
        return {k: self.offsets[k] for k in partitions}


def test_measure_groups_asks_once_for_all_offsets() -> None:
    admin = FakeAdmin()
    a, b, c = measure_groups(admin, ["a", "b", "c"], states={"a": "Stable"})  # type: ignore[arg-type]
    # a: orders (a deleted topic it still has offsets for is left out); b: audit; c: nothing.
    assert (a.state, a.total, [p.partition for p in a.partitions]) == ("Stable", 2, [0, 1])
    assert (b.total, len(b.partitions)) == (0, 1) and c.partitions == ()
    assert admin.requests == ["partitions gone", "partitions orders", "partitions audit", "offsets 3"]


def test_measure_groups_on_named_topics() -> None:
    admin = FakeAdmin()
    (b,) = measure_groups(admin, ["b"], topics=["orders", "missing"])  # type: ignore[arg-type]
    assert b.missing_topics == ("missing",) and b.total == 12  # nothing committed on orders: 10 + 2
    assert not LagCondition(100).holds(b)


def test_a_topic_deleted_while_measuring_is_looked_up_again() -> None:
    admin = FakeAdmin()
    calls = []

    def log_offsets(partitions: Any) -> dict[tuple[str, int], tuple[int, int]]:
        calls.append(list(partitions))
        if len(calls) == 1:
            del admin.topics["audit"]  # gone between the two requests
            raise NotFound("topic 'audit' does not exist")
        return {k: admin.offsets[k] for k in partitions}

    admin.log_offsets = log_offsets  # type: ignore[method-assign]
    a, b = measure_groups(admin, ["a", "b"])  # type: ignore[arg-type]
    assert a.total == 2 and b.partitions == ()
    assert len(calls) == 2 and ("audit", 0) not in calls[1]
