"""`mqcli rabbit queue purge QUEUE`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import connect


def purge(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(metavar="QUEUE", help="Queue name.", show_default=False)],
    profile: ProfileOpt = None,
) -> None:
    """Remove every ready message from a queue (unacknowledged ones stay).

    Example: mqcli rabbit queue purge jobs
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.topology import inspect_queue, purge_queue

    with connect(app) as client:
        inspect_queue(client, queue)  # exit 6 for a missing queue
        n = purge_queue(client, queue)
    app.info(f"mqcli: purged {n} message(s) from {queue}")
