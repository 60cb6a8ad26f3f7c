"""The native engine's Producer: the librdkafka engine's, with send_all's hot
loop in mqcli's compiled extension when the run is one it covers.

Covered: input read by mqcli's readers in `line` or `whole` mode (files or
stdin, any delimiter, `--key-separator`, `--skip-invalid`), a fixed `--key`,
fixed `--header`s, `--partition`, and every producer setting, without
`--sync` (each message's landing place goes to stdout: a Python callback per
message), schema encoding or `--null` (messages no longer straight from the
reader) or an OAUTHBEARER token callback.  Anything else runs the librdkafka
engine's Python loop, unchanged.

The connection check, the topic check and error mapping stay those of the
librdkafka engine (this class is its Producer); the extension opens its own
librdkafka producer with the same settings for the loop.  What the loop
reports comes back through `_Sink` into the same DeliveryReport, so failures
(named by input line), the summary, JSON and exit codes are the same.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError

from mqcli.core.delivery import DeliveryReport
from mqcli.core.errors import UsageError
from mqcli.core.kafka.librdkafka.client import check_fatal, kafka_python_name
from mqcli.core.kafka.librdkafka.producer import Producer as RdProducer
from mqcli.core.kafka.native import module, native_config
from mqcli.core.message import Message
from mqcli.core.readers import InputMode, MessageReader, missing_key_separator


class _Sink:
    """Where the extension's loop reports: the DeliveryReport, the reader's
    skip accounting and the librdkafka engine's fatal-error mapping."""

    def __init__(self, producer: Producer, report: DeliveryReport, reader: MessageReader) -> None:
        self._producer = producer
        self._report = report
        self._reader = reader

    def invalid(self, line: int) -> None:
        """Record `line` has no key separator: stop (InputError) or skip it, as the reader does."""
        options = self._reader.options
        assert options.key_separator is not None  # only split records can miss it
        error = missing_key_separator(options.key_separator, line)
        if not options.skip_invalid:
            raise error
        self._reader.stats.skipped += 1
        if options.on_skip is not None:
            options.on_skip(error)

    def failed(self, line: int | None, name: str | None, why: str) -> None:
        """One message not delivered (already counted): 'MessageSizeTooLargeError: Broker: ...'."""
        text = why if name is None else f"{kafka_python_name(name)}: {why}"
        self._report.failure(Message(value=None, line=line), text)

    def progress(self, delivered: int, failed: int, size: int, handed_line: int) -> None:
        report = self._report
        report.delivered, report.failed, report.bytes = delivered, failed, size
        if handed_line:
            report.handed_line = handed_line
        report.progress()

    def fatal(self, code: int, why: str) -> None:
        """A fatal client error: raised as the librdkafka engine raises it."""
        p = self._producer
        p.diagnosis(KafkaError(code, why, fatal=True))
        check_fatal(p.diagnosis, p.settings, p.profile)


# The native loop keeps at least librdkafka's own default queue (100,000
# messages) in flight.  The Python loops' window of 10,000 (bounded for their
# per-message objects) is about one 1 MB batch of 100-byte records: the loop
# then waited for each batch's acknowledgement before filling the next one
# (1M x 100 B, acks=1: 0.71x kcat with 10,000, 0.91x with 100,000).  The byte
# bound (max_in_flight_bytes) still holds, so memory stays flat.
NATIVE_WINDOW = 100_000


class Producer(RdProducer):
    """The librdkafka engine's Producer, with the native loop where it applies."""

    # Which loop the last send_all used, for --debug ("native", or "python: why").
    loop = "python: not run"

    def _native_args(self, messages: Iterable[Message], report: DeliveryReport) -> list[tuple[str, str]] | str:
        """The extension's settings when it covers this run (see the module doc), else why not."""
        o = self.options
        if module() is None:
            return "mqcli-native is not installed"
        if not isinstance(messages, MessageReader) or messages.started:
            return "values given as arguments"
        if report.each or o.sync:
            return "--sync"
        if messages.options.mode not in (InputMode.line, InputMode.whole):
            return f"--input {messages.options.mode.value}"
        if any("\0" in name for name, _ in o.headers):
            return "a header name with a NUL character"
        config = native_config(self.config)
        if config is None:
            return "a setting held by a Python callback (OAUTHBEARER)"
        # librdkafka's queue must hold the window (as the Python loop's: window + 1000).
        queue = str(self._window() + 1000)
        return [(k, queue if k == "queue.buffering.max.messages" else v) for k, v in config]

    def _window(self) -> int:
        return max(self.options.max_in_flight, NATIVE_WINDOW)

    def send_all(self, topic: str, messages: Iterable[Message], report: DeliveryReport) -> None:
        """Send every message; report each one's fate to `report`."""
        config = self._native_args(messages, report)
        native = module()
        if isinstance(config, str) or native is None or not isinstance(messages, MessageReader):
            self.loop = f"python: {config}" if isinstance(config, str) else "python"
            super().send_all(topic, messages, report)
            return
        self.loop = "native"
        o, reader = self.options, messages
        wait = o.delivery_timeout + 30
        try:
            report.handed_line = native.produce(
                config,
                topic,
                reader.streams,
                reader.options.delimiter,
                reader.options.key_separator,
                reader.options.mode is InputMode.whole,
                o.key,
                [(k, v.encode("utf-8")) for k, v in o.headers],
                o.partition,
                self._window(),
                o.max_in_flight_bytes,
                wait,
                f"KafkaTimeoutError: no delivery report within {wait:g}s",
                _Sink(self, report, reader),
            )
        except ValueError as e:
            # The extension refused the settings (librdkafka's own words).
            raise UsageError(f"invalid producer settings: {e}") from None
