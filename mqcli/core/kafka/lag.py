"""Consumer-group lag: how many messages a group has not consumed yet, per
partition, per topic and in total (`kafka groups lag`, `kafka wait lag`).

The arithmetic is pure (tested without a broker); `measure_groups` gathers the
offsets it needs through the engine-neutral Admin Protocol (committed offsets
of each group, then the earliest and end offsets of every partition of the
topics involved, in one request), so both engines give the same figures.

A partition the group has committed an offset for lags by `end - committed`.
A partition of one of its topics it has no committed offset for counts with
every message still in the log (`end - earliest`): that is what a group
starting from the earliest offset (mqcli's default) would still have to read,
so a group that has not started yet is never taken for one that caught up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mqcli.core.errors import NotFound

if TYPE_CHECKING:
    from mqcli.core.kafka.contract import Admin

Key = tuple[str, int]  # (topic, partition)


def partition_lag(committed: int | None, earliest: int | None, end: int | None) -> int | None:
    """Messages after the group's position in one partition (None: the end offset is unknown).

    Never negative: a committed offset past the end (a topic deleted and created
    again) means nothing is left to read."""
    if end is None:
        return None
    start = committed if committed is not None else earliest
    if start is None:
        return None
    return max(end - start, 0)


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: the group has no committed offset here
    earliest: int | None
    end: int | None

    @property
    def lag(self) -> int | None:
        return partition_lag(self.committed, self.earliest, self.end)

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "committed_offset": self.committed,
            "end_offset": self.end,
            "lag": self.lag,
        }


@dataclass(frozen=True)
class TopicLag:
    """One row of `kafka groups lag`: a group's total lag on one topic."""

    group: str
    state: str | None
    topic: str | None  # None: the group has no committed offsets at all
    partitions: int
    uncommitted: int  # partitions without a committed offset (counted from the earliest offset)
    lag: int | None
    end: int  # sum of the end offsets: how far producers got (its change is messages/s in)

    COLUMNS = ("group", "state", "topic", "partitions", "lag")

    def cells(self) -> tuple[Any, ...]:
        return (self.group, self.state, self.topic, self.partitions, self.lag)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "state": self.state,
            "topic": self.topic,
            "partitions": self.partitions,
            "uncommitted_partitions": self.uncommitted,
            "lag": self.lag,
        }


@dataclass(frozen=True)
class GroupLag:
    """A group's lag on every partition of its topics (or of the topics asked for)."""

    group: str
    partitions: tuple[PartitionLag, ...]
    missing_topics: tuple[str, ...] = ()  # asked for, but they do not exist
    state: str | None = None

    @property
    def total(self) -> int:
        """The sum of the lags that are known."""
        return sum(p.lag or 0 for p in self.partitions)

    def topics(self) -> list[TopicLag]:
        """Per topic totals, by topic name; one row without a topic when there is nothing."""
        by_topic: dict[str, list[PartitionLag]] = {}
        for p in self.partitions:
            by_topic.setdefault(p.topic, []).append(p)
        if not by_topic:
            return [TopicLag(self.group, self.state, None, 0, 0, None, 0)]
        rows = []
        for topic in sorted(by_topic):
            parts = by_topic[topic]
            known = [p.lag for p in parts if p.lag is not None]
            rows.append(
                TopicLag(
                    group=self.group,
                    state=self.state,
                    topic=topic,
                    partitions=len(parts),
                    uncommitted=sum(1 for p in parts if p.committed is None),
                    lag=sum(known) if known else None,
                    end=sum(p.end or 0 for p in parts),
                )
            )
        return rows

    def describe(self, limit: int = 10) -> str:
        """What was seen, in one line: 'lag 7: orders[0]=3, orders[2]=4' (only lagging
        partitions, at most `limit` of them)."""
        if self.missing_topics:
            names = ", ".join(f"'{t}'" for t in self.missing_topics)
            return f"topic{'s' if len(self.missing_topics) > 1 else ''} {names} do{'' if len(self.missing_topics) > 1 else 'es'} not exist"
        if not self.partitions:
            return "no committed offsets"
        lagging = [p for p in self.partitions if p.lag]
        text = f"lag {self.total}"
        if lagging:
            shown = ", ".join(f"{p.topic}[{p.partition}]={p.lag}" for p in lagging[:limit])
            more = f" and {len(lagging) - limit} more" if len(lagging) > limit else ""
            text += f": {shown}{more}"
        return text


