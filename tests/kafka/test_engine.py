"""`mqcli kafka --engine`: choosing kafka-python or librdkafka, the default,
kafka-python on its own when confluent-kafka is missing, and the two
engines reading each other's work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_mqcli
from tests.kafka.conftest import BOOTSTRAP, write_profile


def _engine_used(r: Any) -> str:
    lines = [x for x in r.stderr.splitlines() if "kafka engine: " in x]
    assert lines, r.stderr
    return lines[0].split("kafka engine: ", 1)[1].strip()


def test_default_is_librdkafka_when_installed(cli: Any, topic: str) -> None:
    r = cli("--debug", "kafka", "produce", topic, "x")
    assert r.exit_code == 0, r.stderr
    assert _engine_used(r) == "librdkafka"


def test_flag_beats_environment_beats_profile(
    cli: Any, topic: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profile(tmp_path, "p", {"bootstrap_servers": BOOTSTRAP, "engine": "kafka-python"})
    monkeypatch.delenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS")
    assert _engine_used(cli("--debug", "kafka", "produce", topic, "a")) == "kafka-python"  # the profile
    monkeypatch.setenv("MQCLI_KAFKA_ENGINE", "librdkafka")
    assert _engine_used(cli("--debug", "kafka", "produce", topic, "b")) == "librdkafka"  # the environment
    r = cli("--debug", "kafka", "--engine", "kafka-python", "consume", topic, "-e")
    assert _engine_used(r) == "kafka-python" and r.stdout == "a\nb\n"  # the flag


def test_invalid_engine_is_usage_error(cli: Any) -> None:
    r = cli("kafka", "--engine", "java", "topics", "list")
    assert r.exit_code == 2 and "kafka-python or librdkafka" in r.stderr


@pytest.fixture
def without_confluent_kafka(tmp_path: Path) -> dict[str, str]:
    """Environment for `python -m mqcli` in which `import confluent_kafka` fails."""
    shadow = tmp_path / "shadow" / "confluent_kafka"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("confluent_kafka hidden by the test")\n')
    return {"PYTHONPATH": str(shadow.parent)}


def test_kafka_python_works_alone(without_confluent_kafka: dict[str, str], topic: str) -> None:
    env = without_confluent_kafka
    p = run_mqcli(["--debug", "kafka", "produce", topic, "-K", ":", "k:v"], env=env)
    assert p.returncode == 0, p.stderr
    assert b"kafka engine: kafka-python" in p.stderr
    p = run_mqcli(["kafka", "consume", topic, "-e", "-o", "json"], env=env)
    assert p.returncode == 0, p.stderr
    assert [(o["key"], o["value"]) for o in map(json.loads, p.stdout.splitlines())] == [("k", "v")]
    p = run_mqcli(["kafka", "group-consume", "--group", f"{topic}-g", topic, "-e"], env=env)
    assert p.returncode == 0 and p.stdout == b"v\n", p.stderr


def test_librdkafka_asked_for_but_missing(without_confluent_kafka: dict[str, str], topic: str) -> None:
    p = run_mqcli(["kafka", "--engine", "librdkafka", "produce", topic, "x"], env=without_confluent_kafka)
    assert p.returncode == 2
    assert b"confluent-kafka" in p.stderr and b"mqcli[fast]" in p.stderr and b"Traceback" not in p.stderr
    p = run_mqcli(["kafka", "topics", "list"], env={**without_confluent_kafka, "MQCLI_KAFKA_ENGINE": "librdkafka"})
    assert p.returncode == 3
    assert b"kafka.engine is librdkafka" in p.stderr and b"confluent-kafka" in p.stderr


def test_same_key_same_partition_on_both_engines(cli: Any, make_topic: Any) -> None:
    keys = [f"key-{i}" for i in range(30)]
    placed: dict[str, dict[str, int]] = {}
    for engine in ("kafka-python", "librdkafka"):
        t = make_topic(3)
        data = "".join(f"{k}:v\n" for k in keys)
        assert cli("kafka", "--engine", engine, "produce", t, "-K", ":", input=data).exit_code == 0
        r = cli("kafka", "consume", t, "-e", "-o", "json")
        placed[engine] = {o["key"]: o["partition"] for o in map(json.loads, r.stdout.splitlines())}
    assert placed["kafka-python"] == placed["librdkafka"]  # both use Kafka's murmur2 partitioner
    assert len(set(placed["librdkafka"].values())) == 3


def test_group_moves_between_engines(cli: Any, topic: str, unique_name: Any) -> None:
    assert cli("kafka", "produce", topic, "a", "b", "c", "d").exit_code == 0
    group = unique_name("g")
    r = cli("kafka", "--engine", "kafka-python", "group-consume", "--group", group, topic, "--count", "2")
    assert r.exit_code == 0 and r.stdout == "a\nb\n"
    r = cli("kafka", "--engine", "librdkafka", "group-consume", "--group", group, topic, "--count", "1")
    assert r.exit_code == 0 and r.stdout == "c\n"
    r = cli("kafka", "--engine", "kafka-python", "group-consume", "--group", group, topic, "-e")
    assert r.exit_code == 0 and r.stdout == "d\n"
