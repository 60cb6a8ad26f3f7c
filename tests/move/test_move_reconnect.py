"""`mqcli move --reconnect N` against the real broker: a RabbitMQ connection
closed from the broker side (`mqcli rabbit connections close`, the
management API) mid-move, on the source, the target or both, is opened
again and the move goes on: nothing lost, the source drained, duplicates
no more than the summary counts.  The shared broker is never restarted."""

from __future__ import annotations

import collections
import json
import os
import time
from collections.abc import Callable

import pika
import pytest

from tests.conftest import Run
from tests.rabbit.conftest import Amqp, Proc

AMQP_PORT = 5672


def amqp_connections(pid: int) -> list[str]:
    """The management API names ("127.0.0.1:PORT -> 127.0.0.1:5672") of the
    AMQP connections process `pid` holds, oldest socket first (lowest fd)."""
    inodes: dict[str, int] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes[link[8:-1]] = int(fd)
    found: list[tuple[int, str]] = []
    with open(f"/proc/{pid}/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            local, remote, state, inode = parts[1], parts[2], parts[3], parts[9]
            if inode in inodes and int(remote.split(":")[1], 16) == AMQP_PORT and state == "01":  # ESTABLISHED
                port = int(local.split(":")[1], 16)
                found.append((inodes[inode], f"127.0.0.1:{port} -> 127.0.0.1:{AMQP_PORT}"))
    return [name for _fd, name in sorted(found)]


def close(cli: Callable[..., Run], name: str, reason: str) -> None:
    """Close connection `name` from the broker side (`mqcli rabbit connections
    close`); the management API may know a fresh connection a moment later."""
    deadline = time.monotonic() + 15
    while True:
        r = cli("rabbit", "connections", "close", name, "--reason", reason)
        if r.exit_code != 6 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert r.exit_code == 0, r.stderr


def _fill(amqp: Amqp, q: str, n: int) -> None:
    ch = amqp.conn.channel()
    ch.confirm_delivery()
    for i in range(n):
        ch.basic_publish("", q, f"m{i}".encode(), pika.BasicProperties(delivery_mode=2))
    ch.close()


@pytest.mark.parametrize("side", ["target", "source", "both"])
def test_a_connection_closed_by_the_broker_mid_move_is_reopened(
    side: str, cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], start_mqcli: Callable[..., Proc]
) -> None:
    src, dst = queue(), queue()
    n = 2000  # 10s at --rate 200/s: the management API knows a connection only after ~5s (its stats interval)
    _fill(amqp, src, n)
    mover = start_mqcli(
        "move", f"rabbit:{src}", f"rabbit:{dst}", "-e", "--rate", "200/s", "--reconnect", "5", "-o", "json"
    )
    deadline = time.monotonic() + 30
    while amqp.count(dst) < 200:
        assert mover.p.poll() is None, "".join(mover.err_lines)
        assert time.monotonic() < deadline, "the move did not start"
        time.sleep(0.05)
    conns = amqp_connections(mover.p.pid)
    assert len(conns) == 2, conns  # the target's (opened first), then the source's
    victims = {"target": conns[:1], "source": conns[1:], "both": conns}[side]
    for name in victims:
        close(cli, name, "test: broker-side close")
    code, out, err = mover.finish(timeout=120)
    assert code == 0, err
    summary = json.loads(out)
    assert "test: broker-side close" in err and "reconnected to RabbitMQ" in err
    assert summary["reconnects"] >= len(victims), summary
    assert amqp.count(src) == 0
    assert amqp.wait_count(dst, n) >= n
    got = collections.Counter(amqp.bodies(dst))
    assert set(got) == {f"m{i}" for i in range(n)}  # none lost
    duplicates = sum(c - 1 for c in got.values())
    assert duplicates <= summary["resent"] + summary["redelivered"], (duplicates, summary)
    assert summary["moved"] >= n


def test_without_reconnect_a_closed_connection_is_exit_4_and_loses_nothing(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], start_mqcli: Callable[..., Proc]
) -> None:
    src, dst = queue(), queue()
    n = 2000
    _fill(amqp, src, n)
    mover = start_mqcli("move", f"rabbit:{src}", f"rabbit:{dst}", "-e", "--rate", "200/s")
    deadline = time.monotonic() + 30
    while amqp.count(dst) < 200:
        assert mover.p.poll() is None, "".join(mover.err_lines)
        assert time.monotonic() < deadline, "the move did not start"
        time.sleep(0.05)
    conns = amqp_connections(mover.p.pid)
    close(cli, conns[-1], "test: broker-side close")  # the source's
    code, _out, err = mover.finish(timeout=60)
    assert code == 4, err
    assert amqp.wait_count(src, 1) > 0
    # Everything is in one of the two queues (at least once: the last batch may be in both).
    left = set(amqp.bodies(src))
    moved = set(amqp.bodies(dst))
    assert left | moved == {f"m{i}" for i in range(n)}


def test_a_stream_copy_resumes_after_its_connection_was_closed(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], start_mqcli: Callable[..., Proc]
) -> None:
    src, dst = queue(**{"x-queue-type": "stream"}), queue()
    n = 2000
    _fill(amqp, src, n)
    mover = start_mqcli(
        "copy", f"rabbit:{src}", f"rabbit:{dst}", "-e", "--offset", "first", "--rate", "200/s", "--reconnect", "5",
        "-o", "json",
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while amqp.count(dst) < 200:
        assert mover.p.poll() is None, "".join(mover.err_lines)
        assert time.monotonic() < deadline, "the copy did not start"
        time.sleep(0.05)
    close(cli, amqp_connections(mover.p.pid)[-1], "test: broker-side close")  # the source's
    code, out, err = mover.finish(timeout=120)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["reconnects"] >= 1 and summary["redelivered"] == 0, summary
    assert amqp.wait_count(dst, n) >= n
    assert amqp.bodies(dst) == [f"m{i}" for i in range(n)]  # each once, in order: resumed after the last offset read
