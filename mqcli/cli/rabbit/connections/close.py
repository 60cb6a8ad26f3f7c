"""`mqcli rabbit connections close NAME --reason REASON`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import StatusFormat, output_option, write_json
from mqcli.cli.rabbit._management import management


def close(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="The connection's name, as `connections list` shows it.", show_default=False
        ),
    ],
    reason: Annotated[
        str,
        typer.Option("--reason", metavar="REASON", help="Why: the client sees it in the close frame."),
    ] = "closed by mqcli",
    output: Annotated[
        StatusFormat, output_option(StatusFormat, 'auto: a line on stderr; json: {"closed": NAME, "reason": TEXT}.')
    ] = "auto",
    profile: ProfileOpt = None,
) -> None:
    """Close a client connection (exit 6 when there is none of that name).

    Example: mqcli rabbit connections close '127.0.0.1:50312 -> 127.0.0.1:5672' --reason 'stuck worker'
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.management import path

    management(app).delete(path("connections", name), headers={"X-Reason": reason}, what=f"connection '{name}'")
    if output == "json":
        write_json(app, {"closed": name, "reason": reason})
    else:
        app.info(f"mqcli: closed connection '{name}' ({reason})")
