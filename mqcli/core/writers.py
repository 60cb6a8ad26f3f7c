"""Output writers shared by Kafka and RabbitMQ: `Message`s in, bytes out.

* ``raw``       the value followed by the delimiter (default newline).
* ``json``      one JSON object per line with all metadata (see
                `mqcli.core.message`); exactly what the readers' ``jsonl``
                mode reads back.
* ``template``  a `Template` (``--format``) followed by the delimiter.

(The ``human`` view is drawn with Rich by the CLI layer.)

Writers buffer; callers `flush()` before they acknowledge or commit, so a
message is acked only once its output has been handed to the OS.

The three writers here also take a whole batch with one call on the stream
(`write_batch`), and `RawWriter` takes bare values (`write_values`), so a
consumer need not build a `Message` per record when only values are shown.
The bytes are exactly those of `write` called once per message: the stream
may be unbuffered (PYTHONUNBUFFERED), where each call is a system call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, Protocol, TypeVar

from mqcli.core.errors import UsageError
from mqcli.core.message import Message, compact_json, header_text, to_json, to_json_obj
from mqcli.core.parse import unescape
from mqcli.core.signals import DeferredSignals


class Writer(Protocol):
    def write(self, msg: Message) -> None: ...

    def flush(self) -> None: ...


Record = TypeVar("Record")


def batch_writer(
    writer: Writer | None, value: Callable[[Record], bytes | None], to_message: Callable[[Record], Message]
) -> Callable[[list[Record]], None] | None:
    """For a consumer: a function that writes a list of its client library's
    records through `writer` with one call -- only their values for raw output
    (no Message per record), else as Messages.  None when the writer takes
    one message at a time (the human view) or there is none."""
    write_values = getattr(writer, "write_values", None)
    if write_values is not None:
        return lambda records: write_values(list(map(value, records)))
    write_batch = getattr(writer, "write_batch", None)
    if write_batch is not None:
        return lambda records: write_batch(list(map(to_message, records)))
    return None


# POSIX writes up to PIPE_BUF bytes to a pipe at once: no signal can split them.
_ATOMIC = 512


class _StreamWriter:
    """Writes whole records: a write or flush is never cut in half by Ctrl-C
    or SIGTERM (the signal acts right after it; a second one at once), so the
    output ends with a complete record however the run ends."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._raw_write = stream.write

    def write_data(self, data: bytes) -> None:
        """Records already rendered, whole ones only (the native consume loop's output)."""
        self._write(data)

    def _write(self, data: bytes) -> None:
        if len(data) <= _ATOMIC:
            written = self._raw_write(data)
            if written is None or written >= len(data):
                return
            data = data[written:]
        with DeferredSignals() as signals:
            # An unbuffered stdout (PYTHONUNBUFFERED) is a raw stream: its
            # write() may take only part of the data (a full pipe, a signal).
            view = memoryview(data)
            while view:
                written = self._raw_write(view)
                view = view[written or 0 :]
        signals.raise_received()

    def flush(self) -> None:
        with DeferredSignals() as signals:
            self._stream.flush()
        signals.raise_received()


class RawWriter(_StreamWriter):
    def __init__(self, stream: BinaryIO, delimiter: bytes = b"\n") -> None:
        super().__init__(stream)
        self._delimiter = delimiter

    @property
    def delimiter(self) -> bytes:
        return self._delimiter

    def write(self, msg: Message) -> None:
        self._write(self._delimiter if msg.value is None else msg.value + self._delimiter)

    def write_batch(self, msgs: Sequence[Message]) -> None:
        self.write_values([m.value for m in msgs])

    def write_values(self, values: Sequence[bytes | None]) -> None:
        """Each value (None: empty) followed by the delimiter, in one call."""
        if not values:
            return
        d = self._delimiter
        try:
            data = d.join(values)  # type: ignore[arg-type]
        except TypeError:  # a None among them (rare: tombstones); checked only then
            data = d.join([b"" if v is None else v for v in values])
        self._write(data + d)


class JsonWriter(_StreamWriter):
    def write(self, msg: Message) -> None:
        self._write(to_json(msg).encode("utf-8") + b"\n")

    def write_batch(self, msgs: Sequence[Message]) -> None:
        if msgs:
            self._write("".join([to_json(m) + "\n" for m in msgs]).encode("utf-8"))


# (epoch, timedelta), from datetime on the first timestamp rendered: a consume that
# renders none (raw output) does not import datetime (issue 15: one-shot start-up).
_DATES: tuple[Any, Any] | None = None


def _dates() -> tuple[Any, Any]:
    global _DATES
    from datetime import datetime, timedelta, timezone

    _DATES = (datetime(1970, 1, 1, tzinfo=timezone.utc), timedelta)
    return _DATES


