"""`mqcli rabbit delay publish --delay D (--queue Q | --exchange X --routing-key K) [BODY...]`."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.io import DelimiterOpt, FileOpt, HeaderOpt, InputOpt, SendProgress, SkipInvalidOpt, open_input
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import connect, private_stdin, typed_headers
from mqcli.cli.rabbit.publish import ExchangeOpt, QueueOpt, RoutingKeyOpt, message_properties
from mqcli.core.errors import UsageError
from mqcli.core.message import Message
from mqcli.core.parse import parse_duration
from mqcli.core.readers import InputMode, ReadStats


def publish(
    ctx: typer.Context,
    values: Annotated[Optional[list[str]], typer.Argument(help="Message bodies (default: read --file or stdin).", show_default=False)] = None,
    delay: Annotated[str, typer.Option("--delay", "-d", help="How long to hold each message, e.g. 30s, 5m, 1500ms.", show_default=False)] = "",
    queue: QueueOpt = None,
    exchange: ExchangeOpt = None,
    routing_key: RoutingKeyOpt = None,
    via: Annotated[str, typer.Option("--via", help="ttl: a TTL + dead-letter queue per delay (works everywhere); plugin: the rabbitmq_delayed_message_exchange plugin.")] = "ttl",
    files: FileOpt = None,
    input_mode: InputOpt = InputMode.line,
    delimiter: DelimiterOpt = r"\n",
    skip_invalid: SkipInvalidOpt = False,
    header: HeaderOpt = None,
    content_type: Annotated[Optional[str], typer.Option("--content-type", help="Content type (default text/plain).", show_default=False)] = None,
    persistent: Annotated[Optional[bool], typer.Option("--persistent/--transient", help="delivery_mode 2 or 1. Default persistent; JSON Lines messages keep their own.", show_default=False)] = None,
    message_id: Annotated[Optional[str], typer.Option("--message-id", help="message_id property.", show_default=False)] = None,
    correlation_id: Annotated[Optional[str], typer.Option("--correlation-id", help="correlation_id property.", show_default=False)] = None,
    type_: Annotated[Optional[str], typer.Option("--type", help="type property.", show_default=False)] = None,
    app_id: Annotated[Optional[str], typer.Option("--app-id", help="app_id property.", show_default=False)] = None,
    profile: ProfileOpt = None,
) -> None:
    """Publish messages that reach their queue or exchange after a delay.

    With --via ttl (default) each distinct delay gets its own queue
    (x-message-ttl, dead-lettered to the target, x-expires so unused ones go
    away), so a 1s message published after a 10s one still arrives first.
    Consume the target as usual.  Confirms and the exit code are as for
    publish; the target must exist.

    Example: mqcli rabbit delay publish --delay 30s --queue jobs 'retry me'
    """
    app = get_app(ctx, profile=profile)
    if not delay:
        raise UsageError("--delay is required (e.g. --delay 30s)")
    delay_ms = int(round(parse_duration(delay) * 1000))
    if delay_ms <= 0:
        raise UsageError("--delay must be positive")
    if via not in ("ttl", "plugin"):
        raise UsageError("--via must be ttl or plugin")
    if (queue is None) == (exchange is None):
        raise UsageError("give --queue Q, or --exchange X with --routing-key K")
    if queue is not None and routing_key is not None:
        raise UsageError("--routing-key goes with --exchange")

    from mqcli.core.rabbit.delay import Target, publish_delayed
    from mqcli.core.rabbit.publish import PublishSettings

    target = Target(queue=queue) if queue is not None else Target(exchange=exchange, routing_key=routing_key or "")
    settings = PublishSettings(
        properties=message_properties(
            content_type=content_type if content_type is not None or input_mode is InputMode.jsonl else "text/plain",
            content_encoding=None, persistent=persistent if persistent is not None or input_mode is InputMode.jsonl else True, message_id=message_id, correlation_id=correlation_id,
            reply_to=None, expiration=None, priority=None, type_=type_, app_id=app_id,
        ),
        headers=typed_headers(header),
    )
    progress = SendProgress(app, verb="confirmed")

    def on_ok(msg: Message) -> None:
        progress.ok(len(msg.value or b""))

    def on_fail(msg: Message, why: str) -> None:
        progress.fail()
        where = f"line {msg.line}" if msg.line is not None else "message"
        app.err.print(f"mqcli: not delivered: {where}: {why}", soft_wrap=True)

    stats = ReadStats()
    private_stdin(app)
    with ExitStack() as stack:
        messages = open_input(
            app, stack, values=values, files=files, mode=input_mode, delimiter=delimiter,
            key_separator=None, skip_invalid=skip_invalid, stats=stats,
        )
        client = stack.enter_context(connect(app))
        try:
            publish_delayed(client, messages, delay_ms=delay_ms, target=target, via=via, settings=settings, on_ok=on_ok, on_fail=on_fail)
        finally:
            progress.summary()
            if stats.skipped:
                app.warn(f"skipped {stats.skipped} invalid input record(s)")
