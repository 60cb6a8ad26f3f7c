"""Schema formats without a registry: `--value-schema FILE` (and `--descriptor-set`) with no
registry in the profile encodes and decodes bare bodies (no wire-format header), both engines."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import pytest

from tests.kafka.conftest import BOOTSTRAP, records
from tests.schema.test_avro import ORDER as AVRO_ORDER
from tests.schema.test_avro import jsonl, send_raw
from tests.schema.test_avro import schema_file as avro_file
from tests.schema.test_json_schema import schema_file as json_file
from tests.schema.test_protobuf import compiled, message_class, proto_file


@pytest.fixture(autouse=True)
def no_registry(registry_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MQCLI_KAFKA_SCHEMA_REGISTRY_URL")


def test_avro_bare_both_ways(cli: Any, topic: str, tmp_path: Path) -> None:
    schema = avro_file(tmp_path)
    r = cli("kafka", "produce", topic, "--value-schema", schema, input='{"id": 1, "price": "2.5"}\n')
    assert r.exit_code == 0, r.stderr
    (rec,) = records(BOOTSTRAP, topic)
    # No header: the schemaless Avro body alone, as fastavro reads it.
    got = fastavro.schemaless_reader(io.BytesIO(rec.value), fastavro.parse_schema(AVRO_ORDER), None)
    assert got["id"] == 1 and str(got["price"]) == "2.50"
    r = cli("kafka", "consume", topic, "-e", "--value-schema", schema, "-o", "json")
    assert r.exit_code == 0, r.stderr
    (obj,) = jsonl(r.stdout)
    assert obj["value"] == {"id": 1, "price": "2.50", "note": None} and "value_schema" not in obj


def test_protobuf_bare_with_message_type_and_descriptor_set(
    cli: Any, topic: str, tmp_path: Path, unique_name: Any
) -> None:
    proto = proto_file(tmp_path)
    r = cli("kafka", "produce", topic, "--value-schema", proto, "--message-type", "shop.Refund", '{"orderId": 5}')
    assert r.exit_code == 0, r.stderr
    (rec,) = records(BOOTSTRAP, topic)
    assert message_class(tmp_path, "shop.Refund").FromString(rec.value).order_id == 5
    desc = tmp_path / "order.desc"
    desc.write_bytes(compiled(tmp_path, proto))
    for args in (("--value-schema", proto), ("--descriptor-set", str(desc)), ("--value-schema", str(desc))):
        r = cli(
            "kafka", "group-consume", "--group", unique_name("g"), topic, "-e", *args, "--message-type", "shop.Refund"
        )
        assert r.exit_code == 0 and r.stdout == '{"orderId":"5","note":""}\n', (args, r.stderr)
    r = cli("kafka", "produce", topic, "--descriptor-set", str(desc), "--message-type", "shop.Refund", '{"orderId": 6}')
    assert r.exit_code == 0, r.stderr
    assert message_class(tmp_path, "shop.Refund").FromString(records(BOOTSTRAP, topic)[1].value).order_id == 6


def test_json_schema_bare_validates_both_ways(cli: Any, topic: str, tmp_path: Path) -> None:
    schema = json_file(tmp_path)
    r = cli("kafka", "produce", topic, "--value-schema", schema, input='{"id": 1}\n{"id": "x"}\n')
    assert r.exit_code == 7 and "line 2: value.id: 'x' is not of type 'integer'" in r.stderr, r.stderr
    send_raw(topic, [(None, b'{"id": "y"}')])
    assert [rec.value for rec in records(BOOTSTRAP, topic)] == [b'{"id":1}', b'{"id": "y"}']
    r = cli("kafka", "consume", topic, "-e", "--value-schema", schema)
    assert r.exit_code == 7 and f"{topic}[0]@1: value does not decode with the value schema" in r.stderr, r.stderr
    r = cli("kafka", "consume", topic, "-e", "--value-schema", schema, "--skip-invalid")
    assert r.exit_code == 0 and r.stdout == '{"id":1}\n', r.stderr


def test_bare_keys(cli: Any, topic: str, tmp_path: Path) -> None:
    key = tmp_path / "key.avsc"
    key.write_text(json.dumps({"type": "record", "name": "K", "fields": [{"name": "k", "type": "string"}]}))
    r = cli("kafka", "produce", topic, "--key-schema", str(key), "-K", "\t", input='{"k": "a"}\tv\n')
    assert r.exit_code == 0, r.stderr
    assert records(BOOTSTRAP, topic)[0].key == b"\x02a"
    r = cli("kafka", "consume", topic, "-e", "--key-schema", str(key), "-o", "json")
    assert r.exit_code == 0 and jsonl(r.stdout)[0]["key"] == {"k": "a"}, r.stderr


def test_subject_or_id_without_a_registry_is_a_usage_error(cli: Any, topic: str) -> None:
    r = cli("kafka", "produce", topic, "--value-format", "protobuf", "{}")
    assert r.exit_code == 2 and "needs a schema registry" in r.stderr and "--value-schema FILE" in r.stderr
    r = cli("kafka", "consume", topic, "-e", "--value-format", "json-schema")
    assert r.exit_code == 2 and "needs a schema registry" in r.stderr, r.stderr
