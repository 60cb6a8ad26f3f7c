"""`kafka acls list|create|delete` against the broker's StandardAuthorizer
(brokers/kafka/server.properties.in), and what a principal without an ACL
sees: exit 4 naming the operation and resource it lacks.

Each test makes its own SCRAM user (signing in on the SASL listener) and
topic; the test suite's own principals are super users."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kafka.conftest import HOST, PLAIN_PORT, SASL_PORT


@pytest.fixture
def principal(unique_name: Callable[[str], str], cli: Any) -> Iterator[str]:
    """A fresh SCRAM user (password pw-acl); its ACLs and credentials go afterwards."""
    name = unique_name("acl")
    r = cli("kafka", "users", "set-password", name, "-m", "SCRAM-SHA-512", "--password-stdin", input=b"pw-acl\n")
    assert r.exit_code == 0, r.stderr
    yield name
    for kind in ("--topic", "--group"):
        cli("kafka", "acls", "delete", "--allow", name, kind, "*", "--yes")  # the wildcard name: none, normally
    cli("kafka", "users", "delete", name, "--if-exists")


def _acls(cli: Any, *flags: str) -> list[dict[str, Any]]:
    r = cli("kafka", "acls", "list", *flags, "-o", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def _as(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user: str) -> None:
    """Later cli() calls sign in as `user` on the SASL listener (profile `p`);
    `--profile admin` is the test suite's own super user on the plain listener."""
    import yaml

    monkeypatch.delenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.chdir(tmp_path)
    sasl = {
        "bootstrap_servers": f"{HOST}:{SASL_PORT}",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "username": user,
        "password": "pw-acl",
        "connect_timeout": "5s",
    }
    profiles = {"p": {"kafka": sasl}, "admin": {"kafka": {"bootstrap_servers": f"{HOST}:{PLAIN_PORT}"}}}
    (tmp_path / "mqcli.yaml").write_text(yaml.safe_dump({"profiles": profiles}))
    (tmp_path / "mqcli.yaml").chmod(0o600)
    monkeypatch.setenv("MQCLI_PROFILE", "p")


def test_create_list_delete(cli: Any, principal: str, topic: str) -> None:
    r = cli(
        "kafka",
        "acls",
        "create",
        "--allow",
        principal,
        "--operation",
        "read",
        "--operation",
        "Describe",
        "--topic",
        topic,
        "--group",
        f"{topic}-g",
        "-o",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    assert len(json.loads(r.stdout)) == 4 and "created 4 ACL(s)" in r.stderr
    r = cli(
        "kafka",
        "acls",
        "create",
        "--deny",
        f"User:{principal}",
        "--operation",
        "write",
        "--topic",
        f"{topic}-",
        "--resource-pattern-type",
        "prefixed",
    )
    assert r.exit_code == 0, r.stderr
    mine = _acls(cli, "--principal", principal)
    assert len(mine) == 5
    assert {
        "principal": f"User:{principal}",
        "host": "*",
        "operation": "WRITE",
        "permission": "DENY",
        "resource_type": "TOPIC",
        "resource_name": f"{topic}-",
        "pattern_type": "PREFIXED",
    } in mine
    # match: every ACL that applies to the topic named, prefixed ones included.
    applying = _acls(cli, "--topic", f"{topic}-x", "--resource-pattern-type", "match")
    assert [(a["operation"], a["permission"]) for a in applying] == [("WRITE", "DENY")]
    on_topic = _acls(cli, "--topic", topic)
    assert sorted(a["operation"] for a in on_topic) == ["DESCRIBE", "READ"]

    # delete: a dry run changes nothing; without a terminal it needs --yes.
    r = cli("kafka", "acls", "delete", "--allow", principal, "--topic", topic, "--dry-run", "-o", "json")
    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 2 and "dry run" in r.stderr
    r = cli("kafka", "acls", "delete", "--allow", principal, "--topic", topic)
    assert r.exit_code == 2 and "--yes" in r.stderr
    assert len(_acls(cli, "--principal", principal)) == 5
    r = cli("kafka", "acls", "delete", "--allow", principal, "--operation", "read", "--topic", topic, "--yes")
    assert r.exit_code == 0 and "deleted 1 ACL(s)" in r.stderr
    r = cli(
        "kafka",
        "acls",
        "delete",
        "--allow",
        principal,
        "--deny",
        principal,
        "--topic",
        f"{topic}-",
        "--group",
        f"{topic}-g",
        "--yes",
    )
    assert r.exit_code == 0 and "deleted 3 ACL(s)" in r.stderr
    assert [a["operation"] for a in _acls(cli, "--principal", principal)] == ["DESCRIBE"]
    r = cli("kafka", "acls", "delete", "--topic", f"{topic}-none", "--yes")
    assert r.exit_code == 6


def test_usage_errors(cli: Any) -> None:
    assert cli("kafka", "acls", "create", "--allow", "a", "--operation", "read").exit_code == 2  # no resource
    assert cli("kafka", "acls", "create", "--allow", "a", "--topic", "t").exit_code == 2  # no operation
    assert cli("kafka", "acls", "create", "--operation", "read", "--topic", "t").exit_code == 2  # no principal
    r = cli("kafka", "acls", "create", "--allow", "a", "--operation", "fly", "--topic", "t")
    assert r.exit_code == 2 and "unknown ACL operation" in r.stderr
    assert cli("kafka", "acls", "delete", "--allow", "a", "--yes").exit_code == 2  # never every ACL at once


def test_denied_principal_gets_exit_4_naming_the_permission(
    cli: Any, principal: str, topic: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = cli("kafka", "produce", topic, input=b"hello\n")
    assert r.exit_code == 0, r.stderr
    group = f"{topic}-g"
    # Undone before the `principal` fixture cleans up as the suite's own user.
    with monkeypatch.context() as mp:
        _as(tmp_path, mp, principal)
        # No ACL at all: the topic is hidden, and mqcli says why rather than "does not exist".
        for args in (
            ("consume", topic, "-e"),
            ("topics", "describe", topic),
            ("group-consume", "--group", group, topic, "-e"),
        ):
            r = cli("kafka", *args)
            assert r.exit_code == 4, (args, r.stderr)
            assert f"an ACL must allow DESCRIBE on topic {topic!r}" in r.stderr and "does not exist" not in r.stderr
        r = cli(
            "--profile", "admin", "kafka", "acls", "create", "--allow", principal, "--operation", "read",
            "--operation", "describe", "--topic", topic,
        )  # fmt: skip
        assert r.exit_code == 0, r.stderr
        r = cli("kafka", "consume", topic, "-e", "--format", "{value}")
        assert r.exit_code == 0 and r.stdout == "hello\n", r.stderr
        # The topic is readable, the group is not.
        r = cli("kafka", "group-consume", "--group", group, topic, "-e")
        assert r.exit_code == 4 and "an ACL must allow READ on the consumer group" in r.stderr
        # Reading is not writing: the idempotent producer's id is refused first.
        r = cli("kafka", "produce", topic, input=b"more\n")
        assert r.exit_code == 4 and "an ACL must allow IDEMPOTENT_WRITE on the cluster" in r.stderr, r.stderr
        r = cli(
            "--profile",
            "admin",
            "kafka",
            "acls",
            "create",
            "--allow",
            principal,
            "--operation",
            "write",
            "--topic",
            topic,
        )
        assert r.exit_code == 0, r.stderr
        r = cli("kafka", "produce", topic, input=b"more\n")  # WRITE on a topic covers the producer id too
        assert r.exit_code == 0, r.stderr
