"""`mqcli config validate`: check every profile of the config file."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.core.config import (
    BUILTIN_PROFILE,
    LOCAL_FILE,
    default_config_path,
    find_config_file,
    load_config,
    resolve_profile,
)


def validate(
    ctx: typer.Context,
    path: Annotated[
        Optional[str],
        typer.Argument(metavar="PATH", help="File to check (default: the one in use).", show_default=False),
    ] = None,
) -> None:
    """Check the config file: every profile, every ${VAR}, and the MQCLI_*
    environment overrides of the profile in use. Prints `ok: PATH (N profiles)`
    on stderr; on a problem, one line naming file, line and key, and exit code 3.

    Example: mqcli config validate ./mqcli.yaml
    """
    app = get_app(ctx)
    file = find_config_file(path or app.config_path, app.env)
    if file is None:
        if not app.quiet:
            app.report(
                f"no config file (looked for ./{LOCAL_FILE} and {default_config_path(app.env)}); "
                f"using the built-in profile {BUILTIN_PROFILE!r}"
            )
        return
    config = load_config(file, app.env)
    warnings = [w for p in config.profiles.values() for w in p.warnings]
    name = app.profile_name or app.env.get("MQCLI_PROFILE") or config.default
    if name is not None:
        # Also what only shows up at run time: an unknown profile, a bad MQCLI_* value.
        warnings += resolve_profile(str(file), name, app.env).warnings
    for warning in dict.fromkeys(warnings):
        app.warn(warning)
    if not app.quiet:
        n = len(config.profiles)
        app.report(f"ok: {file} ({n} profile{'' if n == 1 else 's'})")
