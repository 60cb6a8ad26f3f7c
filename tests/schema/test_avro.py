"""Avro through a real schema registry (Apicurio, Confluent API) and a real
Kafka broker, both engines: `kafka produce` encodes, `consume` and
`group-consume` decode; records the test encodes itself (fastavro + the
wire format written out by hand) decode in mqcli."""

from __future__ import annotations

import io
import json
import socket
import struct
from pathlib import Path
from typing import Any

import fastavro

from tests.kafka.conftest import BOOTSTRAP, records, write_profile
from tests.schema.conftest import rest

ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}

KEY = {"type": "record", "name": "Key", "namespace": "shop", "fields": [{"name": "k", "type": "string"}]}


def schema_file(tmp_path: Path, schema: Any = ORDER, name: str = "order.avsc") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(schema))
    return str(path)


def send_raw(topic: str, values: list[tuple[bytes | None, bytes | None]]) -> None:
    """Write (key, value) records with kafka-python directly: bytes exactly as given."""
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=BOOTSTRAP)
    for k, v in values:
        p.send(topic, key=k, value=v)
    p.flush()
    p.close()


def framed(schema_id: int, schema: Any, value: Any) -> bytes:
    """The Confluent wire form, built here independently of mqcli."""
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), value)
    return struct.pack(">bI", 0, schema_id) + buf.getvalue()


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_produce_avro_then_consume_decoded(cli: Any, topic: str, tmp_path: Path) -> None:
    r = cli(
        "kafka", "produce", topic, "--value-schema", schema_file(tmp_path),
        input='{"id": 1, "price": "12.5"}\n{"id": 2, "price": 3, "note": "gift"}\n',
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    subject = f"{topic}-value"
    latest = rest("GET", f"/subjects/{subject}/versions/latest")
    # What went to Kafka is the wire format with the registered id.
    raw = [rec.value for rec in records(BOOTSTRAP, topic)]
    assert all(v[0] == 0 and struct.unpack(">I", v[1:5])[0] == latest["id"] for v in raw)

    r = cli("kafka", "consume", topic, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    got = jsonl(r.stdout)
    assert [g["value"] for g in got] == [
        {"id": 1, "price": "12.50", "note": None},
        {"id": 2, "price": "3.00", "note": "gift"},
    ]
    assert got[0]["value_schema"] == {
        "id": latest["id"],
        "subject": subject,
        "version": latest["version"],
        "type": "AVRO",
    }
    assert "value_encoding" not in got[0]

    # raw output and templates print the decoded JSON text; --match sees it.
    r = cli("kafka", "consume", topic, "-e")
    assert r.stdout == '{"id":1,"price":"12.50","note":null}\n{"id":2,"price":"3.00","note":"gift"}\n'
    r = cli("kafka", "consume", topic, "-e", "--match", '"note":"gift"', "--format", "{offset} {value}")
    assert r.exit_code == 0 and r.stdout == '1 {"id":2,"price":"3.00","note":"gift"}\n'


def test_group_consume_decodes(cli: Any, topic: str, tmp_path: Path, unique_name: Any) -> None:
    assert (
        cli(
            "kafka", "produce", topic, "--value-schema", schema_file(tmp_path), input='{"id": 5, "price": "1"}\n'
        ).exit_code
        == 0
    )
    r = cli("kafka", "group-consume", "--group", unique_name("g"), topic, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    (obj,) = jsonl(r.stdout)
    assert obj["value"] == {"id": 5, "price": "1.00", "note": None} and obj["value_schema"]["type"] == "AVRO"


def test_group_consume_exec_sees_decoded_text(cli: Any, topic: str, tmp_path: Path, unique_name: Any) -> None:
    assert (
        cli(
            "kafka", "produce", topic, "--value-schema", schema_file(tmp_path), input='{"id": 6, "price": "2"}\n'
        ).exit_code
        == 0
    )
    out = tmp_path / "seen"
    r = cli("kafka", "group-consume", "--group", unique_name("g"), topic, "-e", "--exec", f"cat >> {out}")
    assert r.exit_code == 0, r.stderr
    assert json.loads(out.read_text()) == {"id": 6, "price": "2.00", "note": None}


def test_records_encoded_elsewhere_decode_keys_and_values(cli: Any, topic: str) -> None:
    key_schema = {"type": "record", "name": "Key", "fields": [{"name": "k", "type": "string"}]}
    value_schema = {
        "type": "record",
        "name": "Event",
        "fields": [
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
            {"name": "blob", "type": "bytes"},
            {"name": "tag", "type": {"type": "fixed", "name": "Tag", "size": 2}},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        ],
    }
    kid = rest("POST", f"/subjects/{topic}-key/versions", {"schema": json.dumps(key_schema)})["id"]
    vid = rest("POST", f"/subjects/{topic}-value/versions", {"schema": json.dumps(value_schema)})["id"]
    value = {"at": 1796083200250, "kind": "B", "blob": b"\x00\xff", "tag": b"ab", "day": 20423}
    send_raw(topic, [(framed(kid, key_schema, {"k": "x1"}), framed(vid, value_schema, value))])

    r = cli("kafka", "consume", topic, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    (obj,) = jsonl(r.stdout)
    assert obj["key"] == {"k": "x1"} and obj["key_schema"]["id"] == kid
    assert obj["value"] == {
        "at": "2026-12-01T00:00:00.250000+00:00",
        "kind": "B",
        "blob": "AP8=",
        "tag": "YWI=",
        "day": "2025-12-01",
    }
    assert obj["value_schema"] == {"id": vid, "subject": f"{topic}-value", "version": 1, "type": "AVRO"}


def test_auto_leaves_what_is_not_avro_as_bytes(cli: Any, topic: str) -> None:
    sid = rest("POST", f"/subjects/{topic}-value/versions", {"schema": '"string"'})["id"]
    unknown = b"\x00\x7f\xff\xff\xf0zz"  # magic byte 0, an id the registry does not have
    short = b"\x00\x01"
    send_raw(topic, [(None, b"plain"), (None, framed(sid, "string", "avro!")), (None, unknown), (None, short)])
    r = cli("kafka", "consume", topic, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    got = jsonl(r.stdout)
    assert got[0]["value"] == "plain" and "value_schema" not in got[0]
    assert got[1]["value"] == "avro!" and got[1]["value_schema"]["id"] == sid
    assert "value_schema" not in got[2] and "value_schema" not in got[3]
    # --value-format raw: the bytes as they are, even with a registry.
    r = cli("kafka", "consume", topic, "-e", "--value-format", "raw", "-o", "json")
    raw = jsonl(r.stdout)[1]
    assert raw["value"] == framed(sid, "string", "avro!").decode() and "value_schema" not in raw


def test_strict_avro_names_partition_and_offset(cli: Any, topic: str) -> None:
    sid = rest("POST", f"/subjects/{topic}-value/versions", {"schema": '"long"'})["id"]
    send_raw(topic, [(None, framed(sid, "long", 7)), (None, b"not avro"), (None, framed(sid, "long", 8))])
    r = cli("kafka", "consume", topic, "-e", "--value-format", "avro")
    assert r.exit_code == 7
    assert r.stdout == "7\n"
    assert f"{topic}[0]@1" in r.stderr and "not Avro" in r.stderr and "Traceback" not in r.stderr

    r = cli("kafka", "consume", topic, "-e", "--value-format", "avro", "--skip-invalid")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "7\n8\n"
    assert "skipped" in r.stderr and f"{topic}[0]@1" in r.stderr


def test_strict_avro_unknown_schema_id_is_exit_6(cli: Any, topic: str) -> None:
    send_raw(topic, [(None, b"\x00\x7f\xff\xff\xf1\x02")])
    r = cli("kafka", "consume", topic, "-e", "--value-format", "avro")
    assert r.exit_code == 6
    assert f"{topic}[0]@0" in r.stderr and "2147483633" in r.stderr


def test_registry_down_is_exit_4_naming_url_and_profile(cli: Any, topic: str, tmp_path: Path, monkeypatch: Any) -> None:
    url = f"http://127.0.0.1:{closed_port()}/apis/ccompat/v7"
    cfg = write_profile(tmp_path, "prod", {"bootstrap_servers": BOOTSTRAP, "schema_registry": {"url": url}})
    monkeypatch.delenv("MQCLI_KAFKA_SCHEMA_REGISTRY_URL")
    monkeypatch.setenv("MQCLI_CONFIG", str(cfg))
    r = cli(
        "kafka",
        "produce",
        topic,
        "--profile",
        "prod",
        "--value-schema",
        schema_file(tmp_path),
        input='{"id": 1, "price": "1"}\n',
    )
    assert r.exit_code == 4
    assert url in r.stderr and "prod" in r.stderr and "Traceback" not in r.stderr
    assert records(BOOTSTRAP, topic) == []

    send_raw(topic, [(None, b"\x00\x00\x00\x00\x01\x02")])
    r = cli("kafka", "consume", topic, "--profile", "prod", "-e", "--value-format", "avro")
    assert r.exit_code == 4 and url in r.stderr and "prod" in r.stderr
    # auto never asks the registry about values that are not framed.
    send_raw(topic, [(None, b"plain")])
    r = cli("kafka", "consume", topic, "--profile", "prod", "-e", "--offset", "1")
    assert r.exit_code == 0 and r.stdout == "plain\n"


def test_schema_registry_option_overrides_the_profile(
    cli: Any, topic: str, tmp_path: Path, registry: str, monkeypatch: Any
) -> None:
    monkeypatch.setenv("MQCLI_KAFKA_SCHEMA_REGISTRY_URL", f"http://127.0.0.1:{closed_port()}")
    r = cli(
        "kafka", "produce", topic, "--schema-registry", registry, "--value-schema", schema_file(tmp_path),
        input='{"id": 1, "price": "1"}\n',
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    r = cli("kafka", "consume", topic, "-e", "--schema-registry", registry)
    assert r.stdout == '{"id":1,"price":"1.00","note":null}\n'


def test_invalid_record_names_line_and_field_and_nothing_after_is_sent(cli: Any, topic: str, tmp_path: Path) -> None:
    lines = '{"id": 1, "price": "1"}\n{"id": 2, "price": "1.234"}\n{"id": 3, "price": "3"}\n'
    r = cli("kafka", "produce", topic, "--value-schema", schema_file(tmp_path), input=lines)
    assert r.exit_code == 7
    assert "line 2: value.price: expected decimal with at most 2 decimal place(s)" in r.stderr
    assert len(records(BOOTSTRAP, topic)) == 1

    r = cli("kafka", "produce", topic, "--value-schema", schema_file(tmp_path), "--skip-invalid", input=lines)
    assert r.exit_code == 0, r.stderr
    assert "skipped: line 2" in r.stderr
    got = jsonl(cli("kafka", "consume", topic, "-e", "-o", "json").stdout)
    assert [g["value"]["id"] for g in got] == [1, 1, 3]


def test_subject_version_and_id_choices(cli: Any, topic: str, tmp_path: Path) -> None:
    subject = f"{topic}-value"
    v1 = rest("POST", f"/subjects/{subject}/versions", {"schema": '"string"'})
    v2 = rest("POST", f"/subjects/{subject}/versions", {"schema": '"long"'})
    assert cli("kafka", "produce", topic, "--value-subject", subject, input="5\n").exit_code == 0
    assert (
        cli(
            "kafka", "produce", topic, "--value-subject", subject, "--value-schema-version", "1", input='"s"\n'
        ).exit_code
        == 0
    )
    assert cli("kafka", "produce", topic, "--value-schema-id", str(v2["id"]), input="6\n").exit_code == 0
    got = jsonl(cli("kafka", "consume", topic, "-e", "-o", "json").stdout)
    assert [(g["value"], g["value_schema"]["id"]) for g in got] == [(5, v2["id"]), ("s", v1["id"]), (6, v2["id"])]

    r = cli("kafka", "produce", topic, "--value-subject", f"{topic}-nope", input="5\n")
    assert r.exit_code == 6 and "nope" in r.stderr
    r = cli("kafka", "produce", topic, "--value-schema-id", "2147483000", input="5\n")
    assert r.exit_code == 6
    r = cli("kafka", "produce", topic, "--value-schema", schema_file(tmp_path), "--no-register", input="{}\n")
    assert r.exit_code == 6 and "--no-register" in r.stderr
    assert len(records(BOOTSTRAP, topic)) == 3


def test_key_schema_and_record_subject_strategy(cli: Any, topic: str, tmp_path: Path) -> None:
    r = cli(
        "kafka", "produce", topic, "-i", "jsonl", "--key-schema", schema_file(tmp_path, KEY, "k.avsc"),
        "--value-schema", schema_file(tmp_path), "--subject-strategy", "topic-record",
        input='{"key": {"k": "k1"}, "value": {"id": 9, "price": "9"}}\n',
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert rest("GET", f"/subjects/{topic}-shop.Order/versions/latest")["version"] == 1
    (obj,) = jsonl(cli("kafka", "consume", topic, "-e", "-o", "json").stdout)
    assert obj["key"] == {"k": "k1"} and obj["value"]["id"] == 9
    assert obj["key_schema"]["subject"] == f"{topic}-shop.Key"


def test_registry_4xx_is_exit_1_with_its_message(cli: Any, topic: str, tmp_path: Path) -> None:
    subject = f"{topic}-value"
    rest("PUT", f"/config/{subject}", {"compatibility": "FULL"})
    rest("POST", f"/subjects/{subject}/versions", {"schema": json.dumps(ORDER)})
    incompatible = {**ORDER, "fields": [{"name": "id", "type": "string"}]}
    r = cli("kafka", "produce", topic, "--value-schema", schema_file(tmp_path, incompatible), input='{"id": "x"}\n')
    assert r.exit_code == 1, r.stderr
    (line,) = [x for x in r.stderr.splitlines() if "error" in x]
    assert "answered 409" in line and "Traceback" not in r.stderr


def test_round_trip_consume_json_into_produce_jsonl(cli: Any, make_topic: Any, tmp_path: Path) -> None:
    src, dst = make_topic(1), make_topic(1)
    assert (
        cli(
            "kafka",
            "produce",
            src,
            "--value-schema",
            schema_file(tmp_path),
            input='{"id": 1, "price": "1"}\n{"id": 2, "price": "2"}\n',
        ).exit_code
        == 0
    )
    dump = cli("kafka", "consume", src, "-e", "-o", "json").stdout
    r = cli("kafka", "produce", dst, "-i", "jsonl", "--value-format", "avro", input=dump)
    assert r.exit_code == 0, r.stderr
    a, b = jsonl(dump), jsonl(cli("kafka", "consume", dst, "-e", "-o", "json").stdout)
    assert [x["value"] for x in a] == [x["value"] for x in b]
    assert {x["value_schema"]["id"] for x in b} == {a[0]["value_schema"]["id"]}


def test_registry_password_is_masked(cli: Any, tmp_path: Path, monkeypatch: Any) -> None:
    cfg = write_profile(
        tmp_path, "prod",
        {"schema_registry": {"url": "https://sr.example:8081", "username": "me", "password": "s3cr3t-pw"}},
    )  # fmt: skip
    monkeypatch.setenv("MQCLI_CONFIG", str(cfg))
    for args in (("config", "show", "prod"), ("config", "show", "prod", "-o", "json")):
        r = cli(*args)
        assert r.exit_code == 0, r.stderr
        assert "s3cr3t-pw" not in r.stdout + r.stderr and "****" in r.stdout
    monkeypatch.setenv("MQCLI_KAFKA_SCHEMA_REGISTRY_TIMEOUT", "soon")
    r = cli("config", "show", "prod")
    assert r.exit_code == 3 and "MQCLI_KAFKA_SCHEMA_REGISTRY_TIMEOUT" in r.stderr
