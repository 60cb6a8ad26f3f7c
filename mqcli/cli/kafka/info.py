"""`mqcli kafka info`."""

from __future__ import annotations

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit


def info(ctx: typer.Context, output: TableOutputOpt = "auto", profile: ProfileOpt = None) -> None:
    """Show the cluster id, the controller and the brokers.

    Example: mqcli kafka info --output json
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        cluster = admin.cluster()
    rows = [
        (b["id"], b["host"], b["port"], b["rack"], "yes" if b["id"] == cluster["controller_id"] else "")
        for b in cluster["brokers"]
    ]
    note = f"cluster {cluster['cluster_id']}, controller {cluster['controller_id']} (profile {profile_name})"
    emit(app, output, cluster, Table(("id", "host", "port", "rack", "controller"), rows), note=note)
