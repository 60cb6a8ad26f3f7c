"""Plain confluent-kafka loops, run as measured subprocesses: the most a
Python program can do with the library under mqcli's librdkafka engine (one
produce() call per message, one delivery callback, no bookkeeping).

  kafka_helper.py produce BOOTSTRAP TOPIC ACKS      stdin lines -> topic
  kafka_helper.py consume BOOTSTRAP TOPIC COUNT     COUNT messages -> stdout, one line each
"""

from __future__ import annotations

import sys

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition


def produce(bootstrap: str, topic: str, acks: str) -> int:
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "enable.idempotence": acks == "all"})
    failed = 0

    def report(err: object, _msg: object) -> None:
        nonlocal failed
        if err is not None:
            failed += 1

    n = 0
    for line in sys.stdin.buffer:
        while True:
            try:
                p.produce(topic, line.rstrip(b"\n"), on_delivery=report)
                break
            except BufferError:
                p.poll(0.05)
        n += 1
        if n & 255 == 0:
            p.poll(0)
    p.flush()
    return 1 if failed else 0


def consume(bootstrap: str, topic: str, count: int) -> int:
    # assign(), no commits: no consumer group is left behind on the broker.
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "mqcli-bench-helper",
            "enable.auto.commit": False,
            # As mqcli's consumer: librdkafka's 1 s default idles on a backlog.
            "fetch.queue.backoff.ms": 10,
        }
    )
    parts = c.list_topics(topic, timeout=10).topics[topic].partitions
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
    out = sys.stdout.buffer
    seen = 0
    while seen < count:
        batch = c.consume(num_messages=10_000, timeout=1.0)
        values = [m.value() for m in batch if m.error() is None]
        if values:
            out.write(b"\n".join(values) + b"\n")
            seen += len(values)
    out.flush()
    c.close()
    return 0


if __name__ == "__main__":
    cmd, bootstrap, topic, arg = sys.argv[1:5]
    sys.exit(produce(bootstrap, topic, arg) if cmd == "produce" else consume(bootstrap, topic, int(arg)))
