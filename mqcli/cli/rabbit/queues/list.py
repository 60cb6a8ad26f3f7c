"""`mqcli rabbit queues list`."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.cli.rabbit._management import MatchOpt, VhostOpt, management, vhost_of
from mqcli.cli.watch import WatchOpt, run_watch

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
    watch: WatchOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """List queues: type, state, ready and unacked messages, consumers, rates, memory.

    With --watch: depth/s (the change of ready + unacked), the ETA to an empty
    queue while it shrinks and the depth's trend over the last minute.

    Example: mqcli rabbit queues list --match '^orders' --sort depth --watch
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.management import path
    from mqcli.core.rabbit.management_views import QUEUE_COLUMNS, QueueRow, QueueRowCache, name_filter, queue_rows

    name_filter(match)  # a bad regex is a usage error before any request
    v = vhost_of(app, vhost)
    api = management(app)

    cache: QueueRowCache | None = None

    def fetch() -> list[QueueRow]:
        docs = api.get(path("queues", v), {"columns": ",".join(QUEUE_COLUMNS)}, what=f"vhost '{v}'")
        return queue_rows(docs, match=match, sort=sort, cache=cache)

    if watch is not None:
        from mqcli.core.watch import Gauge, View, WatchRow

        view = View(QueueRow.COLUMNS, (Gauge("depth", "depth_per_s", "depth/s", eta=True, trend="value"),))
        cache = QueueRowCache()
        built: dict[tuple[str, str], tuple[QueueRow, WatchRow]] = {}

        def snapshot() -> tuple[str, list[WatchRow]]:
            # An unchanged queue comes back as the same QueueRow: its WatchRow is reused too.
            nonlocal built
            now: dict[tuple[str, str], tuple[QueueRow, WatchRow]] = {}
            rows = []
            for r in fetch():
                key = (r.vhost, r.name)
                hit = built.get(key)
                if hit is None or hit[0] is not r:
                    hit = (r, WatchRow(key, r.cells(), r.to_dict(), {"depth": r.depth}))
                now[key] = hit
                rows.append(hit[1])
            built = now
            return f"queues of vhost '{v}'", rows

        run_watch(app, output, watch, view, snapshot)
        return
    rows = fetch()
    emit(app, output, [r.to_dict() for r in rows], Table(QueueRow.COLUMNS, [r.cells() for r in rows]))
