"""`mqcli move` through a Kafka broker restart (stop, then start), on both
Kafka engines: Kafka -> Kafka (source and target on the restarted broker)
and Kafka -> RabbitMQ queue (the source's broker restarts).  Nothing is
lost, duplicates stay within the in-flight window, exit 0.

The restarted broker is a private single-node Kafka of this module:
`brokers/kafka.sh` with its own state directory (BROKERS_STATE, a temporary
directory) and ports (KAFKA_PORT_OFFSET: 9392-9397), started and stopped
here.  It reuses the shared state's Kafka jars, TLS files and the running
Keycloak (its OAUTHBEARER listener fetches Keycloak's keys when it starts)
through symbolic links, so nothing is downloaded and no second Keycloak
runs; the shared brokers are never restarted.  Figures go to
.brokers/reliability-move.json (for the README's Reliability section)."""

from __future__ import annotations

import collections
import json
import os
import random
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.kafka.conftest import committed
from tests.rabbit.conftest import Amqp, Proc, amqp, queue, rabbitmq_broker  # noqa: F401
from tests.reliability.kafka_fixtures import Topics, read_values, wait_until
from tests.reliability.test_move_kill import _drain, _kafka_end, record  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / ".brokers"
OFFSET = 300
BOOTSTRAP = f"127.0.0.1:{9092 + OFFSET}"
N = 20_000
# What may have reached the target without its source offset committed when the
# broker goes away: the poll batch being delivered (max_poll_records 500) and the
# previous batch's commit (asynchronous between batches).  Per restart.
WINDOW = 1_000
# To RabbitMQ, pipelined: the unconfirmed messages (rabbit publish's window,
# 1,024) and those confirmed since the last commit (about a poll batch).
PIPELINED = 1_024 + 500
# The move is paced so that the restart lands midway (and the move is still
# running when the broker is back).
PACE = ["--rate", "1000/s"]


class PrivateKafka:
    """brokers/kafka.sh for this module's own broker, each call timed."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.env = {**os.environ, "BROKERS_STATE": str(state), "KAFKA_PORT_OFFSET": str(OFFSET)}

    def run(self, action: str) -> float:
        started = time.monotonic()
        p = subprocess.run(
            [str(ROOT / "brokers" / "kafka.sh"), action],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if p.returncode != 0:
            log = self.state / "logs" / "kafka.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            pytest.fail(f"brokers/kafka.sh {action} (private broker) failed: {p.stdout}{p.stderr}{tail}", pytrace=False)
        return time.monotonic() - started


def _keycloak_up() -> bool:
    p = subprocess.run(
        [str(ROOT / "brokers" / "keycloak.sh"), "status"], cwd=ROOT, capture_output=True, timeout=60, check=False
    )
    return p.returncode == 0


@pytest.fixture(scope="module")
def private_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateKafka]:
    if not (SHARED / "kafka" / "lib" / ".pom.sha256").exists():
        pytest.fail("the shared Kafka jars are missing: start the brokers with `make brokers`", pytrace=False)
    if not _keycloak_up():
        # Linked below: kafka.sh would otherwise start the shared Keycloak itself.
        pytest.fail("Keycloak is not running (the private Kafka needs it): `make brokers`", pytrace=False)
    state = tmp_path_factory.mktemp("kafka-move-restart")
    (state / "kafka").mkdir()
    (state / "kafka" / "lib").symlink_to(SHARED / "kafka" / "lib")
    (state / "tls").symlink_to(SHARED / "tls")
    (state / "keycloak").symlink_to(SHARED / "keycloak")
    broker = PrivateKafka(state)
    broker.run("start")
    try:
        yield broker
    finally:
        broker.run("stop")
        shutil.rmtree(state / "kafka" / "data", ignore_errors=True)


@pytest.fixture(params=["librdkafka", "kafka-python"])
def engine(request: pytest.FixtureRequest, private_kafka: PrivateKafka, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Kafka engine under test, pointed at the private broker (in-process
    runs and subprocesses alike).  The group session is Kafka's default (45 s),
    longer than the outage: see test_a_source_outage_longer_than_the_session."""
    monkeypatch.setenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS", BOOTSTRAP)
    monkeypatch.setenv("MQCLI_KAFKA_ENGINE", request.param)
    return str(request.param)


