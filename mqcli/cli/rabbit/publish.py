"""`mqcli rabbit publish (--queue Q | --exchange X [--routing-key K]) [BODY...]`."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Annotated, Any, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.io import DelimiterOpt, FileOpt, HeaderOpt, InputOpt, SendProgress, SkipInvalidOpt, open_input
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import DeclareOpt, connect, notifier, private_stdin, reconnect_policy, typed_headers
from mqcli.core.errors import InputError, UsageError
from mqcli.core.message import Message
from mqcli.core.parse import parse_duration
from mqcli.core.readers import InputMode, ReadStats

QueueOpt = Annotated[Optional[str], typer.Option("--queue", "-q", help="Publish to queue Q (default exchange, routing key Q).", show_default=False)]
ExchangeOpt = Annotated[Optional[str], typer.Option("--exchange", "-e", help="Publish to exchange X ('' is the default exchange).", show_default=False)]
RoutingKeyOpt = Annotated[Optional[str], typer.Option("--routing-key", "-r", help="Routing key (default: each JSON Lines message's own, else '').", show_default=False)]


def message_properties(
    *,
    content_type: Optional[str],
    content_encoding: Optional[str],
    persistent: Optional[bool],
    message_id: Optional[str],
    correlation_id: Optional[str],
    reply_to: Optional[str],
    expiration: Optional[str],
    priority: Optional[int],
    type_: Optional[str],
    app_id: Optional[str],
) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if persistent is not None:
        props["delivery_mode"] = 2 if persistent else 1
    for name, value in (
        ("content_type", content_type),
        ("content_encoding", content_encoding),
        ("message_id", message_id),
        ("correlation_id", correlation_id),
        ("reply_to", reply_to),
        ("priority", priority),
        ("type", type_),
        ("app_id", app_id),
    ):
        if value is not None:
            props[name] = value
    if expiration is not None:
        # AMQP's expiration is a string of milliseconds.
        props["expiration"] = str(int(parse_duration(expiration) * 1000))
    return props


def publish(
    ctx: typer.Context,
    values: Annotated[Optional[list[str]], typer.Argument(help="Message bodies (default: read --file or stdin).", show_default=False)] = None,
    queue: QueueOpt = None,
    exchange: ExchangeOpt = None,
    routing_key: RoutingKeyOpt = None,
    files: FileOpt = None,
    input_mode: InputOpt = InputMode.line,
    delimiter: DelimiterOpt = r"\n",
    skip_invalid: SkipInvalidOpt = False,
    header: HeaderOpt = None,
    content_type: Annotated[Optional[str], typer.Option("--content-type", help="Content type (default text/plain; JSON Lines messages keep their own).", show_default=False)] = None,
    content_encoding: Annotated[Optional[str], typer.Option("--content-encoding", help="Content encoding property.", show_default=False)] = None,
    persistent: Annotated[Optional[bool], typer.Option("--persistent/--transient", help="delivery_mode 2 (written to disk) or 1. Default persistent; JSON Lines messages keep their own.", show_default=False)] = None,
    message_id: Annotated[Optional[str], typer.Option("--message-id", help="message_id property.", show_default=False)] = None,
    generate_message_id: Annotated[bool, typer.Option("--generate-message-id", help="A fresh UUID message_id for each message that has none.")] = False,
    correlation_id: Annotated[Optional[str], typer.Option("--correlation-id", help="correlation_id property.", show_default=False)] = None,
    reply_to: Annotated[Optional[str], typer.Option("--reply-to", help="reply_to property.", show_default=False)] = None,
    expiration: Annotated[Optional[str], typer.Option("--expiration", help="Per-message TTL, e.g. 30s (the expiration property).", show_default=False)] = None,
    priority: Annotated[Optional[int], typer.Option("--priority", min=0, max=255, help="priority property (0-255).", show_default=False)] = None,
    type_: Annotated[Optional[str], typer.Option("--type", help="type property.", show_default=False)] = None,
    app_id: Annotated[Optional[str], typer.Option("--app-id", help="app_id property.", show_default=False)] = None,
    timestamp: Annotated[bool, typer.Option("--timestamp", help="Set the timestamp property to the time of sending.")] = False,
    mandatory: Annotated[bool, typer.Option("--mandatory", help="Report messages no queue received (basic.return) and exit 1.")] = False,
    no_confirm: Annotated[bool, typer.Option("--no-confirm", help="Do not wait for publisher confirms (fire and forget).")] = False,
    window: Annotated[int, typer.Option("--confirm-window", min=1, help="Messages that may await their confirm at once.")] = 256,
    confirm_timeout: Annotated[str, typer.Option("--confirm-timeout", help="Give up (exit 1) when no confirm arrives for DURATION.")] = "30s",
    reconnect: Annotated[int, typer.Option("--reconnect", min=0, metavar="N", help="When the connection is lost, reconnect up to N times (waiting 0.5s, 1s, 2s, 4s, then 5s), send every unconfirmed message again (duplicates possible) and go on with the input. 0: report the unconfirmed ones and exit 4.")] = 0,
    declare: DeclareOpt = False,
    exchange_type: Annotated[Optional[str], typer.Option("--exchange-type", help="Exchange type for --declare: direct, fanout, topic, headers.", show_default=False)] = None,
    profile: ProfileOpt = None,
) -> None:
    """Publish messages to a queue or an exchange, with publisher confirms.

    Bodies come from arguments, --file or stdin (one message per line, any
    --delimiter, --input whole, or --input jsonl as written by consume
    --output json, whose per-message properties, headers and routing_key win
    over the options).  Confirms are pipelined; every message the broker did
    not confirm (nack, --mandatory return, lost connection) is reported on
    stderr with its input line, and the exit code is non-zero (1; 4 for a
    lost connection, after which `input from line N on was not sent` says
    where to resume).  --reconnect N reconnects instead and sends the
    unconfirmed messages again.  Ctrl-C/SIGTERM stop reading, wait up to 5s
    for the confirms of what was sent, then exit 130/143.  -H values are typed:
    -H x-delay=5000 is an integer, -H flag=true a boolean, -H id='"42"' a string.

    Example: seq 3 | mqcli rabbit publish --queue jobs --declare -H attempt=1
    """
    app = get_app(ctx, profile=profile)
    if queue is not None and (exchange is not None or routing_key is not None):
        raise UsageError("give --queue, or --exchange with --routing-key, not both")
    if queue is None and exchange is None and input_mode is not InputMode.jsonl:
        raise UsageError("give --queue Q or --exchange X (only --input jsonl may take destinations from the messages)")
    if mandatory and no_confirm:
        raise UsageError("--mandatory needs publisher confirms (drop --no-confirm)")
    if reconnect and no_confirm:
        raise UsageError("--reconnect needs publisher confirms to know what to send again (drop --no-confirm)")
    if exchange_type is not None and not (declare and exchange is not None):
        raise UsageError("--exchange-type applies to --declare with --exchange")
    if input_mode is not InputMode.jsonl:
        # JSON Lines messages are copied as they are (consume | publish is faithful);
        # other input gets the defaults.
        content_type = "text/plain" if content_type is None else content_type
        persistent = True if persistent is None else persistent

    from mqcli.core.rabbit.publish import PublishRun, PublishSettings, publish_stream
    from mqcli.core.rabbit.topology import ensure_exchange, ensure_queue

    settings = PublishSettings(
        exchange="" if queue is not None else exchange,
        routing_key=queue if queue is not None else routing_key,
        mandatory=mandatory,
        confirm=not no_confirm,
        window=window,
        confirm_timeout=parse_duration(confirm_timeout),
        properties=message_properties(
            content_type=content_type, content_encoding=content_encoding, persistent=persistent, message_id=message_id,
            correlation_id=correlation_id, reply_to=reply_to, expiration=expiration, priority=priority, type_=type_, app_id=app_id,
        ),
        headers=typed_headers(header),
        generate_message_id=generate_message_id,
        timestamp_now=timestamp,
        reconnect=reconnect_policy(reconnect),
    )
    stats = ReadStats()
    target = f"queue {queue}" if queue is not None else (f"exchange {exchange or '(default)'}" if exchange is not None else "the messages' destinations")
    private_stdin(app)
    with ExitStack() as stack:
        messages = open_input(
            app, stack, values=values, files=files, mode=input_mode, delimiter=delimiter,
            key_separator=None, skip_invalid=skip_invalid, stats=stats,
        )
        client = stack.enter_context(connect(app))
        if queue is not None:
            if ensure_queue(client, queue, declare=declare):
                app.info(f"mqcli: declared queue {queue}")
        elif exchange is not None and exchange != "":
            if ensure_exchange(client, exchange, declare=declare, exchange_type=exchange_type):
                app.info(f"mqcli: declared exchange {exchange} ({exchange_type or 'direct'})")
        progress = SendProgress(app, verb="confirmed" if not no_confirm else "published")

        def on_ok(msg: Message) -> None:
            progress.ok(len(msg.value or b""))

        def on_fail(msg: Message, why: str) -> None:
            progress.fail()
            where = f"line {msg.line}" if msg.line is not None else "message"
            app.err.print(f"mqcli: not delivered: {where}: {why}", soft_wrap=True)

        run = PublishRun()
        try:
            publish_stream(client, messages, settings, on_ok, on_fail, notify=notifier(app), run=run)
        except BaseException as e:  # errors, Ctrl-C, SIGTERM
            if not run.input_ended and not isinstance(e, InputError):
                # Say where the input stopped, so a script can resume there.
                app.err.print(f"mqcli: input from line {(run.last_line or 0) + 1} on was not sent", soft_wrap=True)
            raise
        finally:
            progress.summary()
            if stats.skipped:
                app.warn(f"skipped {stats.skipped} invalid input record(s)")
        if run.reconnects:
            app.info(f"mqcli: reconnected {run.reconnects} time(s), sent {run.resent} unconfirmed message(s) again")
    app.debug_log(f"published to {target}")
