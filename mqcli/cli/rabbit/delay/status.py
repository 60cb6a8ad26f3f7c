"""`mqcli rabbit delay status`."""

from __future__ import annotations

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.rabbit._common import connect


def status(ctx: typer.Context, output: TableOutputOpt = "auto", profile: ProfileOpt = None) -> None:
    """Show the delay queues (and plugin exchanges) in use and how many
    messages wait in each.  Expired delay queues are left out.

    Example: mqcli rabbit delay status --output json
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.delay import status as delay_status

    with connect(app) as client:
        rows = delay_status(client)
    table = Table(
        ("name", "via", "delay", "target", "waiting"),
        [
            (
                r.name,
                r.via,
                f"{r.delay_ms / 1000:g}s" if r.delay_ms is not None else "per message",
                r.target,
                "" if r.waiting is None else r.waiting,
            )
            for r in rows
        ],
    )
    emit(app, output, [r.to_dict() for r in rows], table)
