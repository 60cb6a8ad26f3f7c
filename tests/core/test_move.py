"""mqcli.core.move without brokers: the endpoint grammar, the derived group
name, what travels between brokers, and the relay's order of confirm and ack."""

from __future__ import annotations

import pytest

from mqcli.core.delivery import DeliveryReport
from mqcli.core.errors import DeliveryFailed, UsageError
from mqcli.core.message import Message
from mqcli.core.move import (
    KAFKA,
    RABBIT,
    STDIO,
    Endpoint,
    Refused,
    Relay,
    default_group,
    describe,
    for_kafka,
    for_rabbit,
    parse_endpoint,
    stdin_batches,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-", Endpoint(STDIO, "-")),
        ("kafka:orders", Endpoint(KAFKA, "kafka:orders", topic="orders")),
        ("kafka@prod:orders.DLT", Endpoint(KAFKA, "kafka@prod:orders.DLT", "prod", topic="orders.DLT")),
        ("rabbit:jobs", Endpoint(RABBIT, "rabbit:jobs", queue="jobs")),
        ("rabbit@staging:a/b:c", Endpoint(RABBIT, "rabbit@staging:a/b:c", "staging", queue="a/b:c")),
        ("rabbit:exchange/events", Endpoint(RABBIT, "rabbit:exchange/events", exchange="events")),
        (
            "rabbit:exchange/events/audit.eu",
            Endpoint(RABBIT, "rabbit:exchange/events/audit.eu", exchange="events", routing_key="audit.eu"),
        ),
        ("rabbit:exchange/events/", Endpoint(RABBIT, "rabbit:exchange/events/", exchange="events", routing_key="")),
        ("rabbit:exchange/x/a/b", Endpoint(RABBIT, "rabbit:exchange/x/a/b", exchange="x", routing_key="a/b")),
        ("rabbit:exchange//jobs", Endpoint(RABBIT, "rabbit:exchange//jobs", exchange="", routing_key="jobs")),
    ],
)
def test_endpoints_parse(text: str, expected: Endpoint) -> None:
    assert parse_endpoint(text) == expected
    assert str(parse_endpoint(text)) == text


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("orders", "no broker prefix"),
        ("", "no broker prefix"),
        ("--", "no broker prefix"),
        ("redis:x", "unknown broker 'redis'"),
        ("Kafka:x", "no broker prefix"),
        ("kafka:", "topic name"),
        ("kafka:a b", "topic name"),
        ("kafka:..", "topic name"),
        ("kafka:" + "x" * 250, "topic name"),
        ("kafka@:x", "profile"),
        ("kafka@a b:x", "profile"),
        ("rabbit:", "no queue name"),
        ("rabbit:" + "q" * 256, "255 bytes"),
        ("rabbit:exchange/", "default exchange needs a routing key"),
    ],
)
def test_bad_endpoints_are_usage_errors_naming_them(text: str, why: str) -> None:
    with pytest.raises(UsageError) as e:
        parse_endpoint(text)
    assert e.value.exit_code == 2
    assert f"invalid endpoint {text!r}" in e.value.message
    assert why in e.value.message
    assert "kafka[@PROFILE]:TOPIC" in e.value.message


def test_default_group_is_stable_and_names_both_sides() -> None:
    s, t = parse_endpoint("kafka@prod:orders.DLT"), parse_endpoint("rabbit:exchange/ev/a b")
    assert default_group(s, t) == "mqcli-move.kafka_prod_orders.DLT.to.rabbit_exchange_ev_a_b"
    assert default_group(s, t) == default_group(parse_endpoint("kafka@prod:orders.DLT"), t)
    assert default_group(s, parse_endpoint("-")) == "mqcli-move.kafka_prod_orders.DLT.to.stdout"
    # Another target is another group: each target gets every message.
    assert default_group(s, parse_endpoint("kafka:orders")) != default_group(s, parse_endpoint("kafka:orders2"))


def test_to_kafka_keeps_key_value_headers_timestamp_and_drops_the_partition() -> None:
    msg = Message(b"v", key=b"k", headers=[("a", b"1"), ("a", b"2")], topic="t", partition=7, offset=3, timestamp=5)
    out = for_kafka(msg)
    assert (out.value, out.key, out.headers, out.timestamp, out.partition) == (
        b"v",
        b"k",
        [("a", b"1"), ("a", b"2")],
        5,
        None,
    )


def test_amqp_properties_go_through_kafka_headers_and_back() -> None:
    props = {"content_type": "application/json", "delivery_mode": 2, "priority": 4, "timestamp": 1700000000}
    msg = Message(b"{}", headers=[("tenant", "acme"), ("n", 3)], properties=props, queue="q", routing_key="rk")
    k = for_kafka(msg)
    assert k.timestamp == 1700000000 * 1000
    assert ("x-amqp-content_type", "application/json") in k.headers
    assert ("x-amqp-priority", "4") in k.headers
    # What a Kafka consumer hands back: header values as bytes.
    back = Message(k.value, headers=[(n, str(v).encode()) for n, v in k.headers], timestamp=k.timestamp, topic="t")
    r = for_rabbit(back, parse_endpoint("rabbit:exchange/x"))
    assert r.properties == props
    assert r.headers == [("tenant", b"acme"), ("n", b"3")]


