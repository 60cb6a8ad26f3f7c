"""`kafka users list|set-password|delete`: SCRAM credentials on the real broker
(no authorizer needed). Every test makes users of its own and never touches
the `mqcli` user the other tests sign in with."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kafka.conftest import HOST, SASL_PORT, write_profile


@pytest.fixture
def user(unique_name: Callable[[str], str], cli: Any) -> Iterator[str]:
    """A fresh user name; its credentials are deleted afterwards."""
    name = unique_name("user")
    yield name
    cli("kafka", "users", "delete", name, "--if-exists")


def _users(cli: Any, *names: str) -> Any:
    r = cli("kafka", "users", "list", *names, "-o", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_set_password_lists_and_signs_in(cli: Any, user: str, topic: str, tmp_path: Path, monkeypatch: Any) -> None:
    r = cli("kafka", "users", "set-password", user, "--password-stdin", input=b"s3cret-pw\n")
    assert r.exit_code == 0, r.stderr
    assert "s3cret-pw" not in r.stdout + r.stderr
    assert _users(cli, user) == [
        {"user": user, "mechanism": "SCRAM-SHA-256", "iterations": 4096},
        {"user": user, "mechanism": "SCRAM-SHA-512", "iterations": 4096},
    ]
    listed = _users(cli)
    assert {"user": "mqcli", "mechanism": "SCRAM-SHA-512", "iterations": 4096} in listed
    assert "s3cret-pw" not in json.dumps(listed)
    # The new user signs in on the SASL listener with the password set (listing
    # topics needs no ACL: the broker lists those the user may see).
    monkeypatch.delenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.chdir(tmp_path)
    profile = {
        "bootstrap_servers": f"{HOST}:{SASL_PORT}",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "username": user,
        "password": "s3cret-pw",
        "connect_timeout": "3s",
    }
    write_profile(tmp_path, "u", profile)
    r = cli("--profile", "u", "kafka", "topics", "list")
    assert r.exit_code == 0, r.stderr
    write_profile(tmp_path, "u", {**profile, "password": "wrong"})
    r = cli("--profile", "u", "kafka", "topics", "list")
    assert r.exit_code == 4 and "authentication failed" in r.stderr


def test_one_mechanism_iterations_and_delete(cli: Any, user: str) -> None:
    r = cli(
        "kafka",
        "users",
        "set-password",
        user,
        "-m",
        "scram-sha-512",
        "--iterations",
        "8192",
        "--password-stdin",
        input=b"pw-one\n",
    )
    assert r.exit_code == 0, r.stderr
    assert _users(cli, user) == [{"user": user, "mechanism": "SCRAM-SHA-512", "iterations": 8192}]
    r = cli("kafka", "users", "delete", user, "-m", "SCRAM-SHA-256")
    assert r.exit_code == 6 and user in r.stderr
    r = cli("kafka", "users", "delete", user)
    assert r.exit_code == 0, r.stderr
    assert f"deleted user {user} (SCRAM-SHA-512)" in r.stderr
    r = cli("kafka", "users", "list", user)
    assert r.exit_code == 6 and "no SCRAM credentials" in r.stderr
    r = cli("kafka", "users", "delete", user)
    assert r.exit_code == 6
    r = cli("kafka", "users", "delete", user, "--if-exists")
    assert r.exit_code == 0 and "did not exist" in r.stderr


def test_password_never_an_argument(cli: Any, user: str) -> None:
    # No terminal and no --password-stdin: usage error, nothing created.
    r = cli("kafka", "users", "set-password", user)
    assert r.exit_code == 2 and "--password-stdin" in r.stderr
    r = cli("kafka", "users", "set-password", user, "--password-stdin", input=b"\n")
    assert r.exit_code == 2
    r = cli("kafka", "users", "set-password", user, "-m", "md5", "--password-stdin", input=b"x\n")
    assert r.exit_code == 2 and "SCRAM-SHA-256" in r.stderr
    assert cli("kafka", "users", "list", user).exit_code == 6
    # A password given as an argument is not an option at all.
    r = cli("kafka", "users", "set-password", user, "--password", "x")
    assert r.exit_code == 2
