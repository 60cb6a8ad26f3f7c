"""Consuming with librdkafka: PartitionConsumer (`consume`, no group) and
GroupConsumer (`group-consume`, commits only handled messages), with the
same start points, stop rules and commit order as the kafka-python engine
(mqcli/core/kafka/kafka_python/consumer.py).

Messages arrive in batches from `consume(num_messages, timeout)`.  Offsets
are never committed or stored automatically (enable.auto.commit and
enable.auto.offset.store are off): the group consumer commits, after the
output of a batch was flushed, exactly the offsets its handler finished.
Partition-end events (enable.partition.eof) tell --exit-at-end and --until
that a partition has nothing more, without asking the broker each round.

The stop rules (count, end of partitions, --until, idle timeout, --match)
are applied by mqcli.core.stops.StopTracker, as in the kafka-python engine.
Given the writer its handler writes to, the loop hands it whole batches in
the common case (no --match, no --until; see `StopTracker.take`): one write
per batch, and for raw output only the values, with no `Message` per record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby
from typing import TYPE_CHECKING, Any

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka import Message as RdMessage

from mqcli.core.errors import NotFound, UsageError
from mqcli.core.kafka.common import ASSIGNORS, StartOffset
from mqcli.core.kafka.hooks import Deferral, LoopHooks, commit_retrying, group_hooks, held_marks
from mqcli.core.kafka.librdkafka.client import (
    Diagnosis,
    check_fatal,
    kafka_errors,
    wait_connected,
)
from mqcli.core.kafka.librdkafka.common import check_denied, consumer_config, known_partitions
from mqcli.core.message import Message
from mqcli.core.stops import COUNT, RunResult, StopRules, StopTracker
from mqcli.core.writers import batch_writer

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings
    from mqcli.core.writers import Writer

__all__ = ["ASSIGNORS", "GroupConsumer", "PartitionConsumer"]

Key = tuple[str, int]  # (topic, partition): hashable, cheap, and sorts like kafka-python's TopicPartition

_UNKNOWN = (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC, KafkaError._UNKNOWN_PARTITION)
# librdkafka names for --assignor; its "sticky" is only the cooperative kind.
_ASSIGNORS = {"range": "range", "roundrobin": "roundrobin", "cooperative-sticky": "cooperative-sticky"}
# Unbound methods of the C message type, for map() and groupby() over a batch.
_error = RdMessage.error
_partition = RdMessage.partition
_topic = RdMessage.topic
_value = RdMessage.value


def _key(msg: Message) -> Key:
    """The partition of a Message read from Kafka."""
    assert msg.topic is not None and msg.partition is not None
    return (msg.topic, msg.partition)


def _offset(m: RdMessage) -> int:
    """The offset of a message (error events, which have none, are filtered out before)."""
    offset = m.offset()
    assert offset is not None
    return offset


def _runs(batch: list[RdMessage], at_eof: set[Key]) -> Iterator[tuple[Key, list[RdMessage]]]:
    """A batch of messages (no error events) as runs of one partition's
    messages; a partition that delivers is no longer at its end."""
    for p, same_partition in groupby(batch, _partition):
        for t, same_topic in groupby(same_partition, _topic):
            # No error events in this batch: every message names its partition.
            assert t is not None and p is not None
            key = (t, p)
            at_eof.discard(key)
            yield key, list(same_topic)


def _timestamp(m: RdMessage) -> int | None:
    """A message's timestamp in ms (None: it has none)."""
    ts_type, ts = m.timestamp()
    return ts if ts_type != 0 else None


def to_message(m: Any) -> Message:
    ts_type, ts = m.timestamp()
    return Message(
        value=m.value(),
        key=m.key(),
        headers=list(m.headers() or ()),
        topic=m.topic(),
        partition=m.partition(),
        offset=m.offset(),
        timestamp=ts if ts_type != 0 and ts >= 0 else None,
    )


def _new_consumer(
    settings: KafkaSettings, profile: str | None, diagnosis: Diagnosis, extra: dict[str, Any]
) -> tuple[Consumer, Any]:
    """A connected consumer and the cluster metadata (ConnectionFailed within connect_timeout)."""
    cfg = consumer_config(settings, diagnosis, extra)
    try:
        consumer = Consumer(cfg)
    except KafkaException as e:
        raise UsageError(f"invalid consumer settings: {e.args[0].str() if e.args else e}") from None
    try:
        metadata = wait_connected(consumer, settings, profile, diagnosis, serve=lambda: consumer.poll(0))
    except BaseException:
        _close_quietly(consumer)
        raise
    return consumer, metadata


