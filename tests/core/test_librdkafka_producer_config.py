"""The librdkafka producer's configuration from a profile: a batch size the
profile sets is passed on as batch.size, whatever its value; unset, librdkafka
keeps its own default.  Broker-free: the client is never created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from mqcli.core.config import resolve_profile
from mqcli.core.errors import UsageError
from mqcli.core.kafka.common import ProduceOptions
from mqcli.core.kafka.librdkafka import producer as rd


def _producer_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, producer_yaml: str) -> dict[str, Any]:
    """The configuration mqcli hands to confluent_kafka.Producer for this profile."""
    seen: dict[str, Any] = {}

    def capture(cfg: dict[str, Any]) -> None:
        seen.update(cfg)
        raise KafkaException(KafkaError(KafkaError._INVALID_ARG, "captured"))

    monkeypatch.setattr(rd, "_RdProducer", capture)
    path = tmp_path / "c.yaml"
    path.write_text(f"profiles:\n  p:\n    kafka:\n      producer: {producer_yaml}\n")
    kafka = resolve_profile(str(path), None, {}).kafka
    d = kafka.producer
    options = ProduceOptions(
        acks=d.acks,
        compression=d.compression,
        linger_ms=d.linger_ms,
        batch_size=d.batch_size,
        idempotence=d.idempotence,
        delivery_timeout=d.delivery_timeout,
    )
    with pytest.raises(UsageError, match="invalid producer settings: captured"):
        rd.Producer(kafka, options)
    return seen


def test_explicit_default_sized_batch_reaches_librdkafka(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert _producer_config(monkeypatch, tmp_path, "{batch_size: 16384}")["batch.size"] == 16384


def test_unset_batch_size_leaves_librdkafka_its_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = _producer_config(monkeypatch, tmp_path, "{linger_ms: 20}")
    assert "batch.size" not in cfg
    assert cfg["linger.ms"] == 20


def test_a_new_client_does_not_wait_out_librdkafka_reconnect_backoff(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Its second connection (to the broker the bootstrap metadata names) waited
    # half of librdkafka's default 100 ms backoff: 50 ms of every one-message run.
    assert _producer_config(monkeypatch, tmp_path, "{}")["reconnect.backoff.ms"] <= 10
