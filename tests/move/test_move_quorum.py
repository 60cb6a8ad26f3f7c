"""`move` from a quorum queue (found by the cluster fault tests): RabbitMQ
refuses a channel-wide prefetch on quorum queues (540 NOT_IMPLEMENTED), so a
plain move must not set one."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.conftest import Run
from tests.rabbit.conftest import Amqp


def test_move_from_a_quorum_queue(cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str]) -> None:
    q = queue("quorum", **{"x-queue-type": "quorum"})
    for i in range(3):
        amqp.publish(q, f"m{i}")
    assert amqp.wait_count(q, 3) == 3
    r = cli("move", f"rabbit:{q}", "-", "-e")
    assert r.exit_code == 0, r.stderr
    assert [json.loads(line)["value"] for line in r.stdout.splitlines()] == ["m0", "m1", "m2"]
    assert amqp.count(q) == 0
