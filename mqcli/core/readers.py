"""Input readers shared by Kafka and RabbitMQ: bytes in, `Message`s out.

Every reader streams: it holds one record (plus one read chunk) in memory,
however long the input is.  Each message carries its 1-based record number
in `line`, so a failed send can be named by its position in the input.

Modes:
* ``line``   one message per delimiter-separated record (default delimiter
             newline; any string including ``\\0``).  A final record without a
             trailing delimiter is still a message; a trailing delimiter does
             not make an extra empty one.
* ``whole``  the whole input is one message (empty input: none).
* ``jsonl``  one JSON object per line (see `mqcli.core.message`); blank
             lines are skipped.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from mqcli.core.errors import InputError
from mqcli.core.message import Message, from_json

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, built with less work at import (see mqcli/core/_dataclass.py)
    from mqcli.core._dataclass import dataclass

CHUNK = 1 << 16


class InputMode(str, enum.Enum):
    line = "line"
    whole = "whole"
    jsonl = "jsonl"


def split_records(stream: BinaryIO, delimiter: bytes = b"\n") -> Iterator[bytes]:
    """Yield the records of `stream` separated by `delimiter`, streaming."""
    if not delimiter:
        raise ValueError("empty delimiter")
    # read1: whatever has arrived (up to CHUNK), so a slow pipe (`tail -f`)
    # yields each record as soon as it is complete.
    read = getattr(stream, "read1", stream.read)
    buf = b""  # an unfinished record (and for a long one, its pieces so far in `more`)
    more: list[bytes] = []
    while True:
        chunk = read(CHUNK)
        if not chunk:
            break
        if delimiter not in chunk and len(delimiter) == 1:
            # Part of a record longer than a chunk: collect, join once (no
            # quadratic re-copying of a huge record).
            more.append(chunk)
            continue
        if more:
            buf += b"".join(more)
            more.clear()
        # split() makes every record of the chunk in one C call.
        records = (buf + chunk).split(delimiter)
        buf = records.pop()
        yield from records
    if more:
        buf += b"".join(more)
    if buf:
        yield buf


@dataclass
class ReadStats:
    """What a reader skipped (with --skip-invalid)."""

    skipped: int = 0


@dataclass
class ReaderOptions:
    mode: InputMode = InputMode.line
    delimiter: bytes = b"\n"
    key_separator: bytes | None = None  # split each record into key and value at the first one
    skip_invalid: bool = False
    on_skip: Callable[[InputError], None] | None = None  # called for each skipped record


def missing_key_separator(sep: bytes, number: int) -> InputError:
    """The error for record `number` without the key separator `sep`."""
    return InputError(f"record {number}: key separator {sep!r} not found")


def _split_key(record: bytes, sep: bytes, number: int) -> tuple[bytes, bytes]:
    key, found, value = record.partition(sep)
    if not found:
        raise missing_key_separator(sep, number)
    return key, value


def _read(streams: Iterable[BinaryIO], options: ReaderOptions, stats: ReadStats) -> Generator[Message, None, None]:
    number = 0
    for stream in streams:
        if options.mode is InputMode.whole:
            data = stream.read()
            records: Iterable[bytes] = [data] if data else []  # empty input sends nothing
        else:
            records = split_records(stream, b"\n" if options.mode is InputMode.jsonl else options.delimiter)
        if options.mode is InputMode.line and options.key_separator is None:
            # The common case, kept tight: every record is a message value.
            for record in records:
                number += 1
                yield Message(record, line=number)
            continue
        for record in records:
            number += 1
            try:
                if options.mode is InputMode.jsonl:
                    if not record.strip():
                        continue
                    msg = from_json(record, line=number)
                elif options.key_separator is not None:
                    key, value = _split_key(record, options.key_separator, number)
                    msg = Message(value=value, key=key, line=number)
                else:
                    msg = Message(value=record, line=number)
            except InputError as e:
                if not options.skip_invalid:
                    raise
                stats.skipped += 1
                if options.on_skip is not None:
                    options.on_skip(e)
                continue
            yield msg


class MessageReader(Iterator[Message]):
    """Messages from each stream in turn; record numbers continue across streams.

    An iterator that also tells where it reads from (`streams`, `options`,
    `stats`): a sender that reads the input itself (the native produce loop,
    mqcli.core.kafka.native) takes those instead, as long as nothing was read
    through the iterator yet (`started`)."""

    def __init__(self, streams: Iterable[BinaryIO], options: ReaderOptions, stats: ReadStats | None = None) -> None:
        self.streams = list(streams)
        self.options = options
        self.stats = stats if stats is not None else ReadStats()
        self.started = False
        self._messages = _read(self.streams, options, self.stats)

    def __iter__(self) -> MessageReader:
        return self

    def __next__(self) -> Message:
        self.started = True
        return next(self._messages)

    def close(self) -> None:
        self._messages.close()


def read_messages(streams: Iterable[BinaryIO], options: ReaderOptions, stats: ReadStats | None = None) -> MessageReader:
    """Messages from each stream in turn; record numbers continue across streams."""
    return MessageReader(streams, options, stats)


class ValueMessages(Iterator[Message]):
    """Messages from command-line arguments (`produce TOPIC a b c`): an
    iterator that also holds the records and the key separator, for a sender
    that sends them itself (the native produce loop) as long as nothing was
    read through the iterator yet (`started`)."""

    def __init__(self, values: Iterable[str], key_separator: bytes | None = None) -> None:
        self.records = [text.encode("utf-8", errors="surrogateescape") for text in values]
        self.key_separator = key_separator
        self.started = False
        self._messages = self._split()

    def _split(self) -> Iterator[Message]:
        sep = self.key_separator
        for number, record in enumerate(self.records, 1):
            if sep is not None:
                key, value = _split_key(record, sep, number)
                yield Message(value=value, key=key, line=number)
            else:
                yield Message(value=record, line=number)

    def __iter__(self) -> ValueMessages:
        return self

    def __next__(self) -> Message:
        self.started = True
        return next(self._messages)


def messages_from_values(values: Iterable[str], key_separator: bytes | None = None) -> ValueMessages:
    """Messages from command-line arguments (`produce TOPIC a b c`)."""
    return ValueMessages(values, key_separator)
