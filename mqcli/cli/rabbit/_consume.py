"""Options and the runner shared by `rabbit consume` and `rabbit subscribe`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Optional

from mqcli.cli import params
from mqcli.cli.context import AppContext
from mqcli.cli.io import OutputFormat, make_writer, matcher, timeout_seconds
from mqcli.core.errors import MqcliError, UsageError
from mqcli.core.message import Message

if TYPE_CHECKING:
    from mqcli.core.rabbit.client import RabbitClient

NoAckOpt = Annotated[
    bool, params.Option("--no-ack", help="Acknowledge each message as it arrives, before writing it (at most once).")
]
ExitWhenEmptyOpt = Annotated[
    bool, params.Option("--exit-when-empty", "-e", help="Stop when the queue has no ready message left.")
]
# consume's -e, which also reads streams.
ExitAtEndOpt = Annotated[
    bool,
    params.Option(
        "--exit-when-empty",
        "--exit-at-end",
        "-e",
        help="Stop when the queue has no ready message left; a stream (--offset): after its last message as it was when the run began.",
    ),
]
StreamOffsetOpt = Annotated[
    Optional[str],
    params.Option(
        "--offset",
        metavar="first|last|next|N|TIME",
        help="Read a stream queue from there (x-stream-offset): its first message, its last chunk, only new ones, offset N, or the first at/after TIME (ISO-8601, -1h, epoch ms). The stream keeps its messages.",
        show_default=False,
    ),
]
OnErrorOpt = Annotated[
    str,
    params.Option(
        "--on-error",
        metavar="stop|requeue|reject",
        help="When --exec fails: stop (message back to the queue, exit 1), requeue (back to the queue, go on) or reject (dead-letter where the queue has a DLX, else drop; go on).",
    ),
]

ON_ERROR_CHOICES = ("stop", "requeue", "reject")


def run_consumer(
    app: AppContext,
    client: RabbitClient,
    queue: str,
    *,
    output: OutputFormat,
    template: Optional[str],
    delimiter: str,
    count: Optional[int],
    timeout: Optional[str],
    exit_when_empty: bool,
    match: Optional[list[str]],
    match_key: Optional[list[str]],
    match_value: Optional[list[str]],
    match_header: Optional[list[str]],
    exec_cmd: Optional[str],
    on_error: str,
    no_ack: bool,
    prefetch: Optional[int],
    exclusive: bool = False,
    reconnect: int = 0,
    resubscribe: Optional[Callable[[], str]] = None,
    decode: Optional[Callable[[Any, Any], Any]] = None,
    stream_offset: Optional[str] = None,
) -> None:
    """Consume `queue`, writing each message (or running --exec on it), ack after.

    With `reconnect`, a lost connection is re-opened and consuming resumes;
    `resubscribe` re-creates the queue and bindings first (subscribe) and
    returns the queue's (possibly new) name.  `decode` wraps the --match predicate
    so bodies are decoded first (--value-format, cli/schema.py's rabbit_decoding)."""
    from mqcli.cli.rabbit._common import notifier, reconnect_policy
    from mqcli.core.execute import ExecRunner, OnError
    from mqcli.core.rabbit.consume import DEFAULT_PREFETCH, ConsumeSettings, Outcome, consume, exec_while_polling
    from mqcli.core.stops import STOPPED

    action = OnError.parse(on_error, ON_ERROR_CHOICES).action
    if exec_cmd is None and on_error != "stop":
        raise UsageError("--on-error applies to --exec")
    offset = None
    if stream_offset is not None:
        from mqcli.core.rabbit.streams import parse_offset

        offset = parse_offset(stream_offset)
        if action != "stop":
            raise UsageError("--on-error requeue/reject do not apply to a stream (it keeps every message)")
    writer = make_writer(app, output, template, delimiter) if exec_cmd is None else None
    pred = matcher(match, match_key, match_value, match_header)
    settings = ConsumeSettings(
        queue=queue,
        no_ack=no_ack,
        prefetch=prefetch if prefetch is not None else (1 if exec_cmd else DEFAULT_PREFETCH),
        count=count,
        exit_at_end=exit_when_empty,
        idle_timeout=timeout_seconds(timeout),
        matcher=pred if decode is None else decode(pred, writer),
        filtering=pred is not None,
        exclusive=exclusive,
        stream_offset=offset,
    )
    on_fail = {"stop": Outcome.STOP, "requeue": Outcome.REQUEUE, "reject": Outcome.REJECT}[action]
    runner = ExecRunner(exec_cmd, OnError(action), before=app.stdout.flush) if exec_cmd is not None else None

    def handle(msg: Message) -> Outcome:
        if writer is not None:
            # Only written: consume() flushes before it acknowledges (in batches).
            writer.write(msg)
            return Outcome.ACK
        assert runner is not None
        done = exec_while_polling(client, runner, msg, notifier(app))
        if done.ok:
            return Outcome.ACK
        what = {"stop": "returned to the queue; stopping", "requeue": "requeued", "reject": "rejected"}[action]
        if client.interrupted is not None:
            what = "returned to the queue (interrupted)"  # it may have failed because of the signal
        mid = msg.properties.get("message_id")
        app.error(
            f"--exec exited with {done.returncode} for a message from {queue}"
            + (f" (message_id {mid})" if mid else "")
            + f": {what}"
        )
        return on_fail

    def on_reconnect() -> None:
        if resubscribe is not None:
            settings.queue = resubscribe()

    result = consume(
        client,
        settings,
        handle,
        flush=writer.flush if writer is not None else None,
        reconnect=reconnect_policy(reconnect),
        notify=notifier(app),
        on_reconnect=on_reconnect,
    )
    if result.handled or result.failed:
        app.debug_log(
            f"consumed {result.handled} message(s) from {queue}, {result.failed} failed, {result.skipped} did not match"
        )
    if result.reason == STOPPED:
        raise MqcliError("--exec failed; the message went back to the queue")
    if result.failed:
        raise MqcliError(
            f"--exec failed for {result.failed} message(s) ({'requeued' if action == 'requeue' else 'rejected'})"
        )
