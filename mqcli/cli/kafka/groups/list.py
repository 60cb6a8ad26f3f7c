"""`mqcli kafka groups list`."""

from __future__ import annotations

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit


def list_groups(ctx: typer.Context, output: TableOutputOpt = "auto", profile: ProfileOpt = None) -> None:
    """List consumer groups and their state.

    Example: mqcli kafka groups list --output json
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        groups = admin.list_groups()
    rows = [(g["group"], g["state"], g["type"]) for g in groups]
    emit(app, output, groups, Table(("group", "state", "type"), rows))
