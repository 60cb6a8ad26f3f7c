"""`mqcli ping`: check that the profile's brokers answer."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.core.errors import ConnectionFailed, MqcliError, TimeoutExpired
from mqcli.core.parse import parse_duration


def ping(
    ctx: typer.Context,
    kafka: Annotated[bool, typer.Option("--kafka", help="Check only Kafka.")] = False,
    rabbit: Annotated[bool, typer.Option("--rabbit", help="Check only RabbitMQ.")] = False,
    wait: Annotated[
        Optional[str],
        typer.Option(
            "--wait",
            "-w",
            metavar="DURATION",
            help="Keep trying for up to DURATION (e.g. 60s) before failing.",
            show_default=False,
        ),
    ] = None,
    profile: ProfileOpt = None,
) -> None:
    """Check that Kafka and RabbitMQ answer; exit 0 when they do, 4 when not.

    Run it in CI before sending: `mqcli ping --wait 60s`.

    Example: mqcli ping --rabbit --wait 30s
    """
    app = get_app(ctx, profile=profile)
    deadline = time.monotonic() + (parse_duration(wait) if wait else 0.0)
    checks = []
    if kafka or not rabbit:
        checks.append("kafka")
    if rabbit or not kafka:
        checks.append("rabbit")
    settings = app.profile
    for name in checks:
        while True:
            started = time.monotonic()
            try:
                if name == "kafka":
                    from mqcli.core.kafka.engine import ping as kafka_ping
                    from mqcli.core.kafka.engine import resolve

                    detail = kafka_ping(resolve(settings.kafka))  # the profile is named below
                else:
                    from mqcli.core.rabbit.client import ping as rabbit_ping

                    detail = rabbit_ping(settings.rabbit)
            except (ConnectionFailed, TimeoutExpired) as e:
                if time.monotonic() >= deadline:
                    raise ConnectionFailed(f"{name}: {e.message} (profile {settings.name})", hint=e.hint) from None
                app.debug_log(f"{name} not ready yet: {e.message}")
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
                continue
            except MqcliError:
                raise
            ms = (time.monotonic() - started) * 1000
            app.out.print(f"{name}: ok {detail} ({ms:.0f} ms)")
            break
