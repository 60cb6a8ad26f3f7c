"""`mqcli kafka topics delete`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt


def delete(
    ctx: typer.Context,
    topics: Annotated[list[str], typer.Argument(metavar="TOPIC", help="Topics to delete.", show_default=False)],
    if_exists: Annotated[
        bool, typer.Option("--if-exists", help="Succeed (exit 0) when a topic does not exist.")
    ] = False,
    profile: ProfileOpt = None,
) -> None:
    """Delete topics; a missing topic is exit 6 unless --if-exists.

    Example: mqcli kafka topics delete orders --if-exists
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        for topic in topics:
            deleted = admin.delete_topic(topic, if_exists=if_exists)
            app.info(f"mqcli: {'deleted' if deleted else 'did not exist:'} topic {topic}")
