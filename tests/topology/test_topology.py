"""`mqcli apply`, `diff` and `export` against the real brokers (both Kafka engines).

Every manifest names objects under the test's own prefix, and every --prune
and export is scoped to it with --match, since the brokers are shared."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from tests.conftest import Run
from tests.topology.conftest import management, match, vhost_names

pytestmark = [pytest.mark.kafka, pytest.mark.rabbit]


def manifest(prefix: str, partitions: int = 2, retention: int = 604800000, queue_type: str = "quorum") -> str:
    p = prefix
    return textwrap.dedent(
        f"""
        kafka:
          topics:
            {p}.orders: {{partitions: {partitions}, replication_factor: 1, config: {{retention.ms: {retention}, cleanup.policy: delete}}}}
        rabbit:
          vhost: /
          exchanges:
            {p}.events: {{type: topic}}
          queues:
            {p}.jobs: {{type: {queue_type}, arguments: {{x-dead-letter-exchange: "", x-dead-letter-routing-key: {p}.jobs.dead}}}}
            {p}.jobs.dead: {{}}
          bindings:
            - {{exchange: {p}.events, queue: {p}.jobs, routing_key: "job.*"}}
          policies:
            {p}.ttl-dead: {{pattern: "^{p}\\\\.jobs\\\\.dead$$", definition: {{message-ttl: 86400000}}, apply_to: queues}}
        """
    ).lstrip()


def write(tmp_path: Path, text: str, name: str = "topology.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def topic_configs(admin: Any, topic: str) -> dict[str, str]:
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    entries = described["topic"][topic]
    return {k: v["value"] for k, v in entries.items() if v.get("config_source") == "DYNAMIC_TOPIC_CONFIG"}


def partitions(admin: Any, topic: str) -> int:
    (desc,) = admin.describe_topics([topic])
    return len(desc["partitions"])


def topics(admin: Any, prefix: str) -> list[str]:
    return sorted(t for t in admin.list_topics() if t.startswith(prefix))


def bindings(prefix: str) -> list[tuple[str, str, str]]:
    return sorted(
        (b["source"], b["destination"], b["routing_key"])
        for b in management("GET", "/api/bindings/%2F")
        if b["destination"].startswith(prefix) and b["source"]
    )


def test_apply_on_empty_brokers_then_nothing_to_do(
    cli: Callable[..., Run], kafka_engine: str, prefix: str, admin: Any, tmp_path: Path
) -> None:
    file = write(tmp_path, manifest(prefix))
    first = cli("apply", "-f", file)
    assert first.exit_code == 0, first.stderr
    assert first.stdout == ""
    assert f"+ kafka topic {prefix}.orders" in first.stderr
    assert "applied" in first.stderr and "6 created" in first.stderr

    assert topics(admin, prefix) == [f"{prefix}.orders"]
    assert partitions(admin, f"{prefix}.orders") == 2
    assert topic_configs(admin, f"{prefix}.orders") == {"retention.ms": "604800000", "cleanup.policy": "delete"}
    queues = {q["name"]: q for q in management("GET", "/api/queues/%2F") if q["name"].startswith(prefix)}
    assert sorted(queues) == [f"{prefix}.jobs", f"{prefix}.jobs.dead"]
    assert queues[f"{prefix}.jobs"]["type"] == "quorum"
    assert queues[f"{prefix}.jobs"]["arguments"]["x-dead-letter-routing-key"] == f"{prefix}.jobs.dead"
    assert vhost_names("exchanges", prefix) == [f"{prefix}.events"]
    assert bindings(prefix)[0] == (f"{prefix}.events", f"{prefix}.jobs", "job.*")
    (policy,) = [p for p in management("GET", "/api/policies/%2F") if p["name"].startswith(prefix)]
    assert policy["definition"] == {"message-ttl": 86400000} and policy["apply-to"] == "queues"

    second = cli("apply", "-f", file)
    assert second.exit_code == 0, second.stderr
    assert "nothing to do" in second.stderr
    clean = cli("diff", "-f", file)
    assert clean.exit_code == 0, clean.stderr
    assert clean.stdout == ""
    assert "in sync" in clean.stderr
    doc = json.loads(cli("apply", "-f", file, "-o", "json").stdout)
    assert doc == {"in_sync": True, "changes": [], "refused": [], "dry_run": False, "applied": 0}


def test_drift_is_found_by_diff_and_fixed_by_apply(
    cli: Callable[..., Run], kafka_engine: str, prefix: str, admin: Any, amqp: Any, tmp_path: Path
) -> None:
    file = write(tmp_path, manifest(prefix))
    assert cli("apply", "-f", file).exit_code == 0
    # Drift made behind mqcli's back: a topic config, a lost binding, a changed policy.
    admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, f"{prefix}.orders", {"retention.ms": "1000"})], incremental=True
    )
    amqp.channel().queue_unbind(f"{prefix}.jobs", f"{prefix}.events", routing_key="job.*")
    management(
        "PUT",
        f"/api/policies/%2F/{prefix}.ttl-dead",
        {"pattern": f"^{prefix}\\.jobs\\.dead$", "definition": {"message-ttl": 5}, "apply-to": "queues"},
    )

    drift = cli("diff", "-f", file)
    assert drift.exit_code == 1, drift.stderr
    assert drift.stdout.splitlines() == [
        f"~ kafka topic {prefix}.orders: config.retention.ms 1000 -> 604800000",
        f"+ rabbit binding {prefix}.events -> queue {prefix}.jobs [job.*]",
        f'~ rabbit policy {prefix}.ttl-dead: definition {{"message-ttl": 5}} -> {{"message-ttl": 86400000}}',
    ]
    doc = json.loads(cli("diff", "-f", file, "-o", "json").stdout)
    assert doc["in_sync"] is False
    assert [(c["action"], c["kind"]) for c in doc["changes"]] == [
        ("change", "topic"),
        ("create", "binding"),
        ("change", "policy"),
    ]
    assert doc["changes"][0]["fields"] == [{"field": "config.retention.ms", "from": "1000", "to": "604800000"}]

    fixed = cli("apply", "-f", file)
    assert fixed.exit_code == 0, fixed.stderr
    assert "1 created, 2 changed, 0 deleted" in fixed.stderr
    assert topic_configs(admin, f"{prefix}.orders")["retention.ms"] == "604800000"
    assert bindings(prefix)[0] == (f"{prefix}.events", f"{prefix}.jobs", "job.*")
    assert cli("diff", "-f", file).exit_code == 0


def test_more_partitions_are_added(
    cli: Callable[..., Run], kafka_engine: str, prefix: str, admin: Any, tmp_path: Path
) -> None:
    assert cli("apply", "-f", write(tmp_path, manifest(prefix, partitions=2))).exit_code == 0
    grown = cli("apply", "-f", write(tmp_path, manifest(prefix, partitions=5), "grown.yaml"))
    assert grown.exit_code == 0, grown.stderr
    assert f"~ kafka topic {prefix}.orders: partitions 2 -> 5" in grown.stderr
    assert partitions(admin, f"{prefix}.orders") == 5


def test_impossible_changes_are_refused_and_nothing_is_applied(
    cli: Callable[..., Run], kafka_engine: str, prefix: str, admin: Any, tmp_path: Path
) -> None:
    assert cli("apply", "-f", write(tmp_path, manifest(prefix, partitions=3))).exit_code == 0
    # Fewer partitions and another queue type (refused), beside changes that
    # alone would apply (a config, a new topic and a new queue).
    text = manifest(prefix, partitions=1, retention=1000, queue_type="classic")
    text = text.replace("kafka:\n  topics:\n", f"kafka:\n  topics:\n    {prefix}.new: {{partitions: 1}}\n")
    text = text.replace(f"    {prefix}.jobs.dead: {{}}\n", f"    {prefix}.jobs.dead: {{}}\n    {prefix}.extra: {{}}\n")
    file = write(tmp_path, text, "impossible.yaml")

    for command in ("apply", "diff"):
        run = cli(command, "-f", file)
        assert run.exit_code == 1, run.stderr
    refused = cli("apply", "-f", file)
    assert f"! kafka topic {prefix}.orders: partitions 3 -> 1: Kafka cannot remove partitions" in refused.stderr
    assert "instead: keep partitions: 3" in refused.stderr
    assert f"! rabbit queue {prefix}.jobs: type quorum -> classic" in refused.stderr
    assert "2 change(s) in" in refused.stderr and "nothing was applied" in refused.stderr
    # Nothing of the plan happened.
    assert topics(admin, prefix) == [f"{prefix}.orders"]
    assert partitions(admin, f"{prefix}.orders") == 3
    assert topic_configs(admin, f"{prefix}.orders")["retention.ms"] == "604800000"
    assert vhost_names("queues", prefix) == [f"{prefix}.jobs", f"{prefix}.jobs.dead"]
    doc = json.loads(cli("apply", "-f", file, "-o", "json").stdout)
    assert [(r["kind"], r["field"]) for r in doc["refused"]] == [("topic", "partitions"), ("queue", "type")]
    assert doc["applied"] == 0


def test_prune_needs_yes_without_a_terminal(
    cli: Callable[..., Run], kafka_engine: str, prefix: str, admin: Any, amqp: Any, tmp_path: Path
) -> None:
    file = write(tmp_path, manifest(prefix))
    assert cli("apply", "-f", file).exit_code == 0
    # Objects under the prefix that the manifest does not name.
    admin.create_topics({f"{prefix}.stray": {"num_partitions": 1, "replication_factor": 1}}, wait_for_metadata=True)
    amqp.channel().queue_declare(f"{prefix}.stray", durable=True)
    amqp.channel().queue_bind(f"{prefix}.stray", f"{prefix}.events", routing_key="stray")
    scope = match(prefix)

    refused = cli("apply", "-f", file, "--prune", "--match", scope)
    assert refused.exit_code == 2, refused.stderr
    assert "no terminal to confirm" in refused.stderr and "--yes" in refused.stderr
    assert f"{prefix}.stray" in topics(admin, prefix)

    assert cli("apply", "-f", file).exit_code == 0  # without --prune, strays stay
    diff = cli("diff", "-f", file, "--prune", "--match", scope)
    assert diff.exit_code == 1
    assert diff.stdout.splitlines() == [
        f"- rabbit binding {prefix}.events -> queue {prefix}.stray [stray]",
        f"- rabbit queue {prefix}.stray",
        f"- kafka topic {prefix}.stray",
    ]
    dry = cli("apply", "-f", file, "--prune", "--match", scope, "--dry-run")
    assert dry.exit_code == 0 and "nothing changed" in dry.stderr
    assert f"{prefix}.stray" in vhost_names("queues", prefix)

    pruned = cli("apply", "-f", file, "--prune", "--match", scope, "--yes")
    assert pruned.exit_code == 0, pruned.stderr
    assert "3 deleted" in pruned.stderr
    assert f"{prefix}.stray" not in vhost_names("queues", prefix)
    assert cli("diff", "-f", file, "--prune", "--match", scope).exit_code == 0


def test_export_then_apply_on_empty_brokers_then_diff_is_clean(
    cli: Callable[..., Run], kafka_engine: str, prefix: str, admin: Any, tmp_path: Path
) -> None:
    assert cli("apply", "-f", write(tmp_path, manifest(prefix))).exit_code == 0
    exported = cli("export", "--match", match(prefix))
    assert exported.exit_code == 0, exported.stderr
    text = exported.stdout
    assert f"{prefix}.orders" in text and "__consumer_offsets" not in text and "amq." not in text

    # Empty the brokers of what was exported, then recreate it from the export (on stdin).
    admin.delete_topics([f"{prefix}.orders"])
    for kind in ("policies", "queues", "exchanges"):
        for name in vhost_names(kind, prefix):
            management("DELETE", f"/api/{kind}/%2F/{name}")
    _wait_gone(admin, f"{prefix}.orders")

    recreated = cli("apply", "-f", "-", input=text)
    assert recreated.exit_code == 0, recreated.stderr
    assert "6 created" in recreated.stderr
    file = write(tmp_path, text, "exported.yaml")
    clean = cli("diff", "-f", file, "--prune", "--match", match(prefix))
    assert clean.exit_code == 0, clean.stdout + clean.stderr
    assert cli("export", "--match", match(prefix)).stdout == text
    # Only one broker.
    rabbit_only = cli("export", "--rabbit", "--match", match(prefix)).stdout
    assert "kafka:" not in rabbit_only and "rabbit:" in rabbit_only


def _wait_gone(admin: Any, topic: str, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while topic in admin.list_topics():
        assert time.monotonic() < deadline, f"{topic} was not deleted"
        time.sleep(0.2)


def test_manifest_errors_name_file_and_line(cli: Callable[..., Run], prefix: str, tmp_path: Path) -> None:
    file = write(tmp_path, f"kafka:\n  topics:\n    {prefix}: {{partitions: -1}}\n")
    for command in ("diff", "apply"):
        run = cli(command, "-f", file)
        assert run.exit_code == 3
        assert run.stderr.strip() == (
            f"mqcli: error: {file}:3: kafka.topics.{prefix}.partitions: expected a whole number of at least 1"
        )
    missing = cli("apply", "-f", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 3 and "topology manifest not found" in missing.stderr
    bad_regex = cli("diff", "-f", file, "--match", "(")
    assert bad_regex.exit_code == 2


def _on_a_terminal(args: list[str], answer: str) -> tuple[int, str]:
    """Run mqcli in-process as if stdin and stderr were a terminal, answering `answer`."""
    import io

    from typer.testing import CliRunner

    from mqcli.cli.app import app
    from mqcli.cli.context import AppContext

    err = io.StringIO()
    context = AppContext.create(stdout=io.BytesIO(), stderr=err)
    context.stdin_isatty = context.stderr_isatty = True
    result = CliRunner().invoke(app, args, input=answer, obj=context, catch_exceptions=False)
    return result.exit_code, err.getvalue() + result.stderr


def test_prune_on_a_terminal_asks_first(
    cli: Callable[..., Run], kafka_engine: str, prefix: str, admin: Any, amqp: Any, tmp_path: Path
) -> None:
    file = write(tmp_path, manifest(prefix))
    assert cli("apply", "-f", file).exit_code == 0
    amqp.channel().queue_declare(f"{prefix}.stray", durable=True)
    args = ["apply", "-f", file, "--prune", "--match", match(prefix)]

    code, err = _on_a_terminal(args, "n\n")
    assert code == 1, err
    assert f"- rabbit queue {prefix}.stray" in err and "delete the 1 listed above?" in err
    assert "not confirmed: nothing was applied" in err
    assert f"{prefix}.stray" in vhost_names("queues", prefix)

    code, err = _on_a_terminal(args, "y\n")
    assert code == 0, err
    assert f"{prefix}.stray" not in vhost_names("queues", prefix)
