"""`mqcli rabbit queue inspect QUEUE [--details]`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mqcli.cli.context import AppContext, get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.rabbit._common import connect
from mqcli.core.errors import MqcliError


def inspect(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(metavar="QUEUE", help="Queue name.", show_default=False)],
    details: Annotated[
        bool,
        typer.Option(
            "--details",
            "-d",
            help="Also type, state, unacked messages, rates and memory, from the management API "
            "(without it reachable: a warning, and the rest as usual).",
        ),
    ] = False,
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
    doc: dict[str, Any] = info.to_dict()
    columns: tuple[str, ...] = ("queue", "messages", "consumers")
    row: tuple[Any, ...] = (info.name, info.messages, info.consumers)
    extra = _details(app, queue) if details else None
    if extra is not None:
        doc.update(extra)
        columns += tuple(extra)
        row += tuple(extra.values())
    emit(app, output, doc, Table(columns, [row]))


def _details(app: AppContext, queue: str) -> dict[str, Any] | None:
    """What the management API adds about the queue; None (with a warning) when it cannot say."""
    from mqcli.cli.rabbit._management import management
    from mqcli.core.rabbit.management import path
    from mqcli.core.rabbit.management_views import QUEUE_COLUMNS, QueueRow

    vhost = app.profile.rabbit.vhost
    try:
        doc = management(app).get(
            path("queues", vhost, queue), {"columns": ",".join(QUEUE_COLUMNS)}, what=f"queue '{queue}'"
        )
    except MqcliError as e:
        app.warn(f"no details: {e.message}" + (f" ({e.hint})" if e.hint else ""))
        return None
    row = QueueRow.from_api(doc)
    return {
        "type": row.type,
        "state": row.state,
        "unacked": row.unacked,
        "publish_rate": row.publish_rate,
        "deliver_rate": row.deliver_rate,
        "memory": row.memory,
    }
