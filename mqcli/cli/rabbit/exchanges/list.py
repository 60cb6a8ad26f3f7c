"""`mqcli rabbit exchanges list`."""

from __future__ import annotations

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.rabbit._management import MatchOpt, VhostOpt, management, vhost_of


def list_exchanges(
    ctx: typer.Context,
    vhost: VhostOpt = None,
    match: MatchOpt = None,
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """List exchanges: type, durable, auto-delete, internal, messages/s in and out.

    Example: mqcli rabbit exchanges list --match '^orders' -o tsv
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.management import path
    from mqcli.core.rabbit.management_views import ExchangeRow, exchange_rows, name_filter

    name_filter(match)
    v = vhost_of(app, vhost)
    rows = exchange_rows(management(app).get(path("exchanges", v), what=f"vhost '{v}'"), match=match)
    emit(app, output, [r.to_dict() for r in rows], Table(ExchangeRow.COLUMNS, [r.cells() for r in rows]))
