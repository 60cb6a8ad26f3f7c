"""Stream queues over AMQP 0.9.1: `rabbit consume STREAM --offset …` and
`declare queue --type stream --max-age/--max-length-bytes`, against the real broker."""

from __future__ import annotations

import json
import os
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


def _lines(r: Run) -> list[str]:
    assert r.exit_code == 0, r.stderr
    return r.stdout.splitlines()


def test_offsets(cli: Callable[..., Run], stream: Callable[..., str]) -> None:
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


def test_json_carries_the_stream_offset(cli: Callable[..., Run], stream: Callable[..., str]) -> None:
    s = stream(5)
    records = [json.loads(line) for line in _lines(cli("rabbit", "consume", s, "--offset", "2", "-e", "-o", "json"))]
    assert [(r["offset"], r["value"]) for r in records] == [(2, "3"), (3, "4"), (4, "5")]
    assert all(r["queue"] == s for r in records)
    assert _lines(cli("rabbit", "consume", s, "--offset", "3", "-e", "-f", "{offset}:{value}")) == ["3:4", "4:5"]


def test_exit_at_end_stops_at_the_end_as_it_was_at_the_start(
    cli: Callable[..., Run], stream: Callable[..., str], amqp: Any, start_mqcli: Callable[..., Any]
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


def test_empty_stream_ends_at_once(cli: Callable[..., Run], stream: Callable[..., str]) -> None:
    s = stream(0)
    assert _lines(cli("rabbit", "consume", s, "--offset", "first", "-e")) == []


def test_stream_usage_errors(cli: Callable[..., Run], stream: Callable[..., str], queue: Callable[..., str]) -> None:
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


def test_reconnect_resumes_after_the_last_offset(
    cli: Callable[..., Run], stream: Callable[..., str], start_mqcli: Callable[..., Any]
) -> None:
    s = stream(12)
    proc = start_mqcli(
        "rabbit", "consume", s, "--offset", "first", "-e", "--reconnect", "3", "--exec", "cat; echo; sleep 0.7"
    )
    time.sleep(1.5)  # a message or two in (the management API may take a moment to know the connection)
    port = _amqp_local_port(proc.p.pid)
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
