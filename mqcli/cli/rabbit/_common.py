"""Helpers shared by the `mqcli rabbit` commands (no pika imports at module level)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from mqcli.cli.context import AppContext

if TYPE_CHECKING:
    from mqcli.core.rabbit.client import RabbitClient, ReconnectPolicy

DeclareOpt = Annotated[bool, typer.Option("--declare", help="Declare what is missing (durable); without it a missing queue/exchange is an error (exit 6).")]
PrefetchOpt = Annotated[
    Optional[int],
    typer.Option("--prefetch", min=1, help="Unacknowledged messages the broker may send ahead (QoS). 1 gives fair dispatch across workers. Default 100, 1 with --exec.", show_default=False),
]

ReconnectOpt = Annotated[
    int,
    typer.Option(
        "--reconnect",
        min=0,
        metavar="N",
        help="When the connection is lost (broker restart, network), reconnect up to N times, waiting 0.5s, 1s, 2s, 4s, then 5s between attempts, and resume. 0: exit 4 at once.",
    ),
]


def reconnect_policy(attempts: int) -> ReconnectPolicy:
    from mqcli.core.rabbit.client import ReconnectPolicy

    return ReconnectPolicy(attempts=attempts)


def notifier(app: AppContext) -> Callable[[str], None]:
    """Reconnect progress on stderr (a warning: something went wrong, even if mqcli recovers)."""
    return app.warn


def private_stdin(app: AppContext) -> None:
    """Give the input reader thread a file object of its own for stdin.

    publish, rpc call and delay publish read their input on a helper thread.
    When mqcli stops (an error, Ctrl-C) while that thread waits in a read
    (`tail -f | mqcli rabbit publish ...`), it holds the lock of the file
    object, and Python aborts at exit trying to close sys.stdin ("Fatal
    Python error: _enter_buffered_busy", exit 134 instead of ours).  A
    separate object on a dup of fd 0 is never closed at exit, so the exit
    code stays the documented one."""
    try:
        fd = app.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (in-process tests)
        return
    app.stdin = os.fdopen(os.dup(fd), "rb")


def connect(app: AppContext) -> RabbitClient:
    """A connection to the profile's RabbitMQ (ConnectionFailed naming host:port and profile)."""
    from mqcli.core.rabbit.client import RabbitClient

    profile = app.profile
    if app.debug:
        import logging

        from mqcli.core.logs import show_library_logs

        # pika at debug level logs every frame: only with -v.
        level = logging.DEBUG if app.verbose else logging.WARNING
        show_library_logs("pika", "pika", app.err.file, profile.secrets(), level)  # type: ignore[arg-type]
    return RabbitClient(profile.rabbit, profile=profile.name)


def typed_headers(headers: Optional[list[str]]) -> list[tuple[str, Any]]:
    """-H name=value with RabbitMQ's typed values (30000 -> int, true -> bool, '"30"' -> str)."""
    from mqcli.cli.io import parse_headers
    from mqcli.core.parse import typed_header_value

    return [(name, typed_header_value(value)) for name, value in parse_headers(headers)]
