"""Property round trips of the Protobuf and JSON Schema codecs (no registry, no broker):
random values valid for a schema -> encode -> decode -> the same value (Protobuf through
its canonical JSON mapping; JSON Schema validated both ways)."""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqcli.core.schema import protobuf
from mqcli.core.schema.avro import to_json_text
from mqcli.core.schema.common import Mismatch
from mqcli.core.schema.json_schema import JsonSchema

# -- Protobuf ----------------------------------------------------------------------------

PROTO = """syntax = "proto3";
package prop;
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";

enum Colour { COLOUR_UNSPECIFIED = 0; RED = 1; GREEN = 2; }

message Inner { string label = 1; sint32 delta = 2; }

message All {
  int32 i32 = 1;
  int64 i64 = 2;
  uint32 u32 = 3;
  uint64 u64 = 4;
  sint64 s64 = 5;
  fixed32 f32 = 6;
  sfixed64 sf64 = 7;
  bool flag = 8;
  string text = 9;
  bytes raw = 10;
  double dbl = 11;
  float flt = 12;
  Colour colour = 13;
  Inner inner = 14;
  repeated int64 longs = 15;
  repeated Inner inners = 16;
  map<string, int32> counts = 17;
  map<int64, string> names = 18;
  optional string maybe = 19;
  oneof choice { string word = 20; int32 number = 21; }
  google.protobuf.Timestamp at = 22;
  google.protobuf.Duration took = 23;
  google.protobuf.Int64Value big = 24;
  google.protobuf.StringValue note = 25;
  google.protobuf.Struct extra = 26;
  repeated Colour colours = 27;
}
"""


@pytest.fixture(scope="module")
def message(tmp_path_factory: pytest.TempPathFactory) -> protobuf.ProtoMessage:
    path = tmp_path_factory.mktemp("prop") / "all.proto"
    path.write_text(PROTO)
    return protobuf.from_file(str(path), []).message("prop.All", "--message-type")


def _ints(bits: int, signed: bool = True) -> st.SearchStrategy[int]:
    return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else st.integers(0, 2**bits - 1)


def _text(**kw: Any) -> st.SearchStrategy[str]:
    # Any Unicode but unpaired surrogates, which a Protobuf string cannot hold (encode refuses them).
    return st.text(st.characters(exclude_categories=("Cs",)), **kw)


def _timestamp(pair: tuple[int, int]) -> str:
    from google.protobuf.timestamp_pb2 import Timestamp

    return Timestamp(seconds=pair[0], nanos=pair[1]).ToJsonString()


def _duration(pair: tuple[int, int]) -> str:
    from google.protobuf.duration_pb2 import Duration

    seconds, nanos = pair
    return Duration(seconds=seconds, nanos=nanos if seconds >= 0 else -nanos).ToJsonString()


# NaN and the infinities as the strings the mapping has for them.
_doubles = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(["NaN", "Infinity", "-Infinity"])
_inner = st.fixed_dictionaries({"label": _text(max_size=5), "delta": _ints(32)})
# google.protobuf.Struct holds numbers as doubles: whole ones within 2**53 come back equal.
_struct_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | _text(max_size=5),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(_text(max_size=4), c, max_size=3),
    max_leaves=8,
)  # fmt: skip

# A canonical JSON form with every field that has no presence written (as decode writes it).
_all = st.fixed_dictionaries(
    {
        "i32": _ints(32),
        "i64": _ints(64).map(str),
        "u32": _ints(32, signed=False),
        "u64": _ints(64, signed=False).map(str),
        "s64": _ints(64).map(str),
        "f32": _ints(32, signed=False),
        "sf64": _ints(64).map(str),
        "flag": st.booleans(),
        "text": _text(max_size=8),
        "raw": st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode()),
        "dbl": _doubles,
        "flt": st.floats(width=32, allow_nan=False, allow_infinity=False)
        | st.sampled_from(["NaN", "Infinity", "-Infinity"]),
        "colour": st.sampled_from(["COLOUR_UNSPECIFIED", "RED", "GREEN"]),
        "longs": st.lists(_ints(64).map(str), max_size=4),
        "inners": st.lists(_inner, max_size=3),
        "counts": st.dictionaries(_text(max_size=4), _ints(32), max_size=3),
        "names": st.dictionaries(_ints(64).map(str), _text(max_size=4), max_size=3),
        "colours": st.lists(st.sampled_from(["COLOUR_UNSPECIFIED", "RED", "GREEN"]), max_size=3),
    },
    optional={
        "inner": _inner,
        "maybe": _text(max_size=4),
        "at": st.tuples(st.integers(-62135596800, 253402300799), st.integers(0, 999_999_999)).map(_timestamp),
        "took": st.tuples(st.integers(0, 315576000000), st.integers(0, 999_999_999)).map(_duration),
        "big": _ints(64).map(str),
        "note": _text(max_size=6),
        "extra": st.dictionaries(_text(max_size=4), _struct_values, max_size=3),
    },
).flatmap(
    lambda d: st.one_of(
        st.just(d),
        st.fixed_dictionaries({"word": _text(max_size=4)}).map(lambda o: {**d, **o}),
        st.fixed_dictionaries({"number": _ints(32)}).map(lambda o: {**d, **o}),
    )
)


