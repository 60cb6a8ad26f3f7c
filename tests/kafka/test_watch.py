"""`--watch` on the Kafka views against the real broker (JSON Lines through a pipe,
Ctrl-C is exit 0); the live table's redraw is tested on `rabbit queues list`."""

from __future__ import annotations

from typing import Any

from tests.watchlib import Watching


def test_groups_lag_watch_follows_a_group_catching_up(cli: Any, topic: str, unique_name: Any) -> None:
    assert cli("kafka", "produce", topic, *[f"m{i}" for i in range(100)]).exit_code == 0
    group = unique_name("g")
    assert cli("kafka", "group-consume", "--group", group, topic, "--count", "1").exit_code == 0
    w = Watching(["kafka", "groups", "lag", group, "--watch", "300ms"])
    try:
        w.until(lambda: any(r["lag"] == 99 for r in w.records()))
        # The group consumes in steps, each committed as its run ends: 99, 79, 59, 39 left.
        for left in (79, 59, 39):
            assert cli("kafka", "group-consume", "--group", group, topic, "--count", "20").exit_code == 0
            w.until(lambda left=left: any(r["lag"] == left for r in w.records()))
        assert w.interrupt() == 0, w.err.decode()
    finally:
        w.kill()
    records = w.records()
    assert all(r["group"] == group and r["topic"] == topic for r in records)
    assert any((r["out_per_s"] or 0) > 0 and (r["lag_per_s"] or 0) < 0 for r in records)
    # Shrinking: an ETA to no lag (from the average rate over the last 15 s).
    assert any(r["eta_s"] is not None and r["eta_s"] > 0 for r in records if r["lag"] == 39)
    assert {"time", "lag", "lag_per_s", "in_per_s", "out_per_s", "eta_s"} <= set(records[-1])


def test_topics_and_groups_describe_and_list_watch(cli: Any, topic3: str, unique_name: Any) -> None:
    w = Watching(["kafka", "topics", "describe", topic3, "--watch", "300ms"])
    try:
        w.until(lambda: len(w.records()) >= 3)
        assert cli("kafka", "produce", topic3, "-p", "1", *[f"m{i}" for i in range(50)]).exit_code == 0
        w.until(lambda: any(r["partition"] == 1 and (r["in_per_s"] or 0) > 0 for r in w.records()))
        assert w.interrupt() == 0, w.err.decode()
    finally:
        w.kill()
    assert {r["partition"] for r in w.records()} == {0, 1, 2}
    assert all(r["topic"] == topic3 for r in w.records())

    group = unique_name("g")
    assert cli("kafka", "group-consume", "--group", group, topic3, "--count", "5").exit_code == 0
    seen = {}
    for verb in ("describe", "list"):
        args = ["kafka", "groups", verb, *([group] if verb == "describe" else []), "--watch", "300ms", "-o", "json"]
        w = Watching(args)
        try:
            w.until(lambda: any(r.get("group") == group for r in w.records()))
            assert w.interrupt() == 0, w.err.decode()
        finally:
            w.kill()
        seen[verb] = [r for r in w.records() if r.get("group") == group]
    assert {"topic", "partition", "committed_offset", "end_offset", "lag", "lag_per_s", "eta_s"} <= set(
        seen["describe"][0]
    )
    assert seen["list"][0]["state"] == "Empty"
