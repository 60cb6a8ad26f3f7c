"""Connections: ping, hosts lists, authentication and TLS (amqps on 5671)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mqcli.core.config import RabbitSettings, TlsSettings
from mqcli.core.errors import ConnectionFailed
from mqcli.core.rabbit.client import ping
from tests.rabbit.conftest import TLS_DIR


def test_ping_reports_server(cli):
    assert ping(RabbitSettings(hosts=(("127.0.0.1", 5672),))).startswith("127.0.0.1:5672 vhost / RabbitMQ ")
    r = cli("ping", "--rabbit")
    assert r.exit_code == 0, r.stderr
    assert "RabbitMQ" in r.stdout


def test_hosts_are_tried_in_order():
    settings = RabbitSettings(hosts=(("127.0.0.1", 1), ("127.0.0.1", 5672)))
    assert ping(settings).startswith("127.0.0.1:5672 ")


def test_refused_names_host_port_and_profile(cli):
    started = time.monotonic()
    r = cli("rabbit", "queue", "inspect", "q", env={"MQCLI_RABBIT_URL": "amqp://guest:guest@127.0.0.1:1/"})
    assert r.exit_code == 4
    assert "127.0.0.1:1" in r.stderr and "profile local" in r.stderr and "refused" in r.stderr
    assert time.monotonic() - started < 10


def test_bad_password_exit_4_and_masked(cli):
    r = cli("rabbit", "queue", "inspect", "q", env={"MQCLI_RABBIT_URL": "amqp://guest:wrong-secret@127.0.0.1:5672/"})
    assert r.exit_code == 4
    assert "authentication" in r.stderr
    assert "wrong-secret" not in r.stderr


def test_unknown_vhost_exit_4(cli):
    r = cli("rabbit", "queue", "inspect", "q", env={"MQCLI_RABBIT_URL": "amqp://guest:guest@127.0.0.1:5672/nope"})
    assert r.exit_code == 4


def test_plain_amqp_against_tls_port_fails_fast():
    with pytest.raises(ConnectionFailed):
        ping(RabbitSettings(hosts=(("127.0.0.1", 5671),), connection_timeout=3))


def _tls_config(path: Path, ca: str, *, client_cert: bool = True) -> None:
    cert = f"\n        cert: {TLS_DIR / 'client.crt'}\n        key: {TLS_DIR / 'client.key'}" if client_cert else ""
    path.write_text(
        "default: tls\n"
        "profiles:\n"
        "  tls:\n"
        "    rabbit:\n"
        "      url: amqps://guest:guest@127.0.0.1:5671/\n"
        "      tls:\n"
        f"        ca: {TLS_DIR / ca}{cert}\n"
    )


def test_tls_with_ca_and_client_cert(cli, isolate, unique_name, amqp):
    _tls_config(isolate / "mqcli.yaml", "ca.crt")
    q = unique_name("tls")
    amqp.queues.append(q)
    r = cli("rabbit", "publish", "--queue", q, "--declare", "over tls")
    assert r.exit_code == 0, r.stderr
    r = cli("rabbit", "consume", q, "-e")
    assert (r.exit_code, r.stdout) == (0, "over tls\n")
    r = cli("ping", "--rabbit")
    assert r.exit_code == 0 and "5671" in r.stdout


def test_tls_ca_only(cli, isolate):
    _tls_config(isolate / "mqcli.yaml", "ca.crt", client_cert=False)
    assert cli("ping", "--rabbit").exit_code == 0


def test_tls_unverified_certificate_is_refused(cli, isolate):
    _tls_config(isolate / "mqcli.yaml", "other-ca.crt", client_cert=False)
    r = cli("rabbit", "queue", "inspect", "q")
    assert r.exit_code == 4
    assert "certificate verify" in r.stderr.lower() or "verification failed" in r.stderr.lower()
    assert "127.0.0.1:5671" in r.stderr


def test_tls_settings_direct():
    settings = RabbitSettings(hosts=(("127.0.0.1", 5671),), tls=TlsSettings(ca=str(TLS_DIR / "other-ca.crt")))
    with pytest.raises(ConnectionFailed) as e:
        ping(settings)
    assert "TLS certificate verification failed" in e.value.message


def test_reconnect_backoff_is_bounded():
    from mqcli.core.rabbit.client import ReconnectPolicy

    assert list(ReconnectPolicy(attempts=7).delays()) == [0.5, 1, 2, 4, 5, 5, 5]
    assert list(ReconnectPolicy().delays()) == []  # the default: no reconnecting


def test_reconnect_gives_up_after_the_attempts():
    from mqcli.core.rabbit.client import ConnectionLost, RabbitClient, ReconnectPolicy

    client = RabbitClient(RabbitSettings(hosts=(("127.0.0.1", 5672),)))
    client.settings = RabbitSettings(hosts=(("127.0.0.1", 1),))  # the broker "went away"
    notes: list[str] = []
    started = time.monotonic()
    with pytest.raises(ConnectionLost) as e:
        client.reconnect(ReconnectPolicy(attempts=2, first=0.1), ConnectionLost("lost"), notes.append)
    assert "gave up after 2 reconnect attempt(s)" in e.value.message and "127.0.0.1:1" in e.value.message
    assert len(notes) == 2 and "attempt 2/2" in notes[1]
    assert time.monotonic() - started < 10
