"""Fixtures for the Kafka fault tests (imported by tests/reliability/test_kafka_*.py;
the RabbitMQ side has tests/reliability/conftest.py).

- `kafka_broker`: the shared local broker, to stop and start through
  brokers/kafka.sh; a finalizer always leaves it running and accepting clients.
- `kafka_cluster`: the 3-node KRaft cluster of brokers/kafka-cluster.sh,
  started for the test and stopped after it.
- `kafka_figures`: prints the measured figures and writes them to
  .brokers/reliability/kafka-<scenario>.json (for the README).
- `kafka_topics`: topics made on a bootstrap address, deleted afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.conftest import ROOT

KAFKA_SH = ROOT / "brokers" / "kafka.sh"
CLUSTER_SH = ROOT / "brokers" / "kafka-cluster.sh"
FIGURES_DIR = ROOT / ".brokers" / "reliability"
BOOTSTRAP = "127.0.0.1:9092"
CLUSTER_BOOTSTRAP = "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"


def accepts_clients(bootstrap: str = BOOTSTRAP, timeout: float = 5.0) -> bool:
    """A metadata request answers and lists at least one broker."""
    from kafka import KafkaAdminClient

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            request_timeout_ms=int(timeout * 1000),
            bootstrap_timeout_ms=int(timeout * 1000),
        )
    except Exception:
        return False
    try:
        return bool(admin.describe_cluster().get("brokers"))
    except Exception:
        return False
    finally:
        admin.close()


def wait_until(pred: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


class BrokerControl:
    """brokers/kafka.sh (or kafka-cluster.sh), each call logged and timed."""

    def __init__(self, script: Path) -> None:
        self.script = script
        self.log: list[str] = []
        self.timings: dict[str, float] = {}

    def run(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        p = subprocess.run(
            [str(self.script), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
        took = time.monotonic() - started
        self.timings[" ".join(args)] = round(took, 1)
        self.log.append(
            f"{' '.join(args)}: exit {p.returncode} in {took:.1f}s {p.stdout.strip()} {p.stderr.strip()[-500:]}"
        )
        return p

    def must(self, *args: str) -> None:
        p = self.run(*args)
        assert p.returncode == 0, f"{self.script.name} {' '.join(args)} failed: {p.stdout}{p.stderr[-3000:]}"

    def stop(self) -> None:
        self.must("stop")

    def start(self) -> None:
        self.must("start")  # returns once clients are accepted

    def is_up(self) -> bool:
        return self.run("status", timeout=60).returncode == 0


@pytest.fixture
def kafka_broker() -> Iterator[BrokerControl]:
    """The shared local broker on 9092, to stop and start.  It is shared with
    other tests and benchmarks: keep outages short; it is always running
    again (and accepting clients) when the test ends, whatever happened."""
    broker = BrokerControl(KAFKA_SH)
    if not broker.is_up():
        pytest.fail("Kafka is not running on 127.0.0.1:9092; start it with `make brokers`", pytrace=False)
    yield broker
    if not broker.is_up():
        broker.run("start")
    try:
        wait_until(accepts_clients, 120, "Kafka on 9092 to accept clients after the fault test", every=0.5)
    except AssertionError:
        pytest.fail("Kafka does not accept clients after the fault test: " + " | ".join(broker.log), pytrace=False)


@pytest.fixture(scope="module")
def kafka_cluster() -> Iterator[BrokerControl]:
    """The 3-node cluster (brokers/kafka-cluster.sh), started here and stopped at the end."""
    cluster = BrokerControl(CLUSTER_SH)
    p = cluster.run("start")
    if p.returncode != 0:
        cluster.run("stop")
        pytest.fail(f"the Kafka cluster did not start: {p.stderr[-3000:]}", pytrace=False)
    yield cluster
    cluster.run("stop")


@pytest.fixture
def kafka_env() -> dict[str, str]:
    """Environment for `python -m mqcli` against the shared broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MQCLI_")}
    env["MQCLI_KAFKA_BOOTSTRAP_SERVERS"] = BOOTSTRAP
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Topics:
    def __init__(self, bootstrap: str) -> None:
        from kafka import KafkaAdminClient

        self.bootstrap = bootstrap
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="mqcli-fault-tests")
        self.created: list[str] = []

    def make(self, name: str, partitions: int = 1, replication: int = 1, **config: str) -> str:
        from kafka.admin import NewTopic

        self.admin.create_topics(
            [NewTopic(name, partitions, replication, topic_configs=dict(config))], timeout_ms=30000
        )
        self.created.append(name)
        wait_until(lambda: self._has_leaders(name, partitions), 30, f"leaders for {name}")
        return name

    def _has_leaders(self, name: str, partitions: int) -> bool:
        try:
            (desc,) = self.admin.describe_topics([name])
        except Exception:
            return False
        parts = desc.get("partitions") or []
        return len(parts) == partitions and all(p.get("leader_id", -1) >= 0 for p in parts)

    def leader(self, name: str, partition: int = 0) -> int:
        (desc,) = self.admin.describe_topics([name])
        return next(p["leader_id"] for p in desc["partitions"] if p["partition_index"] == partition)

    def cleanup(self) -> None:
        try:
            if self.created:
                self.admin.delete_topics(self.created)
        except Exception:  # best effort: names are unique
            pass
        try:
            self.admin.close()
        except Exception:
            pass


