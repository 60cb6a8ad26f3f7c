"""`mqcli kafka acls delete`."""

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
from mqcli.core.errors import MqcliError, NotFound, UsageError


def delete(
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
            metavar="any|literal|prefixed",
            help="Which patterns of the named resources: literal, prefixed, or any (both).",
        ),
    ] = "any",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show the ACLs it would delete.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """Delete the ACLs matching the flags (a flag left out matches anything).

    It shows the matching ACLs first and asks on a terminal; without one it
    needs --yes (else exit 2). --dry-run only shows them. Nothing matching is
    exit 6. At least one resource flag is required, so a bare delete never
    takes every ACL.

    Example: mqcli kafka acls delete --allow alice --topic orders --yes
    """
    from mqcli.core.kafka.acls import AclBinding, acl_sort_key, describe_acl

    app = get_app(ctx, profile=profile)
    who: list[tuple[str | None, str | None]] = list(principals(allow, deny)) or [(None, None)]
    ops: list[str | None] = list(operations(operation)) or [None]
    targets = resources(topic, group, cluster, transactional_id)
    ptype = pattern_type(resource_pattern_type, allowed=("ANY", "LITERAL", "PREFIXED"))
    if not targets:
        raise UsageError("name a resource: --topic, --group, --cluster or --transactional-id")
    if not (yes or dry_run or (app.stdin_isatty and app.stderr_isatty)):
        raise UsageError(
            "acls delete asks before deleting, and there is no terminal to ask on",
            hint="pass --yes to delete without asking, or --dry-run to see what it would delete",
        )
    filters = [
        AclBinding(p, host, op, perm, kind, name, ptype) for p, perm in who for op in ops for kind, name in targets
    ]
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        matching: dict[AclBinding, None] = {}
        for flt in filters:
            matching.update(dict.fromkeys(admin.describe_acls(flt)))
        acls = sorted(matching, key=acl_sort_key)
        if not acls:
            raise NotFound("no ACL matches the flags given", hint="see them with `mqcli kafka acls list`")
        if dry_run:
            emit(app, output, documents(acls), acl_table(acls))
            app.info(f"mqcli: dry run: nothing deleted ({len(acls)} ACL(s) match)")
            return
        if not yes:
            for acl in acls:
                app.report(f"delete: {describe_acl(acl)}")
            if not typer.confirm(f"mqcli: delete these {len(acls)} ACL(s)?", default=False, err=True):
                raise MqcliError("not confirmed: nothing was deleted")
        deleted: dict[AclBinding, None] = {}
        for flt in filters:
            deleted.update(dict.fromkeys(admin.delete_acls(flt)))
    done = sorted(deleted, key=acl_sort_key)
    emit(app, output, documents(done), acl_table(done))
    app.info(f"mqcli: deleted {len(done)} ACL(s)")
