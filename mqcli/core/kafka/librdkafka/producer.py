"""Producing with librdkafka: the same contract as producer.Producer (a
bounded window, every message's fate reported to a DeliveryReport), on
confluent-kafka's Producer.

librdkafka batches and sends on its own threads; delivery reports come back
through `poll()` on this thread, so the counts need no locking.  Per message
we do as little Python as we can (one produce call, one delivery callback
that counts): at librdkafka's rates that bookkeeping is most of the cost.
The window is also librdkafka's queue bound (queue.buffering.max.messages),
so `produce()` does not fill memory faster than the broker acknowledges.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import Producer as _RdProducer

from mqcli.core.bulk import fewer_gc_passes
from mqcli.core.delivery import Delivery, DeliveryReport, not_sent_from
from mqcli.core.errors import ConnectionFailed, UsageError
from mqcli.core.kafka.common import ProduceOptions, header_bytes
from mqcli.core.kafka.librdkafka.client import (
    Diagnosis,
    check_fatal,
    describe,
    kafka_errors,
    map_error,
    topic_partitions,
    wait_connected,
)
from mqcli.core.kafka.librdkafka.common import producer_config
from mqcli.core.message import Message

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings


_NO_EXTRAS: dict[str, Any] = {}


# Delivery report errors of messages we purged ourselves (see Producer.send_all).
_PURGED = (KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT)


def _produce_kwargs(msg: Message, partition: int | None, extra_headers: list[tuple[str, bytes]]) -> dict[str, Any]:
    """produce()'s keyword arguments for a message with a partition, timestamp or headers."""
    kwargs: dict[str, Any] = {}
    if partition is None:
        partition = msg.partition
    if partition is not None:
        kwargs["partition"] = partition
    if msg.timestamp is not None:
        kwargs["timestamp"] = msg.timestamp
    if msg.headers or extra_headers:
        headers = [(k, header_bytes(v)) for k, v in msg.headers] + extra_headers
        if any("\0" in k for k, _ in headers):
            # librdkafka takes header names as C strings: it would cut the name
            # at the NUL and send another header than the one given.
            raise ValueError(
                "a header name with a NUL character cannot be sent with the librdkafka engine (use --engine kafka-python)"
            )
        kwargs["headers"] = headers
    return kwargs


def _landed(msg: Message, size: int, m: Any) -> Delivery:
    """The Delivery of an acknowledged message from its delivery report."""
    offset = m.offset()
    ts_type, ts = m.timestamp()
    return Delivery(
        msg=msg,
        size=size,
        partition=m.partition(),
        # acks=0: unknown (librdkafka says None or a negative sentinel); -1 as kafka-python
        offset=offset if offset is not None and offset >= 0 else -1,
        timestamp=ts if ts_type != 0 and ts is not None and ts >= 0 else None,
    )


