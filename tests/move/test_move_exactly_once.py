"""`mqcli move --exactly-once` (Kafka to Kafka on one cluster) against the
real broker: each batch is a transaction with its source offsets, so a move
killed with SIGKILL and run again leaves every source message exactly once
in the target for read_committed readers; what it cannot go with is a
usage error (exit 2)."""

from __future__ import annotations

import collections
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Run
from tests.kafka.conftest import committed, records
from tests.rabbit.conftest import Proc


def _group(source: str, target: str) -> str:
    def part(text: str) -> str:
        return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)

    return f"mqcli-move.{part(source)}.to.{part(target)}"


def committed_values(bootstrap: str, topic: str, timeout: float = 30.0) -> list[bytes]:
    """Every record of `topic` a read_committed reader sees (up to the last stable offset)."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed")
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic))]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        end = c.end_offsets(tps)  # read_committed: the last stable offset
        out: list[bytes] = []
        deadline = time.monotonic() + timeout
        while any(c.position(tp) < end[tp] for tp in tps) and time.monotonic() < deadline:
            for batch in c.poll(timeout_ms=500).values():
                out += [r.value for r in batch]
        return out
    finally:
        c.close()


def _log_end(bootstrap: str, topic: str) -> int:
    """The log end offset (uncommitted records included)."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic) or ()]
        return sum(c.end_offsets(tps).values())
    finally:
        c.close()


def test_exactly_once_move_then_a_second_run_moves_only_what_came_since(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], admin: Any, kafka_broker: str
) -> None:
    src, dst = make_topic(3), make_topic(2)
    r = cli("kafka", "produce", src, "-K", ":", input="".join(f"k{i}:v{i}\n" for i in range(300)))
    assert r.exit_code == 0, r.stderr
    r = cli("move", f"kafka:{src}", f"kafka:{dst}", "-e", "--exactly-once", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert "exactly once: each batch is one transaction" in r.stderr
    group = _group(f"kafka:{src}", f"kafka:{dst}")
    assert sum(committed(admin, group).values()) == 300
    got = committed_values(kafka_broker, dst)
    assert sorted(got) == sorted(f"v{i}".encode() for i in range(300))
    # Keys, and so partitions by key, travel as for a plain move.
    assert {x.key for x in records(kafka_broker, dst)} == {f"k{i}".encode() for i in range(300)}
    r = cli("kafka", "produce", src, "-K", ":", input="".join(f"k{i}:v{i}\n" for i in range(300, 350)))
    assert r.exit_code == 0, r.stderr
    r = cli("move", f"kafka:{src}", f"kafka:{dst}", "-e", "--exactly-once")
    assert r.exit_code == 0, r.stderr
    assert "moved 50" in r.stderr
    assert sorted(committed_values(kafka_broker, dst)) == sorted(f"v{i}".encode() for i in range(350))


def test_sigkill_mid_exactly_once_move_neither_loses_nor_duplicates(
    kafka_engine: str, make_topic: Callable[..., str], admin: Any, kafka_broker: str, cli: Callable[..., Run]
) -> None:
    src, dst = make_topic(2), make_topic(1)
    n = 40000
    r = cli("kafka", "produce", src, input="".join(f"v{i}\n" for i in range(n)))
    assert r.exit_code == 0, r.stderr
    args = ["move", f"kafka:{src}", f"kafka:{dst}", "-e", "--exactly-once"]
    proc = Proc(args)
    try:
        deadline = time.monotonic() + 90
        # Past two transactions (up to 5,000 records each, TRANSACTION_BATCH): some are committed.
        while _log_end(kafka_broker, dst) < 11_000:
            assert proc.p.poll() is None, "".join(proc.err_lines)
            assert time.monotonic() < deadline, "the move did not start"
            time.sleep(0.02)
        proc.p.send_signal(signal.SIGKILL)
        proc.p.wait(timeout=30)
    finally:
        proc.kill()
    # The killed run left records behind (committed transactions, and likely one open).
    first = committed_values(kafka_broker, dst)
    assert 0 < len(first) < n
    assert len(set(first)) == len(first)
    # The rerun fences the killed producer off (aborting its open transaction) and continues.
    again = Proc(args)
    try:
        code, _out, err = again.finish(timeout=240)
    finally:
        again.kill()
    assert code == 0, err
    got = committed_values(kafka_broker, dst)
    counts = collections.Counter(got)
    assert [v for v, c in counts.items() if c > 1] == []  # no duplicates for read_committed readers
    assert set(got) == {f"v{i}".encode() for i in range(n)}  # none lost
    assert sum(committed(admin, _group(f"kafka:{src}", f"kafka:{dst}")).values()) == n


def test_exactly_once_copy_with_a_group(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], admin: Any, kafka_broker: str
) -> None:
    src, dst = make_topic(1), make_topic(1)
    r = cli("kafka", "produce", src, input="".join(f"v{i}\n" for i in range(40)))
    assert r.exit_code == 0, r.stderr
    r = cli("copy", f"kafka:{src}", f"kafka:{dst}", "-e", "--exactly-once", "--group", f"g-{src}")
    assert r.exit_code == 0, r.stderr
    assert committed(admin, f"g-{src}") == {0: 40}
    assert committed_values(kafka_broker, dst) == [f"v{i}".encode() for i in range(40)]


def test_exactly_once_does_not_move_aborted_source_records(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], kafka_broker: str
) -> None:
    from kafka import KafkaProducer

    src, dst = make_topic(1), make_topic(1)
    p = KafkaProducer(bootstrap_servers=kafka_broker, transactional_id=f"t-{src}")
    try:
        p.init_transactions()
        p.begin_transaction()
        p.send(src, b"aborted")
        p.flush()
        p.abort_transaction()
        p.begin_transaction()
        p.send(src, b"kept")
        p.commit_transaction()
    finally:
        p.close()
    r = cli("move", f"kafka:{src}", f"kafka:{dst}", "-e", "--exactly-once")
    assert r.exit_code == 0, r.stderr
    assert committed_values(kafka_broker, dst) == [b"kept"]


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["move", "kafka:a", "rabbit:q", "--exactly-once"], "Kafka topic to a Kafka topic"),
        (["move", "rabbit:q", "kafka:a", "--exactly-once"], "Kafka topic to a Kafka topic"),
        (["move", "kafka:a", "-", "--exactly-once"], "Kafka topic to a Kafka topic"),
        (["move", "kafka:a", "--to-origin", "--exactly-once"], "Kafka topic to a Kafka topic"),
        (["copy", "kafka:a", "kafka:b", "--exactly-once"], "needs --group"),
        (["move", "kafka:a", "kafka:b", "--exactly-once", "--on-error", "skip"], "--on-error stop"),
        (["move", "kafka:a", "kafka:b", "--exactly-once", "--isolation", "read_uncommitted"], "read_committed"),
    ],
)
def test_exactly_once_refuses_what_it_cannot_do(cli: Callable[..., Run], args: list[str], why: str) -> None:
    r = cli(*args)
    assert r.exit_code == 2, r.stderr
    assert why in r.stderr and "Traceback" not in r.stderr
