"""`mqcli config show`: the resolved profile, secrets masked."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
import yaml

from mqcli.cli.context import get_app
from mqcli.cli.options import complete_profiles
from mqcli.cli.output import DocumentFormat, output_option


def show(
    ctx: typer.Context,
    profile: Annotated[
        Optional[str],
        typer.Argument(
            metavar="PROFILE",
            help="Profile to show (default: --profile, $MQCLI_PROFILE, the file's default).",
            autocompletion=complete_profiles,
            show_default=False,
        ),
    ] = None,
    output: Annotated[DocumentFormat, output_option(DocumentFormat, "yaml or json.")] = "yaml",
) -> None:
    """Show a profile as it will be used: after MQCLI_* environment overrides,
    with defaults filled in and passwords shown as ****.

    Example: mqcli config show prod
    """
    app = get_app(ctx, profile=profile)
    prof = app.profile
    data = prof.to_dict(mask=True)
    if output == "json":
        text = json.dumps({"name": prof.name, "source": prof.source, **data}, indent=2)
    else:
        # A comment keeps the output valid YAML, usable as a profile section.
        header = f"# profile {prof.name} ({prof.source}); rabbit: {prof.rabbit.display_url()}\n"
        text = header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True).rstrip("\n")
    app.out.print(text, soft_wrap=True)
