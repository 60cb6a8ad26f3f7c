"""`mqcli rabbit bindings list [--queue Q] [--exchange X]`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.rabbit._management import VhostOpt, management, vhost_of


def list_bindings(
    ctx: typer.Context,
    queue: Annotated[
        Optional[str],
        typer.Option("--queue", "-q", metavar="QUEUE", help="Only the bindings of this queue.", show_default=False),
    ] = None,
    exchange: Annotated[
        Optional[str],
        typer.Option(
            "--exchange",
            "-e",
            metavar="EXCHANGE",
            help="Only the bindings from this exchange (with --queue: those between the two).",
            show_default=False,
        ),
    ] = None,
    vhost: VhostOpt = None,
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """List bindings: source exchange, destination, routing key, arguments (exit 6 for a missing queue or exchange).

    Example: mqcli rabbit bindings list --exchange orders -o json
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.management import path
    from mqcli.core.rabbit.management_views import BindingRow, binding_rows

    v = vhost_of(app, vhost)
    api = management(app)
    # The API answers a missing queue's bindings with its implicit default binding, and
    # a 404 for both names says neither: check each one asked for first (exit 6).
    if queue is not None:
        api.get(path("queues", v, queue), {"columns": "name"}, what=f"queue '{queue}' in vhost '{v}'")
    if exchange is not None:
        api.get(path("exchanges", v, exchange), {"columns": "name"}, what=f"exchange '{exchange}' in vhost '{v}'")
    if queue is not None and exchange is not None:
        docs = api.get(path("bindings", v, "e", exchange, "q", queue))
    elif queue is not None:
        docs = api.get(path("queues", v, queue, "bindings"))
    elif exchange is not None:
        docs = api.get(path("exchanges", v, exchange, "bindings", "source"))
    else:
        docs = api.get(path("bindings", v), what=f"vhost '{v}'")
    rows = binding_rows(docs)
    emit(app, output, [r.to_dict() for r in rows], Table(BindingRow.COLUMNS, [r.cells() for r in rows]))
