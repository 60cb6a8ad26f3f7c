"""Interop with confluent-kafka's own Avro serializers (the reference
implementation of the wire format): what mqcli produces they decode, and
what they produce mqcli decodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.kafka.conftest import BOOTSTRAP, records
from tests.schema.conftest import REGISTRY
from tests.schema.test_avro import ORDER, jsonl, schema_file, send_raw


def test_mqcli_records_decode_with_confluents_deserializer(cli: Any, topic: str, tmp_path: Path) -> None:
    r = cli("kafka", "produce", topic, "--value-schema", schema_file(tmp_path), input='{"id": 7, "price": "4.20"}\n')
    assert r.exit_code == 0, r.stderr
    (rec,) = records(BOOTSTRAP, topic)
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": REGISTRY}))
    got = deserialize(rec.value, SerializationContext(topic, MessageField.VALUE))
    assert got["id"] == 7 and str(got["price"]) == "4.20" and got["note"] is None


def test_confluents_serializer_records_decode_in_mqcli(cli: Any, topic: str) -> None:
    serialize = AvroSerializer(SchemaRegistryClient({"url": REGISTRY}), json.dumps(ORDER))
    from decimal import Decimal

    value = serialize({"id": 8, "price": Decimal("9.99"), "note": "x"}, SerializationContext(topic, MessageField.VALUE))
    key = serialize({"id": 1, "price": Decimal("0.01"), "note": None}, SerializationContext(topic, MessageField.KEY))
    send_raw(topic, [(key, value)])
    r = cli("kafka", "consume", topic, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    (obj,) = jsonl(r.stdout)
    assert obj["value"] == {"id": 8, "price": "9.99", "note": "x"}
    assert obj["key"] == {"id": 1, "price": "0.01", "note": None}
    assert obj["value_schema"]["subject"] == f"{topic}-value" and obj["key_schema"]["subject"] == f"{topic}-key"


# -- JSON Schema -------------------------------------------------------------------------


def test_json_schema_both_ways_with_confluents_serializers(cli: Any, make_topic: Any, tmp_path: Path) -> None:
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer

    from tests.schema.test_json_schema import ORDER as JSON_ORDER
    from tests.schema.test_json_schema import schema_file as json_schema_file

    ours, theirs = make_topic(1), make_topic(1)
    r = cli("kafka", "produce", ours, "--value-schema", json_schema_file(tmp_path), '{"id": 5, "items": []}')
    assert r.exit_code == 0, r.stderr
    client = SchemaRegistryClient({"url": REGISTRY})
    (rec,) = records(BOOTSTRAP, ours)
    got = JSONDeserializer(json.dumps(JSON_ORDER), schema_registry_client=client)(
        rec.value, SerializationContext(ours, MessageField.VALUE)
    )
    assert got == {"id": 5, "items": []}

    serialize = JSONSerializer(json.dumps(JSON_ORDER), client)
    send_raw(theirs, [(None, serialize({"id": 6}, SerializationContext(theirs, MessageField.VALUE)))])
    r = cli("kafka", "consume", theirs, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    (obj,) = jsonl(r.stdout)
    assert obj["value"] == {"id": 6} and obj["value_schema"]["type"] == "JSON"


# -- Protobuf ----------------------------------------------------------------------------


def test_protobuf_both_ways_with_confluents_serializers(cli: Any, make_topic: Any, tmp_path: Path) -> None:
    from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer

    from tests.schema.test_protobuf import message_class, proto_file

    ours, theirs = make_topic(1), make_topic(1)
    order_cls = message_class(tmp_path, "shop.Order")
    refund_cls = message_class(tmp_path, "shop.Refund")
    r = cli(
        "kafka", "produce", ours, "--value-schema", proto_file(tmp_path), "--message-type", "shop.Refund",
        '{"orderId": 9, "note": "aGk="}',
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    (rec,) = records(BOOTSTRAP, ours)
    got = ProtobufDeserializer(refund_cls, {"use.deprecated.format": False})(
        rec.value, SerializationContext(ours, MessageField.VALUE)
    )
    assert got.order_id == 9 and got.note == b"hi"

    client = SchemaRegistryClient({"url": REGISTRY})
    serialize = ProtobufSerializer(order_cls, client, {"use.deprecated.format": False})
    value = serialize(order_cls(id=3, customer_name="Bo"), SerializationContext(theirs, MessageField.VALUE))
    send_raw(theirs, [(None, value)])
    r = cli("kafka", "consume", theirs, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    (obj,) = jsonl(r.stdout)
    assert obj["value"] == {"id": "3", "customerName": "Bo", "items": [], "status": "NEW"}
    assert obj["value_schema"]["type"] == "PROTOBUF" and obj["value_schema"]["message"] == "shop.Order"
