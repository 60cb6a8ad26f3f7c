"""`mqcli kafka groups list`."""

from __future__ import annotations

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import TableOutputOpt, kafka_settings, table_format
from mqcli.cli.options import ProfileOpt
from mqcli.cli.render import write_json, write_table


def list_groups(ctx: typer.Context, output: TableOutputOpt = "table", profile: ProfileOpt = None) -> None:
    """List consumer groups and their state.

    Example: mqcli kafka groups list --output json
    """
    app = get_app(ctx, profile=profile)
    fmt = table_format(output)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        groups = admin.list_groups()
    if fmt == "json":
        write_json(app, groups)
        return
    write_table(app, ("group", "state", "type"), [(g["group"], g["state"], g["type"]) for g in groups])
