"""`mqcli rabbit overview`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.rabbit._management import management
from mqcli.cli.watch import WatchOpt, run_watch, watchable

if TYPE_CHECKING:
    from mqcli.core.rabbit.management_views import Overview
    from mqcli.core.watch import WatchRow


@watchable
def overview(
    ctx: typer.Context, output: TableOutputOpt = "auto", watch: WatchOpt = None, profile: ProfileOpt = None
) -> None:
    """Show the cluster: name, version, totals, message rates, alarms and each node.

    With --watch: one row of totals, with the change of the messages queued per
    second, the ETA to none while they shrink and their trend over the last minute.

    Example: mqcli rabbit overview -o json
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.management import ManagementForbidden, path
    from mqcli.core.rabbit.management_views import NodeRow, Overview

    api = management(app)

    def fetch() -> Overview:
        doc = api.get(path("overview"))
        try:
            nodes = api.get(path("nodes"))
        except ManagementForbidden:
            # Listing nodes needs the monitoring tag: the rest is still worth showing.
            app.debug_log("nodes not listed: the user has no monitoring tag")
            nodes = None
        return Overview.from_api(doc, nodes)

    if watch is not None:
        run_watch(app, output, watch, _watch_view(), lambda: watch_snapshot(fetch()))
        return
    view = fetch()
    tables = [Table(("field", "value"), view.summary(), title="overview")]
    if view.nodes is not None:
        tables.append(Table(NodeRow.COLUMNS, [n.cells() for n in view.nodes], title="nodes"))
    emit(app, output, view.to_dict(), *tables)


def _watch_view() -> Any:
    from mqcli.core.watch import Gauge, View

    columns = (
        "cluster",
        "node",
        "connections",
        "channels",
        "queues",
        "consumers",
        "ready",
        "unacked",
        "publish/s",
        "deliver/s",
        "alarms",
    )
    return View(columns, (Gauge("messages", "messages_per_s", "msgs/s", eta=True, trend="value"),))


def watch_snapshot(view: Overview) -> tuple[str, list[WatchRow]]:
    """The overview as one row of totals (its JSON record is the whole overview)."""
    from mqcli.core.watch import WatchRow

    t = view.totals
    alarms = "unknown" if view.nodes is None else "; ".join(view.alarms()) or "none"
    cells: tuple[Any, ...] = (view.cluster_name, view.node, t["connections"], t["channels"], t["queues"])
    cells += (t["consumers"], t["ready"], t["unacked"], view.rates["publish"], view.rates["deliver_get"], alarms)
    row = WatchRow("overview", cells, view.to_dict(), {"messages": t["messages"]})
    return f"RabbitMQ {view.rabbitmq_version}", [row]
