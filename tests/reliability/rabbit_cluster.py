"""Fixtures for the RabbitMQ cluster fault tests (imported by
tests/reliability/test_rabbit_cluster.py).

- `rabbit_cluster`: the three-node cluster of brokers/rabbitmq-cluster.sh
  (cluster1..3@localhost on 127.0.0.1:5791-5793), started for the module
  when it is not running (a cluster that cannot start FAILS the tests, never
  skips them) and stopped again at the end if the module started it.
- `cluster`: the same, per test: all three nodes running and clustered
  before the test, and again after it (a node the test killed is started
  again), so tests stay independent.
- `cluster_rabbit`: AMQP setup and checks through whichever node answers.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pika
import pytest

from tests.rabbit.conftest import _params
from tests.reliability.conftest import Rabbit

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SH = ROOT / "brokers" / "rabbitmq-cluster.sh"
NODES = (1, 2, 3)


def amqp_port(node: int) -> int:
    return 5790 + node  # brokers/rabbitmq-cluster.sh


def node_name(node: int) -> str:
    return f"cluster{node}@localhost"


def node_params(node: int) -> pika.ConnectionParameters:
    params = _params()
    params.port = amqp_port(node)
    return params


class RabbitCluster:
    """brokers/rabbitmq-cluster.sh, each call logged and timed."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.timings: dict[str, float] = {}

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        p = subprocess.run(
            [str(CLUSTER_SH), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
        took = time.monotonic() - started
        self.timings[" ".join(args)] = round(took, 1)
        self.log.append(f"{' '.join(args)}: exit {p.returncode} in {took:.1f}s {p.stdout.strip()} {p.stderr[-800:]}")
        return p

    def must(self, *args: str) -> subprocess.CompletedProcess[str]:
        p = self.run(*args)
        if p.returncode != 0:
            pytest.fail(f"rabbitmq-cluster.sh {' '.join(args)} failed: {p.stdout}{p.stderr[-3000:]}", pytrace=False)
        return p

    def is_up(self) -> bool:
        return self.run("status", timeout=120).returncode == 0

    def start(self) -> None:
        """Start whichever nodes are down; returns once all three are clustered."""
        self.must("start")

    def kill(self, node: int) -> None:
        """SIGKILL the node's Erlang VM (returns once it is gone)."""
        self.must("kill", str(node))

    def queue_info(self, *queues: str, via: int) -> dict[str, dict[str, Any]]:
        """Each quorum queue's leader, members and online members, as node `via` sees them."""
        p = self.must(
            "ctl", str(via), "-q", "list_queues", "name", "type", "leader", "members", "online", "--formatter", "json"
        )
        rows = {row["name"]: dict(row) for row in json.loads(p.stdout)}
        missing = [q for q in queues if q not in rows]
        assert not missing, f"queues {missing} not listed by {node_name(via)}: {p.stdout[-1000:]}"
        return {q: rows[q] for q in queues}


@pytest.fixture(scope="module")
def rabbit_cluster() -> Iterator[RabbitCluster]:
    cluster = RabbitCluster()
    started = not cluster.is_up()
    if started:
        cluster.start()
    yield cluster
    if started:
        cluster.run("stop")


@pytest.fixture
def cluster(rabbit_cluster: RabbitCluster) -> Iterator[RabbitCluster]:
    """All three nodes running and clustered before and after the test."""
    rabbit_cluster.log.clear()
    if not rabbit_cluster.is_up():
        rabbit_cluster.start()
    yield rabbit_cluster
    if not rabbit_cluster.is_up():
        rabbit_cluster.start()


class ClusterRabbit(Rabbit):
    """Rabbit (tests/reliability/conftest.py) through the first cluster node that
    answers, so setup and checks work while one node is down."""

    def __init__(self) -> None:
        super().__init__(lambda: node_params(1))

    def _with(self, fn: Callable[[Any], Any], node: int | None = None) -> Any:
        order = [node] if node else list(NODES)
        conn = pika.BlockingConnection([node_params(n) for n in order])
        try:
            return fn(conn.channel())
        finally:
            try:
                conn.close()
            except Exception:
                pass

    def quorum_queue(self, name: str, leader: int) -> str:
        """A quorum queue on all three nodes, declared through (so led by) node `leader`."""
        self._with(lambda ch: ch.queue_declare(name, durable=True, arguments={"x-queue-type": "quorum"}), node=leader)
        self.queues.append(name)
        return name


@pytest.fixture
def cluster_rabbit(cluster: RabbitCluster) -> Iterator[ClusterRabbit]:
    r = ClusterRabbit()
    yield r
    r.cleanup()


def write_cluster_profile(path: Path, *nodes: int) -> None:
    """./mqcli.yaml with one default profile whose RabbitMQ hosts are the cluster nodes, in this order
    (mqcli connects to the first that answers), and Kafka on the shared broker."""
    hosts = ", ".join(f'"127.0.0.1:{amqp_port(n)}"' for n in nodes)
    path.write_text(
        "default: cluster\n"
        "profiles:\n"
        "  cluster:\n"
        "    kafka:\n"
        "      bootstrap_servers: 127.0.0.1:9092\n"
        "    rabbit:\n"
        f"      hosts: [{hosts}]\n"
        "      username: guest\n"
        "      password: guest\n"
    )
