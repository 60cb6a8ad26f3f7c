"""`mqcli kafka topics describe`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit


def describe(
    ctx: typer.Context,
    topics: Annotated[list[str], typer.Argument(metavar="TOPIC", help="Topics to describe.", show_default=False)],
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """Show partitions (leader, replicas, ISR, earliest/latest offsets) and non-default configs.

    Example: mqcli kafka topics describe orders
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        described = [admin.describe_topic(t) for t in topics]
    tables = []
    for d in described:
        title = f"{d['name']}: {len(d['partitions'])} partitions, replication {d['replication_factor']}"
        if d["configs"]:
            title += "; " + ", ".join(f"{k}={v}" for k, v in d["configs"].items())
        rows = [
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
        tables.append(Table(("partition", "leader", "replicas", "isr", "earliest", "latest"), rows, title))
    emit(app, output, described if len(described) > 1 else described[0], *tables)
