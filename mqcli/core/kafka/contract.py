"""What the CLI asks of a Kafka engine: the objects engine.py's factories
return, whichever client library does the work.

Each engine (mqcli/core/kafka/kafka_python/, mqcli/core/kafka/librdkafka/)
implements these; the factories are typed with them, so mypy checks that
both engines do.  Nothing here imports a client library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mqcli.core.errors import MqcliError
    from mqcli.core.kafka.acls import AclBinding
    from mqcli.core.kafka.common import DeliveryReport, RecordsBefore, ResetTarget, StartOffset
    from mqcli.core.kafka.hooks import Deferral
    from mqcli.core.message import Message
    from mqcli.core.stops import RunResult, StopRules
    from mqcli.core.writers import Writer


class Producer(Protocol):
    def send_all(self, topic: str, messages: Iterable[Message], report: DeliveryReport) -> None:
        """Send every message to `topic`, reporting each outcome to `report`."""

    def partitions(self, topic: str) -> list[int]:
        """Partition ids of `topic`; NotFound when it does not exist."""

    def close(self) -> None:
        """Wait for what is in flight (bounded), then disconnect."""


class PartitionConsumer(Protocol):
    """Reads partitions of one topic directly (no group membership, no commits)."""

    def seek(self, start: StartOffset) -> None:
        """Position every partition at `start`."""

    def run(
        self,
        rules: StopRules,
        handle: Callable[[Message], None],
        flush: Callable[[], None],
        *,
        writer: Writer | None = None,
    ) -> RunResult:
        """Hand each (matching) message to `handle` until a stop rule applies;
        `flush` after each batch.  `writer`: the one `handle` writes to, which
        then takes whole batches when nothing needs to see single messages."""

    def close(self) -> None: ...


class GroupConsumer(Protocol):
    """A consumer-group member that commits only the offsets of handled messages."""

    def run(
        self,
        rules: StopRules,
        handle: Callable[[Message], bool],
        flush: Callable[[], None],
        *,
        writer: Writer | None = None,
        defer: Deferral[Any] | None = None,
    ) -> RunResult:
        """As PartitionConsumer.run; `handle` returning False stops the run
        (that message is not committed).  `defer`: marks are held there
        until it releases them (their messages confirmed later; see
        mqcli.core.kafka.hooks.Deferral)."""

    def mark(self, msg: Message) -> None:
        """Record that `msg` was handled: its offset may be committed."""

    def close(self, commit: bool = True, *, retry_for: float = 0.0) -> bool:
        """Commit handled work (when asked; a failing commit tried again for
        `retry_for` seconds) and leave the group.  False: the commit failed."""


class Admin(Protocol):
    """Topic, group and cluster administration; plain dicts out, rendered by the CLI."""

    def __enter__(self) -> Admin: ...

    def __exit__(self, *exc: object) -> None: ...

    def close(self) -> None: ...

    def partitions(self, topic: str) -> list[int]:
        """The partition numbers of `topic` (NotFound when it does not exist)."""

    def list_topics(self, include_internal: bool = False) -> list[dict[str, Any]]: ...

    def describe_topic(self, topic: str) -> dict[str, Any]: ...

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

    def delete_topic(self, topic: str, *, if_exists: bool = False) -> bool: ...

    def cluster(self) -> dict[str, Any]: ...

    def list_groups(self) -> list[dict[str, Any]]: ...

    def describe_group(self, group: str) -> dict[str, Any]: ...

    def plan_reset(self, group: str, topics: list[str], to: ResetTarget) -> list[dict[str, Any]]: ...

    def apply_reset(self, group: str, plan: list[dict[str, Any]]) -> None: ...

    def delete_groups(self, groups: list[str]) -> dict[str, MqcliError | None]:
        """Delete the groups (one request): per group None, or why the broker refused."""

    def delete_offsets(self, group: str, topic: str, partitions: list[int] | None = None) -> list[dict[str, Any]]:
        """Delete `group`'s committed offsets on `topic` (all partitions, or these)."""

    def plan_delete_records(
        self, topic: str, before: RecordsBefore, partitions: list[int] | None = None
    ) -> list[dict[str, Any]]:
        """Per partition: earliest/latest offsets and where `before` cuts it (nothing deleted)."""

    def delete_records(self, topic: str, before: dict[int, int]) -> dict[int, int]:
        """Delete the records below each partition's offset; the new start offsets."""

    # -- SCRAM users and ACLs (`kafka users`, `kafka acls`; mqcli.core.kafka.acls) --

    def scram_users(self, users: list[str] | None = None) -> list[dict[str, Any]]:
        """Per user and mechanism: {"user", "mechanism", "iterations"} (never a
        secret); every user when `users` is None, NotFound for a named one without any."""

    def set_scram_password(self, user: str, mechanism: str, password: str, iterations: int) -> None:
        """Create or replace `user`'s credential for `mechanism` (SCRAM-SHA-256/512)."""

    def delete_scram_user(self, user: str, mechanisms: list[str]) -> list[str]:
        """Delete `user`'s credentials for `mechanisms` (those it has, returned); NotFound when it has none."""

    def describe_acls(self, acl_filter: AclBinding) -> list[AclBinding]:
        """The ACLs matching `acl_filter` (None fields match anything)."""

    def create_acls(self, acls: list[AclBinding]) -> None:
        """Create the ACLs (already existing ones are no error)."""

    def delete_acls(self, acl_filter: AclBinding) -> list[AclBinding]:
        """Delete the ACLs matching `acl_filter`; those deleted."""

    # -- topic configs and partitions (topology as code, `kafka topics alter-config|add-partitions`) --

    def topic_configs(self, topics: list[str]) -> dict[str, dict[str, str]]:
        """Each topic's own config overrides (set on the topic, not broker-wide
        defaults), name -> value; sensitive values and topics that do not
        exist left out."""

    def alter_topic_config(self, topic: str, set_configs: dict[str, str], delete: list[str]) -> None:
        """Incrementally set `set_configs` and reset `delete` to their defaults
        (other overrides stay).  NotFound for a missing topic, UsageError for a
        config the broker refuses."""

    def add_partitions(self, topic: str, total: int) -> None:
        """Grow `topic` to `total` partitions.  NotFound for a missing topic,
        UsageError when `total` is not more than it has."""

    def committed_offsets(self, group: str) -> dict[tuple[str, int], int]:
        """The group's committed offsets by (topic, partition); empty for a group without any."""

    def log_offsets(self, partitions: Sequence[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, int]]:
        """(earliest, end) offset of each (topic, partition), in as few requests as the engine can."""


