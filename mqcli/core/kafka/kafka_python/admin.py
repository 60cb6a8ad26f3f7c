"""Topic, group and cluster administration: plain dicts and lists out, so the
CLI can render them as tables or JSON."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import kafka.errors as kerr
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType, OffsetSpec
from kafka.structs import OffsetAndMetadata

from mqcli.core.errors import ConnectionFailed, MqcliError, NotFound, UsageError
from mqcli.core.kafka.acls import AclBinding, acl_sort_key
from mqcli.core.kafka.common import (
    RecordsBefore,
    ResetTarget,
    compacted_refusal,
    cut_row,
    group_refusal,
    offset_partitions,
    record_partitions,
)
from mqcli.core.kafka.kafka_python.client import admin_client, kafka_errors, map_error

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings

_UNKNOWN_TOPIC = 3
_TOPIC_DENIED = 29  # TOPIC_AUTHORIZATION_FAILED


class Admin:
    """A connected admin client bound to a profile (use as a context manager)."""

    def __init__(self, settings: KafkaSettings, profile: str | None = None) -> None:
        self.settings = settings
        self.profile = profile
        self.client: KafkaAdminClient = admin_client(settings, profile)

    def __enter__(self) -> Admin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # closing a half-broken client must not mask the real error
            pass

    def _errors(self, topic: str | None = None) -> Any:
        return kafka_errors(self.settings, self.profile, topic=topic)

    # -- topics ------------------------------------------------------------------
    def partitions(self, topic: str) -> list[int]:
        """Partition ids of `topic`; NotFound when it does not exist."""
        with self._errors(topic):
            (desc,) = self.client.describe_topics([topic])
        if desc.get("error_code") == _TOPIC_DENIED:
            # Kafka hides a topic the principal may not DESCRIBE: not "missing" but denied.
            raise map_error(kerr.for_code(_TOPIC_DENIED)(), self.settings, self.profile, topic=topic)
        if desc.get("error_code") == _UNKNOWN_TOPIC or not desc.get("partitions"):
            raise NotFound(
                f"topic {topic!r} does not exist", hint="create it with --create or `mqcli kafka topics create`"
            )
        if desc.get("error_code"):
            raise map_error(kerr.for_code(desc["error_code"])(), self.settings, self.profile, topic=topic)
        return sorted(p["partition_index"] for p in desc["partitions"])

    def exists(self, topic: str) -> bool:
        try:
            self.partitions(topic)
        except NotFound:
            return False
        return True

    def list_topics(self, include_internal: bool = False) -> list[dict[str, Any]]:
        with self._errors():
            topics = self.client.describe_topics()
        out = []
        for t in sorted(topics, key=lambda t: t["name"]):
            if t.get("is_internal") and not include_internal:
                continue
            parts = t.get("partitions") or []
            rf = max((len(p.get("replica_nodes") or []) for p in parts), default=0)
            out.append(
                {
                    "name": t["name"],
                    "partitions": len(parts),
                    "replication_factor": rf,
                    "internal": bool(t.get("is_internal")),
                }
            )
        return out

    def describe_topic(self, topic: str) -> dict[str, Any]:
        """Partitions (leader, replicas, isr, earliest/latest offsets) and non-default configs."""
        with self._errors(topic):
            (desc,) = self.client.describe_topics([topic])
        if desc.get("error_code") == _TOPIC_DENIED:
            raise map_error(kerr.for_code(_TOPIC_DENIED)(), self.settings, self.profile, topic=topic)
        if desc.get("error_code") == _UNKNOWN_TOPIC:
            raise NotFound(f"topic {topic!r} does not exist")
        parts = sorted(desc.get("partitions") or [], key=lambda p: p["partition_index"])
        tps = [TopicPartition(topic, p["partition_index"]) for p in parts]
        earliest, latest = self.offsets(tps)
        with self._errors(topic):
            configs = self.client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        conf = {k: v.get("value") for k, v in (configs.get("topic", {}).get(topic) or {}).items()}
        return {
            "name": topic,
            "topic_id": str(desc.get("topic_id")) if desc.get("topic_id") else None,
            "internal": bool(desc.get("is_internal")),
            "partitions": [
                {
                    "partition": p["partition_index"],
                    "leader": p.get("leader_id"),
                    "replicas": list(p.get("replica_nodes") or []),
                    "isr": list(p.get("isr_nodes") or []),
                    "earliest_offset": earliest.get(p["partition_index"]),
                    "latest_offset": latest.get(p["partition_index"]),
                }
                for p in parts
            ],
            "replication_factor": max((len(p.get("replica_nodes") or []) for p in parts), default=0),
            "configs": dict(sorted(conf.items())),
        }

    def offsets(self, tps: list[TopicPartition]) -> tuple[dict[int, int], dict[int, int]]:
        """(earliest, latest) offsets per partition number (single topic)."""
        if not tps:
            return {}, {}
        with self._errors(tps[0].topic):
            early = self.client.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in tps})
            late = self.client.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps})
        return {tp.partition: o.offset for tp, o in early.items()}, {tp.partition: o.offset for tp, o in late.items()}

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
        spec: dict[str, Any] = {
            "num_partitions": partitions if partitions is not None else -1,
            "replication_factor": replication_factor if replication_factor is not None else -1,
        }
        if configs:
            spec["configs"] = configs
        try:
            self.client.create_topics({topic: spec}, wait_for_metadata=True)
        except kerr.TopicAlreadyExistsError:
            if if_not_exists:
                return False
            raise MqcliError(f"topic {topic!r} already exists", hint="use --if-not-exists to accept that") from None
        except (
            kerr.InvalidTopicError,
            kerr.InvalidPartitionsError,
            kerr.InvalidReplicationFactorError,
            kerr.InvalidConfigurationError,
        ) as e:
            raise UsageError(f"cannot create topic {topic!r}: {_short(e)}") from None
        except kerr.KafkaError as e:
            raise map_error(e, self.settings, self.profile, topic=topic) from None
        return True

    def delete_topic(self, topic: str, *, if_exists: bool = False) -> bool:
        try:
            self.client.delete_topics([topic])
        except kerr.UnknownTopicOrPartitionError:
            if if_exists:
                return False
            raise NotFound(f"topic {topic!r} does not exist", hint="use --if-exists to accept that") from None
        except kerr.KafkaError as e:
            raise map_error(e, self.settings, self.profile, topic=topic) from None
        return True

    # -- cluster -------------------------------------------------------------------
    def cluster(self) -> dict[str, Any]:
        with self._errors():
            c = self.client.describe_cluster()
        return {
            "cluster_id": c.get("cluster_id"),
            "controller_id": c.get("controller_id"),
            "brokers": [
                {"id": b["broker_id"], "host": b["host"], "port": b["port"], "rack": b.get("rack")}
                for b in sorted(c.get("brokers") or [], key=lambda b: b["broker_id"])
            ],
        }

    # -- groups --------------------------------------------------------------------
    def list_groups(self) -> list[dict[str, Any]]:
        with self._errors():
            groups = self.client.list_groups()
        return sorted(
            (
                {
                    "group": g["group_id"],
                    "state": g.get("group_state"),
                    "type": g.get("group_type"),
                    "protocol_type": g.get("protocol_type"),
                }
                for g in groups
            ),
            key=lambda g: g["group"],
        )

    def committed(self, group: str) -> dict[TopicPartition, int]:
        with self._errors():
            res = self.client.list_group_offsets(group)
        return {tp: om.offset for tp, om in (res.get(group) or {}).items() if om.offset is not None and om.offset >= 0}

    def describe_group(self, group: str) -> dict[str, Any]:
        """State, members with assignments, and per partition committed/end offset and lag."""
        with self._errors():
            desc = self.client.describe_groups([group])[group]
        committed = self.committed(group)
        if desc.get("error") and not committed:
            raise NotFound(f"consumer group {group!r} does not exist")
        owner: dict[tuple[str, int], str] = {}
        members = []
        for m in desc.get("members") or []:
            assigned: list[dict[str, Any]] = []
            for a in (m.get("member_assignment") or {}).get("assigned_partitions") or []:
                assigned.append({"topic": a["topic"], "partitions": sorted(a["partitions"])})
                for p in a["partitions"]:
                    owner[(a["topic"], p)] = m["member_id"]
            members.append(
                {
                    "member_id": m["member_id"],
                    "client_id": m.get("client_id"),
                    "host": m.get("client_host"),
                    "assignment": assigned,
                }
            )
        tps = set(committed) | {TopicPartition(t, p) for t, p in owner}
        # Every partition of the group's topics, so partitions it never
        # committed on show up too (with no committed offset and no lag).
        for t in sorted({tp.topic for tp in tps}):
            try:
                tps |= {TopicPartition(t, p) for p in self.partitions(t)}
            except NotFound:
                pass
        ends: dict[TopicPartition, int] = {}
        if tps:
            with self._errors():
                try:
                    late = self.client.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps})
                except kerr.UnknownTopicOrPartitionError:
                    late = {}
            ends = {tp: o.offset for tp, o in late.items()}
        parts = []
        for tp in sorted(tps):
            c = committed.get(tp)
            e = ends.get(tp)
            parts.append(
                {
                    "topic": tp.topic,
                    "partition": tp.partition,
                    "committed_offset": c,
                    "end_offset": e,
                    "lag": (e - c) if (c is not None and e is not None) else None,
                    "member_id": owner.get((tp.topic, tp.partition)),
                }
            )
        return {
            "group": group,
            "state": desc.get("group_state"),
            "protocol": desc.get("protocol_data") or None,
            "members": members,
            "partitions": parts,
        }

    def plan_reset(self, group: str, topics: list[str], to: ResetTarget) -> list[dict[str, Any]]:
        """Per partition: current committed offset and the offset `to` resolves to."""
        committed = self.committed(group)
        keys = to.select(group, topics, [(tp.topic, tp.partition) for tp in committed], self.partitions)
        tps = [TopicPartition(t, p) for t, p in keys]
        with self._errors():
            early = self.client.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in tps})
            late = self.client.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps})
            by_time = {}
            if to.timestamp_ms is not None:
                by_time = self.client.list_partition_offsets({tp: to.timestamp_ms for tp in tps})
        plan = []
        for tp in tps:
            found = by_time.get(tp)
            new = to.resolve(
                tp.topic,
                tp.partition,
                early[tp].offset,
                late[tp].offset,
                committed=committed.get(tp),
                found=None if found is None else found.offset,
            )
            plan.append(
                {"topic": tp.topic, "partition": tp.partition, "current_offset": committed.get(tp), "new_offset": new}
            )
        to.check(group, plan)
        return plan

    def apply_reset(self, group: str, plan: list[dict[str, Any]]) -> None:
        with self._errors():
            state = self.client.describe_groups([group])[group].get("group_state")
        if state not in (None, "Empty", "Dead"):
            raise MqcliError(f"group {group!r} is {state}: stop its consumers before resetting offsets")
        # A row without a new offset (a shift where nothing was committed) stays as it is.
        offsets = {
            TopicPartition(r["topic"], r["partition"]): OffsetAndMetadata(r["new_offset"], "", -1)
            for r in plan
            if r["new_offset"] is not None
        }
        with self._errors():
            result = self.client.alter_group_offsets(group, offsets)
        bad = [f"{tp.topic}[{tp.partition}]: {err.__name__}" for tp, err in result.items() if err is not kerr.NoError]
        if bad:
            raise MqcliError(f"offset reset failed for {', '.join(bad)}")

    # -- deleting groups, group offsets and records ----------------------------------
    def delete_groups(self, groups: list[str]) -> dict[str, MqcliError | None]:
        """Delete each group (one request): None where deleted, else the refusal."""
        with self._errors():
            result = self.client.delete_groups(groups)
        out: dict[str, MqcliError | None] = {}
        for group in groups:
            name = result.get(group, "OK")
            if name == "OK":
                out[group] = None
            else:
                code = getattr(getattr(kerr, name, None), "errno", -1)
                out[group] = group_refusal(group, "delete", code, name)
        return out

    def delete_offsets(self, group: str, topic: str, partitions: list[int] | None = None) -> list[dict[str, Any]]:
        """Delete `group`'s committed offsets on `topic` (all its partitions, or
        `partitions`): per partition, the offset that was committed (None: none)."""
        committed = {tp.partition: off for tp, off in self.committed(group).items() if tp.topic == topic}
        try:
            live = self.partitions(topic)
        except NotFound:  # gone: the group's offsets on it can still be deleted
            live = []
        parts = offset_partitions(topic, partitions, committed, live)
        with self._errors(topic):
            try:
                result = self.client.delete_group_offsets(group, [TopicPartition(topic, p) for p in parts])
            except kerr.BrokerResponseError as e:
                if isinstance(e, (kerr.AuthorizationError, kerr.UnknownTopicOrPartitionError)):
                    raise
                raise group_refusal(group, "delete offsets of", e.errno or -1, type(e).__name__, topic=topic) from None
        for tp, err in sorted(result.items()):
            if err is not kerr.NoError:
                raise group_refusal(group, "delete offsets of", err.errno or -1, err.__name__, topic=tp.topic)
        return [{"topic": topic, "partition": p, "committed_offset": committed.get(p)} for p in parts]

    def plan_delete_records(
        self, topic: str, before: RecordsBefore, partitions: list[int] | None = None
    ) -> list[dict[str, Any]]:
        """Per partition of `topic`: its offsets and where `before` would cut it."""
        parts = record_partitions(topic, partitions, self.partitions(topic))
        tps = [TopicPartition(topic, p) for p in parts]
        with self._errors(topic):
            early = self.client.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in tps})
            late = self.client.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps})
            by_time = {}
            if before.kind == "time":
                by_time = self.client.list_partition_offsets({tp: before.value for tp in tps})
        rows = []
        for tp in tps:
            found = by_time.get(tp)
            lo, hi = early[tp].offset, late[tp].offset
            rows.append(cut_row(tp.topic, tp.partition, lo, hi, before, None if found is None else found.offset))
        return rows

    def delete_records(self, topic: str, before: dict[int, int]) -> dict[int, int]:
        """Delete the records of `topic` below `before[partition]`; each
        partition's new start offset (its low watermark), as the broker says."""
        if not before:
            return {}
        try:
            result = self.client.delete_records({TopicPartition(topic, p): o for p, o in before.items()})
        except kerr.KafkaError as e:
            # Several partitions failing come as one BrokerResponseError naming each error.
            if isinstance(e, kerr.PolicyViolationError) or "PolicyViolationError" in str(e):
                raise compacted_refusal(topic) from None
            raise map_error(e, self.settings, self.profile, topic=topic) from None
        return {tp.partition: int(r["low_watermark"]) for tp, r in result.items()}

    # -- SCRAM users and ACLs -------------------------------------------------------------
    def scram_users(self, users: list[str] | None = None) -> list[dict[str, Any]]:
        """Per user and mechanism its iteration count (the broker never sends secrets)."""
        with self._errors():
            result = self.client.describe_user_scram_credentials(list(users) if users else None)
        rows: list[dict[str, Any]] = []
        for user, info in sorted(result.items()):
            error = info.get("error")
            if error:
                if _not_found(error):
                    raise NotFound(f"user {user!r} has no SCRAM credentials")
                raise MqcliError(f"cannot describe SCRAM credentials of {user!r}: {error}")
            for cred in info.get("credential_infos") or []:
                mech = cred["mechanism"]
                rows.append(
                    {
                        "user": user,
                        "mechanism": _mechanism_text(mech),
                        "iterations": cred["iterations"],
                    }
                )
        return rows

    def _alter_scram(self, alterations: list[Any], user: str, what: str) -> None:
        with self._errors():
            result = self.client.alter_user_scram_credentials(alterations)
        error = result.get(user)
        if error:
            if _not_found(error):
                raise NotFound(f"user {user!r} has no such SCRAM credential")
            raise UsageError(f"cannot {what} SCRAM credential of {user!r}: {error}")

    def set_scram_password(self, user: str, mechanism: str, password: str, iterations: int) -> None:
        from kafka.admin import UserScramCredentialUpsertion

        mech = _mechanism(mechanism)
        self._alter_scram([UserScramCredentialUpsertion(user, mech, password, iterations)], user, "set the")

    def delete_scram_user(self, user: str, mechanisms: list[str]) -> list[str]:
        from kafka.admin import UserScramCredentialDeletion

        have = {r["mechanism"] for r in self.scram_users([user])}
        gone = [m for m in mechanisms if m in have]
        if not gone:
            raise NotFound(f"user {user!r} has no {' or '.join(mechanisms)} credential")
        self._alter_scram([UserScramCredentialDeletion(user, _mechanism(m)) for m in gone], user, "delete the")
        return gone

    def describe_acls(self, acl_filter: AclBinding) -> list[AclBinding]:
        with self._errors():
            acls, error = self.client.describe_acls(_acl(acl_filter, filter_=True))
        if error is not kerr.NoError and not isinstance(error, kerr.NoError):
            raise _acl_error(error)
        return sorted((_binding(a) for a in acls), key=acl_sort_key)

    def create_acls(self, acls: list[AclBinding]) -> None:
        if not acls:
            return
        with self._errors():
            result = self.client.create_acls([_acl(a, filter_=False) for a in acls])
        for _acl_obj, error in result.get("failed") or []:
            raise _acl_error(error)

    def delete_acls(self, acl_filter: AclBinding) -> list[AclBinding]:
        with self._errors():
            result = self.client.delete_acls([_acl(acl_filter, filter_=True)])
        deleted: list[AclBinding] = []
        for _flt, matches, error in result:
            if error is not kerr.NoError and not isinstance(error, kerr.NoError):
                raise _acl_error(error)
            for item in matches or []:
                acl, err = item if isinstance(item, tuple) else (item, kerr.NoError)
                if err is not kerr.NoError and not isinstance(err, kerr.NoError):
                    raise _acl_error(err)
                deleted.append(_binding(acl))
        return sorted(deleted, key=acl_sort_key)

    # -- topic configs and partitions ----------------------------------------------------
    def topic_configs(self, topics: list[str]) -> dict[str, dict[str, str]]:
        """Each topic's own overrides (source DYNAMIC_TOPIC_CONFIG), sensitive ones left out."""
        if not topics:
            return {}
        with self._errors():
            described = self.client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
        out: dict[str, dict[str, str]] = {}
        for name, entries in (described.get("topic") or {}).items():
            if name not in topics or not entries:  # a topic that does not exist has no entries at all
                if name in topics and self.exists(name):
                    out[name] = {}
                continue
            out[name] = {
                key: e["value"]
                for key, e in sorted(entries.items())
                if e.get("config_source") == "DYNAMIC_TOPIC_CONFIG"
                and not e.get("is_sensitive")
                and e.get("value") is not None
            }
        return out

    def alter_topic_config(self, topic: str, set_configs: dict[str, str], delete: list[str]) -> None:
        """Incremental: only the named configs change (IncrementalAlterConfigs)."""
        configs: dict[str, Any] = dict(set_configs)
        configs.update({name: (AlterConfigOp.DELETE, None) for name in delete})
        if not configs:
            return
        with self._errors(topic):
            result = self.client.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic, configs)], raise_on_unknown=False, incremental=True
            )
        outcome = str((result.get("topic") or {}).get(topic, "OK"))
        if outcome == "OK":
            return
        if "UnknownTopicOrPartition" in outcome:
            raise NotFound(f"topic {topic!r} does not exist")
        raise UsageError(f"cannot alter the config of topic {topic!r}: {_short_text(outcome)}")

    def add_partitions(self, topic: str, total: int) -> None:
        try:
            self.client.create_partitions({topic: total})
        except kerr.UnknownTopicOrPartitionError:
            raise NotFound(f"topic {topic!r} does not exist") from None
        except (kerr.InvalidPartitionsError, kerr.InvalidRequestError, kerr.PolicyViolationError) as e:
            raise UsageError(f"cannot add partitions to topic {topic!r}: {_short(e)}") from None
        except kerr.KafkaError as e:
            raise map_error(e, self.settings, self.profile, topic=topic) from None
        # Until the new partitions have leaders, so a producer right after sees them.
        deadline = time.monotonic() + max(self.settings.connect_timeout * 3, 15.0)
        while time.monotonic() < deadline:
            with self._errors(topic):
                (desc,) = self.client.describe_topics([topic])
            parts = desc.get("partitions") or []
            if len(parts) >= total and all(_leader(p) >= 0 for p in parts):
                return
            time.sleep(0.05)

    # -- lag (engine-neutral keys, for mqcli.core.kafka.lag) -------------------------
    def committed_offsets(self, group: str) -> dict[tuple[str, int], int]:
        """The group's committed offsets by (topic, partition)."""
        return {(tp.topic, tp.partition): offset for tp, offset in self.committed(group).items()}

    def log_offsets(self, partitions: Sequence[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, int]]:
        """(earliest, end) offset of each partition: two requests for all of them."""
        tps = [TopicPartition(t, p) for t, p in partitions]
        if not tps:
            return {}
        with self._errors():
            early = self.client.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in tps})
            late = self.client.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps})
        return {
            (tp.topic, tp.partition): (early[tp].offset, late[tp].offset) for tp in tps if tp in early and tp in late
        }


