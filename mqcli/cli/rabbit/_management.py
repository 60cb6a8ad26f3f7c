"""Helpers of the commands that read RabbitMQ through the management HTTP API
(`rabbit queues|exchanges|bindings|connections|consumers`, `rabbit overview`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from mqcli.cli.context import AppContext

if TYPE_CHECKING:
    from mqcli.core.rabbit.management import ManagementClient

VhostOpt = Annotated[
    Optional[str],
    typer.Option("--vhost", metavar="VHOST", help="Virtual host (default: the profile's).", show_default=False),
]
MatchOpt = Annotated[
    Optional[str],
    typer.Option(
        "--match",
        "-m",
        metavar="REGEX",
        help="Only names this regex matches (anywhere in the name).",
        show_default=False,
    ),
]


def management(app: AppContext) -> ManagementClient:
    """A client of the profile's management API (rabbit.management_url); requests are --debug lines."""
    from mqcli.core.rabbit.management import ManagementClient

    profile = app.profile
    return ManagementClient(profile.rabbit, profile=profile.name, debug=app.debug_log if app.debug else None)


def vhost_of(app: AppContext, vhost: Optional[str]) -> str:
    return app.profile.rabbit.vhost if vhost is None else vhost
