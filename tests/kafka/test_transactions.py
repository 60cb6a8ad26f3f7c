"""`kafka produce --transactional-id` and `--isolation` against the real broker,
on both engines (the `engine` fixture): commits, aborts (failure, signal,
kill -9), fencing, read_committed readers (mqcli's and Kafka's own console
consumer) and -e at the last stable offset."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ROOT, Run
from tests.kafka.conftest import BOOTSTRAP


def _values(cli: Callable[..., Run], topic: str, isolation: str, *extra: str) -> list[str]:
    r = cli("kafka", "consume", topic, "-e", "--isolation", isolation, *extra)
    assert r.exit_code == 0, r.stderr
    return r.stdout.splitlines()


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def _producer(topic: str, tid: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A transactional `kafka produce` reading stdin, fed by the test."""
    full_env = dict(os.environ, **(env or {}))
    full_env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen(
        [sys.executable, "-m", "mqcli", "kafka", "produce", topic, "--transactional-id", tid, *args],
        env=full_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _feed(proc: subprocess.Popen[bytes], *lines: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write("".join(f"{line}\n" for line in lines).encode())
    proc.stdin.flush()


def test_transactions_commit_in_batches(cli: Callable[..., Run], topic: str, unique_name: Callable[[str], str]) -> None:
    r = cli(
        "kafka",
        "produce",
        topic,
        "--transactional-id",
        unique_name("tid"),
        "--transaction-size",
        "4",
        input="".join(f"v{i}\n" for i in range(1, 11)),
    )
    assert r.exit_code == 0, r.stderr
    assert "sent 10, failed 0" in r.stderr and "3 transaction(s) committed" in r.stderr
    expected = [f"v{i}" for i in range(1, 11)]
    # Control records (the commit markers) take offsets: -e must still end on both levels.
    assert _values(cli, topic, "read_committed") == expected
    assert _values(cli, topic, "read_uncommitted") == expected


def test_signal_aborts_the_open_transaction(
    cli: Callable[..., Run], topic: str, unique_name: Callable[[str], str]
) -> None:
    """SIGINT mid-transaction: the committed transactions stay, the open one is
    aborted (invisible to read_committed, visible to read_uncommitted) and the
    resume line is its first line."""
    proc = _producer(topic, unique_name("tid"), "--transaction-size", "3")
    _feed(proc, "a1", "a2", "a3", "b4", "b5")
    # All five records written (the last two inside the open transaction).
    _wait_for(lambda: len(_values(cli, topic, "read_uncommitted")) == 5, "five records")
    # An open transaction does not hold up -e with read_committed: it stops at the last stable offset.
    assert _values(cli, topic, "read_committed") == ["a1", "a2", "a3"]
    r = cli("kafka", "group-consume", "-g", unique_name("g"), topic, "-e", "--isolation", "read_committed")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == ["a1", "a2", "a3"]  # the group consumer too stops at the last stable offset
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    stderr = err.decode()
    assert proc.returncode == 130, stderr
    assert "mqcli: transaction from line 4 aborted (2 record(s) not committed): interrupted" in stderr
    assert "mqcli: input from line 4 on was not sent" in stderr
    assert "1 transaction(s) committed, 1 aborted" in stderr
    assert _values(cli, topic, "read_committed") == ["a1", "a2", "a3"]
    assert _values(cli, topic, "read_uncommitted") == ["a1", "a2", "a3", "b4", "b5"]
    # The group consumer and move honour --isolation too.
    r = cli("kafka", "group-consume", "-g", unique_name("g"), topic, "-e", "--isolation", "read_committed")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == ["a1", "a2", "a3"]
    r = cli("copy", f"kafka:{topic}", "-", "-e", "--isolation", "read_committed")
    assert r.exit_code == 0, r.stderr
    assert [json.loads(line)["value"] for line in r.stdout.splitlines()] == ["a1", "a2", "a3"]


def test_sigterm_aborts_and_exits_143(cli: Callable[..., Run], topic: str, unique_name: Callable[[str], str]) -> None:
    proc = _producer(topic, unique_name("tid"))
    _feed(proc, "x1", "x2")
    _wait_for(lambda: len(_values(cli, topic, "read_uncommitted")) == 2, "two records")
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()
    assert "mqcli: input from line 1 on was not sent" in err.decode()
    assert _values(cli, topic, "read_committed") == []


def test_kill9_mid_transaction_is_aborted_by_the_broker(
    cli: Callable[..., Run], topic: str, unique_name: Callable[[str], str]
) -> None:
    """A producer killed with SIGKILL cannot abort: the broker does, after the
    transaction timeout (3 s here, through the profile's producer settings);
    nothing of it is ever visible to read_committed."""
    env = {"MQCLI_KAFKA_PRODUCER_TRANSACTION_TIMEOUT": "3s"}
    proc = _producer(topic, unique_name("tid"), "--transaction-size", "2", env=env)
    _feed(proc, "c1", "c2", "k3")
    _wait_for(lambda: len(_values(cli, topic, "read_uncommitted")) == 3, "three records")
    proc.kill()
    proc.communicate(timeout=30)
    assert _values(cli, topic, "read_committed") == ["c1", "c2"]
    # Another producer (another id: the same id would abort it at once) commits
    # after it.  read_committed reaches that record only once the broker aborted
    # the killed one (until then the last stable offset stays before k3).
    r = cli("kafka", "produce", topic, "--transactional-id", unique_name("tid2"), "after", env=env)
    assert r.exit_code == 0, r.stderr
    _wait_for(lambda: _values(cli, topic, "read_committed") == ["c1", "c2", "after"], "the broker's abort", 60)
    assert _values(cli, topic, "read_uncommitted") == ["c1", "c2", "k3", "after"]


def test_fenced_producer_exits_1(cli: Callable[..., Run], topic: str, unique_name: Callable[[str], str]) -> None:
    tid = unique_name("tid")
    first = _producer(topic, tid)
    _feed(first, "old1")
    _wait_for(lambda: len(_values(cli, topic, "read_uncommitted")) == 1, "the first producer's record")
    # A second producer with the same id takes over (and aborts what the first left open).
    r = cli("kafka", "produce", topic, "--transactional-id", tid, "new1")
    assert r.exit_code == 0, r.stderr
    _out, err = first.communicate(b"old2\n", timeout=60)
    stderr = err.decode()
    assert first.returncode == 1, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("mqcli: error:")]
    assert len(errors) == 1, stderr
    assert f"fenced: another producer took over transactional id {tid!r}" in errors[0]
    assert "Traceback" not in stderr
    assert _values(cli, topic, "read_committed") == ["new1"]


def test_kafka_console_consumer_sees_exactly_what_was_committed(
    cli: Callable[..., Run], topic: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    from tests.bench.tools import Tools

    r = cli(
        "kafka",
        "produce",
        topic,
        "--transactional-id",
        unique_name("tid"),
        "--transaction-size",
        "2",
        input="k1\nk2\nk3\n",
    )
    assert r.exit_code == 0, r.stderr
    # An aborted transaction after them, whose record reached the broker.
    proc = _producer(topic, unique_name("tid"))
    _feed(proc, "gone1")
    _wait_for(lambda: len(_values(cli, topic, "read_uncommitted")) == 4, "the aborted transaction's record")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 143

    def console(isolation: str) -> list[str]:
        tool = Tools(workdir=tmp_path).kafka_tool("org.apache.kafka.tools.consumer.ConsoleConsumer")
        done = subprocess.run(
            [*tool, "--bootstrap-server", BOOTSTRAP, "--topic", topic, "--from-beginning",
             "--isolation-level", isolation, "--timeout-ms", "8000"],
            capture_output=True, timeout=120,
        )  # fmt: skip
        return done.stdout.decode().splitlines()

    assert console("read_committed") == ["k1", "k2", "k3"]
    assert console("read_uncommitted") == ["k1", "k2", "k3", "gone1"]


def test_transaction_options_are_checked(cli: Callable[..., Run], topic: str) -> None:
    cases: list[tuple[tuple[str, ...], str]] = [
        (("--transaction-size", "2"), "apply only with --transactional-id"),
        (("--transactional-id", "x", "--sync"), "--sync does not apply"),
        (("--transactional-id", "x", "--acks", "1"), "need --acks all"),
        (("--transactional-id", "x", "--transaction-size", "2", "--transaction-time", "1s"), "exclude each other"),
        (("--transactional-id", "x", "--transaction-time", "0s"), "invalid --transaction-time"),
    ]
    for args, text in cases:
        r = cli("kafka", "produce", topic, *args, "v")
        assert r.exit_code == 2, (args, r.stderr)
        assert text in r.stderr, (args, r.stderr)
    r = cli("kafka", "consume", topic, "-e", "--isolation", "dirty")
    assert r.exit_code == 2 and "invalid --isolation" in r.stderr


def test_transaction_time_cuts_transactions(
    cli: Callable[..., Run], topic: str, unique_name: Callable[[str], str]
) -> None:
    """A live feed: the open transaction is committed on time while the input is quiet."""
    proc = _producer(topic, unique_name("tid"), "--transaction-time", "1s")
    _feed(proc, "t1", "t2")
    _wait_for(lambda: _values(cli, topic, "read_committed") == ["t1", "t2"], "the first transaction, on time")
    _out, err = proc.communicate(b"t3\n", timeout=60)
    assert proc.returncode == 0, err.decode()
    assert "2 transaction(s) committed" in err.decode()
    assert _values(cli, topic, "read_committed") == ["t1", "t2", "t3"]
