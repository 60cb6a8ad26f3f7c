"""`mqcli kafka groups reset-offsets`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.core.errors import UsageError
from mqcli.core.parse import parse_time

if TYPE_CHECKING:
    from mqcli.core.kafka.common import ResetTarget


def reset_offsets(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(metavar="GROUP", help="Consumer group id.", show_default=False)],
    to: Annotated[
        Optional[str],
        typer.Option(
            "--to",
            metavar="POSITION",
            help="earliest, latest, an OFFSET (clamped to each partition's range) or a TIME (ISO-8601 or -1h).",
            show_default=False,
        ),
    ] = None,
    shift_by: Annotated[
        Optional[int],
        typer.Option(
            "--shift-by",
            metavar="N",
            help="Move each committed offset by N (negative: back), clamped to the partition's range; "
            "partitions without a committed offset stay as they are.",
            show_default=False,
        ),
    ] = None,
    offsets_file: Annotated[
        Optional[str],
        typer.Option(
            "--to-offsets-file",
            metavar="FILE",
            help="Per-partition offsets from a CSV of topic,partition,offset lines "
            "(or group,topic,partition,offset), as kafka-consumer-groups.sh --from-file reads.",
            show_default=False,
        ),
    ] = None,
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

    Give one of --to, --shift-by or --to-offsets-file.  The group must have no
    active members when --execute is given.

    Example: mqcli kafka groups reset-offsets billing --topic orders --to -1h --execute
    """
    app = get_app(ctx, profile=profile)
    chosen = [
        name
        for name, v in (("--to", to), ("--shift-by", shift_by), ("--to-offsets-file", offsets_file))
        if v is not None
    ]
    if len(chosen) != 1:
        raise UsageError(
            "give one of --to, --shift-by or --to-offsets-file"
            + (f" (not {' and '.join(chosen)} together)" if chosen else "")
        )
    if offsets_file is not None and topic:
        raise UsageError("--to-offsets-file names its own topics; leave out --topic")
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    target = _target(group, to, shift_by, offsets_file)
    with open_admin(settings, profile_name) as admin:
        plan = admin.plan_reset(group, list(topic or []), target)
        if execute:
            admin.apply_reset(group, plan)
    rows = [(p["topic"], p["partition"], p["current_offset"], p["new_offset"]) for p in plan]
    document = {"group": group, "executed": execute, "partitions": plan}
    emit(app, output, document, Table(("topic", "partition", "current", "new"), rows))
    unshifted = [f"{p['topic']}[{p['partition']}]" for p in plan if p["new_offset"] is None]
    if unshifted:
        app.info(f"mqcli: no committed offset to shift, left as they are: {', '.join(unshifted)}")
    if execute:
        app.info(f"mqcli: reset {len(plan) - len(unshifted)} partition(s) of group {group}")
    else:
        app.info("mqcli: dry run: nothing changed (add --execute to apply)")


def _target(group: str, to: str | None, shift_by: int | None, offsets_file: str | None) -> ResetTarget:
    """The ResetTarget of the one option given."""
    from mqcli.core.kafka.common import ResetTarget

    if shift_by is not None:
        return ResetTarget("shift", offset=shift_by)
    if offsets_file is not None:
        from mqcli.core.kafka.offsets_file import read_offsets_file

        return ResetTarget("offsets", entries=read_offsets_file(offsets_file, group))
    assert to is not None  # the caller checked that exactly one option was given
    t = to.strip().lower()
    if t in ("earliest", "beginning"):
        return ResetTarget("earliest")
    if t in ("latest", "end"):
        return ResetTarget("latest")
    if t.isdigit():
        return ResetTarget("offset", offset=int(t))
    return ResetTarget("time", timestamp_ms=int(parse_time(to) * 1000))
