"""The native engine's Producer: one librdkafka producer in mqcli's compiled
extension does the whole run (connection check, topic check, send_all's
loop), without importing confluent-kafka, when the run is one it covers.

Covered: values given as arguments, and input read by mqcli's readers in
`line` or `whole` mode (files or stdin, any delimiter, `--key-separator`,
`--skip-invalid`), a fixed `--key`, fixed `--header`s, `--partition`, and
every producer setting, without `--sync` (each message's landing place goes
to stdout: a Python callback per message), schema encoding or `--null`
(messages no longer straight from the reader) or an OAUTHBEARER token
callback.  Anything else gets the librdkafka engine's Producer, unchanged
(`open_producer` chooses; `loop` says why for --debug).

The extension hands back librdkafka's error codes and texts; the words and
exit codes come from the code the librdkafka engine uses too
(mqcli.core.kafka.librdkafka.common).  What the loop reports comes back
through `_Sink` into the same DeliveryReport, so failures (named by input
line), the summary, JSON and exit codes are the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mqcli.core.delivery import DeliveryReport
from mqcli.core.errors import UsageError
from mqcli.core.kafka.librdkafka.common import (
    Diagnosis,
    NativeError,
    RequestFailed,
    check_fatal,
    kafka_python_name,
    map_code,
    producer_config,
    topic_partitions,
    wait_for_metadata,
)
from mqcli.core.kafka.native import module, native_config
from mqcli.core.kafka.native.client import NativeClient, open_client
from mqcli.core.message import Message
from mqcli.core.readers import InputMode, MessageReader, ValueMessages, missing_key_separator

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings
    from mqcli.core.kafka.common import ProduceOptions
    from mqcli.core.kafka.contract import Producer as ProducerContract


class _Sink:
    """Where the extension's loop reports: the DeliveryReport, the reader's
    skip accounting and the fatal-error mapping."""

    def __init__(self, producer: Producer, report: DeliveryReport, messages: MessageReader | ValueMessages) -> None:
        self._producer = producer
        self._report = report
        self._messages = messages

    def invalid(self, line: int) -> None:
        """Record `line` has no key separator: stop (InputError) or skip it, as the reader does."""
        messages = self._messages
        if isinstance(messages, ValueMessages):  # arguments: always an error, as messages_from_values says
            assert messages.key_separator is not None
            raise missing_key_separator(messages.key_separator, line)
        options = messages.options
        assert options.key_separator is not None  # only split records can miss it
        error = missing_key_separator(options.key_separator, line)
        if not options.skip_invalid:
            raise error
        messages.stats.skipped += 1
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

    def fatal(self, code: int, name: str | None, why: str) -> None:
        """A fatal client error: raised as the librdkafka engine raises it."""
        p = self._producer
        p.diagnosis(NativeError(code, name, why, fatal=True))
        check_fatal(p.diagnosis, p.settings, p.profile)


# The native loop keeps at least librdkafka's own default queue (100,000
# messages) in flight.  The Python loops' window of 10,000 (bounded for their
# per-message objects) is about one 1 MB batch of 100-byte records: the loop
# then waited for each batch's acknowledgement before filling the next one
# (1M x 100 B, acks=1: 0.71x kcat with 10,000, 0.91x with 100,000).  The byte
# bound (max_in_flight_bytes) still holds, so memory stays flat.
NATIVE_WINDOW = 100_000


def _window(options: ProduceOptions) -> int:
    return max(options.max_in_flight, NATIVE_WINDOW)


def _not_covered(options: ProduceOptions, messages: Iterable[Message] | None) -> str | None:
    """Why the native producer does not cover this run (None: it does)."""
    if module() is None:
        return "mqcli-native is not installed"
    if messages is None:
        return "input not known up front"
    if not isinstance(messages, (MessageReader, ValueMessages)) or messages.started:
        return "messages not straight from the input (--null or a schema)"
    if options.sync:
        return "--sync"
    if isinstance(messages, MessageReader) and messages.options.mode not in (InputMode.line, InputMode.whole):
        return f"--input {messages.options.mode.value}"
    if any("\0" in name for name, _ in options.headers):
        return "a header name with a NUL character"
    return None


def open_producer(
    settings: KafkaSettings,
    options: ProduceOptions,
    profile: str | None = None,
    messages: Iterable[Message] | None = None,
) -> ProducerContract:
    """The native Producer when it covers sending `messages`, else the
    librdkafka engine's (its `loop` says why, for --debug)."""
    why = _not_covered(options, messages)
    if why is None:
        options.check()
        diagnosis = Diagnosis()
        config = native_config(producer_config(settings, options, diagnosis, python=False))
        if config is not None:
            return Producer(settings, options, profile, config, diagnosis)
        why = "a setting held by a Python callback (OAUTHBEARER)"
    from mqcli.core.kafka.librdkafka.producer import Producer as RdProducer

    producer = RdProducer(settings, options, profile)
    producer.loop = f"python: {why}"
    return producer


