"""`mqcli copy|move kafka@A:… kafka@B:…` across profiles, against the real
broker.  The tests need no second cluster: the two profiles reach the one
local broker through different listeners and settings (A: PLAINTEXT on
9092 with the kafka-python engine; B: SASL SCRAM-SHA-512 on 9093), which is
what differs between two profiles.  A copy between two real clusters runs in
tests/reliability (the three-node cluster)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Run
from tests.kafka.conftest import HOST, PLAIN_PORT, SASL_PORT, committed, records


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kafka_broker: str) -> Path:
    """mqcli.yaml with profiles `plain` (9092, kafka-python) and `sasl` (9093, SCRAM), in cwd."""
    monkeypatch.delenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("MQCLI_KAFKA_ENGINE", raising=False)
    file = tmp_path / "mqcli.yaml"
    file.write_text(
        yaml.safe_dump(
            {
                "profiles": {
                    "plain": {"kafka": {"bootstrap_servers": f"{HOST}:{PLAIN_PORT}", "engine": "kafka-python"}},
                    "sasl": {
                        "kafka": {
                            "bootstrap_servers": f"{HOST}:{SASL_PORT}",
                            "security_protocol": "SASL_PLAINTEXT",
                            "sasl_mechanism": "SCRAM-SHA-512",
                            "username": "mqcli",
                            "password": "mqcli-secret",
                            "engine": "librdkafka",
                        }
                    },
                }
            }
        )
    )
    os.chmod(file, 0o600)
    return file


def _produce(cli: Callable[..., Run], topic: str, n: int) -> None:
    lines = "".join(
        json.dumps({"key": f"k{i}", "value": f"v{i}", "headers": {"h": f"x{i}"}, "timestamp": 1_700_000_000_000 + i})
        + "\n"
        for i in range(n)
    )
    r = cli("kafka", "produce", topic, "-i", "jsonl", "-P", "plain", input=lines)
    assert r.exit_code == 0, r.stderr


def test_copy_across_profiles_keeps_key_value_headers_and_timestamp(
    cli: Callable[..., Run], profiles: Path, make_topic: Callable[..., str], kafka_broker: str
) -> None:
    src, dst = make_topic(2), make_topic(2)
    _produce(cli, src, 50)
    r = cli("copy", f"kafka@plain:{src}", f"kafka@sasl:{dst}", "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["moved"] == 50
    assert "mqcli-secret" not in r.stderr + r.stdout
    got = {x.key: x for x in records(kafka_broker, dst)}
    assert set(got) == {f"k{i}".encode() for i in range(50)}
    for i in (0, 17, 49):
        rec = got[f"k{i}".encode()]
        assert rec.value == f"v{i}".encode()
        assert rec.headers == [("h", f"x{i}".encode())]
        assert rec.timestamp == 1_700_000_000_000 + i
    # The source is as it was: a copy commits nothing, and reads it all again.
    r = cli("copy", f"kafka@sasl:{src}", "-", "-e")
    assert r.exit_code == 0, r.stderr
    assert len(r.stdout.splitlines()) == 50


def test_move_across_profiles_commits_in_the_source_profile(
    cli: Callable[..., Run], profiles: Path, make_topic: Callable[..., str], admin: Any, kafka_broker: str
) -> None:
    src, dst = make_topic(1), make_topic(1)
    _produce(cli, src, 30)
    r = cli("move", f"kafka@sasl:{src}", f"kafka@plain:{dst}", "-e")
    assert r.exit_code == 0, r.stderr
    group = f"mqcli-move.kafka_sasl_{src}.to.kafka_plain_{dst}"
    assert f"consumer group {group}" in r.stderr
    assert committed(admin, group) == {0: 30}
    assert [x.value for x in records(kafka_broker, dst)] == [f"v{i}".encode() for i in range(30)]


def test_exactly_once_across_profiles_on_one_cluster(
    cli: Callable[..., Run], profiles: Path, make_topic: Callable[..., str], admin: Any, kafka_broker: str
) -> None:
    # Two profiles, two listeners, one cluster (the same cluster id): a transaction can span them.
    src, dst = make_topic(1), make_topic(1)
    _produce(cli, src, 20)
    r = cli("move", f"kafka@plain:{src}", f"kafka@plain:{dst}", "-e", "--exactly-once", "--engine", "librdkafka")
    assert r.exit_code == 0, r.stderr
    _produce(cli, src, 5)
    r = cli("move", f"kafka@sasl:{src}", f"kafka@plain:{dst}", "-e", "--exactly-once", "--engine", "librdkafka")
    assert r.exit_code == 0, r.stderr
    assert "moved 25" in r.stderr  # a new group (its name has the profiles): from the beginning
    from tests.move.test_move_exactly_once import committed_values

    assert len(committed_values(kafka_broker, dst)) == 45
