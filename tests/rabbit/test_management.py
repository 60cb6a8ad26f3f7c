"""`mqcli rabbit queues|exchanges|bindings|connections|consumers list`, `connections close`
and `overview`, against the real broker's management API (rabbitmq_management on
127.0.0.1:15672, enabled by brokers/rabbitmq.sh).

The API's figures are statistics the broker collects every second, so a test
that changes something polls the command until it shows it.
"""

from __future__ import annotations

import base64
import json
import socket
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest

from tests.rabbit.conftest import TLS_DIR, _params

API = "http://127.0.0.1:15672"


def api(method: str, api_path: str, body: Any = None) -> Any:
    """The management API as guest (test set-up only)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(API + api_path, data=data, method=method)
    req.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


@pytest.fixture(scope="module", autouse=True)
def management_api() -> None:
    """Fail (not skip) when the management plugin does not answer."""
    try:
        api("GET", "/api/overview")
    except Exception as e:
        pytest.fail(
            f"RabbitMQ's management API is not reachable at {API} ({e}); `make brokers` enables it", pytrace=False
        )


def until(check: Callable[[], Any], timeout: float = 20) -> Any:
    """Poll `check` until it returns something truthy (the API's statistics lag up to a second or so)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


def run_json(cli, *args: str, env: dict[str, str] | None = None) -> Any:  # type: ignore[no-untyped-def]
    r = cli("rabbit", *args, "-o", "json", env=env)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def tsv(cli, *args: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    r = cli("rabbit", *args, "-o", "tsv")
    assert r.exit_code == 0, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines()]


@pytest.fixture
def prefix(unique_name: Callable[[str], str]) -> str:
    return unique_name("mgmt")


@pytest.fixture
def named_connection(prefix: str) -> Iterator[Callable[[str], pika.BlockingConnection]]:
    """A pika connection whose client-given name is `prefix-NAME`."""
    conns: list[pika.BlockingConnection] = []

    def open_(name: str) -> pika.BlockingConnection:
        params = _params()
        params.client_properties = {"connection_name": f"{prefix}-{name}"}
        conn = pika.BlockingConnection(params)
        conns.append(conn)
        return conn

    yield open_
    for conn in conns:
        try:
            conn.close()
        except Exception:
            pass


# -- queues ------------------------------------------------------------------------


def test_queues_list_json_and_tsv_with_depth_and_consumers(cli, amqp, prefix):
    deep = amqp.queue(f"{prefix}-deep")
    shallow = amqp.queue(f"{prefix}-shallow")
    quorum = amqp.queue(f"{prefix}-quorum", **{"x-queue-type": "quorum"})
    for i in range(3):
        amqp.publish(deep, f"m{i}")
    amqp.publish(shallow, "one")
    # A consumer with nothing acknowledged holds the shallow queue's message unacked.
    ch = amqp.conn.channel()
    ch.basic_qos(prefetch_count=10)
    ch.basic_consume(shallow, lambda *a: None, auto_ack=False)
    amqp.conn.process_data_events(time_limit=0.5)

    def listed() -> dict[str, Any] | None:
        rows = {r["name"]: r for r in run_json(cli, "queues", "list", "--match", f"^{prefix}")}
        ok = (
            len(rows) == 3
            and rows[deep]["ready"] == 3
            and rows[shallow]["unacked"] == 1
            and rows[shallow]["consumers"] == 1
        )
        return rows if ok else None

    rows = until(listed)
    assert rows, run_json(cli, "queues", "list", "--match", f"^{prefix}")
    assert rows[deep] | {"memory": 0, "publish_rate": 0, "deliver_rate": 0} == {
        "name": deep,
        "vhost": "/",
        "type": "classic",
        "state": "running",
        "ready": 3,
        "unacked": 0,
        "consumers": 0,
        "publish_rate": 0,
        "deliver_rate": 0,
        "memory": 0,
    }
    assert rows[deep]["memory"] > 0
    assert rows[quorum]["type"] == "quorum"
    assert (rows[shallow]["ready"], rows[shallow]["unacked"]) == (0, 1)

    table = tsv(cli, "queues", "list", "--match", f"^{prefix}", "--sort", "depth")
    assert table[0] == ["QUEUE", "VHOST", "TYPE", "STATE", "READY", "UNACKED", "CONSUMERS", "IN/S", "OUT/S", "MEMORY"]
    assert [row[0] for row in table[1:]] == [deep, shallow, quorum]
    assert table[1][4:7] == ["3", "0", "0"]
    assert table[2][4:7] == ["0", "1", "1"]


def test_queues_list_match_and_sort(cli, amqp, prefix):
    names = [amqp.queue(f"{prefix}-{suffix}") for suffix in ("c", "a", "b")]
    amqp.publish(names[1], "x")  # a: 1
    for _ in range(2):
        amqp.publish(names[2], "x")  # b: 2
    amqp.queue(f"other-{prefix}")  # a name the anchored regex must leave out

    def by(sort: str) -> list[str]:
        return [r["name"] for r in run_json(cli, "queues", "list", "--match", f"^{prefix}-", "--sort", sort)]

    assert by("name") == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    assert until(lambda: by("depth") == [f"{prefix}-b", f"{prefix}-a", f"{prefix}-c"]), by("depth")
    assert [r["name"] for r in run_json(cli, "queues", "list", "--match", f"{prefix}-[ab]$")] == [
        f"{prefix}-a",
        f"{prefix}-b",
    ]


def test_queues_list_bad_regex_is_a_usage_error(cli):
    r = cli("rabbit", "queues", "list", "--match", "(")
    assert r.exit_code == 2
    assert "invalid --match regex" in r.stderr


def test_queues_list_of_a_missing_vhost_is_not_found(cli, prefix):
    r = cli("rabbit", "queues", "list", "--vhost", prefix)
    assert r.exit_code == 6
    assert f"vhost '{prefix}' not found" in r.stderr


# -- exchanges and bindings --------------------------------------------------------------


def test_exchanges_list(cli, amqp, prefix):
    topic = amqp.exchange(f"{prefix}-t", "topic")
    fanout = amqp.exchange(f"{prefix}-f", "fanout")
    rows = run_json(cli, "exchanges", "list", "--match", f"^{prefix}")
    assert [(r["name"], r["type"], r["durable"], r["internal"]) for r in rows] == [
        (fanout, "fanout", True, False),
        (topic, "topic", True, False),
    ]
    table = tsv(cli, "exchanges", "list", "--match", f"^{prefix}")
    assert table[0][:4] == ["EXCHANGE", "VHOST", "TYPE", "DURABLE"]
    assert [row[:3] for row in table[1:]] == [[fanout, "/", "fanout"], [topic, "/", "topic"]]
    # Every vhost has the default and amq.* exchanges.
    names = {r["name"] for r in run_json(cli, "exchanges", "list")}
    assert {"", "amq.direct", "amq.topic"} <= names


def test_bindings_list_by_queue_exchange_and_both(cli, amqp, prefix):
    x = amqp.exchange(f"{prefix}-x", "topic")
    q1 = amqp.queue(f"{prefix}-q1")
    q2 = amqp.queue(f"{prefix}-q2")
    ch = amqp.channel()
    ch.queue_bind(q1, x, routing_key="orders.*")
    ch.queue_bind(q1, x, routing_key="refunds.#")
    ch.queue_bind(q2, x, routing_key="orders.eu")

    from_x = run_json(cli, "bindings", "list", "--exchange", x)
    assert [(b["destination"], b["routing_key"]) for b in from_x] == [
        (q1, "orders.*"),
        (q1, "refunds.#"),
        (q2, "orders.eu"),
    ]
    assert from_x[0] == {
        "source": x,
        "destination": q1,
        "destination_type": "queue",
        "routing_key": "orders.*",
        "arguments": {},
        "vhost": "/",
    }
    # A queue's bindings include the default exchange's implicit one.
    of_q1 = run_json(cli, "bindings", "list", "--queue", q1)
    assert [(b["source"], b["routing_key"]) for b in of_q1] == [("", q1), (x, "orders.*"), (x, "refunds.#")]
    between = run_json(cli, "bindings", "list", "--queue", q2, "--exchange", x)
    assert [(b["source"], b["destination"], b["routing_key"]) for b in between] == [(x, q2, "orders.eu")]

    table = tsv(cli, "bindings", "list", "--exchange", x)
    assert table[0] == ["SOURCE", "DESTINATION", "DESTINATION_TYPE", "ROUTING_KEY", "ARGUMENTS", "VHOST"]
    assert table[1] == [x, q1, "queue", "orders.*", "", "/"]
    everything = run_json(cli, "bindings", "list")
    assert sum(1 for b in everything if b["source"] == x) == 3


def test_bindings_of_a_missing_queue_or_exchange_are_not_found(cli, amqp, prefix):
    q = amqp.queue(f"{prefix}-q")
    r = cli("rabbit", "bindings", "list", "--queue", f"{prefix}-missing")
    assert r.exit_code == 6
    assert f"queue '{prefix}-missing' in vhost '/' not found" in r.stderr
    r = cli("rabbit", "bindings", "list", "--queue", q, "--exchange", f"{prefix}-nox")
    assert r.exit_code == 6
    assert f"exchange '{prefix}-nox'" in r.stderr


# -- consumers and connections --------------------------------------------------------------


def test_consumers_list(cli, amqp, prefix, named_connection):
    q = amqp.queue(f"{prefix}-work")
    conn = named_connection("worker")
    ch = conn.channel()
    ch.basic_qos(prefetch_count=7)
    tag = ch.basic_consume(q, lambda *a: None, auto_ack=False, consumer_tag=f"{prefix}-tag")
    conn.process_data_events(time_limit=0.2)

    # The channel's details (its connection's name) may come in after the consumer itself.
    rows = until(lambda: [r for r in run_json(cli, "consumers", "list", "--queue", q) if r["connection"]])
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row["queue"], row["vhost"], row["consumer_tag"]) == (q, "/", tag)
    assert (row["ack_required"], row["prefetch"], row["exclusive"], row["active"]) == (True, 7, False, True)
    # The connection's own statistics (with its client-given name) may come in later.
    (worker,) = until(lambda: run_json(cli, "connections", "list", "--match", f"{prefix}-worker"))
    assert row["connection"] == worker["name"]

    table = tsv(cli, "consumers", "list", "--queue", q)
    assert table[0] == [
        "QUEUE",
        "VHOST",
        "CONSUMER_TAG",
        "CONNECTION",
        "ACK",
        "PREFETCH",
        "EXCLUSIVE",
        "ACTIVE",
    ]
    assert table[1][:3] == [q, "/", tag] and table[1][5] == "7"


