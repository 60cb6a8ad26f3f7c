"""Fixtures for the Kafka tests: a running local broker (missing = failure,
never a skip), the profile pointed at it, and fresh topics per test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.engines import PYTHON_ENGINES, kafka_engines, native_built

HOST = "127.0.0.1"
# KAFKA_PORT_OFFSET: a private broker beside the shared one (brokers/README.md).
PORT_OFFSET = int(os.environ.get("KAFKA_PORT_OFFSET", "0"))
PLAIN_PORT = 9092 + PORT_OFFSET
SASL_PORT = 9093 + PORT_OFFSET
TLS_PORT = 9094 + PORT_OFFSET
BOOTSTRAP = f"{HOST}:{PLAIN_PORT}"
TLS_DIR = ROOT / ".brokers" / "tls"


def _answers(port: int, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def kafka_broker() -> str:
    """The local broker's bootstrap address; fails the tests when it is down."""
    deadline = time.monotonic() + 10
    while not _answers(PLAIN_PORT):
        if time.monotonic() > deadline:
            pytest.fail(f"Kafka is not answering at {BOOTSTRAP}: start it with `make brokers` (see brokers/README.md)")
        time.sleep(0.5)
    return BOOTSTRAP


@pytest.fixture(autouse=True)
def kafka_env(kafka_broker: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the built-in profile at 127.0.0.1 (not localhost, which may be ::1 first)."""
    monkeypatch.setenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS", kafka_broker)


# Every Kafka test runs once per engine (test ids end in [librdkafka] or
# [kafka-python]); modules listed here choose engines themselves.
ENGINE_NEUTRAL_MODULES = {"test_engine"}
# Modules whose commands the native engine runs (its produce and consume
# loops, and the errors it maps itself): [native] as well, where it is built.
NATIVE_MODULES = {
    "test_produce",
    "test_produce_hostile",
    "test_consume",
    "test_kcat",
    "test_native",
    "test_native_consume",
    "test_security",
    "test_oneshot_imports",
    "test_acls",  # an ACL refusal is mapped by the native client too
}
# Modules about the native engine itself: only that engine (librdkafka where it is not built).
NATIVE_ONLY_MODULES = {"test_native", "test_native_consume"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        module = metafunc.module.__name__.rsplit(".", 1)[-1]
        engines = ["default"] if module in ENGINE_NEUTRAL_MODULES else list(PYTHON_ENGINES)
        if module in NATIVE_ONLY_MODULES:
            # Its checks hold for every engine; they are about the native one
            # (librdkafka's Python loop where it is not built: never a skip).
            engines = ["native" if native_built() else "librdkafka"]
        elif module in NATIVE_MODULES:
            engines = kafka_engines()
        metafunc.parametrize("engine", engines, indirect=True, scope="function")


@pytest.fixture(autouse=True)
def engine(request: pytest.FixtureRequest, isolate: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The engine under test, through $MQCLI_KAFKA_ENGINE: it reaches the
    in-process `cli` runner and every `python -m mqcli` subprocess alike
    (after `isolate` cleared the MQCLI_* variables)."""
    name = getattr(request, "param", "default")
    if name != "default":
        monkeypatch.setenv("MQCLI_KAFKA_ENGINE", name)
    return name


@pytest.fixture(scope="session")
def admin(kafka_broker: str) -> Iterator[Any]:
    """A kafka-python admin client for test setup and cleanup."""
    from kafka import KafkaAdminClient

    client = KafkaAdminClient(bootstrap_servers=kafka_broker, client_id="mqcli-tests")
    yield client
    client.close()


@pytest.fixture
def make_topic(admin: Any, unique_name: Callable[[str], str]) -> Iterator[Callable[..., str]]:
    """make_topic(partitions=1) -> a fresh topic, deleted after the test."""
    created: list[str] = []

    def make(partitions: int = 1, prefix: str = "t") -> str:
        name = unique_name(prefix)
        admin.create_topics({name: {"num_partitions": partitions, "replication_factor": 1}}, wait_for_metadata=True)
        created.append(name)
        return name

    yield make
    if created:
        try:
            admin.delete_topics(created)
        except Exception:  # cleanup is best effort; the names are unique anyway
            pass


@pytest.fixture
def topic(make_topic: Callable[..., str]) -> str:
    """A fresh single-partition topic."""
    return make_topic(1)


@pytest.fixture
def topic3(make_topic: Callable[..., str]) -> str:
    """A fresh three-partition topic."""
    return make_topic(3)


def records(admin_bootstrap: str, topic: str, timeout: float = 10.0) -> list[Any]:
    """Every record of `topic` (read with kafka-python directly, to check mqcli's writes)."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=admin_bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic))]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        end = c.end_offsets(tps)
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        while any(c.position(tp) < end[tp] for tp in tps) and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                out.extend(recs)
        return sorted(out, key=lambda r: (r.partition, r.offset))
    finally:
        c.close()


def committed(admin: Any, group: str) -> dict[int, int]:
    """partition -> committed offset of `group` (single-topic tests)."""
    offsets = admin.list_group_offsets(group).get(group) or {}
    return {tp.partition: om.offset for tp, om in offsets.items() if om.offset is not None and om.offset >= 0}


def write_profile(path: Path, name: str, kafka: dict[str, Any]) -> Path:
    """A mqcli.yaml with one profile (mode 600: it may hold a password)."""
    import yaml

    file = path / "mqcli.yaml"
    file.write_text(yaml.safe_dump({"profiles": {name: {"kafka": kafka}}}))
    os.chmod(file, 0o600)
    return file


def start_mqcli(args: list[str], **kw: Any) -> subprocess.Popen[bytes]:
    """A long-running `python -m mqcli` (group consumers, signals)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen(
        [sys.executable, "-m", "mqcli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        **kw,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/kafka needs the local broker."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.kafka)
