"""`mqcli move SOURCE TARGET` and `mqcli copy SOURCE TARGET`: at-least-once
transfer between Kafka topics, RabbitMQ queues/exchanges and JSON Lines
(mqcli.core.move has the grammar, the mapping and the relay)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from mqcli.cli.context import AppContext, get_app
from mqcli.cli.io import (
    CountOpt,
    MatchHeaderOpt,
    MatchKeyOpt,
    MatchOpt,
    MatchValueOpt,
    TimeoutOpt,
    matcher,
    timeout_seconds,
)
from mqcli.cli.kafka._common import IsolationOpt, check_isolation
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import StatusFormat, output_option
from mqcli.cli.schema import SCHEMA_FORMATS
from mqcli.core.errors import UsageError

if TYPE_CHECKING:
    from mqcli.core.config import Profile
    from mqcli.core.kafka.common import StartOffset
    from mqcli.core.message import Message
    from mqcli.core.move import Endpoint, Pace, Recode, Relay, Target


def complete_endpoint(incomplete: str) -> list[str]:
    """Shell completion: the endpoint prefixes, with every profile name."""
    try:
        from mqcli.core.config import list_profiles

        names = list_profiles(config_path=os.environ.get("MQCLI_CONFIG"), env=os.environ)
    except Exception:  # completion must never print a traceback into the shell
        names = []
    words = ["-", "kafka:", "rabbit:", "rabbit:exchange/"]
    for name in names:
        words += [f"kafka@{name}:", f"rabbit@{name}:", f"rabbit@{name}:exchange/"]
    return [w for w in words if w.startswith(incomplete)]


SourceArg = Annotated[
    str,
    typer.Argument(
        metavar="SOURCE",
        help="kafka[@PROFILE]:TOPIC, rabbit[@PROFILE]:QUEUE (copy: a stream), or - (JSON Lines on stdin).",
        autocompletion=complete_endpoint,
        show_default=False,
    ),
]
TargetArg = Annotated[
    Optional[str],
    typer.Argument(
        metavar="TARGET",
        help="kafka[@PROFILE]:TOPIC, rabbit[@PROFILE]:QUEUE, rabbit[@PROFILE]:exchange/NAME[/ROUTING_KEY], or - (JSON Lines on stdout); none with --to-origin.",
        autocompletion=complete_endpoint,
        show_default=False,
    ),
]
GroupOpt = Annotated[
    Optional[str],
    typer.Option(
        "--group",
        "-g",
        metavar="GROUP",
        help="Kafka source: the consumer group that commits what was moved (move: default derived from SOURCE and TARGET; copy: none, nothing committed).",
        show_default=False,
    ),
]
ExitAtEndOpt = Annotated[
    bool,
    typer.Option(
        "--exit-at-end",
        "-e",
        help="Stop at the end: Kafka, the end offsets when the partitions were assigned; RabbitMQ, an empty queue; -, the end of input.",
    ),
]
OnErrorOpt = Annotated[
    str,
    typer.Option(
        "--on-error",
        metavar="stop|skip|dead-letter:ENDPOINT",
        help="When the target refuses a message: stop (it stays in the source), skip (counted, acknowledged), or dead-letter:ENDPOINT (sent there first, then acknowledged).",
    ),
]
SummaryOpt = Annotated[
    StatusFormat,
    output_option(
        StatusFormat,
        "auto: the summary on stderr; json: also a JSON summary on stdout at the end (not with TARGET -).",
    ),
]
DryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Read and report what would move where (per target; the first 10 named on stderr); send, acknowledge and commit nothing. Implies -e unless --count or --timeout.",
    ),
]
ToOriginOpt = Annotated[
    bool,
    typer.Option(
        "--to-origin",
        help="Dead letters back where they came from (no TARGET): RabbitMQ, the exchange and routing key of their x-death header; Kafka, the topic their origin header names.",
    ),
]
StripDeathOpt = Annotated[
    bool,
    typer.Option(
        "--strip-death",
        help="With --to-origin: remove the death headers (x-death, x-first/last-death-*; Kafka: kafka_dlt-*, __connect.errors.*).",
    ),
]
OriginHeaderOpt = Annotated[
    Optional[str],
    typer.Option(
        "--origin-header",
        metavar="NAME",
        help="With --to-origin from Kafka: the header naming the original topic (default: kafka_dlt-original-topic or __connect.errors.topic).",
        show_default=False,
    ),
]
FromOpt = Annotated[
    Optional[str],
    typer.Option(
        "--from",
        metavar="TIME",
        help="Kafka source or copy from a RabbitMQ stream: start at the first message at or after TIME (ISO-8601, -1h, epoch ms); with a group, its offsets move forward to there, never back.",
        show_default=False,
    ),
]
OffsetOpt = Annotated[
    Optional[str],
    typer.Option(
        "--offset",
        metavar="OFFSET",
        help="Kafka source: start at beginning, end, N or -N (N before the end, per partition); with a group, its offsets move forward to there, never back. Copy from a RabbitMQ stream (needed): first, last, next, N or TIME.",
        show_default=False,
    ),
]
UntilOpt = Annotated[
    Optional[str],
    typer.Option(
        "--until",
        metavar="TIME",
        help="Kafka source: stop each partition at its first message after TIME.",
        show_default=False,
    ),
]
RateOpt = Annotated[
    Optional[str],
    typer.Option(
        "--rate",
        metavar="RATE",
        help="At most RATE messages on average: N/s (a second), N/m, N/h.",
        show_default=False,
    ),
]
SpeedOpt = Annotated[
    Optional[float],
    typer.Option(
        "--speed",
        metavar="X",
        help="Kafka or - source: replay with the original gaps between timestamps divided by X (1: as they were; 2: twice as fast).",
        show_default=False,
    ),
]
ExactlyOnceOpt = Annotated[
    bool,
    typer.Option(
        "--exactly-once",
        help="Kafka to Kafka on one cluster: each batch is a transaction holding its records and the group's offsets, so read_committed readers see every message once, even after a kill (copy: needs --group).",
    ),
]
ReconnectOpt = Annotated[
    int,
    typer.Option(
        "--reconnect",
        min=0,
        metavar="N",
        help="RabbitMQ source or target: on a lost connection, up to N attempts to reconnect (waits doubling from 0.5s up to 5s), then go on: unconfirmed messages are sent again, unacknowledged ones come again from the source (duplicates possible, counted). 0: exit 4 at once. Kafka clients reconnect by themselves.",
    ),
]
KeyFromOpt = Annotated[
    Optional[str],
    typer.Option(
        "--key-from",
        metavar="routing-key|header:NAME|none",
        help="Between Kafka and RabbitMQ: the Kafka key is the routing key (the target names none), travels in header NAME (bytes as they are, and back), or none. Default: Kafka -> RabbitMQ the key is the routing key when the target names none; RabbitMQ -> Kafka no key.",
        show_default=False,
    ),
]
RECODE_FORMATS = ("json", *SCHEMA_FORMATS)  # --value-format/--key-format (schema.codec.Recoder)
ValueFormatOpt = Annotated[
    Optional[str],
    typer.Option(
        "--value-format",
        metavar="json|avro|protobuf|json-schema",
        help="Re-encode each value for the target: json (decoded with the source's registry, or --value-schema), or avro, protobuf or json-schema with the schema it was written with (registered in the target profile's registry under the target's subject; to RabbitMQ a bare body with its content type), or --value-schema for JSON values. Default: values travel untouched.",
        show_default=False,
    ),
]
KeyFormatOpt = Annotated[
    Optional[str],
    typer.Option(
        "--key-format",
        metavar="json|avro|protobuf|json-schema",
        help="As --value-format, for Kafka keys in the wire format.",
        show_default=False,
    ),
]
ValueSchemaOpt = Annotated[
    Optional[str],
    typer.Option(
        "--value-schema",
        metavar="FILE",
        help="With --value-format: the schema (.avsc, .proto, .json) of values without a registry's schema id: bare bodies from RabbitMQ (by their content type) are decoded with it, JSON values encoded with it.",
        show_default=False,
    ),
]
MessageTypeOpt = Annotated[
    Optional[str],
    typer.Option(
        "--message-type",
        metavar="PKG.MSG",
        help="Protobuf --value-schema: the message type, when the file defines several.",
        show_default=False,
    ),
]
EngineOpt = Annotated[
    Optional[str],
    typer.Option(
        "--engine",
        metavar="NAME",
        help="Kafka engine: librdkafka or kafka-python (default: as for `mqcli kafka`).",
        show_default=False,
    ),
]


@dataclass
class _Options:
    """What move and copy were asked, besides the endpoints."""

    group: Optional[str]
    count: Optional[int]
    exit_at_end: bool
    timeout: Optional[str]
    matches: tuple[Optional[list[str]], ...]
    on_error: str
    output: str
    dry_run: bool
    to_origin: bool
    strip_death: bool
    origin_header: Optional[str]
    from_time: Optional[str]
    offset: Optional[str]
    until: Optional[str]
    rate: Optional[str]
    speed: Optional[float]
    engine: Optional[str]
    isolation: Optional[str]
    exactly_once: bool = False
    reconnect: int = 0
    key_from: Optional[str] = None
    value_format: Optional[str] = None
    key_format: Optional[str] = None
    value_schema: Optional[str] = None
    message_type: Optional[str] = None


def move(
    ctx: typer.Context,
    source: SourceArg,
    target: TargetArg = None,
    group: GroupOpt = None,
    count: CountOpt = None,
    exit_at_end: ExitAtEndOpt = False,
    timeout: TimeoutOpt = None,
    from_time: FromOpt = None,
    offset: OffsetOpt = None,
    until: UntilOpt = None,
    match: MatchOpt = None,
    match_key: MatchKeyOpt = None,
    match_value: MatchValueOpt = None,
    match_header: MatchHeaderOpt = None,
    to_origin: ToOriginOpt = False,
    strip_death: StripDeathOpt = False,
    origin_header: OriginHeaderOpt = None,
    rate: RateOpt = None,
    speed: SpeedOpt = None,
    dry_run: DryRunOpt = False,
    on_error: OnErrorOpt = "stop",
    output: SummaryOpt = "auto",
    exactly_once: ExactlyOnceOpt = False,
    reconnect: ReconnectOpt = 0,
    key_from: KeyFromOpt = None,
    value_format: ValueFormatOpt = None,
    key_format: KeyFormatOpt = None,
    value_schema: ValueSchemaOpt = None,
    message_type: MessageTypeOpt = None,
    engine: EngineOpt = None,
    isolation: IsolationOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Move messages from SOURCE to TARGET, at least once: each is taken from
    the source (RabbitMQ ack, Kafka offset commit in a consumer group) only
    after the target confirmed it.

    A second run continues where the first stopped.  A message the target
    refuses stops the move and stays in the source (exit 1), unless
    --on-error skip.  Ctrl-C/SIGTERM wait for the outstanding confirms and
    acknowledge only what was confirmed.  --to-origin puts dead letters
    back where they came from; --dry-run only reports.

    Example: mqcli move kafka:orders.DLT kafka:orders -e
    """
    _run(ctx, "move", source, target, profile, _Options(
        group, count, exit_at_end, timeout, (match, match_key, match_value, match_header), on_error, output,
        dry_run, to_origin, strip_death, origin_header, from_time, offset, until, rate, speed, engine, isolation,
        exactly_once, reconnect, key_from, value_format, key_format, value_schema, message_type))  # fmt: skip


