"""The native engine's PartitionConsumer: one librdkafka consumer in mqcli's
compiled extension does the whole run of `kafka consume` (the connection
check, the partition listing, the start offsets and the loop), without
importing confluent-kafka, when the run is one it covers.

Covered: raw output (`-o raw`, or a pipe) and `--format` templates whose
placeholders are all rendered natively byte for byte (all but `{json}`), any
delimiter, every start offset but `--offset stored` (--offset beginning, end,
N, -N and --from), --partition, --count, -e, --until and --timeout, and every
consumer setting.  Not covered: --match and any decoding (--value-format,
schemas, a registry: the rules then carry a matcher), the JSON and human
views, `--offset stored` and an OAUTHBEARER token callback; those get the
PartitionConsumer of rd_consumer.py (confluent-kafka's client, the native
loop where it applies), unchanged (`open_partition_consumer` chooses; `loop`
says why, for --debug).

The extension hands back librdkafka's error codes and texts; the words and
exit codes come from the code the librdkafka engine uses too
(mqcli.core.kafka.librdkafka.common).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mqcli.core.errors import MqcliError, NotFound, UsageError
from mqcli.core.kafka.common import StartOffset
from mqcli.core.kafka.librdkafka.common import (
    CLUSTER_AUTHORIZATION_FAILED,
    TOPIC_AUTHORIZATION_FAILED,
    UNKNOWN_TOPIC_OR_PART,
    Diagnosis,
    NativeError,
    RequestFailed,
    check_denied,
    consumer_config,
    known_partitions,
    map_code,
    wait_for_metadata,
)
from mqcli.core.kafka.native import module, native_config
from mqcli.core.kafka.native.client import NativeClient, open_client
from mqcli.core.message import Message
from mqcli.core.stops import RunResult, StopRules
from mqcli.core.writers import RABBIT_FIELDS, RawWriter, TemplateWriter

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings
    from mqcli.core.kafka.contract import PartitionConsumer as PartitionConsumerContract
    from mqcli.core.writers import Writer

# Template placeholders the extension renders exactly as mqcli.core.writers.FIELDS
# does for a Kafka record.
_NATIVE_FIELDS = frozenset({"value", "key", "topic", "partition", "offset", "timestamp", "time", "size", "headers"})
# RabbitMQ's placeholders: always empty for a Kafka record.
_EMPTY_FIELDS = frozenset(RABBIT_FIELDS)
# librdkafka's codes (rdkafka.h) the loop's errors are told apart by.
_UNKNOWN = (UNKNOWN_TOPIC_OR_PART, -188, -190)  # and _UNKNOWN_TOPIC, _UNKNOWN_PARTITION
_NOT_IMPLEMENTED = -170
_DENIED_TO_ASSIGN = (TOPIC_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED)

Parts = list[tuple[str, bytes]]


def output_parts(writer: Writer | None) -> tuple[Parts, bytes] | None:
    """What the extension renders per record for `writer`: ([(kind, argument)],
    delimiter); None when it cannot render that output byte for byte."""
    if isinstance(writer, RawWriter):
        return [("value", b"")], writer.delimiter
    if not isinstance(writer, TemplateWriter):
        return None
    parts: Parts = []
    for field in writer.template.fields:
        if isinstance(field, bytes):
            parts.append(("lit", field))
        elif field.startswith("header."):
            parts.append(("header", field[len("header.") :].encode("utf-8")))
        elif field in _NATIVE_FIELDS:
            parts.append((field, b""))
        elif field in _EMPTY_FIELDS:
            parts.append(("empty", b""))
        else:  # {json}: the whole message through Python's JSON encoder
            return None
    return parts, writer.delimiter


def loop_not_covered(rules: StopRules | None, writer: Writer | None) -> str | None:
    """Why the native loop does not cover a run with `rules` and `writer` (None: it does)."""
    if module() is None:
        return "mqcli-native is not installed"
    if rules is None:
        return "stop rules not known up front"
    if rules.matcher is not None:
        return "--match or decoding"
    if output_parts(writer) is None:
        return "an output the native loop does not render ({json}, -o json or human)"
    return None


def open_partition_consumer(
    settings: KafkaSettings,
    topic: str,
    *,
    partitions: Iterable[int] | None = None,
    profile: str | None = None,
    group: str | None = None,
    start: StartOffset | None = None,
    rules: StopRules | None = None,
    writer: Writer | None = None,
) -> PartitionConsumerContract:
    """The native PartitionConsumer when it covers the whole run, else the one
    on confluent-kafka's client (its `loop` says why, for --debug)."""
    why = loop_not_covered(rules, writer)
    if why is None and start is None:
        why = "the start offset not known up front"
    elif why is None and start is not None and start.kind == "stored":
        why = "--offset stored (the group's committed offsets)"
    if why is None:
        diagnosis = Diagnosis()
        extra: dict[str, Any] = {"group.id": group} if group else {}
        config = native_config(consumer_config(settings, diagnosis, extra, python=False))
        if config is not None:
            return PartitionConsumer(settings, topic, partitions, profile, config, diagnosis)
        why = "a setting held by a Python callback (OAUTHBEARER)"
    from mqcli.core.kafka.native.rd_consumer import PartitionConsumer as RdNativePartitionConsumer

    consumer = RdNativePartitionConsumer(settings, topic, partitions=partitions, profile=profile, group=group)
    consumer.client_why = why
    return consumer


