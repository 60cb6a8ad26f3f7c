"""mqcli.core.move without brokers: --rate's token bucket, --speed's replay,
--to-origin's reading of the death headers, and --dry-run in the relay."""

from __future__ import annotations

import datetime

import pytest

from mqcli.core.delivery import DeliveryReport
from mqcli.core.errors import UsageError
from mqcli.core.message import Message
from mqcli.core.move import (
    DEATH_HEADERS,
    NO_ORIGIN,
    Pace,
    Relay,
    Replay,
    TokenBucket,
    origin_label,
    origin_of,
    origin_topic,
    parse_rate,
    pause,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_spaces_messages_at_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(10, burst=1, clock=clock)
    assert bucket.delay() == 0.0  # the first goes at once
    assert bucket.delay() == pytest.approx(0.1)
    clock.now += 0.1  # the caller waited
    assert bucket.delay() == pytest.approx(0.1)
    clock.now += 0.1
    clock.now += 5  # a long pause earns no more than the burst
    assert bucket.delay() == 0.0
    assert bucket.delay() == pytest.approx(0.1)


def test_token_bucket_allows_bursts_and_keeps_the_average() -> None:
    clock = Clock()
    bucket = TokenBucket(100, clock=clock)  # burst: a tenth of a second's worth
    assert bucket.capacity == 10
    clock.now += 1
    waits = [bucket.delay() for _ in range(10)]
    assert waits == [0.0] * 10
    assert bucket.delay() == pytest.approx(0.01)
    # Over a long run, N messages take (N - burst) / rate however they come.
    total = 0.0
    for _ in range(1000):
        wait = bucket.delay()
        clock.now += wait
        total += wait
    assert total == pytest.approx(1000 / 100, rel=0.02)


def test_token_bucket_rejects_a_rate_of_nothing() -> None:
    with pytest.raises(UsageError):
        TokenBucket(0)


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("10/s", 10.0), ("10", 10.0), ("0.5/s", 0.5), ("120/m", 2.0), ("3600/h", 1.0), (" 5 / sec ", 5.0)],
)
def test_parse_rate(text: str, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["", "fast", "0/s", "-1/s", "10/d", "1e3/s"])
def test_parse_rate_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="invalid --rate"):
        parse_rate(text)


def test_replay_divides_the_gaps_by_the_speed() -> None:
    clock = Clock()
    replay = Replay(2, clock=clock)
    assert replay.delay(Message(b"", timestamp=1_000)) == 0.0  # the first sets the clock
    assert replay.delay(Message(b"", timestamp=3_000)) == pytest.approx(1.0)  # 2 s apart, twice as fast
    clock.now += 1.0
    assert replay.delay(Message(b"", timestamp=3_000)) == 0.0
    clock.now += 5.0  # the move fell behind: no wait until it catches up
    assert replay.delay(Message(b"", timestamp=5_000)) == 0.0
    assert replay.delay(Message(b"", timestamp=500)) == 0.0  # older than the first: at once
    assert replay.delay(Message(b"")) == 0.0  # no timestamp: at once
    with pytest.raises(UsageError):
        Replay(0)


def test_pace_waits_for_the_slower_rule() -> None:
    clock = Clock()
    pace = Pace([TokenBucket(1, burst=1, clock=clock), Replay(1, clock=clock)])
    assert pace.delay(Message(b"", timestamp=0)) == 0.0
    assert pace.delay(Message(b"", timestamp=5_000)) == pytest.approx(5.0)
    assert Pace([]).delay(Message(b"")) == 0.0


def test_pause_stops_when_asked() -> None:
    ticks: list[float] = []
    assert pause(0.0, ticks.append) is True
    assert pause(10.0, ticks.append, stop=lambda: len(ticks) >= 2) is False
    assert ticks and all(t <= 0.1 for t in ticks)


# -- --to-origin -----------------------------------------------------------------------------


def _death(queue: str, exchange: str, keys: list[str], reason: str = "rejected") -> dict[str, object]:
    # As pika decodes an x-death entry (strings may also come as bytes).
    return {
        "count": 1,
        "reason": reason,
        "queue": queue,
        "time": datetime.datetime(2026, 12, 1),
        "exchange": exchange,
        "routing-keys": keys,
    }


def test_origin_is_the_most_recent_death() -> None:
    msg = Message(
        b"x",
        headers=[
            ("x-death", [_death("work", "orders", ["new", "cc"]), _death("delay", "retry", ["r"], "expired")]),
            ("x-first-death-queue", "delay"),
        ],
    )
    assert origin_of(msg) == ("orders", "new")
    assert origin_label("orders", "new") == "rabbit:exchange/orders/new"


