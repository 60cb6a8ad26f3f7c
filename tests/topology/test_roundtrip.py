"""Random manifests, within what the brokers allow, round-trip through the real
brokers: apply -> diff clean -> export -> diff of the export clean, and the
export names exactly what the manifest did (both Kafka engines)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqcli.core.topology.manifest import (
    Binding,
    Exchange,
    KafkaTopology,
    Manifest,
    Policy,
    Queue,
    RabbitTopology,
    Topic,
    read_manifest,
    to_yaml,
)
from tests.conftest import Run
from tests.topology.conftest import management, vhost_names

_configs = st.fixed_dictionaries(
    {},
    optional={
        "retention.ms": st.integers(60_000, 10**10).map(str),
        "cleanup.policy": st.sampled_from(["delete", "compact", "compact,delete"]),
        "max.message.bytes": st.integers(1024, 10**6).map(str),
        "segment.ms": st.integers(3_600_000, 10**9).map(str),
    },
)
_classic_args = st.fixed_dictionaries(
    {},
    optional={
        "x-max-length": st.integers(1, 10**6),
        "x-message-ttl": st.integers(0, 10**8),
        "x-max-priority": st.integers(1, 10),
        "x-dead-letter-exchange": st.just(""),
    },
)
_quorum_args = st.fixed_dictionaries(
    {}, optional={"x-max-length": st.integers(1, 10**6), "x-dead-letter-exchange": st.just("")}
)


@st.composite
def _shapes(draw: st.DrawFn) -> dict[str, Any]:
    """A manifest's shape with placeholder names (the prefix is added per example)."""
    topics = [
        (draw(st.integers(1, 4)), draw(st.sampled_from([None, 1])), draw(_configs))
        for _ in range(draw(st.integers(0, 3)))
    ]
    exchanges = [
        (draw(st.sampled_from(["direct", "topic", "fanout", "headers"])), draw(st.booleans()), draw(st.booleans()))
        for _ in range(draw(st.integers(0, 2)))
    ]
    queues = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["classic", "quorum", "stream"]))
        args = draw(_classic_args) if kind == "classic" else draw(_quorum_args) if kind == "quorum" else {}
        queues.append((kind, args))
    bindings = set()
    if queues:
        for _ in range(draw(st.integers(0, 3))):
            source = draw(st.integers(-1, len(exchanges) - 1))  # -1: amq.topic
            bindings.add((source, draw(st.integers(0, len(queues) - 1)), draw(st.sampled_from(["", "a.*", "#", "k"]))))
    policy = draw(st.none() | st.tuples(st.integers(1, 10**6), st.integers(0, 5)))
    return {"topics": topics, "exchanges": exchanges, "queues": queues, "bindings": sorted(bindings), "policy": policy}


def _manifest(prefix: str, shape: dict[str, Any]) -> Manifest:
    topics = {
        f"{prefix}.t{i}": Topic(f"{prefix}.t{i}", parts, rf, dict(config))
        for i, (parts, rf, config) in enumerate(shape["topics"])
    }
    exchanges = {
        f"{prefix}.x{i}": Exchange(f"{prefix}.x{i}", kind, durable, False, internal)
        for i, (kind, durable, internal) in enumerate(shape["exchanges"])
    }
    queues = {
        f"{prefix}.q{i}": Queue(f"{prefix}.q{i}", kind, arguments=dict(args))
        for i, (kind, args) in enumerate(shape["queues"])
    }
    bindings = [
        Binding("amq.topic" if source < 0 else f"{prefix}.x{source}", f"{prefix}.q{queue}", "queue", key)
        for source, queue, key in shape["bindings"]
    ]
    policies = {}
    if shape["policy"] is not None:
        length, priority = shape["policy"]
        name = f"{prefix}.p"
        policies[name] = Policy(name, f"^{re.escape(prefix)}\\.q", {"max-length": length}, "queues", priority)
    return Manifest(KafkaTopology(topics), RabbitTopology("/", exchanges, queues, bindings, policies))


def _cleanup(admin: Any, prefix: str) -> None:
    mine = [t for t in admin.list_topics() if t.startswith(prefix)]
    if mine:
        admin.delete_topics(mine)
    for kind in ("policies", "queues", "exchanges"):
        for name in vhost_names(kind, prefix):
            management("DELETE", f"/api/{kind}/%2F/{name}")


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(shape=_shapes())
def test_random_manifests_round_trip_through_the_brokers(
    cli: Callable[..., Run], kafka_engine: str, prefix: str, admin: Any, tmp_path: Path, shape: dict[str, Any]
) -> None:
    example = f"{prefix}-{uuid.uuid4().hex[:6]}"  # fresh names for every example
    desired = _manifest(example, shape)
    file = tmp_path / f"{example}.yaml"
    file.write_text(to_yaml(desired))
    scope = "^" + re.escape(example)
    try:
        applied = cli("apply", "-f", str(file))
        assert applied.exit_code == 0, applied.stderr + file.read_text()
        diff = cli("diff", "-f", str(file), "--prune", "--match", scope)
        assert diff.exit_code == 0, diff.stdout + diff.stderr

        exported = cli("export", "--match", scope)
        assert exported.exit_code == 0, exported.stderr
        again = tmp_path / f"{example}.export.yaml"
        again.write_text(exported.stdout)
        back = read_manifest(again, {})
        assert back.kafka is not None and desired.kafka is not None
        assert sorted(back.kafka.topics) == sorted(desired.kafka.topics)
        for name, topic in desired.kafka.topics.items():
            assert back.kafka.topics[name].config == topic.config
            assert back.kafka.topics[name].partitions == topic.partitions
        assert back.rabbit is not None and desired.rabbit is not None
        assert back.rabbit.exchanges == desired.rabbit.exchanges
        assert back.rabbit.queues == desired.rabbit.queues
        assert back.rabbit.policies == desired.rabbit.policies
        assert sorted(b.key() for b in back.rabbit.bindings) == sorted(b.key() for b in desired.rabbit.bindings)
        clean = cli("diff", "-f", str(again), "--prune", "--match", scope)
        assert clean.exit_code == 0, clean.stdout + clean.stderr
    finally:
        _cleanup(admin, example)
