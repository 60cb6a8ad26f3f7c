"""`mqcli kafka acls list`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.kafka.acls._common import (
    ClusterOpt,
    GroupOpt,
    TopicOpt,
    TransactionalIdOpt,
    acl_table,
    documents,
    pattern_type,
    resources,
)
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import TableOutputOpt, emit


def list_acls(
    ctx: typer.Context,
    principal: Annotated[
        Optional[str],
        typer.Option(
            "--principal",
            metavar="PRINCIPAL",
            help="Only this principal's ACLs (NAME or User:NAME).",
            show_default=False,
        ),
    ] = None,
    topic: TopicOpt = None,
    group: GroupOpt = None,
    cluster: ClusterOpt = False,
    transactional_id: TransactionalIdOpt = None,
    resource_pattern_type: Annotated[
        str,
        typer.Option(
            "--resource-pattern-type",
            metavar="any|match|literal|prefixed",
            help="literal/prefixed: ACLs with exactly that pattern; match: every ACL that applies to the "
            "named resource (literal, prefixed and *); any: both kinds named so.",
        ),
    ] = "any",
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """List ACLs: every one, or those of a principal or resource.

    Example: mqcli kafka acls list --topic orders --resource-pattern-type match
    """
    from mqcli.core.kafka.acls import AclBinding, acl_sort_key, principal_name

    app = get_app(ctx, profile=profile)
    ptype = pattern_type(resource_pattern_type, allowed=("ANY", "MATCH", "LITERAL", "PREFIXED"))
    who = principal_name(principal) if principal is not None else None
    targets: list[tuple[str | None, str | None]] = list(resources(topic, group, cluster, transactional_id))
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    found: dict[AclBinding, None] = {}
    with open_admin(settings, profile_name) as admin:
        for kind, name in targets or [(None, None)]:
            flt = AclBinding(who, None, None, None, kind, name, ptype)
            found.update(dict.fromkeys(admin.describe_acls(flt)))
    acls = sorted(found, key=acl_sort_key)
    emit(app, output, documents(acls), acl_table(acls))
