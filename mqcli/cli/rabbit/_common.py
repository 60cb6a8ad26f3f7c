"""Helpers shared by the `mqcli rabbit` commands (no pika imports at module level)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Optional

from mqcli.cli import params
from mqcli.cli.context import AppContext
from mqcli.core.errors import InputError
from mqcli.core.message import Message
from mqcli.core.parse import parse_duration
from mqcli.core.readers import ReadStats

if TYPE_CHECKING:
    from mqcli.core.rabbit.client import RabbitClient, ReconnectPolicy
    from mqcli.core.rabbit.rpc import CallRun

DeclareOpt = Annotated[
    bool,
    params.Option(
        "--declare", help="Declare what is missing (durable); without it a missing queue/exchange is an error (exit 6)."
    ),
]
PrefetchOpt = Annotated[
    Optional[int],
    params.Option(
        "--prefetch",
        metavar="N",
        min=1,
        help="Unacknowledged messages the broker may send ahead (QoS). 1 gives fair dispatch across workers. Default 100, 1 with --exec.",
        show_default=False,
    ),
]


# --reconnect N: the waits are ReconnectPolicy's defaults; each command says what it does after reconnecting.
_RECONNECT = "When the connection is lost (broker restart, network), reconnect up to N times, waiting 0.5s, 1s, 2s, 4s, then 5s between attempts, "
# Consumers (consume, subscribe, rpc serve): what was not acknowledged is redelivered.
ReconnectOpt = Annotated[
    int, params.Option("--reconnect", min=0, metavar="N", help=_RECONNECT + "and resume. 0: exit 4 at once.")
]
# Publishers (publish, delay publish).
PublishReconnectOpt = Annotated[
    int,
    params.Option(
        "--reconnect",
        min=0,
        metavar="N",
        help=_RECONNECT + "send every unconfirmed message again (duplicates possible) and go on with the input."
        " 0: report the unconfirmed ones and exit 4.",
    ),
]
# rpc call: direct reply-to belongs to the connection, so replies on their way to the lost one are gone.
CallReconnectOpt = Annotated[
    int,
    params.Option(
        "--reconnect",
        min=0,
        metavar="N",
        help=_RECONNECT + "send every request that has no reply yet again and go on with the input."
        " Replies travel through direct reply-to, which belongs to the connection: a reply to the lost"
        " connection is gone, so its request is sent again and the server may run it twice."
        " 0: report the requests without a reply and exit 4.",
    ),
]

# -- destinations of publish and delay publish -----------------------------------
QueueOpt = Annotated[
    Optional[str],
    params.Option(
        "--queue",
        "-q",
        metavar="QUEUE",
        help="Publish to queue Q (default exchange, routing key Q).",
        show_default=False,
    ),
]
ExchangeOpt = Annotated[
    Optional[str],
    params.Option(
        "--exchange",
        "-e",
        metavar="EXCHANGE",
        help="Publish to exchange X ('' is the default exchange).",
        show_default=False,
    ),
]
RoutingKeyOpt = Annotated[
    Optional[str],
    params.Option(
        "--routing-key",
        "-r",
        metavar="KEY",
        help="Routing key (default: each JSON Lines message's own, else '').",
        show_default=False,
    ),
]

# -- message properties (publish, delay publish, rpc call) --------------------------
ContentTypeOpt = Annotated[
    Optional[str],
    params.Option(
        "--content-type",
        metavar="TYPE",
        help="Content type (default text/plain; JSON Lines messages keep their own).",
        show_default=False,
    ),
]
ContentEncodingOpt = Annotated[
    Optional[str],
    params.Option("--content-encoding", metavar="ENCODING", help="Content encoding property.", show_default=False),
]
PersistentOpt = Annotated[
    Optional[bool],
    params.Option(
        "--persistent/--transient",
        help="delivery_mode 2 (written to disk) or 1. Default persistent; JSON Lines messages keep their own.",
        show_default=False,
    ),
]
MessageIdOpt = Annotated[
    Optional[str], params.Option("--message-id", metavar="ID", help="message_id property.", show_default=False)
]
GenerateMessageIdOpt = Annotated[
    bool, params.Option("--generate-message-id", help="A fresh UUID message_id for each message that has none.")
]
CorrelationIdOpt = Annotated[
    Optional[str], params.Option("--correlation-id", metavar="ID", help="correlation_id property.", show_default=False)
]
ReplyToOpt = Annotated[
    Optional[str], params.Option("--reply-to", metavar="QUEUE", help="reply_to property.", show_default=False)
]
ExpirationOpt = Annotated[
    Optional[str],
    params.Option(
        "--expiration",
        metavar="DURATION",
        help="Per-message TTL, e.g. 30s (the expiration property).",
        show_default=False,
    ),
]
PriorityOpt = Annotated[
    Optional[int],
    params.Option("--priority", metavar="N", min=0, max=255, help="priority property (0-255).", show_default=False),
]
TypeOpt = Annotated[Optional[str], params.Option("--type", metavar="TYPE", help="type property.", show_default=False)]
AppIdOpt = Annotated[
    Optional[str], params.Option("--app-id", metavar="ID", help="app_id property.", show_default=False)
]
TimestampOpt = Annotated[bool, params.Option("--timestamp", help="Set the timestamp property to the time of sending.")]


def message_properties(
    *,
    jsonl: bool,
    content_type: Optional[str] = None,
    content_encoding: Optional[str] = None,
    persistent: Optional[bool] = None,
    message_id: Optional[str] = None,
    correlation_id: Optional[str] = None,
    reply_to: Optional[str] = None,
    expiration: Optional[str] = None,
    priority: Optional[int] = None,
    type_: Optional[str] = None,
    app_id: Optional[str] = None,
) -> dict[str, Any]:
    """The default properties of every message, from the property options.

    JSON Lines messages are copied as they are (consume | publish is
    faithful): only what was asked for is set.  Other input is text/plain
    and persistent unless the options say otherwise."""
    if not jsonl:
        content_type = "text/plain" if content_type is None else content_type
        persistent = True if persistent is None else persistent
    props: dict[str, Any] = {}
    if persistent is not None:
        props["delivery_mode"] = 2 if persistent else 1
    for name, value in (
        ("content_type", content_type),
        ("content_encoding", content_encoding),
        ("message_id", message_id),
        ("correlation_id", correlation_id),
        ("reply_to", reply_to),
        ("priority", priority),
        ("type", type_),
        ("app_id", app_id),
    ):
        if value is not None:
            props[name] = value
    if expiration is not None:
        # AMQP's expiration is a string of milliseconds.
        props["expiration"] = str(int(parse_duration(expiration) * 1000))
    return props


def reconnect_policy(attempts: int) -> ReconnectPolicy:
    from mqcli.core.rabbit.client import ReconnectPolicy

    return ReconnectPolicy(attempts=attempts)


def notifier(app: AppContext) -> Callable[[str], None]:
    """Reconnect progress on stderr (a warning: something went wrong, even if mqcli recovers)."""
    return app.warn


def private_stdin(app: AppContext) -> None:
    """Give the input reader thread a file object of its own for stdin.

    publish, rpc call and delay publish read their input on a helper thread.
    When mqcli stops (an error, Ctrl-C) while that thread waits in a read
    (`tail -f | mqcli rabbit publish ...`), it holds the lock of the file
    object, and Python aborts at exit trying to close sys.stdin ("Fatal
    Python error: _enter_buffered_busy", exit 134 instead of ours).  A
    separate object on a dup of fd 0 is never closed at exit, so the exit
    code stays the documented one."""
    try:
        fd = app.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (in-process tests)
        return
    app.stdin = os.fdopen(os.dup(fd), "rb")


def connect(app: AppContext) -> RabbitClient:
    """A connection to the profile's RabbitMQ (ConnectionFailed naming host:port and profile)."""
    from mqcli.core.rabbit.client import RabbitClient

    profile = app.profile
    if app.debug:
        import logging

        from mqcli.core.logs import show_library_logs

        # pika at debug level logs every frame: only with -v.
        level = logging.DEBUG if app.verbose else logging.WARNING
        show_library_logs("pika", "pika", app.err.file, profile.secrets(), level)  # type: ignore[arg-type]
    return RabbitClient(profile.rabbit, profile=profile.name)


def typed_headers(headers: Optional[list[str]]) -> list[tuple[str, Any]]:
    """-H name=value with RabbitMQ's typed values (30000 -> int, true -> bool, '"30"' -> str)."""
    from mqcli.cli.io import parse_headers
    from mqcli.core.parse import typed_header_value

    return [(name, typed_header_value(value)) for name, value in parse_headers(headers)]


def where(msg: Message, what: str = "message") -> str:
    """'line 12' for a message read from the input, else `what` (an argument without a line)."""
    return f"line {msg.line}" if msg.line is not None else what


def warn_skipped(app: AppContext, stats: ReadStats) -> None:
    from mqcli.core.delivery import skipped_input

    skipped = skipped_input(stats)
    if skipped is not None:
        app.warn(skipped)


@contextmanager
def input_stop_reported(app: AppContext, run: CallRun) -> Iterator[None]:
    """On an error, Ctrl-C or SIGTERM before the whole input was read, say
    where it stopped, so a script can resume there (`run` is filled in by
    rpc call as it goes; publish's DeliveryReport says it the same way)."""
    try:
        yield
    except BaseException as e:
        if not run.input_ended and not isinstance(e, InputError):
            from mqcli.core.delivery import not_sent_from

            app.error(not_sent_from(run.last_line))
        raise
