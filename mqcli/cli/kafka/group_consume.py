"""`mqcli kafka group-consume --group G TOPIC...`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

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
from mqcli.core.errors import MqcliError, TimeoutExpired, UsageError
from mqcli.core.message import Message


class ExecFailed(MqcliError):
    """--exec failed for a message and --on-error said stop (exit 1)."""


def group_consume(
    ctx: typer.Context,
    topics: Annotated[list[str], typer.Argument(metavar="TOPIC", help="Topics to subscribe to.", show_default=False)],
    group: Annotated[
        str, typer.Option("--group", "-g", metavar="GROUP", help="Consumer group id (required).", show_default=False)
    ],
    assignor: Annotated[
        str, typer.Option("--assignor", metavar="NAME", help="range, roundrobin, sticky or cooperative-sticky.")
    ] = "range",
    start: Annotated[
        Optional[str],
        typer.Option(
            "--from",
            metavar="earliest|latest",
            help="Where the group has no committed offset: earliest or latest (default: the profile's, normally earliest).",
            show_default=False,
        ),
    ] = None,
    count: CountOpt = None,
    exit_at_end: Annotated[
        bool,
        typer.Option(
            "--exit-at-end",
            "-e",
            help="Stop when every assigned partition reaches the end offset it had when assigned.",
        ),
    ] = False,
    timeout: TimeoutOpt = None,
    match: MatchOpt = None,
    match_key: MatchKeyOpt = None,
    match_value: MatchValueOpt = None,
    match_header: MatchHeaderOpt = None,
    output: OutputOpt = OutputFormat.auto,
    template: FormatOpt = None,
    delimiter: DelimiterOpt = r"\n",
    exec_cmd: ExecOpt = None,
    on_error: Annotated[
        str,
        typer.Option(
            "--on-error",
            metavar="stop|skip|retry:N",
            help="When --exec fails: stop (default; the message stays uncommitted), skip, or retry:N (then stop).",
        ),
    ] = "stop",
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
    """Consume as a member of a consumer group, at least once.

    An offset is committed only after its message was written and flushed to
    stdout, or after --exec CMD exited 0 for it.  Partition assignments and
    revocations are reported on stderr.  SIGINT/SIGTERM commit the work done
    and leave the group; one arriving while an --exec command runs lets that
    command finish first (a second one cuts it off, uncommitted).  Messages filtered out by --match are committed too.

    Example: mqcli kafka group-consume --group billing orders --exec './bill.sh'
    """
    app = get_app(ctx, profile=profile)
    from mqcli.core.execute import ExecRunner, OnError

    policy = OnError.parse(on_error, ("stop", "skip", "retry"))
    if exec_cmd is None and on_error != "stop":
        raise UsageError("--on-error applies only with --exec")
    if exec_cmd is not None and (template is not None or output is not OutputFormat.auto):
        raise UsageError("--exec consumes the messages; --output/--format do not apply")
    if start is not None and start not in ("earliest", "latest"):
        raise UsageError(f"invalid --from {start!r} (use earliest or latest)")
    idle = timeout_seconds(timeout)
    pred = matcher(match, match_key, match_value, match_header)
    settings, profile_name = kafka_settings(app, ctx)
    writer = make_writer(app, output, template, delimiter) if exec_cmd is None else None
    settings = with_isolation(with_registry_url(settings, schema_registry), isolation)
    # --match after decoding (so it sees the decoded text); `pred` alone names what --timeout waited for.
    local = local_schemas(value_schema, key_schema, message_type, key_message_type, proto_path, descriptor_set)
    rule = decoding(app, settings, profile_name, pred, writer, value_format, key_format, skip_invalid, local)

    from mqcli.core.kafka.common import ASSIGNORS
    from mqcli.core.kafka.engine import group_consumer
    from mqcli.core.stops import IDLE, STOPPED, StopRules

    if assignor not in ASSIGNORS:
        raise UsageError(f"invalid --assignor {assignor!r} (use {', '.join(ASSIGNORS)})")

    def event(text: str) -> None:
        app.note(f"group {group}: {text}")

    failure: list[str] = []
    runner = (
        ExecRunner(
            exec_cmd,
            policy,
            before=app.stdout.flush,
            on_retry=lambda msg, code, attempt: app.warn(
                f"--exec exited {code} for {msg.topic}[{msg.partition}]@{msg.offset}; retrying ({attempt}/{policy.retries})"
            ),
        )
        if exec_cmd is not None
        else None
    )

    def handle(msg: Message) -> bool:
        if writer is not None:
            writer.write(msg)
            return True
        assert runner is not None
        done = runner.run(msg)
        if done.signal is not None:
            # The command ran to its end: commit its message if it
            # succeeded, then stop as the signal asked (130/143).
            if done.ok:
                consumer.mark(msg)
            done.stop()
        if done.ok:
            return True
        where = f"{msg.topic}[{msg.partition}]@{msg.offset}"
        if done.action == "skip":
            app.warn(f"--exec exited {done.returncode} for {where}; skipped (committed)")
            return True
        failure.append(f"--exec exited {done.returncode} for {where}; stopped without committing it")
        return False

    def flush() -> None:
        if writer is not None:
            writer.flush()
        else:
            app.stdout.flush()

    consumer = group_consumer(
        settings,
        group,
        topics,
        assignor=assignor,
        start=start or settings.consumer.auto_offset_reset,
        profile=profile_name,
        on_event=event,
    )
    # try/finally, not except: SIGTERM arrives as a BaseException (Terminated)
    # and Ctrl-C as KeyboardInterrupt; both must commit handled work and leave.
    try:
        result = consumer.run(
            StopRules(count=count, exit_at_end=exit_at_end, idle_timeout=idle, matcher=rule),
            handle,
            flush,
            writer=writer,
        )
    finally:
        consumer.close(commit=True)
    if result.reason == STOPPED and failure:
        raise ExecFailed(failure[0])
    if result.reason == IDLE and (result.handled == 0 or (count is not None and result.handled < count)):
        got = f"{result.handled} of {count}" if count is not None else "no"
        raise TimeoutExpired(
            f"{got} {'matching ' if pred else ''}messages for group {group} within {timeout} of idle time"
        )
