"""The options the `kafka acls` verbs share (kafka-acls.sh's names) and what
they select: the resources, principals and operations of ACL bindings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from mqcli.cli.output import Table
from mqcli.core.errors import UsageError

if TYPE_CHECKING:
    from mqcli.core.kafka.acls import AclBinding

AllowOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--allow",
        "--allow-principal",
        metavar="PRINCIPAL",
        help="Principal the ACL allows: NAME or User:NAME (repeatable).",
        show_default=False,
    ),
]
DenyOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--deny",
        "--deny-principal",
        metavar="PRINCIPAL",
        help="Principal the ACL denies: NAME or User:NAME (repeatable).",
        show_default=False,
    ),
]
OperationOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--operation",
        metavar="OPERATION",
        help="read, write, create, delete, alter, describe, describe-configs, alter-configs, "
        "idempotent-write, cluster-action or all (repeatable).",
        show_default=False,
    ),
]
HostOpt = Annotated[
    Optional[str],
    typer.Option(
        "--host", metavar="HOST", help="Client host (IP) the ACL applies to (default: * any).", show_default=False
    ),
]
TopicOpt = Annotated[
    Optional[list[str]],
    typer.Option("--topic", metavar="TOPIC", help="Topic resource (repeatable).", show_default=False),
]
GroupOpt = Annotated[
    Optional[list[str]],
    typer.Option("--group", metavar="GROUP", help="Consumer group resource (repeatable).", show_default=False),
]
ClusterOpt = Annotated[bool, typer.Option("--cluster", help="The cluster resource.")]
TransactionalIdOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--transactional-id", metavar="ID", help="Transactional id resource (repeatable).", show_default=False
    ),
]


def resources(
    topic: list[str] | None, group: list[str] | None, cluster: bool, transactional_id: list[str] | None
) -> list[tuple[str, str]]:
    """(resource type, name) of each resource flag, in the order of the flags' kinds."""
    from mqcli.core.kafka.acls import CLUSTER_NAME

    out = [("TOPIC", t) for t in topic or []]
    out += [("GROUP", g) for g in group or []]
    out += [("CLUSTER", CLUSTER_NAME)] if cluster else []
    out += [("TRANSACTIONAL_ID", t) for t in transactional_id or []]
    for kind, name in out:
        if not name:
            raise UsageError(f"--{kind.lower().replace('_', '-')} needs a name")
    return out


def principals(allow: list[str] | None, deny: list[str] | None) -> list[tuple[str, str]]:
    """(principal, ALLOW|DENY) of each --allow/--deny."""
    from mqcli.core.kafka.acls import principal_name

    return [(principal_name(p), "ALLOW") for p in allow or []] + [(principal_name(p), "DENY") for p in deny or []]


def operations(given: list[str] | None) -> list[str]:
    from mqcli.core.kafka.acls import operation_name

    return list(dict.fromkeys(operation_name(o) for o in given or []))


def pattern_type(text: str, *, allowed: Sequence[str]) -> str:
    key = text.strip().upper()
    if key not in allowed:
        raise UsageError(f"invalid --resource-pattern-type {text!r}: one of {'|'.join(a.lower() for a in allowed)}")
    return key


def acl_table(acls: list[AclBinding]) -> Table:
    cols = ("principal", "host", "operation", "permission", "resource_type", "resource_name", "pattern_type")
    return Table(cols, [tuple(getattr(a, c) for c in cols) for a in acls])


def documents(acls: list[AclBinding]) -> list[dict[str, Any]]:
    return [a.row() for a in acls]