def _close_quietly(consumer: Consumer) -> None:
    try:
        consumer.close()
    except Exception:  # closing must not hide the run's outcome
        pass


_DENIED = (
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
)
_DENIED_TO_ASSIGN = (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED)


def _partitions(metadata: Any, topic: str) -> list[int]:
    return known_partitions(metadata, topic)


def _denied(consumer: Any, topic: str, settings: KafkaSettings, profile: str | None) -> None:
    """check_denied on a confluent-kafka consumer."""

    def fetch(timeout: float) -> Any:
        try:
            return consumer.list_topics(topic, timeout=timeout)
        except KafkaException:
            return None

    check_denied(fetch, topic, settings, profile)


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
        self.group = group
        self.diagnosis = Diagnosis()
        extra: dict[str, Any] = {"group.id": group} if group else {}
        self.extra = extra
        self.consumer, metadata = _new_consumer(settings, profile, self.diagnosis, extra)
        known = _partitions(metadata, topic)
        if not known:
            _denied(self.consumer, topic, settings, profile)
            self.close()
            raise NotFound(f"topic {topic!r} does not exist")
        wanted = sorted(set(partitions)) if partitions else known
        missing = [p for p in wanted if p not in known]
        if missing:
            self.close()
            raise NotFound(f"partition {missing[0]} of topic {topic!r} does not exist (it has {len(known)})")
        self.parts = wanted
        self.positions: dict[Key, int] = {}
        self.ends: dict[Key, int] = {}
        self._timeout = max(settings.connect_timeout * 3, 10.0)

    def _errors(self) -> Any:
        return kafka_errors(self.settings, self.profile, topic=self.topic, diagnosis=self.diagnosis)

    def close(self) -> None:
        _close_quietly(self.consumer)

    def seek(self, start: StartOffset) -> None:
        c = self.consumer
        t = self.topic
        if start.kind == "stored" and not self.group:
            raise UsageError("--offset stored needs --group (whose committed offsets to start from)")
        with self._errors():
            marks = {
                p: c.get_watermark_offsets(TopicPartition(t, p), timeout=self._timeout, cached=False)
                for p in self.parts
            }
            found: dict[int, int] = {}
            if start.kind == "time":
                for tp in c.offsets_for_times(
                    [TopicPartition(t, p, start.value) for p in self.parts], timeout=self._timeout
                ):
                    found[tp.partition] = tp.offset
            stored: dict[int, int] = {}
            if start.kind == "stored":
                for tp in c.committed([TopicPartition(t, p) for p in self.parts], timeout=self._timeout):
                    stored[tp.partition] = tp.offset
        assignment = []
        for p in self.parts:
            lo, hi = marks[p]
            pos = start.resolve(
                lo, hi, found=found.get(p), committed=stored.get(p), reset=self.settings.consumer.auto_offset_reset
            )
            self.positions[(t, p)] = pos
            self.ends[(t, p)] = hi
            assignment.append(TopicPartition(t, p, pos))
        with self._errors():
            c.assign(assignment)

    def run(
        self,
        rules: StopRules,
        handle: Callable[[Message], None],
        flush: Callable[[], None],
        *,
        writer: Writer | None = None,
    ) -> RunResult:
        """`writer`: the one `handle` writes to, which then takes whole batches (see _consume_loop)."""
        if not self.positions:
            self.seek(StartOffset("beginning"))
        keys = [(self.topic, p) for p in self.parts]
        tracker = StopTracker(
            rules, stop_at=dict(self.ends) if rules.exit_at_end else {}, on_done=lambda key: _pause(self.consumer, key)
        )
        return _consume_loop(
            self.consumer,
            lambda: keys,
            tracker,
            self.positions,
            LoopHooks(handle, flush, writer),
            max_batch=int(self.settings.consumer.max_poll_records),
            errors=self._errors,
            fatal=lambda: check_fatal(self.diagnosis, self.settings, self.profile),
            # Its group.id is a placeholder it never joins: a principal without
            # an ACL on that group may still read the partitions it assigns.
            denied=_DENIED_TO_ASSIGN,
        )


