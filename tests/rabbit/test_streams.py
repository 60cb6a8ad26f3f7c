"""Stream queues: `rabbit consume STREAM --offset …` on both stream engines (AMQP 0.9.1
and the native stream protocol, rstream on the rabbitmq_stream plugin's port 5552) and
`declare queue --type stream --max-age/--max-length-bytes`, against the real broker."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest

from tests.conftest import Run


@pytest.fixture
def stream(amqp: Any, unique_name: Callable[[str], str]) -> Callable[..., str]:
    """stream(n) -> a fresh stream queue holding the values 1..n (confirmed)."""

    def make(n: int = 0) -> str:
        name = amqp.queue(unique_name("s"), **{"x-queue-type": "stream"})
        ch = amqp.conn.channel()
        ch.confirm_delivery()
        for i in range(1, n + 1):
            ch.basic_publish("", name, str(i).encode())
        ch.close()
        return name

    return make


@pytest.fixture(params=["amqp", "native"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each stream read test on both engines, chosen as a user would: $MQCLI_RABBIT_STREAM_ENGINE
    (in-process runs and subprocesses alike)."""
    monkeypatch.setenv("MQCLI_RABBIT_STREAM_ENGINE", request.param)
    return str(request.param)


def _lines(r: Run) -> list[str]:
    assert r.exit_code == 0, r.stderr
    return r.stdout.splitlines()


def test_offsets(cli: Callable[..., Run], stream: Callable[..., str], engine: str) -> None:
    s = stream(20)
    everything = [str(i) for i in range(1, 21)]
    assert _lines(cli("rabbit", "consume", s, "--offset", "first", "-e")) == everything
    # The stream keeps its messages: a second read gets them all again.
    assert _lines(cli("rabbit", "consume", s, "--offset", "first", "--exit-at-end")) == everything
    assert _lines(cli("rabbit", "consume", s, "--offset", "15", "-e")) == everything[15:]
    assert _lines(cli("rabbit", "consume", s, "--offset", "-1h", "-e")) == everything
    last = _lines(cli("rabbit", "consume", s, "--offset", "last", "-e"))
    assert last and last == everything[-len(last) :]  # the last chunk
    started = time.monotonic()
    assert _lines(cli("rabbit", "consume", s, "--offset", "next", "-e")) == []
    assert _lines(cli("rabbit", "consume", s, "--offset=+1h", "-e")) == []
    assert time.monotonic() - started < 15
    assert _lines(cli("rabbit", "consume", s, "--offset", "1000", "-e")) == []
    assert _lines(cli("rabbit", "consume", s, "--offset", "first", "-c", "3")) == ["1", "2", "3"]
    assert _lines(cli("rabbit", "consume", s, "--offset", "first", "-e", "--match-value", "^1")) == [
        "1",
        *[str(i) for i in range(10, 20)],
    ]


def test_json_carries_the_stream_offset(cli: Callable[..., Run], stream: Callable[..., str], engine: str) -> None:
    s = stream(5)
    records = [json.loads(line) for line in _lines(cli("rabbit", "consume", s, "--offset", "2", "-e", "-o", "json"))]
    assert [(r["offset"], r["value"]) for r in records] == [(2, "3"), (3, "4"), (4, "5")]
    assert all(r["queue"] == s for r in records)
    assert _lines(cli("rabbit", "consume", s, "--offset", "3", "-e", "-f", "{offset}:{value}")) == ["3:4", "4:5"]


def test_exit_at_end_stops_at_the_end_as_it_was_at_the_start(
    cli: Callable[..., Run], stream: Callable[..., str], amqp: Any, start_mqcli: Callable[..., Any], engine: str
) -> None:
    s = stream(4)
    # A slow reader (--exec): messages published while it runs are past its end.
    proc = start_mqcli(
        "rabbit", "consume", s, "--offset", "first", "-e", "--exec", "cat; echo; echo handled >&2; sleep 0.5"
    )
    # Once the first message is handled the run knows where the stream ended
    # (a fixed sleep raced with a slow start on a loaded machine).
    proc.wait_stderr("handled")
    ch = amqp.conn.channel()
    ch.confirm_delivery()
    for body in ("late5", "late6"):
        ch.basic_publish("", s, body.encode())
    code, out, err = proc.finish(timeout=60)
    assert code == 0, err
    assert out.decode().split() == ["1", "2", "3", "4"]
    # The late ones are there for the next reader.
    assert _lines(cli("rabbit", "consume", s, "--offset", "4", "-e")) == ["late5", "late6"]


def test_empty_stream_ends_at_once(cli: Callable[..., Run], stream: Callable[..., str], engine: str) -> None:
    s = stream(0)
    assert _lines(cli("rabbit", "consume", s, "--offset", "first", "-e")) == []


