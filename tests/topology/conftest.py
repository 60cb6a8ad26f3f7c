"""Fixtures for `mqcli diff|apply|export`: both brokers (a missing one fails the
test), every test once per Kafka engine, and a fresh name prefix per test whose
topics, exchanges, queues and policies are deleted afterwards.  The brokers are
shared, so every manifest here names only objects under that prefix and every
--prune and export is scoped to it with --match."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

# The brokers' fixtures, shared with tests/kafka and tests/rabbit.
from tests.kafka.conftest import admin, kafka_broker  # noqa: F401
from tests.rabbit.conftest import amqp, rabbitmq_broker  # noqa: F401

MANAGEMENT = "http://127.0.0.1:15672"


def management(method: str, path: str, body: Any = None) -> Any:
    """A request to RabbitMQ's management API as guest (test setup and checks)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(MANAGEMENT + path, data=data, method=method)
    request.add_header("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")  # guest:guest
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def vhost_names(kind: str, prefix: str) -> list[str]:
    return sorted(x["name"] for x in management("GET", f"/api/{kind}/%2F") if x["name"].startswith(prefix))


@pytest.fixture(params=["librdkafka", "kafka-python"])
def kafka_engine(request: pytest.FixtureRequest, kafka_broker: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS", kafka_broker)
    monkeypatch.setenv("MQCLI_KAFKA_ENGINE", request.param)
    return str(request.param)


@pytest.fixture
def prefix(
    unique_name: Callable[[str], str],
    admin: Any,
    rabbitmq_broker: None,
) -> Iterator[str]:
    """A fresh name prefix; everything under it is deleted after the test."""
    name = unique_name("topo")
    yield name
    try:
        mine = [t for t in admin.list_topics() if t.startswith(name)]
        if mine:
            admin.delete_topics(mine)
    except Exception:  # cleanup is best effort; the names are unique anyway
        pass
    for kind in ("policies", "queues", "exchanges"):
        try:
            for n in vhost_names(kind, name):
                management("DELETE", f"/api/{kind}/%2F/{quote(n, safe='')}")
        except Exception:
            pass


def match(prefix: str) -> str:
    return "^" + re.escape(prefix)
