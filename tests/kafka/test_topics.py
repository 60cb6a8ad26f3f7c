"""`mqcli kafka topics list|describe|create|delete`."""

from __future__ import annotations

import json
from typing import Any


def test_create_describe_list_delete(cli: Any, admin: Any, unique_name: Any) -> None:
    name = unique_name("adm")
    try:
        r = cli("kafka", "topics", "create", name, "--partitions", "3", "--config", "retention.ms=3600000")
        assert r.exit_code == 0, r.stderr
        assert "created" in r.stderr and r.stdout == ""
        assert cli("kafka", "topics", "create", name).exit_code == 1  # exists
        r = cli("kafka", "topics", "create", name, "--if-not-exists")
        assert r.exit_code == 0 and "already exists" in r.stderr

        d = json.loads(cli("kafka", "topics", "describe", name, "-o", "json").stdout)
        assert d["name"] == name and len(d["partitions"]) == 3 and d["replication_factor"] == 1
        assert d["configs"]["retention.ms"] == "3600000"
        assert d["partitions"][0]["leader"] == 1 and d["partitions"][0]["latest_offset"] == 0

        table = cli("kafka", "topics", "describe", name)
        assert table.exit_code == 0 and table.stdout.splitlines()[0].split("\t")[0] == "PARTITION"

        listed = json.loads(cli("kafka", "topics", "list", "-o", "json").stdout)
        assert {"name": name, "partitions": 3, "replication_factor": 1, "internal": False} in listed
        assert name in cli("kafka", "topics", "list").stdout

        r = cli("kafka", "topics", "delete", name)
        assert r.exit_code == 0, r.stderr
    finally:
        admin.delete_topics([name]) if name in admin.list_topics() else None
    assert cli("kafka", "topics", "delete", name).exit_code == 6
    r = cli("kafka", "topics", "delete", name, "--if-exists")
    assert r.exit_code == 0 and "did not exist" in r.stderr


def test_describe_offsets(cli: Any, topic: str) -> None:
    assert cli("kafka", "produce", topic, "a", "b").exit_code == 0
    (p,) = json.loads(cli("kafka", "topics", "describe", topic, "-o", "json").stdout)["partitions"]
    assert (p["earliest_offset"], p["latest_offset"]) == (0, 2)


def test_describe_missing_topic(cli: Any, unique_name: Any) -> None:
    assert cli("kafka", "topics", "describe", unique_name("nope")).exit_code == 6


def test_invalid_create(cli: Any, unique_name: Any) -> None:
    assert cli("kafka", "topics", "create", unique_name("x"), "--config", "novalue").exit_code == 2
    assert cli("kafka", "topics", "create", unique_name("x"), "--replication-factor", "3").exit_code == 2
    assert cli("kafka", "topics", "list", "-o", "yaml").exit_code == 2
