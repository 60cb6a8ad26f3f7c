"""Topic, group and cluster administration with librdkafka's AdminClient:
the same methods and the same plain dicts as admin.Admin (kafka-python), so
the CLI renders either one identically."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient

# confluent_kafka.admin imports these without re-exporting them: from where they are defined.
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource
from confluent_kafka.admin._listoffsets import OffsetSpec
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.cimpl import NewPartitions, NewTopic

from mqcli.core.errors import ConnectionFailed, MqcliError, NotFound, UsageError
from mqcli.core.kafka.acls import AclBinding, acl_sort_key
from mqcli.core.kafka.common import (
    RecordsBefore,
    ResetTarget,
    compacted_refusal,
    cut_row,
    group_refusal,
    record_partitions,
)
from mqcli.core.kafka.librdkafka.client import (
    UNKNOWN_TOPIC,
    Diagnosis,
    client_config,
    describe,
    error_name,
    kafka_errors,
    map_error,
    topic_partitions,
    wait_connected,
)

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings

# OffsetSpec.earliest()/latest() are not annotated in confluent-kafka (a third-party gap);
# they return the same object every time.
_EARLIEST: OffsetSpec = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
_LATEST: OffsetSpec = OffsetSpec.latest()  # type: ignore[no-untyped-call]
_UNKNOWN = UNKNOWN_TOPIC
_UNMODIFIED = (
    ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value,
    ConfigSource.STATIC_BROKER_CONFIG.value,
    ConfigSource.DEFAULT_CONFIG.value,
)
# Java's names for group states, as kafka-python reports them.
_STATES = {
    "UNKNOWN": "Unknown",
    "PREPARING_REBALANCING": "PreparingRebalance",
    "COMPLETING_REBALANCING": "CompletingRebalance",
    "STABLE": "Stable",
    "DEAD": "Dead",
    "EMPTY": "Empty",
    "ASSIGNING": "Assigning",
    "RECONCILING": "Reconciling",
}


def _state(state: Any) -> str | None:
    if state is None:
        return None
    return _STATES.get(getattr(state, "name", str(state)), str(state))


def _kerr(e: BaseException) -> KafkaError | None:
    if isinstance(e, KafkaException) and e.args and isinstance(e.args[0], KafkaError):
        return e.args[0]
    return None


class Admin:
    """A connected admin client bound to a profile (use as a context manager)."""

    def __init__(self, settings: KafkaSettings, profile: str | None = None) -> None:
        self.settings = settings
        self.profile = profile
        self.diagnosis = Diagnosis()
        self.client = AdminClient(client_config(settings, self.diagnosis))
        # Admin requests are small; waiting longer than a few connect timeouts
        # for an answer only hides a broken cluster.
        self.timeout = max(settings.connect_timeout * 3, 15.0)
        wait_connected(self.client, settings, profile, self.diagnosis)

    def __enter__(self) -> Admin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        # AdminClient has no close(); it is released with the object.  Serve
        # queued log lines (--debug) before that.
        try:
            self.client.poll(0)
        except Exception:  # closing must not mask the real outcome
            pass

    def _errors(self, topic: str | None = None) -> Any:
        return kafka_errors(self.settings, self.profile, topic=topic, diagnosis=self.diagnosis)

    def _result(self, fut: Future[Any], topic: str | None = None) -> Any:
        with self._errors(topic):
            return fut.result(timeout=self.timeout + 5)

    # -- topics ------------------------------------------------------------------
    def partitions(self, topic: str) -> list[int]:
        """Partition ids of `topic`; NotFound when it does not exist."""
        with self._errors(topic):
            md = self.client.list_topics(topic, timeout=self.timeout)
        return topic_partitions(md, topic, self.settings, self.profile)

    def exists(self, topic: str) -> bool:
        try:
            self.partitions(topic)
        except NotFound:
            return False
        return True

    def _describe_topics(self, names: list[str]) -> dict[str, Any]:
        if not names:
            return {}
        futs = self.client.describe_topics(TopicCollection(names), request_timeout=self.timeout)
        out: dict[str, Any] = {}
        for name, fut in futs.items():
            try:
                out[name] = fut.result(timeout=self.timeout + 5)
            except KafkaException as e:
                err = _kerr(e)
                if err is not None and err.code() in _UNKNOWN:
                    raise NotFound(f"topic {name!r} does not exist") from None
                raise map_error(e, self.settings, self.profile, topic=name, diagnosis=self.diagnosis) from None
        return out

    def list_topics(self, include_internal: bool = False) -> list[dict[str, Any]]:
        with self._errors():
            md = self.client.list_topics(timeout=self.timeout)
        described = self._describe_topics(sorted(md.topics))
        out = []
        for name in sorted(described):
            t = described[name]
            if t.is_internal and not include_internal:
                continue
            rf = max((len(p.replicas) for p in t.partitions), default=0)
            out.append(
                {
                    "name": name,
                    "partitions": len(t.partitions),
                    "replication_factor": rf,
                    "internal": bool(t.is_internal),
                }
            )
        return out

    def describe_topic(self, topic: str) -> dict[str, Any]:
        """Partitions (leader, replicas, isr, earliest/latest offsets) and non-default configs."""
        desc = self._describe_topics([topic])[topic]
        parts = sorted(desc.partitions, key=lambda p: p.id)
        earliest, latest = self.offsets([TopicPartition(topic, p.id) for p in parts])
        futs = self.client.describe_configs([ConfigResource(ResourceType.TOPIC, topic)], request_timeout=self.timeout)
        (fut,) = futs.values()
        entries = self._result(fut, topic)
        # "Non-default" as kafka-python's describe_configs filter: set on the topic
        # or dynamically on the broker, not broker-wide defaults or server.properties.
        conf = {name: e.value for name, e in entries.items() if e.source not in _UNMODIFIED}
        topic_id = str(desc.topic_id) if getattr(desc, "topic_id", None) is not None else None
        return {
            "name": topic,
            "topic_id": _uuid_text(topic_id),
            "internal": bool(desc.is_internal),
            "partitions": [
                {
                    "partition": p.id,
                    "leader": p.leader.id if p.leader is not None else None,
                    "replicas": [n.id for n in p.replicas],
                    "isr": [n.id for n in p.isr],
                    "earliest_offset": earliest.get(p.id),
                    "latest_offset": latest.get(p.id),
                }
                for p in parts
            ],
            "replication_factor": max((len(p.replicas) for p in parts), default=0),
            "configs": dict(sorted(conf.items())),
        }

    def _list_offsets(self, specs: dict[TopicPartition, Any]) -> dict[TopicPartition, int]:
        if not specs:
            return {}
        futs = self.client.list_offsets(specs, request_timeout=self.timeout)
        out = {}
        for tp, fut in futs.items():
            out[TopicPartition(tp.topic, tp.partition)] = self._result(fut, tp.topic).offset
        return out

    def offsets(self, tps: list[TopicPartition]) -> tuple[dict[int, int], dict[int, int]]:
        """(earliest, latest) offsets per partition number (single topic)."""
        if not tps:
            return {}, {}
        early = self._list_offsets({tp: _EARLIEST for tp in tps})
        late = self._list_offsets({tp: _LATEST for tp in tps})
        return {tp.partition: o for tp, o in early.items()}, {tp.partition: o for tp, o in late.items()}

    def create_topic(
        self,
        topic: str,
        partitions: int | None = None,
        replication_factor: int | None = None,
        configs: dict[str, str] | None = None,
        *,
        if_not_exists: bool = False,
    ) -> bool:
        """Create `topic`; False when it already existed and if_not_exists is set."""
        new = NewTopic(
            topic,
            num_partitions=partitions if partitions is not None else -1,
            replication_factor=replication_factor if replication_factor is not None else -1,
            config=dict(configs or {}),
        )
        (fut,) = self.client.create_topics([new], request_timeout=self.timeout).values()
        try:
            fut.result(timeout=self.timeout + 5)
        except KafkaException as e:
            err = _kerr(e)
            code = err.code() if err is not None else None
            if code == KafkaError.TOPIC_ALREADY_EXISTS:
                if if_not_exists:
                    return False
                raise MqcliError(f"topic {topic!r} already exists", hint="use --if-not-exists to accept that") from None
            if code in (
                KafkaError.TOPIC_EXCEPTION,
                KafkaError.INVALID_REPLICA_ASSIGNMENT,
                KafkaError.INVALID_PARTITIONS,
                KafkaError.INVALID_REPLICATION_FACTOR,
                KafkaError.INVALID_CONFIG,
                KafkaError.POLICY_VIOLATION,
            ):
                raise UsageError(f"cannot create topic {topic!r}: {err.str() if err is not None else e}") from None
            raise map_error(e, self.settings, self.profile, topic=topic, diagnosis=self.diagnosis) from None
        self._wait_for_metadata(topic)
        return True

    def _wait_for_metadata(self, topic: str) -> None:
        """Until every partition of a new topic has a leader, so a send right
        after creating it does not fail (kafka-python's wait_for_metadata)."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            md = self.client.list_topics(topic, timeout=self.timeout)
            t = md.topics.get(topic)
            if t is not None and t.error is None and t.partitions and all(p.leader >= 0 for p in t.partitions.values()):
                return
            time.sleep(0.05)

    def delete_topic(self, topic: str, *, if_exists: bool = False) -> bool:
        (fut,) = self.client.delete_topics([topic], request_timeout=self.timeout).values()
        try:
            fut.result(timeout=self.timeout + 5)
        except KafkaException as e:
            err = _kerr(e)
            if err is not None and err.code() in _UNKNOWN:
                if if_exists:
                    return False
                raise NotFound(f"topic {topic!r} does not exist", hint="use --if-exists to accept that") from None
            raise map_error(e, self.settings, self.profile, topic=topic, diagnosis=self.diagnosis) from None
        return True

    # -- cluster -------------------------------------------------------------------
    def cluster(self) -> dict[str, Any]:
        c = self._result(self.client.describe_cluster(request_timeout=self.timeout))
        return {
            "cluster_id": c.cluster_id,
            "controller_id": c.controller.id if c.controller is not None else None,
            "brokers": [
                {"id": n.id, "host": n.host, "port": n.port, "rack": n.rack or None}
                for n in sorted(c.nodes, key=lambda n: n.id)
            ],
        }

    # -- groups --------------------------------------------------------------------
    def list_groups(self) -> list[dict[str, Any]]:
        res = self._result(self.client.list_consumer_groups(request_timeout=self.timeout))
        return sorted(
            (
                {
                    "group": g.group_id,
                    "state": _state(g.state),
                    "type": _type(getattr(g, "type", None)),
                    "protocol_type": "" if g.is_simple_consumer_group else "consumer",
                }
                for g in res.valid
            ),
            key=lambda g: g["group"],
        )

    def committed(self, group: str) -> dict[TopicPartition, int]:
        futs = self.client.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=self.timeout
        )
        res = self._result(futs[group])
        return {
            TopicPartition(tp.topic, tp.partition): tp.offset
            for tp in (res.topic_partitions or [])
            if tp.offset is not None and tp.offset >= 0 and tp.error is None
        }

    def _describe_group(self, group: str) -> Any | None:
        fut = self.client.describe_consumer_groups([group], request_timeout=self.timeout)[group]
        try:
            return fut.result(timeout=self.timeout + 5)
        except KafkaException as e:
            err = _kerr(e)
            if err is not None and err.code() in (KafkaError.GROUP_ID_NOT_FOUND, KafkaError.INVALID_GROUP_ID):
                return None
            raise map_error(e, self.settings, self.profile, diagnosis=self.diagnosis) from None

    def describe_group(self, group: str) -> dict[str, Any]:
        """State, members with assignments, and per partition committed/end offset and lag."""
        desc = self._describe_group(group)
        committed = self.committed(group)
        state = _state(desc.state) if desc is not None else None
        if (desc is None or state == "Dead") and not committed:
            raise NotFound(f"consumer group {group!r} does not exist")
        owner: dict[tuple[str, int], str] = {}
        members = []
        for m in (desc.members if desc is not None else None) or []:
            by_topic: dict[str, list[int]] = {}
            for tp in (m.assignment.topic_partitions if m.assignment is not None else None) or []:
                by_topic.setdefault(tp.topic, []).append(tp.partition)
                owner[(tp.topic, tp.partition)] = m.member_id
            members.append(
                {
                    "member_id": m.member_id,
                    "client_id": m.client_id,
                    "host": m.host,
                    "assignment": [{"topic": t, "partitions": sorted(ps)} for t, ps in by_topic.items()],
                }
            )
        keys = {(tp.topic, tp.partition) for tp in committed} | set(owner)
        # Every partition of the group's topics, so partitions it never
        # committed on show up too (with no committed offset and no lag).
        for t in sorted({k[0] for k in keys}):
            try:
                keys |= {(t, p) for p in self.partitions(t)}
            except NotFound:
                pass
        ends: dict[tuple[str, int], int] = {}
        if keys:
            try:
                late = self._list_offsets({TopicPartition(t, p): _LATEST for t, p in keys})
            except NotFound:
                late = {}
            ends = {(tp.topic, tp.partition): o for tp, o in late.items()}
        by_key = {(tp.topic, tp.partition): off for tp, off in committed.items()}
        parts = []
        for key in sorted(keys):
            c = by_key.get(key)
            e = ends.get(key)
            parts.append(
                {
                    "topic": key[0],
                    "partition": key[1],
                    "committed_offset": c,
                    "end_offset": e,
                    "lag": (e - c) if (c is not None and e is not None) else None,
                    "member_id": owner.get(key),
                }
            )
        return {
            "group": group,
            "state": state,
            "protocol": (desc.partition_assignor if desc is not None else None) or None,
            "members": members,
            "partitions": parts,
        }

    def plan_reset(self, group: str, topics: list[str], to: ResetTarget) -> list[dict[str, Any]]:
        """Per partition: current committed offset and the offset `to` resolves to."""
        committed = {(tp.topic, tp.partition): off for tp, off in self.committed(group).items()}
        keys = to.select(group, topics, committed, self.partitions)
        tps = [TopicPartition(t, p) for t, p in keys]
        early = self._list_offsets({tp: _EARLIEST for tp in tps})
        late = self._list_offsets({tp: _LATEST for tp in tps})
        by_time: dict[TopicPartition, int] = {}
        if to.timestamp_ms is not None:
            by_time = self._list_offsets({tp: OffsetSpec.for_timestamp(to.timestamp_ms) for tp in tps})
        plan = []
        for t, p in keys:
            tp = TopicPartition(t, p)
            current = committed.get((t, p))
            new = to.resolve(t, p, early[tp], late[tp], committed=current, found=by_time.get(tp))
            plan.append({"topic": t, "partition": p, "current_offset": current, "new_offset": new})
        to.check(group, plan)
        return plan

    def apply_reset(self, group: str, plan: list[dict[str, Any]]) -> None:
        desc = self._describe_group(group)
        state = _state(desc.state) if desc is not None else None
        if state not in (None, "Empty", "Dead", "Unknown"):
            raise MqcliError(f"group {group!r} is {state}: stop its consumers before resetting offsets")
        # A row without a new offset (a shift where nothing was committed) stays as it is.
        offsets = [
            TopicPartition(r["topic"], r["partition"], r["new_offset"]) for r in plan if r["new_offset"] is not None
        ]
        futs = self.client.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, offsets)], request_timeout=self.timeout
        )
        res = self._result(futs[group])
        bad = [
            f"{tp.topic}[{tp.partition}]: {describe(tp.error)}"
            for tp in (res.topic_partitions or [])
            if tp.error is not None
        ]
        if bad:
            raise MqcliError(f"offset reset failed for {', '.join(bad)}")

    # -- deleting groups, group offsets and records ----------------------------------
    def delete_groups(self, groups: list[str]) -> dict[str, MqcliError | None]:
        """Delete each group (one request): None where deleted, else the refusal."""
        futs = self.client.delete_consumer_groups(groups, request_timeout=self.timeout)
        out: dict[str, MqcliError | None] = {}
        for group in groups:
            try:
                futs[group].result(timeout=self.timeout + 5)
            except KafkaException as e:
                err = _kerr(e)
                if err is None or err.code() < 0:  # a local error (transport, timeout): not the broker's answer
                    raise map_error(e, self.settings, self.profile, diagnosis=self.diagnosis) from None
                out[group] = group_refusal(group, "delete", err.code(), err.name())
            else:
                out[group] = None
        return out

    def delete_offsets(self, group: str, topic: str, partitions: list[int] | None = None) -> list[dict[str, Any]]:
        """Delete `group`'s committed offsets on `topic` (all its partitions, or
        `partitions`): per partition, the offset that was committed (None: none)."""
        # confluent-kafka (2.16) does not wrap Kafka's OffsetDelete request
        # (librdkafka's rd_kafka_DeleteConsumerGroupOffsets has no Python
        # binding), so this one request goes through the kafka-python engine,
        # mqcli's base dependency, with the same settings.
        from mqcli.core.kafka.kafka_python.admin import Admin as KafkaPythonAdmin

        with KafkaPythonAdmin(self.settings, self.profile) as other:
            return other.delete_offsets(group, topic, partitions)

    def plan_delete_records(
        self, topic: str, before: RecordsBefore, partitions: list[int] | None = None
    ) -> list[dict[str, Any]]:
        """Per partition of `topic`: its offsets and where `before` would cut it."""
        parts = record_partitions(topic, partitions, self.partitions(topic))
        tps = [TopicPartition(topic, p) for p in parts]
        early = self._list_offsets({tp: _EARLIEST for tp in tps})
        late = self._list_offsets({tp: _LATEST for tp in tps})
        by_time: dict[TopicPartition, int] = {}
        if before.kind == "time":
            by_time = self._list_offsets({tp: OffsetSpec.for_timestamp(before.value) for tp in tps})
        return [cut_row(topic, tp.partition, early[tp], late[tp], before, by_time.get(tp)) for tp in tps]

    def delete_records(self, topic: str, before: dict[int, int]) -> dict[int, int]:
        """Delete the records of `topic` below `before[partition]`; each
        partition's new start offset (its low watermark), as the broker says."""
        if not before:
            return {}
        futs = self.client.delete_records(
            [TopicPartition(topic, p, o) for p, o in sorted(before.items())], request_timeout=self.timeout
        )
        out = {}
        for tp, fut in futs.items():
            try:
                out[tp.partition] = int(fut.result(timeout=self.timeout + 5).low_watermark)
            except KafkaException as e:
                err = _kerr(e)
                if err is not None and err.code() == KafkaError.POLICY_VIOLATION:
                    raise compacted_refusal(topic) from None
                raise map_error(e, self.settings, self.profile, topic=topic, diagnosis=self.diagnosis) from None
        return out

    # -- SCRAM users and ACLs -------------------------------------------------------------
    def scram_users(self, users: list[str] | None = None) -> list[dict[str, Any]]:
        """Per user and mechanism its iteration count (the broker never sends secrets)."""
        if users:
            futs = self.client.describe_user_scram_credentials(list(users), request_timeout=self.timeout)
            assert isinstance(futs, dict)  # one future per user named
            described: dict[str, Any] = {}
            for user, fut in futs.items():
                try:
                    described[user] = fut.result(timeout=self.timeout + 5)
                except KafkaException as e:
                    raise self._scram_error(e, user) from None
        else:
            whole = self.client.describe_user_scram_credentials(request_timeout=self.timeout)
            assert not isinstance(whole, dict)  # one future for every user
            described = self._result(whole)
        rows: list[dict[str, Any]] = []
        for user, desc in sorted(described.items()):
            for info in desc.scram_credential_infos or []:
                rows.append(
                    {
                        "user": user,
                        "mechanism": info.mechanism.name.replace("_", "-"),
                        "iterations": info.iterations,
                    }
                )
        return rows

    def _scram_error(self, e: KafkaException, user: str) -> MqcliError:
        err = _kerr(e)
        if err is not None and err.code() == KafkaError.RESOURCE_NOT_FOUND:
            return NotFound(f"user {user!r} has no SCRAM credentials")
        if err is not None and err.code() > 0 and "AUTHORIZATION" not in err.name():
            return UsageError(f"cannot alter SCRAM credentials of {user!r}: {describe(err)}")
        return map_error(e, self.settings, self.profile, diagnosis=self.diagnosis)

    def _alter_scram(self, alterations: list[Any], user: str) -> None:
        futs = self.client.alter_user_scram_credentials(alterations, request_timeout=self.timeout)
        for fut in futs.values():
            try:
                fut.result(timeout=self.timeout + 5)
            except KafkaException as e:
                raise self._scram_error(e, user) from None

    def set_scram_password(self, user: str, mechanism: str, password: str, iterations: int) -> None:
        from confluent_kafka.admin._scram import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

        info = ScramCredentialInfo(ScramMechanism[mechanism.replace("-", "_")], iterations)
        self._alter_scram([UserScramCredentialUpsertion(user, info, password.encode("utf-8"))], user)

    def delete_scram_user(self, user: str, mechanisms: list[str]) -> list[str]:
        from confluent_kafka.admin._scram import ScramMechanism, UserScramCredentialDeletion

        have = {r["mechanism"] for r in self.scram_users([user])}
        gone = [m for m in mechanisms if m in have]
        if not gone:
            raise NotFound(f"user {user!r} has no {' or '.join(mechanisms)} credential")
        self._alter_scram([UserScramCredentialDeletion(user, ScramMechanism[m.replace("-", "_")]) for m in gone], user)
        return gone

    def describe_acls(self, acl_filter: AclBinding) -> list[AclBinding]:
        fut = self.client.describe_acls(_acl(acl_filter, filter_=True), request_timeout=self.timeout)
        try:
            found = fut.result(timeout=self.timeout + 5)
        except KafkaException as e:
            raise self._acl_error(e) from None
        return sorted((_binding(b) for b in found), key=acl_sort_key)

    def _acl_error(self, e: KafkaException) -> MqcliError:
        err = _kerr(e)
        if err is not None and err.code() == KafkaError.SECURITY_DISABLED:
            return MqcliError("the broker has no authorizer configured (authorizer.class.name): it keeps no ACLs")
        if err is not None and err.code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED:
            return ConnectionFailed(f"not authorized to ALTER/DESCRIBE the cluster's ACLs ({error_name(err)})")
        if err is not None and err.code() > 0:
            return UsageError(f"the broker refused the ACL request: {describe(err)}")
        return map_error(e, self.settings, self.profile, diagnosis=self.diagnosis)

    def create_acls(self, acls: list[AclBinding]) -> None:
        if not acls:
            return
        futs = self.client.create_acls([_acl(a, filter_=False) for a in acls], request_timeout=self.timeout)
        for fut in futs.values():
            try:
                fut.result(timeout=self.timeout + 5)
            except KafkaException as e:
                raise self._acl_error(e) from None

    def delete_acls(self, acl_filter: AclBinding) -> list[AclBinding]:
        futs = self.client.delete_acls([_acl(acl_filter, filter_=True)], request_timeout=self.timeout)
        deleted: list[AclBinding] = []
        for fut in futs.values():
            try:
                deleted += [_binding(b) for b in fut.result(timeout=self.timeout + 5)]
            except KafkaException as e:
                raise self._acl_error(e) from None
        return sorted(deleted, key=acl_sort_key)

    # -- topic configs and partitions ----------------------------------------------------
    def topic_configs(self, topics: list[str]) -> dict[str, dict[str, str]]:
        """Each topic's own overrides (source DYNAMIC_TOPIC_CONFIG), sensitive ones left out."""
        if not topics:
            return {}
        resources = [ConfigResource(ResourceType.TOPIC, t) for t in topics]
        futs = self.client.describe_configs(resources, request_timeout=self.timeout)
        out: dict[str, dict[str, str]] = {}
        for resource, fut in futs.items():
            try:
                entries = self._result(fut, resource.name)
            except NotFound:
                continue
            out[resource.name] = {
                name: e.value
                for name, e in sorted(entries.items())
                if e.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value and not e.is_sensitive and e.value is not None
            }
        return out

    def _refused(self, fut: Future[Any], topic: str, what: str) -> None:
        """Wait for an alteration of `topic`: NotFound, UsageError for what the broker refuses."""
        try:
            fut.result(timeout=self.timeout + 5)
        except KafkaException as e:
            err = _kerr(e)
            code = err.code() if err is not None else None
            if code in _UNKNOWN:
                raise NotFound(f"topic {topic!r} does not exist") from None
            if code in (
                KafkaError.INVALID_CONFIG,
                KafkaError.INVALID_REQUEST,
                KafkaError.INVALID_PARTITIONS,
                KafkaError.POLICY_VIOLATION,
            ):
                raise UsageError(f"cannot {what} topic {topic!r}: {err.str() if err is not None else e}") from None
            raise map_error(e, self.settings, self.profile, topic=topic, diagnosis=self.diagnosis) from None

    def alter_topic_config(self, topic: str, set_configs: dict[str, str], delete: list[str]) -> None:
        """Incremental: only the named configs change (IncrementalAlterConfigs)."""
        entries = [ConfigEntry(n, v, incremental_operation=AlterConfigOpType.SET) for n, v in set_configs.items()]
        entries += [ConfigEntry(n, None, incremental_operation=AlterConfigOpType.DELETE) for n in delete]
        if not entries:
            return
        resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)
        (fut,) = self.client.incremental_alter_configs([resource], request_timeout=self.timeout).values()
        self._refused(fut, topic, "alter the config of")

    def add_partitions(self, topic: str, total: int) -> None:
        (fut,) = self.client.create_partitions([NewPartitions(topic, total)], request_timeout=self.timeout).values()
        self._refused(fut, topic, "add partitions to")
        # Until the new partitions have leaders, so a producer right after sees them.
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            md = self.client.list_topics(topic, timeout=self.timeout)
            t = md.topics.get(topic)
            if t is not None and len(t.partitions) >= total and all(p.leader >= 0 for p in t.partitions.values()):
                return
            time.sleep(0.05)

    # -- lag (engine-neutral keys, for mqcli.core.kafka.lag) -------------------------
    def committed_offsets(self, group: str) -> dict[tuple[str, int], int]:
        """The group's committed offsets by (topic, partition)."""
        return {(tp.topic, tp.partition): offset for tp, offset in self.committed(group).items()}

    def log_offsets(self, partitions: Sequence[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, int]]:
        """(earliest, end) offset of each partition: two requests for all of them."""
        tps = [TopicPartition(t, p) for t, p in partitions]
        early = {(tp.topic, tp.partition): o for tp, o in self._list_offsets({tp: _EARLIEST for tp in tps}).items()}
        late = {(tp.topic, tp.partition): o for tp, o in self._list_offsets({tp: _LATEST for tp in tps}).items()}
        return {key: (early[key], late[key]) for key in late if key in early}


