"""librdkafka's steps of a transactional run (contract.TransactionalProducer);
mqcli.core.kafka.transactions puts them together.

Delivery reports come back through poll() on this thread (no locking); a
transaction's failed records are collected until `flush()` hands them over.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import Producer as _RdProducer

from mqcli.core.errors import UsageError
from mqcli.core.kafka.common import ProduceOptions
from mqcli.core.kafka.librdkafka.client import (
    Diagnosis,
    client_config,
    describe,
    kafka_errors,
    map_error,
    topic_partitions,
    wait_connected,
)
from mqcli.core.kafka.librdkafka.producer import _produce_kwargs
from mqcli.core.kafka.transactions import TransactionFailed, fenced
from mqcli.core.message import Message

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings
    from mqcli.core.kafka.contract import GroupConsumer

_FENCED = (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH)
_CONNECTION = (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN)


class TransactionalProducer:
    """A librdkafka producer with transactional.id (acks=all and idempotence, as transactions require)."""

    def __init__(self, settings: KafkaSettings, options: ProduceOptions, profile: str | None = None) -> None:
        assert options.transactional_id, "a transactional producer needs a transactional id"
        self.settings = settings
        self.profile = profile
        self.options = options
        self.tid = options.transactional_id
        self.diagnosis = Diagnosis()
        # A record cannot wait longer than its transaction may stay open (librdkafka insists).
        tx_ms = max(int(options.transaction_timeout * 1000), 1000)
        delivery_ms = min(max(int(options.delivery_timeout * 1000), 1000), tx_ms)
        self._wait = options.delivery_timeout + 30
        cfg = client_config(settings, self.diagnosis)
        cfg.update(
            {
                "acks": "all",
                "enable.idempotence": True,
                "transactional.id": self.tid,
                "transaction.timeout.ms": tx_ms,
                "compression.type": options.compression,
                "linger.ms": max(options.linger_ms, 0),
                "delivery.timeout.ms": delivery_ms,
                "queue.buffering.max.messages": max(options.max_in_flight + 1000, 1000),
                "queue.buffering.max.kbytes": max(options.max_in_flight_bytes // 1024 + 1024, 4096),
                "partitioner": "murmur2_random",  # as the non-transactional producer (and Java's)
                "allow.auto.create.topics": False,
            }
        )
        if options.batch_size is not None:
            cfg["batch.size"] = max(options.batch_size, 1)
        try:
            self._producer = _RdProducer(cfg)
        except KafkaException as e:
            raise UsageError(f"invalid producer settings: {e.args[0].str() if e.args else e}") from None
        self._closed = False
        self._metadata = wait_connected(self._producer, settings, profile, self.diagnosis)
        self._handed = 0
        self._settled = 0
        self._failed: list[tuple[Message, str]] = []
        self._extra_headers = [(k, v.encode("utf-8")) for k, v in options.headers]

    def _error(self, e: KafkaException, step: str) -> BaseException:
        err = e.args[0] if e.args and isinstance(e.args[0], KafkaError) else None
        if err is None:
            return TransactionFailed(f"could not {step} the transaction: {e}")
        if err.code() in _FENCED or (self.diagnosis.fatal is not None and self.diagnosis.fatal.code() in _FENCED):
            return fenced(self.tid)
        if err.code() in _CONNECTION:
            return map_error(e, self.settings, self.profile, diagnosis=self.diagnosis)
        return TransactionFailed(f"could not {step} the transaction: {describe(err)}", fatal=err.fatal())

    def partitions(self, topic: str) -> list[int]:
        md = self._metadata
        if topic not in md.topics:
            with kafka_errors(self.settings, self.profile, topic=topic, diagnosis=self.diagnosis):
                md = self._producer.list_topics(topic, timeout=max(self.settings.connect_timeout * 3, 15.0))
        return topic_partitions(md, topic, self.settings, self.profile)

    def init(self) -> None:
        try:
            self._producer.init_transactions(self._wait)
        except KafkaException as e:
            raise self._error(e, "initialise") from None

    def begin(self) -> None:
        self._failed.clear()
        try:
            self._producer.begin_transaction()
        except KafkaException as e:
            raise self._error(e, "begin") from None

    def _poll(self, timeout: float, *, send_now: bool = False) -> None:
        """Serve delivery reports; a fatal error (fenced) raised as ours.
        `send_now`: through flush(), which also makes librdkafka send what it
        holds at once instead of after linger.ms (the caller waits for all)."""
        try:
            if send_now:
                self._producer.flush(timeout)
            else:
                self._producer.poll(timeout)
        except KafkaException as e:
            raise self._error(e, "send in") from None
        fatal = self.diagnosis.fatal
        if fatal is not None:
            raise self._error(KafkaException(fatal), "send in")

    def _on_delivery(self, msg: Message, err: KafkaError | None, _m: Any) -> None:
        self._settled += 1
        if err is not None:
            self._failed.append((msg, describe(err)))

    def send(self, topic: str, msg: Message) -> str | None:
        o = self.options
        key = msg.key if msg.key is not None else o.key
        while True:
            try:
                kwargs = _produce_kwargs(msg, o.partition, self._extra_headers)
                self._producer.produce(topic, msg.value, key, on_delivery=partial(self._on_delivery, msg), **kwargs)
            except BufferError:
                self._poll(0.05)  # the queue is full: wait for room
                continue
            except KafkaException as e:
                err = e.args[0] if e.args else None
                if isinstance(err, KafkaError) and (err.fatal() or err.code() in _FENCED):
                    raise self._error(e, "send in") from None
                return describe(err) if isinstance(err, KafkaError) else str(e)
            except (TypeError, ValueError) as e:
                return str(e) or type(e).__name__
            break
        self._handed += 1
        if self._handed & 255 == 0:
            self._poll(0)
        return None

    def flush(self) -> list[tuple[Message, str]]:
        deadline = time.monotonic() + self._wait
        while self._settled < self._handed and time.monotonic() < deadline:
            self._poll(0.1, send_now=True)
        if self._settled < self._handed:
            raise TransactionFailed(f"no delivery report within {self._wait:g}s")
        return list(self._failed)

    def commit(self) -> None:
        try:
            self._producer.commit_transaction(self._wait)
        except KafkaException as e:
            raise self._error(e, "commit") from None

    def abort(self) -> None:
        try:
            # Purges what is still queued; their delivery reports say so (not counted again).
            self._producer.abort_transaction(self._wait)
        except KafkaException as e:
            raise self._error(e, "abort") from None
        self._producer.poll(0)
        self._handed = self._settled

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._producer.flush(0)
            except Exception:  # closing must not hide the run's real outcome
                pass

    def send_offsets(self, offsets: dict[tuple[str, int], int], consumer: GroupConsumer) -> None:
        from confluent_kafka import TopicPartition

        from mqcli.core.kafka.librdkafka.consumer import GroupConsumer as RdGroupConsumer

        if not isinstance(consumer, RdGroupConsumer):
            raise TypeError("send_offsets needs a librdkafka group consumer")
        positions = [TopicPartition(t, p, off) for (t, p), off in offsets.items()]
        try:
            # The consumer's group metadata (generation, member id): the broker
            # then refuses offsets from a member the group moved on from (KIP-447).
            self._producer.send_offsets_to_transaction(
                positions, consumer.consumer.consumer_group_metadata(), self._wait
            )
        except KafkaException as e:
            raise self._error(e, "send the offsets in") from None
