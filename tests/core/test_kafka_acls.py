"""Pure parts of `kafka acls`/`kafka users`: names as users type them, and the
line a denied principal gets."""

from __future__ import annotations

import pytest

from mqcli.core.errors import UsageError
from mqcli.core.kafka.acls import AclBinding, acl_denied, describe_acl, mechanism_name, operation_name, principal_name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("read", "READ"),
        ("Describe-Configs", "DESCRIBE_CONFIGS"),
        ("describeconfigs", "DESCRIBE_CONFIGS"),
        ("ALL", "ALL"),
    ],
)
def test_operation_names(text: str, name: str) -> None:
    assert operation_name(text) == name


def test_unknown_operation_lists_the_choices() -> None:
    with pytest.raises(UsageError, match=r"unknown ACL operation .fly.*idempotent_write"):
        operation_name("fly")


def test_principals_default_to_user() -> None:
    assert principal_name("alice") == "User:alice"
    assert principal_name("User:bob") == "User:bob"
    assert principal_name("Group:ops") == "Group:ops"
    with pytest.raises(UsageError):
        principal_name(" ")


@pytest.mark.parametrize("text", ["scram-sha-512", "SHA-512", "512", "SCRAM_SHA_512"])
def test_mechanism_names(text: str) -> None:
    assert mechanism_name(text) == "SCRAM-SHA-512"


def test_unknown_mechanism() -> None:
    with pytest.raises(UsageError, match="SCRAM-SHA-256 or SCRAM-SHA-512"):
        mechanism_name("PLAIN")


def test_denied_line_names_operation_and_resource() -> None:
    line = acl_denied("TopicAuthorizationFailedError", "h:9093", topic="orders")
    assert (
        line == "not authorized on h:9093: an ACL must allow DESCRIBE on topic 'orders' (TopicAuthorizationFailedError)"
    )
    assert "WRITE on topic 'orders'" in acl_denied(
        "TopicAuthorizationFailedError", "h", topic="orders", operation="WRITE"
    )
    assert "READ on the consumer group" in acl_denied("GroupAuthorizationFailedError", "h")
    assert "the operation on the cluster" in acl_denied("ClusterAuthorizationFailedError", "h")


def test_describe_acl() -> None:
    acl = AclBinding("User:a", "*", "READ", "ALLOW", "TOPIC", "orders", "LITERAL")
    assert describe_acl(acl) == "ALLOW User:a READ on TOPIC orders (LITERAL) from *"
    assert acl.row()["resource_name"] == "orders"
