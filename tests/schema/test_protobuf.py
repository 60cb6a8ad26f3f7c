"""Protobuf through the registry (Apicurio) and a real Kafka broker, both
engines: `kafka produce --value-schema FILE.proto [--message-type]` registers,
writes the message indexes and encodes; `consume`/`group-consume` decode to
the canonical JSON mapping; bodies framed here with protobuf's own runtime
decode in mqcli."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.kafka.conftest import BOOTSTRAP, records
from tests.schema.conftest import rest
from tests.schema.test_avro import jsonl, send_raw

ORDER_PROTO = """syntax = "proto3";
package shop;

import "google/protobuf/timestamp.proto";

message Order {
  int64 id = 1;
  string customer_name = 2;
  repeated Item items = 3;
  google.protobuf.Timestamp at = 4;
  Status status = 5;
  message Item {
    string sku = 1;
    int32 qty = 2;
  }
}

enum Status {
  NEW = 0;
  PAID = 1;
}

message Refund {
  int64 order_id = 1;
  bytes note = 2;
}
"""


def proto_file(tmp_path: Path, text: str = ORDER_PROTO, name: str = "order.proto") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def compiled(tmp_path: Path, proto: str) -> bytes:
    """A FileDescriptorSet of `proto`, compiled here with grpcio-tools' protoc (not through mqcli)."""
    out = tmp_path / "set.pb"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{Path(proto).parent}", "--include_imports",
         f"--descriptor_set_out={out}", proto],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


