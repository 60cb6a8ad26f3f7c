"""`mqcli rabbit rpc call QUEUE [BODY...]`."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.io import (
    DelimiterOpt,
    FileOpt,
    FormatOpt,
    HeaderOpt,
    InputOpt,
    OutputFormat,
    OutputOpt,
    SkipInvalidOpt,
    make_writer,
    open_input,
)
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import (
    CallReconnectOpt,
    ContentTypeOpt,
    connect,
    input_stop_reported,
    message_properties,
    notifier,
    private_stdin,
    reconnect_policy,
    typed_headers,
    warn_skipped,
    where,
)
from mqcli.core.errors import MqcliError
from mqcli.core.message import Message
from mqcli.core.parse import parse_duration
from mqcli.core.readers import InputMode, ReadStats


def call(
    ctx: typer.Context,
    queue: Annotated[str, typer.Argument(metavar="QUEUE", help="Queue the server consumes.", show_default=False)],
    values: Annotated[
        Optional[list[str]],
        typer.Argument(
            metavar="BODY",
            help="Request bodies (default: one request per line of --file or stdin).",
            show_default=False,
        ),
    ] = None,
    files: FileOpt = None,
    input_mode: InputOpt = InputMode.line,
    delimiter: DelimiterOpt = r"\n",
    skip_invalid: SkipInvalidOpt = False,
    header: HeaderOpt = None,
    content_type: ContentTypeOpt = None,
    timeout: Annotated[
        str,
        typer.Option(
            "--timeout",
            "-t",
            metavar="DURATION",
            help="Exit 5 when a reply does not arrive within DURATION of its request.",
        ),
    ] = "30s",
    window: Annotated[
        int,
        typer.Option(
            "--window",
            metavar="N",
            min=1,
            help="Requests in flight at once (answers are still printed in request order).",
        ),
    ] = 100,
    reconnect: CallReconnectOpt = 0,
    output: OutputOpt = OutputFormat.auto,
    template: FormatOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Send requests to QUEUE and print each reply, in request order.

    Replies come back through direct reply-to with a fresh correlation id
    per request; many requests (stdin lines) are pipelined.  An error reply
    (header x-mqcli-error, as sent by rpc serve when its command fails) is
    reported on stderr and makes the exit code 1.  When mqcli fails (no
    reply within --timeout: 5; lost connection: 4), every request sent but
    not answered is reported with its input line.  --reconnect N reconnects
    instead and sends the requests without a reply again (the server may
    run them twice: their replies went to the lost connection).

    Example: printf '2\\n3\\n' | mqcli rabbit rpc call squares --timeout 10s
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.rabbit.rpc import CallRun, CallSettings, reply_error
    from mqcli.core.rabbit.rpc import call as rpc_call

    settings = CallSettings(
        queue=queue,
        timeout=parse_duration(timeout),
        window=window,
        # Transient requests: one kept through a broker restart would be
        # answered to a reply-to that is gone, and sent again anyway.
        properties=message_properties(jsonl=input_mode is InputMode.jsonl, content_type=content_type, persistent=False),
        headers=typed_headers(header),
    )
    writer = make_writer(app, output, template, delimiter)
    errors = 0

    def on_reply(request: Message, reply: Message) -> None:
        nonlocal errors
        error = reply_error(reply)
        if error is not None:
            errors += 1
            app.error(f"error reply to {where(request, 'request')}: {error}")
            return
        writer.write(reply)
        writer.flush()

    def on_unanswered(request: Message, why: str) -> None:
        app.error(f"not answered: {where(request, 'request')}: {why}")

    stats = ReadStats()
    run = CallRun()
    private_stdin(app)
    with ExitStack() as stack:
        requests = open_input(
            app,
            stack,
            values=values,
            files=files,
            mode=input_mode,
            delimiter=delimiter,
            key_separator=None,
            skip_invalid=skip_invalid,
            stats=stats,
        )
        client = stack.enter_context(connect(app))
        try:
            with input_stop_reported(app, run):
                rpc_call(
                    client,
                    requests,
                    settings,
                    on_reply,
                    reconnect=reconnect_policy(reconnect),
                    notify=notifier(app),
                    on_unanswered=on_unanswered,
                    run=run,
                )
        finally:
            warn_skipped(app, stats)
    if run.reconnects:
        app.info(f"mqcli: reconnected {run.reconnects} time(s), sent {run.resent} request(s) without a reply again")
    if errors:
        raise MqcliError(f"{errors} request(s) got an error reply from the server")
