"""Plain confluent-kafka Avro loops, run as measured subprocesses: the reference
for mqcli's Avro rows (issue 11), using the library's own AvroSerializer and
AvroDeserializer through the same schema registry.

  avro_helper.py produce BOOTSTRAP REGISTRY TOPIC SCHEMA   stdin JSON lines -> Avro values
  avro_helper.py consume BOOTSTRAP REGISTRY TOPIC COUNT    COUNT records -> stdout, one JSON record each

`produce` registers SCHEMA (an .avsc file) under TOPIC-value as mqcli does, with
mqcli's default guarantees (acks=all, idempotent).  `consume` writes what
`mqcli kafka consume -o json` writes of each record (topic, partition, offset,
timestamp, the decoded value), so both do the same work per record.
"""

from __future__ import annotations

import json
import sys

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def produce(bootstrap: str, registry: str, topic: str, schema_path: str) -> int:
    with open(schema_path, encoding="utf-8") as f:
        schema = f.read()
    # A timeout on registry calls (the client has none by default) and stage
    # lines on stderr: a hang shows where it was in the bench report.
    serialize = AvroSerializer(SchemaRegistryClient({"url": registry, "timeout": 20}), schema)
    ctx = SerializationContext(topic, MessageField.VALUE)
    p = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "message.timeout.ms": 40_000}
    )
    failed = 0

    def report(err: object, _msg: object) -> None:
        nonlocal failed
        if err is not None:
            failed += 1

    n = 0
    print("registering the schema (first value)", file=sys.stderr, flush=True)
    for line in sys.stdin.buffer:
        value = serialize(json.loads(line), ctx)
        if n == 0:
            print("schema registered; producing", file=sys.stderr, flush=True)
        while True:
            try:
                p.produce(topic, value, on_delivery=report)
                break
            except BufferError:
                p.poll(0.05)
        n += 1
        if n & 255 == 0:
            p.poll(0)
    print(f"{n} values handed over; flushing", file=sys.stderr, flush=True)
    left = p.flush(50)
    print(f"flushed: {failed} failed, {left} unreported", file=sys.stderr, flush=True)
    return 1 if failed or left else 0


def consume(bootstrap: str, registry: str, topic: str, count: int) -> int:
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry, "timeout": 20}))
    ctx = SerializationContext(topic, MessageField.VALUE)
    # assign(), no commits: no consumer group is left behind on the broker.
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "mqcli-bench-helper",
            "enable.auto.commit": False,
            "fetch.queue.backoff.ms": 10,
        }
    )
    parts = c.list_topics(topic, timeout=10).topics[topic].partitions
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
    out = sys.stdout.buffer
    seen = 0
    while seen < count:
        lines = []
        for m in c.consume(num_messages=10_000, timeout=1.0):
            if m.error() is not None:
                continue
            record = {
                "topic": m.topic(),
                "partition": m.partition(),
                "offset": m.offset(),
                "timestamp": m.timestamp()[1],
                "value": deserialize(m.value(), ctx),
            }
            lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        if lines:
            out.write(("\n".join(lines) + "\n").encode("utf-8"))
            seen += len(lines)
    out.flush()
    c.close()
    return 0


if __name__ == "__main__":
    cmd, bootstrap, registry, topic, arg = sys.argv[1:6]
    if cmd == "produce":
        sys.exit(produce(bootstrap, registry, topic, arg))
    sys.exit(consume(bootstrap, registry, topic, int(arg)))
