"""Producing with librdkafka: the same contract as producer.Producer (a
bounded window, results settled in input order on the calling thread, every
message's fate reported), on confluent-kafka's Producer.

librdkafka batches and sends on its own threads; delivery reports come back
through `poll()` on this thread, so the window needs no locking.  The
window is also librdkafka's queue bound (queue.buffering.max.messages), so
`produce()` does not fill memory faster than the broker acknowledges.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import Producer as _RdProducer

from mqcli.core.errors import UsageError
from mqcli.core.kafka.common import Delivery, ProduceOptions, header_bytes
from mqcli.core.kafka.rdkafka_client import Diagnosis, check_fatal, client_config, describe, wait_connected
from mqcli.core.message import Message

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings


_NO_EXTRAS: dict[str, Any] = {}


@dataclass
class _Pending(Delivery):
    done: bool = False


class Producer:
    """A librdkafka producer configured from a profile and ProduceOptions."""

    def __init__(self, settings: KafkaSettings, options: ProduceOptions, profile: str | None = None) -> None:
        options.check()
        self.settings = settings
        self.profile = profile
        self.options = options
        self.diagnosis = Diagnosis()
        delivery_ms = max(int(options.delivery_timeout * 1000), 1000)
        linger = 0 if options.sync else max(options.linger_ms, 0)
        cfg = client_config(settings, self.diagnosis)
        cfg.update(
            {
                "acks": options.acks,
                # Idempotence needs acks=all; with acks 0/1 it is off rather than
                # an error, as with the kafka-python engine.
                "enable.idempotence": options.idempotence and options.acks == "all",
                "compression.type": options.compression,
                "linger.ms": linger,
                "delivery.timeout.ms": delivery_ms,
                "request.timeout.ms": max(min(30000, delivery_ms - linger - 1), 500),
                # Our window is the bound; librdkafka's queue only has to hold it.
                "queue.buffering.max.messages": max(options.max_in_flight + 1000, 1000),
                "queue.buffering.max.kbytes": max(options.max_in_flight_bytes // 1024 + 1024, 4096),
                # The Java client's (and kafka-python's) partitioner: the same key
                # lands in the same partition whichever engine sent it.
                "partitioner": "murmur2_random",
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
        wait_connected(self._producer, settings, profile, self.diagnosis)

    def send_all(self, topic: str, messages: Iterable[Message], on_result: Callable[[Delivery], None]) -> None:
        """Send every message; call on_result once per message (in input order)."""
        o = self.options
        p = self._producer
        produce = p.produce
        poll = p.poll
        window: deque[_Pending] = deque()
        window_bytes = 0
        max_in_flight = max(o.max_in_flight, 1)
        max_bytes = o.max_in_flight_bytes
        extra_headers = [(k, v.encode("utf-8")) for k, v in o.headers]
        wait = o.delivery_timeout + 30
        since_poll = 0

        settle = on_result

        def wait_head(d: _Pending) -> None:
            deadline = time.monotonic() + wait
            while not d.done:
                poll(0.1)
                check_fatal(self.diagnosis, self.settings, self.profile)
                if time.monotonic() > deadline:
                    d.error = d.error or "KafkaTimeoutError: no delivery report in time"
                    d.done = True

        try:
            for msg in messages:
                value = msg.value
                key = msg.key if msg.key is not None else o.key
                size = len(value or b"") + len(msg.key or b"")
                d = _Pending(msg=msg, size=size)
                if value is None and key is None:
                    d.error = "a null value (tombstone) needs a key"
                    on_result(d)
                    continue
                partition = o.partition if o.partition is not None else msg.partition
                if partition is None and msg.timestamp is None and not msg.headers and not extra_headers:
                    kwargs = _NO_EXTRAS  # the common case: no dict to build per message
                else:
                    kwargs = {}
                    if partition is not None:
                        kwargs["partition"] = partition
                    if msg.timestamp is not None:
                        kwargs["timestamp"] = msg.timestamp
                    if msg.headers or extra_headers:
                        kwargs["headers"] = [(k, header_bytes(v)) for k, v in msg.headers] + extra_headers

                def report(err: KafkaError | None, m: Any, d: _Pending = d) -> None:
                    if err is not None:
                        d.error = describe(err)
                    else:
                        d.partition = m.partition()
                        offset = m.offset()
                        # acks=0: unknown (librdkafka says None or a negative sentinel); -1 as kafka-python
                        d.offset = offset if offset is not None and offset >= 0 else -1
                        ts_type, ts = m.timestamp()
                        d.timestamp = ts if ts_type != 0 and ts is not None and ts >= 0 else None
                    d.done = True

                while True:
                    try:
                        produce(topic, value, key, on_delivery=report, **kwargs)
                        break
                    except BufferError:
                        # librdkafka's queue is full (our window was larger than it):
                        # wait for acknowledgements to make room.
                        poll(0.05)
                    except KafkaException as e:
                        err = e.args[0] if e.args else None
                        d.error = describe(err) if isinstance(err, KafkaError) else str(e)
                        d.done = True
                        break
                    except (TypeError, ValueError) as e:
                        d.error = str(e) or type(e).__name__
                        d.done = True
                        break
                if o.sync:
                    if not d.done:
                        p.flush(wait)
                        wait_head(d)
                    settle(d)
                    continue
                if d.done and not window:
                    settle(d)  # failed at once: report it now
                    continue
                window.append(d)
                window_bytes += size
                since_poll += 1
                if since_poll >= 256:
                    # Serve delivery reports in bulk: a poll per message costs more
                    # than the sends themselves at librdkafka's rates.
                    since_poll = 0
                    poll(0)
                while window and (window[0].done or len(window) > max_in_flight or window_bytes > max_bytes):
                    head = window[0]
                    if not head.done:
                        wait_head(head)
                    # Reported before it leaves the window: a signal arriving in
                    # between must not lose the report.
                    settle(head)
                    window.popleft()
                    window_bytes -= head.size
                if self.diagnosis.fatal is not None:
                    check_fatal(self.diagnosis, self.settings, self.profile)
        finally:
            try:
                p.flush(wait)
            except KafkaException:
                pass  # each unsent message is reported below
            while window:
                head = window[0]
                if not head.done:
                    head.error = head.error or "KafkaTimeoutError: not delivered before the producer was flushed"
                settle(head)
                window.popleft()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                # Anything still queued was reported by send_all; do not wait for it.
                self._producer.flush(0)
            except Exception:  # closing must not hide the run's real outcome
                pass
