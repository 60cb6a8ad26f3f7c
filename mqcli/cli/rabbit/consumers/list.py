"""`mqcli rabbit consumers list`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.rabbit._management import VhostOpt, management, vhost_of


def list_consumers(
    ctx: typer.Context,
    queue: Annotated[
        Optional[str],
        typer.Option("--queue", "-q", metavar="QUEUE", help="Only this queue's consumers.", show_default=False),
    ] = None,
    vhost: VhostOpt = None,
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """List consumers: queue, consumer tag, connection, ack mode, prefetch, exclusive, active.

    Example: mqcli rabbit consumers list --queue jobs -o json
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.management import path
    from mqcli.core.rabbit.management_views import ConsumerRow, consumer_rows

    v = vhost_of(app, vhost)
    rows = consumer_rows(management(app).get(path("consumers", v), what=f"vhost '{v}'"), queue=queue)
    emit(app, output, [r.to_dict() for r in rows], Table(ConsumerRow.COLUMNS, [r.cells() for r in rows]))