def _not_found(error: object) -> bool:
    """kafka-python gives a SCRAM refusal as the broker's message alone."""
    text = str(error)
    return "does not exist" in text or "ResourceNotFound" in text or "RESOURCE_NOT_FOUND" in text


def _mechanism(name: str) -> Any:
    from kafka.admin import ScramMechanism

    return ScramMechanism[name.replace("-", "_")]


def _mechanism_text(mech: Any) -> str:
    return str(getattr(mech, "name", mech)).replace("_", "-")


def _acl(b: AclBinding, *, filter_: bool) -> Any:
    """An engine-neutral binding as kafka-python's ACL (or ACLFilter, None meaning ANY)."""
    from kafka.admin import (
        ACL,
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePattern,
        ResourcePatternFilter,
        ResourceType,
    )

    any_ = "ANY"
    rtype = ResourceType[b.resource_type or any_]
    ptype = ACLResourcePatternType[b.pattern_type or any_]
    op = ACLOperation[b.operation or any_]
    perm = ACLPermissionType[b.permission or any_]
    if filter_:
        pattern = ResourcePatternFilter(rtype, b.resource_name, ptype)
        return ACLFilter(b.principal, b.host, op, perm, pattern)
    return ACL(b.principal, b.host or "*", op, perm, ResourcePattern(rtype, b.resource_name, ptype))


