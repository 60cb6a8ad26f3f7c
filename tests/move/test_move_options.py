"""`mqcli move`/`copy` options against the real brokers: --dry-run leaves the
source as it was, --to-origin puts RabbitMQ dead letters back where they were
dead-lettered from, --from/--offset/--until bound a Kafka source, --match on a
queue leaves the others in place and in order, --rate and --speed pace."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pika
import pytest

from tests.conftest import Run
from tests.kafka.conftest import committed, records
from tests.rabbit.conftest import Amqp, Proc


def _group(source: str, target: str) -> str:
    def part(text: str) -> str:
        return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)

    return f"mqcli-move.{part(source)}.to.{part(target)}"


def _produce_stamped(cli: Callable[..., Run], topic: str, stamps: list[int]) -> None:
    """One message per timestamp (ms): value vN, key kN."""
    lines = "".join(
        json.dumps({"key": f"k{i}", "value": f"v{i}", "timestamp": ts}) + "\n" for i, ts in enumerate(stamps)
    )
    r = cli("kafka", "produce", topic, "-i", "jsonl", "-p", "0", input=lines)
    assert r.exit_code == 0, r.stderr


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


# -- --dry-run ------------------------------------------------------------------------------


def test_dry_run_from_kafka_sends_and_commits_nothing(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], admin: Any, kafka_broker: str
) -> None:
    src, dst = make_topic(2), make_topic(1)
    r = cli("kafka", "produce", src, "-K", ":", input="".join(f"k{i}:v{i}\n" for i in range(12)))
    assert r.exit_code == 0, r.stderr
    r = cli("move", f"kafka:{src}", f"kafka:{dst}", "--dry-run", "-o", "json")
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["dry_run"] is True and summary["moved"] == 12 and summary["targets"] == {f"kafka:{dst}": 12}
    assert "dry run: nothing is sent, acknowledged or committed" in r.stderr
    assert r.stderr.count(f"would move {src}[") == 10  # the first ten named, then only counted
    assert "would move 12, failed 0" in r.stderr and f"would go to kafka:{dst}: 12" in r.stderr
    assert records(kafka_broker, dst, timeout=2) == []
    group = _group(f"kafka:{src}", f"kafka:{dst}")
    assert committed(admin, group) == {}
    # A real move after part of it: the dry run starts where the move would (the group's offsets).
    r = cli("move", f"kafka:{src}", f"kafka:{dst}", "--count", "4")
    assert r.exit_code == 0, r.stderr
    before = committed(admin, group)
    r = cli("move", f"kafka:{src}", f"kafka:{dst}", "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert "would move 8, failed 0" in r.stderr
    assert committed(admin, group) == before and len(records(kafka_broker, dst)) == 4


QUEUE_TYPES = pytest.mark.parametrize("queue_type", ["classic", "quorum"])


def left_in_order(left: list[str], expected: list[str], queue_type: str) -> bool:
    """Whether the messages left in a queue are `expected`: in order in a classic
    queue, which takes a message handed back into its old place; a quorum queue
    (RabbitMQ 3.10) puts those handed back behind the rest, in an order it does
    not keep (seen here): there, none lost and none twice."""
    return left == expected if queue_type == "classic" else sorted(left) == sorted(expected)


@QUEUE_TYPES
def test_dry_run_from_a_queue_leaves_every_message_in_its_place(
    cli: Callable[..., Run],
    amqp: Amqp,
    queue: Callable[..., str],
    make_topic: Callable[..., str],
    kafka_broker: str,
    queue_type: str,
) -> None:
    q, dst = queue(**{"x-queue-type": queue_type}), make_topic(1)
    for i in range(30):
        amqp.publish(q, f"m{i}", message_id=f"id{i}")
    r = cli("move", f"rabbit:{q}", f"kafka:{dst}", "--dry-run", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["moved"] == 30
    assert f"would move queue '{q}' message #1 (message_id id0) (2 B) to kafka:{dst}" in r.stderr
    assert amqp.wait_count(q, 30) == 30
    assert left_in_order(amqp.bodies(q), [f"m{i}" for i in range(30)], queue_type)  # all of them
    assert records(kafka_broker, dst, timeout=2) == []


# -- --to-origin ---------------------------------------------------------------------------


def _dlx_setup(amqp: Amqp, queue: Callable[..., str], exchange: Callable[..., str]) -> tuple[str, str, str, str, str]:
    """Two work queues behind a direct exchange, both dead-lettering into one
    queue through a fanout DLX: (exchange, work queue a, work queue b, DLX, dead-letter queue)."""
    x, dlx = exchange("direct"), exchange("fanout")
    dead = queue("dead")
    ch = amqp.channel()
    ch.queue_bind(dead, dlx)
    a = queue("work-a", **{"x-dead-letter-exchange": dlx})
    b = queue("work-b", **{"x-dead-letter-exchange": dlx})
    ch.queue_bind(a, x, routing_key="to-a")
    ch.queue_bind(b, x, routing_key="to-b")
    return x, a, b, dlx, dead


def _publish_and_reject(amqp: Amqp, x: str, plan: list[tuple[str, str]], queues: dict[str, str], dead: str) -> None:
    """Publish each (routing key, body) to `x`, then reject everything in the work queues (dead-lettered)."""
    ch = amqp.channel()
    before = amqp.count(dead)
    for key, body in plan:
        ch.basic_publish(x, key, body.encode(), pika.BasicProperties(delivery_mode=2, message_id=body))
    for key, q in queues.items():
        n = sum(1 for k, _ in plan if k == key)
        assert amqp.wait_count(q, n) == n
        for _ in range(n):
            method, _props, _body = ch.basic_get(q, auto_ack=False)
            assert method is not None
            ch.basic_nack(method.delivery_tag, requeue=False)
    assert amqp.wait_count(dead, before + len(plan)) == before + len(plan)


def test_to_origin_puts_dead_letters_back_where_they_came_from(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], exchange: Callable[..., str]
) -> None:
    x, a, b, _dlx, dead = _dlx_setup(amqp, queue, exchange)
    plan = [("to-a", "a0"), ("to-b", "b0"), ("to-a", "a1"), ("to-a", "a2"), ("to-b", "b1")]
    _publish_and_reject(amqp, x, plan, {"to-a": a, "to-b": b}, dead)

    r = cli("move", f"rabbit:{dead}", "--to-origin", "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert f"would go to rabbit:exchange/{x}/to-a: 3" in r.stderr
    assert f"would go to rabbit:exchange/{x}/to-b: 2" in r.stderr
    assert amqp.wait_count(dead, 5) == 5 and amqp.count(a) == 0

    r = cli("move", f"rabbit:{dead}", "--to-origin", "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["moved"] == 5 and summary["target"] is None
    assert summary["targets"] == {f"rabbit:exchange/{x}/to-a": 3, f"rabbit:exchange/{x}/to-b": 2}
    assert f"moved to rabbit:exchange/{x}/to-a: 3" in r.stderr
    assert amqp.count(dead) == 0
    assert amqp.wait_count(a, 3) == 3 and amqp.wait_count(b, 2) == 2
    got = amqp.get_all(a)
    assert [body for _m, _p, body in got] == [b"a0", b"a1", b"a2"]  # in order
    death = got[0][1].headers["x-death"][0]  # kept by default
    assert death["queue"] == a and death["reason"] == "rejected"
    assert [p.message_id for _m, p, _b in got] == ["a0", "a1", "a2"]  # properties travel


def test_to_origin_strip_death_removes_the_death_headers(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], exchange: Callable[..., str]
) -> None:
    x, a, b, _dlx, dead = _dlx_setup(amqp, queue, exchange)
    _publish_and_reject(amqp, x, [("to-b", "b0")], {"to-b": b}, dead)
    r = cli("move", f"rabbit:{dead}", "--to-origin", "--strip-death", "-e")
    assert r.exit_code == 0, r.stderr
    assert amqp.wait_count(b, 1) == 1
    (_m, props, body), *_ = amqp.get_all(b)
    assert body == b"b0"
    assert not any(name.startswith(("x-death", "x-first-death", "x-last-death")) for name in props.headers or {})


def test_to_origin_stops_at_a_message_without_death_information(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], exchange: Callable[..., str]
) -> None:
    x, a, _b, _dlx, dead = _dlx_setup(amqp, queue, exchange)
    _publish_and_reject(amqp, x, [("to-a", "a0"), ("to-a", "a1")], {"to-a": a}, dead)
    amqp.publish(dead, "stray", message_id="stray")  # never dead-lettered
    assert amqp.wait_count(dead, 3) == 3
    _publish_and_reject(amqp, x, [("to-a", "a2")], {"to-a": a}, dead)
    r = cli("move", f"rabbit:{dead}", "--to-origin", "-e")
    assert r.exit_code == 1, r.stderr
    assert f"queue '{dead}' message #3 (message_id stray)" in r.stderr and "no x-death header" in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 4  # named, a summary: no traceback
    # What came before it went back; it and what follows stay, in order.
    assert amqp.wait_count(a, 2) == 2 and amqp.bodies(a) == ["a0", "a1"]
    assert amqp.wait_count(dead, 2) == 2 and amqp.bodies(dead) == ["stray", "a2"]


def test_to_origin_skip_takes_the_stray_message_and_goes_on(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], exchange: Callable[..., str]
) -> None:
    x, a, _b, _dlx, dead = _dlx_setup(amqp, queue, exchange)
    amqp.publish(dead, "stray")
    assert amqp.wait_count(dead, 1) == 1
    _publish_and_reject(amqp, x, [("to-a", "a0")], {"to-a": a}, dead)
    r = cli("move", f"rabbit:{dead}", "--to-origin", "-e", "--on-error", "skip")
    assert r.exit_code == 0, r.stderr
    assert "skipped: " in r.stderr and "moved 1, failed 1" in r.stderr
    assert amqp.count(dead) == 0 and amqp.wait_count(a, 1) == 1


def test_to_origin_unroutable_now_leaves_the_dead_letter_in_place(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], exchange: Callable[..., str]
) -> None:
    x, a, _b, _dlx, dead = _dlx_setup(amqp, queue, exchange)
    _publish_and_reject(amqp, x, [("to-a", "a0"), ("to-a", "a1")], {"to-a": a}, dead)
    amqp.channel().queue_unbind(a, x, routing_key="to-a")  # the origin no longer routes anywhere
    r = cli("move", f"rabbit:{dead}", "--to-origin", "-e")
    assert r.exit_code == 1
    assert "unroutable" in r.stderr and f"queue '{dead}' message #1" in r.stderr
    assert amqp.wait_count(dead, 2) == 2 and amqp.count(a) == 0


def test_to_origin_with_its_exchange_gone_is_refused_and_stays(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], exchange: Callable[..., str]
) -> None:
    x, a, _b, _dlx, dead = _dlx_setup(amqp, queue, exchange)
    _publish_and_reject(amqp, x, [("to-a", "a0")], {"to-a": a}, dead)
    amqp.channel().exchange_delete(x)
    r = cli("move", f"rabbit:{dead}", "--to-origin", "--dry-run")
    assert r.exit_code == 1, r.stderr
    assert f"would not move: queue '{dead}' message #1" in r.stderr and f"exchange '{x}' does not exist" in r.stderr
    r = cli("move", f"rabbit:{dead}", "--to-origin", "-e")
    assert r.exit_code == 1, r.stderr
    assert f"not moved: queue '{dead}' message #1" in r.stderr
    assert amqp.wait_count(dead, 1) == 1 and amqp.bodies(dead) == ["a0"]


def test_to_origin_from_a_kafka_dead_letter_topic(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], admin: Any, kafka_broker: str
) -> None:
    dlt, orders, payments = make_topic(1), make_topic(1), make_topic(1)
    spring = {"kafka_dlt-original-topic": orders, "kafka_dlt-exception-message": "boom", "trace": "t1"}
    connect = {"__connect.errors.topic": payments, "__connect.errors.offset": "7"}
    sent = [
        {"key": "o1", "value": "order-1", "headers": spring},
        {"key": "p1", "value": "pay-1", "headers": connect},
        {"key": "o2", "value": "order-2", "headers": spring},
        {"key": "s", "value": "stray", "headers": {"trace": "t2"}},  # no origin
        {"key": "o3", "value": "order-3", "headers": spring},
    ]
    r = cli("kafka", "produce", dlt, "-i", "jsonl", input="".join(json.dumps(o) + "\n" for o in sent))
    assert r.exit_code == 0, r.stderr
    r = cli("move", f"kafka:{dlt}", "--to-origin", "-e", "--strip-death")
    assert r.exit_code == 1, r.stderr
    assert f"not moved: {dlt}[0]@3" in r.stderr and "no kafka_dlt-original-topic or __connect.errors.topic" in r.stderr
    group = _group(f"kafka:{dlt}", "origin")
    assert committed(admin, group) == {0: 3}  # up to the stray one, which stays
    got = records(kafka_broker, orders)
    assert [(x.key, x.value) for x in got] == [(b"o1", b"order-1"), (b"o2", b"order-2")]
    assert dict(got[0].headers) == {"trace": b"t1"}  # --strip-death: the DLT headers are gone
    assert [x.value for x in records(kafka_broker, payments)] == [b"pay-1"]
    # --on-error skip: the stray one is counted and committed past; the rest goes on.
    r = cli("move", f"kafka:{dlt}", "--to-origin", "-e", "--on-error", "skip", "-o", "json")
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["targets"] == {f"kafka:{orders}": 1} and summary["skipped"] == 1
    assert [x.value for x in records(kafka_broker, orders)][-1] == b"order-3"
    assert dict(records(kafka_broker, orders)[-1].headers)["kafka_dlt-exception-message"] == b"boom"  # kept
    assert committed(admin, group) == {0: 5}


# -- --from / --offset / --until -------------------------------------------------------------


def test_from_and_until_bound_a_kafka_move_and_a_copy(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], admin: Any, kafka_broker: str
) -> None:
    src, moved, copied = make_topic(1), make_topic(1), make_topic(1)
    base = (int(time.time()) - 3600) * 1000
    _produce_stamped(cli, src, [base + i * 60_000 for i in range(10)])  # a minute apart, an hour ago
    frm, until = _iso(base + 3 * 60_000), _iso(base + 6 * 60_000)
    r = cli("copy", f"kafka:{src}", f"kafka:{copied}", "--from", frm, "--until", until)
    assert r.exit_code == 0, r.stderr
    assert [x.value for x in records(kafka_broker, copied)] == [b"v3", b"v4", b"v5", b"v6"]

    r = cli("move", f"kafka:{src}", f"kafka:{moved}", "--from", frm, "-e")
    assert r.exit_code == 0, r.stderr
    assert [x.value for x in records(kafka_broker, moved)] == [f"v{i}".encode() for i in range(3, 10)]
    group = _group(f"kafka:{src}", f"kafka:{moved}")
    assert committed(admin, group) == {0: 10}
    # --from never takes a group back: what was moved is not moved again.
    r = cli("move", f"kafka:{src}", f"kafka:{moved}", "--from", _iso(base), "-e")
    assert r.exit_code == 0, r.stderr
    assert "moved 0, failed 0" in r.stderr


def test_offset_starts_a_move_n_before_the_end(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], kafka_broker: str
) -> None:
    src, dst = make_topic(1), make_topic(1)
    _produce_stamped(cli, src, [int(time.time() * 1000)] * 6)
    r = cli("move", f"kafka:{src}", f"kafka:{dst}", "--offset", "-2", "-e")
    assert r.exit_code == 0, r.stderr
    assert [x.value for x in records(kafka_broker, dst)] == [b"v4", b"v5"]


# -- --match on a queue --------------------------------------------------------------------


@QUEUE_TYPES
def test_match_on_a_queue_moves_the_matching_and_leaves_the_rest_in_order(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], queue_type: str
) -> None:
    q, dst = queue(**{"x-queue-type": queue_type}), queue()
    tenants = ["acme" if i % 3 == 0 else "other" for i in range(600)]
    ch = amqp.channel()
    for i, t in enumerate(tenants):
        ch.basic_publish("", q, f"m{i}".encode(), pika.BasicProperties(headers={"tenant": t}, delivery_mode=2))
    assert amqp.wait_count(q, 600) == 600
    r = cli("move", f"rabbit:{q}", f"rabbit:{dst}", "--match-header", "tenant=^acme$", "-e")
    assert r.exit_code == 0, r.stderr
    assert "moved 200, failed 0" in r.stderr
    assert amqp.wait_count(dst, 200) == 200
    assert amqp.bodies(dst) == [f"m{i}" for i, t in enumerate(tenants) if t == "acme"]
    assert amqp.wait_count(q, 400) == 400
    assert left_in_order(amqp.bodies(q), [f"m{i}" for i, t in enumerate(tenants) if t != "acme"], queue_type)


@QUEUE_TYPES
def test_match_on_a_queue_holding_more_than_its_prefetch_window(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], queue_type: str
) -> None:
    """--rate 100/s makes the prefetch window 100: the 200 held messages fill it
    twice, and a new consumer takes over each time (mqcli.core.rabbit.consume._Acks.hold)."""
    q = queue(**{"x-queue-type": queue_type})
    bodies = [f"{'yes' if i % 3 == 0 else 'no'}{i}" for i in range(300)]
    ch = amqp.channel()
    for body in bodies:
        ch.basic_publish("", q, body.encode())
    assert amqp.wait_count(q, 300) == 300
    r = cli("move", f"rabbit:{q}", "-", "--match-value", "^yes", "--rate", "100/s", "-e")
    assert r.exit_code == 0, r.stderr
    assert [json.loads(line)["value"] for line in r.stdout.splitlines()] == [b for b in bodies if b.startswith("yes")]
    assert amqp.wait_count(q, 200) == 200
    assert left_in_order(amqp.bodies(q), [b for b in bodies if b.startswith("no")], queue_type)


@QUEUE_TYPES
def test_match_on_a_queue_with_count_stops_there(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], queue_type: str
) -> None:
    q = queue(**{"x-queue-type": queue_type})
    for i in range(10):
        amqp.publish(q, f"{'yes' if i % 2 else 'no'}{i}")
    r = cli("move", f"rabbit:{q}", "-", "--match-value", "^yes", "--count", "2")
    assert r.exit_code == 0, r.stderr
    assert [json.loads(line)["value"] for line in r.stdout.splitlines()] == ["yes1", "yes3"]
    assert amqp.wait_count(q, 8) == 8
    assert left_in_order(amqp.bodies(q), ["no0", "no2", "no4", "yes5", "no6", "yes7", "no8", "yes9"], queue_type)


@QUEUE_TYPES
def test_match_on_a_queue_stops_when_it_holds_the_most_it_can(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str], monkeypatch: Any, queue_type: str
) -> None:
    import mqcli.core.rabbit.consume

    monkeypatch.setattr(mqcli.core.rabbit.consume, "HOLD_LIMIT", 5)  # 64,535, scaled down
    q = queue(**{"x-queue-type": queue_type})
    bodies = [f"{'yes' if i % 2 else 'no'}{i}" for i in range(20)]
    for body in bodies:
        amqp.publish(q, body)
    assert amqp.wait_count(q, 20) == 20
    r = cli("move", f"rabbit:{q}", "-", "--match-value", "^yes", "-e")
    assert r.exit_code == 1, r.stderr
    assert f"stopped after holding 5 messages of queue '{q}'" in r.stderr
    moved = [json.loads(line)["value"] for line in r.stdout.splitlines()]
    assert moved == bodies[1:9:2]  # the matching ones before the fifth held one
    assert amqp.wait_count(q, 20 - len(moved)) == 20 - len(moved)
    assert left_in_order(amqp.bodies(q), [b for b in bodies if b not in moved], queue_type)  # none lost


# -- --rate / --speed ------------------------------------------------------------------------


def test_rate_paces_a_move_from_a_queue(cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str]) -> None:
    q = queue()
    for i in range(11):
        amqp.publish(q, f"m{i}")
    started = time.monotonic()
    r = cli("move", f"rabbit:{q}", "-", "-e", "--rate", "20/s")
    took = time.monotonic() - started
    assert r.exit_code == 0, r.stderr
    assert len(r.stdout.splitlines()) == 11
    assert took >= 0.45  # 10 gaps of 50 ms (the first goes at once)


def test_speed_replays_the_gaps_between_timestamps(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], kafka_broker: str
) -> None:
    src, dst = make_topic(1), make_topic(1)
    base = int(time.time() * 1000) - 60_000
    _produce_stamped(cli, src, [base, base + 1000, base + 2000])  # two gaps of a second
    started = time.monotonic()
    r = cli("copy", f"kafka:{src}", f"kafka:{dst}", "-e", "--speed", "4")
    took = time.monotonic() - started
    assert r.exit_code == 0, r.stderr
    assert 0.45 <= took < 10  # 2 s of gaps, four times as fast
    assert [x.timestamp for x in records(kafka_broker, dst)] == [base, base + 1000, base + 2000]


# -- faults and sharing ----------------------------------------------------------------------


def _wait_for(cond: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sigterm_while_rate_waits_leaves_the_rest_in_the_queue(
    amqp: Amqp, queue: Callable[..., str], start_mqcli: Callable[..., Proc]
) -> None:
    q, dst = queue(), queue()
    for i in range(40):
        amqp.publish(q, f"m{i}")
    assert amqp.wait_count(q, 40) == 40
    proc = start_mqcli("move", f"rabbit:{q}", f"rabbit:{dst}", "-e", "--rate", "4/s")
    _wait_for(lambda: amqp.count(dst) >= 3)
    started = time.monotonic()
    proc.p.send_signal(signal.SIGTERM)
    code, _out, err = proc.finish(timeout=20)
    assert code == 143, err
    assert time.monotonic() - started < 5  # the wait is cut short
    _wait_for(lambda: amqp.count(q) + amqp.count(dst) >= 40)
    moved, left = amqp.bodies(dst), amqp.bodies(q)
    assert 3 <= len(moved) < 40
    assert moved + left == [f"m{i}" for i in range(40)]  # none lost, none twice, in order


def test_sigterm_while_speed_waits_commits_only_what_arrived(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    admin: Any,
    kafka_broker: str,
    start_mqcli: Callable[..., Proc],
) -> None:
    src, dst = make_topic(1), make_topic(1)
    base = int(time.time() * 1000) - 600_000
    _produce_stamped(cli, src, [base + i * 10_000 for i in range(5)])  # 10 s apart: the second waits
    proc = start_mqcli("move", f"kafka:{src}", f"kafka:{dst}", "-e", "--speed", "1")
    _wait_for(lambda: len(records(kafka_broker, dst, timeout=1)) >= 1)
    time.sleep(0.5)
    proc.p.send_signal(signal.SIGTERM)
    code, _out, err = proc.finish(timeout=30)
    assert code == 143, err
    assert [x.value for x in records(kafka_broker, dst)] == [b"v0"]
    assert committed(admin, _group(f"kafka:{src}", f"kafka:{dst}")) == {0: 1}


def test_two_movers_share_a_queue(amqp: Amqp, queue: Callable[..., str], start_mqcli: Callable[..., Proc]) -> None:
    q, dst = queue(), queue()
    n = 4000
    ch = amqp.channel()
    for i in range(n):
        ch.basic_publish("", q, f"m{i}".encode(), pika.BasicProperties(delivery_mode=2))
    assert amqp.wait_count(q, n) == n
    movers = [start_mqcli("move", f"rabbit:{q}", f"rabbit:{dst}", "-e") for _ in range(2)]
    results = [m.finish(timeout=120) for m in movers]
    assert [code for code, _o, _e in results] == [0, 0], results
    assert amqp.count(q) == 0
    assert amqp.wait_count(dst, n) == n
    assert sorted(amqp.bodies(dst)) == sorted(f"m{i}" for i in range(n))  # each once, none lost


def test_two_movers_share_a_topic_through_the_group(
    cli: Callable[..., Run],
    kafka_engine: str,
    make_topic: Callable[..., str],
    admin: Any,
    kafka_broker: str,
    start_mqcli: Callable[..., Proc],
) -> None:
    src, dst = make_topic(4), make_topic(1)
    n = 4000
    r = cli("kafka", "produce", src, "-K", ":", input="".join(f"k{i}:v{i}\n" for i in range(n)))
    assert r.exit_code == 0, r.stderr
    movers = [start_mqcli("move", f"kafka:{src}", f"kafka:{dst}", "--timeout", "8s") for _ in range(2)]
    results = [m.finish(timeout=180) for m in movers]
    assert all(code in (0, 5) for code, _o, _e in results), results  # 5: a member that got nothing to move
    assert any(code == 0 for code, _o, _e in results), results
    got = [x.value for x in records(kafka_broker, dst)]
    assert set(got) == {f"v{i}".encode() for i in range(n)}  # none lost (duplicates: a rebalance at most)
    assert sum(committed(admin, _group(f"kafka:{src}", f"kafka:{dst}")).values()) == n
