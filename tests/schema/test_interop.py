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
