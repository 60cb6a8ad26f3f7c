"""Fixtures for the schema tests: the local Kafka broker (tests/kafka's
fixtures, both engines) and the local schema registry (Apicurio, started by
`make brokers` via brokers/registry.sh).  Either one missing FAILS the tests."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.kafka.conftest import (  # noqa: F401  (fixtures and the engine parametrisation, shared)
    admin,
    engine,
    kafka_broker,
    kafka_env,
    make_topic,
    pytest_generate_tests,
    topic,
)

REGISTRY = "http://127.0.0.1:8081/apis/ccompat/v7"


def rest(method: str, path: str, body: Any = None) -> Any:
    """One call to the registry's REST API, as a test sets things up (not through mqcli)."""
    req = urllib.request.Request(
        REGISTRY + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


@pytest.fixture(scope="session")
def registry() -> str:
    """The local registry's ccompat URL; fails the tests when it does not answer."""
    deadline = time.monotonic() + 10
    while True:
        try:
            if isinstance(rest("GET", "/subjects"), list):
                return REGISTRY
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the schema registry is not answering at {REGISTRY}: start it with `make brokers`")
        time.sleep(0.5)


@pytest.fixture(autouse=True)
def registry_env(registry: str, kafka_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in profile points at the local registry (tests that want none unset it)."""
    monkeypatch.setenv("MQCLI_KAFKA_SCHEMA_REGISTRY_URL", registry)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/schema needs the local broker (and the registry)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.kafka)
