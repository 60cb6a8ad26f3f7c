"""Fault tests against a real three-node RabbitMQ cluster (issue 16): quorum
queues replicated on all three nodes, and their leader's node killed with
SIGKILL under `rabbit publish` (with and without --reconnect), and under
`rabbit consume --reconnect` and `move` to a Kafka topic.

The cluster is brokers/rabbitmq-cluster.sh (cluster1..3@localhost on
127.0.0.1:5791-5793; `make rabbitmq-cluster`), separate from the shared node
and started here when it is not running (`rabbit_cluster` fixture).  Each
test declares its queues through node 1, so node 1 leads them (checked with
rabbitmqctl), gives mqcli a profile with the hosts [node 1, node 2, node 3]
(mqcli connects to node 1 and, after the kill, reconnects to node 2), kills
node 1 once for all the commands it runs, and starts it again, so the next
test finds three nodes.  Figures are printed (-s) and kept in
.brokers/reliability-rabbit.json.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_mqcli
from tests.rabbit.conftest import mqcli_env
from tests.reliability.conftest import feed, numbered_lines
from tests.reliability.kafka_fixtures import BOOTSTRAP, kafka_topics, read_values  # noqa: F401  (fixture)
from tests.reliability.rabbit_cluster import (  # noqa: F401  (fixtures)
    ClusterRabbit,
    RabbitCluster,
    cluster,
    cluster_rabbit,
    node_name,
    rabbit_cluster,
    write_cluster_profile,
)
from tests.reliability.test_rabbit_faults import RECONNECTED, paced_lines, public, publisher_figures

pytestmark = pytest.mark.rabbit

LEADER = 1  # each test's queue is declared through node 1, which then leads it


def declare_led_by_node1(cluster: RabbitCluster, rabbit: ClusterRabbit, *names: str) -> list[str]:
    """Quorum queues with a member on each node, led by node 1 (checked)."""
    queues = [rabbit.quorum_queue(name, leader=LEADER) for name in names]
    everyone = sorted(node_name(n) for n in (1, 2, 3))
    for info in cluster.queue_info(*queues, via=2).values():
        assert (info["type"], info["leader"]) == ("quorum", node_name(LEADER)), info
        assert sorted(info["members"]) == everyone and sorted(info["online"]) == everyone, info
    return queues


class ToFile:
    """A background `python -m mqcli` whose stdout goes to a file (so a large
    output never fills a pipe) and stderr to another; SIGKILLed at the end if
    still running."""

    def __init__(self, args: list[str], out: Path) -> None:
        self.out, self.err = out, out.with_suffix(".err")
        with self.out.open("wb") as o, self.err.open("wb") as e:
            self.p = subprocess.Popen(
                [sys.executable, "-m", "mqcli", *args],
                stdin=subprocess.DEVNULL,
                stdout=o,
                stderr=e,
                env=mqcli_env(),
                start_new_session=True,
            )

    def lines(self) -> int:
        try:
            return self.out.read_bytes().count(b"\n")
        except OSError:
            return 0

    def finish(self, timeout: float) -> tuple[int, list[bytes], str]:
        self.p.wait(timeout=timeout)
        return self.p.returncode, self.out.read_bytes().splitlines(), self.err.read_text(errors="replace")

    def kill(self) -> None:
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait(timeout=10)


@pytest.fixture
def to_file() -> Iterator[Any]:
    procs: list[ToFile] = []

    def start(args: list[str], out: Path) -> ToFile:
        procs.append(ToFile(args, out))
        return procs[-1]

    yield start
    for proc in procs:
        proc.kill()


def wait_for(what: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {message}")
        time.sleep(0.05)


def load(queue: str, n: int) -> None:
    """`n` numbered messages into `queue`, published by mqcli through the profile (confirmed)."""
    r = run_mqcli(["rabbit", "publish", "--queue", queue], input=b"".join(numbered_lines(n)), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]


def counted(values: list[bytes], n: int) -> dict[str, int]:
    """What arrived, by content: each of 1..n at least once?"""
    seen = Counter(int(v) for v in values)
    return {
        "received": sum(seen.values()),
        "distinct": len(seen),
        "duplicated": sum(c - 1 for c in seen.values()),
        "lost": len(set(range(1, n + 1)) - set(seen)),
        "unexpected": len(set(seen) - set(range(1, n + 1))),
    }


# -- publish: every confirmed message survives the leader's crash ----------------------
N_PUBLISH = 30_000
KILL_AT = 8_000


@pytest.mark.slow
def test_leader_killed_mid_publish(cluster, cluster_rabbit, unique_name, mqcli_bg, isolate, record_rabbit_figures):
    q, plain_q = declare_led_by_node1(cluster, cluster_rabbit, unique_name("cpub"), unique_name("cplain"))
    write_cluster_profile(isolate / "mqcli.yaml", 1, 2, 3)
    publisher = mqcli_bg("rabbit", "publish", "--queue", q, "--reconnect", "30", stdin=subprocess.PIPE)
    plain = mqcli_bg("rabbit", "publish", "--queue", plain_q, stdin=subprocess.PIPE)
    feed(publisher.p.stdin, paced_lines(N_PUBLISH))
    feed(plain.p.stdin, paced_lines(N_PUBLISH))
    cluster_rabbit.wait(
        lambda: min(cluster_rabbit.count(q), cluster_rabbit.count(plain_q)) >= KILL_AT,
        timeout=120,
        message=f"{KILL_AT} messages published to each queue",
    )

    cluster.kill(LEADER)
    rc, _out, err = publisher.finish(timeout=180)
    prc, _pout, perr = plain.finish(timeout=60)
    after = cluster.queue_info(q, via=2)[q]
    # The killed node comes back and rejoins: what is counted below is what the
    # cluster holds with all three members again.
    cluster.start()
    wait_for(
        lambda: len(cluster.queue_info(q, via=LEADER)[q]["online"]) == 3, 60, "node 1 online as a member of the queue"
    )
    found, plain_found = cluster_rabbit.drain(q), cluster_rabbit.drain(plain_q)

    print(
        "\npublish --reconnect stderr:\n"
        + err[-1500:]
        + "\npublish stderr (not delivered lines elided):\n"
        + "".join(line for line in perr.splitlines(True) if "not delivered" not in line)
    )
    f = publisher_figures(err, found, N_PUBLISH)
    p = publisher_figures(perr, plain_found, N_PUBLISH)
    restart = cluster.timings.get("start", 0.0)
    record_rabbit_figures(
        "cluster-leader-kill9-publish-reconnect",
        {**public(f), "new_leader": after["leader"], "killed_node_restart_seconds": restart},
    )
    record_rabbit_figures("cluster-leader-kill9-publish-no-reconnect", {**public(p), "exit": prc})

    # With --reconnect: exit 0, every line in the queue; duplicates only among those sent again.
    assert after["leader"] != node_name(LEADER), after
    assert rc == 0, err[-3000:]
    assert f"{RECONNECTED} at 127.0.0.1:5792" in err and "Traceback" not in err
    assert f["reported_unconfirmed"] == 0 and "not delivered" not in err
    assert f["lost"] == 0 and f["found_distinct"] == N_PUBLISH and f["unexpected_in_queue"] == 0
    assert f["reconnects"] >= 1 and f["duplicated"] <= f["resent"]
    # Without: exit 4; every confirmed line is in the queue, every other line sent is named.
    assert prc == 4, perr[-1500:]
    assert "Traceback" not in perr
    assert p["sent"] < N_PUBLISH, "the kill did not hit the publisher mid-stream"
    assert p["lost"] == 0 and p["duplicated"] == 0 and p["unexpected_in_queue"] == 0
    assert p["confirmed"] + p["reported_unconfirmed"] == p["sent"]
    assert p["failed_in_summary"] == p["reported_unconfirmed"]


# -- consume --reconnect and move, through the same kind of loss -------------------------
N_TAKE = 20_000  # messages in each queue
TAKEN_AT_KILL = 3_000  # at least this many consumed (moved) when node 1 is killed
PREFETCH = 100
MOVE_PREFETCH = 1000  # mqcli/cli/move.py: a RabbitMQ source's prefetch (one batch)


@pytest.mark.slow
def test_leader_killed_mid_consume_and_move(
    cluster, cluster_rabbit, unique_name, to_file, isolate, kafka_topics, record_rabbit_figures
):
    # consume --reconnect: nothing lost, duplicates within one prefetch window.
    # move (no --reconnect): the run the kill stops exits 4, a second run
    # finishes; nothing lost, duplicates within the batch in flight.
    cq, mq = declare_led_by_node1(cluster, cluster_rabbit, unique_name("ccons"), unique_name("cmove"))
    topic = kafka_topics(BOOTSTRAP).make(unique_name("cmove"))
    write_cluster_profile(isolate / "mqcli.yaml", 1, 2, 3)
    load(cq, N_TAKE)
    load(mq, N_TAKE)
    consumer = to_file(["rabbit", "consume", cq, "--reconnect", "30", "--prefetch", str(PREFETCH), "-e"], isolate / "c")
    mover = to_file(["move", f"rabbit:{mq}", f"kafka:{topic}", "-e"], isolate / "move1")
    wait_for(
        lambda: (
            (consumer.lines() >= TAKEN_AT_KILL and cluster_rabbit.count(mq) <= N_TAKE - TAKEN_AT_KILL)
            or consumer.p.poll() is not None
            or mover.p.poll() is not None
        ),
        120,
        f"{TAKEN_AT_KILL} messages consumed and moved",
    )
    consumed_at_kill = consumer.lines()
    cluster.kill(LEADER)
    rc, values, err = consumer.finish(timeout=180)
    rc1, _out1, err1 = mover.finish(timeout=120)
    # move has no --reconnect: run it again; it connects to node 2 and finishes the queue.
    rerun = to_file(["move", f"rabbit:{mq}", f"kafka:{topic}", "-e"], isolate / "move2")
    rc2, _out2, err2 = rerun.finish(timeout=300)
    cluster.start()
    left, move_left = cluster_rabbit.drain(cq), cluster_rabbit.drain(mq)
    moved = read_values(BOOTSTRAP, topic)

    print(
        "\nconsume --reconnect stderr:\n"
        + err[-1500:]
        + "\nmove stderr (killed run):\n"
        + err1[-1500:]
        + "\nmove stderr (second run):\n"
        + err2[-1500:]
    )
    c, m = counted(values, N_TAKE), counted(moved, N_TAKE)
    record_rabbit_figures(
        "cluster-leader-kill9-consume-reconnect",
        {
            **c,
            "messages": N_TAKE,
            "prefetch": PREFETCH,
            "consumed_before_kill": consumed_at_kill,
            "left_in_queue": len(left),
        },
    )
    record_rabbit_figures(
        "cluster-leader-kill9-move-to-kafka",
        {**m, "messages": N_TAKE, "first_run_exit": rc1, "second_run_exit": rc2, "left_in_queue": len(move_left)},
    )
    assert consumed_at_kill < N_TAKE, "the kill did not hit the consumer mid-stream"
    assert rc == 0, err[-3000:]
    assert f"{RECONNECTED} at 127.0.0.1:5792" in err and "Traceback" not in err
    assert c["lost"] == 0 and c["unexpected"] == 0 and left == []
    # Redelivered: at most the messages unacknowledged when the connection went (one prefetch window).
    assert c["duplicated"] <= PREFETCH

    assert rc1 == 4, err1[-3000:]  # connection lost: never 0 (and it had not finished before the kill)
    assert "Traceback" not in err1 + err2
    assert rc2 == 0, err2[-3000:]
    assert m["lost"] == 0 and m["unexpected"] == 0 and move_left == []
    # Moved twice: at most the batch in flight (sent to Kafka, not yet acknowledged) when the connection went.
    assert m["duplicated"] <= MOVE_PREFETCH
