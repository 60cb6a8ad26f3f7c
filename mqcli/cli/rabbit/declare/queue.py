"""`mqcli rabbit declare queue NAME`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mqcli.cli.context import get_app
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import StatusFormat, emit, output_option
from mqcli.cli.rabbit._common import connect, typed_headers
from mqcli.core.errors import UsageError
from mqcli.core.parse import parse_duration


def queue(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="QUEUE", help="Queue name.", show_default=False)],
    queue_type: Annotated[
        str, typer.Option("--type", metavar="classic|quorum|stream", help="classic, quorum or stream.")
    ] = "classic",
    auto_delete: Annotated[
        bool, typer.Option("--auto-delete", help="Delete the queue when its last consumer goes away.")
    ] = False,
    ttl: Annotated[
        Optional[str],
        typer.Option("--ttl", metavar="DURATION", help="Message TTL (x-message-ttl), e.g. 30s.", show_default=False),
    ] = None,
    expires: Annotated[
        Optional[str],
        typer.Option(
            "--expires",
            metavar="DURATION",
            help="Delete the queue after DURATION unused (x-expires).",
            show_default=False,
        ),
    ] = None,
    dead_letter_exchange: Annotated[
        Optional[str],
        typer.Option(
            "--dead-letter-exchange",
            "--dlx",
            metavar="EXCHANGE",
            help="Exchange for rejected/expired messages ('' is the default exchange).",
            show_default=False,
        ),
    ] = None,
    dead_letter_routing_key: Annotated[
        Optional[str],
        typer.Option(
            "--dead-letter-routing-key",
            "--dlk",
            metavar="KEY",
            help="Routing key for dead-lettered messages.",
            show_default=False,
        ),
    ] = None,
    max_length: Annotated[
        Optional[int],
        typer.Option(
            "--max-length", metavar="N", min=0, help="At most N ready messages (x-max-length).", show_default=False
        ),
    ] = None,
    max_length_bytes: Annotated[
        Optional[int],
        typer.Option(
            "--max-length-bytes", metavar="BYTES", min=0, help="At most N bytes of ready messages.", show_default=False
        ),
    ] = None,
    overflow: Annotated[
        Optional[str],
        typer.Option(
            "--overflow",
            metavar="BEHAVIOUR",
            help="When full: drop-head, reject-publish or reject-publish-dlx.",
            show_default=False,
        ),
    ] = None,
    max_priority: Annotated[
        Optional[int],
        typer.Option(
            "--max-priority",
            metavar="N",
            min=1,
            max=255,
            help="Priority queue with priorities 0..N.",
            show_default=False,
        ),
    ] = None,
    max_age: Annotated[
        Optional[str],
        typer.Option(
            "--max-age",
            metavar="DURATION",
            help="Stream: drop segments older than DURATION (x-max-age), e.g. 7d.",
            show_default=False,
        ),
    ] = None,
    delivery_limit: Annotated[
        Optional[int],
        typer.Option(
            "--delivery-limit",
            metavar="N",
            min=0,
            help="Quorum: dead-letter (or drop) a message returned more than N times (x-delivery-limit).",
            show_default=False,
        ),
    ] = None,
    dead_letter_strategy: Annotated[
        Optional[str],
        typer.Option(
            "--dead-letter-strategy",
            metavar="at-most-once|at-least-once",
            help="Quorum: how messages are dead-lettered; at-least-once needs --overflow reject-publish.",
            show_default=False,
        ),
    ] = None,
    arg: Annotated[
        Optional[list[str]],
        typer.Option(
            "--arg", metavar="NAME=VALUE", help="Any other x-argument name=value (typed like -H).", show_default=False
        ),
    ] = None,
    output: Annotated[
        StatusFormat,
        output_option(StatusFormat, "auto: a status line on stderr; json: the queue's state as a JSON document."),
    ] = "auto",
    profile: ProfileOpt = None,
) -> None:
    """Declare a durable queue (RabbitMQ 4 refuses transient non-exclusive queues).

    Declaring an existing queue with the same settings is a no-op; with
    different settings RabbitMQ refuses (PRECONDITION_FAILED, exit 1).

    Example: mqcli rabbit declare queue jobs --dlx '' --dlk jobs.dead --max-length 10000
    """
    app = get_app(ctx, profile=profile)
    if overflow is not None and overflow not in ("drop-head", "reject-publish", "reject-publish-dlx"):
        raise UsageError("--overflow must be drop-head, reject-publish or reject-publish-dlx")
    _check_type_options(queue_type, max_age, delivery_limit, dead_letter_strategy, overflow)
    from mqcli.core.rabbit.topology import declare_queue, queue_arguments

    args = queue_arguments(
        queue_type=queue_type,
        message_ttl=parse_duration(ttl) if ttl is not None else None,
        expires=parse_duration(expires) if expires is not None else None,
        dead_letter_exchange=dead_letter_exchange,
        dead_letter_routing_key=dead_letter_routing_key,
        max_length=max_length,
        max_length_bytes=max_length_bytes,
        overflow=overflow,
        max_priority=max_priority,
        extra=typed_headers(arg),
        max_age=parse_duration(max_age) if max_age is not None else None,
        delivery_limit=delivery_limit,
        dead_letter_strategy=dead_letter_strategy,
    )
    if queue_type == "classic":
        del args["x-queue-type"]  # the broker's default; keeps redeclares compatible with queues declared without it
    with connect(app) as client:
        info = declare_queue(client, name, auto_delete=auto_delete, arguments=args)
    if output == "json":
        emit(app, output, info.to_dict())
    else:
        app.info(f"mqcli: queue {info.name} declared ({info.messages} ready, {info.consumers} consumers)")


def _check_type_options(
    queue_type: str,
    max_age: Optional[str],
    delivery_limit: Optional[int],
    dead_letter_strategy: Optional[str],
    overflow: Optional[str],
) -> None:
    """Options that apply to one queue type only: a usage error for another
    (RabbitMQ would ignore them, or take them silently and act otherwise)."""
    if max_age is not None and queue_type != "stream":
        raise UsageError("--max-age applies to --type stream")
    if queue_type == "stream" and overflow is not None:
        raise UsageError("--overflow does not apply to a stream (it drops old segments: --max-age, --max-length-bytes)")
    if delivery_limit is not None and queue_type != "quorum":
        raise UsageError("--delivery-limit applies to --type quorum")
    if dead_letter_strategy is not None:
        if queue_type != "quorum":
            raise UsageError("--dead-letter-strategy applies to --type quorum")
        if dead_letter_strategy not in ("at-most-once", "at-least-once"):
            raise UsageError("--dead-letter-strategy must be at-most-once or at-least-once")
        if dead_letter_strategy == "at-least-once" and overflow != "reject-publish":
            # RabbitMQ falls back to at-most-once without it, silently.
            raise UsageError("--dead-letter-strategy at-least-once needs --overflow reject-publish")
