"""`mqcli move`/`copy` with schema-encoded records, against the real broker and
the local registries (Apicurio: 127.0.0.1:8081 without authentication, and the
second one of `make brokers` on 8083 with it): values in the Confluent wire
format pass through untouched, byte for byte (Kafka -> Kafka, and Kafka ->
RabbitMQ -> Kafka); --value-format re-encodes them for the target: the same
schema registered in the target profile's registry, a bare body with its
content type on RabbitMQ, or the decoded JSON text."""

from __future__ import annotations

import base64
import json
import os
import struct
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Run
from tests.kafka.conftest import records
from tests.rabbit.conftest import Amqp
from tests.schema.conftest import registry, rest  # noqa: F401 (fixture)
from tests.schema.test_avro import KEY, schema_file
from tests.schema.test_registry_auth import AUTH_REGISTRY, DEVELOPER, auth_registry  # noqa: F401 (fixture)

VALUES = [{"id": i, "price": f"{i}.25", "note": None if i % 2 else f"n{i}"} for i in range(6)]
DECODED = [{"id": v["id"], "price": v["price"], "note": v["note"]} for v in VALUES]


@pytest.fixture(autouse=True)
def with_registry(registry: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The built-in profile's registry: the local one without authentication."""
    monkeypatch.setenv("MQCLI_KAFKA_SCHEMA_REGISTRY_URL", registry)
    return registry


def _produce_avro(cli: Callable[..., Run], topic: str, tmp_path: Path) -> None:
    lines = "".join(json.dumps({"key": f"k{v['id']}", "value": v}) + "\n" for v in VALUES)
    r = cli("kafka", "produce", topic, "-i", "jsonl", "--value-schema", schema_file(tmp_path), input=lines)
    assert r.exit_code == 0, r.stderr


def _raw(bootstrap: str, topic: str) -> list[tuple[Any, Any, list[tuple[str, bytes]], int]]:
    return [(r.key, r.value, list(r.headers), r.timestamp) for r in records(bootstrap, topic)]


def _schema_id(value: bytes) -> int:
    assert value[0] == 0, value[:5]
    return int(struct.unpack(">I", value[1:5])[0])


def test_schema_encoded_values_pass_through_untouched(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    kafka_broker: str,
    amqp: Amqp,
    queue: Callable[..., str],
    tmp_path: Path,
) -> None:
    """Without --value-format nothing is decoded: Kafka -> Kafka and Kafka ->
    RabbitMQ -> Kafka keep the wire-format bytes (and the schema id) as they are."""
    src, same, back, q = make_topic(1), make_topic(1), make_topic(1), queue()
    _produce_avro(cli, src, tmp_path)
    sent = _raw(kafka_broker, src)
    assert len(sent) == len(VALUES) and all(_schema_id(v) > 0 for _k, v, _h, _t in sent)
    r = cli("copy", f"kafka:{src}", f"kafka:{same}", "-e")
    assert r.exit_code == 0, r.stderr
    r = cli("move", f"kafka:{src}", f"rabbit:{q}", "-e", "--key-from", "header:kafka-key")
    assert r.exit_code == 0, r.stderr
    assert amqp.wait_count(q, len(VALUES)) == len(VALUES)
    r = cli("move", f"rabbit:{q}", f"kafka:{back}", "-e", "--key-from", "header:kafka-key")
    assert r.exit_code == 0, r.stderr
    assert _raw(kafka_broker, same) == _raw(kafka_broker, back) == sent
    # And they still decode with the registry, as the source's did.
    r = cli("kafka", "consume", back, "-e")
    assert [json.loads(line) for line in r.stdout.splitlines()] == DECODED


@pytest.fixture
def two_registries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, auth_registry: str) -> None:
    """Profiles `plain` (the registry without authentication) and `secured` (the one with it, as
    a client allowed to register), both on the local broker; mqcli.yaml in cwd."""
    kafka = {"bootstrap_servers": os.environ["MQCLI_KAFKA_BOOTSTRAP_SERVERS"]}
    secured = {"url": AUTH_REGISTRY, "username": DEVELOPER[0], "password": DEVELOPER[1]}
    file = tmp_path / "mqcli.yaml"
    file.write_text(
        yaml.safe_dump(
            {
                "profiles": {
                    "plain": {
                        "kafka": {**kafka, "schema_registry": {"url": os.environ["MQCLI_KAFKA_SCHEMA_REGISTRY_URL"]}}
                    },
                    "secured": {"kafka": {**kafka, "schema_registry": secured}},
                }
            }
        )
    )
    os.chmod(file, 0o600)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MQCLI_KAFKA_SCHEMA_REGISTRY_URL")


