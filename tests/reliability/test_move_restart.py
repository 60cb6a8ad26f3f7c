"""`mqcli move --reconnect 30` through a RabbitMQ broker restart, on either
side (RabbitMQ queue -> Kafka, Kafka -> RabbitMQ queue): it reconnects,
finishes with exit 0, nothing is lost, duplicates no more than it counted.

The restarted broker is a private RabbitMQ node of this test
(`brokers/rabbitmq.sh` with its own instance directory, node name and ports:
AMQP 127.0.0.1:5702, no TLS or management listener), started and stopped by
the module; the shared brokers are never restarted (Kafka is the shared test
broker, which is not touched).  Figures go to .brokers/reliability-move.json."""

from __future__ import annotations

import collections
import json
import os
import random
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pika
import pytest

from tests.conftest import Run
from tests.kafka.conftest import admin, committed, kafka_broker, make_topic, records  # noqa: F401
from tests.move.conftest import kafka_engine  # noqa: F401
from tests.rabbit.conftest import Proc

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / ".brokers" / "reliability-move.json"
PORT = 5702
PRIVATE = {
    "RABBIT_INSTANCE": "rabbitmq-move-restart",
    "RABBIT_AMQP_PORT": str(PORT),
    "RABBIT_AMQPS_PORT": "",
    "RABBIT_HTTP_PORT": "",
    "RABBITMQ_NODENAME": "moverestart@localhost",
    "RABBITMQ_DIST_PORT": "25702",
    "RABBITMQ_CTL_DIST_PORT_MIN": "35712",
    "RABBITMQ_CTL_DIST_PORT_MAX": "35722",
}
N = 20_000


class PrivateRabbit:
    """brokers/rabbitmq.sh for this module's own node."""

    def run(self, action: str) -> float:
        started = time.monotonic()
        p = subprocess.run(
            [str(ROOT / "brokers" / "rabbitmq.sh"), action],
            cwd=ROOT,
            env={**os.environ, **PRIVATE},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if p.returncode != 0:
            pytest.fail(f"brokers/rabbitmq.sh {action} (private node) failed: {p.stdout}{p.stderr}", pytrace=False)
        return time.monotonic() - started

    def params(self) -> pika.ConnectionParameters:
        return pika.ConnectionParameters(
            "127.0.0.1", PORT, credentials=pika.PlainCredentials("guest", "guest"), connection_attempts=1
        )


@pytest.fixture(scope="module")
def private_rabbit() -> Iterator[PrivateRabbit]:
    node = PrivateRabbit()
    node.run("start")
    try:
        yield node
    finally:
        node.run("stop")


@pytest.fixture
def on_private(private_rabbit: PrivateRabbit, monkeypatch: pytest.MonkeyPatch) -> PrivateRabbit:
    """mqcli (in-process and subprocesses) talks to the private node."""
    monkeypatch.setenv("MQCLI_RABBIT_HOSTS", f"127.0.0.1:{PORT}")
    return private_rabbit


def _record(scenario: str, figures: dict[str, Any]) -> None:
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


def _queue(node: PrivateRabbit, name: str, *, count: bool = False) -> int:
    conn = pika.BlockingConnection(node.params())
    try:
        ok = conn.channel().queue_declare(name, durable=True, passive=count)
        return int(ok.method.message_count)
    finally:
        conn.close()


def _drain(node: PrivateRabbit, name: str) -> list[bytes]:
    conn = pika.BlockingConnection(node.params())
    try:
        ch = conn.channel()
        ch.basic_qos(prefetch_count=1000)
        out: list[bytes] = []
        for method, _props, body in ch.consume(name, auto_ack=True, inactivity_timeout=2):
            if method is None:
                break
            out.append(body)
        return out
    finally:
        conn.close()


def _kafka_end(bootstrap: str, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic) or ()]
        return sum(c.end_offsets(tps).values())
    finally:
        c.close()


def _restart_midway(node: PrivateRabbit, args: list[str], progress: Callable[[], int]) -> tuple[dict[str, Any], float]:
    """Run the move, restart the private node once the target has a random
    part of the messages; (the move's JSON summary, seconds the node was down)."""
    proc = Proc([*args, "-o", "json"])
    try:
        threshold = random.randint(N // 10, N // 4)  # paced at 1,000/s: the restart comes midway
        deadline = time.monotonic() + 180
        while progress() < threshold:
            assert proc.p.poll() is None, "".join(proc.err_lines)
            assert time.monotonic() < deadline, "".join(proc.err_lines)
            time.sleep(0.05)
        down = node.run("stop")
        down += node.run("start")
        code, out, err = proc.finish(timeout=300)
    finally:
        proc.kill()
    assert code == 0, err
    assert "reconnected to RabbitMQ" in err, err
    return dict(json.loads(out)), round(down, 1)


def _figures(values: list[bytes], summary: dict[str, Any], down: float) -> dict[str, Any]:
    counts = collections.Counter(values)
    expected = {str(i).encode() for i in range(N)}
    return {
        "messages": N,
        "down_seconds": down,
        "found": len(values),
        "lost": len(expected - set(counts)),
        "duplicated": sum(c - 1 for c in counts.values()),
        "unexpected": len(set(counts) - expected),
        "reconnects": summary["reconnects"],
        "resent": summary["resent"],
        "redelivered": summary["redelivered"],
        "moved": summary["moved"],
    }


def test_queue_to_kafka_through_a_rabbitmq_restart(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    kafka_broker: str,
    on_private: PrivateRabbit,
) -> None:
    dst = make_topic(2)
    q = f"move-restart-{dst}"
    _queue(on_private, q)
    r = cli("rabbit", "publish", "--queue", q, input="".join(f"{i}\n" for i in range(N)))
    assert r.exit_code == 0, r.stderr
    summary, down = _restart_midway(
        on_private,
        ["move", f"rabbit:{q}", f"kafka:{dst}", "-e", "--reconnect", "30", "--rate", "1000/s"],
        lambda: _kafka_end(kafka_broker, dst),
    )
    figures = _figures([x.value for x in records(kafka_broker, dst, timeout=60)], summary, down)
    _record(f"rabbit-to-kafka-restart-{kafka_engine}", figures)
    assert figures["lost"] == 0 and figures["unexpected"] == 0, figures
    assert figures["duplicated"] <= figures["redelivered"], figures
    assert _queue(on_private, q, count=True) == 0


def test_kafka_to_queue_through_a_rabbitmq_restart(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    admin: Any,
    on_private: PrivateRabbit,
) -> None:
    src = make_topic(2)
    q = f"move-restart-{src}"
    _queue(on_private, q)
    r = cli("kafka", "produce", src, input="".join(f"{i}\n" for i in range(N)))
    assert r.exit_code == 0, r.stderr
    summary, down = _restart_midway(
        on_private,
        ["move", f"kafka:{src}", f"rabbit:{q}", "-e", "--reconnect", "30", "--rate", "1000/s"],
        lambda: _queue_count(on_private, q),
    )
    figures = _figures(_drain(on_private, q), summary, down)
    _record(f"kafka-to-rabbit-restart-{kafka_engine}", figures)
    assert figures["lost"] == 0 and figures["unexpected"] == 0, figures
    assert figures["duplicated"] <= figures["resent"], figures
    assert sum(committed(admin, f"mqcli-move.kafka_{src}.to.rabbit_{q}").values()) == N


def _queue_count(node: PrivateRabbit, q: str) -> int:
    try:
        return _queue(node, q, count=True)
    except pika.exceptions.AMQPError:
        return 0  # the node is restarting