class Producer:
    """A librdkafka producer configured from a profile and ProduceOptions."""

    # Which loop send_all runs, for --debug (the native engine says why it chose this one).
    loop = "python"

    def __init__(self, settings: KafkaSettings, options: ProduceOptions, profile: str | None = None) -> None:
        options.check()
        self.settings = settings
        self.profile = profile
        self.options = options
        self.diagnosis = Diagnosis()
        cfg = producer_config(settings, options, self.diagnosis)
        self._idempotent = bool(cfg["enable.idempotence"])
        self.config = cfg  # the native engine's loop (mqcli.core.kafka.native) produces with the same settings
        try:
            self._producer = _RdProducer(cfg)
        except KafkaException as e:
            raise UsageError(f"invalid producer settings: {e.args[0].str() if e.args else e}") from None
        self._closed = False
        # The connection check fetches all topics' metadata: kept, so that
        # partitions() needs no second request (nor an admin client).
        self._metadata = wait_connected(self._producer, settings, profile, self.diagnosis)

    def partitions(self, topic: str) -> list[int]:
        """Partition ids of `topic`; NotFound when it does not exist."""
        md = self._metadata
        if topic not in md.topics or self._idempotent:
            # Not in the connect-time answer (created since?): ask for it.
            # Idempotent: ask anyway.  The connect-time request went to the
            # bootstrap address; this one waits for the connection to the
            # broker it named, and a connection made that way lets librdkafka
            # fetch the producer id at once.  Otherwise it often found no
            # broker up and retried only on its fixed 500 ms timer: a first
            # message 0.5 s late, in a one-message run half of the run.
            with kafka_errors(self.settings, self.profile, topic=topic, diagnosis=self.diagnosis):
                md = self._producer.list_topics(topic, timeout=max(self.settings.connect_timeout * 3, 15.0))
        # A fatal error (an idempotent producer id the ACLs refuse) leaves the
        # metadata empty: say that, not that the topic is missing.
        check_fatal(self.diagnosis, self.settings, self.profile)
        return topic_partitions(md, topic, self.settings, self.profile)

    @fewer_gc_passes()
    def send_all(self, topic: str, messages: Iterable[Message], report: DeliveryReport) -> None:
        """Send every message; report each one's fate to `report`."""
        o = self.options
        p = self._producer
        produce = p.produce
        diagnosis, settings, profile = self.diagnosis, self.settings, self.profile

        def poll(timeout: float) -> None:
            try:
                p.poll(timeout)
            except KafkaException as e:  # a fatal error (e.g. a producer id the ACLs refuse)
                raise map_error(e, settings, profile, topic=topic, diagnosis=diagnosis) from None

        default_key = o.key
        extra_headers = [(k, v.encode("utf-8")) for k, v in o.headers]
        max_in_flight = max(o.max_in_flight, 1)
        max_bytes = o.max_in_flight_bytes
        wait = o.delivery_timeout + 30
        each = report.each
        # Running totals, kept in locals because the delivery callback runs
        # once per message: handed to librdkafka, and reported back by it
        # (delivered or failed).  report's counts are brought up to date in bulk.
        handed = handed_bytes = settled = settled_bytes = failed = failed_bytes = 0
        refused = 0  # failed before librdkafka took them
        purged_because: str | None = None  # why we purged what was still queued

        def on_delivery(msg: Message, size: int, err: KafkaError | None, m: Any) -> None:
            # Runs inside poll()/flush() on this thread: no locking needed.
            nonlocal settled, settled_bytes, failed, failed_bytes
            settled += 1
            settled_bytes += size
            if err is None:
                if each:
                    sync_counts()
                    report.landed(_landed(msg, size, m))
                return
            failed += 1
            failed_bytes += size
            why = describe(err)
            if purged_because is not None and err.code() in _PURGED:
                why = purged_because
            sync_counts()
            report.failure(msg, why)

        from mqcli.core.oauth import kafka_oauth_check

        oauth_check = kafka_oauth_check(settings)  # an OAUTHBEARER token that can no longer be renewed

        def check_oauth(first_unsent: Message | None = None) -> None:
            """End the run when the token expired and no new one can be had: no
            connection can sign in again, so what is outstanding is taken back now
            (each reported), and the error says where the input stopped."""
            if oauth_check is not None:
                try:
                    oauth_check()
                except ConnectionFailed as e:
                    if handed > settled:
                        abandon(f"not sent: {e.message}")
                    line = first_unsent.line if first_unsent is not None else None
                    resume = f"; {not_sent_from(line - 1)}" if line is not None else ""
                    raise ConnectionFailed(e.message + resume, hint=e.hint) from None

        def sync_counts() -> None:
            report.delivered = settled - failed
            report.bytes = settled_bytes - failed_bytes
            report.failed = failed + refused

        def drain(timeout: float) -> None:
            # flush() serves delivery reports as poll() does, and makes librdkafka
            # send what it holds at once instead of after linger.ms: a caller
            # that waits for every report (a move's batch, the end of input)
            # would otherwise wait out the linger each time.
            try:
                p.flush(timeout)
            except KafkaException as e:
                raise map_error(e, settings, profile, topic=topic, diagnosis=diagnosis) from None

        def wait_below(max_messages: int, max_size: int) -> None:
            """Serve delivery reports until the window is small enough; purge
            what is outstanding if no report comes for `wait` seconds."""
            seen = settled
            deadline = time.monotonic() + wait
            serve = drain if max_messages == 0 else poll
            while handed - settled > max_messages or handed_bytes - settled_bytes > max_size:
                serve(0.1)
                if self.diagnosis.fatal is not None:
                    check_fatal(self.diagnosis, self.settings, self.profile)
                check_oauth()
                if settled > seen:
                    seen, deadline = settled, time.monotonic() + wait
                elif time.monotonic() > deadline:
                    abandon(f"KafkaTimeoutError: no delivery report within {wait:g}s")

        def abandon(why: str) -> None:
            """Take back everything still outstanding: each comes back as a
            failed delivery report."""
            nonlocal purged_because, settled, failed
            purged_because = why
            p.purge()
            deadline = time.monotonic() + 5
            while handed > settled and time.monotonic() < deadline:
                poll(0.1)
            if handed > settled:  # librdkafka promises a report for every message: not expected
                lost = handed - settled
                settled += lost
                failed += lost
                sync_counts()
                report.failure(Message(value=None), f"{lost} message(s) got no delivery report")

        def failed_at_once(msg: Message, size: int, why: str) -> None:
            nonlocal refused
            refused += 1
            sync_counts()
            report.failure(msg, why)

        # Per-message options that need a dict of keyword arguments for produce().
        plain = o.partition is None and not extra_headers
        # The last message handed over or failed at once.  Set only once that
        # happened: a signal between reading a message and handing it over
        # must leave the resume line on it (sent again), never past it (lost).
        last: Message | None = None
        try:
            for msg in messages:
                check_oauth(msg)
                value = msg.value
                key = msg.key if msg.key is not None else default_key
                size = (len(value) if value is not None else 0) + (len(key) if key is not None else 0)
                if value is None and key is None:
                    failed_at_once(msg, size, "a null value (tombstone) needs a key")
                    last = msg
                    continue
                while True:
                    try:
                        if plain and msg.partition is None and msg.timestamp is None and not msg.headers:
                            kwargs = _NO_EXTRAS  # the common case: no dict to build per message
                        else:
                            kwargs = _produce_kwargs(msg, o.partition, extra_headers)
                        produce(topic, value, key, on_delivery=partial(on_delivery, msg, size), **kwargs)
                    except BufferError:
                        # librdkafka's queue is full (its bound is near ours): wait for room.
                        poll(0.05)
                        continue
                    except KafkaException as e:
                        err = e.args[0] if e.args else None
                        failed_at_once(msg, size, describe(err) if isinstance(err, KafkaError) else str(e))
                    except (TypeError, ValueError) as e:
                        failed_at_once(msg, size, str(e) or type(e).__name__)
                    else:
                        handed += 1
                        handed_bytes += size
                    break
                last = msg
                if o.sync:
                    p.flush(wait)
                    if handed > settled:
                        abandon(f"KafkaTimeoutError: no delivery report within {wait:g}s")
                elif handed & 255 == 0:
                    # Serve delivery reports in bulk: a poll per message costs
                    # more than the sends themselves at librdkafka's rates.
                    poll(0)
                    sync_counts()
                    report.progress()
                    if handed - settled > max_in_flight or handed_bytes - settled_bytes > max_bytes:
                        wait_below(max_in_flight, max_bytes)
        finally:
            # Every message handed over gets its report before we return: on
            # success, on an error and on Ctrl-C (a second Ctrl-C purges).
            try:
                if handed > settled:
                    wait_below(0, 0)
            finally:
                if handed > settled:
                    abandon("not delivered before mqcli stopped")
                if last is not None and last.line is not None:
                    report.handed_line = last.line
                sync_counts()
                report.progress()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                # Anything still queued was reported by send_all; do not wait for it.
                self._producer.flush(0)
            except Exception:  # closing must not hide the run's real outcome
                pass
