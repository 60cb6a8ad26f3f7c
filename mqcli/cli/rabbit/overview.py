"""`mqcli rabbit overview`."""

from __future__ import annotations

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.rabbit._management import management


def overview(ctx: typer.Context, output: TableOutputOpt = "auto", profile: ProfileOpt = None) -> None:
    """Show the cluster: name, version, totals, message rates, alarms and each node.

    Example: mqcli rabbit overview -o json
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.management import ManagementForbidden, path
    from mqcli.core.rabbit.management_views import NodeRow, Overview

    api = management(app)
    doc = api.get(path("overview"))
    try:
        nodes = api.get(path("nodes"))
    except ManagementForbidden:
        # Listing nodes needs the monitoring tag: the rest is still worth showing.
        app.debug_log("nodes not listed: the user has no monitoring tag")
        nodes = None
    view = Overview.from_api(doc, nodes)
    tables = [Table(("field", "value"), view.summary(), title="overview")]
    if view.nodes is not None:
        tables.append(Table(NodeRow.COLUMNS, [n.cells() for n in view.nodes], title="nodes"))
    emit(app, output, view.to_dict(), *tables)
