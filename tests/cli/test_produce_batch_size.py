"""`kafka produce`: a batch size the profile sets reaches the producer whatever
its value (an explicit 16384, the old built-in default, was once dropped).
Broker-free: the engine's admin and producer factories are replaced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mqcli.core.errors import UsageError
from mqcli.core.kafka import engine
from mqcli.core.kafka.common import ProduceOptions


class _Admin:
    """Just enough of an Admin for `produce` without --create: the topic has one partition."""

    def __enter__(self) -> _Admin:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def partitions(self, topic: str) -> list[int]:
        return [0]


@pytest.fixture
def options_seen(monkeypatch: pytest.MonkeyPatch) -> list[ProduceOptions]:
    """The ProduceOptions `produce` hands to the engine; the run stops there (exit code 2)."""
    seen: list[ProduceOptions] = []

    def producer(settings: Any, options: ProduceOptions, profile: str | None = None, messages: Any = None) -> Any:
        seen.append(options)
        raise UsageError("stopped before connecting")

    monkeypatch.setattr(engine, "admin", lambda settings, profile=None: _Admin())
    monkeypatch.setattr(engine, "producer", producer)
    return seen


@pytest.mark.parametrize(
    ("producer_yaml", "flags", "expected"),
    [
        ("{batch_size: 16384}", [], 16384),  # the value kafka-python also uses by default
        ("{batch_size: 1048576}", [], 1048576),
        ("{batch_size: 0}", [], 0),
        ("{linger_ms: 5}", [], None),  # unset: each engine's own default
        ("{batch_size: 16384}", ["--batch-size", "500"], 500),  # the flag wins
    ],
)
def test_profile_batch_size_reaches_the_producer(
    cli: Any,
    options_seen: list[ProduceOptions],
    tmp_path: Path,
    producer_yaml: str,
    flags: list[str],
    expected: int | None,
) -> None:
    (tmp_path / "mqcli.yaml").write_text(f"profiles:\n  p:\n    kafka:\n      producer: {producer_yaml}\n")
    r = cli("kafka", "--engine", "kafka-python", "produce", "t", "v", *flags)
    assert (r.exit_code, r.stderr) == (2, "mqcli: error: stopped before connecting\n")
    assert [o.batch_size for o in options_seen] == [expected]
