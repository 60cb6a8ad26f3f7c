"""`mqcli rabbit queue inspect QUEUE`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.rabbit._common import connect


def inspect(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(metavar="QUEUE", help="Queue name.", show_default=False)],
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """Show a queue's ready messages and consumers (a passive declare: exit 6 when missing).

    Example: mqcli rabbit queue inspect jobs --output json
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.topology import inspect_queue

    with connect(app) as client:
        info = inspect_queue(client, queue)
    emit(
        app,
        output,
        info.to_dict(),
        Table(("queue", "messages", "consumers"), [(info.name, info.messages, info.consumers)]),
    )
