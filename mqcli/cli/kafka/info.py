"""`mqcli kafka info`."""

from __future__ import annotations

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import TableOutputOpt, kafka_settings, table_format
from mqcli.cli.options import ProfileOpt
from mqcli.cli.render import write_json, write_table


def info(ctx: typer.Context, output: TableOutputOpt = "table", profile: ProfileOpt = None) -> None:
    """Show the cluster id, the controller and the brokers.

    Example: mqcli kafka info --output json
    """
    app = get_app(ctx, profile=profile)
    fmt = table_format(output)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        cluster = admin.cluster()
    if fmt == "json":
        write_json(app, cluster)
        return
    app.err.print(f"cluster {cluster['cluster_id']}, controller {cluster['controller_id']} (profile {profile_name})")
    rows = [
        (b["id"], b["host"], b["port"], b["rack"], "yes" if b["id"] == cluster["controller_id"] else "")
        for b in cluster["brokers"]
    ]
    write_table(app, ("id", "host", "port", "rack", "controller"), rows)
