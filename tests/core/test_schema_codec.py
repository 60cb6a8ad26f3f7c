"""The Confluent wire format and the Avro <-> JSON mapping (no registry, no broker)."""

from __future__ import annotations

import base64
import decimal
import json
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mqcli.core.message import Message, from_json, to_json
from mqcli.core.schema import wire
from mqcli.core.schema.avro import Mismatch, Schema, SchemaInvalid, to_json_text
from mqcli.core.schema.codec import subject_name

# -- wire format --------------------------------------------------------------------


def test_frame_is_magic_byte_then_big_endian_id() -> None:
    assert wire.frame(1, b"body") == b"\x00\x00\x00\x00\x01body"
    assert wire.frame(0x01020304, b"") == b"\x00\x01\x02\x03\x04"


@given(st.integers(0, 2**32 - 1), st.binary(max_size=64))
def test_unframe_inverts_frame(schema_id: int, body: bytes) -> None:
    got_id, got_body = wire.unframe(wire.frame(schema_id, body))
    assert got_id == schema_id and bytes(got_body) == body


def test_frame_refuses_an_id_of_more_than_four_bytes() -> None:
    with pytest.raises(ValueError):
        wire.frame(2**32, b"")
    with pytest.raises(ValueError):
        wire.frame(-1, b"")


@pytest.mark.parametrize("data", [b"", b"\x00\x00\x00\x01", b"\x01\x00\x00\x00\x01x", b"{}"])
def test_unframe_refuses_what_is_not_framed(data: bytes) -> None:
    assert not wire.is_framed(data)
    with pytest.raises(wire.NotFramed):
        wire.unframe(data)


def test_is_framed() -> None:
    assert wire.is_framed(b"\x00\x00\x00\x00\x07") and not wire.is_framed(None)


# -- Avro -> JSON ----------------------------------------------------------------------

ALL_TYPES = {
    "type": "record",
    "name": "All",
    "namespace": "t",
    "fields": [
        {"name": "n", "type": "null"},
        {"name": "b", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "s", "type": "string"},
        {"name": "raw", "type": "bytes"},
        {"name": "fx", "type": {"type": "fixed", "name": "Four", "size": 4}},
        {"name": "e", "type": {"type": "enum", "name": "Colour", "symbols": ["RED", "GREEN"]}},
        {"name": "arr", "type": {"type": "array", "items": "int"}},
        {"name": "m", "type": {"type": "map", "values": "string"}},
        {"name": "u", "type": ["null", "string", "long"]},
        {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 3}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "tsu", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "tm", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "sub", "type": {"type": "record", "name": "Sub", "fields": [{"name": "x", "type": "int"}]}},
        {"name": "again", "type": ["null", "Sub"], "default": None},
    ],
}

JSON_FORM: dict[str, Any] = {
    "n": None,
    "b": True,
    "i": -7,
    "l": 2**40,
    "f": 1.5,
    "d": 0.25,
    "s": "héllo",
    "raw": "AAH/",
    "fx": "AQIDBA==",
    "e": "GREEN",
    "arr": [1, 2],
    "m": {"a": "b"},
    "u": 5,
    "dec": "-12.500",
    "day": "2026-12-01",
    "ts": "2026-12-01T13:45:00.250000+00:00",
    "tsu": "2026-12-01T13:45:00.000001+00:00",
    "tm": "13:45:00.250000",
    "id": "6f1f6c7e-3a2b-4c1d-9e8f-0a1b2c3d4e5f",
    "sub": {"x": 1},
    "again": {"x": 2},
}


def test_every_type_round_trips_through_its_json_form() -> None:
    schema = Schema(json.dumps(ALL_TYPES))
    assert json.loads(to_json_text(schema.decode(schema.encode(JSON_FORM)))) == JSON_FORM


def test_decimal_is_an_exact_string_with_the_schema_scale() -> None:
    schema = Schema('{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}')
    assert to_json_text(schema.decode(schema.encode("0.1"))) == '"0.10"'
    assert to_json_text(schema.decode(schema.encode(3))) == '"3.00"'


def test_timestamps_accept_z_and_raw_numbers() -> None:
    schema = Schema('{"type":"long","logicalType":"timestamp-millis"}')
    assert schema.decode(schema.encode("2026-12-01T00:00:00Z")) == schema.decode(schema.encode(1796083200000))


def test_union_takes_avro_json_tagged_form() -> None:
    schema = Schema('["null","string","long"]')
    assert schema.decode(schema.encode({"long": 3})) == 3
    assert schema.decode(schema.encode({"string": "3"})) == "3"
    assert schema.decode(schema.encode(None)) is None


def test_missing_field_takes_its_default() -> None:
    schema = Schema('{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":4}]}')
    assert schema.decode(schema.encode({})) == {"a": 4}


