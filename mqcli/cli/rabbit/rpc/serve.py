"""`mqcli rabbit rpc serve QUEUE --exec CMD`."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import get_app
from mqcli.cli.io import CountOpt, TimeoutOpt, timeout_seconds
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import DeclareOpt, PrefetchOpt, ReconnectOpt, connect, notifier, reconnect_policy
from mqcli.core.message import Message


def serve(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(metavar="QUEUE", help="Queue to take requests from.", show_default=False)],
    exec_cmd: Annotated[
        str,
        typer.Option(
            "--exec",
            "-x",
            metavar="CMD",
            help="Command run per request (via the shell): request body on stdin, metadata in MQCLI_* variables; its stdout is the reply.",
            show_default=False,
        ),
    ],
    count: CountOpt = None,
    timeout: TimeoutOpt = None,
    prefetch: PrefetchOpt = None,
    declare: DeclareOpt = False,
    reconnect: ReconnectOpt = 0,
    profile: ProfileOpt = None,
) -> None:
    """Answer requests on QUEUE with the output of a command.

    Per request: run CMD with the body on stdin, publish its stdout to the
    request's reply_to with the same correlation id, then acknowledge.  When
    CMD exits non-zero the reply carries the header x-mqcli-error (and rpc
    call fails); the request is still acknowledged.  Run several servers on
    one queue to share the load (--prefetch 1 by default).  Ctrl-C/SIGTERM
    lets a running command finish and answers it before stopping;
    --reconnect N survives a broker restart.

    Example: mqcli rabbit rpc serve squares --declare --exec 'read n; echo $((n*n))'
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.consume import ConsumeSettings
    from mqcli.core.rabbit.rpc import serve as rpc_serve
    from mqcli.core.rabbit.topology import ensure_queue

    settings = ConsumeSettings(queue=queue, prefetch=prefetch or 1, count=count, idle_timeout=timeout_seconds(timeout))

    def on_request(request: Message, status: int) -> None:
        if status != 0:
            cid = request.properties.get("correlation_id")
            app.error(f"--exec exited with {status} for request {cid or ''}; sent an error reply")

    with connect(app) as client:
        if ensure_queue(client, queue, declare=declare):
            app.info(f"mqcli: declared queue {queue}")
        result = rpc_serve(
            client, settings, exec_cmd, on_request, reconnect=reconnect_policy(reconnect), notify=notifier(app)
        )
    app.debug_log(f"answered {result.handled} request(s)")
