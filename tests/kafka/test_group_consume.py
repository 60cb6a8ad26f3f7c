"""`mqcli kafka group-consume`: at-least-once commits, --exec, rebalances."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.kafka.conftest import committed, start_mqcli


def produce(cli: Any, topic: str, *args: str, input: bytes | str | None = None) -> None:
    r = cli("kafka", "produce", topic, *args, input=input)
    assert r.exit_code == 0, r.stderr


def wait_for(pred: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_exit_at_end_commits_everything(cli: Any, admin: Any, topic3: str, unique_name: Any) -> None:
    for p in range(3):
        produce(cli, topic3, "-p", str(p), f"{p}a", f"{p}b")
    group = unique_name("g")
    r = cli("kafka", "group-consume", "--group", group, topic3, "-e")
    assert r.exit_code == 0, r.stderr
    assert sorted(r.stdout.split()) == ["0a", "0b", "1a", "1b", "2a", "2b"]
    assert "partitions assigned" in r.stderr
    assert committed(admin, group) == {0: 2, 1: 2, 2: 2}
    # Everything is committed: the next member gets nothing and times out.
    again = cli("kafka", "group-consume", "--group", group, topic3, "--timeout", "2s")
    assert again.exit_code == 5 and again.stdout == ""


def test_count_commits_only_what_was_written(cli: Any, admin: Any, topic: str, unique_name: Any) -> None:
    produce(cli, topic, "a", "b", "c", "d")
    group = unique_name("g")
    r = cli("kafka", "group-consume", "--group", group, topic, "--count", "2")
    assert r.exit_code == 0 and r.stdout == "a\nb\n"
    assert committed(admin, group) == {0: 2}
    r = cli("kafka", "group-consume", "--group", group, topic, "-e", "-o", "json")
    assert [json.loads(x)["value"] for x in r.stdout.splitlines()] == ["c", "d"]


def test_whole_batches_commit_what_was_written(
    cli: Any, admin: Any, topic3: str, unique_name: Any, monkeypatch: Any
) -> None:
    # Small polls: --count and the end offsets fall inside batches, which go to
    # the writer whole; the commits still cover exactly what was written.
    monkeypatch.setenv("MQCLI_KAFKA_CONSUMER_MAX_POLL_RECORDS", "7")
    for p in range(3):
        produce(cli, topic3, "-p", str(p), *[f"{p}-{i}" for i in range(20)])
    group = unique_name("g")
    r = cli("kafka", "group-consume", "--group", group, topic3, "--count", "25")
    assert r.exit_code == 0, r.stderr
    first = r.stdout.split()
    assert len(first) == 25
    assert sum(committed(admin, group).values()) == 25
    for p in range(3):  # what was written is what was committed, per partition
        assert committed(admin, group).get(p, 0) == sum(1 for v in first if v.startswith(f"{p}-"))
    r = cli("kafka", "group-consume", "--group", group, topic3, "-e")
    assert r.exit_code == 0, r.stderr
    assert sorted(first + r.stdout.split()) == sorted(f"{p}-{i}" for p in range(3) for i in range(20))
    assert committed(admin, group) == {0: 20, 1: 20, 2: 20}


def test_from_latest_without_committed_offset(cli: Any, topic: str, unique_name: Any) -> None:
    produce(cli, topic, "old")
    r = cli("kafka", "group-consume", "--group", unique_name("g"), topic, "--from", "latest", "--timeout", "2s")
    assert r.exit_code == 5 and r.stdout == ""


@pytest.mark.parametrize("assignor", ["range", "roundrobin", "sticky", "cooperative-sticky"])
def test_assignors(cli: Any, topic3: str, unique_name: Any, assignor: str, engine: str) -> None:
    for p in range(3):
        produce(cli, topic3, "-p", str(p), f"p{p}")
    r = cli("kafka", "group-consume", "--group", unique_name("g"), topic3, "--assignor", assignor, "-e")
    if assignor == "sticky" and engine == "librdkafka":
        # librdkafka has only the cooperative sticky assignor: refused, not silently swapped.
        assert r.exit_code == 2 and "cooperative-sticky" in r.stderr and r.stdout == ""
        return
    assert r.exit_code == 0, r.stderr
    assert sorted(r.stdout.split()) == ["p0", "p1", "p2"]


def test_bad_options(cli: Any, topic: str) -> None:
    assert cli("kafka", "group-consume", "--group", "g", topic, "--assignor", "fancy").exit_code == 2
    assert cli("kafka", "group-consume", "--group", "g", topic, "--from", "middle").exit_code == 2
    assert cli("kafka", "group-consume", "--group", "g", topic, "--on-error", "skip").exit_code == 2
    assert (
        cli("kafka", "group-consume", "--group", "g", topic, "--exec", "true", "--on-error", "retry:x").exit_code == 2
    )
    assert cli("kafka", "group-consume", topic).exit_code == 2  # --group is required


def test_missing_topic(cli: Any, unique_name: Any) -> None:
    assert cli("kafka", "group-consume", "--group", unique_name("g"), unique_name("nope"), "-e").exit_code == 6


def test_match_commits_filtered_messages(cli: Any, admin: Any, topic: str, unique_name: Any) -> None:
    produce(cli, topic, "apple", "banana", "cherry")
    group = unique_name("g")
    r = cli("kafka", "group-consume", "--group", group, topic, "--match", "an", "-e")
    assert r.stdout == "banana\n"
    assert committed(admin, group) == {0: 3}


def test_exec_gets_value_and_metadata(cli: Any, admin: Any, topic: str, unique_name: Any, tmp_path: Path) -> None:
    produce(cli, topic, "-K", ":", "-H", "trace=t1", input=b"k1:v1\nk2:v2\n")
    out = tmp_path / "seen"
    group = unique_name("g")
    cmd = f'printf "%s %s %s %s %s " "$MQCLI_TOPIC" "$MQCLI_PARTITION" "$MQCLI_OFFSET" "$MQCLI_KEY" "$MQCLI_HEADER_TRACE" >> {out}; cat >> {out}; echo >> {out}'
    r = cli("kafka", "group-consume", "--group", group, topic, "--exec", cmd, "-e")
    assert r.exit_code == 0, r.stderr
    assert out.read_text().splitlines() == [f"{topic} 0 0 k1 t1 v1", f"{topic} 0 1 k2 t1 v2"]
    assert committed(admin, group) == {0: 2}


def test_exec_failure_leaves_offset_uncommitted(cli: Any, admin: Any, topic: str, unique_name: Any) -> None:
    produce(cli, topic, "a", "b", "c", "d")
    group = unique_name("g")
    r = cli("kafka", "group-consume", "--group", group, topic, "--exec", 'test "$MQCLI_OFFSET" != 2', "-e")
    assert r.exit_code == 1
    assert r.stdout == "" and "@2" in r.stderr
    assert committed(admin, group) == {0: 2}  # offsets 0 and 1 done; 2 failed, not committed
    # The failed message is delivered again to the next member of the group.
    again = cli("kafka", "group-consume", "--group", group, topic, "-e")
    assert again.exit_code == 0 and again.stdout == "c\nd\n"


def test_exec_on_error_skip(cli: Any, admin: Any, topic: str, unique_name: Any) -> None:
    produce(cli, topic, "a", "b", "c")
    group = unique_name("g")
    r = cli(
        "kafka",
        "group-consume",
        "--group",
        group,
        topic,
        "--exec",
        'test "$MQCLI_OFFSET" != 1',
        "--on-error",
        "skip",
        "-e",
    )
    assert r.exit_code == 0, r.stderr
    assert "skipped" in r.stderr
    assert committed(admin, group) == {0: 3}


def test_exec_on_error_retry(cli: Any, admin: Any, topic: str, unique_name: Any, tmp_path: Path) -> None:
    produce(cli, topic, "a")
    tries = tmp_path / "tries"
    group = unique_name("g")
    r = cli(
        "kafka",
        "group-consume",
        "--group",
        group,
        topic,
        "--exec",
        f"echo x >> {tries}; false",
        "--on-error",
        "retry:2",
        "-e",
    )
    assert r.exit_code == 1
    assert tries.read_text().count("x") == 3  # first try + 2 retries
    assert committed(admin, group) == {}
    # A command that succeeds on its second try is committed.
    flag = tmp_path / "flag"
    cmd = f"if [ -e {flag} ]; then exit 0; else touch {flag}; exit 1; fi"
    r = cli("kafka", "group-consume", "--group", group, topic, "--exec", cmd, "--on-error", "retry:1", "-e")
    assert r.exit_code == 0, r.stderr
    assert committed(admin, group) == {0: 1}


def _members_with_partitions(admin: Any, group: str) -> list[int]:
    try:
        desc = admin.describe_groups([group])[group]
    except Exception:
        return []
    if desc.get("group_state") != "Stable":
        return []
    return [
        sum(len(a["partitions"]) for a in (m.get("member_assignment") or {}).get("assigned_partitions") or [])
        for m in desc.get("members") or []
    ]


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> tuple[bytes, bytes]:
    proc.send_signal(sig)
    return proc.communicate(timeout=60)


def test_two_members_split_and_take_over(cli: Any, admin: Any, topic3: str, unique_name: Any) -> None:
    group = unique_name("g")
    args = ["kafka", "group-consume", "--group", group, topic3, "-o", "json"]
    a = start_mqcli(args)
    b = None
    try:
        wait_for(lambda: _members_with_partitions(admin, group) == [3], what="first member assigned")
        b = start_mqcli(args)
        wait_for(
            lambda: sorted(_members_with_partitions(admin, group)) == [1, 2],
            what="partitions split between two members",
        )
        first = [{"value": f"one-{p}-{i}", "partition": p} for p in range(3) for i in range(10)]
        produce(cli, topic3, "--input", "jsonl", input="\n".join(json.dumps(x) for x in first))
        wait_for(lambda: sum(committed(admin, group).values()) == 30, what="first batch committed")
        b_out, b_err = _stop(b)
        assert b.returncode == 143
        assert b"partitions revoked" in b_err
        wait_for(lambda: _members_with_partitions(admin, group) == [3], what="survivor takes over")
        second = [{"value": f"two-{p}-{i}", "partition": p} for p in range(3) for i in range(10)]
        produce(cli, topic3, "--input", "jsonl", input="\n".join(json.dumps(x) for x in second))
        wait_for(lambda: sum(committed(admin, group).values()) == 60, what="second batch committed")
    finally:
        a_out, a_err = _stop(a)
        if b is not None and b.poll() is None:
            _stop(b)
    assert a.returncode == 143
    seen_a = {json.loads(x)["value"] for x in a_out.splitlines()}
    seen_b = {json.loads(x)["value"] for x in b_out.splitlines()}
    assert seen_a and seen_b  # both members got a share
    assert {x["value"] for x in first + second} <= seen_a | seen_b  # nothing skipped
    assert {x["value"] for x in second} <= seen_a  # the survivor took over every partition
    assert committed(admin, group) == {0: 20, 1: 20, 2: 20}


def test_sigint_commits_and_leaves(cli: Any, admin: Any, topic: str, unique_name: Any) -> None:
    produce(cli, topic, "a", "b")
    group = unique_name("g")
    proc = start_mqcli(["kafka", "group-consume", "--group", group, topic])
    wait_for(lambda: committed(admin, group) == {0: 2}, what="commit of handled messages")
    out, err = _stop(proc, signal.SIGINT)
    assert proc.returncode == 130
    assert out == b"a\nb\n"
    wait_for(lambda: admin.describe_groups([group])[group]["group_state"] == "Empty", timeout=10, what="group left")


def test_session_timeout_hands_a_killed_members_partitions_over(
    admin: Any, topic3: str, unique_name: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kafka.consumer.session_timeout: a member killed with -9 never leaves the group;
    its partitions go to the survivor once its session expires -- 6 s here, where
    Kafka's default would keep them away for 45 s."""
    monkeypatch.setenv("MQCLI_KAFKA_CONSUMER_SESSION_TIMEOUT", "6s")
    group = unique_name("g")
    args = ["kafka", "group-consume", "--group", group, topic3]
    a = start_mqcli(args)
    b = start_mqcli(args)
    try:
        wait_for(lambda: sorted(_members_with_partitions(admin, group)) == [1, 2], what="partitions split")
        b.kill()
        b.wait()
        # The group coordinator waits out the session before it rebalances.
        wait_for(lambda: _members_with_partitions(admin, group) == [3], timeout=30, what="survivor takes over")
    finally:
        if b.poll() is None:
            b.kill()
        _stop(a)
    assert a.returncode == 143
