"""`mqcli kafka acls create`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.kafka.acls._common import (
    AllowOpt,
    ClusterOpt,
    DenyOpt,
    GroupOpt,
    HostOpt,
    OperationOpt,
    TopicOpt,
    TransactionalIdOpt,
    acl_table,
    documents,
    operations,
    pattern_type,
    principals,
    resources,
)
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import TableOutputOpt, emit
from mqcli.core.errors import UsageError


def create(
    ctx: typer.Context,
    allow: AllowOpt = None,
    deny: DenyOpt = None,
    operation: OperationOpt = None,
    host: HostOpt = None,
    topic: TopicOpt = None,
    group: GroupOpt = None,
    cluster: ClusterOpt = False,
    transactional_id: TransactionalIdOpt = None,
    resource_pattern_type: Annotated[
        str,
        typer.Option(
            "--resource-pattern-type",
            metavar="literal|prefixed",
            help="literal: the resource named; prefixed: every resource whose name starts so.",
        ),
    ] = "literal",
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """Create ACLs: each principal x operation x resource given (existing ones stay).

    Example: mqcli kafka acls create --allow alice --operation read --operation describe --topic orders
    """
    from mqcli.core.kafka.acls import AclBinding

    app = get_app(ctx, profile=profile)
    who = principals(allow, deny)
    ops = operations(operation)
    targets = resources(topic, group, cluster, transactional_id)
    ptype = pattern_type(resource_pattern_type, allowed=("LITERAL", "PREFIXED"))
    if not who:
        raise UsageError("name a principal with --allow or --deny")
    if not ops:
        raise UsageError("name an operation with --operation")
    if not targets:
        raise UsageError("name a resource: --topic, --group, --cluster or --transactional-id")
    acls = [
        # The cluster has one name: a prefixed pattern on it means nothing.
        AclBinding(p, host or "*", op, perm, kind, name, "LITERAL" if kind == "CLUSTER" else ptype)
        for p, perm in who
        for op in ops
        for kind, name in targets
    ]
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        admin.create_acls(acls)
    emit(app, output, documents(acls), acl_table(acls))
    app.info(f"mqcli: created {len(acls)} ACL(s)")
