"""`mqcli kafka topics delete-records`."""

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
    from mqcli.core.kafka.common import RecordsBefore


def delete_records(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(metavar="TOPIC", help="Topic to truncate.", show_default=False)],
    before: Annotated[
        str,
        typer.Option(
            "--before",
            metavar="OFFSET|TIME",
            help="Delete the records below this OFFSET (digits; clamped to each partition's range), or those "
            "older than TIME (ISO-8601, -1h, as consume --from): the first record at/after it stays.",
            show_default=False,
        ),
    ],
    partition: Annotated[
        Optional[list[int]],
        typer.Option(
            "--partition",
            "-p",
            metavar="N",
            help="Only partition N (repeatable; default: every partition).",
            show_default=False,
        ),
    ] = None,
    execute: Annotated[
        bool, typer.Option("--execute", help="Delete (without it: a dry run that only shows what would go).")
    ] = False,
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """Delete a topic's oldest records, per partition; a dry run unless --execute.

    Kafka moves each partition's start offset up to the cut: the records below
    it are gone for every reader, so the dry run shows, per partition, the
    offsets now, the cut and how many records would be deleted.

    Example: mqcli kafka topics delete-records orders --before -7d --execute
    """
    app = get_app(ctx, profile=profile)
    cut = _before(before)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        plan = admin.plan_delete_records(topic, cut, list(partition or []) or None)
        if execute:
            # Partitions with nothing below the cut are left alone (no request).
            done = admin.delete_records(topic, {r["partition"]: r["delete_before"] for r in plan if r["records"] > 0})
            for row in plan:
                if row["partition"] in done:
                    row["delete_before"] = done[row["partition"]]  # the broker's new start offset
    total = sum(r["records"] for r in plan)
    rows = [
        (r["topic"], r["partition"], r["earliest_offset"], r["latest_offset"], r["delete_before"], r["records"])
        for r in plan
    ]
    document = {"topic": topic, "before": before, "executed": execute, "partitions": plan}
    emit(app, output, document, Table(("topic", "partition", "earliest", "latest", "delete_before", "records"), rows))
    touched = sum(1 for r in plan if r["records"] > 0)
    if execute:
        app.info(f"mqcli: deleted {total} record(s) from {touched} partition(s) of {topic}")
    else:
        app.info(f"mqcli: dry run: nothing deleted (add --execute to delete {total} record(s))")


def _before(text: str) -> RecordsBefore:
    """--before: ASCII digits are an offset (as reset-offsets --to), anything else a time."""
    from mqcli.core.kafka.common import RecordsBefore

    t = text.strip()
    if t.isascii() and t.isdigit():
        return RecordsBefore("offset", int(t))
    try:
        return RecordsBefore("time", int(parse_time(t) * 1000))
    except UsageError as e:
        raise UsageError(f"invalid --before {text!r}: use an OFFSET or a TIME ({e.message})") from None
