"""`mqcli rabbit subscribe`: fanout, direct and topic routing end to end."""

from __future__ import annotations

import json


def _sub(start_mqcli, exchange: str, *args: str):
    proc = start_mqcli("rabbit", "subscribe", "--exchange", exchange, *args)
    proc.wait_stderr("subscribed")
    return proc


def test_fanout_reaches_two_subscribers(cli, exchange, start_mqcli):
    x = exchange("fanout")
    s1 = _sub(start_mqcli, x, "-c", "3", "-t", "20s")
    s2 = _sub(start_mqcli, x, "-c", "3", "-t", "20s")
    r = cli("rabbit", "publish", "--exchange", x, "m1", "m2", "m3")
    assert r.exit_code == 0, r.stderr
    for s in (s1, s2):
        rc, out, err = s.finish()
        assert rc == 0, err
        assert out == b"m1\nm2\nm3\n"


def test_direct_routing(cli, exchange, start_mqcli):
    x = exchange("direct")
    errors = _sub(start_mqcli, x, "--key", "error", "--key", "warning", "-t", "3s", "-o", "json")
    info = _sub(start_mqcli, x, "--key", "info", "--key", "debug", "-t", "3s")
    for key, body in (("error", "disk full"), ("info", "started"), ("warning", "slow"), ("error", "gone")):
        assert cli("rabbit", "publish", "--exchange", x, "--routing-key", key, body).exit_code == 0
    rc, out, err = errors.finish()
    assert rc == 5, err  # idle timeout after the last message
    got = [(o["routing_key"], o["value"]) for o in map(json.loads, out.splitlines())]
    assert got == [("error", "disk full"), ("warning", "slow"), ("error", "gone")]
    rc, out, _ = info.finish()
    assert out == b"started\n"


def test_direct_no_subscriber_for_info(cli, exchange, start_mqcli):
    # "error and warning to one subscriber, info to none": info is dropped, not delivered anywhere.
    x = exchange("direct")
    s = _sub(start_mqcli, x, "--key", "error", "--key", "warning", "-t", "2s")
    assert cli("rabbit", "publish", "--exchange", x, "--routing-key", "info", "hello").exit_code == 0
    assert cli("rabbit", "publish", "--exchange", x, "--routing-key", "info", "--mandatory", "hello").exit_code == 1
    rc, out, _ = s.finish()
    assert (rc, out) == (5, b"")


def test_topic_wildcards(cli, exchange, start_mqcli):
    x = exchange("topic")
    users = _sub(start_mqcli, x, "--type", "topic", "--key", "user.*", "-t", "3s")
    created = _sub(start_mqcli, x, "--type", "topic", "--key", "*.created", "-t", "3s")
    everything = _sub(start_mqcli, x, "--type", "topic", "--key", "#", "-t", "3s")
    keys = ["user.created", "user.deleted", "order.created", "user.profile.updated", "audit"]
    for k in keys:
        assert cli("rabbit", "publish", "--exchange", x, "--routing-key", k, k).exit_code == 0
    assert users.finish()[1].split() == [b"user.created", b"user.deleted"]
    assert created.finish()[1].split() == [b"user.created", b"order.created"]
    assert everything.finish()[1].decode().split() == keys


def test_declare_and_durable_named_subscription(cli, amqp, unique_name, start_mqcli):
    x = unique_name("events")
    q = unique_name("sub")
    amqp.exchanges.append(x)
    amqp.queues.append(q)
    r = cli("rabbit", "subscribe", "--exchange", x, "--type", "topic", "--declare", "--queue", q, "--key", "a.#", "-e")
    assert r.exit_code == 0, r.stderr
    # Nobody listens now, but the named queue keeps collecting.
    assert cli("rabbit", "publish", "--exchange", x, "--routing-key", "a.b", "kept").exit_code == 0
    assert amqp.wait_count(q, 1) == 1
    r = cli("rabbit", "subscribe", "--exchange", x, "--queue", q, "--key", "a.#", "-c", "1", "-t", "5s")
    assert (r.exit_code, r.stdout) == (0, "kept\n")


def test_missing_exchange_exit_6(cli, unique_name):
    r = cli("rabbit", "subscribe", "--exchange", unique_name("nox"), "-t", "1s")
    assert r.exit_code == 6


def test_headers_exchange(cli, exchange, start_mqcli):
    x = exchange("headers")
    s = _sub(start_mqcli, x, "--type", "headers", "--bind-header", "format=pdf", "--bind-header", "size=10", "-t", "3s")
    assert cli("rabbit", "publish", "--exchange", x, "-H", "format=pdf", "-H", "size=10", "yes").exit_code == 0
    assert cli("rabbit", "publish", "--exchange", x, "-H", "format=pdf", "no").exit_code == 0
    assert s.finish()[1] == b"yes\n"


def test_subscribe_exec_and_match(cli, exchange, start_mqcli, tmp_path):
    x = exchange("fanout")
    out = tmp_path / "out"
    s = _sub(
        start_mqcli,
        x,
        "--match",
        "keep",
        "--exec",
        f'cat >> {out}; echo " $MQCLI_EXCHANGE" >> {out}',
        "-c",
        "2",
        "-t",
        "20s",
    )
    assert cli("rabbit", "publish", "--exchange", x, "keep 1", "drop", "keep 2").exit_code == 0
    rc, _out, err = s.finish()
    assert rc == 0, err
    assert out.read_text() == f"keep 1 {x}\nkeep 2 {x}\n"


def test_count_across_ack_batches_leaves_the_rest_in_a_named_queue(cli, amqp, exchange, unique_name, start_mqcli):
    # Written messages are acknowledged in batches; --count still takes exactly N.
    x = exchange("fanout")
    q = unique_name("sub")
    amqp.queues.append(q)
    s = _sub(start_mqcli, x, "--queue", q, "-c", "120", "-t", "20s")
    data = "".join(f"{i}\n" for i in range(150)).encode()
    assert cli("rabbit", "publish", "--exchange", x, input=data).exit_code == 0
    rc, out, err = s.finish()
    assert rc == 0, err
    assert out.decode().split() == [str(i) for i in range(120)]
    assert sorted(map(int, amqp.bodies(q))) == list(range(120, 150))
