"""`mqcli move SOURCE TARGET` and `mqcli copy SOURCE TARGET`: at-least-once
transfer between Kafka topics, RabbitMQ queues/exchanges and JSON Lines
(mqcli.core.move has the grammar, the mapping and the relay)."""

from __future__ import annotations

import itertools
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
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import StatusFormat, output_option
from mqcli.core.errors import TimeoutExpired, UsageError

if TYPE_CHECKING:
    from mqcli.core.config import Profile
    from mqcli.core.move import Endpoint, Relay, Target
    from mqcli.core.stops import Matcher


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
    profile: ProfileOpt = None,
) -> None:
    """Copy messages from SOURCE to TARGET, leaving the source as it was.

    A Kafka source is read from the beginning without committing (with
    --group: from the group's offsets, committing what the target
    confirmed).  A RabbitMQ queue cannot be copied (reading takes the
    messages): use move.

    Example: mqcli copy kafka:orders kafka@staging:orders -e
    """
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
    from mqcli.core.move import KAFKA, RABBIT, STDIO, parse_endpoint

    source, target = parse_endpoint(source_text), parse_endpoint(target_text)
    dead_letter: Endpoint | None = None
    if on_error.startswith("dead-letter:"):
        dead_letter = parse_endpoint(on_error[len("dead-letter:") :])
        if dead_letter.text in (source.text, target.text):
            raise UsageError(f"the dead-letter endpoint {dead_letter} is the source or the target")
    elif on_error not in ("stop", "skip"):
        raise UsageError(f"invalid --on-error {on_error!r} (use stop, skip or dead-letter:ENDPOINT)")
    if source.kind == STDIO and target.kind == STDIO:
        raise UsageError("source and target are both '-': nothing to move")
    if source == target or (source.text == target.text):
        raise UsageError(f"source and target are the same ({source})")
    if source.kind == RABBIT and source.queue is None:
        raise UsageError(f"invalid source {source}: messages are read from a queue (rabbit:QUEUE), not an exchange")
    if source.kind == RABBIT and verb == "copy":
        raise UsageError(
            f"cannot copy from RabbitMQ queue '{source.queue}': reading takes the messages from it (use move)"
        )
    if output == "json" and target.kind == STDIO:
        raise UsageError("--output json writes a summary on stdout, where TARGET - writes the messages")
    pred = matcher(*matches)
    if pred is not None and source.kind != KAFKA:
        raise UsageError("--match… applies to a Kafka source only (from a queue, the others would be taken too)")
    if group is not None and source.kind != KAFKA:
        raise UsageError("--group applies to a Kafka source only")
    idle = timeout_seconds(timeout)

    from mqcli.cli.io import TerminalReport
    from mqcli.core.delivery import DeliveryReport
    from mqcli.core.move import Relay

    report = DeliveryReport(TerminalReport(app), verb="moved" if verb == "move" else "copied")
    sink = _open_target(app, target, engine)
    try:
        dead = _open_target(app, dead_letter, engine) if dead_letter is not None else None
    except BaseException:
        sink.close()
        raise
    relay = Relay(sink, report, skip_refused=on_error == "skip", warn=app.warn, dead_letter=dead)
    try:
        if source.kind == KAFKA:
            if group is None and verb == "move":
                from mqcli.core.move import default_group

                group = default_group(source, target)
            _from_kafka(app, source, relay, group, count, exit_at_end, idle, timeout, pred, engine)
        elif source.kind == RABBIT:
            _from_rabbit(app, source, relay, count, exit_at_end, idle)
        else:
            _from_stdin(app, relay, count)
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


def _open_target(app: AppContext, target: Endpoint, engine: Optional[str]) -> Target:
    """The target, connected, after checking that it exists (NotFound, exit 6)."""
    from mqcli.core.move import KAFKA, RABBIT, KafkaTarget, RabbitTarget, StreamTarget

    if target.kind == KAFKA:
        from mqcli.core.kafka.common import ProduceOptions
        from mqcli.core.kafka.engine import admin, producer, resolve

        prof = _profile(app, target.profile)
        settings = resolve(prof.kafka, engine)
        assert target.topic is not None
        with admin(settings, prof.name) as a:
            a.partitions(target.topic)  # NotFound: nothing is read before the target is known to exist
        d = settings.producer
        options = ProduceOptions(
            acks="all",  # the guarantee needs every in-sync replica's acknowledgement ...
            compression=d.compression or "none",
            linger_ms=int(d.linger_ms),
            batch_size=d.batch_size,
            idempotence=True,  # ... and no duplicates from the producer's own retries
            delivery_timeout=float(d.delivery_timeout),
        )
        return KafkaTarget(producer(settings, options, prof.name), target.topic)
    if target.kind == RABBIT:
        from mqcli.core.rabbit.client import RabbitClient

        prof = _profile(app, target.profile)
        client = RabbitClient(prof.rabbit, profile=prof.name)
        try:
            if target.queue is not None:
                client.queue_info(target.queue)
            elif target.exchange is not None:
                client.check_exchange(target.exchange)
            return RabbitTarget(client, target, app.note)
        except BaseException:
            client.close()
            raise
    return StreamTarget(app.stdout)


