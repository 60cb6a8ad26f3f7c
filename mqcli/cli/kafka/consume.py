"""`mqcli kafka consume TOPIC`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

from mqcli.cli import params
from mqcli.cli.context import get_app
from mqcli.cli.io import (
    CountOpt,
    DelimiterOpt,
    FormatOpt,
    MatchHeaderOpt,
    MatchKeyOpt,
    MatchOpt,
    MatchValueOpt,
    OutputFormat,
    OutputOpt,
    TimeoutOpt,
    make_writer,
    matcher,
    timeout_seconds,
)
from mqcli.cli.kafka._common import IsolationOpt, kafka_settings, with_isolation
from mqcli.cli.kafka._schema import (
    ConsumeSkipInvalidOpt,
    DescriptorSetOpt,
    KeyFormatOpt,
    KeyMessageTypeOpt,
    KeySchemaOpt,
    MessageTypeOpt,
    ProtoPathOpt,
    SchemaRegistryOpt,
    ValueFormatOpt,
    ValueSchemaOpt,
    decoding,
    local_schemas,
    with_registry_url,
)
from mqcli.cli.options import ProfileOpt
from mqcli.core.errors import TimeoutExpired, UsageError
from mqcli.core.parse import parse_time

if TYPE_CHECKING:
    import typer


def consume(
    ctx: typer.Context,
    topic: Annotated[str, params.Argument(metavar="TOPIC", help="Topic to read.", show_default=False)],
    partition: Annotated[
        Optional[list[int]],
        params.Option(
            "--partition",
            "-p",
            metavar="N",
            min=0,
            help="Read only partition N (repeatable; default: all).",
            show_default=False,
        ),
    ] = None,
    offset: Annotated[
        Optional[str],
        params.Option(
            "--offset",
            metavar="OFFSET",
            help="Start at beginning, end, stored (needs --group), N, or -N (N before the end, per partition). Default: beginning (as kcat).",
            show_default=False,
        ),
    ] = None,
    from_time: Annotated[
        Optional[str],
        params.Option(
            "--from",
            metavar="TIME",
            help="Start at the first message at or after TIME (ISO-8601, -1h, epoch ms).",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        Optional[str],
        params.Option(
            "--until", metavar="TIME", help="Stop each partition at its first message after TIME.", show_default=False
        ),
    ] = None,
    count: CountOpt = None,
    exit_at_end: Annotated[
        bool,
        params.Option("--exit-at-end", "-e", help="Stop when every partition reaches the end offset it had at start."),
    ] = False,
    timeout: TimeoutOpt = None,
    match: MatchOpt = None,
    match_key: MatchKeyOpt = None,
    match_value: MatchValueOpt = None,
    match_header: MatchHeaderOpt = None,
    output: OutputOpt = OutputFormat.auto,
    template: FormatOpt = None,
    delimiter: DelimiterOpt = r"\n",
    group: Annotated[
        Optional[str],
        params.Option(
            "--group",
            "-g",
            metavar="GROUP",
            help="Group whose committed offsets --offset stored starts from (never joined, never committed).",
            show_default=False,
        ),
    ] = None,
    value_format: ValueFormatOpt = None,
    key_format: KeyFormatOpt = None,
    skip_invalid: ConsumeSkipInvalidOpt = False,
    value_schema: ValueSchemaOpt = None,
    key_schema: KeySchemaOpt = None,
    message_type: MessageTypeOpt = None,
    key_message_type: KeyMessageTypeOpt = None,
    proto_path: ProtoPathOpt = None,
    descriptor_set: DescriptorSetOpt = None,
    schema_registry: SchemaRegistryOpt = None,
    isolation: IsolationOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Read messages from a topic without joining a group; follows forever by default.

    Exits 0 when --count, --exit-at-end or --until is satisfied; with
    --timeout, exits 5 when fewer than --count (or, without --count, no)
    matching messages arrived before the topic went idle for that long.

    Example: mqcli kafka consume orders --offset beginning --match order-42 --count 1 --timeout 30s
    """
    app = get_app(ctx, profile=profile)
    if offset is not None and from_time is not None:
        raise UsageError("--offset and --from are mutually exclusive")
    idle = timeout_seconds(timeout)
    until_ms = int(parse_time(until) * 1000) if until is not None else None
    start_ms = int(parse_time(from_time) * 1000) if from_time is not None else None
    pred = matcher(match, match_key, match_value, match_header)
    writer = make_writer(app, output, template, delimiter)
    settings, profile_name = kafka_settings(app, ctx)
    settings = with_isolation(with_registry_url(settings, schema_registry), isolation)
    # --match after decoding (so it sees the decoded text); `pred` alone names what --timeout waited for.
    local = local_schemas(value_schema, key_schema, message_type, key_message_type, proto_path, descriptor_set)
    rule = decoding(app, settings, profile_name, pred, writer, value_format, key_format, skip_invalid, local)

    from mqcli.core.kafka.common import StartOffset
    from mqcli.core.kafka.engine import partition_consumer
    from mqcli.core.stops import IDLE, StopRules

    start = StartOffset("time", start_ms) if start_ms is not None else StartOffset.parse(offset or "beginning")
    if start.kind == "stored" and not group:
        raise UsageError("--offset stored needs --group (whose committed offsets to start from)")
    rules = StopRules(count=count, exit_at_end=exit_at_end, until_ms=until_ms, idle_timeout=idle, matcher=rule)
    consumer = partition_consumer(
        settings,
        topic,
        partitions=partition,
        profile=profile_name,
        group=group,
        start=start,
        rules=rules,
        writer=writer,
    )
    try:
        consumer.seek(start)
        result = consumer.run(
            rules,
            writer.write,
            writer.flush,
            writer=writer,
        )
    finally:
        consumer.close()
    writer.flush()
    app.debug_log(f"kafka consume loop: {getattr(consumer, 'loop', 'python')}")
    if result.reason == IDLE and (result.handled == 0 or (count is not None and result.handled < count)):
        what = "matching message" if pred is not None else "message"
        got = f"{result.handled} of {count}" if count is not None else "no"
        raise TimeoutExpired(f"{got} {what}{'s' if count != 1 else ''} from {topic} within {timeout} of idle time")