@dataclass(frozen=True)
class LagCondition:
    """`kafka wait lag --max N`: the group's total lag is at most N, on partitions
    that exist (a group with no offsets and no --topic has no lag to speak of yet)."""

    max_lag: int = 0

    def holds(self, lag: GroupLag) -> bool:
        return not lag.missing_topics and bool(lag.partitions) and lag.total <= self.max_lag

    def describe(self) -> str:
        """Completes "waiting for group 'g' to …"."""
        return "catch up (no lag)" if self.max_lag == 0 else f"have a total lag of at most {self.max_lag}"

    def done(self) -> str:
        """Completes "group 'g' …" once it holds."""
        return "has caught up" if self.max_lag == 0 else f"has a total lag of at most {self.max_lag}"


def lags(
    group: str,
    committed: Mapping[Key, int],
    partitions: Mapping[str, Sequence[int]],
    offsets: Mapping[Key, tuple[int, int]],
    *,
    missing_topics: Sequence[str] = (),
    state: str | None = None,
) -> GroupLag:
    """The lag of `group` on every partition of `partitions` ({topic: partition ids}),
    from its committed offsets and each partition's (earliest, end) offsets."""
    rows = []
    for topic in sorted(partitions):
        for p in sorted(partitions[topic]):
            early, end = offsets.get((topic, p), (None, None))
            rows.append(PartitionLag(topic, p, committed.get((topic, p)), early, end))
    return GroupLag(group, tuple(rows), tuple(missing_topics), state)


@dataclass
class _Topics:
    """Partition ids per topic, asked once per measurement."""

    admin: Admin
    known: dict[str, list[int] | None] = field(default_factory=dict)

    def get(self, topic: str) -> list[int] | None:
        if topic not in self.known:
            try:
                self.known[topic] = self.admin.partitions(topic)
            except NotFound:
                self.known[topic] = None
        return self.known[topic]


def measure_groups(
    admin: Admin,
    groups: Iterable[str],
    *,
    topics: Sequence[str] | None = None,
    states: Mapping[str, str | None] | None = None,
) -> list[GroupLag]:
    """The lag of each group, on `topics` (a missing one is named in the result)
    or else on every topic it has committed offsets for (a deleted one is left out)."""
    names = list(groups)
    try:
        return _measure(admin, names, topics, states)
    except NotFound:
        # A topic deleted between listing its partitions and asking for their
        # offsets: look again (it is then left out, or named as missing).
        return _measure(admin, names, topics, states)


def _measure(
    admin: Admin,
    groups: Iterable[str],
    topics: Sequence[str] | None,
    states: Mapping[str, str | None] | None,
) -> list[GroupLag]:
    cache = _Topics(admin)
    wanted: list[tuple[str, dict[Key, int], dict[str, list[int]], list[str]]] = []
    keys: set[Key] = set()
    for group in groups:
        committed = admin.committed_offsets(group)
        names = list(topics) if topics else sorted({t for t, _ in committed})
        parts: dict[str, list[int]] = {}
        missing = []
        for topic in names:
            ids = cache.get(topic)
            if ids is None:
                if topics:
                    missing.append(topic)
                continue
            parts[topic] = ids
            keys |= {(topic, p) for p in ids}
        wanted.append((group, committed, parts, missing))
    offsets = admin.log_offsets(sorted(keys)) if keys else {}
    return [
        lags(group, committed, parts, offsets, missing_topics=missing, state=(states or {}).get(group))
        for group, committed, parts, missing in wanted
    ]
