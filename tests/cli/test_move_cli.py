"""`mqcli move`/`copy` usage errors (raised before any connection) and the
shell completion of endpoints."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mqcli.cli.move import complete_endpoint
from tests.conftest import Run


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["move", "kafka:a", "nope"], "invalid endpoint 'nope': no broker prefix"),
        (["move", "-", "-"], "source and target are both '-'"),
        (["move", "kafka:a", "kafka:a"], "source and target are the same (kafka:a)"),
        (["copy", "rabbit:jobs", "kafka:a"], "cannot copy from RabbitMQ queue 'jobs'"),
        (["move", "rabbit:exchange/x", "-"], "messages are read from a queue"),
        (["move", "rabbit:jobs", "-", "--match", "x"], "--match on a queue needs -e, --count or --timeout"),
        (["move", "-", "kafka:a", "--match", "x"], "--match… applies to a Kafka or RabbitMQ source"),
        (["move", "kafka:a"], "missing TARGET (or --to-origin)"),
        (["move", "rabbit:dead", "kafka:a", "--to-origin"], "--to-origin sends each message where it came from"),
        (
            ["move", "rabbit:dead", "--to-origin", "--origin-header", "h"],
            "--origin-header goes with --to-origin from a Kafka",
        ),
        (["move", "rabbit:dead", "-", "--strip-death"], "--strip-death goes with --to-origin"),
        (["move", "rabbit:q", "-", "--from", "-1h"], "--from applies to a Kafka source only"),
        (["move", "-", "kafka:a", "--until", "now"], "--until applies to a Kafka source only"),
        (["move", "kafka:a", "-", "--from", "-1h", "--offset", "5"], "--offset and --from are mutually exclusive"),
        (["move", "kafka:a", "-", "--from", "yesterday-ish"], "invalid time 'yesterday-ish'"),
        (["move", "kafka:a", "-", "--offset", "stored"], "--offset stored is where a move starts anyway"),
        (["move", "kafka:a", "-", "--rate", "fast"], "invalid --rate 'fast'"),
        (["move", "kafka:a", "-", "--rate", "0/s"], "invalid --rate '0/s'"),
        (["move", "kafka:a", "-", "--speed", "0"], "--speed must be more than 0"),
        (["move", "rabbit:q", "-", "--speed", "2"], "--speed replays Kafka timestamps"),
        (["move", "-", "kafka:a", "--group", "g"], "--group applies to a Kafka source only"),
        (["move", "kafka:a", "-", "--on-error", "retry"], "invalid --on-error 'retry'"),
        (["move", "kafka:a", "-", "--timeout", "soon"], "soon"),
        (["move", "kafka:a", "-", "-o", "json"], "--output json writes a summary on stdout"),
    ],
)
def test_usage_errors(cli: Callable[..., Run], args: list[str], error: str) -> None:
    r = cli(*args)
    assert r.exit_code == 2, r.stderr
    assert error in r.stderr
    assert r.stdout == ""


def test_endpoints_complete_with_profile_names() -> None:
    assert complete_endpoint("")[:4] == ["-", "kafka:", "rabbit:", "rabbit:exchange/"]
    assert complete_endpoint("kafka@") == ["kafka@local:"]  # the built-in profile
    assert complete_endpoint("rabbit@local:e") == ["rabbit@local:exchange/"]
    assert complete_endpoint("x") == []


@pytest.mark.parametrize(
    ("on_error", "error"),
    [
        ("dead-letter:nope", "invalid endpoint 'nope'"),
        ("dead-letter:kafka:a", "the dead-letter endpoint kafka:a is the source or the target"),
        ("dead-letter:-", "the dead-letter endpoint - is the source or the target"),
    ],
)
def test_bad_dead_letter_endpoints(cli: Callable[..., Run], on_error: str, error: str) -> None:
    r = cli("move", "kafka:a", "-", "--on-error", on_error)
    assert r.exit_code == 2, r.stderr
    assert error in r.stderr
