"""`mqcli copy rabbit:STREAM --offset …` against the real broker: a stream is
copied from --offset (or --from) and keeps its messages; -e ends at its last
message when the copy began; `move` from a stream, and `copy` from any other
queue, are usage errors (exit 2) that take nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Run
from tests.rabbit.conftest import Amqp


@pytest.fixture
def stream(amqp: Amqp, unique_name: Callable[[str], str]) -> Callable[..., str]:
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


def _values(r: Run) -> list[str]:
    assert r.exit_code == 0, r.stderr
    return [json.loads(line)["value"] for line in r.stdout.splitlines()]


def test_copy_a_stream_to_a_queue_keeps_the_stream(
    cli: Callable[..., Run], amqp: Amqp, stream: Callable[..., str], queue: Callable[..., str]
) -> None:
    s, q = stream(30), queue()
    r = cli("copy", f"rabbit:{s}", f"rabbit:{q}", "-e", "--offset", "first", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["moved"] == 30
    assert amqp.wait_count(q, 30) == 30 and amqp.bodies(q) == [str(i) for i in range(1, 31)]
    # The stream kept them: a second copy gets them all again.
    assert _values(cli("copy", f"rabbit:{s}", "-", "-e", "--offset", "0")) == [str(i) for i in range(1, 31)]


def test_copy_a_stream_from_an_offset_with_match_and_count(cli: Callable[..., Run], stream: Callable[..., str]) -> None:
    s = stream(20)
    assert _values(cli("copy", f"rabbit:{s}", "-", "-e", "--offset", "15")) == [str(i) for i in range(16, 21)]
    assert _values(cli("copy", f"rabbit:{s}", "-", "--offset", "first", "--count", "3")) == ["1", "2", "3"]
    got = _values(cli("copy", f"rabbit:{s}", "-", "-e", "--offset", "first", "--match-value", "^1"))
    assert got == ["1"] + [str(i) for i in range(10, 20)]
    # --from TIME: everything was published just now, a minute ago is before all of it.
    assert len(_values(cli("copy", f"rabbit:{s}", "-", "-e", "--from", "-1m"))) == 20


def test_copy_an_empty_stream_with_exit_at_end_copies_nothing(
    cli: Callable[..., Run], stream: Callable[..., str]
) -> None:
    s = stream(0)
    r = cli("copy", f"rabbit:{s}", "-", "-e", "--offset", "first")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""


def test_copy_dry_run_from_a_stream(
    cli: Callable[..., Run], stream: Callable[..., str], queue: Callable[..., str]
) -> None:
    s, q = stream(5), queue()
    r = cli("copy", f"rabbit:{s}", f"rabbit:{q}", "--dry-run", "--offset", "first", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["moved"] == 5
    assert f"would move stream '{s}' offset 0" in r.stderr


def test_move_from_a_stream_is_refused(cli: Callable[..., Run], amqp: Amqp, stream: Callable[..., str]) -> None:
    s = stream(3)
    r = cli("move", f"rabbit:{s}", "-", "-e")
    assert r.exit_code == 2
    assert f"cannot move from RabbitMQ stream '{s}': a stream keeps its messages (use copy)" in r.stderr
    assert r.stdout == ""


def test_copy_from_a_quorum_queue_is_refused_and_takes_nothing(
    cli: Callable[..., Run], amqp: Amqp, queue: Callable[..., str]
) -> None:
    q = queue(**{"x-queue-type": "quorum"})
    amqp.publish(q, "stay")
    r = cli("copy", f"rabbit:{q}", "-", "--offset", "first")
    assert r.exit_code == 2
    assert f"cannot copy from RabbitMQ queue '{q}'" in r.stderr
    assert amqp.wait_count(q, 1) == 1


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["move", "rabbit:q", "-", "--offset", "first"], "--offset applies to a Kafka source"),
        (["copy", "rabbit:q", "-", "--offset", "first", "--until", "-1m"], "--until applies to a Kafka source"),
        (["copy", "rabbit:q", "-", "--offset", "sometime"], "invalid --offset"),
        (["copy", "rabbit:q", "-", "-e"], "a stream is copied with --offset"),
    ],
)
def test_stream_options_misused(cli: Callable[..., Run], args: list[str], why: str, amqp: Any) -> None:
    r = cli(*args)
    assert r.exit_code == 2, r.stderr
    assert why in r.stderr
