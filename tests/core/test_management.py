"""The management API's setting (rabbit.management_url) and the rows the listings
make of the API's JSON: no broker needed."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest

from mqcli.core.config import builtin_profile
from mqcli.core.config.parsers import Invalid, http_url
from mqcli.core.config.settings import ENV_VARS
from mqcli.core.errors import UsageError
from mqcli.core.rabbit.management import path
from mqcli.core.rabbit.management_views import (
    BindingRow,
    ConnectionRow,
    ConsumerRow,
    Overview,
    QueueRowCache,
    binding_rows,
    connection_rows,
    consumer_rows,
    exchange_rows,
    queue_rows,
)

# -- the setting --------------------------------------------------------------------


def test_default_management_url_is_the_first_host_on_15672() -> None:
    p = builtin_profile()
    assert p.rabbit.management_url is None
    assert p.rabbit.management_endpoint() == "http://localhost:15672"
    p = p.with_overrides({"rabbit.hosts": "r1:5673,r2"})
    assert p.rabbit.management_endpoint() == "http://r1:15672"


def test_default_management_url_with_tls_is_https_on_15671() -> None:
    p = builtin_profile().with_overrides({"rabbit.url": "amqps://app@rabbit.example.com/orders"})
    assert p.rabbit.management_endpoint() == "https://rabbit.example.com:15671"


def test_default_management_url_brackets_an_ipv6_host() -> None:
    p = builtin_profile().with_overrides({"rabbit.hosts": "[::1]:5672"})
    assert p.rabbit.management_endpoint() == "http://[::1]:15672"


def test_management_url_is_a_setting_with_its_variable() -> None:
    assert ENV_VARS["MQCLI_RABBIT_MANAGEMENT_URL"] == ("rabbit", "management_url")
    p = builtin_profile().with_overrides({"rabbit.management_url": "https://mq.example.com/rabbitmq/"})
    assert p.rabbit.management_endpoint() == "https://mq.example.com/rabbitmq"
    assert p.to_dict()["rabbit"]["management_url"] == "https://mq.example.com/rabbitmq"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("amqp://h:5672", "scheme must be http:// or https://"),
        ("h:15672", "scheme"),
        ("http://", "no host"),
        ("http://u:secret@h:15672", "username and password keys"),
        ("http://h:99999", "port"),
        ("http://h/?x=1", "query"),
    ],
)
def test_bad_management_urls_are_refused(value: str, problem: str) -> None:
    with pytest.raises(Invalid, match=problem) as e:
        http_url(value)
    assert "secret" not in str(e.value)


def test_api_path_encodes_each_segment() -> None:
    assert path("queues", "/", "a b/c") == "/api/queues/%2F/a%20b%2Fc"
    assert (
        path("connections", "127.0.0.1:5 -> 127.0.0.1:5672")
        == "/api/connections/127.0.0.1%3A5%20-%3E%20127.0.0.1%3A5672"
    )


# -- rows -------------------------------------------------------------------------


def queue(name: str, ready: int = 0, unacked: int = 0, rate_in: float = 0.0, rate_out: float = 0.0) -> dict[str, Any]:
    return {
        "name": name,
        "vhost": "/",
        "type": "classic",
        "state": "running",
        "messages_ready": ready,
        "messages_unacknowledged": unacked,
        "consumers": 1,
        "memory": 1000,
        "message_stats": {"publish_details": {"rate": rate_in}, "deliver_get_details": {"rate": rate_out}},
    }


QUEUES = [
    queue("b", 5, 0, 1.0, 0.0),
    queue("a", 1, 1, 0.0, 0.0),
    queue("c", 0, 9, 3.0, 4.04),
    queue("ab", 3, 0, 0.5, 0.5),
]


def test_queue_rows_sort_by_name_depth_and_rate() -> None:
    assert [r.name for r in queue_rows(QUEUES)] == ["a", "ab", "b", "c"]
    assert [r.name for r in queue_rows(QUEUES, sort="depth")] == ["c", "b", "ab", "a"]
    # busiest first (in + out); a tie stays in name order
    assert [r.name for r in queue_rows(QUEUES, sort="rate")] == ["c", "ab", "b", "a"]


def test_queue_rows_match_anywhere_in_the_name() -> None:
    assert [r.name for r in queue_rows(QUEUES, match="^a")] == ["a", "ab"]
    assert [r.name for r in queue_rows(QUEUES, match="b")] == ["ab", "b"]


def test_queue_row_columns_and_a_fresh_queue_without_stats() -> None:
    row = queue_rows([queue("c", 0, 9, 3.0, 4.04)])[0]
    assert row.to_dict() == {
        "name": "c",
        "vhost": "/",
        "type": "classic",
        "state": "running",
        "ready": 0,
        "unacked": 9,
        "consumers": 1,
        "publish_rate": 3.0,
        "deliver_rate": 4.0,
        "memory": 1000,
    }
    assert row.depth == 9
    bare = queue_rows([{"name": "new", "vhost": "/"}])[0]
    assert (bare.type, bare.state, bare.ready, bare.publish_rate) == ("classic", "running", 0, 0.0)


def test_queue_row_dict_is_every_field_in_order() -> None:
    for row in queue_rows(QUEUES):
        assert list(row.to_dict().items()) == list(asdict(row).items())


def test_a_watch_reuses_the_rows_of_unchanged_queues() -> None:
    cache = QueueRowCache()
    first = {r.name: r for r in queue_rows(QUEUES, cache=cache)}
    moved = [dict(d) for d in QUEUES]
    moved[0]["messages_ready"] = 6  # b grew
    second = {r.name: r for r in queue_rows(moved, sort="depth", cache=cache)}
    assert second["a"] is first["a"] and second["c"] is first["c"]
    assert second["b"] is not first["b"] and second["b"].ready == 6
    third = queue_rows(moved[1:], cache=cache)  # b is gone, then back: built anew
    assert [r.name for r in third] == ["a", "ab", "c"]
    assert queue_rows(QUEUES, cache=cache)[2] == first["b"]


def test_bad_regex_and_sort_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="invalid --match regex"):
        queue_rows(QUEUES, match="(")
    with pytest.raises(UsageError, match="invalid sort"):
        queue_rows(QUEUES, sort="size")


def test_exchange_rows_sorted_and_matched() -> None:
    docs = [
        {"name": "orders", "vhost": "/", "type": "topic", "durable": True, "auto_delete": False, "internal": False},
        {"name": "", "vhost": "/", "type": "direct", "durable": True, "auto_delete": False, "internal": False},
        {
            "name": "amq.fanout",
            "vhost": "/",
            "type": "fanout",
            "durable": True,
            "message_stats": {"publish_in_details": {"rate": 2.0}, "publish_out_details": {"rate": 1.0}},
        },
    ]
    assert [r.name for r in exchange_rows(docs)] == ["", "amq.fanout", "orders"]
    (fanout,) = exchange_rows(docs, match="fan")
    assert fanout.cells() == ("amq.fanout", "/", "fanout", True, False, False, 2.0, 1.0)


def test_binding_rows_show_arguments_as_json() -> None:
    docs = [
        {
            "source": "x",
            "destination": "q2",
            "destination_type": "queue",
            "routing_key": "b",
            "arguments": {},
            "vhost": "/",
        },
        {
            "source": "x",
            "destination": "q1",
            "destination_type": "queue",
            "routing_key": "a",
            "arguments": {"x-match": "all"},
            "vhost": "/",
        },
    ]
    rows = binding_rows(docs)
    assert [r.destination for r in rows] == ["q1", "q2"]
    assert rows[0].cells() == ("x", "q1", "queue", "a", '{"x-match": "all"}', "/")
    assert rows[1].cells()[4] == ""
    assert BindingRow.COLUMNS[:4] == ("source", "destination", "destination_type", "routing_key")


def test_connection_rows_match_the_client_given_name_too() -> None:
    docs = [
        {
            "name": "127.0.0.1:50000 -> 127.0.0.1:5672",
            "client_properties": {"connection_name": "billing-worker"},
            "user": "guest",
            "vhost": "/",
            "peer_host": "127.0.0.1",
            "peer_port": 50000,
            "state": "running",
            "channels": 2,
            "protocol": "AMQP 0-9-1",
            "ssl": False,
            "recv_oct_details": {"rate": 10.0},
        },
        {"name": "[::1]:1 -> [::1]:5672", "peer_host": "::1", "peer_port": 1},
    ]
    (row,) = connection_rows(docs, match="billing")
    assert row.peer == "127.0.0.1:50000" and row.client_name == "billing-worker" and row.recv_rate == 10.0
    v6 = connection_rows(docs, match="::1")[0]
    assert v6.peer == "[::1]:1" and v6.state == "starting"
    assert len(ConnectionRow.COLUMNS) == len(row.cells())


def test_consumer_rows_by_queue() -> None:
    docs = [
        {
            "queue": {"name": "jobs", "vhost": "/"},
            "consumer_tag": "ctag-2",
            "channel_details": {"connection_name": "c1", "number": 1},
            "ack_required": True,
            "prefetch_count": 10,
            "exclusive": False,
            "active": True,
        },
        {"queue": {"name": "other", "vhost": "/"}, "consumer_tag": "ctag-1", "channel_details": {}},
    ]
    (row,) = consumer_rows(docs, queue="jobs")
    assert row.cells() == ("jobs", "/", "ctag-2", "c1", True, 10, False, True)
    assert [r.queue for r in consumer_rows(docs)] == ["jobs", "other"]
    assert len(ConsumerRow.COLUMNS) == len(row.cells())


OVERVIEW = {
    "cluster_name": "rabbit@h",
    "rabbitmq_version": "3.10.8",
    "erlang_version": "25.2.3",
    "node": "rabbit@h",
    "object_totals": {"connections": 2, "channels": 3, "exchanges": 8, "queues": 4, "consumers": 1},
    "queue_totals": {"messages": 7, "messages_ready": 5, "messages_unacknowledged": 2},
    "message_stats": {"publish_details": {"rate": 1.25}},
}
NODE = {
    "name": "rabbit@h",
    "running": True,
    "mem_used": 100,
    "mem_limit": 1000,
    "mem_alarm": False,
    "disk_free": 5,
    "disk_free_limit": 1,
    "disk_free_alarm": True,
    "fd_used": 40,
    "uptime": 12_345,
}


def test_overview_totals_rates_and_alarms() -> None:
    view = Overview.from_api(OVERVIEW, [NODE])
    doc = view.to_dict()
    assert doc["totals"] == {
        "connections": 2,
        "channels": 3,
        "exchanges": 8,
        "queues": 4,
        "consumers": 1,
        "messages": 7,
        "ready": 5,
        "unacked": 2,
    }
    assert doc["rates"] == {"publish": 1.2, "deliver_get": 0.0}
    assert doc["alarms"] == ["disk alarm on rabbit@h"]
    assert doc["nodes"][0]["uptime_s"] == 12
    assert ("alarms", "disk alarm on rabbit@h") in view.summary()


def test_overview_without_nodes_says_alarms_are_unknown() -> None:
    view = Overview.from_api(OVERVIEW, None)
    assert view.to_dict()["nodes"] is None and view.to_dict()["alarms"] is None
    assert dict(view.summary())["alarms"].startswith("unknown")
