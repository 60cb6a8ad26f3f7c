"""`mqcli kafka topics delete-records`: a dry run unless --execute, by offset or time."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.kafka.conftest import BOOTSTRAP, records


def _starts(admin: Any, topic: str, partitions: int) -> dict[int, int]:
    from kafka import TopicPartition
    from kafka.admin import OffsetSpec

    res = admin.list_partition_offsets({TopicPartition(topic, p): OffsetSpec.EARLIEST for p in range(partitions)})
    return {tp.partition: o.offset for tp, o in res.items()}


def test_dry_run_then_execute_by_offset(cli: Any, admin: Any, topic3: str) -> None:
    for p, n in ((0, 5), (1, 2), (2, 0)):
        if n:
            assert cli("kafka", "produce", topic3, "-p", str(p), *[f"p{p}-{i}" for i in range(n)]).exit_code == 0
    base = ("kafka", "topics", "delete-records", topic3, "--before", "3")

    dry = cli(*base, "-o", "json")
    assert dry.exit_code == 0, dry.stderr
    assert "dry run: nothing deleted (add --execute to delete 5 record(s))" in dry.stderr
    doc = json.loads(dry.stdout)
    assert doc["executed"] is False and doc["topic"] == topic3
    # Clamped to each partition's range: partition 1 has 2 records, partition 2 none.
    assert [
        (r["partition"], r["earliest_offset"], r["latest_offset"], r["delete_before"], r["records"])
        for r in doc["partitions"]
    ] == [
        (0, 0, 5, 3, 3),
        (1, 0, 2, 2, 2),
        (2, 0, 0, 0, 0),
    ]
    assert _starts(admin, topic3, 3) == {0: 0, 1: 0, 2: 0}  # nothing deleted
    table = cli(*base)
    assert table.stdout.splitlines()[0] == "TOPIC\tPARTITION\tEARLIEST\tLATEST\tDELETE_BEFORE\tRECORDS"

    done = cli(*base, "--execute")
    assert done.exit_code == 0, done.stderr
    assert "deleted 5 record(s) from 2 partition(s)" in done.stderr
    assert _starts(admin, topic3, 3) == {0: 3, 1: 2, 2: 0}
    assert [r.value for r in records(BOOTSTRAP, topic3)] == [b"p0-3", b"p0-4"]
    # Again: nothing left below the cut, nothing to do.
    again = cli(*base, "--execute", "-o", "json")
    assert again.exit_code == 0 and sum(r["records"] for r in json.loads(again.stdout)["partitions"]) == 0


def test_by_time_and_one_partition(cli: Any, admin: Any, topic3: str) -> None:
    now = int(time.time() * 1000)
    for p in (0, 1):
        lines = [
            json.dumps({"value": f"p{p}-{h}h", "partition": p, "timestamp": now - h * 3600_000}) for h in (3, 2, 1)
        ]
        assert cli("kafka", "produce", topic3, "-i", "jsonl", input="\n".join(lines)).exit_code == 0

    r = cli("kafka", "topics", "delete-records", topic3, "--before", "-150m", "-p", "1", "--execute", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert [(x["partition"], x["delete_before"], x["records"]) for x in json.loads(r.stdout)["partitions"]] == [
        (1, 1, 1)
    ]
    assert _starts(admin, topic3, 3) == {0: 0, 1: 1, 2: 0}

    # A time after every record: all of them go.
    r = cli("kafka", "topics", "delete-records", topic3, "--before", "now", "--execute")
    assert r.exit_code == 0 and "deleted 5 record(s) from 2 partition(s)" in r.stderr
    assert _starts(admin, topic3, 3) == {0: 3, 1: 3, 2: 0}
    assert records(BOOTSTRAP, topic3) == []


def test_refusals(cli: Any, topic: str, unique_name: Any) -> None:
    missing = cli("kafka", "topics", "delete-records", unique_name("notopic"), "--before", "1")
    assert missing.exit_code == 6 and "does not exist" in missing.stderr
    no_partition = cli("kafka", "topics", "delete-records", topic, "--before", "1", "-p", "4")
    assert no_partition.exit_code == 6 and "has no partition 4" in no_partition.stderr
    bad = cli("kafka", "topics", "delete-records", topic, "--before", "yesterday")
    assert bad.exit_code == 2 and "invalid --before 'yesterday'" in bad.stderr
    assert cli("kafka", "topics", "delete-records", topic).exit_code == 2  # --before is required


def test_compacted_topic_is_refused(cli: Any, admin: Any, unique_name: Any) -> None:
    name = unique_name("compact")
    assert cli("kafka", "topics", "create", name, "-c", "cleanup.policy=compact").exit_code == 0
    try:
        assert cli("kafka", "produce", name, "-k", "a", "1", "2").exit_code == 0
        r = cli("kafka", "topics", "delete-records", name, "--before", "1", "--execute")
        assert r.exit_code == 1 and r.stderr.count("\n") == 1, r.stderr
        assert r.stderr.startswith(
            f"mqcli: error: cannot delete records of topic '{name}': Kafka refuses on a compacted topic"
        )
        assert "cleanup.policy=delete" in r.stderr
    finally:
        admin.delete_topics([name])