def message_class(tmp_path: Path, name: str) -> Any:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    pool = descriptor_pool.DescriptorPool()
    for f in descriptor_pb2.FileDescriptorSet.FromString(compiled(tmp_path, proto_file(tmp_path))).file:
        pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def test_produce_protobuf_then_consume_canonical_json(cli: Any, topic: str, tmp_path: Path) -> None:
    r = cli(
        "kafka", "produce", topic, "--value-schema", proto_file(tmp_path), "--message-type", "shop.Order",
        input='{"id": 7, "customer_name": "Ann", "items": [{"sku": "a", "qty": 2}], "at": "2026-12-01T10:00:00Z",'
        ' "status": "PAID"}\n{"id": "8"}\n',
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    latest = rest("GET", f"/subjects/{topic}-value/versions/latest")
    assert latest["schemaType"] == "PROTOBUF"
    raw = records(BOOTSTRAP, topic)[0].value
    # Header, then the message indexes ([0]: the single byte 0), then the Protobuf body.
    assert raw[:6] == struct.pack(">bI", 0, latest["id"]) + b"\x00"
    order = message_class(tmp_path, "shop.Order").FromString(raw[6:])
    assert order.id == 7 and order.items[0].qty == 2 and order.at.seconds == 1796119200

    r = cli("kafka", "consume", topic, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    got = jsonl(r.stdout)
    assert got[0]["value"] == {
        "id": "7",  # int64 as a string, lowerCamelCase names: the canonical mapping
        "customerName": "Ann",
        "items": [{"sku": "a", "qty": 2}],
        "at": "2026-12-01T10:00:00Z",
        "status": "PAID",
    }
    assert got[1]["value"] == {"id": "8", "customerName": "", "items": [], "status": "NEW"}
    assert got[0]["value_schema"] == {
        "id": latest["id"],
        "subject": f"{topic}-value",
        "version": latest["version"],
        "type": "PROTOBUF",
        "message": "shop.Order",
    }


def test_second_message_has_its_indexes_and_group_consume_decodes(
    cli: Any, topic: str, tmp_path: Path, unique_name: Any
) -> None:
    r = cli(
        "kafka", "produce", topic, "--value-format", "protobuf", "--value-schema", proto_file(tmp_path),
        "--message-type", "shop.Refund", '{"orderId": 7, "note": "aGk="}',
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    raw = records(BOOTSTRAP, topic)[0].value
    assert raw[5:7] == b"\x02\x02"  # indexes [1]: count 1, index 1 (zigzag varints)
    r = cli("kafka", "group-consume", "--group", unique_name("g"), topic, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    (obj,) = jsonl(r.stdout)
    assert obj["value"] == {"orderId": "7", "note": "aGk="} and obj["value_schema"]["message"] == "shop.Refund"


def test_several_messages_need_message_type(cli: Any, topic: str, tmp_path: Path) -> None:
    r = cli("kafka", "produce", topic, "--value-schema", proto_file(tmp_path), "{}")
    assert r.exit_code == 2 and "defines 2 messages (shop.Order, shop.Refund): give --message-type" in r.stderr


def test_invalid_record_names_line_and_field(cli: Any, topic: str, tmp_path: Path) -> None:
    r = cli(
        "kafka", "produce", topic, "--value-schema", proto_file(tmp_path), "--message-type", "shop.Order",
        input='{"id": 1}\n{"items": [{"qty": "many"}]}\n{"id": 3}\n',
    )  # fmt: skip
    assert r.exit_code == 7, r.stderr
    assert "line 2: value.items.qty: " in r.stderr, r.stderr
    assert len(records(BOOTSTRAP, topic)) == 1
    r = cli(
        "kafka", "produce", topic, "--value-schema", proto_file(tmp_path), "--message-type", "shop.Order", '{"x": 1}'
    )
    assert r.exit_code == 7 and "line 1: value.x: no such field" in r.stderr, r.stderr


def test_invalid_proto_is_exit_2_with_protocs_message(cli: Any, topic: str, tmp_path: Path) -> None:
    r = cli("kafka", "produce", topic, "--value-schema", proto_file(tmp_path, 'syntax = "proto3";\nmessage {'), "{}")
    assert r.exit_code == 2 and "order.proto:2:9" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_imports_resolve_against_proto_path(cli: Any, topic: str, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "money.proto").write_text('syntax = "proto3";\npackage m;\nmessage Money { int64 cents = 1; }\n')
    main = proto_file(
        tmp_path, 'syntax = "proto3";\nimport "money.proto";\nmessage Price { m.Money amount = 1; }\n', "price.proto"
    )
    r = cli("kafka", "produce", topic, "--value-schema", main, "--proto-path", str(lib), '{"amount": {"cents": 5}}')
    assert r.exit_code == 0, r.stderr
    # The import is registered under its own name and referenced by the schema.
    latest = rest("GET", f"/subjects/{topic}-value/versions/latest")
    assert [(x["name"], x["subject"]) for x in latest["references"]] == [("money.proto", "money.proto")]
    r = cli("kafka", "consume", topic, "-e")
    assert r.exit_code == 0 and r.stdout == '{"amount":{"cents":"5"}}\n', r.stderr
    r = cli("kafka", "produce", topic, "--value-schema", main, '{"amount": {"cents": 5}}')
    assert r.exit_code == 2 and "money.proto: File not found" in r.stderr, r.stderr


def test_records_framed_elsewhere_decode_keys_and_values(cli: Any, topic: str, tmp_path: Path) -> None:
    schema_id = rest("POST", f"/subjects/{topic}-value/versions", {"schema": ORDER_PROTO, "schemaType": "PROTOBUF"})[
        "id"
    ]
    refund = message_class(tmp_path, "shop.Refund")(order_id=3, note=b"\x00\xff")
    framed = struct.pack(">bI", 0, schema_id) + b"\x02\x02" + refund.SerializeToString()
    send_raw(topic, [(framed, framed), (None, struct.pack(">bI", 0, schema_id) + b"\x00\xff\xff")])
    r = cli("kafka", "consume", topic, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    first, second = jsonl(r.stdout)
    assert first["value"] == first["key"] == {"orderId": "3", "note": "AP8="}
    assert second.get("value_encoding") == "base64"  # auto: what does not parse stays as it is
    r = cli("kafka", "consume", topic, "-e", "--value-format", "protobuf")
    assert r.exit_code == 7 and f"{topic}[0]@1: value does not decode with schema {schema_id}" in r.stderr, r.stderr
    r = cli("kafka", "consume", topic, "-e", "--value-format", "avro")
    assert r.exit_code == 7 and f"value schema {schema_id} is PROTOBUF, not Avro" in r.stderr, r.stderr


def test_round_trip_consume_json_into_produce_jsonl(cli: Any, make_topic: Any, tmp_path: Path) -> None:
    a, b = make_topic(1), make_topic(1)
    args = ("--value-schema", proto_file(tmp_path), "--message-type", "shop.Refund")
    assert cli("kafka", "produce", a, *args, '{"orderId": 4}').exit_code == 0
    out = cli("kafka", "consume", a, "-e", "-o", "json").stdout
    r = cli("kafka", "produce", b, "-i", "jsonl", "--value-format", "protobuf", input=out)
    assert r.exit_code == 0, r.stderr
    assert records(BOOTSTRAP, b)[0].value == records(BOOTSTRAP, a)[0].value
    assert json.loads(out)["value_schema"]["message"] == "shop.Refund"


def test_schemas_register_and_check_take_the_type_from_the_file(cli: Any, topic: str, tmp_path: Path) -> None:
    subject = f"{topic}-value"
    r = cli("kafka", "schemas", "register", subject, proto_file(tmp_path), "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert rest("GET", f"/subjects/{subject}/versions/latest")["schemaType"] == "PROTOBUF"
    r = cli("kafka", "schemas", "check", subject, proto_file(tmp_path))
    assert r.exit_code == 0, r.stderr
