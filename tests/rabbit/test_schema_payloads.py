"""RabbitMQ bodies in a schema format: `rabbit publish --value-schema FILE` encodes
bare bodies (content_type and the x-mqcli-schema header say what they are),
`rabbit consume`/`subscribe` decode them (strict, or auto by content type)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro

from tests.schema.test_avro import ORDER as AVRO_ORDER
from tests.schema.test_avro import schema_file as avro_file
from tests.schema.test_json_schema import schema_file as json_file
from tests.schema.test_protobuf import message_class, proto_file


def test_protobuf_publish_then_consume(cli: Any, amqp: Any, queue: Any, tmp_path: Path) -> None:
    q = queue()
    proto = proto_file(tmp_path)
    r = cli(
        "rabbit", "publish", "--queue", q, "--value-schema", proto, "--message-type", "shop.Refund",
        input='{"orderId": 1}\n{"orderId": 2, "note": "aGk="}\n',
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    (_m, props, body), (_m2, _p2, body2) = amqp.get_all(q)
    assert props.content_type == "application/protobuf" and props.headers == {"x-mqcli-schema": "shop.Refund"}
    assert message_class(tmp_path, "shop.Refund").FromString(body).order_id == 1
    amqp.publish(q, body2, content_type="application/protobuf", headers={"x-mqcli-schema": "shop.Refund"})
    amqp.publish(q, body, content_type="application/protobuf")
    amqp.publish(q, body, content_type="application/protobuf", headers={"x-mqcli-schema": "shop.Other"})
    amqp.publish(q, "plain text", content_type="text/plain")
    # auto: what has the schema's content type is decoded, the rest is left as it is.
    r = cli("rabbit", "consume", q, "-e", "--value-format", "auto", "--value-schema", proto, "--message-type",
            "shop.Refund")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == ['{"orderId":"2","note":"aGk="}', '{"orderId":"1","note":""}']
    assert lines[3] == "plain text" and lines[2] != lines[1]  # another schema's name: left as it is


def test_avro_and_json_schema_round_trip_through_json_lines(cli: Any, amqp: Any, queue: Any, tmp_path: Path) -> None:
    q, q2 = queue(), queue()
    avsc = avro_file(tmp_path)
    assert cli("rabbit", "publish", "--queue", q, "--value-schema", avsc, '{"id": 3, "price": "1.5"}').exit_code == 0
    r = cli("rabbit", "consume", q, "-e", "--value-schema", avsc, "-o", "json")
    assert r.exit_code == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["value"] == {"id": 3, "price": "1.50", "note": None}
    assert obj["properties"]["content_type"] == "application/avro" and obj["headers"] == {
        "x-mqcli-schema": "shop.Order"
    }
    # consume -o json | publish -i jsonl --value-schema: the same bytes again.
    assert cli("rabbit", "publish", "--queue", q2, "-i", "jsonl", "--value-schema", avsc, input=r.stdout).exit_code == 0
    (_m, props, body) = amqp.get_all(q2)[0]
    got = fastavro.schemaless_reader(io.BytesIO(body), fastavro.parse_schema(AVRO_ORDER), None)
    assert got["id"] == 3 and props.content_type == "application/avro"

    schema = json_file(tmp_path)
    r = cli("rabbit", "publish", "--queue", q, "--value-schema", schema, input='{"id": 1}\n{"id": false}\n')
    assert r.exit_code == 7 and "line 2: value.id: False is not of type 'integer'" in r.stderr, r.stderr
    (_m, props, body) = amqp.get_all(q)[0]
    assert (
        body == b'{"id":1}'
        and props.content_type == "application/json"
        and props.headers == {"x-mqcli-schema": "Order"}
    )


def test_strict_consume_refuses_what_does_not_decode(cli: Any, amqp: Any, queue: Any, tmp_path: Path) -> None:
    q = queue()
    amqp.publish(q, '{"id": "x"}', message_id="m1")
    schema = json_file(tmp_path)
    r = cli("rabbit", "consume", q, "-e", "--value-schema", schema)
    assert r.exit_code == 7 and f"queue {q} (message_id m1): value does not decode" in r.stderr, r.stderr
    assert amqp.count(q) == 1  # not acknowledged: back in the queue
    r = cli("rabbit", "consume", q, "-e", "--value-schema", schema, "--skip-invalid")
    assert r.exit_code == 0 and r.stdout == "" and "skipped:" in r.stderr, r.stderr


def test_subscribe_decodes(cli: Any, exchange: Any, start_mqcli: Any, tmp_path: Path) -> None:
    x = exchange("fanout")
    proto = proto_file(tmp_path)
    args = ("--value-schema", proto, "--message-type", "shop.Refund")
    sub = start_mqcli("rabbit", "subscribe", "--exchange", x, "-c", "1", "-t", "20s", *args)
    sub.wait_stderr("subscribed")
    r = cli("rabbit", "publish", "--exchange", x, *args, '{"orderId": 5}')
    assert r.exit_code == 0, r.stderr
    rc, out, err = sub.finish()
    assert rc == 0 and out == b'{"orderId":"5","note":""}\n', err


def test_format_without_a_schema_file_is_a_usage_error(cli: Any, queue: Any) -> None:
    r = cli("rabbit", "publish", "--queue", queue(), "--value-format", "avro", "{}")
    assert r.exit_code == 2 and "needs a local --value-schema FILE" in r.stderr, r.stderr
    r = cli("rabbit", "consume", queue(), "-e", "--value-format", "protobuf")
    assert r.exit_code == 2 and "needs a local --value-schema FILE" in r.stderr, r.stderr
