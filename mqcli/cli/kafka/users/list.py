"""`mqcli kafka users list`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit


def list_users(
    ctx: typer.Context,
    users: Annotated[
        Optional[list[str]],
        typer.Argument(metavar="USER", help="Only these users (default: every SCRAM user).", show_default=False),
    ] = None,
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """List SCRAM users: per user, each mechanism and its iterations (never a secret).

    A named user without any SCRAM credential is exit 6.

    Example: mqcli kafka users list -o json
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        rows = admin.scram_users(list(dict.fromkeys(users)) if users else None)
    # The broker answers in no fixed order (a user's two mechanisms swap between calls).
    rows.sort(key=lambda r: (r["user"], r["mechanism"]))
    emit(app, output, rows, Table(("user", "mechanism", "iterations"), [tuple(r.values()) for r in rows]))
