"""The JSON Lines form of a message: what consume writes, produce/publish reads."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mqcli.core.errors import InputError
from mqcli.core.message import Message, from_json, to_json

header_values = st.one_of(st.binary(max_size=20), st.text(max_size=20))
headers = st.lists(st.tuples(st.text(min_size=1, max_size=8), header_values), max_size=4)


def _norm_header(v: object) -> bytes:
    """Kafka compares header values as bytes: text and its UTF-8 bytes are the same value."""
    return v.encode() if isinstance(v, str) else v  # type: ignore[return-value]


@given(
    value=st.one_of(st.none(), st.binary(max_size=64)),
    key=st.one_of(st.none(), st.binary(max_size=16)),
    hdrs=headers,
    partition=st.one_of(st.none(), st.integers(0, 100)),
    offset=st.one_of(st.none(), st.integers(0, 2**40)),
    timestamp=st.one_of(st.none(), st.integers(0, 2**42)),
)
def test_json_round_trip_is_faithful(value, key, hdrs, partition, offset, timestamp) -> None:
    msg = Message(
        value=value, key=key, headers=hdrs, topic="t", partition=partition, offset=offset, timestamp=timestamp
    )
    back = from_json(to_json(msg))
    assert back.value == value
    assert back.key == key
    assert [(k, _norm_header(v)) for k, v in back.headers] == [(k, _norm_header(v)) for k, v in hdrs]
    assert (back.partition, back.offset, back.timestamp) == (partition, offset, timestamp)


def test_binary_value_travels_as_base64_with_encoding_field() -> None:
    obj = json.loads(to_json(Message(value=b"\xff\x00", key=b"k")))
    assert obj == {"key": "k", "value": "/wA=", "value_encoding": "base64"}


def test_null_value_is_json_null() -> None:
    assert json.loads(to_json(Message(value=None))) == {"value": None}
    assert from_json('{"value": null, "key": "k"}').value is None


def test_duplicate_header_names_become_pairs() -> None:
    obj = json.loads(to_json(Message(value=b"v", headers=[("a", b"1"), ("a", b"2")])))
    assert obj["headers"] == [["a", "1"], ["a", "2"]]


def test_rabbit_properties_round_trip() -> None:
    msg = Message(
        value=b"hi",
        exchange="x",
        routing_key="r.k",
        redelivered=False,
        headers=[("n", 5), ("b", True), ("s", "x")],
        properties={"content_type": "text/plain", "delivery_mode": 2, "priority": 3},
    )
    back = from_json(to_json(msg))
    assert back.headers == [("n", 5), ("b", True), ("s", "x")]
    assert back.properties == msg.properties
    assert (back.exchange, back.routing_key, back.redelivered) == ("x", "r.k", False)


def test_object_values_are_sent_as_compact_json() -> None:
    assert from_json('{"value": {"id": 1}}').value == b'{"id":1}'


@pytest.mark.parametrize(
    "line, why",
    [
        ("not json", "Expecting value"),
        ("[1]", "expected a JSON object"),
        ('{"key": "k"}', "missing 'value'"),
        ('{"value": "x", "bogus": 1}', "unknown field(s) bogus"),
        ('{"value": "!!", "value_encoding": "base64"}', "not valid base64"),
        ('{"value": "x", "value_encoding": "rot13"}', "unknown value_encoding"),
        ('{"value": "x", "partition": "0"}', "'partition' must be an integer"),
        ('{"value": "x", "partition": -1}', "'partition' must be 0 or more"),
        ('{"value": "x", "headers": 3}', "'headers' must be"),
    ],
)
def test_invalid_records_name_their_line(line: str, why: str) -> None:
    with pytest.raises(InputError) as err:
        from_json(line, line=7)
    assert "line 7" in err.value.message
    assert why in err.value.message


@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_input_error(data: bytes) -> None:
    try:
        from_json(data, line=1)
    except InputError:
        pass


def test_placeholders_json_forms_are_json_dumps() -> None:
    # Written out in core/message.py so that importing it needs no json (issue 15).
    from mqcli.core import message

    assert message._PLACEHOLDER_JSON == {k: json.dumps(v) for k, v in message._PLACEHOLDERS.items()}
    assert message.compact_json({"a": ["é", 1]}) == json.dumps(
        {"a": ["é", 1]}, ensure_ascii=False, separators=(",", ":")
    )
