"""`mqcli move` / `mqcli copy` against the real brokers: what is moved is in
the target and gone from the source, what is refused stays in the source,
and a SIGTERM loses nothing."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from typing import Any

import pika

from tests.conftest import Run
from tests.kafka.conftest import committed, records
from tests.rabbit.conftest import Amqp, Proc


def _produce(cli: Callable[..., Run], topic: str, n: int, start: int = 0, *extra: str) -> None:
    lines = "".join(f"k{i}:v{i}\n" for i in range(start, start + n))
    r = cli("kafka", "produce", topic, "-K", ":", *extra, input=lines)
    assert r.exit_code == 0, r.stderr


def _group(source: str, target: str) -> str:
    return (
        "mqcli-move."
        + "".join(c if c.isalnum() or c in "._-" else "_" for c in source)
        + ".to."
        + "".join(c if c.isalnum() or c in "._-" else "_" for c in target)
    )


def test_kafka_to_kafka_move_then_a_second_run_moves_only_what_came_since(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], admin: Any, kafka_broker: str
) -> None:
    src, dst = make_topic(3), make_topic(1)
    _produce(cli, src, 30, 0, "-H", "origin=test")
    r = cli("move", f"kafka:{src}", f"kafka:{dst}", "-e")
    assert r.exit_code == 0, r.stderr
    group = _group(f"kafka:{src}", f"kafka:{dst}")
    assert f"consumer group {group}" in r.stderr
    assert "moved 30, failed 0" in r.stderr
    source = {(x.key, x.value, x.timestamp) for x in records(kafka_broker, src)}
    target = records(kafka_broker, dst)
    # Key, value and timestamp travel; so do the headers.
    assert {(x.key, x.value, x.timestamp) for x in target} == source
    assert all(list(x.headers) == [("origin", b"test")] for x in target)
    assert sum(committed(admin, group).values()) == 30

    _produce(cli, src, 5, 30)
    r = cli("move", f"kafka:{src}", f"kafka:{dst}", "-e")
    assert r.exit_code == 0, r.stderr
    assert "moved 5, failed 0" in r.stderr
    r = cli("move", f"kafka:{src}", f"kafka:{dst}", "-e")
    assert "moved 0, failed 0" in r.stderr
    assert sorted(x.value for x in records(kafka_broker, dst)) == sorted(f"v{i}".encode() for i in range(35))
    assert sum(committed(admin, group).values()) == 35


def test_kafka_copy_commits_no_offsets(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], admin: Any, kafka_broker: str
) -> None:
    src, dst = make_topic(2), make_topic(1)
    _produce(cli, src, 10)
    r = cli("copy", f"kafka:{src}", f"kafka:{dst}", "-e")
    assert r.exit_code == 0, r.stderr
    assert "copied 10, failed 0" in r.stderr and "consumer group" not in r.stderr
    assert len(records(kafka_broker, dst)) == 10
    groups = cli("kafka", "groups", "list", "-o", "json")
    assert groups.exit_code == 0 and src not in groups.stdout
    # A second copy copies everything again: nothing was taken from the source.
    r = cli("copy", f"kafka:{src}", f"kafka:{dst}", "-e")
    assert "copied 10" in r.stderr and len(records(kafka_broker, dst)) == 20


def test_rabbit_queue_to_kafka_move_keeps_headers_and_properties(
    cli: Callable[..., Run], kafka_engine: str, amqp: Amqp, queue: Callable[..., str], topic: str, kafka_broker: str
) -> None:
    q = queue()
    for i in range(20):
        amqp.publish(
            q,
            f"m{i}",
            headers={"tenant": "acme", "n": i},
            content_type="text/plain",
            message_id=f"id{i}",
            timestamp=1700000000 + i,
            delivery_mode=2,
        )
    r = cli("move", f"rabbit:{q}", f"kafka:{topic}", "-e")
    assert r.exit_code == 0, r.stderr
    assert "moved 20, failed 0" in r.stderr
    assert amqp.count(q) == 0
    got = records(kafka_broker, topic)
    assert [x.value for x in got] == [f"m{i}".encode() for i in range(20)]  # in queue order
    first = dict(got[0].headers)
    assert first["tenant"] == b"acme" and first["n"] == b"0"
    assert first["x-amqp-content_type"] == b"text/plain"
    assert first["x-amqp-message_id"] == b"id0"
    assert first["x-amqp-delivery_mode"] == b"2"
    assert [x.timestamp for x in got] == [(1700000000 + i) * 1000 for i in range(20)]


def _bind(amqp: Amqp, exchange: str, queue: str, key: str) -> None:
    amqp.channel().queue_bind(queue, exchange, routing_key=key)


def test_kafka_to_rabbit_exchange_with_routing_key(
    cli: Callable[..., Run],
    kafka_engine: str,
    topic: str,
    amqp: Amqp,
    queue: Callable[..., str],
    exchange: Callable[..., str],
    kafka_broker: str,
    admin: Any,
) -> None:
    x, q = exchange("direct"), queue()
    _bind(amqp, x, q, "audit")
    _produce(cli, topic, 10, 0, "-H", "h=1")
    r = cli("move", f"kafka:{topic}", f"rabbit:exchange/{x}/audit", "-e")
    assert r.exit_code == 0, r.stderr
    assert amqp.wait_count(q, 10) == 10
    got = amqp.get_all(q)
    assert [b for _m, _p, b in got] == [f"v{i}".encode() for i in range(10)]
    stamps = [r.timestamp for r in records(kafka_broker, topic)]
    for (method, props, _body), ms in zip(got, stamps, strict=True):
        assert method.routing_key == "audit" and method.exchange == x
        assert props.headers["h"] in ("1", b"1")
        assert props.timestamp == ms // 1000
    assert sum(committed(admin, _group(f"kafka:{topic}", f"rabbit:exchange/{x}/audit")).values()) == 10


def test_stdin_to_rabbit_and_back_to_stdout(cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str]) -> None:
    q = queue()
    sent = [
        {"value": f"v{i}", "headers": {"a": str(i)}, "properties": {"message_id": f"m{i}", "priority": 3}}
        for i in range(5)
    ] + [{"value": "AAEC/w==", "value_encoding": "base64"}]
    r = cli("move", "-", f"rabbit:{q}", "-o", "json", input="".join(json.dumps(o) + "\n" for o in sent))
    assert r.exit_code == 0, r.stderr
    assert "moved 6, failed 0" in r.stderr
    summary = json.loads(r.stdout)
    assert summary["moved"] == 6 and summary["failed"] == 0 and summary["target"] == f"rabbit:{q}"
    assert summary["source"] == "-" and summary["group"] is None and summary["bytes"] == 5 * 2 + 4
    assert amqp.wait_count(q, 6) == 6
    r = cli("move", f"rabbit:{q}", "-", "-e")
    assert r.exit_code == 0, r.stderr
    back = [json.loads(line) for line in r.stdout.splitlines()]
    assert [b["value"] for b in back] == [o["value"] for o in sent]
    assert back[-1]["value_encoding"] == "base64"
    for i, b in enumerate(back[:5]):
        assert b["headers"] == {"a": str(i)}
        assert b["properties"]["message_id"] == f"m{i}" and b["properties"]["priority"] == 3
        assert b["queue"] == q and b["routing_key"] == q
    assert amqp.count(q) == 0


def test_copy_from_a_classic_queue_is_refused(cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str]) -> None:
    q = queue()
    amqp.publish(q, "stay")
    r = cli("copy", f"rabbit:{q}", "-")
    assert r.exit_code == 2
    assert f"cannot copy from RabbitMQ queue '{q}'" in r.stderr
    assert amqp.wait_count(q, 1) == 1  # published without a confirm: it may land after the copy is refused


def test_bad_endpoint_is_a_usage_error(cli: Callable[..., Run]) -> None:
    r = cli("move", "kafka:orders", "redis:x")
    assert r.exit_code == 2
    assert "invalid endpoint 'redis:x'" in r.stderr


def test_missing_target_topic_takes_nothing_from_the_queue(
    cli: Callable[..., Run], kafka_engine: str, amqp: Amqp, queue: Callable[..., str], unique_name: Any
) -> None:
    q = queue()
    for i in range(3):
        amqp.publish(q, f"m{i}")
    missing = unique_name("missing")
    r = cli("move", f"rabbit:{q}", f"kafka:{missing}", "-e")
    assert r.exit_code == 6, r.stderr
    assert missing in r.stderr
    assert amqp.count(q) == 3


def test_unroutable_target_leaves_the_kafka_offset_uncommitted(
    cli: Callable[..., Run], kafka_engine: str, topic: str, admin: Any, exchange: Callable[..., str]
) -> None:
    x = exchange("direct")  # no binding: every message is returned unroutable
    _produce(cli, topic, 3)
    target = f"rabbit:exchange/{x}/nobody"
    r = cli("move", f"kafka:{topic}", target, "-e")
    assert r.exit_code == 1
    assert f"{topic}[0]@0" in r.stderr and "unroutable" in r.stderr
    assert committed(admin, _group(f"kafka:{topic}", target)) == {}
    # --on-error skip: counted, warned, committed.
    r = cli("move", f"kafka:{topic}", target, "-e", "--on-error", "skip")
    assert r.exit_code == 0, r.stderr
    assert "moved 0, failed 3" in r.stderr and f"skipped: {topic}[0]@0" in r.stderr
    assert committed(admin, _group(f"kafka:{topic}", target)) == {0: 3}


def test_unroutable_target_leaves_the_rabbit_message_in_the_queue(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], exchange: Callable[..., str]
) -> None:
    q, x = queue(), exchange("direct")
    for i in range(4):
        amqp.publish(q, f"m{i}", message_id=f"id{i}")
    r = cli("move", f"rabbit:{q}", f"rabbit:exchange/{x}/nobody", "-e")
    assert r.exit_code == 1
    assert f"queue '{q}' message #1 (message_id id0)" in r.stderr
    assert amqp.wait_count(q, 4) == 4
    assert sorted(amqp.bodies(q)) == [f"m{i}" for i in range(4)]


def _end_offsets(bootstrap: str, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic) or ()]
        return sum(c.end_offsets(tps).values())
    finally:
        c.close()


def _wait_for(cond: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sigterm_mid_move_from_a_queue_loses_nothing(
    kafka_engine: str, amqp: Amqp, queue: Callable[..., str], topic: str, kafka_broker: str
) -> None:
    q = queue()
    n = 20000
    ch = amqp.channel()
    for i in range(n):
        ch.basic_publish("", q, f"m{i}".encode(), pika.BasicProperties(delivery_mode=2))
    assert amqp.wait_count(q, n) == n
    proc = Proc(["move", f"rabbit:{q}", f"kafka:{topic}", "-e"])
    try:
        _wait_for(lambda: _end_offsets(kafka_broker, topic) >= 2000)
        proc.p.send_signal(signal.SIGTERM)
        code, _out, err = proc.finish()
    finally:
        proc.kill()
    assert code == 143, err
    assert "moved" in err  # the summary
    _wait_for(lambda: amqp.count(q) + _end_offsets(kafka_broker, topic) >= n, timeout=15)
    left = set(amqp.bodies(q))
    moved = {r.value.decode() for r in records(kafka_broker, topic)}
    assert left | moved == {f"m{i}" for i in range(n)}  # duplicates allowed, losses not
    assert moved and left  # it really stopped in the middle


def test_sigterm_mid_move_between_topics_commits_only_what_arrived(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], admin: Any, kafka_broker: str
) -> None:
    src, dst = make_topic(1), make_topic(1)
    n = 60000
    r = cli("kafka", "produce", src, input="".join(f"v{i}\n" for i in range(n)))
    assert r.exit_code == 0, r.stderr
    proc = Proc(["move", f"kafka:{src}", f"kafka:{dst}", "-e"])
    try:
        _wait_for(lambda: _end_offsets(kafka_broker, dst) >= 2000)
        proc.p.send_signal(signal.SIGTERM)
        code, _out, err = proc.finish()
    finally:
        proc.kill()
    assert code == 143, err
    done = committed(admin, _group(f"kafka:{src}", f"kafka:{dst}")).get(0, 0)
    moved = {r.value for r in records(kafka_broker, dst)}
    assert 0 < done < n
    # Every committed message is in the target (the rest is moved by the next run).
    assert {f"v{i}".encode() for i in range(done)} <= moved


def test_sigterm_mid_move_to_a_queue_commits_only_what_was_confirmed(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    admin: Any,
    amqp: Amqp,
    queue: Callable[..., str],
) -> None:
    """Kafka -> RabbitMQ is pipelined (a batch goes out while the last one's
    confirms are outstanding): a SIGTERM waits for the confirms, then commits
    what they released -- every committed message is in the queue, and no
    more than a poll batch beyond it (taken when the signal came)."""
    src, q = make_topic(2), queue()
    n = 20000
    r = cli("kafka", "produce", src, input="".join(f"v{i}\n" for i in range(n)))
    assert r.exit_code == 0, r.stderr
    proc = Proc(["move", f"kafka:{src}", f"rabbit:{q}", "-e"])
    try:
        _wait_for(lambda: amqp.count(q) >= 2000 or proc.p.poll() is not None)
        assert proc.p.poll() is None, "".join(proc.err_lines)
        proc.p.send_signal(signal.SIGTERM)
        code, _out, err = proc.finish()
    finally:
        proc.kill()
    assert code == 143, err
    done = sum(committed(admin, _group(f"kafka:{src}", f"rabbit:{q}")).values())
    arrived = amqp.count(q)
    assert 0 < done <= arrived <= done + 500 * 2, (done, arrived)  # at most a poll batch per partition beyond
    assert arrived < n  # it really stopped in the middle
    # The rest is moved by the next run: everything once at least.
    r = cli("move", f"kafka:{src}", f"rabbit:{q}", "-e")
    assert r.exit_code == 0, r.stderr
    assert amqp.wait_count(q, n) >= n
    assert set(amqp.bodies(q)) == {f"v{i}" for i in range(n)}


def test_a_refusal_mid_pipeline_commits_what_came_before_it(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    admin: Any,
    amqp: Amqp,
    queue: Callable[..., str],
    exchange: Callable[..., str],
) -> None:
    """Kafka -> RabbitMQ exchange, each record's key its routing key: one key
    routes nowhere (unroutable, refused) in the middle of many batches.  The
    move stops naming it; the group is committed up to a batch before it at
    most, never past it; --on-error skip then moves the rest."""
    src, q, x = make_topic(1), queue(), exchange("direct")
    _bind(amqp, x, q, "ok")
    n, bad = 3000, 1700
    lines = "".join(f"{'nowhere' if i == bad else 'ok'}:v{i}\n" for i in range(n))
    r = cli("kafka", "produce", src, "-K", ":", input=lines)
    assert r.exit_code == 0, r.stderr
    target = f"rabbit:exchange/{x}"
    group = _group(f"kafka:{src}", target)
    r = cli("move", f"kafka:{src}", target, "-e")
    assert r.exit_code == 1, r.stderr
    assert f"not moved: {src}[0]@{bad}: returned unroutable" in r.stderr
    done = committed(admin, group).get(0, 0)
    assert bad - 500 <= done <= bad, done
    got = set(amqp.bodies(q))  # (taken from the queue)
    assert {f"v{i}" for i in range(done)} <= got and f"v{bad}" not in got
    r = cli("move", f"kafka:{src}", target, "-e", "--on-error", "skip")
    assert r.exit_code == 0, r.stderr
    assert f"skipped: {src}[0]@{bad}" in r.stderr
    assert committed(admin, group) == {0: n}
    assert amqp.wait_count(q, n - done - 1) >= n - done - 1
    assert got | set(amqp.bodies(q)) == {f"v{i}" for i in range(n) if i != bad}


def test_timeout_on_a_queue_is_an_error_only_when_nothing_moved(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str]
) -> None:
    q = queue()
    amqp.publish(q, "a")
    amqp.publish(q, "b")
    r = cli("move", f"rabbit:{q}", "-", "--timeout", "1s")
    assert r.exit_code == 0, r.stderr
    assert [json.loads(line)["value"] for line in r.stdout.splitlines()] == ["a", "b"]
    r = cli("move", f"rabbit:{q}", "-", "--timeout", "1s")
    assert r.exit_code == 5, r.stderr
    assert r.stdout == ""


def test_kafka_move_with_match_and_count(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], admin: Any, kafka_broker: str
) -> None:
    src, dst = make_topic(1), make_topic(1)
    _produce(cli, src, 10)
    r = cli("move", f"kafka:{src}", f"kafka:{dst}", "--count", "4")
    assert r.exit_code == 0, r.stderr
    assert [x.value for x in records(kafka_broker, dst)] == [f"v{i}".encode() for i in range(4)]
    group = _group(f"kafka:{src}", f"kafka:{dst}")
    assert committed(admin, group) == {0: 4}
    # The messages --match leaves out are committed past, as in group-consume.
    r = cli("move", f"kafka:{src}", f"kafka:{dst}", "-e", "--match-value", "^v[78]$")
    assert r.exit_code == 0, r.stderr
    assert [x.value for x in records(kafka_broker, dst)] == [f"v{i}".encode() for i in (0, 1, 2, 3, 7, 8)]
    assert committed(admin, group) == {0: 10}


def test_rabbit_target_reopens_a_connection_lost_between_batches(amqp: Amqp, queue: Callable[..., str]) -> None:
    from mqcli.core.config import resolve_profile
    from mqcli.core.move import RabbitTarget, parse_endpoint
    from mqcli.core.rabbit.client import RabbitClient

    q = queue()
    profile = resolve_profile(config_path=None, profile_name=None, env={})
    client = RabbitClient(profile.rabbit)
    notes: list[str] = []
    target = RabbitTarget(client, parse_endpoint(f"rabbit:{q}"), notes.append)
    try:
        from mqcli.core.message import Message

        assert target.send([Message(b"one")]) == []
        client.connection.close()  # as missed heartbeats would, while the source was quiet
        assert target.send([Message(b"two")]) == []
    finally:
        target.close()
    assert amqp.wait_count(q, 2) == 2 and sorted(amqp.bodies(q)) == ["one", "two"]
    assert any("reconnected" in n for n in notes)


def test_dead_letter_takes_what_the_target_refuses(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    admin: Any,
    kafka_broker: str,
    exchange: Callable[..., str],
) -> None:
    src, dlt = make_topic(1), make_topic(1)
    x = exchange("direct")  # no binding: every message is unroutable
    _produce(cli, src, 3)
    target = f"rabbit:exchange/{x}/nobody"
    # A dead-letter endpoint that refuses too: the move stops, nothing is committed.
    r = cli("move", f"kafka:{src}", target, "-e", "--on-error", f"dead-letter:rabbit:exchange/{x}/none")
    assert r.exit_code == 1
    assert f"{src}[0]@0" in r.stderr and "the dead-letter target refused it too" in r.stderr
    assert committed(admin, _group(f"kafka:{src}", target)) == {}
    r = cli("move", f"kafka:{src}", target, "-e", "--on-error", f"dead-letter:kafka:{dlt}")
    assert r.exit_code == 0, r.stderr
    assert f"dead-lettered: {src}[0]@0" in r.stderr
    assert f"dead-lettered 3 refused message(s) to kafka:{dlt}" in r.stderr
    got = records(kafka_broker, dlt)
    assert [x.value for x in got] == [b"v0", b"v1", b"v2"] and [x.key for x in got] == [b"k0", b"k1", b"k2"]
    assert b"unroutable" in dict(got[0].headers)["x-mqcli-move-error"]
    assert committed(admin, _group(f"kafka:{src}", target)) == {0: 3}


def test_sigterm_while_a_queue_source_is_idle_acknowledges_what_was_written(
    amqp: Amqp, queue: Callable[..., str]
) -> None:
    q = queue()
    for i in range(3):
        amqp.publish(q, f"m{i}")
    proc = Proc(["move", f"rabbit:{q}", "-"])  # follows: no -e
    try:
        # Written (perhaps not yet acknowledged): then it waits for more.
        proc.wait_stdout_lines(3)
        started = time.monotonic()
        proc.p.send_signal(signal.SIGTERM)
        code, out, err = proc.finish(timeout=20)
    finally:
        proc.kill()
    assert code == 143, err
    assert time.monotonic() - started < 5
    assert [json.loads(line)["value"] for line in out.decode().splitlines()] == ["m0", "m1", "m2"]
    assert "moved 3, failed 0" in err
    time.sleep(0.5)
    assert amqp.count(q) == 0  # acknowledged: nothing came back to the queue