class _Sink:
    """Where the extension's loop writes and reports errors."""

    def __init__(self, write: Callable[[bytes], Any], flush: Callable[[], Any], error: Callable[..., None]) -> None:
        self.write = write
        self.flush = flush
        self.error = error


def loop_error(topic: str, code: int, text: str, fatal: bool, raise_error: Callable[[NativeError], None]) -> None:
    """A client error from the loop, as the Python loop treats it: raised when
    it ends the run (`raise_error` raises the mapped error of a denial or a
    fatal error); transient ones are left to librdkafka, which retries."""
    if code in _UNKNOWN:
        raise NotFound(f"topic {topic!r} does not exist")
    if code == _NOT_IMPLEMENTED:
        # Data the extension's librdkafka cannot decode (a codec it was built
        # without): librdkafka would fetch it again forever -- never a silent stall.
        raise MqcliError(f"the native engine cannot read {topic!r}: {text}", hint="read it with --engine librdkafka")
    if code in _DENIED_TO_ASSIGN or fatal:  # retrying does not give the principal an ACL
        raise_error(NativeError(code, None, text, fatal))


class PartitionConsumer(NativeClient):
    """A librdkafka consumer in mqcli_native reading partitions of one topic
    (no group membership, no commits); connected, or ConnectionFailed."""

    loop = "native"  # for --debug: which loop run uses

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        partitions: Iterable[int] | None,
        profile: str | None,
        config: list[tuple[str, str]],
        diagnosis: Diagnosis,
    ) -> None:
        super().__init__(settings, profile, diagnosis, open_client("consumer", config))
        self.topic = topic
        metadata = wait_for_metadata(self._fetch, self._serve, settings, profile, diagnosis)
        known = known_partitions(metadata, topic)
        if not known:
            check_denied(self._fetch_topic, topic, settings, profile)
            raise NotFound(f"topic {topic!r} does not exist")
        wanted = sorted(set(partitions)) if partitions else known
        missing = [p for p in wanted if p not in known]
        if missing:
            raise NotFound(f"partition {missing[0]} of topic {topic!r} does not exist (it has {len(known)})")
        self.parts = wanted
        self.positions: dict[int, int] = {}
        self.ends: dict[int, int] = {}
        self._timeout = max(settings.connect_timeout * 3, 10.0)

    def _fetch_topic(self, timeout: float) -> Any:
        """The topic's metadata, or None when the request failed (check_denied's `fetch`)."""
        try:
            return self._fetch(timeout, self.topic)
        except RequestFailed:
            return None

    def _raise(self, error: NativeError) -> None:
        """Raise `error` as the librdkafka engine's kafka_errors() does."""
        raise map_code(error, self.settings, self.profile, topic=self.topic, diagnosis=self.diagnosis)

    def seek(self, start: StartOffset) -> None:
        """Find each partition's start offset (and end offset, for -e)."""
        if start.kind == "stored":
            raise UsageError("--offset stored needs confluent-kafka's client here")  # open_partition_consumer avoids it
        marks, error = self._client.watermarks(self.topic, self.parts, self._timeout)
        if error is not None:
            self._raise(NativeError(*error))
        found: dict[int, int] = {}
        if start.kind == "time":
            offsets, error = self._client.offsets_for_times(self.topic, self.parts, start.value, self._timeout)
            if error is not None:
                self._raise(NativeError(*error))
            found = dict(offsets)
        reset = self.settings.consumer.auto_offset_reset
        for p, lo, hi in marks:
            self.positions[p] = start.resolve(lo, hi, found=found.get(p), committed=None, reset=reset)
            self.ends[p] = hi

    def run(
        self,
        rules: StopRules,
        handle: Callable[[Message], None],
        flush: Callable[[], None],
        *,
        writer: Writer | None = None,
    ) -> RunResult:
        """Read until a stop rule applies, writing through `writer` (raw or a template)."""
        output = output_parts(writer) if rules.matcher is None else None
        if output is None or not isinstance(writer, (RawWriter, TemplateWriter)):
            raise UsageError("the native consumer runs only the output and rules it was opened for")
        if not self.positions:
            self.seek(StartOffset("beginning"))
        parts, delimiter = output

        def error(code: int, text: str, fatal: bool) -> None:
            loop_error(self.topic, code, text, fatal, self._raise)

        reason, handled, positions = self._client.consume(
            self.topic,
            [(p, self.positions[p]) for p in self.parts],
            [(p, self.ends[p]) for p in self.parts],
            parts,
            delimiter,
            rules.count,
            rules.exit_at_end,
            rules.until_ms,
            rules.idle_timeout,
            _Sink(writer.write_data, writer.flush, error),
        )
        self.positions.update(positions)
        return RunResult(reason=reason, handled=handled)

    def close(self) -> None:
        """Disconnect (nothing is committed: a partition consumer never commits)."""
        self._client = None
