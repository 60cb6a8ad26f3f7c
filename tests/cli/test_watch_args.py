"""`--watch [INTERVAL]`: the value may be left out (mqcli.cli.watch)."""

from __future__ import annotations

import pytest

from mqcli.cli.wait import WaitTimes
from mqcli.cli.watch import DEFAULT, with_default_interval
from mqcli.core.errors import UsageError

VALUE_OPTIONS = {"--match", "-m", "--output", "-o"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["list", "--watch"], ["list", "--watch", DEFAULT]),
        (["list", "--watch", "5s"], ["list", "--watch", "5s"]),
        (["list", "--watch", "1"], ["list", "--watch", "1"]),
        (["list", "--watch=500ms"], ["list", "--watch=500ms"]),
        (["--watch", "-o", "json"], ["--watch", DEFAULT, "-o", "json"]),
        (["--watch", "orders"], ["--watch", DEFAULT, "orders"]),  # an argument, not an interval
        (["--match", "--watch"], ["--match", "--watch"]),  # the value of --match
        (["-m", "--watch", "--watch"], ["-m", "--watch", "--watch", DEFAULT]),
        (["--", "--watch"], ["--", "--watch"]),
        ([], []),
    ],
)
def test_a_bare_watch_gets_the_default_interval(args: list[str], expected: list[str]) -> None:
    assert with_default_interval(args, VALUE_OPTIONS) == expected


def test_watch_options_parse(cli) -> None:  # type: ignore[no-untyped-def]
    # Parsing errors come before anything connects: exit 2 without a broker.
    r = cli("kafka", "groups", "list", "--watch", "0s", env={"MQCLI_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert r.exit_code == 2 and "must be more than 0" in r.stderr
    r = cli("rabbit", "overview", "--watch", "-o", "tsv")
    assert r.exit_code == 2 and "live table or JSON Lines" in r.stderr


def test_wait_times() -> None:
    times = WaitTimes.parse("1m30s", "250ms")
    assert (times.timeout_text, times.timeout, times.interval) == ("1m30s", 90.0, 0.25)
    with pytest.raises(UsageError):
        WaitTimes.parse("soon", "1s")
    with pytest.raises(UsageError, match="more than 0"):
        WaitTimes.parse("1s", "0s")
