"""Fixtures for `mqcli move`/`copy`: both brokers (a missing one fails the
test), fresh topics and queues per test, and every Kafka test once per
engine (through the `kafka_engine` fixture, requested by the tests that
involve Kafka)."""

from __future__ import annotations

import pytest

# The brokers' fixtures, shared with tests/kafka and tests/rabbit.
from tests.kafka.conftest import admin, kafka_broker, make_topic, topic  # noqa: F401
from tests.rabbit.conftest import amqp, exchange, queue, rabbitmq_broker, start_mqcli  # noqa: F401


@pytest.fixture(params=["librdkafka", "kafka-python"])
def kafka_engine(request: pytest.FixtureRequest, kafka_broker: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Kafka engine under test (both, one after the other), through
    $MQCLI_KAFKA_ENGINE, which reaches in-process runs and subprocesses alike."""
    monkeypatch.setenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS", kafka_broker)
    monkeypatch.setenv("MQCLI_KAFKA_ENGINE", request.param)
    return str(request.param)