def test_connections_list_and_close(cli, prefix, named_connection):
    conn = named_connection("victim")
    named_connection("bystander")

    def listed() -> list[dict[str, Any]] | None:
        rows = run_json(cli, "connections", "list", "--match", prefix)
        return rows if len(rows) == 2 and all(r["state"] == "running" for r in rows) else None

    rows = until(listed)
    assert rows, run_json(cli, "connections", "list", "--match", prefix)
    victim = next(r for r in rows if r["client_name"] == f"{prefix}-victim")
    assert victim["user"] == "guest" and victim["vhost"] == "/" and victim["tls"] is False
    assert victim["peer"].startswith("127.0.0.1:") and victim["protocol"].startswith("AMQP 0-9-1")
    assert victim["name"] == f"{victim['peer']} -> 127.0.0.1:5672"

    table = tsv(cli, "connections", "list", "--match", f"{prefix}-victim")
    assert table[0][:3] == ["NAME", "CLIENT_NAME", "USER"]
    assert [row[:3] for row in table[1:]] == [[victim["name"], f"{prefix}-victim", "guest"]]

    r = cli("rabbit", "connections", "close", victim["name"], "--reason", "test says bye", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {"closed": victim["name"], "reason": "test says bye"}
    # The client really is disconnected, and hears why.
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as e:
        for _ in range(50):
            conn.process_data_events(time_limit=0.2)
    assert e.value.reply_code == 320 and "test says bye" in e.value.reply_text
    left = until(
        lambda: (
            [r["client_name"] for r in run_json(cli, "connections", "list", "--match", prefix)]
            == [f"{prefix}-bystander"]
        )
    )
    assert left

    r = cli("rabbit", "connections", "close", victim["name"])
    assert r.exit_code == 6
    assert f"connection '{victim['name']}' not found" in r.stderr


# -- overview -------------------------------------------------------------------------


def test_overview_json_and_tsv(cli):
    doc = run_json(cli, "overview")
    assert doc["rabbitmq_version"].startswith("3.")
    assert doc["node"] == "rabbit@localhost"
    assert [n["name"] for n in doc["nodes"]] == ["rabbit@localhost"]
    assert doc["nodes"][0]["running"] is True
    assert doc["alarms"] == []
    assert set(doc["totals"]) == {
        "connections",
        "channels",
        "exchanges",
        "queues",
        "consumers",
        "messages",
        "ready",
        "unacked",
    }
    assert doc["totals"]["exchanges"] >= 7

    r = cli("rabbit", "overview", "-o", "tsv")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "FIELD\tVALUE"
    fields = dict(
        line.split("\t", 1)
        for line in lines[
            1 : lines.index(
                "NODE\tRUNNING\tMEM_USED\tMEM_LIMIT\tMEM_ALARM\tDISK_FREE\tDISK_LIMIT\tDISK_ALARM\tFDS\tUPTIME_S"
            )
        ]
    )
    assert fields["node"] == "rabbit@localhost" and fields["alarms"] == "none"
    assert lines[-1].startswith("rabbit@localhost\tTrue\t")


def test_overview_over_https_with_a_tls_profile(cli):
    # The TLS profile's default management URL is https://<host>:15671, verified with its CA.
    env = {"MQCLI_RABBIT_URL": "amqps://localhost:5671/", "MQCLI_RABBIT_TLS_CA": str(TLS_DIR / "ca.crt")}
    assert run_json(cli, "overview", env=env)["node"] == "rabbit@localhost"
    r = cli("--debug", "rabbit", "overview", env=env)
    assert r.exit_code == 0, r.stderr
    assert "GET https://localhost:15671/api/overview" in r.stderr


# -- failures ---------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("command", [("queues", "list"), ("overview",), ("connections", "close", "x")])
def test_api_unreachable_is_exit_4_with_the_plugin_and_url(cli, command):
    url = f"http://127.0.0.1:{closed_port()}"
    r = cli("rabbit", *command, env={"MQCLI_RABBIT_MANAGEMENT_URL": url})
    assert r.exit_code == 4
    assert r.stdout == ""
    assert f"management API not reachable at {url}" in r.stderr
    assert "rabbitmq-plugins enable rabbitmq_management" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_url_that_is_not_the_api_is_exit_4(cli):
    # The AMQP port answers, but not with HTTP.
    r = cli("rabbit", "overview", env={"MQCLI_RABBIT_MANAGEMENT_URL": "http://127.0.0.1:5672"})
    assert r.exit_code == 4
    assert "rabbitmq_management" in r.stderr


@pytest.fixture
def user(prefix: str) -> Iterator[Callable[[str], tuple[str, str]]]:
    """user(tags) -> (name, password) of a fresh user with full rights on vhost /."""
    made: list[str] = []

    def make(tags: str) -> tuple[str, str]:
        name = f"{prefix}-{tags or 'none'}"
        password = "Pw-" + uuid.uuid4().hex
        api("PUT", f"/api/users/{name}", {"password": password, "tags": tags})
        api("PUT", f"/api/permissions/%2F/{name}", {"configure": ".*", "write": ".*", "read": ".*"})
        made.append(name)
        return name, password

    yield make
    for name in made:
        api("DELETE", f"/api/users/{name}")


def test_user_without_the_management_tag_is_exit_4_naming_it(cli, mqcli_proc, user):
    name, password = user("")
    env = {"MQCLI_RABBIT_USERNAME": name, "MQCLI_RABBIT_PASSWORD": password}
    for debug in ((), ("--debug",)):
        # A real process: --debug's traceback and request lines included.
        p = mqcli_proc([*debug, "rabbit", "queues", "list"], env=env)
        err = p.stderr.decode()
        assert p.returncode == 4, err
        assert f"user '{name}' may not use the management API: it has no management tag" in err
        assert f"rabbitmqctl set_user_tags {name} management" in err
        assert password not in err and password not in p.stdout.decode()
        assert base64.b64encode(f"{name}:{password}".encode()).decode() not in err
    assert "GET http://localhost:15672/api/queues/%2F" in err  # the --debug run


def test_wrong_password_is_exit_4_without_the_password(cli, user):
    name, _ = user("management")
    r = cli("--debug", "rabbit", "overview", env={"MQCLI_RABBIT_USERNAME": name, "MQCLI_RABBIT_PASSWORD": "Wrong-Pw-1"})
    assert r.exit_code == 4
    assert "authentication failed" in r.stderr
    assert "Wrong-Pw-1" not in r.stderr + r.stdout


def test_management_user_sees_the_overview_without_nodes(cli, user):
    # Listing nodes needs the monitoring tag: the overview says so and still answers.
    name, password = user("management")
    env = {"MQCLI_RABBIT_USERNAME": name, "MQCLI_RABBIT_PASSWORD": password}
    doc = run_json(cli, "overview", env=env)
    assert doc["nodes"] is None and doc["alarms"] is None
    assert doc["rabbitmq_version"].startswith("3.")
    r = cli("rabbit", "overview", "-o", "tsv", env=env)
    assert "alarms\tunknown (listing nodes needs the monitoring tag)" in r.stdout


# -- queue inspect --details --------------------------------------------------------------


def test_queue_inspect_details_from_the_api_and_without_it(cli, amqp, prefix):
    q = amqp.queue(f"{prefix}-q", **{"x-queue-type": "quorum"})
    amqp.publish(q, "one")
    r = cli("rabbit", "queue", "inspect", q, "--details", "-o", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert {k: doc[k] for k in ("queue", "messages", "consumers", "type", "unacked")} == {
        "queue": q,
        "messages": 1,
        "consumers": 0,
        "type": "quorum",
        "unacked": 0,
    }
    assert set(doc) == {
        "queue",
        "messages",
        "consumers",
        "type",
        "state",
        "unacked",
        "publish_rate",
        "deliver_rate",
        "memory",
    }
    # Without the API: a warning, and the passive declare's answer as always.
    url = f"http://127.0.0.1:{closed_port()}"
    r = cli("rabbit", "queue", "inspect", q, "-d", "-o", "tsv", env={"MQCLI_RABBIT_MANAGEMENT_URL": url})
    assert r.exit_code == 0
    assert r.stdout.splitlines() == ["QUEUE\tMESSAGES\tCONSUMERS", f"{q}\t1\t0"]
    assert f"mqcli: warning: no details: RabbitMQ management API not reachable at {url}" in r.stderr