def _binding(acl: Any) -> AclBinding:
    pattern = acl.resource_pattern
    return AclBinding(
        principal=acl.principal,
        host=acl.host,
        operation=acl.operation.name,
        permission=acl.permission_type.name,
        resource_type=pattern.resource_type.name,
        resource_name=pattern.resource_name,
        pattern_type=pattern.pattern_type.name,
    )


def _acl_error(error: Any) -> MqcliError:
    """A broker's refusal of an ACL request (a class or an instance of a KafkaError)."""
    name = error.__name__ if isinstance(error, type) else type(error).__name__
    if name == "SecurityDisabledError":
        return MqcliError("the broker has no authorizer configured (authorizer.class.name): it keeps no ACLs")
    if "Authorization" in name:
        return ConnectionFailed(f"not authorized to ALTER/DESCRIBE the cluster's ACLs ({name})")
    return UsageError(f"the broker refused the ACL request: {name}: {error}")


def _leader(partition: dict[str, Any]) -> int:
    leader = partition.get("leader_id")
    return leader if isinstance(leader, int) else -1


def _short_text(text: str) -> str:
    """The broker's own words from kafka-python's "[Error N] Name: message" text."""
    _, sep, rest = text.partition(": ")
    return rest.strip() or text if sep else text


def _short(e: BaseException) -> str:
    text = str(e)
    if "error_message='" in text:
        return text.split("error_message='", 1)[1].split("'", 1)[0]
    return type(e).__name__
