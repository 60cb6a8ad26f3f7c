"""kafka-python's steps of a transactional run (contract.TransactionalProducer);
mqcli.core.kafka.transactions puts them together."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import kafka.errors as kerr
from kafka import KafkaProducer

from mqcli.core.errors import UsageError
from mqcli.core.kafka.common import ProduceOptions, header_bytes
from mqcli.core.kafka.kafka_python.client import bootstrapping, client_config, map_error
from mqcli.core.kafka.kafka_python.producer import _describe
from mqcli.core.kafka.transactions import TransactionFailed, fenced
from mqcli.core.message import Message

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings
    from mqcli.core.kafka.contract import GroupConsumer

_FENCED = (kerr.ProducerFencedError, kerr.InvalidProducerEpochError, kerr.TransactionCoordinatorFencedError)


class TransactionalProducer:
    """A KafkaProducer with a transactional_id (acks=all and idempotence, as transactions require)."""

    def __init__(self, settings: KafkaSettings, options: ProduceOptions, profile: str | None = None) -> None:
        assert options.transactional_id, "a transactional producer needs a transactional id"
        self.settings = settings
        self.profile = profile
        self.options = options
        self.tid = options.transactional_id
        cfg = client_config(settings)
        # A record cannot wait longer than its transaction may stay open (librdkafka insists).
        tx_ms = max(int(options.transaction_timeout * 1000), 1000)
        delivery_ms = min(max(int(options.delivery_timeout * 1000), 1000), tx_ms)
        cfg.update(
            acks="all",
            compression_type=None if options.compression == "none" else options.compression,
            linger_ms=max(options.linger_ms, 0),
            batch_size=options.batch_size,
            enable_idempotence=True,
            transactional_id=self.tid,
            transaction_timeout_ms=tx_ms,
            delivery_timeout_ms=delivery_ms,
            request_timeout_ms=max(min(30000, delivery_ms - options.linger_ms - 1), 500),
            max_block_ms=delivery_ms,
            allow_auto_create_topics=False,
        )
        try:
            with bootstrapping():
                self._producer = KafkaProducer(**cfg)
        except kerr.KafkaError as e:
            raise map_error(e, settings, profile) from None
        except (ValueError, AssertionError) as e:  # kafka-python's own config checks
            raise UsageError(f"invalid producer settings: {e}") from None
        # The open transaction's sends not yet known to have succeeded.
        self._pending: deque[tuple[Message, Any]] = deque()
        self._failed: list[tuple[Message, str]] = []
        self._closed = False

    def _error(self, e: BaseException, step: str) -> BaseException:
        """A step's exception as the error to raise."""
        if isinstance(e, _FENCED) or self._fenced():
            return fenced(self.tid)
        if isinstance(e, kerr.KafkaError):
            if isinstance(e, (kerr.KafkaConnectionError, kerr.NoBrokersAvailable)):
                return map_error(e, self.settings, self.profile)
            return TransactionFailed(f"could not {step} the transaction: {_describe(e)}")
        return e

    def _fenced(self) -> bool:
        manager = getattr(self._producer, "_transaction_manager", None)
        last = getattr(manager, "_last_error", None)
        return isinstance(last, _FENCED)

    def partitions(self, topic: str) -> list[int]:
        from mqcli.core.kafka.kafka_python.admin import Admin

        with Admin(self.settings, self.profile) as admin:
            return admin.partitions(topic)

    def init(self) -> None:
        try:
            self._producer.init_transactions()
        except kerr.KafkaError as e:
            raise self._error(e, "initialise") from None

    def begin(self) -> None:
        self._pending.clear()
        self._failed.clear()
        try:
            self._producer.begin_transaction()
        except kerr.KafkaError as e:
            raise self._error(e, "begin") from None

    def send(self, topic: str, msg: Message) -> str | None:
        o = self.options
        headers = [(k, header_bytes(v)) for k, v in msg.headers] + [(k, v.encode("utf-8")) for k, v in o.headers]
        try:
            fut = self._producer.send(
                topic,
                value=msg.value,
                key=msg.key if msg.key is not None else o.key,
                headers=headers,
                partition=o.partition if o.partition is not None else msg.partition,
                timestamp_ms=msg.timestamp,
            )
        except _FENCED as e:
            raise self._error(e, "send in") from None
        except (ValueError, TypeError, AssertionError, kerr.KafkaError) as e:
            if self._fenced():
                raise self._error(e, "send in") from None
            return _describe(e)
        self._pending.append((msg, fut))
        # Settle what is done, keeping the window (and memory) bounded.
        while self._pending and (self._pending[0][1].is_done or len(self._pending) > o.max_in_flight):
            self._settle(*self._pending.popleft())
        return None

    def _settle(self, msg: Message, fut: Any) -> None:
        try:
            fut.get(timeout=self.options.delivery_timeout + 30)
        except kerr.KafkaError as e:
            if isinstance(e, _FENCED) or self._fenced():
                raise self._error(e, "send in") from None
            self._failed.append((msg, _describe(e)))

    def flush(self) -> list[tuple[Message, str]]:
        try:
            self._producer.flush(timeout=self.options.delivery_timeout + 30)
        except kerr.KafkaError:
            pass  # each unsent record is reported by its future below
        while self._pending:
            self._settle(*self._pending.popleft())
        return list(self._failed)

    def commit(self) -> None:
        try:
            self._producer.commit_transaction()
        except kerr.KafkaError as e:
            raise self._error(e, "commit") from None

    def abort(self) -> None:
        self._pending.clear()
        try:
            self._producer.abort_transaction()
        except kerr.KafkaError as e:
            raise self._error(e, "abort") from None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._producer.close(timeout=5)
            except Exception:  # closing must not hide the run's real outcome
                pass

    def send_offsets(self, offsets: dict[tuple[str, int], int], consumer: GroupConsumer) -> None:
        from kafka import OffsetAndMetadata, TopicPartition

        from mqcli.core.kafka.kafka_python.consumer import GroupConsumer as KpGroupConsumer

        if not isinstance(consumer, KpGroupConsumer):
            raise TypeError("send_offsets needs a kafka-python group consumer")
        tps = {TopicPartition(t, p): OffsetAndMetadata(off, "", -1) for (t, p), off in offsets.items()}
        try:
            # The consumer's full group metadata (generation, member id): the
            # broker then refuses offsets from a member the group moved on from (KIP-447).
            self._producer.send_offsets_to_transaction(tps, consumer.consumer.group_metadata())
        except kerr.KafkaError as e:
            raise self._error(e, "send the offsets in") from None
