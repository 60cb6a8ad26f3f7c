"""Stream options of `rabbit consume` / `rabbit publish`, and the native stream engine's
consume runner (core/rabbit/stream_native.py); the AMQP engine is run_consumer's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Optional

from mqcli.cli import params
from mqcli.cli.context import AppContext
from mqcli.cli.io import OutputFormat, make_writer, matcher, timeout_seconds
from mqcli.core.errors import MqcliError, UsageError
from mqcli.core.message import Message

StreamEngineOpt = Annotated[
    Optional[str],
    params.Option(
        "--stream-engine",
        metavar="amqp|native",
        help="How a stream is read or written: over AMQP 0.9.1, or the native stream protocol (the rabbitmq_stream plugin, port rabbit.stream_port; needs mqcli[streams]). Default: $MQCLI_RABBIT_STREAM_ENGINE, the profile's rabbit.stream_engine, else amqp.",
        show_default=False,
    ),
]
StreamFromOpt = Annotated[
    Optional[str],
    params.Option(
        "--from",
        metavar="TIME",
        help="Read a stream from its first message at or after TIME (ISO-8601, -1h, epoch ms): as --offset TIME, to the millisecond with the native engine.",
        show_default=False,
    ),
]
StreamUntilOpt = Annotated[
    Optional[str],
    params.Option(
        "--until",
        metavar="TIME",
        help="Stop a stream read at its first message written after TIME (the chunk's time; needs --stream-engine native).",
        show_default=False,
    ),
]


def stream_engine(app: AppContext, requested: Optional[str]) -> str:
    """The engine for a stream read/write (see stream_native.resolve)."""
    from mqcli.core.rabbit.stream_native import resolve

    return resolve(app.profile.rabbit, requested)


def stream_start(
    offset: Optional[str], from_time: Optional[str], until: Optional[str], engine: str
) -> tuple[Optional[str], Optional[int], Optional[int]]:
    """(--offset text, --from in ms, --until in ms), checked: --from is --offset TIME
    (the AMQP engine reads it as that, to the second); --until needs the native engine."""
    from mqcli.core.parse import parse_time
    from mqcli.core.rabbit.stream_native import NATIVE

    if offset is not None and from_time is not None:
        raise UsageError("give --offset or --from, not both")
    from_ms = int(parse_time(from_time) * 1000) if from_time is not None else None
    until_ms = int(parse_time(until) * 1000) if until is not None else None
    if until is not None:
        if engine != NATIVE:
            raise UsageError(
                "--until on a stream needs --stream-engine native (AMQP 0.9.1 deliveries carry no write time)"
            )
        if offset is None and from_time is None:
            raise UsageError("--until applies to a stream read (--offset or --from)")
    if from_ms is not None and engine != NATIVE:
        offset = str(from_ms)  # epoch milliseconds: a time to parse_offset
        from_ms = None
    return offset, from_ms, until_ms


def run_native_consumer(
    app: AppContext,
    queue: str,
    *,
    offset: Optional[str],
    from_ms: Optional[int],
    until_ms: Optional[int],
    output: OutputFormat,
    template: Optional[str],
    delimiter: str,
    count: Optional[int],
    timeout: Optional[str],
    exit_at_end: bool,
    match: Optional[list[str]],
    match_key: Optional[list[str]],
    match_value: Optional[list[str]],
    match_header: Optional[list[str]],
    exec_cmd: Optional[str],
    on_error: str,
    no_ack: bool,
    reconnect: int,
    decode: Optional[Callable[[Any, Any], Any]] = None,
) -> None:
    """`rabbit consume STREAM` over the stream protocol: the same options, output,
    messages and exit codes as run_consumer's stream read."""
    from mqcli.cli.rabbit._common import notifier, reconnect_policy
    from mqcli.cli.rabbit._consume import ON_ERROR_CHOICES
    from mqcli.core.execute import ExecRunner, OnError
    from mqcli.core.rabbit import stream_native
    from mqcli.core.rabbit.consume import ConsumeSettings, Outcome
    from mqcli.core.rabbit.streams import parse_offset
    from mqcli.core.stops import STOPPED

    action = OnError.parse(on_error, ON_ERROR_CHOICES).action
    if exec_cmd is None and on_error != "stop":
        raise UsageError("--on-error applies to --exec")
    start = parse_offset(offset) if offset is not None else "first"
    if action != "stop":
        raise UsageError("--on-error requeue/reject do not apply to a stream (it keeps every message)")
    del no_ack  # nothing is acknowledged on the stream protocol: --no-ack changes nothing
    writer = make_writer(app, output, template, delimiter) if exec_cmd is None else None
    pred = matcher(match, match_key, match_value, match_header)
    rules = ConsumeSettings(
        queue=queue,
        count=count,
        exit_at_end=exit_at_end,
        until_ms=until_ms,
        idle_timeout=timeout_seconds(timeout),
        matcher=pred if decode is None else decode(pred, writer),
        stream_offset=start,
    )
    runner = ExecRunner(exec_cmd, OnError(action), before=app.stdout.flush) if exec_cmd is not None else None

    def handle(msg: Message) -> Outcome:
        if writer is not None:
            writer.write(msg)
            return Outcome.ACK
        assert runner is not None
        done = runner.run(msg)
        if done.signal is not None:
            interruption = done.interruption()
            if interruption is not None:
                raise interruption  # a stream keeps the message: nothing to settle first
        if done.ok:
            return Outcome.ACK
        mid = msg.properties.get("message_id")
        app.error(
            f"--exec exited with {done.returncode} for a message from {queue}"
            + (f" (message_id {mid})" if mid else "")
            + ": returned to the queue; stopping"
        )
        return Outcome.STOP

    def exists() -> None:
        # The stream protocol says the same for a missing queue and one that is not a
        # stream: ask over AMQP which (a missing queue is NotFound, as with amqp).
        from mqcli.cli.rabbit._common import connect

        with connect(app) as client:
            client.queue_info(queue)

    result = stream_native.consume(
        app.profile.rabbit,
        rules,
        handle,
        flush=writer.flush if writer is not None else None,
        from_ms=from_ms,
        reconnect=reconnect_policy(reconnect),
        notify=notifier(app),
        exists=exists,
    )
    if result.handled or result.failed:
        app.debug_log(
            f"consumed {result.handled} message(s) from {queue}, {result.failed} failed, {result.skipped} did not match"
        )
    if result.reason == STOPPED:
        raise MqcliError("--exec failed; the message went back to the queue")
