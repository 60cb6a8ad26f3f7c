"""`mqcli kafka topics describe`."""

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
    topics: Annotated[list[str], typer.Argument(metavar="TOPIC", help="Topics to describe.", show_default=False)],
    output: TableOutputOpt = "auto",
    watch: WatchOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Show partitions (leader, replicas, ISR, earliest/latest offsets) and non-default configs.

    With --watch: one row per partition of every topic, with messages/s in (the
    latest offset's change) and its trend over the last minute.

    Example: mqcli kafka topics describe orders
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        if watch is not None:
            from mqcli.core.watch import Gauge, View, WatchRow

            view = View(("topic", *COLUMNS), (Gauge("latest", "in_per_s", "in/s", trend="rate"),))

            def snapshot() -> tuple[str, list[WatchRow]]:
                rows = []
                for d in (admin.describe_topic(t) for t in topics):
                    for p, row in zip(d["partitions"], _rows(d), strict=True):
                        record = {"topic": d["name"], **p}
                        rows.append(
                            WatchRow(
                                (d["name"], p["partition"]), (d["name"], *row), record, {"latest": p["latest_offset"]}
                            )
                        )
                return ", ".join(topics), rows

            run_watch(app, output, watch, view, snapshot)
            return
        described = [admin.describe_topic(t) for t in topics]
    tables = []
    for d in described:
        title = f"{d['name']}: {len(d['partitions'])} partitions, replication {d['replication_factor']}"
        if d["configs"]:
            title += "; " + ", ".join(f"{k}={v}" for k, v in d["configs"].items())
        rows = _rows(d)
        tables.append(Table(COLUMNS, rows, title))
    emit(app, output, described if len(described) > 1 else described[0], *tables)


COLUMNS = ("partition", "leader", "replicas", "isr", "earliest", "latest")


def _rows(d: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            p["partition"],
            p["leader"],
            ",".join(map(str, p["replicas"])),
            ",".join(map(str, p["isr"])),
            p["earliest_offset"],
            p["latest_offset"],
        )
        for p in d["partitions"]
    ]
