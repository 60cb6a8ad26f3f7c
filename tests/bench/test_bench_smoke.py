"""Smoke test of the benchmark itself (issue 6): `python -m tests.bench` at the
tiny size, a few scenarios (start-up, one per broker), against the local
brokers.  It checks that the runner works and writes its report -- never how
fast anything is."""

from __future__ import annotations

import json
import os
import pwd
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.kafka, pytest.mark.rabbit]

SCENARIOS = "startup,one-shot,kafka-produce,rabbit-publish"


@pytest.fixture(scope="session")
def bench_brokers() -> None:
    """Both local brokers must answer: a missing one fails, never skips."""
    for name, port in (("Kafka", 9092), ("RabbitMQ", 5672)):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        except OSError:
            pytest.fail(
                f"{name} is not answering on 127.0.0.1:{port}: start it with `make brokers` (see brokers/README.md)"
            )


def test_bench_runner_writes_report(bench_brokers: None, tmp_path: Path) -> None:
    out = tmp_path / "bench-results"
    env = dict(os.environ)
    # The isolation fixture points HOME at a temp dir; mvn (fetching PerfTest
    # once) should use the real ~/.m2 cache rather than download it again.
    env["HOME"] = pwd.getpwuid(os.getuid()).pw_dir
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        # --no-go-build: building kaf and rabtap takes minutes (make bench does it).
        [
            sys.executable,
            "-m",
            "tests.bench",
            "--size",
            "tiny",
            "--only",
            SCENARIOS,
            "--no-go-build",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=240,
        check=False,
    )
    log = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, log[-3000:]
    assert proc.stdout == b"", "the runner writes nothing on stdout"

    md = (out / "report.md").read_text(encoding="utf-8")
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    rows = data["rows"]
    assert data["size"] == "tiny"
    assert data["machine"]["nproc"] >= 1 and data["machine"]["python"]

    # Every mqcli row succeeded; every row that succeeded has figures.
    assert not [r for r in rows if r["role"] == "mqcli" and r["error"]], log[-3000:]
    throughput = [r for r in rows if r["kind"] == "throughput" and not r["error"]]
    assert throughput and all(r["msg_s"] > 0 and r["wall_s"] > 0 and r["messages"] > 0 for r in throughput)
    assert all(r["peak_rss_mb"] > 0 for r in throughput)
    tools = {(r["sid"].split("/")[0], r["tool"]) for r in throughput}
    for sid in ("kafka-produce", "rabbit-publish"):
        assert (sid, "mqcli kafka produce" if sid.startswith("kafka") else "mqcli rabbit publish") in tools
    # kcat comes with `make brokers-deps`: the Kafka comparison has a reference row with a ratio.
    kcat = [r for r in throughput if r["tool"] == "kcat -P"]
    assert kcat and all(r["ratio"] > 0 for r in kcat)
    startup = [r for r in rows if r["sid"] == "startup" and r["tool"] == "mqcli --help"]
    assert startup and startup[0]["extra"]["p50_ms"] > 0 and not startup[0]["error"]

    # One-shot rows: each of the four one-message commands, with its ratio to the bare script.
    oneshot = [r for r in rows if r["sid"].startswith("one-shot/") and r["role"] == "mqcli"]
    assert len(oneshot) == 4, [r["tool"] for r in oneshot]
    for r in oneshot:
        assert r["extra"]["p50_ms"] > 0 and any(k.startswith("vs bare") for k in r["extra"]), r

    # The Markdown report has the machine line and a table row per result row.
    assert "2 cores" in md or f"{data['machine']['nproc']} cores" in md
    assert "| mqcli kafka produce |" in md and "| mqcli rabbit publish |" in md
    assert md.count("\n| ") >= len(rows)


# The rows of issues 11 (Avro), 12 (move), 13 (listings) and 16 (stream consume), at the
# tiny size; avro-memory repeats the Avro rows' commands and admin-watch is not measured
# at this size, so they are left out to keep this test short.
MORE_SCENARIOS = "avro-produce,avro-consume,move,admin-queues-list,admin-groups-describe,stream-consume"


def test_bench_runner_more_rows(bench_brokers: None, tmp_path: Path) -> None:
    out = tmp_path / "bench-results"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--size", "tiny", "--only", MORE_SCENARIOS, "--out", str(out)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=240,
        check=False,
    )
    log = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, log[-3000:]
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    rows = data["rows"]
    assert not [r for r in rows if r["error"]], log[-3000:]

    def row(sid: str, tool: str) -> dict[str, Any]:
        found = [r for r in rows if r["sid"] == sid and r["tool"] == tool]
        assert len(found) == 1, (sid, tool, [(r["sid"], r["tool"]) for r in rows])
        return found[0]

    # Throughput rows: mqcli beside its reference, which carries mqcli's ratio to it.
    pairs = [
        ("avro-produce", "mqcli kafka produce --value-schema", "confluent-kafka AvroSerializer loop"),
        ("avro-consume", "mqcli kafka consume -o json", "confluent-kafka AvroDeserializer loop"),
        ("move/kafka-kafka", "mqcli move", "mqcli kafka consume -o json | mqcli kafka produce -i jsonl"),
        ("move/rabbit-kafka", "mqcli move", "mqcli rabbit consume -o json | mqcli kafka produce -i jsonl"),
        ("move/kafka-rabbit", "mqcli move", "mqcli kafka consume -o json | mqcli rabbit publish -i jsonl --persistent"),
        ("stream-consume", "mqcli rabbit consume --offset first -e", "pika loop"),
    ]
    for sid, mine, ref in pairs:
        n = data["sizes"][sid.split("-")[0].split("/")[0]]  # the avro, move or stream size
        m, r = row(sid, mine), row(sid, ref)
        assert m["messages"] == r["messages"] == n and m["msg_s"] > 0 and m["peak_rss_mb"] > 0, m
        assert r["ratio"] == pytest.approx(m["msg_s"] / r["msg_s"]), r
    # Listings: medians of whole processes, mqcli's ratio to each peer measured alongside.
    for sid, mine, ref in (
        ("admin-queues-list", "mqcli rabbit queues list", "rabbitmqadmin list queues"),
        ("admin-groups-describe", "mqcli kafka groups describe", "kafka-consumer-groups --describe"),
    ):
        m, r = row(sid, mine), row(sid, ref)
        assert m["extra"]["p50_ms"] > 0 and r["extra"]["p50_ms"] > 0
        assert m["extra"][f"vs {ref}"] == pytest.approx(m["extra"]["p50_ms"] / r["extra"]["p50_ms"])
    targets = {t["target"] for t in data["targets"]}
    assert "Avro produce: mqcli / confluent-kafka serializer loop" in targets, targets
    assert "move Kafka -> RabbitMQ: move / the consume | produce pipe" in targets, targets