@pytest.fixture
def topics() -> Iterator[Topics]:
    t = Topics(BOOTSTRAP)
    yield t
    t.cleanup()


def _committed(group: str) -> int:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="mqcli-move-restart")
    try:
        return sum(committed(admin, group).values())
    finally:
        admin.close()


def _restart_midway(
    broker: PrivateKafka, args: list[str], progress: Callable[[], int], *, during: list[int] | None = None
) -> tuple[Run, float]:
    """Run the move; once the target has a random 10-25 % of the messages, stop
    the private broker and start it again.  (the move's outcome, seconds down).
    `during` (a target that stays up): gets the target's count when the broker
    was stopped and when it was back."""
    proc = Proc([*args, "-o", "json"])
    try:
        threshold = random.randint(N // 10, N // 4)
        deadline = time.monotonic() + 180
        while progress() < threshold:
            assert proc.p.poll() is None, "".join(proc.err_lines)
            assert time.monotonic() < deadline, "".join(proc.err_lines)
            time.sleep(0.1)
        if during is not None:
            during.append(progress())
        down = broker.run("stop")
        down += broker.run("start")
        if during is not None:
            during.append(progress())
        code, out, err = proc.finish(timeout=400)
    finally:
        proc.kill()
    return Run(code, out.decode(), err, out), round(down, 1)


def _figures(values: list[bytes], run: Run, down: float) -> dict[str, Any]:
    counts = collections.Counter(values)
    expected = {str(i).encode() for i in range(N)}
    summary = json.loads(run.stdout) if run.stdout.strip() else {}
    return {
        "messages": N,
        "down_seconds": down,
        "exit": run.exit_code,
        "moved": summary.get("moved"),
        "found": len(values),
        "lost": len(expected - set(counts)),
        "duplicated": sum(c - 1 for c in counts.values()),
        "unexpected": len(set(counts) - expected),
        "window": WINDOW,
    }


def _outcome(run: Run, args: list[str]) -> dict[str, Any]:
    """Exit 0, or 4 -- kafka-python's consumer lost its broker and did not
    reconnect (`lost connection to Kafka`), or the last commit could not be
    made while the group had the member -- after committing what it could; a
    rerun then moves the rest."""
    if run.exit_code == 0:
        return {"rerun_moved": None}
    assert run.exit_code == 4, run.stderr
    assert "lost connection to Kafka" in run.stderr or "could not commit their offsets" in run.stderr, run.stderr
    rerun = Proc([*args, "-o", "json"])
    try:
        code, out, err = rerun.finish(timeout=300)
    finally:
        rerun.kill()
    assert code == 0, err
    return {"rerun_moved": json.loads(out)["moved"]}


def _committed_at_end(group: str) -> int:
    """What the group committed once the moves ended (N: a rerun finds nothing);
    waits up to 30 s for N, then says what it is (the caller asserts)."""
    try:
        wait_until(lambda: _committed(group) == N, 30, "the group's commits")
    except AssertionError:
        pass
    return _committed(group)


def _check(figures: dict[str, Any]) -> None:
    assert figures["lost"] == 0 and figures["unexpected"] == 0, figures
    assert figures["duplicated"] <= figures["window"], figures


def _lines() -> str:
    return "".join(f"{i}\n" for i in range(N))


def test_kafka_to_kafka_through_a_kafka_restart(
    cli: Callable[..., Run],
    engine: str,
    private_kafka: PrivateKafka,
    topics: Topics,
    record: Callable[[str, dict[str, Any]], None],
) -> None:
    stamp = f"{os.getpid()}-{time.monotonic_ns()}"
    src, dst = topics.make(f"restart-src-{stamp}", 2), topics.make(f"restart-dst-{stamp}", 2)
    r = cli("kafka", "produce", src, input=_lines())
    assert r.exit_code == 0, r.stderr
    args = ["move", f"kafka:{src}", f"kafka:{dst}", "-e", "--reconnect", "30"]
    run, down = _restart_midway(private_kafka, args + PACE, lambda: _kafka_end(BOOTSTRAP, dst))
    rerun = _outcome(run, args)
    figures = {**_figures(read_values(BOOTSTRAP, dst), run, down), **rerun}
    figures["committed"] = _committed_at_end(f"mqcli-move.kafka_{src}.to.kafka_{dst}")
    record(f"kafka-to-kafka-kafka-restart-{engine}", figures)
    _check(figures)
    assert figures["committed"] == N, figures


def test_kafka_to_queue_through_a_kafka_restart(
    cli: Callable[..., Run],
    engine: str,
    private_kafka: PrivateKafka,
    topics: Topics,
    amqp: Amqp,
    queue: Callable[..., str],
    record: Callable[[str, dict[str, Any]], None],
) -> None:
    src = topics.make(f"restart-src-{os.getpid()}-{time.monotonic_ns()}", 2)
    q = queue()
    r = cli("kafka", "produce", src, input=_lines())
    assert r.exit_code == 0, r.stderr
    args = ["move", f"kafka:{src}", f"rabbit:{q}", "-e", "--reconnect", "30"]
    during: list[int] = []
    run, down = _restart_midway(private_kafka, args + PACE, lambda: amqp.count(q), during=during)
    rerun = _outcome(run, args)
    figures = {**_figures(_drain(amqp, q), run, down), **rerun}
    # While the source's broker is away the move goes on with what it had read
    # ahead; if its commits of those are lost, the rerun moves them again.
    figures["moved_during_outage"] = during[1] - during[0]
    figures["window"] = PIPELINED + figures["moved_during_outage"]
    figures["committed"] = _committed_at_end(f"mqcli-move.kafka_{src}.to.rabbit_{q}")
    record(f"kafka-to-rabbit-kafka-restart-{engine}", figures)
    _check(figures)
    assert figures["committed"] == N, figures


def test_a_source_outage_longer_than_the_session(
    cli: Callable[..., Run],
    private_kafka: PrivateKafka,
    topics: Topics,
    amqp: Amqp,
    queue: Callable[..., str],
    record: Callable[[str, dict[str, Any]], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """librdkafka, Kafka -> RabbitMQ, a 6 s group session (shorter than the
    outage): while the source's broker is away the move goes on with what
    the client had read ahead, and its commits fail; the group then counts
    the member as gone, and those messages come again after the restart.
    Nothing is lost; the duplicates are at most what moved during the outage
    plus the in-flight window."""
    monkeypatch.setenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS", BOOTSTRAP)
    monkeypatch.setenv("MQCLI_KAFKA_ENGINE", "librdkafka")
    monkeypatch.setenv("MQCLI_KAFKA_CONSUMER_SESSION_TIMEOUT", "6s")
    src = topics.make(f"restart-src-{os.getpid()}-{time.monotonic_ns()}", 2)
    q = queue()
    r = cli("kafka", "produce", src, input=_lines())
    assert r.exit_code == 0, r.stderr
    args = ["move", f"kafka:{src}", f"rabbit:{q}", "-e"]
    during: list[int] = []
    run, down = _restart_midway(private_kafka, args + PACE, lambda: amqp.count(q), during=during)
    assert run.exit_code == 0, run.stderr
    figures = _figures(_drain(amqp, q), run, down)
    figures["moved_during_outage"] = during[1] - during[0]
    figures["window"] = PIPELINED + figures["moved_during_outage"]
    record("kafka-to-rabbit-kafka-restart-short-session-librdkafka", figures)
    _check(figures)
