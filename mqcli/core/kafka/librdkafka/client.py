"""librdkafka through confluent-kafka: its exceptions mapped to mqcli's typed
errors and its connection check.  The settings and the words are shared with
the native engine in common.py (which needs no confluent-kafka); they are
re-exported here for the librdkafka engine's modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaError, KafkaException

from mqcli.core.errors import MqcliError
from mqcli.core.kafka.librdkafka.common import (
    UNKNOWN_TOPIC,
    Diagnosis,
    RequestFailed,
    check_fatal,
    client_config,
    connection_error,
    describe,
    enable_library_logs,
    error_name,
    kafka_python_name,
    map_code,
    topic_partitions,
    wait_for_metadata,
)

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings

__all__ = [
    "UNKNOWN_TOPIC",
    "Diagnosis",
    "check_fatal",
    "client_config",
    "connection_error",
    "describe",
    "enable_library_logs",
    "error_name",
    "kafka_errors",
    "kafka_python_name",
    "map_error",
    "topic_partitions",
    "wait_connected",
]


def wait_connected(
    client: Any,
    settings: KafkaSettings,
    profile: str | None,
    diagnosis: Diagnosis,
    *,
    serve: Callable[[], Any] | None = None,
) -> Any:
    """common.wait_for_metadata on a confluent-kafka client: error_cb reports
    (and log lines) are delivered by its poll (or `serve`)."""
    poll = serve or (lambda: client.poll(0))

    def fetch(timeout: float) -> Any:
        try:
            return client.list_topics(timeout=timeout)
        except KafkaException as e:
            if e.args and isinstance(e.args[0], KafkaError):
                raise RequestFailed(e.args[0]) from None
            raise map_error(e, settings, profile) from None

    def served() -> None:
        try:
            poll()
        except KafkaException as e:  # a fatal error, e.g. an idempotent producer the ACLs refuse
            raise map_error(e, settings, profile, diagnosis=diagnosis) from None

    return wait_for_metadata(fetch, served, settings, profile, diagnosis)


def map_error(
    e: BaseException,
    settings: KafkaSettings,
    profile: str | None = None,
    *,
    topic: str | None = None,
    diagnosis: Diagnosis | None = None,
) -> MqcliError:
    """A confluent-kafka exception as the mqcli error a user should see."""
    if isinstance(e, MqcliError):
        return e
    err = e.args[0] if isinstance(e, KafkaException) and e.args and isinstance(e.args[0], KafkaError) else None
    if err is None:
        if isinstance(e, KafkaError):
            err = e
        else:
            raise e
    return map_code(err, settings, profile, topic=topic, diagnosis=diagnosis)


@contextmanager
def kafka_errors(
    settings: KafkaSettings, profile: str | None = None, *, topic: str | None = None, diagnosis: Diagnosis | None = None
) -> Iterator[None]:
    """Turn confluent-kafka exceptions raised inside the block into mqcli errors."""
    try:
        yield
    except KafkaException as e:
        raise map_error(e, settings, profile, topic=topic, diagnosis=diagnosis) from None
