"""`mqcli kafka groups reset-offsets`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.core.parse import parse_time


def reset_offsets(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(metavar="GROUP", help="Consumer group id.", show_default=False)],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="POSITION",
            help="earliest, latest, an OFFSET (clamped to each partition's range) or a TIME (ISO-8601 or -1h).",
            show_default=False,
        ),
    ],
    topic: Annotated[
        Optional[list[str]],
        typer.Option(
            "--topic",
            "-t",
            metavar="TOPIC",
            help="Topic to reset (repeatable; default: the topics the group has offsets for).",
            show_default=False,
        ),
    ] = None,
    execute: Annotated[
        bool, typer.Option("--execute", help="Apply the reset (without it: a dry run that only shows the plan).")
    ] = False,
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """Move a group's committed offsets; a dry run unless --execute.

    The group must have no active members when --execute is given.

    Example: mqcli kafka groups reset-offsets billing --topic orders --to -1h --execute
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.common import ResetTarget
    from mqcli.core.kafka.engine import admin as open_admin

    t = to.strip().lower()
    if t in ("earliest", "beginning"):
        target = ResetTarget("earliest")
    elif t in ("latest", "end"):
        target = ResetTarget("latest")
    elif t.isdigit():
        target = ResetTarget("offset", offset=int(t))
    else:
        target = ResetTarget("time", timestamp_ms=int(parse_time(to) * 1000))
    with open_admin(settings, profile_name) as admin:
        plan = admin.plan_reset(group, list(topic or []), target)
        if execute:
            admin.apply_reset(group, plan)
    rows = [(p["topic"], p["partition"], p["current_offset"], p["new_offset"]) for p in plan]
    document = {"group": group, "executed": execute, "partitions": plan}
    emit(app, output, document, Table(("topic", "partition", "current", "new"), rows))
    if execute:
        app.info(f"mqcli: reset {len(plan)} partition(s) of group {group}")
    else:
        app.info("mqcli: dry run: nothing changed (add --execute to apply)")
