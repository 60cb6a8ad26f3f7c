"""`mqcli move` killed with SIGKILL at random moments, then run again to
completion: nothing lost, duplicates within the batches in flight at the
kills.  Kafka -> Kafka, RabbitMQ -> Kafka and Kafka -> RabbitMQ, both Kafka
engines.  Only mqcli is killed (never a broker), so these use the shared
test brokers.  Each prints its figures (-s) and merges them into
.brokers/reliability-move.json (for the README's Reliability section)."""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.kafka.conftest import admin, committed, kafka_broker, make_topic, records  # noqa: F401
from tests.move.conftest import kafka_engine  # noqa: F401
from tests.rabbit.conftest import Amqp, Proc, amqp, queue, rabbitmq_broker  # noqa: F401

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / ".brokers" / "reliability-move.json"
N = 20_000
# What may be delivered to the target but not yet acknowledged at the source when
# the move dies: a Kafka source, the poll batch being delivered (max_poll_records
# 500) and the previous one's commit (asynchronous between batches); a queue source,
# the deliveries taken and not yet acknowledged (prefetch 1,000).  Per kill.
WINDOW = 1_000
# Kafka -> RabbitMQ is pipelined: the unconfirmed messages (rabbit publish's
# window, 1,024) and those confirmed since the last commit (about a poll batch).
PIPELINED = 1_024 + 500


@pytest.fixture(autouse=True)
def short_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    """A killed mover never leaves its group: a rerun gets the partitions once the
    session expires, 6 s here instead of Kafka's 45 s."""
    monkeypatch.setenv("MQCLI_KAFKA_CONSUMER_SESSION_TIMEOUT", "6s")


# The killed runs are paced, so that a run cannot move the rest of the source
# between two looks at the target's count (the kill must land mid-move).
PACE = ["--rate", "2000/s"]


