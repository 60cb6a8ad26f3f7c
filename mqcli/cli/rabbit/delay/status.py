"""`mqcli rabbit delay status`."""

from __future__ import annotations

import typer

from mqcli.cli.context import get_app
from mqcli.cli.io import OutputFormat, OutputOpt
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import connect
from mqcli.cli.render import write_json, write_table


def status(ctx: typer.Context, output: OutputOpt = OutputFormat.auto, profile: ProfileOpt = None) -> None:
    """Show the delay queues (and plugin exchanges) in use and how many
    messages wait in each.  Expired delay queues are left out.

    Example: mqcli rabbit delay status --output json
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.delay import status as delay_status

    with connect(app) as client:
        rows = delay_status(client)
    if output is OutputFormat.json:
        write_json(app, [r.to_dict() for r in rows])
        return
    write_table(
        app,
        ["name", "via", "delay", "target", "waiting"],
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
