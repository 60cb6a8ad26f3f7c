"""`mqcli rabbit queue inspect|purge|delete`."""

from __future__ import annotations

import json


def test_inspect(cli, amqp, queue):
    q = queue()
    amqp.publish(q, "a")
    amqp.publish(q, "b")
    r = cli("rabbit", "queue", "inspect", q, "--output", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {"queue": q, "messages": 2, "consumers": 0}
    r = cli("rabbit", "queue", "inspect", q)
    assert r.stdout.splitlines() == ["QUEUE\tMESSAGES\tCONSUMERS", f"{q}\t2\t0"]


def test_inspect_missing_exit_6(cli, unique_name):
    r = cli("rabbit", "queue", "inspect", unique_name("none"))
    assert r.exit_code == 6
    assert "no queue" in r.stderr


def test_purge(cli, amqp, queue):
    q = queue()
    for i in range(3):
        amqp.publish(q, str(i))
    r = cli("rabbit", "queue", "purge", q)
    assert r.exit_code == 0
    assert "purged 3" in r.stderr
    assert amqp.count(q) == 0


def test_delete_if_empty_and_if_unused(cli, amqp, queue):
    q = queue()
    amqp.publish(q, "x")
    r = cli("rabbit", "queue", "delete", q, "--if-empty")
    assert r.exit_code == 1
    assert "not empty" in r.stderr
    assert amqp.count(q) == 1
    amqp.channel().basic_consume(q, lambda *a: None)
    r = cli("rabbit", "queue", "delete", q, "--if-unused")
    assert r.exit_code == 1
    amqp.ch.close()
    r = cli("rabbit", "queue", "delete", q)
    assert r.exit_code == 0, r.stderr
    assert cli("rabbit", "queue", "delete", q).exit_code == 6
