"""`mqcli move SOURCE TARGET` and `mqcli copy SOURCE TARGET`: at-least-once
transfer between Kafka topics, RabbitMQ queues/exchanges and JSON Lines
(mqcli.core.move has the grammar, the mapping and the relay)."""

from __future__ import annotations

import os
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
from mqcli.cli.kafka._common import ISOLATION_META, IsolationOpt, check_isolation
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import StatusFormat, output_option
from mqcli.core.errors import UsageError

if TYPE_CHECKING:
    from mqcli.core.config import Profile
    from mqcli.core.move import Endpoint, Relay, Target


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
        help="kafka[@PROFILE]:TOPIC, rabbit[@PROFILE]:QUEUE, or - (JSON Lines on stdin).",
        autocompletion=complete_endpoint,
        show_default=False,
    ),
]
TargetArg = Annotated[
    str,
    typer.Argument(
        metavar="TARGET",
        help="kafka[@PROFILE]:TOPIC, rabbit[@PROFILE]:QUEUE, rabbit[@PROFILE]:exchange/NAME[/ROUTING_KEY], or - (JSON Lines on stdout).",
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
EngineOpt = Annotated[
    Optional[str],
    typer.Option(
        "--engine",
        metavar="NAME",
        help="Kafka engine: librdkafka or kafka-python (default: as for `mqcli kafka`).",
        show_default=False,
    ),
]


def move(
    ctx: typer.Context,
    source: SourceArg,
    target: TargetArg,
    group: GroupOpt = None,
    count: CountOpt = None,
    exit_at_end: ExitAtEndOpt = False,
    timeout: TimeoutOpt = None,
    match: MatchOpt = None,
    match_key: MatchKeyOpt = None,
    match_value: MatchValueOpt = None,
    match_header: MatchHeaderOpt = None,
    on_error: OnErrorOpt = "stop",
    output: SummaryOpt = "auto",
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
    acknowledge only what was confirmed.

    Example: mqcli move kafka:orders.DLT kafka:orders -e
    """
    ctx.meta[ISOLATION_META] = isolation
    _run(ctx, "move", source, target, group, count, exit_at_end, timeout,
         (match, match_key, match_value, match_header), on_error, output, engine, profile)  # fmt: skip


def copy(
    ctx: typer.Context,
    source: SourceArg,
    target: TargetArg,
    group: GroupOpt = None,
    count: CountOpt = None,
    exit_at_end: ExitAtEndOpt = False,
    timeout: TimeoutOpt = None,
    match: MatchOpt = None,
    match_key: MatchKeyOpt = None,
    match_value: MatchValueOpt = None,
    match_header: MatchHeaderOpt = None,
    on_error: OnErrorOpt = "stop",
    output: SummaryOpt = "auto",
    engine: EngineOpt = None,
    isolation: IsolationOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Copy messages from SOURCE to TARGET, leaving the source as it was.

    A Kafka source is read from the beginning without committing (with
    --group: from the group's offsets, committing what the target
    confirmed).  A RabbitMQ queue cannot be copied (reading takes the
    messages): use move.

    Example: mqcli copy kafka:orders kafka@staging:orders -e
    """
    ctx.meta[ISOLATION_META] = isolation
    _run(ctx, "copy", source, target, group, count, exit_at_end, timeout,
         (match, match_key, match_value, match_header), on_error, output, engine, profile)  # fmt: skip


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


def _run(
    ctx: typer.Context,
    verb: str,
    source_text: str,
    target_text: str,
    group: Optional[str],
    count: Optional[int],
    exit_at_end: bool,
    timeout: Optional[str],
    matches: tuple[Optional[list[str]], ...],
    on_error: str,
    output: str,
    engine: Optional[str],
    profile: Optional[str],
) -> None:
    app = get_app(ctx, profile=profile)
    from mqcli.cli.io import TerminalReport
    from mqcli.core import move as core
    from mqcli.core.delivery import DeliveryReport
    from mqcli.core.stops import StopRules

    source, target = core.parse_endpoint(source_text), core.parse_endpoint(target_text)
    dead_letter: Endpoint | None = None
    if on_error.startswith("dead-letter:"):
        dead_letter = core.parse_endpoint(on_error[len("dead-letter:") :])
        if dead_letter.text in (source.text, target.text):
            raise UsageError(f"the dead-letter endpoint {dead_letter} is the source or the target")
    elif on_error not in ("stop", "skip"):
        raise UsageError(f"invalid --on-error {on_error!r} (use stop, skip or dead-letter:ENDPOINT)")
    if source.kind == core.STDIO and target.kind == core.STDIO:
        raise UsageError("source and target are both '-': nothing to move")
    if source == target or (source.text == target.text):
        raise UsageError(f"source and target are the same ({source})")
    if source.kind == core.RABBIT and source.queue is None:
        raise UsageError(f"invalid source {source}: messages are read from a queue (rabbit:QUEUE), not an exchange")
    if source.kind == core.RABBIT and verb == "copy":
        raise UsageError(
            f"cannot copy from RabbitMQ queue '{source.queue}': reading takes the messages from it (use move)"
        )
    if output == "json" and target.kind == core.STDIO:
        raise UsageError("--output json writes a summary on stdout, where TARGET - writes the messages")
    pred = matcher(*matches)
    if pred is not None and source.kind != core.KAFKA:
        raise UsageError("--match… applies to a Kafka source only (from a queue, the others would be taken too)")
    if group is not None and source.kind != core.KAFKA:
        raise UsageError("--group applies to a Kafka source only")
    idle = timeout_seconds(timeout)

    report = DeliveryReport(TerminalReport(app), verb="moved" if verb == "move" else "copied")

    def open_target(endpoint: Endpoint) -> Target:
        return core.open_target(endpoint, _profile(app, endpoint.profile), engine, app.stdout, app.note)

    sink = open_target(target)
    try:
        dead = open_target(dead_letter) if dead_letter is not None else None
    except BaseException:
        sink.close()
        raise
    relay = core.Relay(sink, report, skip_refused=on_error == "skip", warn=app.warn, dead_letter=dead)
    try:
        if source.kind == core.KAFKA:
            if group is None and verb == "move":
                group = core.default_group(source, target)
            rules = StopRules(count=count, exit_at_end=exit_at_end, idle_timeout=idle, matcher=pred)
            core.from_kafka(
                source,
                _isolated(_profile(app, source.profile), ctx.meta.get(ISOLATION_META)),
                relay,
                rules,
                group=group,
                engine=engine,
                timeout=timeout,
                note=app.note,
                debug=app.debug_log,
            )
        elif source.kind == core.RABBIT:
            rules = StopRules(count=count, exit_at_end=exit_at_end, idle_timeout=idle)
            core.from_rabbit(source, _profile(app, source.profile), relay, rules)
        else:
            core.from_stream(app.stdin, relay, count)
    finally:
        try:
            sink.close()
            if dead is not None:
                dead.close()
        finally:
            report.summary()
            if relay.dead_lettered:
                app.note(f"dead-lettered {relay.dead_lettered} refused message(s) to {dead_letter}")
            if output == "json":
                from mqcli.cli.output import write_json

                write_json(app, _summary(source, target, group, relay))


def _summary(source: Endpoint, target: Endpoint, group: Optional[str], relay: Relay) -> dict[str, Any]:
    """--output json: the counts of the run, however it ended."""
    import time

    report = relay.report
    return {
        "source": source.text,
        "target": target.text,
        "group": group,
        "moved": report.delivered,  # confirmed by the target
        "failed": report.failed,  # refused by the target (skipped, dead-lettered or left in the source)
        "skipped": relay.skipped,
        "dead_lettered": relay.dead_lettered,
        "bytes": report.bytes,
        "seconds": round(time.monotonic() - report.start, 3),
    }