def test_stream_usage_errors(
    cli: Callable[..., Run], stream: Callable[..., str], queue: Callable[..., str], engine: str
) -> None:
    q = queue()
    r = cli("rabbit", "consume", q, "--offset", "first", "-e")
    assert r.exit_code == 2 and f"queue '{q}' is not a stream" in r.stderr
    s = stream(1)
    r = cli("rabbit", "consume", s, "--offset", "first", "--exec", "true", "--on-error", "requeue")
    assert r.exit_code == 2 and "do not apply to a stream" in r.stderr
    r = cli("rabbit", "consume", s, "--offset", "soon")
    assert r.exit_code == 2 and "invalid --offset 'soon'" in r.stderr


def test_declare_stream_retention(cli: Callable[..., Run], amqp: Any, unique_name: Callable[[str], str]) -> None:
    s = unique_name("s")
    amqp.queues.append(s)
    r = cli("rabbit", "declare", "queue", s, "--type", "stream", "--max-age", "1h", "--max-length-bytes", "5000000")
    assert r.exit_code == 0, r.stderr
    args = {"x-queue-type": "stream", "x-max-age": "3600s", "x-max-length-bytes": 5000000}
    # The same arguments: accepted (equivalent); another max age: refused.
    amqp.channel().queue_declare(s, durable=True, arguments=args)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        amqp.channel().queue_declare(s, durable=True, arguments={**args, "x-max-age": "7200s"})
    assert refused.value.reply_code == 406
    for args_, text in [
        (("--max-age", "1h"), "--max-age applies to --type stream"),
        (("--type", "stream", "--overflow", "reject-publish"), "does not apply to a stream"),
    ]:
        r = cli("rabbit", "declare", "queue", unique_name("s"), *args_)
        assert r.exit_code == 2 and text in r.stderr, r.stderr


