"""`mqcli rabbit consume QUEUE`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from mqcli.cli import params
from mqcli.cli.context import get_app
from mqcli.cli.io import (
    CountOpt,
    DelimiterOpt,
    ExecOpt,
    FormatOpt,
    MatchHeaderOpt,
    MatchKeyOpt,
    MatchOpt,
    MatchValueOpt,
    OutputFormat,
    OutputOpt,
    TimeoutOpt,
)
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import PrefetchOpt, ReconnectOpt, connect
from mqcli.cli.rabbit._consume import ExitAtEndOpt, NoAckOpt, OnErrorOpt, StreamOffsetOpt, run_consumer
from mqcli.cli.rabbit._streams import StreamEngineOpt, StreamFromOpt, StreamUntilOpt
from mqcli.cli.schema import (
    ConsumeSkipInvalidOpt,
    DescriptorSetOpt,
    MessageTypeOpt,
    ProtoPathOpt,
    RabbitConsumeFormatOpt,
    ValueSchemaOpt,
    rabbit_decoding,
)

if TYPE_CHECKING:
    import typer


def consume(
    ctx: typer.Context,
    queue: Annotated[
        str, params.Argument(metavar="QUEUE", help="Queue to consume from (it must exist).", show_default=False)
    ],
    output: OutputOpt = OutputFormat.auto,
    template: FormatOpt = None,
    delimiter: DelimiterOpt = r"\n",
    count: CountOpt = None,
    timeout: TimeoutOpt = None,
    exit_when_empty: ExitAtEndOpt = False,
    match: MatchOpt = None,
    match_key: MatchKeyOpt = None,
    match_value: MatchValueOpt = None,
    match_header: MatchHeaderOpt = None,
    exec_cmd: ExecOpt = None,
    on_error: OnErrorOpt = "stop",
    no_ack: NoAckOpt = False,
    prefetch: PrefetchOpt = None,
    reconnect: ReconnectOpt = 0,
    value_format: RabbitConsumeFormatOpt = None,
    value_schema: ValueSchemaOpt = None,
    message_type: MessageTypeOpt = None,
    proto_path: ProtoPathOpt = None,
    descriptor_set: DescriptorSetOpt = None,
    skip_invalid: ConsumeSkipInvalidOpt = False,
    offset: StreamOffsetOpt = None,
    from_time: StreamFromOpt = None,
    until: StreamUntilOpt = None,
    stream_engine: StreamEngineOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Consume messages from a queue, acknowledging each after it was written
    (and flushed) or its --exec command exited 0.

    Workers sharing a queue with --prefetch 1 get messages fairly.  Messages
    that do not --match are acknowledged and not shown.  Ctrl-C stops; what
    was not acknowledged goes back to the queue; a running --exec command is
    let finish and its message settled first.  --reconnect N survives a
    broker restart.  --output json writes every property and header, and
    publish --input jsonl reads it back.  --offset reads a stream queue
    (which keeps its messages), each record with its stream "offset";
    --stream-engine native reads it over the stream protocol.

    Example: mqcli rabbit consume jobs --prefetch 1 --exec 'sh ./work.sh' --on-error reject
    """
    app = get_app(ctx, profile=profile)
    decode = rabbit_decoding(
        app,
        value_format=value_format,
        value_schema=value_schema,
        message_type=message_type,
        proto_paths=proto_path,
        descriptor_set=descriptor_set,
        skip_invalid=skip_invalid,
    )
    engine = None
    from_ms = until_ms = None
    if offset is not None or from_time is not None or until is not None or stream_engine is not None:
        from mqcli.cli.rabbit._streams import stream_engine as resolve_engine
        from mqcli.cli.rabbit._streams import stream_start

        engine = resolve_engine(app, stream_engine)
        offset, from_ms, until_ms = stream_start(offset, from_time, until, engine)
    if engine == "native" and (offset is not None or from_ms is not None):
        from mqcli.cli.rabbit._streams import run_native_consumer

        run_native_consumer(
            app,
            queue,
            offset=offset,
            from_ms=from_ms,
            until_ms=until_ms,
            output=output,
            template=template,
            delimiter=delimiter,
            count=count,
            timeout=timeout,
            exit_at_end=exit_when_empty,
            match=match,
            match_key=match_key,
            match_value=match_value,
            match_header=match_header,
            exec_cmd=exec_cmd,
            on_error=on_error,
            no_ack=no_ack,
            reconnect=reconnect,
            decode=decode,
        )
        return
    with connect(app) as client:
        run_consumer(
            app,
            client,
            queue,
            output=output,
            template=template,
            delimiter=delimiter,
            count=count,
            timeout=timeout,
            exit_when_empty=exit_when_empty,
            match=match,
            match_key=match_key,
            match_value=match_value,
            match_header=match_header,
            exec_cmd=exec_cmd,
            on_error=on_error,
            no_ack=no_ack,
            prefetch=prefetch,
            reconnect=reconnect,
            decode=decode,
            stream_offset=offset,
        )
