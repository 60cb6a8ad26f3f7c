"""`mqcli kafka groups lag [GROUP…]`: total lag per group and topic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.watch import WatchOpt, run_watch
from mqcli.core.errors import NotFound

if TYPE_CHECKING:
    from mqcli.core.kafka.contract import Admin
    from mqcli.core.kafka.lag import TopicLag


def lag_rows(admin: Admin, groups: list[str]) -> list[TopicLag]:
    """One row per group and topic: of `groups`, or of every group (NotFound for a named
    group that does not exist: not listed and no committed offsets)."""
    from mqcli.core.kafka.lag import measure_groups

    states = {g["group"]: g["state"] for g in admin.list_groups()}
    names = groups or sorted(states)
    measured = measure_groups(admin, names, states=states)
    for m in measured:
        if m.group not in states and not m.partitions:
            raise NotFound(f"consumer group {m.group!r} does not exist")
    return [row for m in measured for row in m.topics()]


def lag(
    ctx: typer.Context,
    groups: Annotated[
        Optional[list[str]],
        typer.Argument(metavar="GROUP", help="Consumer groups (default: every group).", show_default=False),
    ] = None,
    output: TableOutputOpt = "auto",
    watch: WatchOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Show the total lag of each group on each topic it has committed offsets for.

    A partition the group has no committed offset for counts with every message
    still in it (what a group starting from the earliest offset would read).

    With --watch: lag/s, messages/s in (produced) and out (consumed), the ETA to no
    lag while it shrinks and the lag's trend over the last minute.

    Example: mqcli kafka groups lag billing --watch
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin
    from mqcli.core.kafka.lag import TopicLag

    with open_admin(settings, profile_name) as admin:
        if watch is not None:
            from mqcli.core.watch import Gauge, View, WatchRow

            view = View(
                TopicLag.COLUMNS,
                (
                    Gauge("lag", "lag_per_s", "lag/s", eta=True, trend="value"),
                    Gauge("end", "in_per_s", "in/s"),
                    Gauge("consumed", "out_per_s", "out/s"),
                ),
            )

            def snapshot() -> tuple[None, list[WatchRow]]:
                rows = lag_rows(admin, list(groups or []))
                return None, [
                    WatchRow(
                        (r.group, r.topic),
                        r.cells(),
                        r.to_dict(),
                        {"lag": r.lag, "end": r.end, "consumed": None if r.lag is None else r.end - r.lag},
                    )
                    for r in rows
                ]

            run_watch(app, output, watch, view, snapshot)
            return
        rows = lag_rows(admin, list(groups or []))
    emit(app, output, [r.to_dict() for r in rows], Table(TopicLag.COLUMNS, [r.cells() for r in rows]))
