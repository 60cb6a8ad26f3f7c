"""`mqcli kafka groups describe`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.watch import WatchOpt, run_watch


def describe(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(metavar="GROUP", help="Consumer group id.", show_default=False)],
    output: TableOutputOpt = "auto",
    watch: WatchOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Show a group's state, members and, per partition, committed offset, end offset and lag.

    With --watch: per partition lag/s, messages/s in (produced) and out (committed),
    the ETA to no lag while it shrinks and the lag's trend over the last minute.

    Example: mqcli kafka groups describe billing --output json
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        if watch is not None:
            from mqcli.core.watch import Gauge, View, WatchRow

            view = View(
                COLUMNS,
                (
                    Gauge("lag", "lag_per_s", "lag/s", eta=True, trend="value"),
                    Gauge("end", "in_per_s", "in/s"),
                    Gauge("committed", "out_per_s", "out/s"),
                ),
            )

            def snapshot() -> tuple[str, list[WatchRow]]:
                d = admin.describe_group(group)
                title, rows = _rows(d)
                return title, [
                    WatchRow(
                        (p["topic"], p["partition"]),
                        row,
                        {"group": d["group"], "state": d["state"], **p},
                        {"lag": p["lag"], "end": p["end_offset"], "committed": p["committed_offset"]},
                    )
                    for p, row in zip(d["partitions"], rows, strict=True)
                ]

            run_watch(app, output, watch, view, snapshot)
            return
        d = admin.describe_group(group)
    title, rows = _rows(d)
    emit(app, output, d, Table(COLUMNS, rows, title))


COLUMNS = ("topic", "partition", "committed", "end", "lag", "member")


def _rows(d: dict[str, Any]) -> tuple[str, list[tuple[Any, ...]]]:
    """The title and the rows of a described group."""
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
    return title, rows