PROTO_VALUES = [
    {
        "id": "7",
        "customerName": "Ann",
        "items": [{"sku": "a", "qty": 2}],
        "at": "2026-12-01T10:00:00Z",
        "status": "PAID",
    }
]
JSON_VALUES = [{"id": 1, "items": [{"price": 2.5}]}, {"id": 2}]


def _formats(tmp_path: Path) -> dict[str, tuple[list[str], list[Any]]]:
    """--value-format -> (the produce options that write it, the values)."""
    from tests.schema import test_json_schema, test_protobuf

    return {
        "avro": (["--value-schema", schema_file(tmp_path)], VALUES),
        # It imports google/protobuf/timestamp.proto: a reference, registered in the target too.
        "protobuf": (
            ["--value-schema", test_protobuf.proto_file(tmp_path), "--message-type", "shop.Order"],
            PROTO_VALUES,
        ),
        "json-schema": (["--value-schema", test_json_schema.schema_file(tmp_path)], JSON_VALUES),
    }


@pytest.mark.parametrize("fmt", ["avro", "protobuf", "json-schema"])
def test_copy_between_registries_registers_the_schema_in_the_target(
    cli: Callable[..., Run],
    kafka_engine: str,
    fmt: str,
    make_topic: Callable[..., str],
    kafka_broker: str,
    tmp_path: Path,
    two_registries: None,
) -> None:
    src, dst = make_topic(1), make_topic(1)
    options, values = _formats(tmp_path)[fmt]
    lines = "".join(json.dumps({"key": f"k{i}", "value": v}) + "\n" for i, v in enumerate(values))
    r = cli("kafka", "produce", src, "-P", "plain", "-i", "jsonl", *options, input=lines)
    assert r.exit_code == 0, r.stderr
    r = cli("copy", f"kafka@plain:{src}", f"kafka@secured:{dst}", "-e", "--value-format", fmt)
    assert r.exit_code == 0, r.stderr
    sent, got = _raw(kafka_broker, src), _raw(kafka_broker, dst)
    # The target's id is the one its own registry gave the schema under the target's subject;
    # the body after the header is the same bytes, and keys, headers, timestamps travel.
    ids = {_schema_id(v) for _k, v, _h, _t in got}
    req = urllib.request.Request(f"{AUTH_REGISTRY}/subjects/{dst}-value/versions/latest")
    req.add_header("Authorization", "Basic " + base64.b64encode(":".join(DEVELOPER).encode()).decode())
    with urllib.request.urlopen(req, timeout=10) as resp:
        latest = json.loads(resp.read())
    assert ids == {latest["id"]} and latest.get("schemaType", "AVRO") == {"json-schema": "JSON"}.get(fmt, fmt.upper())
    assert [(k, v[5:], h, t) for k, v, h, t in got] == [(k, v[5:], h, t) for k, v, h, t in sent]
    r = cli("kafka", "consume", dst, "-P", "secured", "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    decoded = [json.loads(line) for line in r.stdout.splitlines()]
    assert [d["value"] for d in decoded] == (DECODED if fmt == "avro" else values)
    assert {d["value_schema"]["subject"] for d in decoded} == {f"{dst}-value"}


def test_to_rabbitmq_as_bare_avro_and_back_into_the_registry(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    kafka_broker: str,
    amqp: Amqp,
    queue: Callable[..., str],
    tmp_path: Path,
) -> None:
    """--value-format avro to RabbitMQ: bare Avro bodies (no registry there) with the
    content type and schema header `rabbit publish` writes; back to Kafka with the
    schema file: the wire format again, under the new topic's subject."""
    src, dst, q = make_topic(1), make_topic(1), queue()
    _produce_avro(cli, src, tmp_path)
    r = cli("move", f"kafka:{src}", f"rabbit:{q}", "-e", "--value-format", "avro")
    assert r.exit_code == 0, r.stderr
    assert amqp.wait_count(q, len(VALUES)) == len(VALUES)
    ch = amqp.channel()
    method, props, body = ch.basic_get(q, auto_ack=False)
    assert props.content_type == "application/avro" and props.headers["x-mqcli-schema"] == "shop.Order"
    assert body == records(kafka_broker, src)[0].value[5:]  # the body without the wire header
    ch.basic_reject(method.delivery_tag, requeue=True)
    # What `rabbit consume` decodes with the schema file (a copy in another queue: it takes them).
    q2 = queue()
    assert cli("copy", f"kafka:{src}", f"rabbit:{q2}", "-e", "--value-format", "avro").exit_code == 0
    r = cli("rabbit", "consume", q2, "--value-schema", schema_file(tmp_path), "-e")
    assert r.exit_code == 0, r.stderr
    assert [json.loads(line) for line in r.stdout.splitlines()] == DECODED
    r = cli(
        "move", f"rabbit:{q}", f"kafka:{dst}", "-e", "--value-format", "avro", "--value-schema", schema_file(tmp_path)
    )
    assert r.exit_code == 0, r.stderr
    latest = rest("GET", f"/subjects/{dst}-value/versions/latest")
    got = records(kafka_broker, dst)
    assert {_schema_id(rec.value) for rec in got} == {latest["id"]}
    assert [rec.value[5:] for rec in got] == [rec.value[5:] for rec in records(kafka_broker, src)]
    # The content type described the bare body: it does not follow the record into Kafka.
    assert all(name != "x-amqp-content_type" for rec in got for name, _v in rec.headers)


def test_decoded_to_json_for_a_queue_and_on_stdout(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    amqp: Amqp,
    queue: Callable[..., str],
    tmp_path: Path,
) -> None:
    src, q = make_topic(1), queue()
    key_schema = schema_file(tmp_path, KEY, "key.avsc")
    lines = "".join(json.dumps({"key": {"k": f"k{v['id']}"}, "value": v}) + "\n" for v in VALUES)
    r = cli(
        "kafka",
        "produce",
        src,
        "-i",
        "jsonl",
        "--value-schema",
        schema_file(tmp_path),
        "--key-schema",
        key_schema,
        input=lines,
    )
    assert r.exit_code == 0, r.stderr
    r = cli("copy", f"kafka:{src}", "-", "-e", "--value-format", "json", "--key-format", "json")
    assert r.exit_code == 0, r.stderr
    got = [json.loads(line) for line in r.stdout.splitlines()]
    assert [g["value"] for g in got] == DECODED
    assert [g["key"] for g in got] == [{"k": f"k{v['id']}"} for v in VALUES]
    assert got[0]["value_schema"]["type"] == got[0]["key_schema"]["type"] == "AVRO"
    r = cli("copy", f"kafka:{src}", f"rabbit:{q}", "-e", "--value-format", "json")
    assert r.exit_code == 0, r.stderr
    got = amqp.get_all(q)
    assert [json.loads(body) for _m, _p, body in got] == DECODED
    assert {props.content_type for _m, props, _b in got} == {"application/json"}


@pytest.mark.parametrize("to", ["kafka", "rabbit"])
def test_a_value_that_cannot_be_re_encoded_is_refused(
    cli: Callable[..., Run],
    kafka_engine: str,
    to: str,
    make_topic: Callable[..., str],
    kafka_broker: str,
    amqp: Amqp,
    queue: Callable[..., str],
    tmp_path: Path,
    unique_name: Callable[[str], str],
) -> None:
    """A plain value among Avro ones, with --value-format avro and no schema file:
    the move stops before it (it stays in the source, exit 1, named); with --on-error
    skip it is counted and the others go (to RabbitMQ: pipelined, the refused one
    between two runs of published ones)."""
    src = make_topic(1)
    target = f"kafka:{make_topic(1)}" if to == "kafka" else f"rabbit:{queue()}"
    _produce_avro(cli, src, tmp_path)
    assert cli("kafka", "produce", src, "not avro").exit_code == 0
    _produce_avro(cli, src, tmp_path)
    args = ["move", f"kafka:{src}", target, "-e", "-g", unique_name("g"), "--value-format", "avro"]
    r = cli(*args)
    assert r.exit_code == 1, r.stderr
    assert f"{src}[0]@6" in r.stderr and "not in the wire format" in r.stderr
    r = cli(*args, "--on-error", "skip")
    assert r.exit_code == 0, r.stderr
    assert f"skipped: {src}[0]@6" in r.stderr
    # Each good one once: the first run stopped before the bad one, the second went on after it.
    if to == "kafka":
        values = [rec.value[5:] for rec in records(kafka_broker, target.split(":")[1])]
    else:
        values = [body for _m, _p, body in amqp.get_all(target.split(":")[1])]
    assert values == [rec.value[5:] for rec in records(kafka_broker, src) if rec.value != b"not avro"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kafka:a", "kafka:b", "--value-format", "xml"], "invalid --value-format 'xml'"),
        (["kafka:a", "kafka:b", "--key-format", "string"], "invalid --key-format 'string'"),
        (["kafka:a", "kafka:b", "--value-schema", "x.avsc"], "--value-schema/--message-type apply with --value-format"),
        (["kafka:a", "--to-origin", "--value-format", "json"], "not with --to-origin"),
        (["rabbit:q", "kafka:b", "--key-format", "avro"], "it applies to a Kafka source"),
        (["rabbit:q", "kafka:b", "--value-format", "avro"], "needs --value-schema FILE"),
    ],
)
def test_usage(cli: Callable[..., Run], args: list[str], message: str) -> None:
    """Refused before any broker is asked (neither topic nor queue exists)."""
    r = cli("move", *args)
    assert r.exit_code == 2 and message in r.stderr, r.stderr


