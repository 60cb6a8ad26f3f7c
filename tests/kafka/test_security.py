"""SASL (PLAIN, SCRAM-SHA-256/512 on 9093) and TLS (9094) from a profile,
against the local broker's extra listeners and its throw-away CA."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.kafka.conftest import HOST, SASL_PORT, TLS_DIR, TLS_PORT, write_profile


@pytest.fixture
def profile_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cwd holds mqcli.yaml; the address comes from it, not the environment."""
    monkeypatch.delenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    return tmp_path


def _round_trip(cli: Any, topic: str) -> None:
    r = cli("kafka", "produce", topic, "-K", ":", input=b"k:secure\n")
    assert r.exit_code == 0, r.stderr
    r = cli("kafka", "consume", topic, "-e", "--format", "{key}={value}")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "k=secure\n"


def _sasl(mechanism: str, password: str = "mqcli-secret") -> dict[str, Any]:
    return {
        "bootstrap_servers": f"{HOST}:{SASL_PORT}",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "username": "mqcli",
        "password": password,
        "connect_timeout": "3s",
    }


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_round_trip(cli: Any, topic: str, profile_dir: Path, mechanism: str) -> None:
    write_profile(profile_dir, "sasl", _sasl(mechanism))
    _round_trip(cli, topic)
    r = cli("ping", "--kafka")
    assert r.exit_code == 0 and f"{HOST}:{SASL_PORT}" in r.stdout


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_sasl_wrong_password_is_exit_4(cli: Any, topic: str, profile_dir: Path, mechanism: str) -> None:
    write_profile(profile_dir, "sasl", _sasl(mechanism, password="wrong-password"))
    started = time.monotonic()
    r = cli("kafka", "produce", topic, "x")
    assert r.exit_code == 4
    assert "authentication failed" in r.stderr and f"{HOST}:{SASL_PORT}" in r.stderr and "profile sasl" in r.stderr
    assert "wrong-password" not in r.stderr
    assert time.monotonic() - started < 20
    # A one-shot consume (the native engine's own consumer) names the same cause.
    r = cli("kafka", "consume", topic, "--offset", "-1", "--count", "1")
    assert r.exit_code == 4
    assert "authentication failed" in r.stderr and f"{HOST}:{SASL_PORT}" in r.stderr and "profile sasl" in r.stderr


@pytest.mark.parametrize(("mechanism", "left_out"), [("PLAIN", "username"), ("SCRAM-SHA-512", "password")])
def test_sasl_without_username_or_password_is_a_config_error(
    cli: Any, topic: str, profile_dir: Path, mechanism: str, left_out: str
) -> None:
    profile = _sasl(mechanism)
    del profile[left_out]
    write_profile(profile_dir, "sasl", profile)
    r = cli("kafka", "produce", topic, "x")
    assert r.exit_code == 3, r.stderr
    assert f"needs kafka.{left_out}" in r.stderr and "NoneType" not in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def _tls(ca: str, **extra: Any) -> dict[str, Any]:
    return {
        "bootstrap_servers": f"{HOST}:{TLS_PORT}",
        "security_protocol": "SSL",
        "tls": {"ca": str(TLS_DIR / ca), **extra},
        "connect_timeout": "3s",
    }


def test_tls_round_trip(cli: Any, topic: str, profile_dir: Path) -> None:
    write_profile(profile_dir, "tls", _tls("ca.crt"))
    _round_trip(cli, topic)


def test_tls_client_certificate(cli: Any, topic: str, profile_dir: Path) -> None:
    write_profile(profile_dir, "tls", _tls("ca.crt", cert=str(TLS_DIR / "client.crt"), key=str(TLS_DIR / "client.key")))
    _round_trip(cli, topic)


def test_tls_untrusted_certificate_is_refused(cli: Any, topic: str, profile_dir: Path) -> None:
    write_profile(profile_dir, "tls", _tls("other-ca.crt"))
    r = cli("kafka", "produce", topic, "x")
    assert r.exit_code == 4
    assert "does not verify" in r.stderr and f"{HOST}:{TLS_PORT}" in r.stderr
    r = cli("kafka", "consume", topic, "-e")
    assert r.exit_code == 4
    assert "does not verify" in r.stderr and f"{HOST}:{TLS_PORT}" in r.stderr


def test_tls_system_cas_do_not_trust_the_test_ca(cli: Any, topic: str, profile_dir: Path) -> None:
    # No tls.ca: verification against the system store must refuse the throw-away CA.
    write_profile(
        profile_dir,
        "tls",
        {"bootstrap_servers": f"{HOST}:{TLS_PORT}", "security_protocol": "SSL", "connect_timeout": "3s"},
    )
    assert cli("kafka", "produce", topic, "x").exit_code == 4


def test_tls_verify_false_is_explicit_opt_out(cli: Any, topic: str, profile_dir: Path) -> None:
    write_profile(profile_dir, "tls", _tls("other-ca.crt", verify=False))
    _round_trip(cli, topic)


def test_tls_missing_ca_file_is_config_error(cli: Any, topic: str, profile_dir: Path) -> None:
    write_profile(profile_dir, "tls", _tls("no-such-ca.crt"))
    assert cli("kafka", "produce", topic, "x").exit_code == 3


def test_plaintext_client_on_tls_listener_fails(cli: Any, topic: str, profile_dir: Path) -> None:
    write_profile(profile_dir, "p", {"bootstrap_servers": f"{HOST}:{TLS_PORT}", "connect_timeout": "2s"})
    r = cli("kafka", "produce", topic, "x")
    assert r.exit_code == 4 and f"{HOST}:{TLS_PORT}" in r.stderr


def test_debug_logs_mask_the_password(cli: Any, profile_dir: Path, engine: str) -> None:
    write_profile(profile_dir, "sasl", _sasl("PLAIN"))
    r = cli("--debug", "kafka", "info")
    assert r.exit_code == 0, r.stderr
    library = "librdkafka" if engine == "native" else engine  # the native engine is librdkafka underneath
    assert f"kafka engine: {library}" in r.stderr
    assert f"{library}: DEBUG" in r.stderr  # the library's own logs are shown...
    assert "mqcli-secret" not in r.stderr  # ...without the password
    if engine == "kafka-python":
        assert "****" in r.stderr  # kafka-python logs its configuration: masked
