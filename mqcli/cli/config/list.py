"""`mqcli config list`: the profile names of the config file in use."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.output import StatusFormat, output_option
from mqcli.core.config import BUILTIN_PROFILE, BUILTIN_SOURCE, find_config_file, read_profile_names


def list_profiles_cmd(
    ctx: typer.Context,
    output: Annotated[
        StatusFormat,
        output_option(
            StatusFormat,
            "auto: one name per line (the default one marked on a terminal); json: [{name, default, source}].",
        ),
    ] = "auto",
) -> None:
    """List the profiles (the default one is marked on a terminal).

    Example: mqcli config list --output json
    """
    app = get_app(ctx)
    path = find_config_file(app.config_path, app.env)
    default: str | None  # a file may name no default profile
    if path is None:
        names, default, source = [BUILTIN_PROFILE], BUILTIN_PROFILE, BUILTIN_SOURCE
    else:
        # Only the top level is read: one profile's unset ${VAR} must not hide the names.
        names, default = read_profile_names(path)
        source = str(path)
    if output == "json":
        rows = [{"name": n, "default": n == default, "source": source} for n in names]
        app.out.print(json.dumps(rows, indent=2), soft_wrap=True)
        return
    for name in names:
        # Piped output stays bare names, so `for p in $(mqcli config list)` works.
        label = f"{name} (default)" if app.stdout_isatty and name == default else name
        app.out.print(label, soft_wrap=True)
