"""The Kafka engines that engine-parametrised tests run on.

The native engine (mqcli-native, built by `make install` where cargo is
present) replaces librdkafka's Python produce and consume loops, so the tests
of those loops, their faults and their hostile input run on it too where it
is built, and are not generated at all where it is not (never a skip)."""

from __future__ import annotations

PYTHON_ENGINES = ["librdkafka", "kafka-python"]


def native_built() -> bool:
    from mqcli.core.kafka.native import available

    return available()


def kafka_engines() -> list[str]:
    """Both Python engines, and the native one where it is built."""
    return PYTHON_ENGINES + (["native"] if native_built() else [])
