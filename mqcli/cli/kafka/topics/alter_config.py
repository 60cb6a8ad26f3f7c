"""`mqcli kafka topics alter-config`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.core.errors import UsageError


def alter_config(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(metavar="TOPIC", help="Topic whose config to change.", show_default=False)],
    configs: Annotated[
        Optional[list[str]],
        typer.Argument(metavar="NAME=VALUE", help="Configs to set, e.g. retention.ms=86400000.", show_default=False),
    ] = None,
    delete: Annotated[
        Optional[list[str]],
        typer.Option(
            "--delete",
            "-d",
            metavar="NAME",
            help="Remove the topic's own value of NAME, so the broker's default applies again (repeatable).",
            show_default=False,
        ),
    ] = None,
    profile: ProfileOpt = None,
) -> None:
    """Set and reset topic configs incrementally: the configs not named keep their values.

    A missing topic is exit 6; a name or value the broker refuses, exit 2.

    Example: mqcli kafka topics alter-config orders retention.ms=86400000 cleanup.policy=compact --delete segment.ms
    """
    app = get_app(ctx, profile=profile)
    set_configs: dict[str, str] = {}
    for item in configs or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"invalid config {item!r} (use name=value)")
        set_configs[name] = value
    reset = list(dict.fromkeys(delete or ()))
    both = sorted(set(set_configs) & set(reset))
    if both:
        raise UsageError(f"{', '.join(both)}: both set and --delete")
    if not set_configs and not reset:
        raise UsageError("nothing to change: name configs as NAME=VALUE and/or --delete NAME")
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        admin.alter_topic_config(topic, set_configs, reset)
    done = [f"{n}={v}" for n, v in set_configs.items()] + [f"{n} reset" for n in reset]
    app.info(f"mqcli: altered topic {topic}: {', '.join(done)}")
