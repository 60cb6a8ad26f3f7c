"""`mqcli kafka users set-password`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import AppContext, get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.kafka.users._common import MechanismOpt, mechanisms
from mqcli.cli.options import ProfileOpt
from mqcli.core.errors import UsageError


def set_password(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(metavar="USER", help="User name (created when new).", show_default=False)],
    mechanism: MechanismOpt = None,
    iterations: Annotated[
        int,
        typer.Option("--iterations", metavar="N", help="SCRAM iterations (Kafka accepts 4096 to 16384).", min=1),
    ] = 4096,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of stdin (else: a prompt)."),
    ] = False,
    profile: ProfileOpt = None,
) -> None:
    """Create a SCRAM user or change its password.

    The password is never an argument (it would show in `ps` and the shell's
    history): it is asked for on a terminal (twice), or read from stdin with
    --password-stdin. The broker hashes nothing itself: the client sends a
    salted SCRAM credential, never the password.

    Example: printf '%s\\n' "$PW" | mqcli kafka users set-password alice --password-stdin
    """
    app = get_app(ctx, profile=profile)
    mechs = mechanisms(mechanism)
    password = _password(app, user, password_stdin)
    settings, profile_name = kafka_settings(app, ctx)
    from mqcli.core.kafka.engine import admin as open_admin

    with open_admin(settings, profile_name) as admin:
        for mech in mechs:
            admin.set_scram_password(user, mech, password, iterations)
            app.info(f"mqcli: set {mech} password of user {user}")


def _password(app: AppContext, user: str, from_stdin: bool) -> str:
    """The new password: stdin's first line, or a prompt (twice) on a terminal."""
    if from_stdin:
        line = app.stdin.readline().decode("utf-8", errors="strict").rstrip("\r\n")
        if not line:
            raise UsageError("--password-stdin: stdin has no password (an empty first line)")
        return line
    if not (app.stdin_isatty and app.stderr_isatty):
        raise UsageError(
            "no terminal to ask for the password on", hint="pipe it in with --password-stdin (never as an argument)"
        )
    import getpass

    first = getpass.getpass(f"New password for {user}: ")
    if not first:
        raise UsageError("the password must not be empty")
    if getpass.getpass("Again: ") != first:
        raise UsageError("the passwords do not match: nothing changed")
    return first