def _from_kafka(
    app: AppContext,
    source: Endpoint,
    relay: Relay,
    group: Optional[str],
    count: Optional[int],
    exit_at_end: bool,
    idle: Optional[float],
    timeout: Optional[str],
    pred: Matcher | None,
    engine: Optional[str],
) -> None:
    from mqcli.core.kafka.engine import group_consumer, partition_consumer, resolve
    from mqcli.core.stops import IDLE, StopRules

    prof = _profile(app, source.profile)
    settings = resolve(prof.kafka, engine)
    assert source.topic is not None
    rules = StopRules(count=count, exit_at_end=exit_at_end, idle_timeout=idle, matcher=pred)

    if group is not None:
        app.note(f"consumer group {group}: offsets are committed once the target confirmed their messages")
        consumer = group_consumer(
            settings,
            group,
            [source.topic],
            start="earliest",
            profile=prof.name,
            on_event=lambda text: app.debug_log(f"group {group}: {text}"),
        )

        def take(msg: Any) -> bool:
            relay.take(msg)
            return True  # marked now, committed only after relay.deliver() (the batch's flush) returned

        try:
            result = consumer.run(rules, take, relay.deliver)
        finally:
            # Commit (after delivering what is pending) only when no delivery
            # broke off: then every marked offset's message was confirmed.
            consumer.close(commit=not relay.broken)
    else:
        from mqcli.core.kafka.common import StartOffset

        plain = partition_consumer(settings, source.topic, profile=prof.name)
        try:
            plain.seek(StartOffset("beginning"))
            result = plain.run(rules, relay.take, relay.deliver)
            relay.deliver()
        finally:
            plain.close()
    if result.reason == IDLE and (result.handled == 0 or (count is not None and result.handled < count)):
        got = f"{result.handled} of {count}" if count is not None else "no"
        raise TimeoutExpired(f"{got} messages from {source} within {timeout} of idle time")


def _from_rabbit(
    app: AppContext, source: Endpoint, relay: Relay, count: Optional[int], exit_at_end: bool, idle: Optional[float]
) -> None:
    from mqcli.core.rabbit.client import RabbitClient
    from mqcli.core.rabbit.consume import ConsumeSettings, Outcome, consume
    from mqcli.core.signals import DeferredSignals

    prof = _profile(app, source.profile)
    assert source.queue is not None
    numbers = itertools.count(1)

    def take(msg: Any) -> Outcome:
        msg.line = next(numbers)  # names it in a failure: its position in this run
        relay.take(msg)
        return Outcome.ACK  # sent with the batch's basic.ack, after relay.deliver() (its flush) returned

    # Ctrl-C/SIGTERM are held while consuming (one landing inside pika can
    # leave the connection unable to close); the loop looks at them between
    # messages, acknowledges what was confirmed, and then the signal acts.
    with DeferredSignals() as signals, RabbitClient(prof.rabbit, profile=prof.name) as client:
        client.queue_info(source.queue)  # NotFound (exit 6)
        settings = ConsumeSettings(
            queue=source.queue, count=count, exit_at_end=exit_at_end, idle_timeout=idle, prefetch=1000
        )
        try:
            consume(client, settings, take, flush=relay.deliver, stop_requested=lambda: signals.received is not None)
        except TimeoutExpired:
            # As for a Kafka source: --timeout is an error only when it cut the move short.
            moved = relay.report.delivered + relay.skipped
            if moved == 0 or (count is not None and moved < count):
                raise
    signals.raise_received()


def _from_stdin(app: AppContext, relay: Relay, count: Optional[int]) -> None:
    from mqcli.core.move import stdin_batches
    from mqcli.core.readers import InputMode, ReaderOptions, read_messages

    messages = read_messages([app.stdin], ReaderOptions(mode=InputMode.jsonl))
    if count is not None:
        messages = itertools.islice(messages, count)
    for batch in stdin_batches(messages):
        for msg in batch:
            relay.take(msg)
        relay.deliver()