def _consume_loop(
    c: Consumer,
    assigned: Callable[[], list[Key]],
    tracker: StopTracker[Key],
    positions: dict[Key, int],
    hooks: LoopHooks[Key],
    *,
    max_batch: int,
    errors: Callable[[], Any],
    fatal: Callable[[], None],
    denied: tuple[int, ...] = (),
) -> RunResult:
    """Consume until a stop rule (`tracker`, mqcli.core.stops) applies,
    handing the messages to `hooks` (see LoopHooks); `positions` holds the
    next offset of each partition, `errors()` maps the client's exceptions,
    `fatal()` raises a fatal client error.  Without --match and --until whole
    batches go to the hooks' writer (`batch_writer`: raw output builds no
    Message)."""
    handle, on_skipped = hooks.handle, hooks.on_skipped
    take_revoked, on_written = hooks.revoked, hooks.on_written
    done = tracker.done
    at_eof: set[Key] = set()  # partitions whose end we reached and nothing came since
    until = tracker.until
    batch_size = max(max_batch, 1)
    write_records = batch_writer(hooks.writer, _value, to_message)
    whole_batches = tracker.whole_batches and write_records is not None

    def position(key: Key) -> int:
        return positions.get(key, OFFSET_INVALID)

    finish = hooks.finish

    while True:
        if take_revoked is not None:
            revoked = list(take_revoked())
            tracker.forget(revoked)
            at_eof.difference_update(revoked)
        keys = assigned()
        tracker.sweep(keys, position, at_eof.__contains__)
        reason = tracker.over(keys)
        if reason is not None:
            return tracker.end(reason)
        wait = tracker.wait()
        with errors():
            # consume(n, timeout) waits until it has n messages or the timeout
            # passed: take what is queued now, else wait for the first one only.
            batch = c.consume(batch_size, 0)
            if not batch:
                first = c.poll(max(wait, 0.001))
                if first is not None:
                    batch = [first, *c.consume(batch_size - 1, 0)] if batch_size > 1 else [first]
        if whole_batches and batch and not any(map(_error, batch)):
            # A partition run at a time (offsets only grow within one).
            runs = tracker.take_runs(_runs(batch, at_eof), _offset)
            if runs:
                assert write_records is not None
                write_records(runs[0][1] if len(runs) == 1 else [m for _key, run in runs for m in run])
                tracker.touch()
                for key, run in runs:
                    positions[key] = next_offset = _offset(run[-1]) + 1
                    if on_written is not None:
                        on_written(key, next_offset)
            if tracker.full:
                finish()
                return tracker.end(COUNT)
            if runs:
                finish()
            fatal()
            continue
        handled_any = False
        for m in batch:
            err = m.error()
            topic, partition, offset = m.topic(), m.partition(), m.offset()
            if err is not None:
                code = err.code()
                if code == KafkaError._PARTITION_EOF:
                    assert topic is not None and partition is not None  # an EOF event names its partition
                    key = (topic, partition)
                    at_eof.add(key)
                    if offset is not None and offset >= 0:
                        positions[key] = max(positions.get(key, OFFSET_INVALID), offset)
                    continue
                if code in _UNKNOWN:
                    raise NotFound(f"topic {topic!r} does not exist")
                if code in (denied or _DENIED):  # retrying does not give the principal an ACL
                    with errors():
                        raise KafkaException(err)
                if err.fatal():
                    raise KafkaException(err)
                continue  # transient (librdkafka retries by itself)
            # A message, not an error event: it has a partition and an offset.
            assert topic is not None and partition is not None and offset is not None
            key = (topic, partition)
            at_eof.discard(key)
            if key in done:
                continue
            positions[key] = offset + 1
            if not tracker.admit(key, offset, _timestamp(m) if until is not None else None):
                continue
            reason = tracker.offer(to_message(m), handle, on_skipped)
            handled_any = True
            if reason is not None:
                finish()
                return tracker.end(reason)
        if handled_any:
            finish()
        fatal()


def _pause(c: Consumer, key: Key) -> None:
    """Stop fetching a finished partition."""
    try:
        c.pause([TopicPartition(key[0], key[1])])
    except KafkaException:  # a partition revoked meanwhile cannot be paused: nothing to stop
        pass


