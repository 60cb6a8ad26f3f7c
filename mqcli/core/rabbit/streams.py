"""RabbitMQ streams read over AMQP 0.9.1 (`rabbit consume STREAM --offset …`).

A stream keeps its messages: a consumer attaches at an offset (the
`x-stream-offset` consumer argument: first, last, next, an offset or a
point in time), must set a prefetch and acknowledge (acks only give the
broker credit to send more; nothing is removed), and every delivery carries
its offset in the `x-stream-offset` header.  Streams refuse basic.nack and
basic.reject (the broker closes the connection), which pika sends by itself
for deliveries it still holds when a consumer is cancelled: a stream
channel swallows them (`quiet_rejects`) — closing the channel is all a
stream consumer needs.
"""

from __future__ import annotations

import datetime
import re
import time
from typing import TYPE_CHECKING, Any

from mqcli.core.errors import UsageError
from mqcli.core.rabbit.client import amqp_errors

if TYPE_CHECKING:
    from mqcli.core.rabbit.client import RabbitClient

OFFSET_HEADER = "x-stream-offset"
NAMED_OFFSETS = ("first", "last", "next")


def parse_offset(text: str, now: float | None = None) -> str | int | datetime.datetime:
    """--offset first|last|next|N|TIME as the x-stream-offset value: a name,
    an offset, or a point in time (ISO-8601, `-1h`, epoch ms; seconds precision,
    as the AMQP timestamp type)."""
    t = text.strip().lower()
    if t in NAMED_OFFSETS:
        return t
    if re.fullmatch(r"[0-9]+", t) and len(t) < 13:  # 13+ digits: epoch milliseconds, a time
        return int(t)
    from mqcli.core.parse import parse_time

    try:
        seconds = parse_time(text, now=now)
    except UsageError:
        raise UsageError(
            f"invalid --offset {text!r} (use first, last, next, an offset N, or a time: ISO-8601, -1h, epoch ms)"
        ) from None
    return datetime.datetime.fromtimestamp(int(seconds), tz=datetime.timezone.utc)


def offset_of(headers: dict[str, Any] | None) -> int | None:
    """A stream delivery's offset (None: not a stream delivery)."""
    value = (headers or {}).get(OFFSET_HEADER)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def quiet_rejects(ch: Any) -> None:
    """Make pika's own rejects of a stream channel no-ops (see the module doc)."""
    # pika's BlockingChannel rejects (requeue) the deliveries it still holds
    # when a consumer is cancelled, and its Channel rejects deliveries that
    # arrive after that; a stream closes the connection over either.  Both
    # go through the impl channel's basic_reject: a third-party boundary.
    ch._impl.basic_reject = lambda *args, **kwargs: None


def not_a_stream(queue: str) -> UsageError:
    return UsageError(f"queue '{queue}' is not a stream (--offset applies to stream queues)")


def subscribe(ch: Any, queue: str, on_message: Any, offset: Any, **kwargs: Any) -> None:
    """basic.consume attached at `offset`; a queue of another type refuses the
    argument (PRECONDITION_FAILED), said as such."""
    import pika.exceptions

    try:
        ch.basic_consume(queue, on_message, arguments={OFFSET_HEADER: offset}, **kwargs)
    except pika.exceptions.ChannelClosedByBroker as e:
        if e.reply_code == 406 and OFFSET_HEADER in str(e.reply_text):
            raise not_a_stream(queue) from None
        raise


def stream_end(client: RabbitClient, queue: str, *, first_wait: float = 1.0, quiet: float = 0.2) -> int | None:
    """The offset of the last message in stream `queue` now (None: it is empty),
    for -e.  Attaches at `last` (the start of the last chunk) and reads until
    nothing more comes for `quiet` seconds; an empty stream sends nothing
    within `first_wait`.  UsageError when `queue` is not a stream (what was
    delivered goes back to it untouched: nothing is acknowledged first)."""
    conn = client.connection
    last: int | None = None
    arrived = 0.0
    plain = False  # a delivery without an offset: not a stream
    widened = False

    def on_message(ch: Any, method: Any, props: Any, _body: bytes) -> None:
        nonlocal last, arrived, plain
        offset = offset_of(props.headers)
        if offset is None:
            plain = True
            return
        last = offset if last is None else max(last, offset)
        arrived = time.monotonic()
        ch.basic_ack(method.delivery_tag)  # credit for the rest of the chunk

    with amqp_errors(client, what=f"queue '{queue}'"):
        ch = conn.channel()
        quiet_rejects(ch)
        try:
            # One message at first: a queue that turns out not to be a stream
            # gets one delivery back, not a prefetch's worth.
            ch.basic_qos(prefetch_count=1)
            subscribe(ch, queue, on_message, "last")
            start = time.monotonic()
            while True:
                conn.process_data_events(time_limit=0.05)
                now = time.monotonic()
                if plain:
                    raise not_a_stream(queue)
                if last is None:
                    if now - start > first_wait:
                        break
                    continue
                if not widened:
                    # A stream: read the rest of the chunk with more credit.
                    widened = True
                    ch.basic_qos(prefetch_count=1000)
                    subscribe(ch, queue, on_message, last + 1)
                elif now - arrived > quiet:
                    break
        finally:
            try:
                if ch.is_open:
                    ch.close()
            except Exception:  # the probe's channel only; the run goes on (or reports its own error)
                pass
    return last
