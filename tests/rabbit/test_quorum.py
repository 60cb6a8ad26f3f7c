"""Quorum queues and dead-lettering against the real broker: `declare queue
--type quorum --delivery-limit N --dead-letter-strategy at-least-once`, and a
failing `consume --exec --on-error requeue` ending in the dead-letter queue
after N+1 attempts, with x-delivery-count and x-death in -o json and templates."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika.exceptions
import pytest

from tests.conftest import Run


@pytest.mark.parametrize("strategy", [None, "at-least-once"])
def test_delivery_limit_dead_letters_after_the_attempts(
    cli: Callable[..., Run],
    amqp: Any,
    queue: Callable[..., str],
    unique_name: Callable[[str], str],
    tmp_path: Path,
    strategy: str | None,
) -> None:
    dlq = queue("dlq")
    q = unique_name("qq")
    amqp.queues.append(q)
    extra = ["--dead-letter-strategy", strategy, "--overflow", "reject-publish"] if strategy else []
    r = cli("rabbit", "declare", "queue", q, "--type", "quorum", "--delivery-limit", "2", "--dlx", "", "--dlk", dlq,
            *extra)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    args: dict[str, Any] = {"x-queue-type": "quorum", "x-delivery-limit": 2, "x-dead-letter-exchange": "",
                            "x-dead-letter-routing-key": dlq}  # fmt: skip
    if strategy:
        args.update({"x-dead-letter-strategy": strategy, "x-overflow": "reject-publish"})
    amqp.channel().queue_declare(q, durable=True, arguments=args)  # equivalent: the arguments were set
    assert cli("rabbit", "publish", "--queue", q, "--message-id", "m1", "poison").exit_code == 0

    attempts = tmp_path / "attempts"
    r = cli("rabbit", "consume", q, "-e", "--exec", f"echo \"$MQCLI_HEADER_X_DELIVERY_COUNT\" >> {attempts}; false",
            "--on-error", "requeue")  # fmt: skip
    assert r.exit_code == 1, r.stderr
    assert "--exec failed for 3 message(s) (requeued)" in r.stderr
    # Delivered, returned twice (x-delivery-count 1, 2) and dead-lettered on the third return.
    assert attempts.read_text().split() == ["1", "2"]  # the first delivery has no count yet
    assert amqp.wait_count(dlq, 1) == 1

    r = cli("rabbit", "consume", dlq, "-c", "1", "-o", "json", "--no-ack")
    assert r.exit_code == 0, r.stderr
    record = json.loads(r.stdout)
    assert record["value"] == "poison"
    (death,) = record["headers"]["x-death"]
    assert {k: death[k] for k in ("queue", "reason", "count", "exchange", "routing-keys")} == {
        "queue": q,
        "reason": "delivery_limit",
        "count": 1,
        "exchange": "",
        "routing-keys": [q],
    }


def test_delivery_count_and_death_in_templates(
    cli: Callable[..., Run], amqp: Any, queue: Callable[..., str], unique_name: Callable[[str], str]
) -> None:
    dlq = queue("dlq")
    q = unique_name("qq")
    amqp.queues.append(q)
    assert cli("rabbit", "declare", "queue", q, "--type", "quorum", "--delivery-limit", "0", "--dlx", "", "--dlk", dlq).exit_code == 0  # fmt: skip
    assert cli("rabbit", "publish", "--queue", q, "once").exit_code == 0
    r = cli("rabbit", "consume", q, "-e", "--exec", "false", "--on-error", "requeue")
    assert r.exit_code == 1
    assert amqp.wait_count(dlq, 1) == 1
    r = cli("rabbit", "consume", dlq, "-c", "1", "-f", "{header.x-first-death-reason} {header.x-death}")
    assert r.exit_code == 0, r.stderr
    reason, deaths = r.stdout.strip().split(" ", 1)
    assert reason == "delivery_limit"
    assert json.loads(deaths)[0]["queue"] == q


def test_quorum_options_are_checked(cli: Callable[..., Run], unique_name: Callable[[str], str], amqp: Any) -> None:
    cases = [
        (("--delivery-limit", "3"), "--delivery-limit applies to --type quorum"),
        (("--type", "quorum", "--dead-letter-strategy", "at-least-once"), "needs --overflow reject-publish"),
        (("--type", "quorum", "--dead-letter-strategy", "sometimes"), "at-most-once or at-least-once"),
        (("--type", "stream", "--dead-letter-strategy", "at-most-once"), "applies to --type quorum"),
    ]
    for args, text in cases:
        r = cli("rabbit", "declare", "queue", unique_name("qq"), *args)
        assert r.exit_code == 2 and text in r.stderr, (args, r.stderr)
    # A different delivery limit than the existing queue's: RabbitMQ refuses (exit 1).
    q = unique_name("qq")
    amqp.queues.append(q)
    assert cli("rabbit", "declare", "queue", q, "--type", "quorum", "--delivery-limit", "2").exit_code == 0
    r = cli("rabbit", "declare", "queue", q, "--type", "quorum", "--delivery-limit", "5")
    assert r.exit_code == 1 and "PRECONDITION_FAILED" in r.stderr
    with pytest.raises(pika.exceptions.ChannelClosedByBroker):
        amqp.channel().queue_declare(q, durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 7})
