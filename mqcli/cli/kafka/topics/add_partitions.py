"""`mqcli kafka topics add-partitions`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.core.errors import UsageError


def add_partitions(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(metavar="TOPIC", help="Topic to grow.", show_default=False)],
    total: Annotated[
        int,
        typer.Argument(
            metavar="N",
            min=1,
            help="The partition count to grow to (a total, as kafka-topics.sh --alter --partitions).",
            show_default=False,
        ),
    ],
    profile: ProfileOpt = None,
) -> None:
    """Grow a topic to N partitions; exit 0 when it has N already.

    Kafka cannot remove partitions: N below the current count is exit 2. Keys
    map to partitions by their hash, so keyed records go to other partitions
    from now on. A missing topic is exit 6.

    Example: mqcli kafka topics add-partitions orders 6
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        current = len(admin.partitions(topic))
        if total < current:
            raise UsageError(
                f"topic {topic!r} has {current} partitions: Kafka cannot remove partitions",
                hint="create a new topic with fewer partitions and copy the records (mqcli copy)",
            )
        if total == current:
            app.info(f"mqcli: topic {topic} has {current} partitions already")
            return
        admin.add_partitions(topic, total)
    app.info(f"mqcli: topic {topic}: {current} -> {total} partitions")
