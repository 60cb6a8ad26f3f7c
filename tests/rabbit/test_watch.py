"""`rabbit queues list --watch` and `rabbit overview --watch` against the real broker:
JSON Lines through a pipe, the live table through a pseudo-terminal, Ctrl-C is exit 0."""

from __future__ import annotations

from typing import Any

from tests.watchlib import Watching


def test_queues_watch_streams_json_lines_with_rates(amqp: Any, queue: Any) -> None:
    q = queue("watched")
    for i in range(40):
        amqp.publish(q, f"m{i}")
    w = Watching(["rabbit", "queues", "list", "--match", f"^{q}$", "--watch", "300ms"])
    try:
        w.until(lambda: any(r["ready"] == 40 for r in w.records()))
        for _ in range(30):
            amqp.channel().basic_get(q, auto_ack=True)
        # The broker's statistics catch up within a second or two; the rate is ours.
        w.until(lambda: any(r["ready"] == 10 for r in w.records()))
        w.until(lambda: any((r["depth_per_s"] or 0) < 0 for r in w.records()))
        assert w.interrupt() == 0, w.err.decode()
    finally:
        w.kill()
    records = w.records()
    assert all(r["name"] == q and r["time"].endswith("Z") for r in records)
    assert set(records[0]) >= {"time", "name", "ready", "unacked", "consumers", "depth_per_s", "eta_s"}
    assert records[0]["depth_per_s"] is None  # no rate before the second snapshot
    assert w.err == b""


def test_queues_watch_redraws_a_live_table_on_a_terminal(amqp: Any, queue: Any) -> None:
    q = queue("live")
    for i in range(5):
        amqp.publish(q, f"m{i}")
    env = {"TERM": "xterm-256color", "COLUMNS": "200"}
    w = Watching(["rabbit", "queues", "list", "--match", f"^{q}$", "--watch", "300ms"], tty=True, env=env)
    try:
        w.until(lambda: w.text.count("every 300ms (Ctrl-C to stop)") >= 3)
        assert w.interrupt() == 0, w.err.decode()
    finally:
        w.kill()
    text = w.text
    # Drawn in place: each redraw moves the cursor back up over the last table.
    assert "\x1b[1A" in text and "\x1b[2K" in text
    assert q in text and "depth/s" in text and "trend" in text
    assert "{" not in text  # a table, not JSON Lines


def test_overview_watch_and_tsv_refused(cli: Any) -> None:
    w = Watching(["rabbit", "overview", "--watch", "300ms", "-o", "json"])
    try:
        w.until(lambda: len(w.records()) >= 2)
        assert w.interrupt() == 0, w.err.decode()
    finally:
        w.kill()
    first, second = w.records()[:2]
    assert first["messages_per_s"] is None and isinstance(second["messages_per_s"], float)
    assert {"cluster_name", "totals", "rates", "eta_s"} <= set(second)
    r = cli("rabbit", "queues", "list", "--watch", "-o", "tsv")
    assert r.exit_code == 2 and "live table or JSON Lines" in r.stderr