def test_to_rabbit_routing_key_and_timestamp() -> None:
    msg = Message(b"v", key=b"order-1", timestamp=1700000000123, topic="t", partition=0, offset=1)
    assert for_rabbit(msg, parse_endpoint("rabbit:exchange/x")).routing_key == "order-1"  # the key
    assert for_rabbit(msg, parse_endpoint("rabbit:exchange/x/fixed")).routing_key is None  # the endpoint's (publisher)
    assert for_rabbit(msg, parse_endpoint("rabbit:q")).routing_key is None
    assert for_rabbit(msg, parse_endpoint("rabbit:q")).properties == {"timestamp": 1700000000}
    own = Message(b"v", routing_key="own", key=b"k")
    assert for_rabbit(own, parse_endpoint("rabbit:exchange/x")).routing_key == "own"


def test_bad_typed_property_header_stays_a_header() -> None:
    r = for_rabbit(Message(b"v", headers=[("x-amqp-priority", b"high")]), parse_endpoint("rabbit:q"))
    assert r.properties == {} and r.headers == [("x-amqp-priority", b"high")]


def test_describe_names_the_source_message() -> None:
    assert describe(Message(b"", topic="t", partition=2, offset=9)) == "t[2]@9"
    assert (
        describe(Message(b"", queue="q", line=3, properties={"message_id": "m1"}))
        == "queue 'q' message #3 (message_id m1)"
    )
    assert describe(Message(b"", line=4)) == "line 4"


class _Output:
    live = False

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def warn(self, text: str) -> None: ...
    def info(self, text: str) -> None: ...
    def summary(self, text: str) -> None: ...
    def draw(self, text: str) -> None: ...
    def result(self, line: str) -> None: ...


class _Target:
    """An in-memory target that refuses the values it is told to."""

    def __init__(self, refuse: set[bytes] = frozenset()) -> None:  # type: ignore[assignment]
        self.refuse = refuse
        self.got: list[bytes | None] = []

    def send(self, batch: list[Message]) -> list[tuple[Message, str]]:
        self.got += [m.value for m in batch]
        return [(m, "no") for m in batch if m.value in self.refuse]

    def close(self) -> None: ...


def _relay(target: _Target, skip: bool = False) -> tuple[Relay, DeliveryReport, _Output, list[str]]:
    out = _Output()
    report = DeliveryReport(out, verb="moved")
    warned: list[str] = []
    return Relay(target, report, skip_refused=skip, warn=warned.append), report, out, warned


def test_relay_confirms_a_batch_before_it_is_clean() -> None:
    target = _Target()
    relay, report, _out, _w = _relay(target)
    relay.take(Message(b"a", line=1))
    relay.take(Message(b"b", line=2))
    assert not relay.clean and target.got == []
    relay.deliver()
    assert relay.clean and target.got == [b"a", b"b"] and report.delivered == 2
    relay.deliver()  # nothing pending: nothing sent again
    assert target.got == [b"a", b"b"]


def test_relay_refusal_stops_and_stays_broken() -> None:
    target = _Target({b"b"})
    relay, report, out, _w = _relay(target)
    for i, v in enumerate((b"a", b"b", b"c"), 1):
        relay.take(Message(v, line=i))
    with pytest.raises(Refused) as e:
        relay.deliver()
    assert e.value.exit_code == 1
    assert "line 2" in e.value.message and "stays in the source" in e.value.message
    assert out.problems == ["not moved: line 2: no"]
    assert relay.broken and not relay.clean and report.failed == 1
    # Nothing more may be acknowledged: a later flush refuses to deliver again.
    with pytest.raises(DeliveryFailed):
        relay.deliver()
    assert target.got == [b"a", b"b", b"c"]


def test_relay_skip_counts_and_goes_on() -> None:
    relay, report, _out, warned = _relay(_Target({b"b"}), skip=True)
    for i, v in enumerate((b"a", b"b", b"c"), 1):
        relay.take(Message(v, line=i))
    relay.deliver()
    assert relay.clean and relay.skipped == 1 and report.delivered == 2 and report.failed == 1
    assert warned == ["skipped: line 2: no (acknowledged, --on-error skip)"]


def test_stdin_batches() -> None:
    msgs = [Message(str(i).encode()) for i in range(5)]
    assert [len(b) for b in stdin_batches(msgs, 2)] == [2, 2, 1]
    assert list(stdin_batches([], 2)) == []


@pytest.mark.parametrize("endpoint", ["rabbit:q", "rabbit:exchange/x", "rabbit:exchange/x/k", "rabbit:exchange//k"])
def test_to_rabbit_of_a_plain_kafka_record_is_what_the_general_mapping_makes(endpoint: str) -> None:
    # for_rabbit's shortcut for a record without headers against the general path
    # (which a header sends it through; the header is taken out again to compare).
    target = parse_endpoint(endpoint)
    for key in (None, b"k1", b"\xff\xfe"):
        for ts in (None, 1764680000123, 999):
            for value in (b"v", b"", None):
                record = Message(value, key=key, topic="t", partition=0, offset=1, timestamp=ts)
                general = for_rabbit(Message(value, key=key, headers=[("h", b"1")], topic="t", timestamp=ts), target)
                general.headers = [h for h in general.headers if h[0] != "h"]
                assert for_rabbit(record, target) == general
