"""`mqcli kafka wait topic TOPIC [--partitions N]`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.wait import IntervalOpt, TimeoutOpt, WaitTimes, wait_until


def wait_topic(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(metavar="TOPIC", help="Topic name.", show_default=False)],
    partitions: Annotated[
        Optional[int],
        typer.Option(
            "--partitions", metavar="N", min=1, help="Until it has at least N partitions.", show_default=False
        ),
    ] = None,
    timeout: TimeoutOpt = "60s",
    interval: IntervalOpt = "1s",
    profile: ProfileOpt = None,
) -> None:
    """Wait until a topic exists (with at least --partitions N); exit 5 on timeout.

    Example: mqcli kafka wait topic orders --partitions 6 --timeout 30s
    """
    app = get_app(ctx, profile=profile)
    times = WaitTimes.parse(timeout, interval)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.errors import NotFound
    from mqcli.core.kafka.engine import admin as open_admin

    what = f"topic '{topic}' to exist" + (f" with at least {partitions} partitions" if partitions else "")

    def seen(n: int | None) -> str:
        return "the topic does not exist" if n is None else f"{n} partition{'' if n == 1 else 's'}"

    with open_admin(settings, profile_name) as admin:

        def poll() -> int | None:
            try:
                return len(admin.partitions(topic))
            except NotFound:
                return None

        result = wait_until(app, what, poll, lambda n: n is not None and n >= (partitions or 1), seen, times)
    app.info(f"mqcli: topic '{topic}' exists: {seen(result.last)} ({result.elapsed:.1f}s)")
