"""One-message jobs as bare Python scripts: the baseline of the one-shot rows
(issue 15: mqcli within 1.25x of these).  Each connects, sends or receives one
message, and closes, with the client library mqcli uses and mqcli's default
guarantees (Kafka: acks=all, idempotent; RabbitMQ: persistent, confirmed).

  oneshot_helper.py kafka-produce BOOTSTRAP TOPIC VALUE
  oneshot_helper.py kafka-produce-plain BOOTSTRAP TOPIC VALUE   not idempotent (librdkafka's default)
  oneshot_helper.py kafka-consume BOOTSTRAP TOPIC        the last message -> stdout
  oneshot_helper.py rabbit-publish URL QUEUE VALUE
  oneshot_helper.py rabbit-consume URL QUEUE             one message -> stdout (acked)
"""

from __future__ import annotations

import sys


def kafka_produce(bootstrap: str, topic: str, value: str, idempotent: bool = True) -> int:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": idempotent})
    failed: list[object] = []
    p.produce(topic, value.encode(), on_delivery=lambda err, _m: failed.append(err) if err else None)
    left = p.flush(30)
    return 1 if failed or left else 0


def kafka_consume(bootstrap: str, topic: str) -> int:
    from confluent_kafka import Consumer, TopicPartition

    # As `mqcli kafka consume T --offset -1 --count 1`: the last message of partition 0.
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "mqcli-bench-oneshot", "enable.auto.commit": False})
    low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    c.assign([TopicPartition(topic, 0, max(high - 1, low))])
    while True:
        m = c.poll(10)
        if m is None:
            return 1
        if m.error() is None:
            sys.stdout.buffer.write((m.value() or b"") + b"\n")
            break
    sys.stdout.flush()
    c.close()
    return 0


def rabbit_publish(url: str, queue: str, value: str) -> int:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish("", queue, value.encode(), pika.BasicProperties(delivery_mode=2), mandatory=True)
    conn.close()
    return 0


def rabbit_consume(url: str, queue: str) -> int:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=1)
    for method, _props, body in ch.consume(queue):
        sys.stdout.buffer.write(body + b"\n")
        sys.stdout.flush()
        ch.basic_ack(method.delivery_tag)
        break
    ch.cancel()
    conn.close()
    return 0


if __name__ == "__main__":
    verb, where, name, *rest = sys.argv[1:]
    if verb.startswith("kafka-produce"):
        sys.exit(kafka_produce(where, name, rest[0], idempotent=verb == "kafka-produce"))
    if verb == "kafka-consume":
        sys.exit(kafka_consume(where, name))
    if verb == "rabbit-publish":
        sys.exit(rabbit_publish(where, name, rest[0]))
    sys.exit(rabbit_consume(where, name))
