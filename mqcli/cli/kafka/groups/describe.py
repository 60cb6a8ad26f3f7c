"""`mqcli kafka groups describe`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit


def describe(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(metavar="GROUP", help="Consumer group id.", show_default=False)],
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """Show a group's state, members and, per partition, committed offset, end offset and lag.

    Example: mqcli kafka groups describe billing --output json
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        d = admin.describe_group(group)
    members = {m["member_id"]: f"{m['client_id']}@{m['host']}" for m in d["members"]}
    title = f"group {d['group']}: {d['state']}, {len(d['members'])} member(s)" + (
        f", assignor {d['protocol']}" if d["protocol"] else ""
    )
    rows = [
        (
            p["topic"],
            p["partition"],
            p["committed_offset"],
            p["end_offset"],
            p["lag"],
            members.get(p["member_id"] or "", ""),
        )
        for p in d["partitions"]
    ]
    emit(app, output, d, Table(("topic", "partition", "committed", "end", "lag", "member"), rows, title))
