"""Producing: a pipelined sender with a bounded in-flight window, or one
message at a time (`sync`), reporting the fate of every message.

kafka-python 3 has no `buffer_memory` bound, so `send()` never blocks on a
full buffer: without our own window a long input would be read into memory
as fast as it can be parsed.  The window (messages and bytes) keeps memory
flat; results are settled in input order on the calling thread, so the
callback needs no locking.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import kafka.errors as kerr
from kafka import KafkaProducer

from mqcli.core.bulk import fewer_gc_passes
from mqcli.core.delivery import Delivery, DeliveryReport, not_sent_from
from mqcli.core.errors import ConnectionFailed, DeliveryFailed, UsageError

# The engine-neutral types live in common (shared with the librdkafka engine).
from mqcli.core.kafka.common import ACKS, COMPRESSION, ProduceOptions
from mqcli.core.kafka.common import header_bytes as _header_bytes
from mqcli.core.kafka.kafka_python.client import bootstrapping, client_config, map_error
from mqcli.core.message import Message
from mqcli.core.signals import DeferredSignals

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings


def _describe(e: BaseException) -> str:
    if isinstance(e, kerr.KafkaError):
        text = str(e)
        name = type(e).__name__
        return text if text.startswith(name) or name in text else f"{name}: {text}" if text else name
    return str(e) or type(e).__name__


class Producer:
    """A KafkaProducer configured from a profile and ProduceOptions."""

    def __init__(self, settings: KafkaSettings, options: ProduceOptions, profile: str | None = None) -> None:
        if options.acks not in ACKS:
            raise UsageError(f"invalid --acks {options.acks!r} (use 0, 1 or all)")
        if options.compression not in COMPRESSION:
            raise UsageError(f"invalid --compression {options.compression!r} (use {', '.join(COMPRESSION)})")
        self.settings = settings
        self.profile = profile
        self.options = options
        cfg = client_config(settings)
        delivery_ms = max(int(options.delivery_timeout * 1000), 1000)
        linger = 0 if options.sync else max(options.linger_ms, 0)
        cfg.update(
            acks=options.acks if options.acks == "all" else int(options.acks),
            compression_type=None if options.compression == "none" else options.compression,
            linger_ms=linger,
            batch_size=options.batch_size,
            # Idempotence needs acks=all; with acks 0/1 it is off rather than an error,
            # as with the Java client's implicit default.
            enable_idempotence=options.idempotence and options.acks == "all",
            delivery_timeout_ms=delivery_ms,
            request_timeout_ms=max(min(30000, delivery_ms - linger - 1), 500),
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
        self._closed = False

    def partitions(self, topic: str) -> list[int]:
        """Partition ids of `topic`; NotFound when it does not exist."""
        from mqcli.core.kafka.kafka_python.admin import Admin

        # KafkaProducer's own metadata does not say "no such topic" apart
        # from "not known yet": the admin client's answer does.
        with Admin(self.settings, self.profile) as admin:
            return admin.partitions(topic)

    def _send(self, topic: str, msg: Message) -> Any:
        o = self.options
        headers = [(k, _header_bytes(v)) for k, v in msg.headers] + [(k, v.encode("utf-8")) for k, v in o.headers]
        partition = o.partition if o.partition is not None else msg.partition
        key = msg.key if msg.key is not None else o.key
        return self._producer.send(
            topic, value=msg.value, key=key, headers=headers, partition=partition, timestamp_ms=msg.timestamp
        )

    @fewer_gc_passes()
    def send_all(self, topic: str, messages: Iterable[Message], report: DeliveryReport) -> None:
        """Send every message; report each one's fate to `report` (in input order)."""
        window: deque[tuple[Delivery, Any]] = deque()
        window_bytes = 0
        wait = self.options.delivery_timeout + 30
        stalled = False  # the producer stopped completing sends (see settle)
        # Why what is still open is failed at once (stalled), when not the default.
        stall_reason: str | None = None
        last_line = 0  # of the last message read from the input
        from mqcli.core.oauth import kafka_oauth_check

        oauth_check = kafka_oauth_check(self.settings)  # an OAUTHBEARER token that can no longer be renewed

        def settle(item: tuple[Delivery, Any]) -> None:
            nonlocal stalled
            delivery, fut = item
            try:
                meta = fut.get(timeout=0 if stalled else wait)
            except kerr.KafkaError as e:
                if not fut.is_done:
                    # Still open well past delivery_timeout: kafka-python 3.0
                    # can stop sending for good after it expires a batch it
                    # had already sent (the idempotent producer id is reset
                    # and never initialised again).  Fail this and every
                    # outstanding message now instead of hanging.
                    stalled = True
                    delivery.error = stall_reason or f"not acknowledged within {wait:g}s (the producer stopped sending)"
                elif "AuthorizationFailed" in str(e):
                    # No ACL lets this principal write: every message would fail the same way.
                    raise _denied(e, topic, self.settings, self.profile) from None
                else:
                    delivery.error = _describe(e)
            else:
                delivery.partition = meta.partition
                delivery.offset = meta.offset
                delivery.timestamp = meta.timestamp if meta.timestamp not in (None, -1) else None
            report.settle(delivery)
            if delivery.msg.line is not None:
                report.handed_line = delivery.msg.line
            if (report.delivered + report.failed) & 255 == 0:
                report.progress()

        def take(msg: Message) -> None:
            nonlocal last_line, window_bytes, stalled, stall_reason
            if oauth_check is not None:
                try:
                    oauth_check()
                except ConnectionFailed as e:
                    # No connection can sign in again: what is open will not be sent.
                    stalled, stall_reason = True, f"not sent: {e.message}"
                    resume = f"; {not_sent_from(msg.line - 1)}" if msg.line is not None else ""
                    raise ConnectionFailed(e.message + resume, hint=e.hint) from None
            if stalled:
                where = f"from line {msg.line} on" if msg.line is not None else f"after line {last_line}"
                raise DeliveryFailed(
                    f"the Kafka producer stopped sending; input {where} was not sent",
                    hint="was the broker away for longer than the delivery timeout? (--delivery-timeout)",
                )
            if msg.line is not None:
                last_line = msg.line
            size = len(msg.value or b"") + len(msg.key or b"")
            delivery = Delivery(msg=msg, size=size)
            if msg.value is None and msg.key is None and self.options.key is None:
                delivery.error = "a null value (tombstone) needs a key"
                report.settle(delivery)
                return
            try:
                fut = self._send(topic, msg)
            except (ValueError, TypeError, AssertionError, kerr.KafkaError) as e:  # incl. KafkaTimeoutError
                delivery.error = _describe(e)
                report.settle(delivery)
                return
            window.append((delivery, fut))
            window_bytes += size
            # Report finished sends early (keeps failures near their input),
            # and block on the oldest only when the window is full (or at
            # once with --sync).
            while window and (
                self.options.sync
                or window[0][1].is_done
                or len(window) > self.options.max_in_flight
                or window_bytes > self.options.max_in_flight_bytes
            ):
                settle(window[0])
                window_bytes -= window.popleft()[0].size

        # A signal is held while a message is handed over and settled: one
        # landing between send() queueing the record and the window keeping
        # its future, or between settling and leaving the window, would send
        # a message never reported, or report one twice.  While the input is
        # read it acts at once (stdin may be idle); the finally below then
        # flushes and reports what was handed over.
        with DeferredSignals(held_only=True) as signals:
            try:
                for msg in messages:
                    signals.holding = True
                    try:
                        take(msg)
                    finally:
                        signals.holding = False
                    if signals.received is not None:
                        signals.raise_received()
            finally:
                signals.holding = True  # unless a signal already acted: then a second one stops at once
                if not stalled:
                    try:
                        self._producer.flush(timeout=wait)
                    except kerr.KafkaError:
                        pass  # each unsent message is reported by its future below
                while window:
                    settle(window.popleft())
                report.progress()
            signals.raise_received()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._producer.close(timeout=5)
            except Exception:  # closing must not hide the run's real outcome
                # kafka-python's close() flushes first and raises when that
                # times out (a stalled producer), leaving itself open; its
                # __del__ then tries again at exit and prints a traceback.
                # Stop the I/O thread and mark it closed instead.
                sender = getattr(self._producer, "_sender", None)
                try:
                    if sender is not None:
                        sender.force_close()
                except Exception:
                    pass
                self._producer._closed = True


def _denied(e: BaseException, topic: str, settings: KafkaSettings, profile: str | None) -> ConnectionFailed:
    """A send the authorizer refused, naming what the principal lacks: WRITE on
    the topic, or IDEMPOTENT_WRITE on the cluster for the idempotent producer's id
    (kafka-python reports that one inside a plain KafkaError)."""
    from mqcli.core.kafka.acls import acl_denied
    from mqcli.core.kafka.kafka_python.client import _where as where

    text = str(e)
    if "ClusterAuthorizationFailed" in text:
        line = acl_denied("ClusterAuthorizationFailedError", where(settings, profile), operation="IDEMPOTENT_WRITE")
    else:
        line = acl_denied("TopicAuthorizationFailedError", where(settings, profile), topic=topic, operation="WRITE")
    return ConnectionFailed(line)