def test_origin_bytes_values_and_the_default_exchange() -> None:
    death = {"queue": b"jobs", "exchange": b"", "routing-keys": [b"jobs"]}
    assert origin_of(Message(b"", headers=[("x-death", [death])])) == ("", "jobs")
    assert origin_label("", "jobs") == "rabbit:exchange//jobs"


def test_origin_falls_back_to_the_queue_it_died_in() -> None:
    no_keys = {"queue": "work", "exchange": "orders", "routing-keys": []}
    assert origin_of(Message(b"", headers=[("x-death", [no_keys])])) == ("", "work")
    assert origin_of(Message(b"", headers=[("x-first-death-queue", "work")])) == ("", "work")


@pytest.mark.parametrize(
    "headers",
    [[], [("x-death", [])], [("x-death", "garbage")], [("x-death", [{"count": 1}])], [("other", 1)]],
)
def test_no_origin(headers: list[tuple[str, object]]) -> None:
    assert origin_of(Message(b"", headers=headers)) is None


def test_death_headers_cover_first_and_last() -> None:
    assert {"x-death", "x-first-death-exchange", "x-first-death-queue", "x-last-death-queue"} <= DEATH_HEADERS


# -- the relay's dry run and early refusals ----------------------------------------------------


class _Output:
    live = False

    def problem(self, text: str) -> None: ...
    def warn(self, text: str) -> None: ...
    def info(self, text: str) -> None: ...
    def summary(self, text: str) -> None: ...
    def draw(self, text: str) -> None: ...
    def result(self, line: str) -> None: ...


class _Router:
    """A target that routes by the value's first letter and refuses values starting with 'x' in advance."""

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send(self, batch: list[Message]) -> list[tuple[Message, str]]:
        self.sent += batch
        return []

    def where(self, msg: Message) -> str:
        return f"to-{(msg.value or b'?')[:1].decode()}"

    def precheck(self, msg: Message) -> str | None:
        return NO_ORIGIN if (msg.value or b"").startswith(b"x") else None

    def close(self) -> None: ...


def test_dry_run_counts_per_target_and_sends_nothing() -> None:
    router, previews, warned = _Router(), [], []  # type: ignore[var-annotated]
    report = DeliveryReport(_Output(), verb="would move")
    relay = Relay(router, report, skip_refused=False, warn=warned.append, dry_run=True, preview=previews.append)
    for i, v in enumerate([b"a1", b"b1", b"a2", b"x1"] + [b"a"] * 20, 1):
        assert relay.admit(Message(v, line=i))  # a dry run never stops early
        relay.take(Message(v, line=i))
    relay.deliver()
    assert router.sent == [] and relay.clean
    assert relay.targets == {"to-a": 22, "to-b": 1}
    assert report.delivered == 23 and report.failed == 1
    assert warned == [f"would not move: line 4: {NO_ORIGIN}"]
    assert len(previews) == 10 and previews[0] == "would move line 1 (2 B) to to-a"


def test_admit_refuses_in_advance_only_when_the_move_would_stop() -> None:
    relay = Relay(_Router(), DeliveryReport(_Output(), verb="moved"), skip_refused=False, warn=lambda _t: None)
    assert relay.admit(Message(b"a", line=1))
    assert not relay.admit(Message(b"x", line=2))
    error = relay.stop_error()
    assert error is not None and error.exit_code == 1
    assert "line 2" in error.message and "it stays in the source" in error.message
    skipping = Relay(_Router(), DeliveryReport(_Output(), verb="moved"), skip_refused=True, warn=lambda _t: None)
    assert skipping.admit(Message(b"x", line=1)) and skipping.stop_error() is None


def test_relay_counts_what_was_confirmed_per_target() -> None:
    relay = Relay(_Router(), DeliveryReport(_Output(), verb="moved"), skip_refused=False, warn=lambda _t: None)
    for v in (b"a", b"b", b"a"):
        relay.take(Message(v))
    relay.deliver()
    assert relay.targets == {"to-a": 2, "to-b": 1}


def test_origin_topic_from_spring_connect_or_a_named_header() -> None:
    spring = Message(b"", headers=[("kafka_dlt-original-topic", b"orders"), ("kafka_dlt-original-partition", b"\x00")])
    connect = Message(b"", headers=[("__connect.errors.topic", b"payments")])
    assert origin_topic(spring) == "orders"
    assert origin_topic(connect) == "payments"
    assert origin_topic(Message(b"", headers=[("from", "audit")]), "from") == "audit"
    assert origin_topic(spring, "from") is None  # a named header replaces the conventions
    assert origin_topic(Message(b"", headers=[("kafka_dlt-original-topic", b"")])) is None
    assert origin_topic(Message(b"")) is None