def _amqp_local_port(pid: int) -> int:
    """The local port of process `pid`'s connection to RabbitMQ (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if inode in inodes and remote.endswith(":1628"):  # 5672
            return int(local.split(":")[1], 16)
    raise AssertionError(f"process {pid} has no connection to port 5672")


def _wait_for(find: Callable[[], int], timeout: float = 20) -> int:
    """find() once it stops raising AssertionError (within `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return find()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_reconnect_resumes_after_the_last_offset(
    cli: Callable[..., Run], stream: Callable[..., str], start_mqcli: Callable[..., Any]
) -> None:
    s = stream(12)
    proc = start_mqcli(
        "rabbit", "consume", s, "--offset", "first", "-e", "--reconnect", "3", "--exec", "cat; echo; sleep 0.7"
    )
    # Connected, and a message or two in (the management API may take a moment to know
    # the connection; start-up on a loaded machine may take longer than a fixed sleep).
    port = _wait_for(lambda: _amqp_local_port(proc.p.pid))
    time.sleep(1.0)
    name = f"127.0.0.1:{port} -> 127.0.0.1:5672"
    deadline = time.monotonic() + 15
    while (r := cli("rabbit", "connections", "close", name)).exit_code != 0:
        assert time.monotonic() < deadline, r.stderr
        time.sleep(0.3)
    code, out, err = proc.finish(timeout=60)
    assert code == 0, err
    assert "reconnect" in err
    # Each message once: the read resumed after the last offset it had seen.
    assert out.decode().split() == [str(i) for i in range(1, 13)]


def _local_ports(pid: int, remote_port: int) -> list[int]:
    """The local ports of process `pid`'s connections to `remote_port` on loopback (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if inode in inodes and remote.endswith(f":{remote_port:04X}"):
            ports.append(int(local.split(":")[1], 16))
    return ports


def test_native_reconnect_resumes_after_the_last_offset(
    stream: Callable[..., str], start_mqcli: Callable[..., Any], amqp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MQCLI_RABBIT_STREAM_ENGINE", "native")
    s = stream(6)
    proc = start_mqcli(
        "rabbit", "consume", s, "--offset", "first", "-c", "12", "--reconnect", "3", "--exec", "cat; echo"
    )
    # The stream connections (5552), once it read what there is: aborted under the
    # client's feet (ss -K), as a broken network would.
    deadline = time.monotonic() + 20
    while not _local_ports(proc.p.pid, 5552):
        assert time.monotonic() < deadline, "no connection to the stream port"
        time.sleep(0.2)
    time.sleep(1.5)
    for port in _local_ports(proc.p.pid, 5552):
        killed = subprocess.run(
            ["ss", "-K", "dst", "127.0.0.1", "dport", "=", "5552", "sport", "=", str(port)], capture_output=True
        )
        assert killed.returncode == 0, killed.stderr
    # Published while it has no connection: read after the reconnect.
    ch = amqp.conn.channel()
    ch.confirm_delivery()
    for i in range(7, 13):
        ch.basic_publish("", s, str(i).encode())
    code, out, err = proc.finish(timeout=60)
    assert code == 0, err
    assert "reconnected" in err
    # Each message once: the read resumed after the last offset it had seen.
    assert out.decode().split() == [str(i) for i in range(1, 13)]


def test_native_publish_reads_back_the_same_on_both_engines(
    cli: Callable[..., Run], stream: Callable[..., str], queue: Callable[..., str], unique_name: Callable[[str], str]
) -> None:
    s = stream(0)
    r = cli(
        "rabbit",
        "publish",
        "--queue",
        s,
        "--stream-engine",
        "native",
        "-H",
        "n=1",
        "--type",
        "t",
        "a",
        "b",
    )
    assert r.exit_code == 0, r.stderr
    assert "confirmed 2, failed 0" in r.stderr
    # What `consume -o json` wrote, published again natively, reads back the same (but its offset).
    first = _lines(cli("rabbit", "consume", s, "--offset", "first", "-e", "-o", "json", "--stream-engine", "amqp"))
    r = cli(
        "rabbit", "publish", "--queue", s, "--stream-engine", "native", "-i", "jsonl", input="\n".join(first) + "\n"
    )
    assert r.exit_code == 0, r.stderr
    for engine in ("amqp", "native"):
        records = [
            json.loads(line)
            for line in _lines(
                cli("rabbit", "consume", s, "--offset", "first", "-e", "-o", "json", "--stream-engine", engine)
            )
        ]
        assert [r["offset"] for r in records] == [0, 1, 2, 3]
        for r_ in records:
            r_.pop("offset")
            r_["headers"].pop("x-stream-offset")
        assert records[:2] == records[2:]
        assert [(r_["value"], r_["headers"], r_["properties"]["type"]) for r_ in records[:2]] == [
            ("a", {"n": 1}, "t"),
            ("b", {"n": 1}, "t"),
        ]
    # Not a stream: exit 2; no such queue: 6, as over AMQP; nothing is said about input lines.
    q = queue()
    r = cli("rabbit", "publish", "--queue", q, "--stream-engine", "native", "x")
    assert r.exit_code == 2 and f"queue '{q}' is not a stream" in r.stderr and "not sent" not in r.stderr
    r = cli("rabbit", "publish", "--queue", unique_name("missing"), "--stream-engine", "native", "x")
    assert r.exit_code == 6 and "no queue" in r.stderr, r.stderr
    # An invalid record: what came before it is confirmed, then exit 7 naming its line.
    r = cli(
        "rabbit",
        "publish",
        "--queue",
        s,
        "--stream-engine",
        "native",
        "-i",
        "jsonl",
        input='{"value": "ok"}\n{"value": "bad", "properties": {"priority": 300}}\n',
    )
    assert r.exit_code == 7 and "line 2" in r.stderr and "confirmed 1," in r.stderr, r.stderr
    r = cli("rabbit", "publish", "--exchange", "amq.direct", "--stream-engine", "native", "x")
    assert r.exit_code == 2 and "--stream-engine native needs --queue STREAM" in r.stderr


def test_native_from_and_until_use_the_chunks_times(
    cli: Callable[..., Run], stream: Callable[..., str], amqp: Any
) -> None:
    s = stream(3)
    time.sleep(1.2)
    middle = int(time.time() * 1000)
    time.sleep(0.3)
    ch = amqp.conn.channel()
    ch.confirm_delivery()
    for body in ("4", "5"):
        ch.basic_publish("", s, body.encode())
    time.sleep(1.2)
    later = int(time.time() * 1000)
    time.sleep(0.3)
    ch.basic_publish("", s, b"6")
    native = ("--stream-engine", "native")
    # --from TIME to the millisecond: the chunks written at or after it.
    assert _lines(cli("rabbit", "consume", s, "--from", str(middle), "-e", *native)) == ["4", "5", "6"]
    # --until TIME: up to the last chunk written before it (no -e: it ends there by itself).
    assert _lines(cli("rabbit", "consume", s, "--offset", "first", "--until", str(middle), *native)) == ["1", "2", "3"]
    assert _lines(cli("rabbit", "consume", s, "--from", str(middle), "--until", str(later), *native)) == ["4", "5"]
    # A TIME still to come: everything there is, then it ends once TIME has passed.
    soon = str(int(time.time() * 1000) + 1500)
    assert _lines(cli("rabbit", "consume", s, "--offset", "4", "--until", soon, *native)) == ["5", "6"]
    # Over AMQP: --from is --offset TIME (to the second); --until needs the native engine.
    assert _lines(cli("rabbit", "consume", s, "--from", "-1h", "-e", "--stream-engine", "amqp"))[-1] == "6"
    r = cli("rabbit", "consume", s, "--offset", "first", "--until", "now", "--stream-engine", "amqp")
    assert r.exit_code == 2 and "--until on a stream needs --stream-engine native" in r.stderr