# Kafka's CLUSTER resource is BROKER in confluent-kafka's ResourceType.
_RESOURCE = {"CLUSTER": "BROKER"}
_RESOURCE_BACK = {v: k for k, v in _RESOURCE.items()}


def _acl(b: AclBinding, *, filter_: bool) -> Any:
    """An engine-neutral binding as confluent-kafka's AclBinding (or AclBindingFilter, None meaning ANY)."""
    from confluent_kafka.admin._acl import AclBinding as CkAclBinding
    from confluent_kafka.admin._acl import AclBindingFilter, AclOperation, AclPermissionType
    from confluent_kafka.admin._resource import ResourcePatternType

    any_ = "ANY"
    rtype = ResourceType[_RESOURCE.get(b.resource_type or any_, b.resource_type or any_)]
    ptype = ResourcePatternType[b.pattern_type or any_]
    op = AclOperation[b.operation or any_]
    perm = AclPermissionType[b.permission or any_]
    if filter_:
        return AclBindingFilter(rtype, b.resource_name, ptype, b.principal, b.host, op, perm)  # type: ignore[arg-type]  # None means any (documented); the stub says str
    return CkAclBinding(rtype, b.resource_name or "", ptype, b.principal or "", b.host or "*", op, perm)


def _binding(b: Any) -> AclBinding:
    return AclBinding(
        principal=b.principal,
        host=b.host,
        operation=b.operation.name,
        permission=b.permission_type.name,
        resource_type=_RESOURCE_BACK.get(b.restype.name, b.restype.name),
        resource_name=b.name,
        pattern_type=b.resource_pattern_type.name,
    )


def _type(t: Any) -> str | None:
    if t is None:
        return None
    name = getattr(t, "name", str(t))
    return None if name == "UNKNOWN" else name.lower()


def _uuid_text(text: str | None) -> str | None:
    """confluent-kafka prints a topic id in Kafka's base64 form; kafka-python as a UUID."""
    if not text:
        return None
    if len(text) == 36 and text.count("-") == 4:
        return text
    try:
        import base64
        import uuid

        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return str(uuid.UUID(bytes=raw)) if len(raw) == 16 else text
    except (ValueError, TypeError):
        return text
