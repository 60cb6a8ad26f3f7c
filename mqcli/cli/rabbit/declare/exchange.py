"""`mqcli rabbit declare exchange NAME --type T`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import connect, typed_headers


def exchange(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="EXCHANGE", help="Exchange name.", show_default=False)],
    exchange_type: Annotated[
        str, typer.Option("--type", metavar="TYPE", help="direct, fanout, topic, headers (or a plugin's type).")
    ] = "direct",
    transient: Annotated[bool, typer.Option("--transient", help="Not durable: gone after a broker restart.")] = False,
    auto_delete: Annotated[bool, typer.Option("--auto-delete", help="Delete when the last binding goes away.")] = False,
    internal: Annotated[bool, typer.Option("--internal", help="Only other exchanges may publish to it.")] = False,
    alternate_exchange: Annotated[
        Optional[str],
        typer.Option(
            "--alternate-exchange", metavar="EXCHANGE", help="Where unroutable messages go.", show_default=False
        ),
    ] = None,
    arg: Annotated[
        Optional[list[str]],
        typer.Option(
            "--arg", metavar="NAME=VALUE", help="Any other argument name=value (typed like -H).", show_default=False
        ),
    ] = None,
    profile: ProfileOpt = None,
) -> None:
    """Declare an exchange (durable by default).

    Example: mqcli rabbit declare exchange events --type topic
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.topology import declare_exchange

    args = dict(typed_headers(arg))
    if alternate_exchange is not None:
        args["alternate-exchange"] = alternate_exchange
    with connect(app) as client:
        declare_exchange(
            client,
            name,
            exchange_type,
            durable=not transient,
            auto_delete=auto_delete,
            internal=internal,
            arguments=args,
        )
    app.info(f"mqcli: exchange {name} declared ({exchange_type})")
