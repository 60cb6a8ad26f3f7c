"""`mqcli kafka users delete`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.kafka.users._common import MechanismOpt, mechanisms
from mqcli.cli.options import ProfileOpt
from mqcli.core.errors import NotFound


def delete(
    ctx: typer.Context,
    users: Annotated[list[str], typer.Argument(metavar="USER", help="Users to delete.", show_default=False)],
    mechanism: MechanismOpt = None,
    if_exists: Annotated[
        bool, typer.Option("--if-exists", help="Succeed (exit 0) when a user has no such credential.")
    ] = False,
    profile: ProfileOpt = None,
) -> None:
    """Delete SCRAM users' credentials (every mechanism, or those given).

    A user without any of the named credentials is exit 6 unless --if-exists.
    Connections already signed in stay open until they re-authenticate.

    Example: mqcli kafka users delete alice
    """
    app = get_app(ctx, profile=profile)
    mechs = mechanisms(mechanism)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        for user in dict.fromkeys(users):
            try:
                gone = admin.delete_scram_user(user, mechs)
            except NotFound:
                if not if_exists:
                    raise
                app.info(f"mqcli: did not exist: user {user}")
                continue
            app.info(f"mqcli: deleted user {user} ({', '.join(gone)})")
