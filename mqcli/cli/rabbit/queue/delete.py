"""`mqcli rabbit queue delete QUEUE`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import connect


def delete(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(metavar="QUEUE", help="Queue name.", show_default=False)],
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Only when it holds no ready messages (else exit 1).")
    ] = False,
    if_unused: Annotated[
        bool, typer.Option("--if-unused", help="Only when it has no consumers (else exit 1).")
    ] = False,
    profile: ProfileOpt = None,
) -> None:
    """Delete a queue and the messages in it (exit 6 when it does not exist).

    Example: mqcli rabbit queue delete jobs --if-empty
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.topology import delete_queue

    with connect(app) as client:
        n = delete_queue(client, queue, if_empty=if_empty, if_unused=if_unused)
    app.info(f"mqcli: deleted queue {queue} ({n} message(s))")
