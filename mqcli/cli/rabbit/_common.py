"""Helpers shared by the `mqcli rabbit` commands (no pika imports at module level)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from mqcli.cli.context import AppContext

if TYPE_CHECKING:
    from mqcli.core.rabbit.client import RabbitClient

DeclareOpt = Annotated[bool, typer.Option("--declare", help="Declare what is missing (durable); without it a missing queue/exchange is an error (exit 6).")]
PrefetchOpt = Annotated[
    Optional[int],
    typer.Option("--prefetch", min=1, help="Unacknowledged messages the broker may send ahead (QoS). 1 gives fair dispatch across workers. Default 100, 1 with --exec.", show_default=False),
]


def connect(app: AppContext) -> RabbitClient:
    """A connection to the profile's RabbitMQ (ConnectionFailed naming host:port and profile)."""
    from mqcli.core.rabbit.client import RabbitClient

    profile = app.profile
    if app.debug:
        import logging

        logging.basicConfig(level=logging.DEBUG if app.verbose else logging.WARNING, stream=app.err.file)
    return RabbitClient(profile.rabbit, profile=profile.name)


def typed_headers(headers: Optional[list[str]]) -> list[tuple[str, Any]]:
    """-H name=value with RabbitMQ's typed values (30000 -> int, true -> bool, '"30"' -> str)."""
    from mqcli.cli.io import parse_headers
    from mqcli.core.parse import typed_header_value

    return [(name, typed_header_value(value)) for name, value in parse_headers(headers)]


def write_json(app: AppContext, obj: Any) -> None:
    """Requested output for scripts: one JSON document on stdout."""
    app.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str).encode("utf-8") + b"\n")
    app.stdout.flush()


def write_table(app: AppContext, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Rich table on a terminal; tab-separated columns (with a header) in a pipe."""
    if app.stdout_isatty:
        from rich.table import Table

        table = Table(*columns)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        app.out.print(table)
        return
    lines = ["\t".join(c.upper() for c in columns)]
    lines += ["\t".join("" if v is None else str(v) for v in row) for row in rows]
    app.stdout.write(("\n".join(lines) + "\n").encode("utf-8"))
    app.stdout.flush()