class Producer(NativeClient):
    """A librdkafka producer in mqcli_native, connected (or ConnectionFailed)."""

    loop = "native"  # for --debug: which loop send_all runs

    def __init__(
        self,
        settings: KafkaSettings,
        options: ProduceOptions,
        profile: str | None,
        config: list[tuple[str, str]],
        diagnosis: Diagnosis,
    ) -> None:
        self.options = options
        self._idempotent = options.idempotence and options.acks == "all"
        # librdkafka's queue must hold the window (as the Python loop's: window + 1000).
        queue = str(_window(options) + 1000)
        config = [(k, queue if k == "queue.buffering.max.messages" else v) for k, v in config]
        super().__init__(settings, profile, diagnosis, open_client("producer", config))
        self._metadata = wait_for_metadata(self._fetch, self._serve, settings, profile, diagnosis)

    def partitions(self, topic: str) -> list[int]:
        """Partition ids of `topic`; NotFound when it does not exist."""
        md = self._metadata
        if topic not in md.topics or self._idempotent:
            # As the librdkafka engine's Producer.partitions: the request waits
            # for the connection to the broker the metadata named, and an
            # idempotent producer then gets its producer id at once (not on
            # librdkafka's 500 ms retry timer).
            try:
                md = self._fetch(max(self.settings.connect_timeout * 3, 15.0), topic)
            except RequestFailed as e:
                raise map_code(e.error, self.settings, self.profile, topic=topic, diagnosis=self.diagnosis) from None
        # A fatal error (an idempotent producer id the ACLs refuse) leaves the
        # metadata empty: say that, not that the topic is missing.
        self._serve()
        return topic_partitions(md, topic, self.settings, self.profile)

    def send_all(self, topic: str, messages: Iterable[Message], report: DeliveryReport) -> None:
        """Send every message; report each one's fate to `report`."""
        o = self.options
        if not isinstance(messages, (MessageReader, ValueMessages)) or messages.started or report.each:
            raise UsageError("the native producer sends only the input it was opened for")
        wait = o.delivery_timeout + 30
        if isinstance(messages, ValueMessages):
            streams: list[Any] = []
            values, delimiter, key_separator, whole = messages.records, b"\n", messages.key_separator, False
        else:
            streams, values = messages.streams, []
            delimiter, key_separator = messages.options.delimiter, messages.options.key_separator
            whole = messages.options.mode is InputMode.whole
        report.handed_line = self._client.produce(
            topic,
            streams,
            values,
            delimiter,
            key_separator,
            whole,
            o.key,
            [(k, v.encode("utf-8")) for k, v in o.headers],
            o.partition,
            _window(o),
            o.max_in_flight_bytes,
            wait,
            f"KafkaTimeoutError: no delivery report within {wait:g}s",
            _Sink(self, report, messages),
        )

    def close(self) -> None:
        """Disconnect: send_all reported every message it handed over, so nothing is waited for."""
        self._client = None
