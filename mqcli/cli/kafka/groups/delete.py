"""`mqcli kafka groups delete`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.options import ProfileOpt
from mqcli.core.errors import MqcliError, NotFound


def delete(
    ctx: typer.Context,
    groups: Annotated[
        list[str], typer.Argument(metavar="GROUP", help="Consumer groups to delete.", show_default=False)
    ],
    if_exists: Annotated[
        bool, typer.Option("--if-exists", help="Succeed (exit 0) when a group does not exist.")
    ] = False,
    profile: ProfileOpt = None,
) -> None:
    """Delete consumer groups and their committed offsets.

    Kafka refuses to delete a group that has active members (exit 1); a group
    that does not exist is exit 6 unless --if-exists.

    Example: mqcli kafka groups delete billing-old reports-tmp
    """
    app = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    names = list(dict.fromkeys(groups))  # each once, in the order given
    with open_admin(settings, profile_name) as admin:
        results = admin.delete_groups(names)
    failures: list[MqcliError] = []
    for group in names:
        error = results[group]
        if error is None:
            app.info(f"mqcli: deleted group {group}")
        elif isinstance(error, NotFound) and if_exists:
            app.info(f"mqcli: did not exist: group {group}")
        else:
            failures.append(error)
    if not failures:
        return
    # Every refusal is named; the exit code is the first one's (its line last,
    # from the one place errors become an exit code).
    for error in failures[1:]:
        app.error(f"error: {error.message}")
    first = failures[0]
    if len(failures) > 1:
        raise type(first)(f"{first.message} ({len(failures)} of {len(names)} groups not deleted)", hint=first.hint)
    raise first
