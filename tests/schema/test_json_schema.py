"""JSON Schema through the registry (Apicurio) and a real Kafka broker, both
engines: `kafka produce --value-format json-schema` validates and frames,
`consume`/`group-consume` decode (auto and strict); bodies framed here by hand
decode in mqcli."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from tests.kafka.conftest import BOOTSTRAP, records
from tests.schema.conftest import rest
from tests.schema.test_avro import jsonl, send_raw

ORDER = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Order",
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"price": {"type": "number"}}, "required": ["price"]},
        },
    },
    "required": ["id"],
}


def schema_file(tmp_path: Path, schema: Any = ORDER, name: str = "order.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(schema))
    return str(path)


def test_produce_json_schema_then_consume_decoded(cli: Any, topic: str, tmp_path: Path) -> None:
    r = cli(
        "kafka", "produce", topic, "--value-schema", schema_file(tmp_path),
        input='{"id": 1, "items": [{"price": 2.5}]}\n{"id": 2}\n',
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    latest = rest("GET", f"/subjects/{topic}-value/versions/latest")
    assert latest.get("schemaType") == "JSON"
    raw = [rec.value for rec in records(BOOTSTRAP, topic)]
    # The wire header, then the JSON text itself.
    assert raw[1] == struct.pack(">bI", 0, latest["id"]) + b'{"id":2}'

    r = cli("kafka", "consume", topic, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    got = jsonl(r.stdout)
    assert [g["value"] for g in got] == [{"id": 1, "items": [{"price": 2.5}]}, {"id": 2}]
    assert got[0]["value_schema"] == {
        "id": latest["id"],
        "subject": f"{topic}-value",
        "version": latest["version"],
        "type": "JSON",
    }
    r = cli("kafka", "consume", topic, "-e", "--value-format", "json-schema")
    assert r.exit_code == 0 and r.stdout == '{"id":1,"items":[{"price":2.5}]}\n{"id":2}\n', r.stderr


def test_group_consume_decodes_json_schema(cli: Any, topic: str, tmp_path: Path, unique_name: Any) -> None:
    r = cli(
        "kafka", "produce", topic, "--value-format", "json-schema", "--value-schema", schema_file(tmp_path), '{"id": 3}'
    )
    assert r.exit_code == 0, r.stderr
    r = cli("kafka", "group-consume", "--group", unique_name("g"), topic, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    (obj,) = jsonl(r.stdout)
    assert obj["value"] == {"id": 3} and obj["value_schema"]["type"] == "JSON"


def test_invalid_record_names_line_and_field_path(cli: Any, topic: str, tmp_path: Path) -> None:
    r = cli(
        "kafka", "produce", topic, "--value-schema", schema_file(tmp_path),
        input='{"id": 1}\n{"id": 2, "items": [{"price": 1}, {"price": "x"}]}\n{"id": 3}\n',
    )  # fmt: skip
    assert r.exit_code == 7, r.stderr
    assert "line 2: value.items[1].price: 'x' is not of type 'number'" in r.stderr, r.stderr
    assert [rec.value[5:] for rec in records(BOOTSTRAP, topic)] == [b'{"id":1}']
    r = cli("kafka", "produce", topic, "--value-schema", schema_file(tmp_path), "--skip-invalid", input='{"x": 1}\n')
    assert r.exit_code == 0 and "skipped: line 1: value: 'id' is a required property" in r.stderr, r.stderr


def test_subject_and_id_choices_and_key(cli: Any, topic: str, tmp_path: Path) -> None:
    key = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "string", "title": "Key"}
    assert cli("kafka", "produce", topic, "--value-schema", schema_file(tmp_path), '{"id": 1}').exit_code == 0
    latest = rest("GET", f"/subjects/{topic}-value/versions/latest")
    r = cli(
        "kafka", "produce", topic, "--value-subject", f"{topic}-value", "--key-schema",
        schema_file(tmp_path, key, "key.json"), "-K", ":", input='"k":{"id": 2}\n',
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    r = cli("kafka", "produce", topic, "--value-schema-id", str(latest["id"]), '{"id": 3}')
    assert r.exit_code == 0, r.stderr
    r = cli("kafka", "consume", topic, "-e", "-o", "json")
    got = jsonl(r.stdout)
    assert [g["value"]["id"] for g in got] == [1, 2, 3]
    assert got[1]["key"] == "k" and got[1]["key_schema"]["type"] == "JSON"
    # A registry schema of another type than the format asked for is a usage error.
    r = cli("kafka", "produce", topic, "--value-format", "avro", "--value-schema-id", str(latest["id"]), "{}")
    assert r.exit_code == 2 and "is JSON, not avro" in r.stderr, r.stderr


def test_records_framed_elsewhere_decode_and_strict_refuses_what_does_not_validate(
    cli: Any, topic: str, tmp_path: Path
) -> None:
    schema_id = rest("POST", f"/subjects/{topic}-value/versions", {"schema": json.dumps(ORDER), "schemaType": "JSON"})[
        "id"
    ]
    head = struct.pack(">bI", 0, schema_id)
    send_raw(topic, [(None, head + b'{"id": 9}'), (None, head + b'{"id": "nine"}'), (None, b"plain")])
    r = cli("kafka", "consume", topic, "-e")  # auto: what does not validate stays as it is
    assert r.exit_code == 0 and r.stdout.splitlines()[0] == '{"id":9}' and r.stdout.endswith("plain\n"), r.stdout
    r = cli("kafka", "consume", topic, "-e", "--value-format", "json-schema")
    assert r.exit_code == 7 and f"{topic}[0]@1: value does not decode with schema {schema_id}" in r.stderr, r.stderr
    r = cli("kafka", "consume", topic, "-e", "--value-format", "json-schema", "--skip-invalid")
    assert r.exit_code == 0 and r.stdout == '{"id":9}\n', r.stderr
    assert "skipped:" in r.stderr and f"{topic}[0]@2: value is not JSON Schema in the wire format" in r.stderr


def test_round_trip_consume_json_into_produce_jsonl(cli: Any, make_topic: Any, tmp_path: Path) -> None:
    a, b = make_topic(1), make_topic(1)
    assert cli("kafka", "produce", a, "--value-schema", schema_file(tmp_path), '{"id": 4}').exit_code == 0
    out = cli("kafka", "consume", a, "-e", "-o", "json").stdout
    r = cli("kafka", "produce", b, "-i", "jsonl", "--value-format", "json-schema", input=out)
    assert r.exit_code == 0, r.stderr
    assert records(BOOTSTRAP, b)[0].value == records(BOOTSTRAP, a)[0].value
