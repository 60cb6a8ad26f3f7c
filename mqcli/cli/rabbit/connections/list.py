"""`mqcli rabbit connections list`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.rabbit._management import MatchOpt, management


def list_connections(
    ctx: typer.Context,
    vhost: Annotated[
        Optional[str],
        typer.Option(
            "--vhost",
            metavar="VHOST",
            help="Only this virtual host's (default: every one the user sees).",
            show_default=False,
        ),
    ] = None,
    match: MatchOpt = None,
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """List client connections: name (what close takes), client-given name, user, peer, state, channels, rates.

    Example: mqcli rabbit connections list --match mqcli -o json
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.management import path
    from mqcli.core.rabbit.management_views import ConnectionRow, connection_rows, name_filter

    name_filter(match)
    api = management(app)
    if vhost is None:
        docs = api.get(path("connections"))
    else:
        docs = api.get(path("vhosts", vhost, "connections"), what=f"vhost '{vhost}'")
    rows = connection_rows(docs, match=match)
    emit(app, output, [r.to_dict() for r in rows], Table(ConnectionRow.COLUMNS, [r.cells() for r in rows]))
