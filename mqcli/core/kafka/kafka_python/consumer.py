"""Consuming: a partition consumer without a group (`consume`) with precise
start and stop points, and a consumer-group member (`group-consume`) that
commits an offset only after its message was handled.

Both run a poll loop on the calling thread and hand each (matching) message
to a callback; the stop rules (count, end of partitions, --until, idle
timeout, --match) are applied by mqcli.core.stops.StopTracker, as in the
librdkafka engine, so both commands and both engines behave the same.
Given the writer that callback writes to, the common case (no --match, no
--until) hands it each poll's records at once instead: one write per poll.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import kafka.errors as kerr
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

from mqcli.core.errors import NotFound, UsageError

# The engine-neutral types live in common (shared with the librdkafka engine).
from mqcli.core.kafka.common import ASSIGNORS, StartOffset, heartbeat_ms, session_ms
from mqcli.core.kafka.hooks import Deferral, LoopHooks, commit_retrying, group_hooks, held_marks
from mqcli.core.kafka.kafka_python.client import bootstrapping, client_config, kafka_errors, map_error
from mqcli.core.message import Message
from mqcli.core.stops import COUNT, RunResult, StopRules, StopTracker
from mqcli.core.writers import batch_writer

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings
    from mqcli.core.writers import Writer

_value = attrgetter("value")
_offset = attrgetter("offset")


def to_message(r: Any) -> Message:
    return Message(
        value=r.value,
        key=r.key,
        headers=[(k, v) for k, v in (r.headers or [])],
        topic=r.topic,
        partition=r.partition,
        offset=r.offset,
        timestamp=r.timestamp if r.timestamp is not None and r.timestamp >= 0 else None,
    )


def _consumer_config(settings: KafkaSettings, **extra: Any) -> dict[str, Any]:
    cfg = client_config(settings)
    cfg.update(
        enable_auto_commit=False,
        max_poll_records=int(settings.consumer.max_poll_records),
        fetch_max_wait_ms=int(settings.consumer.fetch_max_wait_ms),
        allow_auto_create_topics=False,
        # read_committed also makes end_offsets() the last stable offset: -e stops there.
        isolation_level=settings.consumer.isolation_level,
        session_timeout_ms=session_ms(settings),
        heartbeat_interval_ms=heartbeat_ms(settings),
    )
    cfg.update(extra)
    return cfg


def _new_consumer(settings: KafkaSettings, profile: str | None, **cfg: Any) -> KafkaConsumer:
    try:
        with bootstrapping():
            return KafkaConsumer(**_consumer_config(settings, **cfg))
    except kerr.KafkaError as e:
        raise map_error(e, settings, profile) from None


class PartitionConsumer:
    """Reads partitions of one topic directly (no group membership, no commits)."""

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        *,
        partitions: Iterable[int] | None = None,
        profile: str | None = None,
        group: str | None = None,  # only to read its stored offsets (--offset stored)
    ) -> None:
        self.settings = settings
        self.profile = profile
        self.topic = topic
        extra: dict[str, Any] = {"auto_offset_reset": settings.consumer.auto_offset_reset}
        if group:
            extra["group_id"] = group
        self.consumer = _new_consumer(settings, profile, **extra)
        with self._errors():
            known = self.consumer.partitions_for_topic(topic)
        if not known:
            self.close()
            _denied(self.consumer, topic, settings, profile)
            raise NotFound(f"topic {topic!r} does not exist")
        wanted = sorted(set(partitions)) if partitions else sorted(known)
        missing = [p for p in wanted if p not in known]
        if missing:
            self.close()
            raise NotFound(f"partition {missing[0]} of topic {topic!r} does not exist (it has {len(known)})")
        self.tps = [TopicPartition(topic, p) for p in wanted]
        self.group = group
        with self._errors():
            self.consumer.assign(self.tps)

    def _errors(self) -> Any:
        return kafka_errors(self.settings, self.profile, topic=self.topic)

    def close(self) -> None:
        try:
            self.consumer.close(autocommit=False)
        except Exception:  # closing must not hide the run's outcome
            pass

    def seek(self, start: StartOffset) -> None:
        c = self.consumer
        with self._errors():
            begin = c.beginning_offsets(self.tps)
            end = c.end_offsets(self.tps)
            times: dict[Any, Any] = {}
            if start.kind == "time":
                times = c.offsets_for_times({tp: start.value for tp in self.tps})
            if start.kind == "stored" and not self.group:
                raise UsageError("--offset stored needs --group (whose committed offsets to start from)")
            for tp in self.tps:
                found = times.get(tp)
                pos = start.resolve(
                    begin[tp],
                    end[tp],
                    found=None if found is None else found.offset,
                    committed=c.committed(tp) if start.kind == "stored" else None,
                    reset=self.settings.consumer.auto_offset_reset,
                )
                c.seek(tp, pos)

    def run(
        self,
        rules: StopRules,
        handle: Callable[[Message], None],
        flush: Callable[[], None],
        *,
        writer: Writer | None = None,
    ) -> RunResult:
        """`writer`: the one `handle` writes to, which then takes whole batches (see _poll_loop)."""
        c = self.consumer
        with self._errors():
            stop_at = c.end_offsets(self.tps) if rules.exit_at_end else {}
        tracker = StopTracker(rules, stop_at=stop_at, on_done=self._pause)
        return _poll_loop(c, lambda: list(self.tps), tracker, LoopHooks(handle, flush, writer), self._errors)

    def _pause(self, tp: TopicPartition) -> None:
        _pause(self.consumer, tp)


def _poll_loop(
    c: KafkaConsumer,
    assigned: Callable[[], list[TopicPartition]],
    tracker: StopTracker[TopicPartition],
    hooks: LoopHooks[TopicPartition],
    errors: Callable[[], Any],
) -> RunResult:
    """Poll until a stop rule (`tracker`, mqcli.core.stops) applies, handing
    the messages to `hooks` (see LoopHooks); `errors()` maps the client's
    exceptions.  Without --match and --until each poll's records go to the
    hooks' writer at once (`batch_writer`: raw output builds no Message)."""
    handle, on_skipped = hooks.handle, hooks.on_skipped
    take_revoked, on_written = hooks.revoked, hooks.on_written
    write_records = batch_writer(hooks.writer, _value, to_message)
    whole_polls = tracker.whole_batches and write_records is not None

    def at_end(tp: TopicPartition) -> bool:
        return bool(c.position(tp) >= c.end_offsets([tp])[tp])

    finish = hooks.finish

    while True:
        with errors():
            if take_revoked is not None:
                tracker.forget(take_revoked())
            tps = assigned()
            tracker.sweep(tps, c.position, at_end)
        reason = tracker.over(tps)
        if reason is not None:
            return tracker.end(reason)
        wait = tracker.wait()
        with errors():
            batch = c.poll(timeout_ms=max(int(wait * 1000), 1))
        if whole_polls:
            # A partition's records at a time (their offsets only grow).
            take = tracker.take_runs(batch.items(), _offset)
            if take:
                assert write_records is not None
                write_records([r for _tp, records in take for r in records])
                tracker.touch()
                if on_written is not None:
                    for tp, records in take:
                        on_written(tp, records[-1].offset + 1)
            if batch:
                finish()
            if tracker.full:
                return tracker.end(COUNT)
            continue
        for tp, records in batch.items():
            for r in records:
                if not tracker.admit(tp, r.offset, r.timestamp):
                    break
                reason = tracker.offer(to_message(r), handle, on_skipped)
                if reason is not None:
                    finish()
                    return tracker.end(reason)
        if batch:
            finish()


