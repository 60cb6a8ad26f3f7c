"""Output writers and the --format template."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mqcli.core.errors import UsageError
from mqcli.core.message import Message
from mqcli.core.writers import FIELDS, JsonWriter, RawWriter, Template, TemplateWriter

MSG = Message(
    value=b"v1",
    key=b"k1",
    headers=[("trace", b"abc"), ("n", b"1")],
    topic="orders",
    partition=2,
    offset=42,
    timestamp=1764064800000,
)


def test_raw_writes_value_and_delimiter() -> None:
    buf = io.BytesIO()
    w = RawWriter(buf, b"\0")
    w.write(MSG)
    w.write(Message(value=None))
    assert buf.getvalue() == b"v1\0\0"


def test_json_writer_one_object_per_line_with_metadata() -> None:
    buf = io.BytesIO()
    JsonWriter(buf).write(MSG)
    line = buf.getvalue()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {
        "topic": "orders",
        "partition": 2,
        "offset": 42,
        "timestamp": 1764064800000,
        "key": "k1",
        "value": "v1",
        "headers": {"trace": "abc", "n": "1"},
    }


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{key}={value}", b"k1=v1"),
        (r"{topic}\t{partition}\t{offset}", b"orders\t2\t42"),
        ("{header.trace}|{header.missing}|", b"abc||"),
        ("{{literal}} {size}", b"{literal} 2"),
        ("{time}", b"2025-11-25T10:00:00.000Z"),
        ("{timestamp}", b"1764064800000"),
        ("{headers}", b'{"trace":"abc","n":"1"}'),
        (r"\x41{ value }", b"Av1"),
        ("{queue}{routing_key}{message_id}", b""),
    ],
)
def test_template_placeholders(template: str, expected: bytes) -> None:
    assert Template(template).render(MSG) == expected


def test_template_rabbit_fields() -> None:
    msg = Message(
        value=b"x",
        queue="jobs",
        exchange="ex",
        routing_key="a.b",
        redelivered=True,
        properties={"message_id": "m-1", "correlation_id": "c-1", "timestamp": 1764064800},
    )
    out = Template("{queue} {exchange} {routing_key} {redelivered} {message_id} {correlation_id} {time}").render(msg)
    assert out == b"jobs ex a.b true m-1 c-1 2025-11-25T10:00:00.000Z"


@pytest.mark.parametrize("bad", ["{nope}", "{value", "value}", "{header}"])
def test_bad_templates_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match="invalid template"):
        Template(bad)


def test_template_writer_appends_delimiter() -> None:
    buf = io.BytesIO()
    TemplateWriter(buf, Template("{key}"), b"\n").write(MSG)
    assert buf.getvalue() == b"k1\n"


@given(st.text(alphabet=st.characters(blacklist_characters="{}\\", blacklist_categories=("Cs",)), max_size=30))
def test_literal_text_renders_as_itself(text: str) -> None:
    assert Template(text).render(MSG) == text.encode()


@given(st.lists(st.sampled_from(sorted(FIELDS)), max_size=5), st.text(alphabet="ab -:", max_size=3))
def test_any_known_placeholders_render(names: list[str], sep: str) -> None:
    template = sep.join("{" + n + "}" for n in names)
    assert isinstance(Template(template).render(MSG), bytes)


@given(st.text(max_size=40))
def test_arbitrary_templates_only_raise_usage_error(text: str) -> None:
    try:
        Template(text).render(MSG)
    except UsageError:
        pass


# -- whole batches (the consumers' fast path) --------------------------------------
_bytes = st.binary(max_size=12)
_messages = st.lists(
    st.builds(
        Message,
        value=st.none() | _bytes,
        key=st.none() | _bytes,
        headers=st.lists(st.tuples(st.sampled_from(["a", "b", "é"]), st.none() | _bytes), max_size=3),
        topic=st.just("t"),
        partition=st.integers(0, 3),
        offset=st.integers(0, 10**9),
        timestamp=st.none() | st.integers(0, 2**41),
    ),
    max_size=8,
)


class _Stream(io.BytesIO):
    """Counts the calls on the stream: one per batch is the point of write_batch."""

    calls = 0

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.calls += 1
        return super().write(data)


def _writers(stream: io.BytesIO) -> list[object]:
    return [
        RawWriter(stream),
        RawWriter(stream, b"\0"),
        JsonWriter(stream),
        TemplateWriter(stream, Template("{partition}/{offset} {key}={value} {header.a} {headers}"), b"|"),
    ]


@given(_messages)
def test_a_batch_is_the_same_bytes_as_one_message_at_a_time(msgs: list[Message]) -> None:
    for index in range(len(_writers(io.BytesIO()))):
        each, whole = io.BytesIO(), _Stream()
        for m in msgs:
            _writers(each)[index].write(m)  # type: ignore[attr-defined]
        _writers(whole)[index].write_batch(msgs)  # type: ignore[attr-defined]
        assert whole.getvalue() == each.getvalue()
        assert whole.calls == (1 if msgs else 0)


@given(st.lists(st.none() | _bytes, max_size=8), st.sampled_from([b"\n", b"\0", b"--"]))
def test_raw_values_are_the_same_bytes_as_messages(values: list[bytes | None], delimiter: bytes) -> None:
    each, whole = io.BytesIO(), _Stream()
    for v in values:
        RawWriter(each, delimiter).write(Message(value=v))
    RawWriter(whole, delimiter).write_values(values)
    assert whole.getvalue() == each.getvalue()
    assert whole.calls == (1 if values else 0)


def test_raw_write_is_one_call_per_message() -> None:
    # The stream may be unbuffered (PYTHONUNBUFFERED): one system call each.
    stream = _Stream()
    RawWriter(stream).write(MSG)
    RawWriter(stream).write(Message(value=None))
    assert stream.getvalue() == b"v1\n\n" and stream.calls == 2


class _Trickle(io.BytesIO):
    """A raw stream (like an unbuffered stdout on a full pipe): each write takes at most 100 bytes."""

    def write(self, data) -> int:  # type: ignore[no-untyped-def,override]
        return super().write(bytes(data[:100]))


@pytest.mark.parametrize("size", [10, 600, 5000])
def test_partial_writes_are_continued_until_the_record_is_whole(size: int) -> None:
    stream = _Trickle()
    msgs = [Message(value=b"x" * size), Message(value=b"y" * size)]
    RawWriter(stream).write_batch(msgs)
    JsonWriter(stream).write(msgs[0])
    expected = b"x" * size + b"\n" + b"y" * size + b"\n" + b'{"value":"' + b"x" * size + b'"}\n'
    assert stream.getvalue() == expected


def test_time_is_exact_to_the_millisecond_up_to_year_9999() -> None:
    # ms / 1000 as a float rendered this one as ...59.998Z.
    msg = Message(value=b"", timestamp=253402300799999)
    assert Template("{time}").render(msg) == b"9999-12-31T23:59:59.999Z"
    assert Template("{time}").render(Message(value=b"", timestamp=0)) == b"1970-01-01T00:00:00.000Z"
