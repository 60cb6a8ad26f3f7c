"""`mqcli move kafka:DLT --to-origin`: a dead letter goes back to the
partition its Spring Kafka or Kafka Connect headers name; without one, it is
partitioned by key; a partition the topic does not have is a refusal."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.conftest import Run
from tests.kafka.conftest import committed, records


def _dead_letters(bootstrap: str, topic: str, letters: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for key, value, headers in letters:
            p.send(topic, key=key, value=value, headers=headers, partition=0)
        p.flush()
    finally:
        p.close()


def _spring(topic: str, partition: int | None) -> list[tuple[str, bytes]]:
    headers = [("kafka_dlt-original-topic", topic.encode()), ("kafka_dlt-original-offset", (41).to_bytes(8, "big"))]
    if partition is not None:
        headers.append(("kafka_dlt-original-partition", partition.to_bytes(4, "big")))  # as Spring writes it
    return headers


def test_to_origin_keeps_the_original_partition(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], admin: Any, kafka_broker: str
) -> None:
    dlt, orders, payments = make_topic(1), make_topic(4), make_topic(3)
    # One key for all: partitioned by key they would all land in one partition.
    _dead_letters(
        kafka_broker,
        dlt,
        [
            (b"same", b"o-p2", _spring(orders, 2)),
            (b"same", b"o-p0", _spring(orders, 0)),
            (b"same", b"o-p3", _spring(orders, 3)),
            (b"same", b"pay-p1", [("__connect.errors.topic", payments.encode()), ("__connect.errors.partition", b"1")]),
            (b"same", b"o-bykey", _spring(orders, None)),
            (b"same", b"o-p9", _spring(orders, 9)),  # orders has 4 partitions
            (b"same", b"o-p1", _spring(orders, 1)),
        ],
    )
    r = cli("move", f"kafka:{dlt}", "--to-origin", "-e")
    assert r.exit_code == 1, r.stderr
    assert f"not moved: {dlt}[0]@5" in r.stderr and "original partition 9 is not one of topic" in r.stderr
    assert committed(admin, f"mqcli-move.kafka_{dlt}.to.origin") == {0: 5}  # up to the refused one, which stays
    got = {x.value: x.partition for x in records(kafka_broker, orders)}
    same = {x.value: x.partition for x in records(kafka_broker, payments)}
    assert {k: v for k, v in got.items() if k != b"o-bykey"} == {b"o-p2": 2, b"o-p0": 0, b"o-p3": 3}
    assert b"o-bykey" in got  # no partition header: wherever its key goes
    assert same == {b"pay-p1": 1}
    # --on-error skip: the refused one is counted and committed past; the rest keeps its partition.
    r = cli("move", f"kafka:{dlt}", "--to-origin", "-e", "--on-error", "skip", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["skipped"] == 1
    assert {x.value: x.partition for x in records(kafka_broker, orders)}[b"o-p1"] == 1


def test_to_origin_dry_run_names_a_partition_that_is_not_there(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], kafka_broker: str
) -> None:
    dlt, orders = make_topic(1), make_topic(2)
    _dead_letters(kafka_broker, dlt, [(b"k", b"a", _spring(orders, 1)), (b"k", b"b", _spring(orders, 5))])
    r = cli("move", f"kafka:{dlt}", "--to-origin", "--dry-run")
    assert r.exit_code == 1, r.stderr
    assert f"would not move: {dlt}[0]@1" in r.stderr and "original partition 5" in r.stderr
    assert "would move 1, failed 1" in r.stderr
    assert records(kafka_broker, orders) == []
