"""`mqcli kafka info` and `mqcli ping --kafka`."""

from __future__ import annotations

import json
from typing import Any


def test_info_json(cli: Any) -> None:
    r = cli("kafka", "info", "-o", "json")
    assert r.exit_code == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["cluster_id"] and info["controller_id"] == 1
    assert info["brokers"] == [{"id": 1, "host": "127.0.0.1", "port": 9092, "rack": None}]


def test_info_table(cli: Any) -> None:
    r = cli("kafka", "info")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0] == "ID\tHOST\tPORT\tRACK\tCONTROLLER"
    assert "cluster " in r.stderr


def test_ping(cli: Any) -> None:
    r = cli("ping", "--kafka")
    assert r.exit_code == 0, r.stderr
    assert "kafka: ok 127.0.0.1:9092 cluster" in r.stdout and "1 broker" in r.stdout


def test_ping_unreachable(cli: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    r = cli("--connect-timeout", "1s", "ping", "--kafka")
    assert r.exit_code == 4
    assert "127.0.0.1:1" in r.stderr and "connection refused" in r.stderr