def _as_doubles(value: Any) -> Any:
    """A Struct value as it decodes: every number a float."""
    if isinstance(value, dict):
        return {k: _as_doubles(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_doubles(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _same(got: Any, want: Any, field: str = "") -> bool:
    """Equal, a float field compared as the 32-bit float it is (the JSON mapping writes the
    shortest text that reads back as the same float32)."""
    if field == "extra":  # a Struct: its numbers are doubles, an integer comes back as a float
        return _same(got, _as_doubles(want))
    if field == "flt" and isinstance(want, float):
        return isinstance(got, float) and struct.pack("<f", got) == struct.pack("<f", want)
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(_same(got[k], want[k], k) for k in want)
    if isinstance(want, list):
        return (
            isinstance(got, list) and len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want, strict=True))
        )
    return (bool(got == want) and type(got) is type(want)) or (isinstance(want, float) and got == want)


@settings(max_examples=60, deadline=None)
@given(value=_all)
def test_protobuf_canonical_json_round_trips(message: protobuf.ProtoMessage, value: dict[str, Any]) -> None:
    decoded = message.decode(message.encode(value))
    assert _same(decoded, value), (decoded, value)
    # What consume writes is the JSON text of that value: it reads back as the same message
    # (map entries may come out in another order: the bytes need not be the same).
    again = json.loads(to_json_text(decoded))
    assert _same(message.decode(message.encode(again)), value)


def test_protobuf_refuses_an_unpaired_surrogate(message: protobuf.ProtoMessage) -> None:
    with pytest.raises(Mismatch) as e:
        message.encode({"text": "\ud800"})
    assert e.value.path == ".text"


# -- JSON Schema ------------------------------------------------------------------------

ORDER_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Order",
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "customer": {"type": "string", "minLength": 1, "maxLength": 20},
        "status": {"enum": ["new", "paid", "shipped"]},
        "total": {"type": "number"},
        "paid": {"type": "boolean"},
        "note": {"type": ["string", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 4},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"}, "qty": {"type": "integer"}},
                "required": ["sku", "qty"],
                "additionalProperties": False,
            },
        },
        "attributes": {"type": "object", "additionalProperties": {"type": ["number", "string", "boolean"]}},
    },
    "required": ["id", "customer", "status"],
    "additionalProperties": False,
}

_finite = st.floats(allow_nan=False, allow_infinity=False)
_order = st.fixed_dictionaries(
    {
        "id": st.integers(1, 2**70),
        "customer": st.text(min_size=1, max_size=20).filter(lambda s: 1 <= len(s) <= 20),
        "status": st.sampled_from(["new", "paid", "shipped"]),
    },
    optional={
        "total": _finite | st.integers(-(2**64), 2**64),
        "paid": st.booleans(),
        "note": st.none() | st.text(max_size=10),
        "tags": st.lists(st.text(max_size=5), unique=True, max_size=4),
        "lines": st.lists(
            st.fixed_dictionaries(
                {"sku": st.from_regex(r"\A[A-Z]{3}-[0-9]{2}\Z"), "qty": st.integers(-(10**6), 10**6)}
            ),
            max_size=3,
        ),
        "attributes": st.dictionaries(st.text(max_size=6), _finite | st.text(max_size=4) | st.booleans(), max_size=3),
    },
)


@pytest.fixture(scope="module")
def order_schema() -> JsonSchema:
    return JsonSchema(json.dumps(ORDER_SCHEMA))


@settings(max_examples=60, deadline=None)
@given(value=_order)
def test_json_schema_values_round_trip(order_schema: JsonSchema, value: dict[str, Any]) -> None:
    body = order_schema.encode(value)
    decoded = order_schema.decode(body)  # validated again on the way in
    assert decoded == value
    assert json.loads(to_json_text(decoded)) == value  # and what consume writes of it
    assert order_schema.encode(decoded) == body


@given(value=_order, bad=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_json_schema_refuses_what_json_cannot_write(
    order_schema: JsonSchema, value: dict[str, Any], bad: float
) -> None:
    # Python's json would write NaN/Infinity, which no JSON reader (nor the registry's) takes.
    with pytest.raises(Mismatch) as e:
        order_schema.encode({**value, "total": bad})
    assert e.value.path == ".total" and "finite" in e.value.reason
    with pytest.raises(Mismatch) as e:
        order_schema.encode({**value, "attributes": {"ok": 1, "x": bad}})
    assert e.value.path == ".attributes.x"


def test_json_schema_refuses_an_unpaired_surrogate(order_schema: JsonSchema) -> None:
    # json.loads makes one of the escape "\\ud800"; UTF-8 cannot hold it.
    value = json.loads('{"id": 1, "customer": "c", "status": "new", "tags": ["ok", "\\ud800"]}')
    with pytest.raises(Mismatch) as e:
        order_schema.encode(value)
    assert e.value.path == ".tags[1]" and "surrogate" in e.value.reason


def test_json_schema_refuses_an_invalid_value_both_ways(order_schema: JsonSchema) -> None:
    with pytest.raises(Mismatch):
        order_schema.encode({"id": 0, "customer": "c", "status": "new"})
    with pytest.raises(Mismatch):
        order_schema.decode(b'{"id":1,"customer":"c","status":"lost"}')


def test_a_descriptor_of_the_schema_decodes_the_same(message: protobuf.ProtoMessage) -> None:
    # The schema read back from its compiled descriptor (what --descriptor-set gives) agrees.
    from google.protobuf import descriptor_pb2

    proto = descriptor_pb2.FileDescriptorProto()
    message.descriptor.file.CopyToProto(proto)
    again = protobuf.ProtoFile([proto], None).message("prop.All", "")
    body = message.encode({"i64": "5", "colour": "RED", "inner": {"label": "x", "delta": -3}})
    assert again.decode(body) == message.decode(body)
