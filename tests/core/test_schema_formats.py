"""JSON Schema and Protobuf codecs, and how a schema file's type is told (no registry, no broker)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mqcli.core.schema import protobuf
from mqcli.core.schema.codec import file_type
from mqcli.core.schema.common import Mismatch, SchemaInvalid, json_path
from mqcli.core.schema.json_schema import JsonSchema

# -- JSON Schema ---------------------------------------------------------------------

ORDER = {
    "title": "Order",
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "items": {"type": "array", "items": {"type": "object", "properties": {"price": {"type": "number"}}}},
    },
    "required": ["id"],
    "additionalProperties": False,
}


def test_json_path() -> None:
    assert json_path(["items", 3, "price"]) == ".items[3].price" and json_path([]) == ""


@pytest.mark.parametrize(
    ("value", "path", "reason"),
    [
        ({"id": "x"}, ".id", "'x' is not of type 'integer'"),
        ({"id": 1, "items": [{}, {"price": "1"}]}, ".items[1].price", "'1' is not of type 'number'"),
        ({}, ".", "'id' is a required property"),
        ({"id": 1, "extra": 2}, ".", "Additional properties are not allowed ('extra' was unexpected)"),
        ([], ".", "[] is not of type 'object'"),
    ],
)
def test_json_schema_mismatch_names_path_and_reason(value: Any, path: str, reason: str) -> None:
    with pytest.raises(Mismatch) as e:
        JsonSchema(json.dumps(ORDER)).encode(value)
    assert (e.value.path, e.value.reason) == (path, reason)


def test_json_schema_body_is_compact_json_and_decodes_back() -> None:
    s = JsonSchema(json.dumps(ORDER))
    body = s.encode({"id": 1, "items": [{"price": 2.5}]})
    assert body == b'{"id":1,"items":[{"price":2.5}]}' and s.decode(body) == {"id": 1, "items": [{"price": 2.5}]}
    assert s.name == "Order"
    with pytest.raises(ValueError):
        s.decode(b"not json")


def test_a_long_reason_is_cut_to_one_short_line() -> None:
    with pytest.raises(Mismatch) as e:
        JsonSchema('{"type": "string"}').encode({"k": "v" * 500})
    assert len(e.value.reason) <= 200 and "\n" not in e.value.reason


@pytest.mark.parametrize(
    "text", ["not json", "[1]", '{"type": 5}', '{"$schema": "http://json-schema.org/draft-07/schema#", "minimum": "x"}']
)
def test_invalid_json_schemas(text: str) -> None:
    with pytest.raises(SchemaInvalid):
        JsonSchema(text)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
    )
)
def test_any_json_round_trips_through_an_open_schema(value: Any) -> None:
    s = JsonSchema("{}")
    assert s.decode(s.encode(value)) == value


# -- Protobuf ------------------------------------------------------------------------

PROTO = """syntax = "proto3";
package t;
import "google/protobuf/wrappers.proto";
message A {
  message B { message C { int32 x = 1; } C c = 1; }
  B b = 1;
  int64 n = 2;
  google.protobuf.Int32Value w = 3;
}
message D { repeated A as = 1; map<string, int32> m = 2; }
"""


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> protobuf.ProtoFile:
    path = tmp_path_factory.mktemp("p") / "t.proto"
    path.write_text(PROTO)
    return protobuf.from_file(str(path), [])


def test_message_indexes_follow_the_nesting(schema: protobuf.ProtoFile) -> None:
    assert schema.top_level == ["t.A", "t.D"]
    assert schema.message("t.A", "").indexes == [0]
    assert schema.message("t.D", "").indexes == [1]
    assert schema.message("t.A.B.C", "").indexes == [0, 0, 0]
    assert schema.at([0, 0, 0]).name == "t.A.B.C" and schema.at([1]).name == "t.D"
    with pytest.raises(ValueError):
        schema.at([2])


def test_message_choice(schema: protobuf.ProtoFile) -> None:
    with pytest.raises(SchemaInvalid, match=r"defines 2 messages \(t.A, t.D\): give --message-type"):
        schema.message(None, "--message-type")
    with pytest.raises(SchemaInvalid, match=r"has no message t\.X"):
        schema.message("t.X", "")


def test_canonical_json_both_ways(schema: protobuf.ProtoFile) -> None:
    d = schema.message("t.D", "")
    value = {"as": [{"b": {"c": {"x": 3}}, "n": "9007199254740993", "w": 5}], "m": {"k": 1}}
    assert d.decode(d.encode(value)) == value
    a = schema.message("t.A", "")
    assert a.decode(a.encode({})) == {"n": "0"}  # presence-less fields with their defaults; messages left out


@pytest.mark.parametrize(
    ("value", "path"),
    [({"as": [{"n": "x"}]}, ".as.n"), ({"nope": 1}, ".nope"), ({"m": {"k": "v"}}, ".m"), (5, ".")],
)
def test_protobuf_mismatch_names_the_field(schema: protobuf.ProtoFile, value: Any, path: str) -> None:
    with pytest.raises(Mismatch) as e:
        schema.message("t.D", "").encode(value)
    assert e.value.path == path


def test_registry_text_may_be_a_base64_descriptor(schema: protobuf.ProtoFile) -> None:
    a = schema.message("t.A", "")
    text = base64.b64encode(a.descriptor.file.serialized_pb).decode()
    again = protobuf.from_registry(text, {})
    assert again.top_level == ["t.A", "t.D"] and again.at([0]).decode(a.encode({"n": 4})) == {"n": "4"}


def test_registry_text_with_a_reference() -> None:
    main = 'syntax = "proto3";\nimport "dep/m.proto";\nmessage P { m.M m = 1; }\n'
    dep = 'syntax = "proto3";\npackage m;\nmessage M { string s = 1; }\n'
    p = protobuf.from_registry(main, {"dep/m.proto": dep})
    assert p.top_level == ["P"] and p.imports(p.main or "") == ["dep/m.proto"]
    with pytest.raises(SchemaInvalid, match=r"dep/m\.proto"):
        protobuf.from_registry(main, {})


def test_protoc_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.proto"
    bad.write_text('syntax = "proto3";\nmessage M { int32 = 1; }\n')
    with pytest.raises(SchemaInvalid, match=r"bad\.proto:2:"):
        protobuf.from_file(str(bad), [])
    with pytest.raises(SchemaInvalid, match=r"schema\.proto:1:"):
        protobuf.from_registry("message {", {})


def test_descriptor_set_garbage_is_invalid() -> None:
    with pytest.raises(SchemaInvalid):
        protobuf.from_descriptor_set(b"\xff\xff\xff")


# -- telling a schema file's type --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("a.avsc", "", "AVRO"),
        ("a.proto", "", "PROTOBUF"),
        ("a.desc", None, "PROTOBUF"),
        ("a.json", '{"type": "record", "name": "R", "fields": []}', "AVRO"),
        ("a.json", '["null", "string"]', "AVRO"),
        ("a.json", '{"type": "object"}', "JSON"),
        ("a.json", "not json", "JSON"),
    ],
)
def test_file_type(name: str, text: str | None, kind: str) -> None:
    assert file_type(name, text) == kind
