"""`mqcli config init`: write a commented starter config file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.core.config import STARTER_CONFIG, default_config_path, write_starter_config


def init(
    ctx: typer.Context,
    path: Annotated[
        Optional[str],
        typer.Argument(
            metavar="PATH",
            help="Where to write it; - prints it to stdout (default: --config / $MQCLI_CONFIG, else $XDG_CONFIG_HOME/mqcli/config.yaml).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter config file (mode 0600, directories created).
    An existing file is kept unless --force: that is an error, exit code 3.

    Example: mqcli config init ./mqcli.yaml
    """
    app = get_app(ctx)
    if path == "-":
        app.out.print(STARTER_CONFIG, end="", soft_wrap=True)
        return
    # Default to where mqcli will look, so the new file is the one used next.
    target = Path(path) if path else Path(app.config_path) if app.config_path else default_config_path(app.env)
    written = write_starter_config(target, force=force)
    app.report(f"wrote {written}")
