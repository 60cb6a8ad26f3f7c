"""`mqcli kafka groups lag`, `kafka wait lag` and `kafka wait topic` against the real
broker: each wait met by something that happens while mqcli waits, and each timeout (exit 5)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from tests.kafka.conftest import start_mqcli


class Waiting:
    """A background `mqcli kafka wait …` whose stderr is read as it comes."""

    def __init__(self, *args: str) -> None:
        self.p = start_mqcli(list(args))
        self.err: list[str] = []
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self) -> None:
        assert self.p.stderr is not None
        for line in iter(self.p.stderr.readline, b""):
            self.err.append(line.decode(errors="replace"))

    def wait_stderr(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.err):
            assert self.p.poll() is None or any(text in line for line in self.err), "".join(self.err)
            assert time.monotonic() < deadline, f"no {text!r} on stderr: {''.join(self.err)}"
            time.sleep(0.05)

    def still_running(self, seconds: float = 1.0) -> None:
        time.sleep(seconds)
        assert self.p.poll() is None, "".join(self.err)

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        try:
            self.p.wait(timeout=timeout)
        finally:
            if self.p.poll() is None:
                self.p.kill()
                self.p.wait()
        self._t.join(timeout=5)
        return self.p.returncode, "".join(self.err)


def test_groups_lag_per_group_and_topic(cli: Any, topic3: str, unique_name: Any) -> None:
    for p in range(3):
        assert cli("kafka", "produce", topic3, "-p", str(p), "a", "b", "c").exit_code == 0
    group = unique_name("g")
    assert cli("kafka", "group-consume", "--group", group, topic3, "--count", "2").exit_code == 0
    r = cli("kafka", "groups", "lag", group, "-o", "json")
    assert r.exit_code == 0, r.stderr
    (row,) = json.loads(r.stdout)
    # Two of nine read and committed; the partitions without a commit count in full.
    assert row == {
        "group": group,
        "state": "Empty",
        "topic": topic3,
        "partitions": 3,
        "uncommitted_partitions": row["uncommitted_partitions"],
        "lag": 7,
    }
    assert row["uncommitted_partitions"] in (1, 2)
    table = cli("kafka", "groups", "lag", group)
    assert table.stdout.splitlines() == ["GROUP\tSTATE\tTOPIC\tPARTITIONS\tLAG", f"{group}\tEmpty\t{topic3}\t3\t7"]
    every = json.loads(cli("kafka", "groups", "lag", "-o", "json").stdout)
    assert row in every
    missing = cli("kafka", "groups", "lag", unique_name("nogroup"))
    assert missing.exit_code == 6 and "does not exist" in missing.stderr


def test_wait_lag_is_met_by_a_running_group_consume(cli: Any, topic3: str, unique_name: Any) -> None:
    for p in range(3):
        assert cli("kafka", "produce", topic3, "-p", str(p), *[f"m{i}" for i in range(5)]).exit_code == 0
    group = unique_name("g")
    wait = Waiting("kafka", "wait", "lag", "--group", group, "--topic", topic3, "-t", "90s", "--interval", "200ms")
    wait.wait_stderr("lag 15: ")  # nothing consumed yet: the group does not exist
    wait.still_running()
    consumer = start_mqcli(["kafka", "group-consume", "--group", group, topic3, "--exec", "sleep 0.05", "-e"])
    rc, err = wait.finish()
    assert rc == 0, err
    assert f"group '{group}' has caught up on {topic3}: lag 0" in err
    assert consumer.wait(timeout=60) == 0


def test_wait_lag_max_and_the_timeouts(cli: Any, topic: str, unique_name: Any) -> None:
    assert cli("kafka", "produce", topic, "a", "b", "c", "d").exit_code == 0
    group = unique_name("g")
    assert cli("kafka", "group-consume", "--group", group, topic, "--count", "1").exit_code == 0

    assert cli("kafka", "wait", "lag", "--group", group, "--max", "3", "-t", "5s").exit_code == 0
    started = time.monotonic()
    r = cli("kafka", "wait", "lag", "--group", group, "--max", "2", "-t", "1500ms", "--interval", "300ms")
    assert r.exit_code == 5 and 1.4 < time.monotonic() - started < 20
    assert r.stderr.strip().splitlines()[-1] == (
        f"mqcli: error: timed out after 1500ms waiting for group '{group}' to have a total lag of at most 2; "
        f"last seen: lag 3: {topic}[0]=3"
    )
    assert r.stdout == ""

    # A group with no offsets at all, and a topic that does not exist, are waited for.
    r = cli("kafka", "wait", "lag", "--group", unique_name("nogroup"), "-t", "600ms", "--interval", "200ms")
    assert r.exit_code == 5 and "last seen: no committed offsets" in r.stderr
    gone = unique_name("gone")
    r = cli("kafka", "wait", "lag", "--group", group, "--topic", gone, "-t", "600ms", "--interval", "200ms")
    assert r.exit_code == 5 and f"last seen: topic '{gone}' does not exist" in r.stderr


def test_wait_topic(cli: Any, admin: Any, make_topic: Any, unique_name: Any) -> None:
    name = unique_name("later")
    wait = Waiting("kafka", "wait", "topic", name, "--partitions", "2", "-t", "60s", "--interval", "200ms")
    wait.wait_stderr("the topic does not exist")
    admin.create_topics({name: {"num_partitions": 2, "replication_factor": 1}})
    try:
        rc, err = wait.finish()
        assert rc == 0, err
        assert f"topic '{name}' exists: 2 partitions" in err
        r = cli("kafka", "wait", "topic", name, "--partitions", "3", "-t", "700ms", "--interval", "200ms")
        assert r.exit_code == 5
        assert r.stderr.strip().splitlines()[-1] == (
            f"mqcli: error: timed out after 700ms waiting for topic '{name}' to exist with at least 3 partitions; "
            "last seen: 2 partitions"
        )
    finally:
        admin.delete_topics([name])


def test_wait_usage_and_connection_errors(cli: Any) -> None:
    assert cli("kafka", "wait", "lag", "-t", "1s").exit_code == 2  # --group is required
    assert cli("kafka", "wait", "topic", "t", "--timeout", "soon").exit_code == 2
    assert cli("kafka", "wait", "topic", "t", "--interval", "0s").exit_code == 2
    r = cli("kafka", "wait", "topic", "t", env={"MQCLI_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert r.exit_code == 4
