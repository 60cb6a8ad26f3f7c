"""`mqcli rabbit declare queue|exchange|binding`."""

from __future__ import annotations

import json

import pika
import pytest


def test_declare_queue_with_arguments(cli, amqp, unique_name):
    q = unique_name("decl")
    amqp.queues.append(q)
    r = cli(
        "rabbit",
        "declare",
        "queue",
        q,
        "--ttl",
        "30s",
        "--dlx",
        "",
        "--dlk",
        "dead",
        "--max-length",
        "10",
        "--output",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {"queue": q, "messages": 0, "consumers": 0}
    # Same arguments again: fine; the broker confirms they are these.
    amqp.channel().queue_declare(
        q,
        durable=True,
        arguments={
            "x-message-ttl": 30000,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "dead",
            "x-max-length": 10,
        },
    )
    assert (
        cli(
            "rabbit", "declare", "queue", q, "--ttl", "30s", "--dlx", "", "--dlk", "dead", "--max-length", "10"
        ).exit_code
        == 0
    )
    # Different arguments: a clear refusal, not a traceback.
    r = cli("rabbit", "declare", "queue", q, "--ttl", "10s")
    assert r.exit_code == 1
    assert "PRECONDITION_FAILED" in r.stderr


@pytest.mark.parametrize("qtype", ["quorum", "stream"])
def test_declare_quorum_and_stream(cli, amqp, unique_name, qtype):
    q = unique_name(qtype)
    amqp.queues.append(q)
    assert cli("rabbit", "declare", "queue", q, "--type", qtype).exit_code == 0
    amqp.channel().queue_declare(q, durable=True, arguments={"x-queue-type": qtype}, passive=False)
    assert cli("rabbit", "declare", "queue", q, "--type", qtype, "--auto-delete").exit_code == 2


def test_declare_exchange_and_binding(cli, amqp, unique_name, queue):
    x = unique_name("x")
    amqp.exchanges.append(x)
    q = queue()
    assert cli("rabbit", "declare", "exchange", x, "--type", "topic").exit_code == 0
    assert (
        cli("rabbit", "declare", "binding", "--exchange", x, "--queue", q, "--key", "a.*", "--key", "b.#").exit_code
        == 0
    )
    ch = amqp.channel()
    for key in ("a.1", "b.1.2", "c.1"):
        ch.basic_publish(x, key, key.encode(), pika.BasicProperties())
    assert amqp.wait_count(q, 2) == 2
    assert amqp.bodies(q) == ["a.1", "b.1.2"]


def test_exchange_to_exchange_binding(cli, amqp, exchange, queue):
    src, dst = exchange("fanout"), exchange("fanout")
    q = queue()
    amqp.channel().queue_bind(q, dst)
    assert cli("rabbit", "declare", "binding", "--exchange", src, "--to-exchange", dst).exit_code == 0
    assert cli("rabbit", "publish", "--exchange", src, "via").exit_code == 0
    assert amqp.wait_count(q, 1) == 1


def test_binding_to_missing_queue_exit_6(cli, exchange, unique_name):
    x = exchange()
    assert cli("rabbit", "declare", "binding", "--exchange", x, "--queue", unique_name("none")).exit_code == 6
