"""`mqcli kafka topics alter-config` and `add-partitions` (both engines)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafka.admin import ConfigResource, ConfigResourceType

from tests.conftest import Run


def overrides(admin: Any, topic: str) -> dict[str, str]:
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    entries = described["topic"][topic]
    return {k: v["value"] for k, v in entries.items() if v.get("config_source") == "DYNAMIC_TOPIC_CONFIG"}


def test_alter_config_sets_and_resets_incrementally(cli: Callable[..., Run], admin: Any, topic: str) -> None:
    r = cli("kafka", "topics", "alter-config", topic, "retention.ms=3600000", "segment.ms=600000")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert f"altered topic {topic}: retention.ms=3600000, segment.ms=600000" in r.stderr
    assert overrides(admin, topic) == {"retention.ms": "3600000", "segment.ms": "600000"}

    # Only what is named changes: segment.ms keeps its value.
    r = cli("kafka", "topics", "alter-config", topic, "cleanup.policy=compact", "--delete", "retention.ms")
    assert r.exit_code == 0, r.stderr
    assert overrides(admin, topic) == {"segment.ms": "600000", "cleanup.policy": "compact"}


def test_alter_config_errors(cli: Callable[..., Run], topic: str, unique_name: Callable[[str], str]) -> None:
    bad_value = cli("kafka", "topics", "alter-config", topic, "retention.ms=soon")
    assert bad_value.exit_code == 2
    assert "retention.ms" in bad_value.stderr and bad_value.stderr.count("\n") == 1
    unknown = cli("kafka", "topics", "alter-config", topic, "no.such.config=1")
    assert unknown.exit_code == 2 and "no.such.config" in unknown.stderr
    assert cli("kafka", "topics", "alter-config", unique_name("missing"), "retention.ms=1").exit_code == 6
    assert cli("kafka", "topics", "alter-config", topic, "retention.ms").exit_code == 2  # not name=value
    assert cli("kafka", "topics", "alter-config", topic).exit_code == 2  # nothing to change
    both = cli("kafka", "topics", "alter-config", topic, "retention.ms=1", "--delete", "retention.ms")
    assert both.exit_code == 2 and "both set and --delete" in both.stderr


def test_add_partitions(cli: Callable[..., Run], admin: Any, topic: str, unique_name: Callable[[str], str]) -> None:
    r = cli("kafka", "topics", "add-partitions", topic, "3")
    assert r.exit_code == 0, r.stderr
    assert f"topic {topic}: 1 -> 3 partitions" in r.stderr
    (desc,) = admin.describe_topics([topic])
    assert len(desc["partitions"]) == 3

    same = cli("kafka", "topics", "add-partitions", topic, "3")
    assert same.exit_code == 0 and "has 3 partitions already" in same.stderr
    fewer = cli("kafka", "topics", "add-partitions", topic, "2")
    assert fewer.exit_code == 2 and "Kafka cannot remove partitions" in fewer.stderr
    assert cli("kafka", "topics", "add-partitions", unique_name("missing"), "2").exit_code == 6
    assert cli("kafka", "topics", "add-partitions", topic, "0").exit_code == 2
