"""Input readers: delimiters, whole input, JSON Lines, key splitting, streaming."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mqcli.core.errors import InputError
from mqcli.core.message import Message, to_json
from mqcli.core.readers import InputMode, ReaderOptions, ReadStats, messages_from_values, read_messages, split_records


class OneByteAtATime(io.RawIOBase):
    """A stream that hands out one byte per read, to exercise record boundaries across chunks."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        chunk = self._data[self._pos : self._pos + 1]
        self._pos += len(chunk)
        return chunk


def values(data: bytes, **kw: object) -> list[bytes | None]:
    return [m.value for m in read_messages([io.BytesIO(data)], ReaderOptions(**kw))]  # type: ignore[arg-type]


def test_one_message_per_line_and_no_empty_trailing_message() -> None:
    assert values(b"a\nb\n") == [b"a", b"b"]
    assert values(b"a\nb") == [b"a", b"b"]
    assert values(b"a\n\nb\n") == [b"a", b"", b"b"]
    assert values(b"") == []


def test_any_delimiter_including_nul() -> None:
    assert values(b"a\0b\0", delimiter=b"\0") == [b"a", b"b"]
    assert values(b"x--y--z", delimiter=b"--") == [b"x", b"y", b"z"]
    assert values(b"a\nb", delimiter=b";") == [b"a\nb"]


def test_whole_input_is_one_message() -> None:
    assert values(b"a\nb\n", mode=InputMode.whole) == [b"a\nb\n"]
    assert values(b"", mode=InputMode.whole) == []  # empty input sends nothing


def test_key_separator_splits_at_first_occurrence() -> None:
    msgs = list(read_messages([io.BytesIO(b"k1:v:1\nk2:v2\n")], ReaderOptions(key_separator=b":")))
    assert [(m.key, m.value) for m in msgs] == [(b"k1", b"v:1"), (b"k2", b"v2")]


def test_missing_key_separator_names_the_record() -> None:
    with pytest.raises(InputError, match="record 2"):
        list(read_messages([io.BytesIO(b"k:v\nnokey\n")], ReaderOptions(key_separator=b":")))


def test_skip_invalid_counts_and_carries_on() -> None:
    stats = ReadStats()
    skipped: list[str] = []
    opts = ReaderOptions(mode=InputMode.jsonl, skip_invalid=True, on_skip=lambda e: skipped.append(e.message))
    data = b'{"value":"a"}\nbroken\n\n{"value":"b"}\n'
    assert [m.value for m in read_messages([io.BytesIO(data)], opts, stats)] == [b"a", b"b"]
    assert stats.skipped == 1
    assert "line 2" in skipped[0]


def test_jsonl_error_names_line_number() -> None:
    with pytest.raises(InputError, match="line 3"):
        list(read_messages([io.BytesIO(b'{"value":"a"}\n\nbad\n')], ReaderOptions(mode=InputMode.jsonl)))


def test_non_utf8_jsonl_is_an_input_error() -> None:
    with pytest.raises(InputError, match="line 1"):
        list(read_messages([io.BytesIO(b'{"value":"\xff"}\n')], ReaderOptions(mode=InputMode.jsonl)))


def test_record_numbers_continue_across_files() -> None:
    msgs = list(read_messages([io.BytesIO(b"a\nb\n"), io.BytesIO(b"c\n")], ReaderOptions()))
    assert [(m.line, m.value) for m in msgs] == [(1, b"a"), (2, b"b"), (3, b"c")]


def test_values_from_arguments() -> None:
    msgs = list(messages_from_values(["k=v", "a=b"], key_separator=b"="))
    assert [(m.key, m.value, m.line) for m in msgs] == [(b"k", b"v", 1), (b"a", b"b", 2)]


def test_reader_streams_instead_of_reading_everything() -> None:
    def endless():
        n = 0
        while True:
            n += 1
            yield f"{n}\n".encode()

    class Gen(io.RawIOBase):
        def __init__(self) -> None:
            self.it = endless()
            self.reads = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            self.reads += 1
            chunk = next(self.it)
            b[: len(chunk)] = chunk
            return len(chunk)

    raw = Gen()
    it = read_messages([io.BufferedReader(raw)], ReaderOptions())
    assert [next(it).value for _ in range(3)] == [b"1", b"2", b"3"]
    assert raw.reads < 100  # an endless stream still yields its first messages


delims = st.sampled_from([b"\n", b"\0", b"--", b"\r\n", b"|", b"\x1e"])


@given(records=st.lists(st.binary(max_size=30), max_size=10), delim=delims, trailing=st.booleans())
def test_split_round_trips_any_delimiter(records: list[bytes], delim: bytes, trailing: bool) -> None:
    records = [r.replace(delim, b"") for r in records]
    if len(set(delim)) < len(delim):
        # A delimiter that overlaps itself ("--") makes "-" + "--" ambiguous
        # ("---" splits leftmost, as every reader would): keep its byte out.
        records = [r.replace(delim[:1], b"") for r in records]
    # The reader cannot tell a lone empty record from no input: skip that one case.
    if records == [b""] or (records and records[-1] == b"" and not trailing):
        records = [r or b"x" for r in records]
    data = delim.join(records) + (delim if trailing and records else b"")
    assert list(split_records(io.BytesIO(data), delim)) == records
    assert list(split_records(OneByteAtATime(data), delim)) == records  # type: ignore[arg-type]


@given(
    msgs=st.lists(
        st.builds(
            Message,
            value=st.one_of(st.none(), st.binary(max_size=20)),
            key=st.one_of(st.none(), st.binary(max_size=8)),
            partition=st.one_of(st.none(), st.integers(0, 9)),
        ),
        max_size=8,
    )
)
def test_jsonl_written_is_read_back(msgs: list[Message]) -> None:
    data = b"".join(to_json(m).encode() + b"\n" for m in msgs)
    back = list(read_messages([io.BytesIO(data)], ReaderOptions(mode=InputMode.jsonl)))
    assert [(m.key, m.value, m.partition) for m in back] == [(m.key, m.value, m.partition) for m in msgs]