@pytest.fixture
def record() -> Iterator[Callable[[str, dict[str, Any]], None]]:
    def write(scenario: str, figures: dict[str, Any]) -> None:
        print(f"\nreliability figures [move {scenario}]: {json.dumps(figures, sort_keys=True)}")
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        try:
            data = json.loads(FIGURES.read_text())
        except (OSError, ValueError):
            data = {}
        data[scenario] = {**figures, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        tmp = FIGURES.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(FIGURES)

    yield write


def _kafka_end(bootstrap: str, topic: str) -> int:
    """Records written to `topic` so far (its end offsets)."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic) or ()]
        return sum(c.end_offsets(tps).values())
    finally:
        c.close()


def _drain(amqp: Amqp, q: str) -> list[bytes]:
    """Every message of queue `q`, taken (a consumer, not one basic.get each)."""
    ch = amqp.channel()
    ch.basic_qos(prefetch_count=1000)
    out: list[bytes] = []
    for method, _props, body in ch.consume(q, auto_ack=True, inactivity_timeout=2):
        if method is None:
            break
        out.append(body)
    ch.cancel()
    return out


def _kill_at_random(
    args: list[str], progress: Callable[[], int], kills: int, rng: random.Random
) -> tuple[list[int], list[float]]:
    """Run the move `kills` times, each SIGKILLed at a random moment: once the
    target got a random number more, plus up to 0.3 s (the count moves a batch
    at a time); (target count at each kill, seconds each ran)."""
    at: list[int] = []
    ran: list[float] = []
    for _ in range(kills):
        before = progress()
        if before >= N * 0.9:
            break
        threshold = before + rng.randint(300, max(301, (N - before) // 2))
        proc = Proc(args)
        started = time.monotonic()
        try:
            # A Kafka source's rerun first waits for the killed member's session to expire (short_sessions).
            deadline = started + 240
            while proc.p.poll() is None and progress() < threshold:
                assert time.monotonic() < deadline, f"no progress: {''.join(proc.err_lines)}"
                time.sleep(rng.uniform(0.0, 0.05))
            # The count moves a batch at a time: a random moment within the next batch.
            time.sleep(rng.uniform(0.0, 0.3))
            assert proc.p.poll() is None, f"the move ended before the kill: {''.join(proc.err_lines)}"
            proc.p.send_signal(signal.SIGKILL)
            proc.p.wait(timeout=30)
        finally:
            proc.kill()
        ran.append(round(time.monotonic() - started, 1))
        at.append(progress())
    return at, ran


def _finish(args: list[str]) -> dict[str, Any]:
    final = Proc([*args, "-o", "json"])
    try:
        code, out, err = final.finish(timeout=300)
    finally:
        final.kill()
    assert code == 0, err
    return dict(json.loads(out))


def _figures(
    values: list[bytes], at: list[int], ran: list[float], last: dict[str, Any], window: int = WINDOW
) -> dict[str, Any]:
    counts = collections.Counter(values)
    expected = {str(i).encode() for i in range(N)}
    lost = len(expected - set(counts))
    duplicated = sum(c - 1 for c in counts.values())
    return {
        "messages": N,
        "kills": len(at),
        "target_at_kills": at,
        "seconds_before_kills": ran,
        "final_run_moved": last["moved"],
        "found": len(values),
        "lost": lost,
        "duplicated": duplicated,
        "window": window * len(at),
        "unexpected": len(set(counts) - expected),
    }


def _check(figures: dict[str, Any]) -> None:
    assert figures["lost"] == 0 and figures["unexpected"] == 0, figures
    assert figures["duplicated"] <= figures["window"], figures


def _lines() -> str:
    return "".join(f"{i}\n" for i in range(N))


def test_kafka_to_kafka_killed_at_random_moments(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    kafka_broker: str,
    admin: Any,
    record: Callable[[str, dict[str, Any]], None],
) -> None:
    src, dst = make_topic(2), make_topic(2)
    r = cli("kafka", "produce", src, input=_lines())
    assert r.exit_code == 0, r.stderr
    args = ["move", f"kafka:{src}", f"kafka:{dst}", "-e"]
    at, ran = _kill_at_random(args + PACE, lambda: _kafka_end(kafka_broker, dst), 2, random.Random())
    last = _finish(args)
    figures = _figures([x.value for x in records(kafka_broker, dst, timeout=60)], at, ran, last)
    record(f"kafka-to-kafka-kill9-{kafka_engine}", figures)
    _check(figures)
    assert sum(committed(admin, f"mqcli-move.kafka_{src}.to.kafka_{dst}").values()) == N


def test_rabbit_to_kafka_killed_at_random_moments(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    kafka_broker: str,
    amqp: Amqp,
    queue: Callable[..., str],
    record: Callable[[str, dict[str, Any]], None],
) -> None:
    q, dst = queue(), make_topic(2)
    r = cli("rabbit", "publish", "--queue", q, input=_lines())
    assert r.exit_code == 0, r.stderr
    assert amqp.wait_count(q, N) == N
    args = ["move", f"rabbit:{q}", f"kafka:{dst}", "-e"]
    at, ran = _kill_at_random(args + PACE, lambda: _kafka_end(kafka_broker, dst), 3, random.Random())
    last = _finish(args)
    figures = _figures([x.value for x in records(kafka_broker, dst, timeout=60)], at, ran, last)
    record(f"rabbit-to-kafka-kill9-{kafka_engine}", figures)
    _check(figures)
    assert amqp.count(q) == 0


def test_kafka_to_rabbit_killed_at_random_moments(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    amqp: Amqp,
    queue: Callable[..., str],
    admin: Any,
    record: Callable[[str, dict[str, Any]], None],
) -> None:
    src, q = make_topic(2), queue()
    r = cli("kafka", "produce", src, input=_lines())
    assert r.exit_code == 0, r.stderr
    args = ["move", f"kafka:{src}", f"rabbit:{q}", "-e"]
    at, ran = _kill_at_random(args + PACE, lambda: amqp.count(q), 2, random.Random())
    last = _finish(args)
    figures = _figures(_drain(amqp, q), at, ran, last, PIPELINED)
    record(f"kafka-to-rabbit-kill9-{kafka_engine}", figures)
    _check(figures)
    assert sum(committed(admin, f"mqcli-move.kafka_{src}.to.rabbit_{q}").values()) == N
