"""`mqcli ping` against the real local brokers, and against nothing."""

from __future__ import annotations

import time
from pathlib import Path


def test_ping_both_brokers(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("ping")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("kafka: ok") and "rabbit: ok" in r.stdout


def test_ping_one_broker(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("ping", "--rabbit")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("rabbit: ok") and "kafka" not in r.stdout


def _unreachable(tmp_path: Path) -> Path:
    cfg = tmp_path / "mqcli.yaml"
    cfg.write_text(
        "default: nowhere\nprofiles:\n  nowhere:\n"
        "    kafka: {bootstrap_servers: '127.0.0.1:1', connect_timeout: 2s}\n"
        "    rabbit: {url: 'amqp://guest:guest@127.0.0.1:1/', connection_timeout: 2s}\n"
    )
    return cfg


def test_unreachable_kafka_fails_fast_naming_host_and_profile(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _unreachable(tmp_path)
    started = time.monotonic()
    r = cli("ping", "--kafka")
    assert r.exit_code == 4
    assert "127.0.0.1:1" in r.stderr and "nowhere" in r.stderr
    assert time.monotonic() - started < 30  # a hang would be minutes; this is not a speed test


def test_unreachable_rabbit_fails_fast_naming_host_and_profile(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _unreachable(tmp_path)
    r = cli("ping", "--rabbit")
    assert r.exit_code == 4
    assert "127.0.0.1:1" in r.stderr and "nowhere" in r.stderr


def test_wait_keeps_trying_then_fails(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _unreachable(tmp_path)
    started = time.monotonic()
    r = cli("--connect-timeout", "500ms", "ping", "--rabbit", "--wait", "3s")
    assert r.exit_code == 4
    assert time.monotonic() - started >= 3