def test_without_a_registry_the_source_needs_a_schema_file(
    cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MQCLI_KAFKA_SCHEMA_REGISTRY_URL")
    r = cli("move", "kafka:a", "kafka:b", "--value-format", "avro")
    assert r.exit_code == 2, r.stderr
    assert "needs the source profile's schema registry (kafka.schema_registry.url) or --value-schema FILE" in r.stderr


def test_a_dry_run_registers_nothing(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    amqp: Amqp,
    queue: Callable[..., str],
    tmp_path: Path,
) -> None:
    """JSON bodies that a move would encode with --value-schema: a dry run reports them and
    leaves the target's registry as it was (no subject for the target topic)."""
    q, dst = queue(), make_topic(1)
    for v in VALUES:
        amqp.publish(q, json.dumps(v))
    r = cli(
        "move",
        f"rabbit:{q}",
        f"kafka:{dst}",
        "--dry-run",
        "--value-format",
        "avro",
        "--value-schema",
        schema_file(tmp_path),
    )
    assert r.exit_code == 0, r.stderr
    assert f"would go to kafka:{dst}: {len(VALUES)}" in r.stderr
    with pytest.raises(urllib.error.HTTPError) as e:
        rest("GET", f"/subjects/{dst}-value/versions")
    assert e.value.code == 404
    assert amqp.count(q) == len(VALUES)


def test_a_schema_of_another_format_is_refused_with_its_reason(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], tmp_path: Path
) -> None:
    src, dst = make_topic(1), make_topic(1)
    _produce_avro(cli, src, tmp_path)
    r = cli("copy", f"kafka:{src}", f"kafka:{dst}", "-e", "--value-format", "protobuf")
    assert r.exit_code == 1, r.stderr
    assert f"not moved: {src}[0]@0: the value cannot be re-encoded as protobuf: schema" in r.stderr
    assert "of the source is AVRO, not protobuf" in r.stderr
