"""`mqcli kafka topics create`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.core.errors import UsageError


def create(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(metavar="TOPIC", help="Topic to create.", show_default=False)],
    partitions: Annotated[
        Optional[int],
        typer.Option(
            "--partitions", metavar="N", min=1, help="Number of partitions (default: the broker's).", show_default=False
        ),
    ] = None,
    replication_factor: Annotated[
        Optional[int],
        typer.Option(
            "--replication-factor",
            "-r",
            metavar="N",
            min=1,
            help="Replication factor (default: the broker's).",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Optional[list[str]],
        typer.Option(
            "--config",
            "-c",
            metavar="NAME=VALUE",
            help="Topic config name=value (repeatable), e.g. retention.ms=86400000.",
            show_default=False,
        ),
    ] = None,
    if_not_exists: Annotated[
        bool, typer.Option("--if-not-exists", help="Succeed (exit 0) when the topic already exists.")
    ] = False,
    profile: ProfileOpt = None,
) -> None:
    """Create a topic; fails (exit 1) when it exists unless --if-not-exists.

    Example: mqcli kafka topics create orders --partitions 3 --config retention.ms=86400000 --if-not-exists
    """
    app = get_app(ctx, profile=profile)
    configs: dict[str, str] = {}
    for item in config or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"invalid --config {item!r} (use name=value)")
        configs[name] = value
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        created = admin.create_topic(topic, partitions, replication_factor, configs, if_not_exists=if_not_exists)
    app.info(f"mqcli: {'created' if created else 'already exists:'} topic {topic}")