def copy(
    ctx: typer.Context,
    source: SourceArg,
    target: TargetArg = None,
    group: GroupOpt = None,
    count: CountOpt = None,
    exit_at_end: ExitAtEndOpt = False,
    timeout: TimeoutOpt = None,
    from_time: FromOpt = None,
    offset: OffsetOpt = None,
    until: UntilOpt = None,
    match: MatchOpt = None,
    match_key: MatchKeyOpt = None,
    match_value: MatchValueOpt = None,
    match_header: MatchHeaderOpt = None,
    rate: RateOpt = None,
    speed: SpeedOpt = None,
    dry_run: DryRunOpt = False,
    on_error: OnErrorOpt = "stop",
    output: SummaryOpt = "auto",
    exactly_once: ExactlyOnceOpt = False,
    reconnect: ReconnectOpt = 0,
    key_from: KeyFromOpt = None,
    value_format: ValueFormatOpt = None,
    key_format: KeyFormatOpt = None,
    value_schema: ValueSchemaOpt = None,
    message_type: MessageTypeOpt = None,
    engine: EngineOpt = None,
    isolation: IsolationOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Copy messages from SOURCE to TARGET, leaving the source as it was.

    A Kafka source is read from the beginning (or --from/--offset) without
    committing (with --group: from the group's offsets, committing what the
    target confirmed).  A RabbitMQ stream is read from --offset (first,
    last, next, N or TIME); any other queue cannot be copied (reading takes
    the messages): use move.  --value-format re-encodes schema-encoded
    values for the target (its profile's registry).

    Example: mqcli copy kafka:orders kafka@staging:orders -e --value-format avro
    """
    _run(ctx, "copy", source, target, profile, _Options(
        group, count, exit_at_end, timeout, (match, match_key, match_value, match_header), on_error, output,
        dry_run, False, False, None, from_time, offset, until, rate, speed, engine, isolation, exactly_once,
        reconnect, key_from, value_format, key_format, value_schema, message_type))  # fmt: skip


def _profile(app: AppContext, name: str | None) -> Profile:
    """The profile an endpoint names (`kafka@NAME:`), else the command's."""
    if name is None:
        return app.profile
    from mqcli.core.config import resolve_profile

    found = resolve_profile(config_path=app.config_path, profile_name=name, env=app.env)
    if app.connect_timeout is not None:
        found = found.with_overrides(
            {"kafka.connect_timeout": app.connect_timeout, "rabbit.connection_timeout": app.connect_timeout}
        )
    return found


def _isolated(profile: Profile, isolation: str | None) -> Profile:
    """The Kafka source's profile with --isolation applied."""
    return profile.with_overrides({"kafka.consumer.isolation_level": check_isolation(isolation)})


def _check(verb: str, source: Endpoint, target: Optional[Endpoint], o: _Options) -> None:
    """Usage errors (exit 2) for what cannot go together, before connecting anywhere."""
    from mqcli.core import move as core

    if source.kind == core.RABBIT and source.queue is None:
        raise UsageError(f"invalid source {source}: messages are read from a queue (rabbit:QUEUE), not an exchange")
    if source.kind == core.RABBIT and verb == "copy" and o.offset is None and o.from_time is None:
        # Only a stream can be copied, from where --offset/--from says (whether it is one is asked once connected).
        raise UsageError(
            f"cannot copy from RabbitMQ queue '{source.queue}': reading takes the messages from it "
            "(use move; a stream is copied with --offset first|last|next|N|TIME or --from TIME)"
        )
    if o.to_origin:
        if target is not None:
            raise UsageError("--to-origin sends each message where it came from: give no TARGET")
    elif target is None:
        raise UsageError("missing TARGET (or --to-origin)")
    elif source.kind == core.STDIO and target.kind == core.STDIO:
        raise UsageError("source and target are both '-': nothing to move")
    elif source == target or source.text == target.text:
        raise UsageError(f"source and target are the same ({source})")
    if o.strip_death and not o.to_origin:
        raise UsageError("--strip-death goes with --to-origin")
    if o.origin_header is not None and not (o.to_origin and source.kind == core.KAFKA):
        raise UsageError("--origin-header goes with --to-origin from a Kafka source")
    if o.output == "json" and target is not None and target.kind == core.STDIO and not o.dry_run:
        raise UsageError("--output json writes a summary on stdout, where TARGET - writes the messages")
    if o.group is not None and source.kind != core.KAFKA:
        raise UsageError("--group applies to a Kafka source only")
    for name, value in (("--from", o.from_time), ("--offset", o.offset), ("--until", o.until)):
        if value is None or source.kind == core.KAFKA:
            continue
        if source.kind == core.RABBIT and verb == "copy" and name != "--until":
            continue  # where a copy from a stream starts
        raise UsageError(f"{name} applies to a Kafka source only (--offset and --from also to copy from a stream)")
    if o.from_time is not None and o.offset is not None:
        raise UsageError("--offset and --from are mutually exclusive")
    if o.speed is not None and source.kind == core.RABBIT:
        raise UsageError("--speed replays Kafka timestamps: it applies to a Kafka or - source")
    if o.exactly_once:
        _check_exactly_once(verb, source, target, o)
    if o.key_from is not None:
        _check_key_from(source, target, o.key_from)
    for name, fmt in (("--value-format", o.value_format), ("--key-format", o.key_format)):
        if fmt is not None and fmt not in RECODE_FORMATS:
            raise UsageError(f"invalid {name} {fmt!r} (use {', '.join(RECODE_FORMATS)})")
    if (o.value_schema is not None or o.message_type is not None) and o.value_format is None:
        raise UsageError("--value-schema/--message-type apply with --value-format")
    if o.key_format is not None and source.kind != core.KAFKA:
        raise UsageError("--key-format re-encodes Kafka keys: it applies to a Kafka source")
    if (o.value_format or o.key_format) and target is None:
        raise UsageError("--value-format/--key-format re-encode for one TARGET: not with --to-origin")
    if any(o.matches) and source.kind == core.STDIO:
        raise UsageError("--match… applies to a Kafka or RabbitMQ source")
    if (
        any(o.matches)
        and source.kind == core.RABBIT
        and verb == "move"  # copy: a stream, which keeps the others anyway
        and not (o.exit_at_end or o.count or o.timeout or o.dry_run)
    ):
        # The messages that do not match are held until the move ends: it must end.
        raise UsageError("--match on a queue needs -e, --count or --timeout (the others are held until the move ends)")


def _check_key_from(source: Endpoint, target: Optional[Endpoint], text: str) -> None:
    """--key-from: a mapping between Kafka and RabbitMQ (exit 2 otherwise)."""
    from mqcli.core import move as core

    keys = core.parse_key_from(text)
    to_kafka = target is not None and target.kind == core.KAFKA and source.kind != core.KAFKA
    to_rabbit = target is not None and target.kind == core.RABBIT and source.kind != core.RABBIT
    if not (to_kafka or to_rabbit):
        raise UsageError(
            "--key-from maps the Kafka key to or from RabbitMQ: it applies from RabbitMQ or - to Kafka, "
            "and from Kafka or - to RabbitMQ"
        )
    if to_rabbit and keys.mode == "routing-key" and target is not None:
        if target.queue is not None or target.routing_key is not None:
            raise UsageError(
                f"--key-from routing-key: {target} fixes the routing key (use rabbit:exchange/NAME without one)"
            )


def _check_exactly_once(verb: str, source: Endpoint, target: Optional[Endpoint], o: _Options) -> None:
    """--exactly-once: what it cannot go with (exit 2).  Whether source and
    target are one cluster is checked once connected (core.open_exactly_once)."""
    from mqcli.core import move as core

    if source.kind != core.KAFKA or target is None or target.kind != core.KAFKA:
        raise UsageError("--exactly-once applies to a move from a Kafka topic to a Kafka topic (on one cluster)")
    if verb == "copy" and o.group is None:
        raise UsageError("copy --exactly-once needs --group (the offsets go in the transactions; copy has none)")
    if o.on_error != "stop":
        raise UsageError("--exactly-once goes with --on-error stop (a refused record aborts its whole transaction)")
    if check_isolation(o.isolation) == "read_uncommitted":
        raise UsageError("--exactly-once reads the source read_committed (aborted records must not be moved)")


def _run(
    ctx: typer.Context, verb: str, source_text: str, target_text: Optional[str], profile: Optional[str], o: _Options
) -> None:
    app = get_app(ctx, profile=profile)
    from mqcli.cli.io import TerminalReport
    from mqcli.core import move as core
    from mqcli.core.stops import StopRules

    source = core.parse_endpoint(source_text)
    target = core.parse_endpoint(target_text) if target_text is not None else None
    dead_letter: Endpoint | None = None
    if o.on_error.startswith("dead-letter:"):
        dead_letter = core.parse_endpoint(o.on_error[len("dead-letter:") :])
        if dead_letter.text == source.text or (target is not None and dead_letter.text == target.text):
            raise UsageError(f"the dead-letter endpoint {dead_letter} is the source or the target")
    elif o.on_error not in ("stop", "skip"):
        raise UsageError(f"invalid --on-error {o.on_error!r} (use stop, skip or dead-letter:ENDPOINT)")
    _check(verb, source, target, o)
    pred = matcher(*o.matches)
    idle = timeout_seconds(o.timeout)
    exit_at_end = o.exit_at_end or (o.dry_run and o.count is None and idle is None)
    start, until_ms = _bounds(o) if source.kind == core.KAFKA else (None, None)
    pace = _pace(o)
    keys = core.parse_key_from(o.key_from) if o.key_from is not None else None

    verbs = {"move": "moved", "copy": "copied"}
    # On a terminal its live line also says what is left in the source (lag, queue depth).
    report = core.MoveReport(TerminalReport(app), verb=f"would {verb}" if o.dry_run else verbs[verb])

    policy = None
    if o.reconnect:
        from mqcli.core.rabbit.client import ReconnectPolicy

        policy = ReconnectPolicy(attempts=o.reconnect)

    def open_target(endpoint: Endpoint) -> Target:
        if endpoint.kind == core.STDIO:
            return core.StreamTarget(app.stdout)  # no profile needed (the command's may not exist)
        return core.open_target(
            endpoint,
            _profile(app, endpoint.profile),
            engine=o.engine,
            stdout=app.stdout,
            note=app.warn,
            reconnect=policy,
            keys=keys if endpoint is target else None,
        )

    recode = _recoder(app, source, target, o)  # (its usage errors before any broker is asked)
    group = o.group
    if group is None and verb == "move" and source.kind == core.KAFKA:
        group = core.default_group(source, target or core.Endpoint(core.KAFKA, "origin"))
    if o.exactly_once and not o.dry_run:
        assert target is not None and group is not None
        sink: Target = core.open_exactly_once(
            source,
            _profile(app, source.profile),
            target,
            _profile(app, target.profile),
            o.engine,
            group,
        )
        app.note(f"exactly once: each batch is one transaction (transactional id {group}.tx)")
    elif target is None and source.kind == core.KAFKA:
        sink = core.open_kafka_origin(_profile(app, source.profile), o.engine, o.origin_header, o.strip_death)
    elif target is None:
        sink = core.open_origin(_profile(app, source.profile), o.strip_death, app.warn, policy)
    else:
        sink = open_target(target)
    try:
        dead = open_target(dead_letter) if dead_letter is not None else None
    except BaseException:
        sink.close()
        raise
    relay = core.Relay(
        sink,
        report,
        skip_refused=o.on_error == "skip",
        warn=app.warn,
        dead_letter=dead,
        dry_run=o.dry_run,
        preview=app.note,
        pace=pace,
        recode=recode,
    )
    if o.dry_run:
        app.note("dry run: nothing is sent, acknowledged or committed")
    try:
        rules = StopRules(count=o.count, exit_at_end=exit_at_end, until_ms=until_ms, idle_timeout=idle, matcher=pred)
        if source.kind == core.KAFKA:
            core.from_kafka(
                source,
                # --exactly-once: records of aborted source transactions are never moved.
                _isolated(_profile(app, source.profile), o.isolation or ("read_committed" if o.exactly_once else None)),
                relay,
                rules,
                group=group,
                engine=o.engine,
                timeout=o.timeout,
                note=app.note,
                debug=app.debug_log,
                start=start,
            )
        elif source.kind == core.RABBIT:
            # With --rate, about a second's worth at a time: the rest waits in the queue, not here.
            prefetch = 1000 if pace is None or o.rate is None else max(1, min(1000, int(core.parse_rate(o.rate))))
            core.from_rabbit(
                source,
                _profile(app, source.profile),
                relay,
                rules,
                prefetch=prefetch,
                copy=verb == "copy",
                stream_offset=_stream_offset(o),
                reconnect=policy,
                note=app.warn,
            )
        else:
            core.from_stream(app.stdin, relay, o.count)
    finally:
        try:
            sink.close()
            if dead is not None:
                dead.close()
        finally:
            report.summary()
            reconnects, resent = _reconnects(relay, sink, dead)
            if reconnects:
                app.note(
                    f"reconnected {reconnects} time(s): sent {resent} unconfirmed message(s) again, "
                    f"up to {relay.redelivered} delivered one(s) may come again from the source (duplicates possible)"
                )
            if relay.dead_lettered:
                app.note(f"dead-lettered {relay.dead_lettered} refused message(s) to {dead_letter}")
            if o.dry_run or target is None or len(relay.targets) > 1:
                for where, n in sorted(relay.targets.items()):
                    app.note(f"{'would go' if o.dry_run else 'moved'} to {where}: {n}")
            if o.output == "json":
                from mqcli.cli.output import write_json

                write_json(app, _summary(source, target, group, relay, _reconnects(relay, sink, dead)))
    if o.dry_run and report.failed and o.on_error == "stop":
        from mqcli.core.errors import DeliveryFailed

        raise DeliveryFailed(f"{report.failed} message(s) would be refused (a move would stop at the first)")


def _recoder(app: AppContext, source: Endpoint, target: Optional[Endpoint], o: _Options) -> Optional[Recode]:
    """--value-format/--key-format: how each message is re-encoded for the target (None:
    untouched).  The registries are the source's and the target's profiles' own."""
    from mqcli.core import move as core

    if o.value_format is None and o.key_format is None:
        return None
    from mqcli.cli.kafka._schema import registry_client
    from mqcli.cli.schema import INSTALL_HINT, has_any_schema_library, local_choice, require
    from mqcli.core.schema.codec import TYPES, Recoder

    assert target is not None  # (_check: not with --to-origin)

    def registry(endpoint: Endpoint) -> Any:
        if endpoint.kind != core.KAFKA:
            return None  # RabbitMQ messages and JSON Lines carry no registry's schema id
        profile = _profile(app, endpoint.profile)
        return registry_client(profile.kafka, profile.name)

    source_registry, target_registry = registry(source), registry(target)
    asked: list[tuple[str, str, Any]] = []  # (field, format, local schema)
    for field, fmt in (("value", o.value_format), ("key", o.key_format)):
        if fmt is None:
            continue
        local = local_choice(field, o.value_schema, o.message_type, None, None) if field == "value" else None
        if fmt in TYPES.keys():
            require(fmt)
            if source_registry is None and local is None:
                if source.kind != core.KAFKA:
                    raise UsageError(
                        f"--{field}-format {fmt} from {source} needs --value-schema FILE (no schema ids there)"
                    )
                also = " or --value-schema FILE" if field == "value" else ""
                raise UsageError(
                    f"--{field}-format {fmt} from {source} needs the source profile's schema registry"
                    f" (kafka.schema_registry.url){also}"
                )
        elif source_registry is not None and not has_any_schema_library():
            raise UsageError(f"decoding the source's schemas needs the schema libraries; {INSTALL_HINT}")
        asked.append((field, fmt, local))
    if o.dry_run:
        return None  # (a Recoder may register schemas in the target's registry)
    recoders = [
        Recoder(
            field,
            fmt,
            source=source_registry,
            target=target_registry,
            topic=target.topic or "",
            local=local,
            rabbit=target.kind == core.RABBIT,
        )
        for field, fmt, local in asked
    ]
    if len(recoders) == 1:
        return recoders[0]
    first, second = recoders

    def both(msg: Message) -> Message | str:
        out = first(msg)
        return out if isinstance(out, str) else second(out)

    return both


def _bounds(o: _Options) -> tuple[Optional[StartOffset], Optional[int]]:
    """--from/--offset (where a Kafka source starts) and --until (ms), parsed as `kafka consume` parses them."""
    from mqcli.core.kafka.common import StartOffset
    from mqcli.core.parse import parse_time

    start: Optional[StartOffset] = None
    if o.from_time is not None:
        start = StartOffset("time", int(parse_time(o.from_time) * 1000))
    elif o.offset is not None:
        start = StartOffset.parse(o.offset)
        if start.kind == "stored":
            raise UsageError("--offset stored is where a move starts anyway (its group's offsets)")
    until_ms = int(parse_time(o.until) * 1000) if o.until is not None else None
    return start, until_ms


def _stream_offset(o: _Options) -> Any:
    """Where a copy from a RabbitMQ stream starts: --offset first|last|next|N|TIME
    or --from TIME (as for `rabbit consume --offset`); None: the first message."""
    from mqcli.core.rabbit.streams import parse_offset

    text = o.offset if o.offset is not None else o.from_time
    return parse_offset(text) if text is not None else None


def _pace(o: _Options) -> Optional[Pace]:
    """--rate and --speed, or None."""
    from mqcli.core import move as core

    rules: list[core.TokenBucket | core.Replay] = []
    if o.rate is not None:
        rules.append(core.TokenBucket(core.parse_rate(o.rate)))
    if o.speed is not None:
        rules.append(core.Replay(o.speed))
    return core.Pace(rules) if rules else None


def _reconnects(relay: Relay, *targets: Optional[Target]) -> tuple[int, int]:
    """--reconnect: how often the source and the targets reconnected, and how
    many unconfirmed messages the targets sent again."""
    reconnects, resent = relay.reconnects, 0
    for t in targets:
        reconnects += getattr(t, "reconnects", 0)
        resent += getattr(t, "resent", 0)
    return reconnects, resent


def _summary(
    source: Endpoint, target: Optional[Endpoint], group: Optional[str], relay: Relay, reconnects: tuple[int, int]
) -> dict[str, Any]:
    """--output json: the counts of the run, however it ended."""
    import time

    report = relay.report
    return {
        "source": source.text,
        "target": target.text if target is not None else None,
        "group": group,
        "moved": report.delivered,  # confirmed by the target (dry run: that would be sent)
        "failed": report.failed,  # refused by the target (skipped, dead-lettered or left in the source)
        "skipped": relay.skipped,
        "dead_lettered": relay.dead_lettered,
        "bytes": report.bytes,
        "seconds": round(time.monotonic() - report.start, 3),
        "targets": dict(sorted(relay.targets.items())),  # per destination (--to-origin: per origin)
        "dry_run": relay.dry_run,
        "reconnects": reconnects[0],  # --reconnect: of the source and the targets
        "resent": reconnects[1],  # unconfirmed messages sent again to a target (possible duplicates)
        "redelivered": relay.redelivered,  # delivered ones that may come again from the source (at most)
    }
