"""`mqcli kafka groups delete-offsets`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit


def delete_offsets(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(metavar="GROUP", help="Consumer group id.", show_default=False)],
    topic: Annotated[
        str,
        typer.Option(
            "--topic", "-t", metavar="TOPIC", help="Topic whose committed offsets to delete.", show_default=False
        ),
    ],
    partition: Annotated[
        Optional[list[int]],
        typer.Option(
            "--partition",
            "-p",
            metavar="N",
            help="Only partition N (repeatable; default: every partition of the topic).",
            show_default=False,
        ),
    ] = None,
    output: TableOutputOpt = "auto",
    profile: ProfileOpt = None,
) -> None:
    """Delete a group's committed offsets on one topic (the group itself stays).

    The group's next consumer of those partitions starts where its
    auto.offset.reset says.  Kafka refuses (exit 1) while the group's active
    members are subscribed to the topic; an unknown group is exit 6.

    Example: mqcli kafka groups delete-offsets billing --topic orders-old
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        rows = admin.delete_offsets(group, topic, list(partition or []) or None)
    document = {"group": group, "partitions": rows}
    emit(
        app,
        output,
        document,
        Table(("topic", "partition", "deleted"), [(r["topic"], r["partition"], r["committed_offset"]) for r in rows]),
    )
    app.info(f"mqcli: deleted the committed offsets of group {group} on {len(rows)} partition(s) of {topic}")
