"""The native engine's PartitionConsumer: the librdkafka engine's, with the
consume loop in mqcli's compiled extension when the run is one it covers.

Covered: raw output (`-o raw`, or a pipe) and `--format` templates whose
placeholders are all rendered natively byte for byte (all but `{json}`), any delimiter, every start offset, --count, -e, --until and
--timeout, and every consumer setting.  Not covered (the librdkafka engine's
Python loop runs, unchanged): --match and any decoding (--value-format,
schemas, a registry: the rules then carry a matcher), the JSON and human
views, and an OAUTHBEARER token callback.

The connection check, the topic check, the start offsets (seek) and the
error words stay those of the librdkafka engine (this class is its
PartitionConsumer); the extension then reads with its own librdkafka
consumer, with the same settings, from the offsets seek found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from confluent_kafka import KafkaError, KafkaException

from mqcli.core.errors import MqcliError, NotFound
from mqcli.core.kafka.common import StartOffset
from mqcli.core.kafka.librdkafka.consumer import _DENIED_TO_ASSIGN, _UNKNOWN, consumer_config
from mqcli.core.kafka.librdkafka.consumer import PartitionConsumer as RdPartitionConsumer
from mqcli.core.kafka.native import module, native_config
from mqcli.core.message import Message
from mqcli.core.stops import RunResult, StopRules
from mqcli.core.writers import RABBIT_FIELDS, RawWriter, TemplateWriter

if TYPE_CHECKING:
    from mqcli.core.writers import Writer

# Template placeholders the extension renders exactly as mqcli.core.writers.FIELDS
# does for a Kafka record.
_NATIVE_FIELDS = frozenset({"value", "key", "topic", "partition", "offset", "timestamp", "time", "size", "headers"})
# RabbitMQ's placeholders: always empty for a Kafka record.
_EMPTY_FIELDS = frozenset(RABBIT_FIELDS)

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


class _Sink:
    """Where the extension's loop writes and reports errors."""

    def __init__(self, consumer: PartitionConsumer, writer: RawWriter | TemplateWriter) -> None:
        self.write = writer.write_data
        self.flush = writer.flush
        self._consumer = consumer

    def error(self, code: int, text: str, fatal: bool) -> None:
        """A client error, as the Python loop treats it: raised when it ends the run."""
        c = self._consumer
        if code in _UNKNOWN:
            raise NotFound(f"topic {c.topic!r} does not exist")
        if code == KafkaError._NOT_IMPLEMENTED:
            # Data the extension's librdkafka cannot decode (a codec it was built
            # without): librdkafka would fetch it again forever -- never a silent stall.
            raise MqcliError(
                f"the native engine cannot read {c.topic!r}: {text}", hint="read it with --engine librdkafka"
            )
        err = KafkaError(code, text, fatal=fatal)
        if code in _DENIED_TO_ASSIGN:  # retrying does not give the principal an ACL
            with c._errors():
                raise KafkaException(err)
        if fatal:
            raise KafkaException(err)
        # Anything else is transient: librdkafka retries by itself.


class PartitionConsumer(RdPartitionConsumer):
    """The librdkafka engine's PartitionConsumer, with the native loop where it applies."""

    # Which loop the last run used, for --debug ("native", or "python: why").
    loop = "python: not run"

    def _native_args(self, rules: StopRules, writer: Writer | None) -> tuple[list[tuple[str, str]], Parts, bytes] | str:
        """The extension's settings and output when it covers this run (see
        the module doc), else why not."""
        if module() is None:
            return "mqcli-native is not installed"
        if rules.matcher is not None:
            return "--match or decoding"
        output = output_parts(writer)
        if output is None:
            return "an output the native loop does not render ({json}, -o json or human)"
        config = native_config(consumer_config(self.settings, self.diagnosis, self.extra))
        if config is None:
            return "a setting held by a Python callback (OAUTHBEARER)"
        return config, *output

    def run(
        self,
        rules: StopRules,
        handle: Callable[[Message], None],
        flush: Callable[[], None],
        *,
        writer: Writer | None = None,
    ) -> RunResult:
        """As the librdkafka engine's run; the native loop when it covers `rules` and `writer`."""
        args = self._native_args(rules, writer)
        native = module()
        if isinstance(args, str) or native is None or not isinstance(writer, (RawWriter, TemplateWriter)):
            self.loop = f"python: {args}"
            return super().run(rules, handle, flush, writer=writer)
        self.loop = "native"
        config, parts, delimiter = args
        if not self.positions:
            self.seek(StartOffset("beginning"))
        # This consumer found the start offsets; it must not fetch beside the extension's.
        with self._errors():
            self.consumer.unassign()
        reason, handled, positions = native.consume(
            config,
            self.topic,
            [(p, self.positions[(self.topic, p)]) for p in self.parts],
            [(p, self.ends[(self.topic, p)]) for p in self.parts],
            parts,
            delimiter,
            rules.count,
            rules.exit_at_end,
            rules.until_ms,
            rules.idle_timeout,
            _Sink(self, writer),
        )
        for p, offset in positions:
            self.positions[(self.topic, p)] = offset
        return RunResult(reason=reason, handled=handled)