def _pause(c: KafkaConsumer, tp: TopicPartition) -> None:
    """Stop fetching a finished partition."""
    try:
        c.pause(tp)
    except Exception:  # a partition revoked meanwhile cannot be paused: nothing to stop
        pass


# kafka-python has no type information, and subscribe() insists on an instance of its class.
class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: GroupConsumer) -> None:
        self.owner = owner

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.owner._on_revoked(list(revoked))

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.owner._on_assigned(list(assigned))

    def on_partitions_lost(self, lost: list[TopicPartition]) -> None:
        self.owner._on_lost(list(lost))


def _assignor(name: str) -> Any:
    if name == "range":
        from kafka.coordinator.assignors.range import RangePartitionAssignor

        return RangePartitionAssignor
    if name == "roundrobin":
        from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

        return RoundRobinPartitionAssignor
    if name == "sticky":
        from kafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor

        return StickyPartitionAssignor
    if name == "cooperative-sticky":
        from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor

        return CooperativeStickyAssignor
    raise UsageError(f"invalid --assignor {name!r} (use {', '.join(ASSIGNORS)})")


class GroupConsumer:
    """A consumer-group member with manual commits of handled messages only.

    `done` holds, per partition, the offset after the last message that was
    handled (written and flushed, or --exec succeeded); only those offsets
    are ever committed: after each poll batch, when partitions are revoked,
    and when the run ends (normally, or by a signal).
    """

    def __init__(
        self,
        settings: KafkaSettings,
        group: str,
        topics: list[str],
        *,
        assignor: str = "range",
        start: str = "earliest",
        profile: str | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.profile = profile
        self.group = group
        self.topics = topics
        self.on_event = on_event or (lambda text: None)
        self.done: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}
        self.stop_at: dict[TopicPartition, int] = {}
        self.unresolved: set[TopicPartition] = set()
        self.revoked: set[TopicPartition] = set()
        self.exit_at_end = False
        self.flush: Callable[[], None] = lambda: None
        self.defer: Deferral[TopicPartition] | None = None  # marks confirmed later (see run)
        self.consumer = _new_consumer(
            settings,
            profile,
            group_id=group,
            auto_offset_reset=start,
            partition_assignment_strategy=(_assignor(assignor),),
        )
        for topic in topics:
            with self._errors(topic):
                known = self.consumer.partitions_for_topic(topic)
            if not known:
                self.close(commit=False)
                _denied(self.consumer, topic, settings, profile)
                raise NotFound(f"topic {topic!r} does not exist")
        with self._errors():
            self.consumer.subscribe(topics, listener=_Rebalance(self))

    def _errors(self, topic: str | None = None) -> Any:
        return kafka_errors(self.settings, self.profile, topic=topic)

    @staticmethod
    def _names(tps: list[TopicPartition]) -> str:
        return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(tps)) or "none"

    # -- rebalance callbacks (run inside poll(), on this thread) ---------------------
    def _on_revoked(self, revoked: list[TopicPartition]) -> None:
        # Held marks (run's `defer`) are not settled here, unlike librdkafka: this
        # runs on kafka-python's I/O loop, where a synchronous commit of what they
        # would release is refused (RuntimeError, "Cannot block on net.run()").
        # Released later, they count only if the partition came back.
        self.commit([tp for tp in revoked])
        self.revoked.update(revoked)
        for tp in revoked:
            self.done.pop(tp, None)
            self.stop_at.pop(tp, None)
        if revoked:
            self.on_event(f"partitions revoked: {self._names(revoked)}")

    def _on_lost(self, lost: list[TopicPartition]) -> None:
        # The group moved on without us: committing now would fail or be stale.
        self.revoked.update(lost)
        for tp in lost:
            self.done.pop(tp, None)
            self.stop_at.pop(tp, None)
        if lost:
            self.on_event(f"partitions lost: {self._names(lost)}")

    def _on_assigned(self, assigned: list[TopicPartition]) -> None:
        # Network calls are not allowed inside the callback: the end offsets
        # for --exit-at-end are looked up by the poll loop (resolve_stops).
        if self.exit_at_end:
            self.unresolved.update(assigned)
        self.on_event(f"partitions assigned: {self._names(assigned)}")

    def resolve_stops(self) -> set[TopicPartition]:
        """Look up stop offsets of newly assigned partitions; return the
        partitions revoked since the last call."""
        pending = [tp for tp in self.unresolved if tp in self.consumer.assignment()]
        self.unresolved.clear()
        if pending:
            self.stop_at.update(self.consumer.end_offsets(pending))
        revoked, self.revoked = self.revoked, set()
        return revoked

    def mark(self, msg: Message) -> None:
        """Record that `msg` was handled: its offset may be committed."""
        assert msg.topic is not None and msg.partition is not None and msg.offset is not None
        self.done[TopicPartition(msg.topic, msg.partition)] = msg.offset + 1

    def _mark_offset(self, tp: TopicPartition, next_offset: int) -> None:
        self.done[tp] = next_offset

    def _release(self, tp: TopicPartition, next_offset: int) -> None:
        """A held mark released (see run's `defer`): committable unless the partition went meanwhile."""
        if tp in self.consumer.assignment():
            self.done[tp] = next_offset

    def commit(self, only: list[TopicPartition] | None = None) -> None:
        """Commit the handled offsets not committed yet (flushing output first)."""
        pending = {
            tp: off for tp, off in self.done.items() if (only is None or tp in only) and self.committed.get(tp) != off
        }
        if not pending:
            return
        self.flush()
        with self._errors():
            self.consumer.commit({tp: OffsetAndMetadata(off, "", -1) for tp, off in pending.items()})
        self.committed.update(pending)

    def run(
        self,
        rules: StopRules,
        handle: Callable[[Message], bool],
        flush: Callable[[], None],
        *,
        writer: Writer | None = None,
        defer: Deferral[TopicPartition] | None = None,
    ) -> RunResult:
        """`writer`: the one `handle` writes to, which then takes whole batches
        (see _poll_loop).  `defer`: the marks of handled messages are held
        there until it releases them (hooks.Deferral), not committable at once."""
        self.flush = flush
        self.exit_at_end = rules.exit_at_end
        self.defer = defer
        mark, mark_offset = held_marks(
            defer, lambda m: TopicPartition(m.topic, m.partition), self.mark, self._mark_offset, self._release
        )
        tracker = StopTracker(rules, stop_at=self.stop_at, on_done=lambda tp: _pause(self.consumer, tp))
        hooks: LoopHooks[TopicPartition] = group_hooks(
            handle,
            flush,
            writer,
            mark=mark,
            mark_offset=mark_offset,
            commit=self.commit,
            revoked=self.resolve_stops,
        )
        return _poll_loop(self.consumer, lambda: sorted(self.consumer.assignment()), tracker, hooks, self._errors)

    def close(self, commit: bool = True, *, retry_for: float = 0.0) -> bool:
        """Commit handled work (when asked; a failing commit tried again for
        `retry_for` seconds) and leave the group.  False: the commit failed."""
        done = True
        try:
            if commit:
                done = commit_retrying(self.commit, retry_for, self.on_event)
        finally:
            try:
                self.consumer.close(autocommit=False)
            except Exception:  # leaving must not hide the run's outcome
                pass
        return done


def _denied(consumer: Any, topic: str, settings: KafkaSettings, profile: str | None) -> None:
    """Raise the authorization error when `topic` is hidden because the
    principal may not DESCRIBE it (Kafka leaves such topics out of the
    metadata a consumer sees; asked for by name it says why)."""
    from mqcli.core.kafka.kafka_python.admin import Admin

    with Admin(settings, profile) as admin:
        admin.partitions(topic)
