"""`mqcli rabbit publish (--queue Q | --exchange X [--routing-key K]) [BODY...]`."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Annotated, Optional

from mqcli.cli import params
from mqcli.cli.context import get_app
from mqcli.cli.io import DelimiterOpt, FileOpt, HeaderOpt, InputOpt, SkipInvalidOpt, TerminalReport, open_input
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import (
    AppIdOpt,
    ContentEncodingOpt,
    ContentTypeOpt,
    CorrelationIdOpt,
    DeclareOpt,
    ExchangeOpt,
    ExpirationOpt,
    GenerateMessageIdOpt,
    MessageIdOpt,
    PersistentOpt,
    PriorityOpt,
    PublishReconnectOpt,
    QueueOpt,
    ReplyToOpt,
    RoutingKeyOpt,
    TimestampOpt,
    TypeOpt,
    connect,
    message_properties,
    notifier,
    private_stdin,
    reconnect_policy,
    typed_headers,
)
from mqcli.cli.rabbit._streams import StreamEngineOpt
from mqcli.cli.schema import (
    DescriptorSetOpt,
    MessageTypeOpt,
    ProtoPathOpt,
    RabbitPublishFormatOpt,
    ValueSchemaOpt,
    count_skipped,
    encoding,
    rabbit_encoder,
    schema_properties,
)
from mqcli.core.delivery import DeliveryReport
from mqcli.core.errors import InputError, NotFound, UsageError
from mqcli.core.message import Message
from mqcli.core.parse import parse_duration
from mqcli.core.readers import InputMode, ReadStats

if TYPE_CHECKING:
    import typer

    from mqcli.cli.context import AppContext
    from mqcli.core.rabbit.publish import PublishSettings


def publish(
    ctx: typer.Context,
    values: Annotated[
        Optional[list[str]],
        params.Argument(metavar="BODY", help="Message bodies (default: read --file or stdin).", show_default=False),
    ] = None,
    queue: QueueOpt = None,
    exchange: ExchangeOpt = None,
    routing_key: RoutingKeyOpt = None,
    files: FileOpt = None,
    input_mode: InputOpt = InputMode.line,
    delimiter: DelimiterOpt = r"\n",
    skip_invalid: SkipInvalidOpt = False,
    header: HeaderOpt = None,
    content_type: ContentTypeOpt = None,
    content_encoding: ContentEncodingOpt = None,
    persistent: PersistentOpt = None,
    message_id: MessageIdOpt = None,
    generate_message_id: GenerateMessageIdOpt = False,
    correlation_id: CorrelationIdOpt = None,
    reply_to: ReplyToOpt = None,
    expiration: ExpirationOpt = None,
    priority: PriorityOpt = None,
    type_: TypeOpt = None,
    app_id: AppIdOpt = None,
    timestamp: TimestampOpt = False,
    mandatory: Annotated[
        bool, params.Option("--mandatory", help="Report messages no queue received (basic.return) and exit 1.")
    ] = False,
    no_confirm: Annotated[
        bool, params.Option("--no-confirm", help="Do not wait for publisher confirms (fire and forget).")
    ] = False,
    # The default is core.rabbit.publish.CONFIRM_WINDOW (why 1,024: there),
    # written out because that module imports pika and --help must not;
    # tests/cli/test_confirm_window.py keeps the two equal.
    window: Annotated[
        int,
        params.Option(
            "--confirm-window",
            metavar="N",
            min=1,
            help="Messages that may await their confirm at once: at most this many are in doubt after a crash.",
        ),
    ] = 1024,
    confirm_timeout: Annotated[
        str,
        params.Option(
            "--confirm-timeout", metavar="DURATION", help="Give up (exit 1) when no confirm arrives for DURATION."
        ),
    ] = "30s",
    reconnect: PublishReconnectOpt = 0,
    declare: DeclareOpt = False,
    exchange_type: Annotated[
        Optional[str],
        params.Option(
            "--exchange-type",
            metavar="TYPE",
            help="Exchange type for --declare: direct, fanout, topic, headers.",
            show_default=False,
        ),
    ] = None,
    value_format: RabbitPublishFormatOpt = None,
    value_schema: ValueSchemaOpt = None,
    message_type: MessageTypeOpt = None,
    proto_path: ProtoPathOpt = None,
    descriptor_set: DescriptorSetOpt = None,
    stream_engine: StreamEngineOpt = None,
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
    for the confirms of what was sent, then exit 130/143.  --stream-engine native
    publishes to a stream (--queue) over the stream protocol.  -H values are typed:
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

    encoder = rabbit_encoder(
        value_format=value_format,
        value_schema=value_schema,
        message_type=message_type,
        proto_paths=proto_path,
        descriptor_set=descriptor_set,
    )
    schema_header: list[tuple[str, str]] = []
    if encoder is not None:
        # Say what the bodies are: their format as the content type, the schema's name in a header.
        content_type, schema_header = schema_properties(encoder, content_type)

    from mqcli.core.rabbit.publish import PublishSettings, publish_stream
    from mqcli.core.rabbit.topology import ensure_exchange, ensure_queue

    settings = PublishSettings(
        exchange="" if queue is not None else exchange,
        routing_key=queue if queue is not None else routing_key,
        mandatory=mandatory,
        confirm=not no_confirm,
        window=window,
        confirm_timeout=parse_duration(confirm_timeout),
        properties=message_properties(
            jsonl=input_mode is InputMode.jsonl,
            content_type=content_type,
            content_encoding=content_encoding,
            persistent=persistent,
            message_id=message_id,
            correlation_id=correlation_id,
            reply_to=reply_to,
            expiration=expiration,
            priority=priority,
            type_=type_,
            app_id=app_id,
        ),
        headers=[*schema_header, *typed_headers(header)],  # -H may override the schema header
        generate_message_id=generate_message_id,
        timestamp_now=timestamp,
        reconnect=reconnect_policy(reconnect),
    )
    stats = ReadStats()
    native = False
    if stream_engine is not None:
        from mqcli.cli.rabbit._streams import stream_engine as resolve_engine

        # Only when asked on the command line: a profile cannot know that a queue is a stream.
        native = resolve_engine(app, stream_engine) == "native"
        if native:
            for given, what in [
                (queue is None, "--queue STREAM"),
                (mandatory, "no --mandatory"),
                (no_confirm, "no --no-confirm (every message is confirmed)"),
                (reconnect, "no --reconnect"),
                (declare, "no --declare (declare the stream with: rabbit declare queue NAME --type stream)"),
            ]:
                if given:
                    raise UsageError(f"--stream-engine native needs {what}")
    target = (
        f"queue {queue}"
        if queue is not None
        else (f"exchange {exchange or '(default)'}" if exchange is not None else "the messages' destinations")
    )
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
        if encoder is not None:
            messages = encoding(messages, [encoder], skip_invalid=skip_invalid, on_skip=count_skipped(app, stats))
        if native:
            assert queue is not None
            _publish_native(app, queue, messages, settings, stats, window, parse_duration(confirm_timeout))
            return
        client = stack.enter_context(connect(app))

        def check_destination() -> None:
            if queue is not None:
                if ensure_queue(client, queue, declare=declare):
                    app.info(f"mqcli: declared queue {queue}")
            elif exchange is not None and exchange != "":
                if ensure_exchange(client, exchange, declare=declare, exchange_type=exchange_type):
                    app.info(f"mqcli: declared exchange {exchange} ({exchange_type or 'direct'})")

        check_destination()
        # A reconnect may reach another host of the profile: check (or --declare)
        # the destination there too, before anything is sent again.  Without
        # it, messages to a queue that host does not have would be confirmed
        # and dropped as unroutable.
        client.on_reconnect.append(check_destination)
        report = DeliveryReport(TerminalReport(app), verb="published" if no_confirm else "confirmed", stats=stats)
        # An input error names its line itself; anything else ends with where to resume.
        with report.sending(explained=(InputError,)):
            publish_stream(client, messages, settings, report, notify=notifier(app))
    app.debug_log(f"published to {target}")


def _publish_native(
    app: AppContext,
    stream: str,
    messages: Iterable[Message],
    settings: PublishSettings,
    stats: ReadStats,
    window: int,
    confirm_timeout: float,
) -> None:
    """`publish --queue STREAM --stream-engine native`: the same report, counts and exit codes."""
    from mqcli.core.rabbit import stream_native

    def exists() -> None:
        with connect(app) as client:
            client.queue_info(stream)  # NotFound for a missing queue, as over AMQP

    report = DeliveryReport(TerminalReport(app), verb="confirmed", stats=stats)
    # A missing queue, or one that is not a stream, is found before anything is sent.
    with report.sending(explained=(InputError, UsageError, NotFound)):
        stream_native.publish(
            app.profile.rabbit,
            stream,
            messages,
            report,
            defaults=settings.properties,
            default_headers=settings.headers,
            generate_message_id=settings.generate_message_id,
            timestamp_now=settings.timestamp_now,
            window=window,
            confirm_timeout=confirm_timeout,
            exists=exists,
        )
    app.debug_log(f"published to stream {stream}")