class TransactionalProducer(Protocol):
    """A producer with a transactional id: the steps of one engine that
    mqcli.core.kafka.transactions puts together into `--transactional-id` runs.

    Errors come as mqcli errors: `TransactionFailed` (fatal when the producer
    was fenced off by another one with the same id), or the usual connection
    errors; a record the broker refused is reported by `flush()`.
    """

    def partitions(self, topic: str) -> list[int]:
        """Partition ids of `topic`; NotFound when it does not exist."""

    def init(self) -> None:
        """Register the transactional id: fences off an older producer with it and
        completes (aborts) what that one left open."""

    def begin(self) -> None:
        """Open a transaction."""

    def send(self, topic: str, msg: Message) -> str | None:
        """Hand `msg` over inside the open transaction; why not, when refused at once."""

    def flush(self) -> list[tuple[Message, str]]:
        """Wait until every record of the open transaction is acknowledged or
        failed; the failed ones, with why."""

    def commit(self) -> None:
        """Commit the open transaction (every record acknowledged)."""

    def abort(self) -> None:
        """Abort the open transaction: none of it becomes visible to read_committed readers."""

    def close(self) -> None:
        """Disconnect (an open transaction is left to the broker's transaction timeout)."""

    # -- consume-transform-produce (`move --exactly-once`) -------------------------

    def send_offsets(self, offsets: dict[tuple[str, int], int], consumer: GroupConsumer) -> None:
        """Commit `consumer`'s group offsets (topic, partition) -> next offset
        inside the open transaction: they count only if it commits.
        `consumer` is this engine's group consumer (its group metadata fences
        a zombie member); TransactionFailed when the broker refuses."""
