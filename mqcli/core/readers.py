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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from mqcli.core.errors import InputError
from mqcli.core.message import Message, from_json

CHUNK = 1 << 16


class InputMode(str, enum.Enum):
    line = "line"
    whole = "whole"
    jsonl = "jsonl"


def split_records(stream: BinaryIO, delimiter: bytes = b"\n") -> Iterator[bytes]:
    """Yield the records of `stream` separated by `delimiter`, streaming."""
    if not delimiter:
        raise ValueError("empty delimiter")
    if delimiter == b"\n" and hasattr(stream, "readline"):
        # The common case: let the buffered reader find newlines in C.
        for line in iter(stream.readline, b""):
            yield line[:-1] if line.endswith(b"\n") else line
        return
    buf = b""
    dlen = len(delimiter)
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        buf += chunk
        start = 0
        while True:
            idx = buf.find(delimiter, start)
            if idx < 0:
                break
            yield buf[start:idx]
            start = idx + dlen
        buf = buf[start:]
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


def _split_key(record: bytes, sep: bytes, number: int) -> tuple[bytes, bytes]:
    key, found, value = record.partition(sep)
    if not found:
        raise InputError(f"record {number}: key separator {sep!r} not found")
    return key, value


def read_messages(
    streams: Iterable[BinaryIO], options: ReaderOptions, stats: ReadStats | None = None
) -> Iterator[Message]:
    """Messages from each stream in turn; record numbers continue across streams."""
    stats = stats if stats is not None else ReadStats()
    number = 0
    for stream in streams:
        if options.mode is InputMode.whole:
            data = stream.read()
            records: Iterable[bytes] = [data] if data else []  # empty input sends nothing
        else:
            records = split_records(stream, b"\n" if options.mode is InputMode.jsonl else options.delimiter)
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


def messages_from_values(values: Iterable[str], key_separator: bytes | None = None) -> Iterator[Message]:
    """Messages from command-line arguments (`produce TOPIC a b c`)."""
    for number, text in enumerate(values, 1):
        record = text.encode("utf-8", errors="surrogateescape")
        if key_separator is not None:
            key, value = _split_key(record, key_separator, number)
            yield Message(value=value, key=key, line=number)
        else:
            yield Message(value=record, line=number)