@pytest.fixture
def kafka_topics() -> Iterator[Callable[[str], Topics]]:
    """kafka_topics(bootstrap) -> Topics (created topics deleted afterwards)."""
    made: list[Topics] = []

    def make(bootstrap: str = BOOTSTRAP) -> Topics:
        t = Topics(bootstrap)
        made.append(t)
        return t

    yield make
    for t in made:
        t.cleanup()


def read_values(bootstrap: str, topic: str, timeout: float = 60.0) -> list[bytes]:
    """Every value in `topic` (kafka-python directly, to check what mqcli wrote)."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=5000, fetch_max_bytes=32 * 1024 * 1024
    )
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or [])]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        end = c.end_offsets(tps)
        out: list[bytes] = []
        deadline = time.monotonic() + timeout
        while any(c.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end within {timeout}s")
            for recs in c.poll(timeout_ms=500).values():
                out.extend(r.value for r in recs)
        return out
    finally:
        c.close()


def numbered_lines(n: int, per_chunk: int = 1000, pause: float = 0.0) -> Iterator[bytes]:
    """'1\\n' .. 'n\\n': line i holds i, its input line number."""
    for start in range(1, n + 1, per_chunk):
        yield "".join(f"{i}\n" for i in range(start, min(start + per_chunk, n + 1))).encode()
        if pause:
            time.sleep(pause)


class Feeder:
    """Writes chunks to a child's stdin on a thread, counting lines written.

    With `hold_after` N, it stops after the first chunk that makes N lines
    until `resume` is set: a fault can then strike while input is still to
    come, however fast the child sends what it has."""

    def __init__(
        self,
        stream: IO[bytes],
        chunks: Iterable[bytes],
        hold_after: int | None = None,
        resume: threading.Event | None = None,
    ) -> None:
        self.lines = 0
        self.done = False

        def run() -> None:
            try:
                for chunk in chunks:
                    if hold_after is not None and resume is not None and self.lines >= hold_after:
                        resume.wait(300)
                    stream.write(chunk)
                    stream.flush()
                    self.lines += chunk.count(b"\n")
                stream.close()
            except (BrokenPipeError, OSError, ValueError):
                pass
            self.done = True

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()


def start_mqcli(
    args: list[str], env: dict[str, str], *, stdin: Any = subprocess.DEVNULL, **kw: Any
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mqcli", *args],
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


@pytest.fixture
def kafka_figures(request: pytest.FixtureRequest) -> Callable[[str, dict[str, Any]], None]:
    """kafka_figures("producer-restart", {...}): print the figures (shown with -s
    and in the report of a failing test) and write
    .brokers/reliability/kafka-<scenario>.json."""

    def record(scenario: str, figures: dict[str, Any]) -> None:
        entry = {
            "scenario": scenario,
            **figures,
            "test": request.node.nodeid,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        print(f"\nreliability figures [kafka {scenario}]: {json.dumps(figures, sort_keys=True)}")
        FIGURES_DIR.mkdir(parents=True, exist_ok=True)
        path = FIGURES_DIR / f"kafka-{scenario}.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)

    return record
