"""Shared option aliases, so every command spells its options the same way
(typer-free: see mqcli.cli.params)."""

from __future__ import annotations

import os
from typing import Annotated, Optional

from mqcli.cli import params


def complete_profiles(incomplete: str) -> list[str]:
    """Profile names from the config file, for shell completion."""
    try:
        from mqcli.core.config import list_profiles

        names = list_profiles(config_path=os.environ.get("MQCLI_CONFIG"), env=os.environ)
    except Exception:  # completion must never print a traceback into the shell
        return []
    return [n for n in names if n.startswith(incomplete)]


ProfileOpt = Annotated[
    Optional[str],
    params.Option(
        "--profile",
        "-P",
        metavar="NAME",
        help="Profile to use (overrides the global --profile and $MQCLI_PROFILE).",
        autocompletion=complete_profiles,
        show_default=False,
    ),
]
