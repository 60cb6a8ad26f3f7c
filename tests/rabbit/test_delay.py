"""`mqcli rabbit delay publish|status`: TTL + dead-letter delays."""

from __future__ import annotations

import json
import time

import pytest

from mqcli.core.rabbit.delay import Target, delay_queue_name


@pytest.fixture
def delay_queues(amqp):
    """Delete the delay queues a test creates (they would expire anyway)."""
    made: list[str] = []
    yield made
    amqp.queues.extend(made)


def test_mixed_delays_do_not_hold_each_other_up(cli, amqp, queue, delay_queues):
    q = queue("target")
    delay_queues += [delay_queue_name(3000, Target(queue=q)), delay_queue_name(1000, Target(queue=q))]
    t0 = time.monotonic()
    assert cli("rabbit", "delay", "publish", "--delay", "3s", "--queue", q, "slow").exit_code == 0
    assert cli("rabbit", "delay", "publish", "--delay", "1s", "--queue", q, "fast").exit_code == 0
    assert amqp.count(q) == 0  # nothing arrives early
    r = cli("rabbit", "consume", q, "--count", "1", "--timeout", "10s")
    t_fast = time.monotonic() - t0
    assert r.stdout == "fast\n"
    r = cli("rabbit", "consume", q, "--count", "1", "--timeout", "10s")
    t_slow = time.monotonic() - t0
    assert r.stdout == "slow\n"
    # Arrival within a generous tolerance (a shared CI machine).
    assert 0.9 <= t_fast < 2.9
    assert 2.9 <= t_slow < 9


def test_delay_to_exchange_with_routing_key(cli, amqp, exchange, queue, delay_queues):
    x = exchange("topic")
    q = queue()
    amqp.channel().queue_bind(q, x, routing_key="job.*")
    delay_queues.append(delay_queue_name(500, Target(exchange=x, routing_key="job.retry")))
    r = cli(
        "rabbit",
        "delay",
        "publish",
        "--delay",
        "500ms",
        "--exchange",
        x,
        "--routing-key",
        "job.retry",
        "-H",
        "attempt=2",
        "again",
    )
    assert r.exit_code == 0, r.stderr
    r = cli("rabbit", "consume", q, "-c", "1", "-t", "10s", "-o", "json")
    obj = json.loads(r.stdout)
    assert obj["value"] == "again" and obj["routing_key"] == "job.retry"
    assert obj["headers"]["attempt"] == 2


def test_delay_queue_arguments_and_status(cli, amqp, queue, delay_queues):
    q = queue("target")
    name = delay_queue_name(60000, Target(queue=q))
    delay_queues.append(name)
    assert cli("rabbit", "delay", "publish", "--delay", "1m", "--queue", q, "a", "b").exit_code == 0
    # Redeclaring with the same arguments succeeds: these are exactly the arguments used.
    amqp.channel().queue_declare(
        name,
        durable=True,
        arguments={
            "x-message-ttl": 60000,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": q,
            "x-expires": 120000,
        },
    )
    r = cli("rabbit", "delay", "status", "--output", "json")
    assert r.exit_code == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows[name]["waiting"] == 2 and rows[name]["delay_ms"] == 60000 and rows[name]["target"] == f"queue {q}"
    r = cli("rabbit", "delay", "status")
    assert name in r.stdout


def test_missing_target_exit_6(cli, unique_name):
    assert cli("rabbit", "delay", "publish", "--delay", "1s", "--queue", unique_name("none"), "x").exit_code == 6


def test_plugin_missing_is_a_clear_error(cli, queue):
    r = cli("rabbit", "delay", "publish", "--via", "plugin", "--delay", "1s", "--queue", queue(), "x")
    assert r.exit_code == 1
    assert "rabbitmq_delayed_message_exchange" in r.stderr


def test_usage(cli, queue):
    q = queue()
    assert cli("rabbit", "delay", "publish", "--queue", q, "x").exit_code == 2
    assert cli("rabbit", "delay", "publish", "--delay", "0s", "--queue", q, "x").exit_code == 2
    assert cli("rabbit", "delay", "publish", "--delay", "1s", "x").exit_code == 2


def test_property_options_as_for_publish(cli, amqp, queue, delay_queues):
    q = queue("target")
    delay_queues.append(delay_queue_name(200, Target(queue=q)))
    r = cli(
        "rabbit",
        "delay",
        "publish",
        "--delay",
        "200ms",
        "--queue",
        q,
        "--content-type",
        "application/json",
        "--transient",
        "--message-id",
        "m-1",
        "--correlation-id",
        "c-1",
        "--type",
        "job",
        "--app-id",
        "ci",
        "{}",
    )
    assert r.exit_code == 0, r.stderr
    r = cli("rabbit", "consume", q, "-c", "1", "-t", "10s", "-o", "json")
    props = json.loads(r.stdout)["properties"]
    assert props == {
        **props,
        "content_type": "application/json",
        "delivery_mode": 1,
        "message_id": "m-1",
        "correlation_id": "c-1",
        "type": "job",
        "app_id": "ci",
    }


def test_help_spells_the_property_options_like_publish(cli):
    publish_help = cli("rabbit", "publish", "--help").stdout
    delay_help = cli("rabbit", "delay", "publish", "--help").stdout
    for option in (
        "--content-type",
        "--persistent / --transient",
        "--message-id",
        "--correlation-id",
        "--type",
        "--app-id",
        "--reconnect",
    ):
        assert option in publish_help and option in delay_help
