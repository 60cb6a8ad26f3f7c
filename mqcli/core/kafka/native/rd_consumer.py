"""The native engine's PartitionConsumer on confluent-kafka's client, for the
runs consumer.py's does not cover whole (--match or decoding, -o json or
human, `--offset stored`, an OAUTHBEARER token callback): the librdkafka
engine's PartitionConsumer, with the consume loop in mqcli's compiled
extension when the loop covers the run (raw and --format output, no --match:
see consumer.py).

The connection check, the topic check, the start offsets (seek) and the
error words stay those of the librdkafka engine (this class is its
PartitionConsumer); the extension then reads with its own librdkafka
consumer, with the same settings, from the offsets seek found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from confluent_kafka import KafkaError, KafkaException

from mqcli.core.kafka.common import StartOffset
from mqcli.core.kafka.librdkafka.common import NativeError, consumer_config
from mqcli.core.kafka.librdkafka.consumer import PartitionConsumer as RdPartitionConsumer
from mqcli.core.kafka.native import module, native_config
from mqcli.core.kafka.native.consumer import Parts, loop_error, loop_not_covered, output_parts
from mqcli.core.message import Message
from mqcli.core.stops import RunResult, StopRules
from mqcli.core.writers import RawWriter, TemplateWriter

if TYPE_CHECKING:
    from mqcli.core.writers import Writer


class _Sink:
    """Where the extension's loop writes and reports errors."""

    def __init__(self, consumer: PartitionConsumer, writer: RawWriter | TemplateWriter) -> None:
        self.write = writer.write_data
        self.flush = writer.flush
        self._consumer = consumer

    def error(self, code: int, text: str, fatal: bool) -> None:
        """A client error, as the Python loop treats it: raised when it ends the run."""
        loop_error(self._consumer.topic, code, text, fatal, self._raise)

    def _raise(self, error: NativeError) -> None:
        with self._consumer._errors():
            raise KafkaException(KafkaError(error.code(), error.str(), fatal=error.fatal()))


class PartitionConsumer(RdPartitionConsumer):
    """The librdkafka engine's PartitionConsumer, with the native loop where it applies."""

    # Which loop the last run used, for --debug ("native", or "python: why").
    loop = "python: not run"
    # Why consumer.py's PartitionConsumer (no confluent-kafka) did not take the run.
    client_why = "not asked"

    def _native_args(self, rules: StopRules, writer: Writer | None) -> tuple[list[tuple[str, str]], Parts, bytes] | str:
        """The extension's settings and output when it covers this run (see
        the module doc), else why not."""
        why = loop_not_covered(rules, writer)
        if why is not None:
            return why
        output = output_parts(writer)
        assert output is not None  # loop_not_covered checked
        config = native_config(consumer_config(self.settings, self.diagnosis, self.extra, python=False))
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
        self.loop = f"native, on confluent-kafka's client: {self.client_why}"
        config, parts, delimiter = args
        if not self.positions:
            self.seek(StartOffset("beginning"))
        # This consumer found the start offsets; it must not fetch beside the extension's.
        with self._errors():
            self.consumer.unassign()
        reason, handled, positions = native.NativeConsumer(config).consume(
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
