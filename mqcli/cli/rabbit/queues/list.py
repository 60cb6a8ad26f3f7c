"""`mqcli rabbit queues list`."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.rabbit._management import MatchOpt, VhostOpt, management, vhost_of

QueueSort = Literal["name", "depth", "rate"]


def list_queues(
    ctx: typer.Context,
    vhost: VhostOpt = None,
    match: MatchOpt = None,
    sort: Annotated[
        QueueSort,
        typer.Option(
            "--sort",
            metavar="name|depth|rate",
            case_sensitive=False,
            help="name (A-Z), depth (ready + unacked, deepest first) or rate (messages/s in + out, busiest first).",
        ),
    ] = "name",
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """List queues: type, state, ready and unacked messages, consumers, rates, memory.

    Example: mqcli rabbit queues list --match '^orders' --sort depth
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.management import path
    from mqcli.core.rabbit.management_views import QUEUE_COLUMNS, QueueRow, name_filter, queue_rows

    name_filter(match)  # a bad regex is a usage error before any request
    v = vhost_of(app, vhost)
    docs = management(app).get(path("queues", v), {"columns": ",".join(QUEUE_COLUMNS)}, what=f"vhost '{v}'")
    rows = queue_rows(docs, match=match, sort=sort)
    emit(app, output, [r.to_dict() for r in rows], Table(QueueRow.COLUMNS, [r.cells() for r in rows]))
