"""`mqcli rabbit wait exists (--queue Q | --exchange X)`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import connect
from mqcli.cli.wait import IntervalOpt, TimeoutOpt, WaitTimes, wait_until
from mqcli.core.errors import UsageError


def wait_exists(
    ctx: typer.Context,
    queue: Annotated[
        Optional[str],
        typer.Option("--queue", "-q", metavar="QUEUE", help="Until this queue exists.", show_default=False),
    ] = None,
    exchange: Annotated[
        Optional[str],
        typer.Option("--exchange", "-e", metavar="EXCHANGE", help="Until this exchange exists.", show_default=False),
    ] = None,
    timeout: TimeoutOpt = "60s",
    interval: IntervalOpt = "1s",
    profile: ProfileOpt = None,
) -> None:
    """Wait until a queue or an exchange (or both) exists; exit 5 on timeout.

    Example: mqcli rabbit wait exists --queue jobs --timeout 30s
    """
    app = get_app(ctx, profile=profile)
    if queue is None and exchange is None:
        raise UsageError("say what to wait for: --queue QUEUE and/or --exchange EXCHANGE")
    from mqcli.core.rabbit.topology import exchange_exists, queue_exists

    things = [f"queue '{queue}'"] if queue is not None else []
    things += [f"exchange '{exchange}'"] if exchange is not None else []
    times = WaitTimes.parse(timeout, interval)
    what = " and ".join(things) + " to exist"

    with connect(app) as client:

        def missing() -> list[str]:
            out = []
            if queue is not None and not queue_exists(client, queue):
                out.append(f"queue '{queue}'")
            if exchange is not None and not exchange_exists(client, exchange):
                out.append(f"exchange '{exchange}'")
            return out

        def seen(m: list[str]) -> str:
            return "missing: " + ", ".join(m) if m else "all there"

        result = wait_until(app, what, missing, lambda m: not m, seen, times)
    app.info(f"mqcli: {' and '.join(things)} exist{'s' if len(things) == 1 else ''} ({result.elapsed:.1f}s)")
