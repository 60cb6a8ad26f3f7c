"""Kafka -> RabbitMQ -> Kafka with `mqcli move`: key, value, headers and
timestamp come back byte for byte (binary keys and values included), with
the key in a header (--key-from header:NAME) or as the routing key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import Run
from tests.kafka.conftest import records
from tests.rabbit.conftest import Amqp

# (key, value, headers, timestamp ms): binary, empty and missing keys, binary values,
# header values that are not text, timestamps with and without milliseconds.
SENT: list[tuple[bytes | None, bytes, list[tuple[str, bytes]], int]] = [
    (b"\x00\xff\xfe", b"\x00\x01\x02\xff", [("bin", b"\x00\xff\x80"), ("text", "café".encode())], 1700000000123),
    (None, b"no key", [("empty", b"")], 1700000000999),
    (b"", b"empty key", [], 1700000001000),
    (b"order-7", bytes(range(256)), [("a", b"1"), ("b", b"\xc3\x28")], 1600000000001),
    (b"k" * 300, b"", [("long-key", b"yes")], 1700000002000),
]


def _produce_exact(bootstrap: str, topic: str, sent: list[tuple[Any, bytes, list[tuple[str, bytes]], int]]) -> None:
    """The records of `sent`, as they are (a client of the test's own, not mqcli)."""
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for key, value, headers, ts in sent:
            p.send(topic, value=value, key=key, headers=headers, timestamp_ms=ts, partition=0)
        p.flush()
    finally:
        p.close()


def _seen(bootstrap: str, topic: str) -> list[tuple[Any, Any, list[tuple[str, bytes]], int]]:
    return [(r.key, r.value, list(r.headers), r.timestamp) for r in records(bootstrap, topic)]


def test_kafka_to_rabbit_to_kafka_is_byte_for_byte_with_the_key_in_a_header(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    kafka_broker: str,
    amqp: Amqp,
    queue: Callable[..., str],
) -> None:
    src, dst, q = make_topic(1), make_topic(1), queue()
    _produce_exact(kafka_broker, src, SENT)
    r = cli("move", f"kafka:{src}", f"rabbit:{q}", "-e", "--key-from", "header:kafka-key")
    assert r.exit_code == 0, r.stderr
    assert amqp.wait_count(q, len(SENT)) == len(SENT)
    # On the way: the key in its header, the timestamp as the AMQP property (seconds) and in ms.
    ch = amqp.channel()
    method, props, body = ch.basic_get(q, auto_ack=False)
    assert body == SENT[0][1] and props.timestamp == SENT[0][3] // 1000
    assert props.delivery_mode == 2  # persistent: a Kafka record must survive a broker restart
    assert props.headers["kafka-key"] == SENT[0][0] and props.headers["x-kafka-timestamp"] == SENT[0][3]
    ch.basic_reject(method.delivery_tag, requeue=True)  # back in its place
    r = cli("move", f"rabbit:{q}", f"kafka:{dst}", "-e", "--key-from", "header:kafka-key")
    assert r.exit_code == 0, r.stderr
    assert "moved 5, failed 0" in r.stderr
    assert _seen(kafka_broker, dst) == _seen(kafka_broker, src) == [(k, v, h, t) for k, v, h, t in SENT]
    assert amqp.count(q) == 0


def test_kafka_to_rabbit_to_kafka_with_the_key_as_routing_key(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    kafka_broker: str,
    amqp: Amqp,
    queue: Callable[..., str],
    exchange: Callable[..., str],
) -> None:
    src, dst, q, x = make_topic(1), make_topic(1), queue(), exchange("topic")
    amqp.channel().queue_bind(q, x, routing_key="#")
    text = [
        (f"order-{i}".encode(), f"v{i}".encode(), [("n", str(i).encode())], 1700000000000 + 7 * i) for i in range(5)
    ]
    _produce_exact(kafka_broker, src, text)
    r = cli("move", f"kafka:{src}", f"rabbit:exchange/{x}", "-e", "--key-from", "routing-key")
    assert r.exit_code == 0, r.stderr
    assert amqp.wait_count(q, 5) == 5
    r = cli("move", f"rabbit:{q}", f"kafka:{dst}", "-e", "--key-from", "routing-key")
    assert r.exit_code == 0, r.stderr
    assert _seen(kafka_broker, dst) == [(k, v, h, t) for k, v, h, t in text]


def test_routing_key_refuses_a_binary_key_and_leaves_it_in_the_source(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    kafka_broker: str,
    amqp: Amqp,
    queue: Callable[..., str],
    exchange: Callable[..., str],
) -> None:
    src, q, x = make_topic(1), queue(), exchange("topic")
    amqp.channel().queue_bind(q, x, routing_key="#")
    _produce_exact(kafka_broker, src, [(b"ok", b"1", [], 1), (b"\xff", b"2", [], 2), (b"ok", b"3", [], 3)])
    r = cli("move", f"kafka:{src}", f"rabbit:exchange/{x}", "-e", "--key-from", "routing-key")
    assert r.exit_code == 1, r.stderr
    assert f"{src}[0]@1" in r.stderr and "not UTF-8" in r.stderr
    assert amqp.wait_count(q, 1) == 1 and amqp.bodies(q) == ["1"]


def test_key_from_without_a_default_stays_as_it_was(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    kafka_broker: str,
    amqp: Amqp,
    queue: Callable[..., str],
) -> None:
    # From RabbitMQ without --key-from: no key (the routing key does not become one).
    src, q = make_topic(1), queue()
    amqp.publish(q, b"v")
    r = cli("move", f"rabbit:{q}", f"kafka:{src}", "-e")
    assert r.exit_code == 0, r.stderr
    assert [x.key for x in records(kafka_broker, src)] == [None]


def test_key_from_usage_errors(cli: Callable[..., Run]) -> None:
    for args, why in [
        (["move", "kafka:a", "kafka:b", "--key-from", "none"], "to or from RabbitMQ"),
        (["move", "rabbit:a", "rabbit:b", "--key-from", "none"], "to or from RabbitMQ"),
        (["move", "kafka:a", "-", "--key-from", "none"], "to or from RabbitMQ"),
        (["move", "kafka:a", "rabbit:q", "--key-from", "routing-key"], "fixes the routing key"),
        (["move", "kafka:a", "rabbit:exchange/x/k", "--key-from", "routing-key"], "fixes the routing key"),
        (["move", "kafka:a", "rabbit:exchange/x", "--key-from", "header:"], "invalid --key-from"),
        (["move", "kafka:a", "--to-origin", "--key-from", "none"], "to or from RabbitMQ"),
    ]:
        r = cli(*args)
        assert r.exit_code == 2, (args, r.stderr)
        assert why in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
