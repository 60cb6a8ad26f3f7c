"""Engine-neutral ACL bindings and SCRAM mechanisms for `kafka acls` and `kafka users`.

Both engines take and give these plain values (Kafka's enum names, upper
case), so the CLI parses and renders them once and mypy checks both engines
against the same `Admin` methods.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mqcli.core.errors import UsageError

OPERATIONS = (
    "ALL",
    "READ",
    "WRITE",
    "CREATE",
    "DELETE",
    "ALTER",
    "DESCRIBE",
    "CLUSTER_ACTION",
    "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS",
    "IDEMPOTENT_WRITE",
)
RESOURCE_TYPES = ("TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID")
PATTERN_TYPES = ("LITERAL", "PREFIXED")
PERMISSIONS = ("ALLOW", "DENY")
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
# Kafka's default, and the least it accepts.
SCRAM_ITERATIONS = 4096
CLUSTER_NAME = "kafka-cluster"


@dataclass(frozen=True)
class AclBinding:
    """One ACL, or (with None for "any") a filter over them.

    `operation`, `permission`, `resource_type` and `pattern_type` are Kafka's
    enum names (READ, ALLOW, TOPIC, LITERAL); `principal` is `User:NAME`.
    """

    principal: str | None
    host: str | None
    operation: str | None
    permission: str | None
    resource_type: str | None
    resource_name: str | None
    pattern_type: str | None

    def row(self) -> dict[str, Any]:
        return asdict(self)


def acl_sort_key(acl: AclBinding) -> tuple[str, ...]:
    return tuple(
        v or ""
        for v in (
            acl.resource_type,
            acl.resource_name,
            acl.pattern_type,
            acl.principal,
            acl.host,
            acl.operation,
            acl.permission,
        )
    )


def describe_acl(acl: AclBinding) -> str:
    """One line: `ALLOW User:alice READ on TOPIC orders (LITERAL) from *`."""
    return (
        f"{acl.permission} {acl.principal} {acl.operation} on {acl.resource_type} {acl.resource_name} "
        f"({acl.pattern_type}) from {acl.host}"
    )


def operation_name(text: str) -> str:
    """`read`, `Describe-Configs`, `DescribeConfigs` -> Kafka's enum name (UsageError when unknown)."""
    key = text.strip().upper().replace("-", "_")
    for name in OPERATIONS:
        if key in (name, name.replace("_", "")):
            return name
    raise UsageError(f"unknown ACL operation {text!r}: one of {', '.join(o.lower() for o in OPERATIONS)}")


def principal_name(text: str) -> str:
    """`alice` or `User:alice` -> `User:alice` (a typed principal is kept as it is)."""
    t = text.strip()
    if not t:
        raise UsageError("an ACL principal must not be empty")
    return t if ":" in t else f"User:{t}"


def mechanism_name(text: str) -> str:
    """`scram-sha-512`, `SHA-512`, `512` -> `SCRAM-SHA-512`."""
    key = text.strip().upper()
    for name in SCRAM_MECHANISMS:
        if key in (name, name.removeprefix("SCRAM-"), name.rsplit("-", 1)[1], name.replace("-", "_")):
            return name
    raise UsageError(f"unknown SCRAM mechanism {text!r}: {' or '.join(SCRAM_MECHANISMS)}")


# The resource each of Kafka's authorization errors is about (kafka-python's
# class names; librdkafka's names are mapped to them), and the operation a
# client lacks when it is refused with no more said: DESCRIBE is what Kafka
# checks before anything else on a topic (metadata) or a group.
_DENIED = {
    "TopicAuthorizationFailedError": ("TOPIC", "DESCRIBE"),
    "GroupAuthorizationFailedError": ("GROUP", "READ"),
    "ClusterAuthorizationFailedError": ("CLUSTER", None),
    "TransactionalIdAuthorizationFailedError": ("TRANSACTIONAL_ID", "WRITE"),
}


def acl_denied(
    error: str, where: str, *, topic: str | None = None, group: str | None = None, operation: str | None = None
) -> str:
    """The one line for a principal that no ACL allows what it asked: the
    operation it lacks and on which resource (`error`: the error's name)."""
    resource, default_op = _DENIED.get(error, (None, None))
    op = operation or default_op
    target = "the cluster"
    if resource == "TOPIC":
        target = f"topic {topic!r}" if topic else "the topic"
    elif resource == "GROUP":
        target = f"group {group!r}" if group else "the consumer group"
    elif resource == "TRANSACTIONAL_ID":
        target = "the transactional id"
    what = f"{op} on {target}" if op else f"the operation on {target}"
    return f"not authorized on {where}: an ACL must allow {what} ({error})"
