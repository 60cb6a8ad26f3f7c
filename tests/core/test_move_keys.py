"""--key-from and the millisecond timestamp header: how a Kafka key and
timestamp cross to RabbitMQ and come back (pure mapping, no broker)."""

from __future__ import annotations

import pytest

from mqcli.core.errors import UsageError
from mqcli.core.message import Message
from mqcli.core.move import (
    KAFKA_TIMESTAMP_HEADER,
    KeyFrom,
    for_kafka,
    for_rabbit,
    key_refusal,
    parse_endpoint,
    parse_key_from,
)

EXCHANGE = parse_endpoint("rabbit:exchange/x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("routing-key", KeyFrom("routing-key")),
        ("none", KeyFrom("none")),
        ("header:kafka-key", KeyFrom("header", "kafka-key")),
        ("header:a:b", KeyFrom("header", "a:b")),
    ],
)
def test_parse_key_from(text: str, expected: KeyFrom) -> None:
    assert parse_key_from(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize("text", ["", "header:", "header", "key", "routing_key"])
def test_parse_key_from_refuses_the_rest(text: str) -> None:
    with pytest.raises(UsageError, match="--key-from"):
        parse_key_from(text)


def _delivered(out: Message, routing_key: str | None = None) -> Message:
    """What a RabbitMQ consumer gets for `out` as published (bytes headers stay bytes)."""
    return Message(out.value, headers=list(out.headers), properties=dict(out.properties), routing_key=routing_key)


def test_key_in_a_header_round_trips_binary_keys_and_millisecond_timestamps() -> None:
    keys = KeyFrom("header", "kafka-key")
    headers = [("h", b"\x00\xff"), ("e", b"")]
    src = Message(
        b"\x01\x02", key=b"\xff\x00k", headers=headers, topic="t", partition=0, offset=1, timestamp=1700000000123
    )
    r = for_rabbit(src, EXCHANGE, keys)
    assert r.routing_key is None  # the key went into the header, not the routing key
    assert r.properties == {"timestamp": 1700000000}
    assert r.headers == [*headers, (KAFKA_TIMESTAMP_HEADER, 1700000000123), ("kafka-key", b"\xff\x00k")]
    back = for_kafka(_delivered(r, routing_key=""), keys)
    assert (back.key, back.value, back.headers, back.timestamp) == (src.key, src.value, headers, src.timestamp)


def test_null_and_empty_keys_stay_apart() -> None:
    keys = KeyFrom("header", "k")
    for key in (None, b""):
        r = for_rabbit(Message(b"v", key=key, timestamp=5), EXCHANGE, keys)
        assert for_kafka(_delivered(r), keys).key == key


def test_routing_key_both_ways() -> None:
    keys = KeyFrom("routing-key")
    r = for_rabbit(Message(b"v", key=b"order-1", routing_key="own"), EXCHANGE, keys)
    assert r.routing_key == "order-1"  # asked for: the key wins over a routing key of its own
    assert for_kafka(Message(b"v", routing_key="order-1", queue="q"), keys).key == b"order-1"
    assert for_kafka(Message(b"v", queue="q"), keys).key is None


def test_routing_key_refuses_keys_that_cannot_be_one() -> None:
    keys = KeyFrom("routing-key")
    assert key_refusal(Message(b"v", key=b"\xff"), keys) is not None
    assert key_refusal(Message(b"v", key=b"k" * 256), keys) is not None
    assert key_refusal(Message(b"v", key=b"k" * 255), keys) is None
    assert key_refusal(Message(b"v", key=b"\xff"), None) is None  # the default stays as it was
    assert key_refusal(Message(b"v", key=b"\xff"), KeyFrom("header", "k")) is None


def test_none_drops_the_key_both_ways() -> None:
    keys = KeyFrom("none")
    assert for_rabbit(Message(b"v", key=b"k"), EXCHANGE, keys).routing_key is None
    msg = Message(b"v", key=b"k", routing_key="rk", headers=[("k", b"x")], queue="q")
    assert for_kafka(msg, keys).key is None


def test_header_key_from_rabbit_takes_the_header_out_and_reads_typed_values_as_text() -> None:
    keys = KeyFrom("header", "id")
    out = for_kafka(Message(b"v", headers=[("id", 42), ("other", "x")], queue="q", routing_key="rk"), keys)
    assert out.key == b"42" and out.headers == [("other", "x")]


def test_timestamp_header_only_with_a_derived_property() -> None:
    # The message names its own AMQP timestamp: it wins, no millisecond header.
    own = Message(b"v", headers=[("x-amqp-timestamp", b"1600000000")], timestamp=1700000000123)
    r = for_rabbit(own, EXCHANGE)
    assert r.properties == {"timestamp": 1600000000} and r.headers == []
    # A user's AMQP timestamp (no header) still travels to Kafka as x-amqp-timestamp.
    k = for_kafka(Message(b"v", properties={"timestamp": 1700000000}, queue="q"))
    assert k.timestamp == 1700000000000 and k.headers == [("x-amqp-timestamp", "1700000000")]
    # A header that is not a number is not ours: it travels.
    odd = for_kafka(Message(b"v", headers=[(KAFKA_TIMESTAMP_HEADER, b"soon")], queue="q"))
    assert odd.headers == [(KAFKA_TIMESTAMP_HEADER, b"soon")] and odd.timestamp is None


# -- --to-origin from Kafka: the original partition ---------------------------------


def _dead(headers: list[tuple[str, bytes]]) -> Message:
    return Message(b"v", key=b"k", headers=headers, topic="orders.DLT", partition=0, offset=0)


def test_origin_partition_of_spring_and_connect_dead_letters() -> None:
    from mqcli.core.move import origin_partition

    spring = [("kafka_dlt-original-topic", b"orders")]
    assert origin_partition(_dead([*spring, ("kafka_dlt-original-partition", (2).to_bytes(4, "big"))])) == 2
    assert origin_partition(_dead([*spring, ("kafka_dlt-original-partition", b"7")])) == 7  # as text too
    assert origin_partition(_dead(spring)) is None  # no partition header: partitioned by key
    bad = origin_partition(_dead([*spring, ("kafka_dlt-original-partition", b"two")]))
    assert isinstance(bad, str) and "not a partition number" in bad
    connect = [("__connect.errors.topic", b"payments"), ("__connect.errors.partition", b"3")]
    assert origin_partition(_dead(connect)) == 3
    # Another convention's partition header does not count for this one's topic.
    assert origin_partition(_dead([*spring, ("__connect.errors.partition", b"3")])) is None
    # --origin-header NAME: a topic header of the user's own has no partition header.
    own = [("source-topic", b"orders"), ("kafka_dlt-original-partition", (1).to_bytes(4, "big"))]
    assert origin_partition(_dead(own), "source-topic") is None


def test_a_kafka_records_timestamp_header_travels_as_it_is() -> None:
    # Kafka to Kafka: headers and timestamp travel unchanged, whatever their names.
    msg = Message(b"v", headers=[(KAFKA_TIMESTAMP_HEADER, b"5")], topic="t", partition=0, offset=0, timestamp=9)
    out = for_kafka(msg)
    assert out.headers == [(KAFKA_TIMESTAMP_HEADER, b"5")] and out.timestamp == 9


def test_the_persistent_mode_a_move_from_kafka_gave_does_not_come_back_as_a_header() -> None:
    came = Message(b"v", headers=[(KAFKA_TIMESTAMP_HEADER, 1700000000123)], queue="q")
    came.properties = {"timestamp": 1700000000, "delivery_mode": 2}
    out = for_kafka(came)
    assert out.headers == [] and out.timestamp == 1700000000123
    # A RabbitMQ message's own delivery_mode (no header of ours) travels as before.
    own = for_kafka(Message(b"v", properties={"delivery_mode": 2}, queue="q"))
    assert own.headers == [("x-amqp-delivery_mode", "2")]