def _iso(ms: int | None) -> str:
    if ms is None:
        return ""
    epoch, timedelta = _DATES or _dates()
    # Integer arithmetic: ms / 1000 as a float loses the last millisecond
    # near year 9999 (253402300799999 rendered as ...59.998Z).
    return str((epoch + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")).replace("+00:00", "Z")


def _b(text: object) -> bytes:
    return b"" if text is None else str(text).encode("utf-8")


def _prop(name: str) -> Callable[[Message], bytes]:
    return lambda m: _b(m.properties.get(name))


# RabbitMQ's message properties a template can show ({message_id}).
PROPERTY_FIELDS = (
    "content_type",
    "content_encoding",
    "delivery_mode",
    "priority",
    "correlation_id",
    "reply_to",
    "expiration",
    "message_id",
    "type",
    "user_id",
    "app_id",
)

# Placeholder -> how to render it.  Keep README's template table in step.
FIELDS: dict[str, Callable[[Message], bytes]] = {
    "value": lambda m: m.value or b"",
    "key": lambda m: m.key or b"",
    "headers": lambda m: compact_json(to_json_obj(m).get("headers", {})).encode(),
    "topic": lambda m: _b(m.topic),
    "partition": lambda m: _b(m.partition),
    "offset": lambda m: _b(m.offset),
    "timestamp": lambda m: _b(m.timestamp),
    "time": lambda m: _iso(m.timestamp if m.timestamp is not None else _rabbit_ms(m)).encode(),
    "queue": lambda m: _b(m.queue),
    "exchange": lambda m: _b(m.exchange),
    "routing_key": lambda m: _b(m.routing_key),
    "redelivered": lambda m: b"" if m.redelivered is None else (b"true" if m.redelivered else b"false"),
    "size": lambda m: _b(0 if m.value is None else len(m.value)),
    "json": lambda m: to_json(m).encode("utf-8"),
    **{p: _prop(p) for p in PROPERTY_FIELDS},
}
# The placeholders only a RabbitMQ message fills (empty for a Kafka record).
RABBIT_FIELDS = ("queue", "exchange", "routing_key", "redelivered", *PROPERTY_FIELDS)


def _rabbit_ms(m: Message) -> int | None:
    ts = m.properties.get("timestamp")
    return int(ts) * 1000 if isinstance(ts, (int, float)) and not isinstance(ts, bool) else None


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class Template:
    r"""A compiled ``--format`` template: ``{key}``, ``{value}``, ``{header.NAME}``,
    ``{topic}``…; ``{{``/``}}`` are literal braces; ``\n \t \0 \xHH`` escapes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._parts: list[bytes | Callable[[Message], bytes]] = []
        # The same parts by name (literal bytes, or the placeholder: "key",
        # "header.NAME"), for a renderer outside Python (the native consume loop).
        self.fields: list[bytes | str] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(text):
            if m.start() > pos:
                literal = unescape(text[pos : m.start()])
                self._parts.append(literal)
                self.fields.append(literal)
            token = m.group(0)
            if token in ("{{", "}}"):
                self._parts.append(token[0].encode())
                self.fields.append(token[0].encode())
            elif m.group(1) is None:
                raise UsageError(
                    f"invalid template {text!r}: unmatched {token!r} (use {token * 2} for a literal brace)"
                )
            else:
                self._parts.append(self._field(m.group(1).strip(), text))
                self.fields.append(m.group(1).strip())
            pos = m.end()
        if pos < len(text):
            literal = unescape(text[pos:])
            self._parts.append(literal)
            self.fields.append(literal)

    @staticmethod
    def _field(name: str, text: str) -> Callable[[Message], bytes]:
        if name.startswith("header."):
            hname = name[len("header.") :]
            return lambda m: header_text(m.header(hname)).encode("utf-8")
        try:
            return FIELDS[name]
        except KeyError:
            known = ", ".join(sorted(FIELDS)) + ", header.NAME"
            raise UsageError(f"invalid template {text!r}: unknown placeholder {{{name}}} (known: {known})") from None

    def render(self, msg: Message) -> bytes:
        return b"".join(p if isinstance(p, bytes) else p(msg) for p in self._parts)


class TemplateWriter(_StreamWriter):
    def __init__(self, stream: BinaryIO, template: Template, delimiter: bytes = b"\n") -> None:
        super().__init__(stream)
        self._template = template
        self._delimiter = delimiter

    @property
    def template(self) -> Template:
        return self._template

    @property
    def delimiter(self) -> bytes:
        return self._delimiter

    def write(self, msg: Message) -> None:
        self._write(self._template.render(msg) + self._delimiter)

    def write_batch(self, msgs: Sequence[Message]) -> None:
        if msgs:
            render, d = self._template.render, self._delimiter
            self._write(d.join([render(m) for m in msgs]) + d)
