"""`mqcli kafka topics list`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit


def list_topics(
    ctx: typer.Context,
    internal: Annotated[
        bool, typer.Option("--internal", help="Include internal topics (__consumer_offsets, ...).")
    ] = False,
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """List topics with their partition count and replication factor.

    Example: mqcli kafka topics list --output json
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        topics = admin.list_topics(include_internal=internal)
    rows = [(t["name"], t["partitions"], t["replication_factor"]) for t in topics]
    emit(app, output, topics, Table(("topic", "partitions", "replication"), rows))
