"""Fault tests for the Kafka commands (issue 5): the shared broker restarts
under `produce`; a `group-consume --exec` is killed with SIGKILL and started
again; the partition leader of a 3-node cluster is killed under acks=all;
SIGINT/SIGTERM arrive while connecting, producing, consuming and while an
--exec command runs.

The restart tests stop the shared broker on 9092 through brokers/kafka.sh
(a few seconds of downtime each) and always leave it running
(`kafka_broker`).  Every test prints the figures it measures (-s) and writes
them to .brokers/reliability/kafka-<scenario>.json.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.engines import PYTHON_ENGINES, kafka_engines
from tests.reliability.kafka_fixtures import (  # noqa: F401  (fixtures)
    BOOTSTRAP,
    CLUSTER_BOOTSTRAP,
    BrokerControl,
    Feeder,
    accepts_clients,
    kafka_broker,
    kafka_cluster,
    kafka_env,
    kafka_figures,
    kafka_topics,
    numbered_lines,
    read_values,
    start_mqcli,
    wait_until,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

N_PRODUCE = 200_000
NOT_DELIVERED = re.compile(r"not delivered: line (\d+): (.*)")
SUMMARY = re.compile(r"sent (\d+), failed (\d+)")
NOT_SENT = re.compile(r"input from line (\d+) on was not sent")
ENGINES = kafka_engines()


@pytest.fixture(params=ENGINES)
def engine_env(request: pytest.FixtureRequest, kafka_env: dict[str, str]) -> dict[str, str]:
    """kafka_env with MQCLI_KAFKA_ENGINE set: each fault test runs with every engine."""
    return {**kafka_env, "MQCLI_KAFKA_ENGINE": request.param}


def end_offsets(bootstrap: str, topic: str) -> int:
    """Messages in `topic` (sum of end offsets), 0 while the broker is away."""
    from kafka import KafkaConsumer, TopicPartition

    try:
        c = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=5000, bootstrap_timeout_ms=3000)
    except Exception:
        return 0
    try:
        tps = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic) or []]
        return sum(c.end_offsets(tps).values()) if tps else 0
    except Exception:
        return 0
    finally:
        c.close()


def producer_figures(err: str, values: list[bytes], n_input: int, exit_code: int) -> dict[str, Any]:
    """What a produce run did, from its stderr and what is in the topic."""
    failed = {int(n) for n, _why in NOT_DELIVERED.findall(err)}
    summary = SUMMARY.findall(err)
    assert summary, err[-3000:]
    sent, failed_in_summary = map(int, summary[-1])
    not_sent = NOT_SENT.search(err)
    handed = int(not_sent.group(1)) - 1 if not_sent else n_input  # lines mqcli tried to send
    found = Counter(int(v) for v in values)
    delivered = set(range(1, handed + 1)) - failed
    return {
        "input_lines": n_input,
        "sent": handed,
        "reported_not_sent": n_input - handed,
        "acknowledged": sent,
        "reported_not_delivered": len(failed),
        "failed_in_summary": failed_in_summary,
        "found_in_topic": sum(found.values()),
        "found_distinct": len(found),
        "duplicated": sum(c - 1 for c in found.values() if c > 1),
        "lost": len(delivered - set(found)),
        "not_delivered_but_in_topic": len(failed & set(found)),
        "unexpected_in_topic": len(set(found) - set(range(1, handed + 1))),
        "silently_dropped": handed - sent - len(failed),
        "exit_code": exit_code,
        "errors": sorted({why.split(":")[0] for _n, why in NOT_DELIVERED.findall(err)})[:5],
        "_failed": failed,
        "_found": found,
    }


def public(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if not k.startswith("_")}


def produce_through_restart(
    broker: BrokerControl, env: dict[str, str], topic: str, delivery_timeout: str, outage: float
) -> tuple[int, str, dict[str, float]]:
    """Feed N_PRODUCE numbered lines to `mqcli kafka produce`; stop the broker
    once part of them are in the topic, keep it down `outage` seconds, start it."""
    proc = start_mqcli(
        ["kafka", "produce", topic, "--acks", "all", "--delivery-timeout", delivery_timeout],
        env,
        stdin=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stderr is not None
    # stderr is read all along: thousands of "not delivered" lines would fill the pipe.
    errs: list[bytes] = []
    reader = threading.Thread(target=lambda: errs.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    # The input holds at 40k lines until the broker is down: the native loop
    # sends 200k lines in well under a second, before a stop could strike.
    stopped = threading.Event()
    feeder = Feeder(proc.stdin, numbered_lines(N_PRODUCE, per_chunk=2000), hold_after=40_000, resume=stopped)
    timings: dict[str, float] = {}
    try:
        # Mid-stream: a good part in the topic, most of the input still to come.
        wait_until(
            lambda: end_offsets(BOOTSTRAP, topic) >= 30_000 or proc.poll() is not None,
            120,
            "30k messages in the topic",
            every=0.1,
        )
        assert proc.poll() is None, "produce finished before the broker could be stopped"
        timings["in_topic_at_stop"] = end_offsets(BOOTSTRAP, topic)
        t0 = time.monotonic()
        broker.stop()
        stopped.set()
        remaining = outage - (time.monotonic() - t0)
        if remaining > 0:
            time.sleep(remaining)
        broker.start()
        timings["outage_s"] = round(time.monotonic() - t0, 1)
        # communicate() would close stdin under the feeder: let it finish first.
        feeder.thread.join(timeout=300)
        proc.stdin = None  # closed by the feeder (or by mqcli stopping to read)
        proc.stderr = None  # read by `reader`
        out, _ = proc.communicate(timeout=300)
        reader.join(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = b"".join(errs).decode(errors="replace")
    assert out == b""  # stdout is data only
    assert "Traceback" not in err, err[-3000:]
    timings["input_lines_fed"] = feeder.lines
    return proc.returncode, err, timings


def test_producer_survives_broker_restart(
    kafka_broker: BrokerControl, engine_env: dict[str, str], kafka_topics: Any, unique_name: Any, kafka_figures: Any
) -> None:
    """Delivery timeout (120s) longer than the outage: nothing may be lost,
    every line lands exactly once (idempotent retries)."""
    topics = kafka_topics()
    topic = topics.make(unique_name("restart"), partitions=3)
    code, err, timings = produce_through_restart(kafka_broker, engine_env, topic, "120s", outage=0)
    values = read_values(BOOTSTRAP, topic)
    fig = producer_figures(err, values, N_PRODUCE, code)
    engine = engine_env["MQCLI_KAFKA_ENGINE"]
    kafka_figures(
        f"producer-broker-restart-{engine}", {**public(fig), **timings, "engine": engine, "delivery_timeout_s": 120}
    )
    assert timings["input_lines_fed"] == N_PRODUCE
    assert fig["reported_not_sent"] == 0, err[-3000:]
    assert fig["silently_dropped"] == 0, err[-3000:]
    assert fig["lost"] == 0
    assert fig["duplicated"] == 0
    assert fig["unexpected_in_topic"] == 0
    assert fig["failed_in_summary"] == fig["reported_not_delivered"]
    if fig["reported_not_delivered"]:
        assert code == 1, err[-3000:]
    else:
        assert code == 0, err[-3000:]
        assert fig["found_distinct"] == N_PRODUCE


def test_producer_outage_longer_than_delivery_timeout(
    kafka_broker: BrokerControl, engine_env: dict[str, str], kafka_topics: Any, unique_name: Any, kafka_figures: Any
) -> None:
    """Delivery timeout (3s) shorter than the outage: the messages that expire
    are each reported by line number and the exit is 1; every line reported
    delivered is in the topic."""
    topics = kafka_topics()
    topic = topics.make(unique_name("outage"), partitions=3)
    code, err, timings = produce_through_restart(kafka_broker, engine_env, topic, "3s", outage=10)
    values = read_values(BOOTSTRAP, topic)
    fig = producer_figures(err, values, N_PRODUCE, code)
    engine = engine_env["MQCLI_KAFKA_ENGINE"]
    kafka_figures(
        f"producer-outage-over-delivery-timeout-{engine}",
        {**public(fig), **timings, "engine": engine, "delivery_timeout_s": 3},
    )
    assert fig["reported_not_delivered"] > 0, "the outage should have outlasted the delivery timeout"
    assert code == 1
    if fig["reported_not_sent"]:  # kafka-python gave up (see mqcli/core/kafka/kafka_python/producer.py)
        assert "was not sent" in err
    assert "were not acknowledged" in err or "was not sent" in err
    assert fig["failed_in_summary"] == fig["reported_not_delivered"]
    assert fig["silently_dropped"] == 0
    assert fig["lost"] == 0  # every line reported delivered is in the topic
    assert fig["unexpected_in_topic"] == 0
    # Delivered lines are there exactly once; lines reported failed may have
    # reached the broker before it went away (counted, never re-sent by us).
    found = fig["_found"]
    assert all(found[i] == 1 for i in set(range(1, fig["sent"] + 1)) - fig["_failed"])


# -- consumer group member killed with SIGKILL -----------------------------------------
N_CONSUME = 1500
MAX_POLL = 50  # kafka.consumer.max_poll_records for this test: the in-flight bound


def produce_numbered(env: dict[str, str], topic: str, n: int) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "mqcli", "kafka", "produce", topic],
        input=b"".join(numbered_lines(n)),
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == 0, p.stderr[-2000:]


# group-consume is librdkafka's or kafka-python's on every engine: the native one has no group consumer.
@pytest.mark.parametrize("engine_env", PYTHON_ENGINES, indirect=True)
def test_group_consume_exec_killed_and_restarted(
    engine_env: dict[str, str], kafka_topics: Any, unique_name: Any, kafka_figures: Any, tmp_path: Path
) -> None:
    """SIGKILL a `group-consume --exec` mid-stream and start it again: every
    message is processed at least once; the duplicates are only what the
    killed member had handled but not committed (at most one poll batch)."""
    topics = kafka_topics()
    topic = topics.make(unique_name("kill"), partitions=3)
    produce_numbered(engine_env, topic, N_CONSUME)
    env = {**engine_env, "MQCLI_KAFKA_CONSUMER_MAX_POLL_RECORDS": str(MAX_POLL)}
    out = tmp_path / "processed"
    out.touch()
    group = unique_name("g")
    # One short append per message: the file is the record of what was processed.
    cmd = f'v=$(cat); echo "$v" >> {out}'
    args = ["kafka", "group-consume", "--group", group, topic, "--exec", cmd]

    def processed() -> list[int]:
        return [int(x) for x in out.read_text().split()]

    first = start_mqcli(args, env)
    try:
        wait_until(lambda: len(processed()) >= N_CONSUME // 3 or first.poll() is not None, 120, "a third processed")
        assert first.poll() is None, first.stderr.read().decode()[-2000:] if first.stderr else ""
        first.kill()  # SIGKILL: no commit, no leaving the group
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    time.sleep(0.3)  # an --exec child of the killed member may still be appending
    before = len(processed())
    t0 = time.monotonic()
    # The group still counts the dead member until its session times out;
    # the new member gets the partitions then.
    second = subprocess.run(
        [sys.executable, "-m", "mqcli", *args, "--exit-at-end"], env=env, capture_output=True, timeout=240, check=False
    )
    took = time.monotonic() - t0
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    seen = Counter(processed())
    duplicated = sum(c - 1 for c in seen.values() if c > 1)
    fig = {
        "engine": env["MQCLI_KAFKA_ENGINE"],
        "messages": N_CONSUME,
        "processed_before_kill": before,
        "processed_total": sum(seen.values()),
        "processed_distinct": len(seen),
        "skipped": len(set(range(1, N_CONSUME + 1)) - set(seen)),
        "duplicated": duplicated,
        "max_poll_records": MAX_POLL,
        "restart_to_done_s": round(took, 1),
    }
    kafka_figures(f"group-consume-kill9-{fig['engine']}", fig)
    assert fig["skipped"] == 0
    assert set(seen) == set(range(1, N_CONSUME + 1))
    assert duplicated <= MAX_POLL, f"{duplicated} duplicates: more than one poll batch was in flight"


# -- 3-node cluster: the partition leader killed under acks=all ------------------------
N_CLUSTER = 100_000


def test_cluster_leader_killed_mid_produce(
    kafka_cluster: BrokerControl, engine_env: dict[str, str], kafka_topics: Any, unique_name: Any, kafka_figures: Any
) -> None:
    """Replication factor 3, min.insync.replicas=2, acks=all: SIGKILL the
    partition leader mid-stream.  No acknowledged message may be missing."""
    topics = kafka_topics(CLUSTER_BOOTSTRAP)
    topic = topics.make(unique_name("cluster"), partitions=1, replication=3, **{"min.insync.replicas": "2"})
    leader = topics.leader(topic)
    env = {**engine_env, "MQCLI_KAFKA_BOOTSTRAP_SERVERS": CLUSTER_BOOTSTRAP}
    proc = start_mqcli(["kafka", "produce", topic, "--acks", "all"], env, stdin=subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None
    errs: list[bytes] = []
    reader = threading.Thread(target=lambda: errs.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    # The input holds at a quarter until the leader is dead: the native loop
    # sends 100k lines faster than the test sees a fifth in the topic.
    killed = threading.Event()
    feeder = Feeder(proc.stdin, numbered_lines(N_CLUSTER, per_chunk=1000), hold_after=N_CLUSTER // 4, resume=killed)
    try:
        wait_until(
            lambda: end_offsets(CLUSTER_BOOTSTRAP, topic) >= N_CLUSTER // 5 or proc.poll() is not None,
            120,
            "a fifth in the topic",
            every=0.1,
        )
        assert proc.poll() is None, "produce finished before the leader could be killed"
        at_kill = end_offsets(CLUSTER_BOOTSTRAP, topic)
        kafka_cluster.must("kill", str(leader))
        killed.set()
        feeder.thread.join(timeout=300)
        proc.stdin = None
        proc.stderr = None
        out, _ = proc.communicate(timeout=300)
        reader.join(timeout=60)
    finally:
        killed.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        # Back to three nodes for the next test.
        kafka_cluster.run("start")
    err = b"".join(errs).decode(errors="replace")
    new_leader = topics.leader(topic)
    values = read_values(CLUSTER_BOOTSTRAP, topic)
    fig = producer_figures(err, values, N_CLUSTER, proc.returncode)
    engine = env["MQCLI_KAFKA_ENGINE"]
    kafka_figures(
        f"cluster-leader-kill9-{engine}",
        {
            **public(fig),
            "engine": engine,
            "killed_leader": leader,
            "new_leader": new_leader,
            "in_topic_at_kill": at_kill,
        },
    )
    assert out == b""
    assert "Traceback" not in err, err[-3000:]
    assert new_leader != leader
    assert fig["lost"] == 0, err[-3000:]  # no acknowledged message lost
    assert fig["silently_dropped"] == 0, err[-3000:]
    assert fig["unexpected_in_topic"] == 0
    assert fig["failed_in_summary"] == fig["reported_not_delivered"]
    assert proc.returncode == (1 if fig["reported_not_delivered"] or fig["reported_not_sent"] else 0), err[-3000:]


# -- signals: connecting, producing, consuming, while --exec runs -----------------------
# (tests/kafka has SIGINT during `consume` and SIGTERM/SIGINT of idle group members.)
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


@pytest.fixture
def silent_server() -> Any:
    """A TCP port that accepts connections and never answers: a client stays
    in its connecting phase until its connect timeout."""
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    yield f"127.0.0.1:{srv.getsockname()[1]}"
    srv.close()


@pytest.mark.parametrize(
    ("args", "sig"),
    [
        (["produce", "T", "x"], signal.SIGTERM),
        (["consume", "T"], signal.SIGINT),
        (["group-consume", "--group", "g", "T"], signal.SIGTERM),
    ],
)
def test_signal_while_connecting(engine_env: dict[str, str], silent_server: str, args: list[str], sig: int) -> None:
    env = {**engine_env, "MQCLI_KAFKA_BOOTSTRAP_SERVERS": silent_server}
    proc = start_mqcli(["--connect-timeout", "60s", "kafka", *args], env)
    time.sleep(2.5)  # interpreter up, client connecting
    assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
    started = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == EXIT[sig], err.decode()[-2000:]
    assert time.monotonic() - started < 15  # not the 60s connect timeout
    assert out == b""
    assert b"Traceback" not in err


def test_sigterm_while_producing(
    engine_env: dict[str, str], kafka_topics: Any, unique_name: Any, kafka_figures: Any
) -> None:
    """SIGTERM mid-stream: what was sent is flushed and acknowledged before
    the exit (143); everything counted as sent is in the topic, once."""
    topics = kafka_topics()
    topic = topics.make(unique_name("sigterm"))
    proc = start_mqcli(["kafka", "produce", topic], engine_env, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    # Slow input: the run is still reading when the signal comes.
    feeder = Feeder(proc.stdin, numbered_lines(1_000_000, per_chunk=500, pause=0.05))
    try:
        wait_until(
            lambda: end_offsets(BOOTSTRAP, topic) >= 3000 or proc.poll() is not None, 60, "3000 messages in the topic"
        )
        proc.send_signal(signal.SIGTERM)
        proc.stdin = None
        out, err_b = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = err_b.decode(errors="replace")
    assert proc.returncode == 143, err[-2000:]
    assert "Traceback" not in err
    (summary,) = SUMMARY.findall(err)
    sent, failed = map(int, summary)
    values = [int(v) for v in read_values(BOOTSTRAP, topic)]
    fig = {
        "engine": engine_env["MQCLI_KAFKA_ENGINE"],
        "lines_fed": feeder.lines,
        "acknowledged": sent,
        "failed": failed,
        "found_in_topic": len(values),
        "duplicated": len(values) - len(set(values)),
        "lost": len(set(range(1, sent + 1)) - set(values)),
    }
    kafka_figures(f"sigterm-producing-{fig['engine']}", fig)
    assert failed == 0
    assert sorted(values) == list(range(1, sent + 1))  # the first `sent` lines, each once, none half-sent
    resume = NOT_SENT.search(err)
    assert resume is not None and int(resume.group(1)) == sent + 1, err[-2000:]  # where a script can resume


def test_sigterm_while_consuming(engine_env: dict[str, str], kafka_topics: Any, unique_name: Any) -> None:
    """Only whole messages reach stdout before the exit (143)."""
    topics = kafka_topics()
    topic = topics.make(unique_name("sigcons"))
    produce_numbered(engine_env, topic, 20_000)
    # Unbuffered: communicate() below reads the pipe itself, past any buffer.
    proc = start_mqcli(["kafka", "consume", topic, "-o", "json"], engine_env, bufsize=0)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # consuming now (follows forever)
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err.decode()[-2000:]
    lines = (first + rest).splitlines(keepends=True)
    assert lines and all(line.endswith(b"\n") for line in lines)
    values = [int(json.loads(line)["value"]) for line in lines]
    assert values == list(range(1, len(values) + 1))


def committed_offsets(admin: Any, group: str) -> dict[int, int]:
    offsets = admin.list_group_offsets(group).get(group) or {}
    return {tp.partition: om.offset for tp, om in offsets.items() if om.offset is not None and om.offset >= 0}


@pytest.mark.parametrize(
    "signals", [[signal.SIGTERM], [signal.SIGINT], [signal.SIGTERM, signal.SIGTERM]], ids=["term", "int", "term-twice"]
)
def test_signal_while_exec_runs(
    engine_env: dict[str, str], kafka_topics: Any, unique_name: Any, tmp_path: Path, signals: list[int]
) -> None:
    """One signal: the running command finishes, its message is committed,
    no further command starts, exit 130/143.  A second signal: the command
    is cut off and its message stays uncommitted (delivered again)."""
    topics = kafka_topics()
    topic = topics.make(unique_name("sigexec"))
    produce_numbered(engine_env, topic, 3)
    started, done = tmp_path / "started", tmp_path / "done"
    cmd = f'v=$(cat); echo "$v" >> {started}; sleep 2; echo "$v" >> {done}'
    group = unique_name("g")
    proc = start_mqcli(["kafka", "group-consume", "--group", group, topic, "--exec", cmd], engine_env)
    try:
        wait_until(started.exists, 60, "the first --exec command")
        for sig in signals:
            proc.send_signal(sig)  # to mqcli only, not to the command
            time.sleep(0.2)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == EXIT[signals[0]], err.decode()[-2000:]
    assert b"Traceback" not in err
    assert started.read_text() == "1\n"  # no second command started
    if len(signals) == 1:
        assert done.read_text() == "1\n"  # the running command finished...
        assert committed_offsets(topics.admin, group) == {0: 1}  # ...and its message is committed
    else:
        assert not done.exists()  # cut off by the second signal...
        assert committed_offsets(topics.admin, group) == {}  # ...so not committed: it comes again
