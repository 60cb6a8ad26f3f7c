"""`mqcli rabbit declare binding --exchange X (--queue Q | --to-exchange Y) [--key K ...]`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import connect, typed_headers
from mqcli.core.errors import UsageError


def binding(
    ctx: typer.Context,
    exchange: Annotated[
        str, typer.Option("--exchange", metavar="EXCHANGE", help="Source exchange.", show_default=False)
    ],
    queue: Annotated[
        Optional[str], typer.Option("--queue", "-q", metavar="QUEUE", help="Destination queue.", show_default=False)
    ] = None,
    to_exchange: Annotated[
        Optional[str],
        typer.Option(
            "--to-exchange",
            metavar="EXCHANGE",
            help="Destination exchange (exchange-to-exchange binding).",
            show_default=False,
        ),
    ] = None,
    keys: Annotated[
        Optional[list[str]],
        typer.Option("--key", "-k", metavar="KEY", help="Binding key (repeatable; default '').", show_default=False),
    ] = None,
    arg: Annotated[
        Optional[list[str]],
        typer.Option(
            "--arg",
            metavar="NAME=VALUE",
            help="Binding argument name=value, e.g. for headers exchanges x-match=all (typed like -H).",
            show_default=False,
        ),
    ] = None,
    profile: ProfileOpt = None,
) -> None:
    """Bind a queue (or another exchange) to an exchange with each --key.

    Example: mqcli rabbit declare binding --exchange events --queue audit --key 'user.#'
    """
    app = get_app(ctx, profile=profile)
    if (queue is None) == (to_exchange is None):
        raise UsageError("give --queue or --to-exchange")
    from mqcli.core.rabbit.topology import bind_exchange, bind_queue

    args = dict(typed_headers(arg)) or None
    with connect(app) as client:
        for key in keys or [""]:
            if queue is not None:
                bind_queue(client, queue, exchange, key, args)
            else:
                bind_exchange(client, to_exchange or "", exchange, key, args)
    app.info(f"mqcli: bound {queue or to_exchange} to {exchange} with {', '.join(repr(k) for k in keys or [''])}")