class GroupConsumer:
    """A consumer-group member with manual commits of handled messages only.

    `done` holds, per partition, the offset after the last message that was
    handled (written and flushed, or --exec succeeded); only those offsets
    are ever committed: after each batch, when partitions are revoked, and
    when the run ends (normally, or by a signal).
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
        if assignor == "sticky":
            raise UsageError(
                "--assignor sticky is not available with the librdkafka engine "
                "(use cooperative-sticky, range or roundrobin, or --engine kafka-python)"
            )
        if assignor not in _ASSIGNORS:
            raise UsageError(f"invalid --assignor {assignor!r} (use {', '.join(ASSIGNORS)})")
        self.settings = settings
        self.profile = profile
        self.group = group
        self.topics = topics
        self.on_event = on_event or (lambda text: None)
        self.done: dict[Key, int] = {}
        self.committed: dict[Key, int] = {}
        self.stop_at: dict[Key, int] = {}
        self.positions: dict[Key, int] = {}
        self.assigned: set[Key] = set()
        self.unresolved: set[Key] = set()
        self.revoked: set[Key] = set()
        self.exit_at_end = False
        self.flush: Callable[[], None] = lambda: None
        self.defer: Deferral[Key] | None = None  # marks confirmed later (see run)
        self.diagnosis = Diagnosis()
        self._timeout = max(settings.connect_timeout * 3, 10.0)
        # Asynchronous commits sent and not answered yet (see _commit_checked).
        self._unanswered = 0
        self.consumer, metadata = _new_consumer(
            settings,
            profile,
            self.diagnosis,
            {
                "group.id": group,
                "auto.offset.reset": start,
                "partition.assignment.strategy": _ASSIGNORS[assignor],
                "on_commit": self._answered,
            },
        )
        for topic in topics:
            if not _partitions(metadata, topic):
                _denied(self.consumer, topic, settings, profile)
                self.close(commit=False)
                raise NotFound(f"topic {topic!r} does not exist")
        with self._errors():
            self.consumer.subscribe(
                topics, on_assign=self._on_assigned, on_revoke=self._on_revoked, on_lost=self._on_lost
            )

    def _errors(self, topic: str | None = None) -> Any:
        return kafka_errors(self.settings, self.profile, topic=topic, diagnosis=self.diagnosis)

    @staticmethod
    def _names(keys: Iterable[Key]) -> str:
        return ", ".join(f"{t}[{p}]" for t, p in sorted(keys)) or "none"

    def _forget(self, keys: list[Key]) -> None:
        self.revoked.update(keys)
        for key in keys:
            self.assigned.discard(key)
            self.done.pop(key, None)
            self.stop_at.pop(key, None)
            self.positions.pop(key, None)
            self.unresolved.discard(key)

    # -- rebalance callbacks (served inside consume()/close(), on this thread) --------
    def _on_revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = [(tp.topic, tp.partition) for tp in partitions]
        if self.defer is not None:
            self.defer.settle()  # the held marks of these partitions are released before their last commit
        self.commit(keys)
        self._forget(keys)
        if keys:
            self.on_event(f"partitions revoked: {self._names(keys)}")

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # The group moved on without us: committing now would fail or be stale.
        keys = [(tp.topic, tp.partition) for tp in partitions]
        self._forget(keys)
        if keys:
            self.on_event(f"partitions lost: {self._names(keys)}")

    def _on_assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = [(tp.topic, tp.partition) for tp in partitions]
        self.assigned.update(keys)
        if partitions:
            # A partition paused when it reached its stop (-e) stays paused in
            # librdkafka through a lost assignment: assigned again (after the
            # group counted us gone, e.g. a broker restart longer than the
            # session) it would never deliver what its lost commits leave to read.
            consumer.resume(partitions)
        # End offsets for --exit-at-end are looked up by the loop (resolve_stops),
        # not here: the callback should return quickly.
        if self.exit_at_end:
            self.unresolved.update(keys)
        self.on_event(f"partitions assigned: {self._names(keys)}")

    def _end_offset(self, key: Key) -> int | None:
        with self._errors(key[0]):
            _lo, hi = self.consumer.get_watermark_offsets(
                TopicPartition(key[0], key[1]), timeout=self._timeout, cached=False
            )
        return int(hi)

    def resolve_stops(self) -> set[Key]:
        """Look up stop offsets of newly assigned partitions; return the
        partitions revoked since the last call."""
        for key in sorted(self.unresolved):
            if key in self.assigned and key not in self.stop_at:
                end = self._end_offset(key)
                if end is not None:
                    self.stop_at[key] = end
        self.unresolved.clear()
        revoked, self.revoked = self.revoked, set()
        return revoked

    def mark(self, msg: Message) -> None:
        """Record that `msg` was handled: its offset may be committed."""
        assert msg.topic is not None and msg.partition is not None and msg.offset is not None
        self.done[(msg.topic, msg.partition)] = msg.offset + 1

    def _mark_offset(self, key: Key, next_offset: int) -> None:
        self.done[key] = next_offset

    def _release(self, key: Key, next_offset: int) -> None:
        """A held mark released (see run's `defer`): committable unless the partition went meanwhile."""
        if key in self.assigned:
            self.done[key] = next_offset

    def commit(self, only: list[Key] | None = None, *, asynchronous: bool = False) -> None:
        """Commit the handled offsets not committed yet (flushing output first)."""
        pending = {
            key: off
            for key, off in self.done.items()
            if (only is None or key in only) and self.committed.get(key) != off
        }
        if not pending:
            return
        self.flush()
        offsets = [TopicPartition(t, p, off) for (t, p), off in pending.items()]
        with self._errors():
            # Two calls: the client's overloads tell the two modes apart by a literal.
            if asynchronous:
                self.consumer.commit(offsets=offsets, asynchronous=True)
                self._unanswered += 1
            else:
                self.consumer.commit(offsets=offsets, asynchronous=False)
        self.committed.update(pending)

    def run(
        self,
        rules: StopRules,
        handle: Callable[[Message], bool],
        flush: Callable[[], None],
        *,
        writer: Writer | None = None,
        defer: Deferral[Key] | None = None,
    ) -> RunResult:
        """`writer`: the one `handle` writes to, which then takes whole batches
        (see _consume_loop).  `defer`: the marks of handled messages are held
        there until it releases them (hooks.Deferral), not committable at once."""
        self.flush = flush
        self.exit_at_end = rules.exit_at_end
        self.defer = defer
        mark, mark_offset = held_marks(defer, _key, self.mark, self._mark_offset, self._release)

        def commit() -> None:
            # Asynchronous between batches (throughput); the commits on revoke
            # and at the end are synchronous, and cover anything lost here.
            self.commit(asynchronous=True)

        tracker = StopTracker(
            rules,
            stop_at=self.stop_at,
            resolve_stop=self._end_offset,
            on_done=lambda key: _pause(self.consumer, key),
        )
        hooks: LoopHooks[Key] = group_hooks(
            handle,
            flush,
            writer,
            mark=mark,
            mark_offset=mark_offset,
            commit=commit,
            revoked=self.resolve_stops,
        )
        return _consume_loop(
            self.consumer,
            lambda: sorted(self.assigned),
            tracker,
            self.positions,
            hooks,
            max_batch=int(self.settings.consumer.max_poll_records),
            errors=self._errors,
            fatal=lambda: check_fatal(self.diagnosis, self.settings, self.profile),
        )

    def close(self, commit: bool = True, *, retry_for: float = 0.0) -> bool:
        """Commit handled work (when asked; a failing commit tried again for
        `retry_for` seconds) and leave the group.  False: the commit failed."""
        done = True
        try:
            if commit:
                done = commit_retrying(self._commit_checked, retry_for, self.on_event)
        finally:
            _close_quietly(self.consumer)
        return done

    def _answered(self, _error: Any, _partitions: Any) -> None:
        """librdkafka's answer to an asynchronous commit (served inside consume();
        never called for a synchronous one)."""
        self._unanswered -= 1

    def _commit_checked(self) -> None:
        """Commit every handled offset synchronously (an asynchronous commit may
        have failed), then read them back.  Asynchronous commits made while the
        coordinator was away wait in librdkafka, and one retried after the
        coordinator answered "loading" may land after this one and set the
        group back (seen under a broker restart, after the read-back had
        passed): so their answers are awaited first (for a second).  Raises
        while the group is behind, or while one is still unanswered (the caller
        may try again: this commit is then made again after it)."""
        deadline = time.monotonic() + 1.0
        while self._unanswered > 0 and time.monotonic() < deadline:
            # Serves the answers; a record it returns is not handled, so never committed.
            self.consumer.consume(num_messages=1, timeout=0.1)
        self.committed.clear()
        self.commit()
        want = dict(self.done)
        if not want:
            return
        with self._errors():
            got = self.consumer.committed([TopicPartition(t, p) for t, p in want], timeout=self._timeout)
        behind = [tp for tp in got if tp.offset < want[(tp.topic, tp.partition)]]
        if behind:
            self.committed.clear()
            raise RuntimeError(
                f"the group's committed offsets are behind on {self._names((tp.topic, tp.partition) for tp in behind)}"
            )
        if self._unanswered > 0:
            raise RuntimeError(f"{self._unanswered} asynchronous commit(s) unanswered: one may yet set the group back")
