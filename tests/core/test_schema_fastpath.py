"""The per-record shortcuts of the schema path give exactly what the long way gives:
JSON records embedding decoded text, the input parser, the text decoder of Avro."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mqcli.core.message import DecodedSchema, Message, to_json, to_json_obj
from mqcli.core.schema.avro import Schema, to_json_text
from mqcli.core.schema.codec import _loads

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=10,
)


def _long_way(msg: Message) -> str:
    """What to_json wrote before it embedded decoded text: parse it, write it again."""
    return json.dumps(to_json_obj(msg), ensure_ascii=False, separators=(",", ":"))


@given(
    value=_json_values,
    key=st.none() | _json_values,
    headers=st.lists(st.tuples(st.text(max_size=4), st.binary(max_size=6)), max_size=3),
)
def test_embedded_decoded_text_is_what_parsing_and_writing_again_gives(
    value: Any, key: Any, headers: list[tuple[str, bytes]]
) -> None:
    msg = Message(
        value=to_json_text(value).encode(), topic="t", partition=1, offset=7, timestamp=5, headers=list(headers)
    )
    msg.decoded = {"value": DecodedSchema(id=3, subject="t-value", version=1, type="AVRO")}
    if key is not None:
        msg.key = to_json_text(key).encode()
        msg.decoded["key"] = DecodedSchema(id=4, type="AVRO")
    assert to_json(msg) == _long_way(msg)


def test_a_header_holding_the_stand_in_is_written_the_long_way() -> None:
    msg = Message(value=b'{"a":1}', headers=[("h", b"\x00mqcli-decoded-value\x00")])
    msg.decoded = {"value": DecodedSchema(id=1)}
    assert to_json(msg) == _long_way(msg)
    assert json.loads(to_json(msg))["value"] == {"a": 1}


def test_plain_schema_dicts_and_plain_json_still_take_the_long_way() -> None:
    # Text mqcli did not write itself (--value-format json keeps the bytes as they came).
    msg = Message(value=b'{ "a" : 1 }')
    msg.decoded = {"value": None}
    assert to_json(msg) == '{"value":{"a":1}}'
    msg.decoded = {"value": {"id": 1}}
    assert to_json(msg) == '{"value":{"a":1},"value_schema":{"id":1}}'


@given(st.binary(max_size=24) | _json_values.map(lambda v: json.dumps(v).encode()))
def test_loads_is_json_loads(data: bytes) -> None:
    def outcome(f: Any) -> Any:
        try:
            return ("ok", f(data))
        except ValueError as e:
            return (type(e).__name__, str(e))

    want, got = outcome(json.loads), outcome(_loads)
    assert got == want or (want[0] == got[0] == "ok" and json.dumps(got[1]) == json.dumps(want[1]))


@pytest.mark.parametrize(
    "data", [b"\xef\xbb\xbf{}", '{"a":1}'.encode("utf-16"), '"x"'.encode("utf-16-le"), b"\xed\xa0\x80"]
)
def test_loads_leaves_other_encodings_to_json_loads(data: bytes) -> None:
    def outcome(f: Any) -> Any:
        try:
            return ("ok", f(data))
        except ValueError as e:
            return (type(e).__name__, str(e))

    assert outcome(_loads) == outcome(json.loads)


@given(st.integers(-(2**63), 2**63 - 1), st.text(), st.none() | st.text())
def test_avro_text_decoder_is_decode_then_to_json_text(n: int, s: str, note: str | None) -> None:
    schema = Schema(
        json.dumps(
            {
                "type": "record",
                "name": "R",
                "fields": [
                    {"name": "n", "type": "long"},
                    {"name": "s", "type": "string"},
                    {"name": "note", "type": ["null", "string"]},
                    {"name": "b", "type": "bytes"},
                ],
            }
        )
    )
    body = schema.encode({"n": n, "s": s, "note": note, "b": "AAE="})
    assert schema.text_decoder()(memoryview(body)) == to_json_text(schema.decode(body)).encode()
    assert schema.encode_framed({"n": n, "s": s, "note": note, "b": "AAE="}, b"\x00\x00\x00\x00\x01") == (
        b"\x00\x00\x00\x00\x01" + body
    )
    with pytest.raises(ValueError):
        schema.text_decoder()(memoryview(body + b"\x00"))