@pytest.mark.parametrize(
    ("value", "path", "expected"),
    [
        ({"items": [{"price": "1.5"}, {"price": "x"}]}, ".items[1].price", "decimal"),
        ({"items": [{"price": 1.234}]}, ".items[0].price", "at most 2 decimal place"),
        ({"items": "no"}, ".items", "a list"),
        ({"items": [], "extra": 1}, ".extra", "no such field"),
        ({"items": [{}]}, ".items[0].price", "is required"),
        ([], ".", "an object"),
    ],
)
def test_mismatch_names_the_field_path(value: Any, path: str, expected: str) -> None:
    schema = Schema(
        json.dumps(
            {
                "type": "record",
                "name": "Cart",
                "fields": [
                    {
                        "name": "items",
                        "type": {
                            "type": "array",
                            "items": {
                                "type": "record",
                                "name": "Item",
                                "fields": [
                                    {
                                        "name": "price",
                                        "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
                                    }
                                ],
                            },
                        },
                    }
                ],
            }
        )
    )
    with pytest.raises(Mismatch) as e:
        schema.encode(value)
    assert e.value.path == path and expected in e.value.expected


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ('"int"', 2**31),
        ('"int"', True),
        ('"long"', 1.5),
        ('"string"', 1),
        ('"boolean"', 0),
        ('"bytes"', "not base64!"),
        ('{"type":"fixed","name":"F","size":2}', "AAAA"),
        ('{"type":"enum","name":"E","symbols":["A"]}', "B"),
        ('["null","int"]', "x"),
        ('{"type":"int","logicalType":"date"}', "yesterday"),
    ],
)
def test_values_that_do_not_fit_are_mismatches(schema: str, value: Any) -> None:
    with pytest.raises(Mismatch):
        Schema(schema).encode(value)


@pytest.mark.parametrize("text", ["{", '{"type":"record"}', '"nosuchtype"'])
def test_invalid_schemas(text: str) -> None:
    with pytest.raises(SchemaInvalid):
        Schema(text)


def test_decode_refuses_trailing_bytes() -> None:
    with pytest.raises(ValueError):
        Schema('"int"').decode(b"\x02\x02")


# -- the JSON Lines form of decoded messages ---------------------------------------------


def test_json_record_carries_the_decoded_value_and_its_schema() -> None:
    msg = Message(value=b'{"a":1}', key=b'"k"', topic="t", partition=0, offset=3)
    msg.decoded = {"value": {"id": 7, "subject": "t-value", "version": 1, "type": "AVRO"}, "key": None}
    obj = json.loads(to_json(msg))
    assert obj["value"] == {"a": 1} and obj["key"] == "k"
    assert obj["value_schema"] == {"id": 7, "subject": "t-value", "version": 1, "type": "AVRO"}
    assert "key_schema" not in obj
    back = from_json(to_json(msg))
    assert back.decoded == {"value": msg.decoded["value"]}
    assert json.loads(back.value or b"") == {"a": 1}


def test_plain_messages_have_no_schema_fields() -> None:
    obj = json.loads(to_json(Message(value=b"\x00\x00\x00\x00\x01\xff")))
    assert set(obj) == {"value", "value_encoding"}


def test_value_schema_must_name_an_id() -> None:
    from mqcli.core.errors import InputError

    with pytest.raises(InputError, match="value_schema"):
        from_json('{"value": 1, "value_schema": {"subject": "s"}}')


# -- subject naming ---------------------------------------------------------------------


def test_subject_strategies() -> None:
    from mqcli.core.errors import UsageError

    assert subject_name("topic", "orders", "value", "shop.Order") == "orders-value"
    assert subject_name("topic", "orders", "key", None) == "orders-key"
    assert subject_name("record", "orders", "value", "shop.Order") == "shop.Order"
    assert subject_name("topic-record", "orders", "value", "shop.Order") == "orders-shop.Order"
    with pytest.raises(UsageError):
        subject_name("record", "orders", "value", None)


def test_header_struct_matches_confluent_layout() -> None:
    data = wire.frame(258, b"")
    assert struct.unpack(">bI", data) == (0, 258)


# -- property: JSON form -> Avro -> JSON form is the identity ---------------------------

PROPERTY_SCHEMA = Schema(
    json.dumps(
        {
            "type": "record",
            "name": "P",
            "fields": [
                {"name": "i", "type": "int"},
                {"name": "s", "type": "string"},
                {"name": "d", "type": "double"},
                {"name": "u", "type": ["null", "string", "long"]},
                {"name": "arr", "type": {"type": "array", "items": "long"}},
                {"name": "m", "type": {"type": "map", "values": "boolean"}},
                {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 2}},
                {"name": "b", "type": "bytes"},
            ],
        }
    )
)

_json_forms = st.fixed_dictionaries(
    {
        "i": st.integers(-(2**31), 2**31 - 1),
        "s": st.text(),
        "d": st.floats(allow_nan=False, allow_infinity=False),
        "u": st.none() | st.text() | st.integers(-(2**63), 2**63 - 1),
        "arr": st.lists(st.integers(-(2**63), 2**63 - 1), max_size=5),
        "m": st.dictionaries(st.text(max_size=5), st.booleans(), max_size=3),
        "dec": st.integers(-(10**17), 10**17).map(lambda cents: format(decimal.Decimal(cents).scaleb(-2), "f")),
        "b": st.binary(max_size=16).map(lambda raw: base64.b64encode(raw).decode()),
    }
)


@given(_json_forms)
def test_json_form_round_trips_through_avro(value: dict[str, Any]) -> None:
    assert json.loads(to_json_text(PROPERTY_SCHEMA.decode(PROPERTY_SCHEMA.encode(value)))) == value


def test_nan_and_infinities_are_the_json_strings_both_ways() -> None:
    schema = Schema(json.dumps({"type": "record", "name": "F", "fields": [
        {"name": "d", "type": "double"}, {"name": "f", "type": {"type": "array", "items": "float"}}]}))  # fmt: skip
    value = {"d": "NaN", "f": ["Infinity", "-Infinity", 1.5]}
    decoded = json.loads(to_json_text(schema.decode(schema.encode(value))))
    assert decoded == value
    assert to_json_text(1.5) == "1.5"  # finite values as before
    with pytest.raises(Mismatch):
        schema.encode({"d": "nan", "f": []})
