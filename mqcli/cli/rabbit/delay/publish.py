"""`mqcli rabbit delay publish --delay D (--queue Q | --exchange X --routing-key K) [BODY...]`."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.io import DelimiterOpt, FileOpt, HeaderOpt, InputOpt, SkipInvalidOpt, TerminalReport, open_input
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import (
    AppIdOpt,
    ContentTypeOpt,
    CorrelationIdOpt,
    ExchangeOpt,
    MessageIdOpt,
    PersistentOpt,
    PublishReconnectOpt,
    QueueOpt,
    RoutingKeyOpt,
    TypeOpt,
    connect,
    message_properties,
    notifier,
    private_stdin,
    reconnect_policy,
    typed_headers,
)
from mqcli.core.delivery import DeliveryReport
from mqcli.core.errors import InputError, UsageError
from mqcli.core.parse import parse_duration
from mqcli.core.readers import InputMode, ReadStats


def publish(
    ctx: typer.Context,
    values: Annotated[
        Optional[list[str]],
        typer.Argument(metavar="BODY", help="Message bodies (default: read --file or stdin).", show_default=False),
    ] = None,
    delay: Annotated[
        str,
        typer.Option(
            "--delay",
            "-d",
            metavar="DURATION",
            help="How long to hold each message, e.g. 30s, 5m, 1500ms.",
            show_default=False,
        ),
    ] = "",
    queue: QueueOpt = None,
    exchange: ExchangeOpt = None,
    routing_key: RoutingKeyOpt = None,
    via: Annotated[
        str,
        typer.Option(
            "--via",
            metavar="ttl|plugin",
            help="ttl: a TTL + dead-letter queue per delay (works everywhere); plugin: the rabbitmq_delayed_message_exchange plugin.",
        ),
    ] = "ttl",
    files: FileOpt = None,
    input_mode: InputOpt = InputMode.line,
    delimiter: DelimiterOpt = r"\n",
    skip_invalid: SkipInvalidOpt = False,
    header: HeaderOpt = None,
    content_type: ContentTypeOpt = None,
    persistent: PersistentOpt = None,
    message_id: MessageIdOpt = None,
    correlation_id: CorrelationIdOpt = None,
    type_: TypeOpt = None,
    app_id: AppIdOpt = None,
    reconnect: PublishReconnectOpt = 0,
    profile: ProfileOpt = None,
) -> None:
    """Publish messages that reach their queue or exchange after a delay.

    With --via ttl (default) each distinct delay gets its own queue
    (x-message-ttl, dead-lettered to the target, x-expires so unused ones go
    away), so a 1s message published after a 10s one still arrives first.
    Consume the target as usual.  Confirms, the reports of unconfirmed
    messages and the exit code are as for publish; the target must exist.
    --reconnect N survives a broker restart: the delay queue is declared
    again on the new connection and the unconfirmed messages are sent again.

    Example: mqcli rabbit delay publish --delay 30s --queue jobs 'retry me'
    """
    app = get_app(ctx, profile=profile)
    if not delay:
        raise UsageError("--delay is required (e.g. --delay 30s)")
    delay_ms = round(parse_duration(delay) * 1000)
    if delay_ms <= 0:
        raise UsageError("--delay must be positive")
    if via not in ("ttl", "plugin"):
        raise UsageError("--via must be ttl or plugin")
    if (queue is None) == (exchange is None):
        raise UsageError("give --queue Q, or --exchange X with --routing-key K")
    if queue is not None and routing_key is not None:
        raise UsageError("--routing-key goes with --exchange")

    from mqcli.core.rabbit.delay import Target, prepare_delayed
    from mqcli.core.rabbit.publish import PublishSettings, publish_stream

    target = Target(queue=queue) if queue is not None else Target(exchange=exchange, routing_key=routing_key or "")
    settings = PublishSettings(
        properties=message_properties(
            jsonl=input_mode is InputMode.jsonl,
            content_type=content_type,
            persistent=persistent,
            message_id=message_id,
            correlation_id=correlation_id,
            type_=type_,
            app_id=app_id,
        ),
        headers=typed_headers(header),
        reconnect=reconnect_policy(reconnect),
    )
    stats = ReadStats()
    private_stdin(app)
    with ExitStack() as stack:
        messages = open_input(
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
        prepare_delayed(client, settings, delay_ms=delay_ms, target=target, via=via)
        report = DeliveryReport(TerminalReport(app), verb="confirmed", stats=stats)
        # An input error names its line itself; anything else ends with where to resume.
        with report.sending(explained=(InputError,)):
            publish_stream(client, messages, settings, report, notify=notifier(app))
