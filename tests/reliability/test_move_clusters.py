"""`mqcli copy|move kafka@A:… kafka@B:…` between two real Kafka clusters: the
shared broker (127.0.0.1:9092) and the three-node cluster of
brokers/kafka-cluster.sh (started for this module, stopped after it; the
shared broker is only read and written, never restarted).  What travels
arrives unchanged, a move commits in the source cluster's group, and
`--exactly-once` is refused across clusters (exit 2) before anything is read."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.reliability.kafka_fixtures import (  # noqa: F401  (fixtures)
    BOOTSTRAP,
    CLUSTER_BOOTSTRAP,
    BrokerControl,
    accepts_clients,
    kafka_cluster,
    kafka_topics,
)


@pytest.fixture
def two_clusters(tmp_path: Path, kafka_cluster: BrokerControl) -> Path:
    """A directory whose mqcli.yaml has profile `a` (the shared broker) and `b` (the cluster)."""
    if not accepts_clients(BOOTSTRAP):
        pytest.fail(f"the shared Kafka broker is not answering at {BOOTSTRAP}", pytrace=False)
    file = tmp_path / "mqcli.yaml"
    file.write_text(
        yaml.safe_dump(
            {
                "profiles": {
                    "a": {"kafka": {"bootstrap_servers": BOOTSTRAP}},
                    "b": {"kafka": {"bootstrap_servers": CLUSTER_BOOTSTRAP}},
                }
            }
        )
    )
    os.chmod(file, 0o600)
    return tmp_path


def _mqcli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MQCLI_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "mqcli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def _produce(bootstrap: str, topic: str, n: int) -> None:
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for i in range(n):
            p.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), headers=[("h", f"x{i}".encode())],
                   timestamp_ms=1_700_000_000_000 + i)  # fmt: skip
        p.flush()
    finally:
        p.close()


def _records(bootstrap: str, topic: str) -> list[Any]:
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic))]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        end = c.end_offsets(tps)
        out: list[Any] = []
        for _ in range(200):
            if all(c.position(tp) >= end[tp] for tp in tps):
                break
            for batch in c.poll(timeout_ms=500).values():
                out += batch
        return out
    finally:
        c.close()


@pytest.mark.parametrize("engine", ["librdkafka", "kafka-python"])
def test_copy_and_move_between_two_clusters(
    engine: str, two_clusters: Path, kafka_topics: Callable[..., Any], unique_name: Callable[[str], str]
) -> None:
    here, there = kafka_topics(BOOTSTRAP), kafka_topics(CLUSTER_BOOTSTRAP)
    src = here.make(unique_name("src"), partitions=2)
    dst = there.make(unique_name("dst"), partitions=3, replication=3)
    _produce(BOOTSTRAP, src, 300)

    r = _mqcli(two_clusters, "copy", f"kafka@a:{src}", f"kafka@b:{dst}", "-e", "--engine", engine)
    assert r.returncode == 0, r.stderr
    got = {x.key: x for x in _records(CLUSTER_BOOTSTRAP, dst)}
    assert set(got) == {f"k{i}".encode() for i in range(300)}
    for i in (0, 150, 299):
        rec = got[f"k{i}".encode()]
        assert (rec.value, rec.headers, rec.timestamp) == (
            f"v{i}".encode(),
            [("h", f"x{i}".encode())],
            1_700_000_000_000 + i,
        )

    # Back the other way, as a move: the group commits on the cluster, the source of this move.
    back = here.make(unique_name("back"))
    r = _mqcli(two_clusters, "move", f"kafka@b:{dst}", f"kafka@a:{back}", "-e", "--engine", engine)
    assert r.returncode == 0, r.stderr
    assert "moved 300" in r.stderr
    assert {x.value for x in _records(BOOTSTRAP, back)} == {f"v{i}".encode() for i in range(300)}
    r = _mqcli(two_clusters, "move", f"kafka@b:{dst}", f"kafka@a:{back}", "-e", "--engine", engine)
    assert r.returncode == 0, r.stderr
    assert "moved 0" in r.stderr  # a second run continues where the first stopped: nothing new


def test_exactly_once_is_refused_across_clusters(
    two_clusters: Path, kafka_topics: Callable[..., Any], unique_name: Callable[[str], str]
) -> None:
    here, there = kafka_topics(BOOTSTRAP), kafka_topics(CLUSTER_BOOTSTRAP)
    src = here.make(unique_name("src"))
    dst = there.make(unique_name("dst"), replication=3)
    _produce(BOOTSTRAP, src, 5)
    r = _mqcli(two_clusters, "move", f"kafka@a:{src}", f"kafka@b:{dst}", "-e", "--exactly-once")
    assert r.returncode == 2, r.stderr
    assert "--exactly-once needs source and target on one Kafka cluster" in r.stderr
    assert "Traceback" not in r.stderr
    assert _records(CLUSTER_BOOTSTRAP, dst) == []
