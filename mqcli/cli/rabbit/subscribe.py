"""`mqcli rabbit subscribe --exchange X [--type T] [--key K ...] [--queue NAME]`."""

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
)
from mqcli.cli.options import ProfileOpt
from mqcli.cli.rabbit._common import PrefetchOpt, ReconnectOpt, connect, typed_headers
from mqcli.cli.rabbit._consume import ExitWhenEmptyOpt, NoAckOpt, OnErrorOpt, run_consumer
from mqcli.cli.schema import (
    ConsumeSkipInvalidOpt,
    DescriptorSetOpt,
    MessageTypeOpt,
    ProtoPathOpt,
    RabbitConsumeFormatOpt,
    ValueSchemaOpt,
    rabbit_decoding,
)
from mqcli.core.errors import UsageError


def subscribe(
    ctx: typer.Context,
    exchange: Annotated[
        str, typer.Option("--exchange", metavar="EXCHANGE", help="Exchange to subscribe to.", show_default=False)
    ],
    exchange_type: Annotated[
        Optional[str],
        typer.Option(
            "--type",
            metavar="TYPE",
            help="Exchange type: fanout, direct, topic, headers (for --declare, and to pick the default binding key).",
            show_default=False,
        ),
    ] = None,
    keys: Annotated[
        Optional[list[str]],
        typer.Option(
            "--key",
            "-k",
            metavar="KEY",
            help="Binding key (repeatable). Topic wildcards: * one word, # zero or more. Default: '#' for topic, '' otherwise.",
            show_default=False,
        ),
    ] = None,
    bind_header: Annotated[
        Optional[list[str]],
        typer.Option(
            "--bind-header",
            metavar="NAME=VALUE",
            help="headers exchange: bind on header name=value (repeatable).",
            show_default=False,
        ),
    ] = None,
    bind_match: Annotated[
        str,
        typer.Option(
            "--bind-match",
            metavar="all|any",
            help="headers exchange: all or any of the --bind-header values must match.",
        ),
    ] = "all",
    queue: Annotated[
        Optional[str],
        typer.Option(
            "--queue",
            "-q",
            metavar="QUEUE",
            help="A durable named queue (declared when missing) that keeps collecting while nobody listens. Default: a server-named exclusive queue that goes away with mqcli.",
            show_default=False,
        ),
    ] = None,
    declare: Annotated[
        bool,
        typer.Option("--declare", help="Declare the exchange (durable, --type, default fanout) when it is missing."),
    ] = False,
    output: OutputOpt = OutputFormat.auto,
    template: FormatOpt = None,
    delimiter: DelimiterOpt = r"\n",
    count: CountOpt = None,
    timeout: TimeoutOpt = None,
    exit_when_empty: ExitWhenEmptyOpt = False,
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
    profile: ProfileOpt = None,
) -> None:
    """Subscribe to an exchange: bind a queue with each --key and consume it.

    Without --queue the queue is server-named, exclusive and auto-delete:
    it receives what is published while mqcli runs.  With --queue NAME the
    subscription is durable and survives restarts.  Output, --count,
    --timeout, --match, --exec and --reconnect work as for consume (after a
    reconnect a server-named queue is declared and bound again: what was
    published while mqcli was away is not in it).

    Example: mqcli rabbit subscribe --exchange events --type topic --key 'user.*' --key '*.created' -o json
    """
    app = get_app(ctx, profile=profile)
    if exchange == "":
        raise UsageError("the default exchange cannot be subscribed to; consume the queue instead")
    if exchange_type is not None and exchange_type not in ("fanout", "direct", "topic", "headers", "x-delayed-message"):
        raise UsageError(f"invalid --type {exchange_type!r} (use fanout, direct, topic or headers)")
    if bind_match not in ("all", "any"):
        raise UsageError("--bind-match must be all or any")
    binding_args = None
    if bind_header:
        binding_args = {"x-match": bind_match, **dict(typed_headers(bind_header))}
    binding_keys = list(keys or []) or (["#"] if exchange_type == "topic" else [""])

    from mqcli.core.rabbit.topology import bind_queue, declare_queue, ensure_exchange, queue_exists

    with connect(app) as client:

        def setup() -> str:
            """Exchange, queue and bindings; again after a reconnect."""
            if ensure_exchange(client, exchange, declare=declare, exchange_type=exchange_type or "fanout"):
                app.info(f"mqcli: declared exchange {exchange} ({exchange_type or 'fanout'})")
            if queue is None:
                name = declare_queue(client, "", exclusive=True, auto_delete=True).name
            else:
                name = queue
                if not queue_exists(client, queue):
                    declare_queue(client, queue)
                    app.info(f"mqcli: declared queue {queue}")
            for key in binding_keys:
                bind_queue(client, name, exchange, key, binding_args)
            # Tells people and scripts that from now on nothing published is missed.
            app.info(
                f"mqcli: subscribed: queue {name} bound to {exchange} with {', '.join(repr(k) for k in binding_keys)}"
            )
            return name

        name = setup()
        run_consumer(
            app,
            client,
            name,
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
            resubscribe=setup,
            decode=rabbit_decoding(
                app,
                value_format=value_format,
                value_schema=value_schema,
                message_type=message_type,
                proto_paths=proto_path,
                descriptor_set=descriptor_set,
                skip_invalid=skip_invalid,
            ),
        )
