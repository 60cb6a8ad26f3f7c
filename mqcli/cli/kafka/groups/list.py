"""`mqcli kafka groups list`."""

from __future__ import annotations

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.watch import WatchOpt, run_watch


def list_groups(
    ctx: typer.Context, output: TableOutputOpt = "auto", watch: WatchOpt = None, profile: ProfileOpt = None
) -> None:
    """List consumer groups and their state (with --watch: as they change).

    Example: mqcli kafka groups list --output json
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        if watch is not None:
            from mqcli.core.watch import View, WatchRow

            def snapshot() -> tuple[None, list[WatchRow]]:
                rows = [WatchRow(g["group"], (g["group"], g["state"], g["type"]), g) for g in admin.list_groups()]
                return None, rows

            run_watch(app, output, watch, View(("group", "state", "type")), snapshot)
            return
        groups = admin.list_groups()
    rows = [(g["group"], g["state"], g["type"]) for g in groups]
    emit(app, output, groups, Table(("group", "state", "type"), rows))
