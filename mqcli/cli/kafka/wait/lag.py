"""`mqcli kafka wait lag --group G [--topic T…] [--max N]`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.wait import IntervalOpt, TimeoutOpt, WaitTimes, wait_until


def wait_lag(
    ctx: typer.Context,
    group: Annotated[
        str, typer.Option("--group", "-g", metavar="GROUP", help="Consumer group id.", show_default=False)
    ],
    topics: Annotated[
        Optional[list[str]],
        typer.Option(
            "--topic",
            metavar="TOPIC",
            help="Only the lag on this topic (repeatable; default: every topic the group has committed offsets for).",
            show_default=False,
        ),
    ] = None,
    max_lag: Annotated[int, typer.Option("--max", metavar="N", min=0, help="Until the total lag is at most N.")] = 0,
    timeout: TimeoutOpt = "60s",
    interval: IntervalOpt = "1s",
    profile: ProfileOpt = None,
) -> None:
    """Wait until a consumer group has caught up (total lag at most --max); exit 5 with the last lag per partition on timeout.

    A partition the group has no committed offset for counts with every message
    still in it, so a group that has not started yet has not caught up; a --topic
    that does not exist yet is waited for.

    Example: mqcli kafka wait lag --group billing --topic orders --timeout 2m
    """
    app = get_app(ctx, profile=profile)
    times = WaitTimes.parse(timeout, interval)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin
    from mqcli.core.kafka.lag import GroupLag, LagCondition, measure_groups

    condition = LagCondition(max_lag)
    on = f" on {', '.join(topics)}" if topics else ""
    what = f"group '{group}' to {condition.describe()}{on}"

    with open_admin(settings, profile_name) as admin:

        def poll() -> GroupLag:
            return measure_groups(admin, [group], topics=topics or None)[0]

        result = wait_until(app, what, poll, condition.holds, lambda g: g.describe(limit=20), times)
    app.info(f"mqcli: group '{group}' {condition.done()}{on}: {result.last.describe()} ({result.elapsed:.1f}s)")
