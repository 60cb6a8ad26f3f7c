"""`mqcli rabbit wait queue QUEUE (--empty | --max N | --min N | --consumers N)`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import connect
from mqcli.cli.wait import IntervalOpt, TimeoutOpt, WaitTimes, wait_until


def wait_queue(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(metavar="QUEUE", help="Queue name.", show_default=False)],
    empty: Annotated[bool, typer.Option("--empty", help="Until no message is ready (all delivered).")] = False,
    max_ready: Annotated[
        Optional[int],
        typer.Option("--max", metavar="N", min=0, help="Until at most N messages are ready.", show_default=False),
    ] = None,
    min_ready: Annotated[
        Optional[int],
        typer.Option("--min", metavar="N", min=0, help="Until at least N messages are ready.", show_default=False),
    ] = None,
    consumers: Annotated[
        Optional[int],
        typer.Option(
            "--consumers", metavar="N", min=0, help="Until at least N consumers are attached.", show_default=False
        ),
    ] = None,
    timeout: TimeoutOpt = "60s",
    interval: IntervalOpt = "1s",
    profile: ProfileOpt = None,
) -> None:
    """Wait until a queue holds a condition (all given must hold); exit 5 with what was last seen on timeout.

    Counts are the broker's exact ready and consumer counts (a passive declare: no
    plugin needed); a queue that does not exist yet is waited for.

    Example: mqcli rabbit wait queue jobs --empty --consumers 1 --timeout 2m
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.errors import NotFound
    from mqcli.core.rabbit.wait import QueueCondition, QueueState

    condition = QueueCondition.from_options(empty=empty, max_ready=max_ready, min_ready=min_ready, consumers=consumers)
    times = WaitTimes.parse(timeout, interval)
    what = f"queue '{queue}' to be {condition.describe()}"

    with connect(app) as client:

        def poll() -> QueueState:
            try:
                ready, n = client.queue_info(queue)
            except NotFound:
                return QueueState(exists=False)
            return QueueState(True, ready, n)

        result = wait_until(app, what, poll, condition.holds, QueueState.describe, times)
    app.info(f"mqcli: queue '{queue}' is {condition.describe()}: {result.last.describe()} ({result.elapsed:.1f}s)")
