"""`mqcli kafka groups list|describe|reset-offsets`."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.kafka.conftest import committed


def _consume(cli: Any, group: str, topic: str, *args: str) -> Any:
    r = cli("kafka", "group-consume", "--group", group, topic, *args)
    assert r.exit_code == 0, r.stderr
    return r


def test_list_and_describe(cli: Any, topic3: str, unique_name: Any) -> None:
    for p in range(3):
        assert cli("kafka", "produce", topic3, "-p", str(p), "a", "b").exit_code == 0
    group = unique_name("g")
    _consume(cli, group, topic3, "--count", "2")  # leaves lag behind
    listed = json.loads(cli("kafka", "groups", "list", "-o", "json").stdout)
    assert any(g["group"] == group and g["state"] == "Empty" for g in listed)
    assert group in cli("kafka", "groups", "list").stdout

    d = json.loads(cli("kafka", "groups", "describe", group, "-o", "json").stdout)
    assert d["group"] == group and d["state"] == "Empty" and d["members"] == []
    parts = {p["partition"]: p for p in d["partitions"]}
    assert sorted(parts) == [0, 1, 2] and all(p["end_offset"] == 2 and p["topic"] == topic3 for p in parts.values())
    assert sorted((p["committed_offset"], p["lag"]) for p in parts.values() if p["committed_offset"] is not None) == [
        (2, 0)
    ]
    assert sum(1 for p in parts.values() if p["committed_offset"] is None and p["lag"] is None) == 2
    table = cli("kafka", "groups", "describe", group)
    assert table.exit_code == 0 and table.stdout.startswith("TOPIC\tPARTITION\tCOMMITTED\tEND\tLAG")


def test_describe_missing_group(cli: Any, unique_name: Any) -> None:
    assert cli("kafka", "groups", "describe", unique_name("nogroup")).exit_code == 6


def test_reset_offsets_dry_run_then_execute(cli: Any, admin: Any, topic: str, unique_name: Any) -> None:
    assert cli("kafka", "produce", topic, "a", "b", "c").exit_code == 0
    group = unique_name("g")
    _consume(cli, group, topic, "-e")
    assert committed(admin, group) == {0: 3}

    dry = cli("kafka", "groups", "reset-offsets", group, "--to", "earliest", "-o", "json")
    assert dry.exit_code == 0 and "dry run" in dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["executed"] is False and plan["partitions"] == [
        {"topic": topic, "partition": 0, "current_offset": 3, "new_offset": 0}
    ]
    assert committed(admin, group) == {0: 3}  # unchanged

    assert cli("kafka", "groups", "reset-offsets", group, "--to", "1", "--execute").exit_code == 0
    assert committed(admin, group) == {0: 1}
    assert _consume(cli, group, topic, "-e").stdout == "b\nc\n"

    assert cli("kafka", "groups", "reset-offsets", group, "--topic", topic, "--to", "-1h", "--execute").exit_code == 0
    assert committed(admin, group) == {0: 0}
    assert cli("kafka", "groups", "reset-offsets", group, "--to", "latest", "--execute").exit_code == 0
    assert committed(admin, group) == {0: 3}


def test_reset_by_time(cli: Any, admin: Any, topic: str, unique_name: Any) -> None:
    now = int(time.time() * 1000)
    lines = [{"value": f"m{h}", "timestamp": now - h * 3600_000} for h in (3, 2, 1)]
    assert (
        cli("kafka", "produce", topic, "--input", "jsonl", input="\n".join(json.dumps(x) for x in lines)).exit_code == 0
    )
    group = unique_name("g")
    r = cli("kafka", "groups", "reset-offsets", group, "--topic", topic, "--to", "-150m", "--execute")
    assert r.exit_code == 0, r.stderr
    assert committed(admin, group) == {0: 1}


def test_reset_refused_while_group_active(cli: Any, admin: Any, topic: str, unique_name: Any) -> None:
    from tests.kafka.conftest import start_mqcli
    from tests.kafka.test_group_consume import _members_with_partitions, _stop, wait_for

    group = unique_name("g")
    proc = start_mqcli(["kafka", "group-consume", "--group", group, topic])
    try:
        wait_for(lambda: _members_with_partitions(admin, group) == [1], what="member assigned")
        d = json.loads(cli("kafka", "groups", "describe", group, "-o", "json").stdout)
        assert d["state"] == "Stable" and len(d["members"]) == 1
        assert d["members"][0]["assignment"] == [{"topic": topic, "partitions": [0]}]
        assert d["partitions"][0]["member_id"] == d["members"][0]["member_id"]
        r = cli("kafka", "groups", "reset-offsets", group, "--topic", topic, "--to", "earliest", "--execute")
        assert r.exit_code == 1 and "stop its consumers" in r.stderr
    finally:
        _stop(proc)
