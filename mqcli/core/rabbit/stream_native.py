"""RabbitMQ streams over the native stream protocol (`--stream-engine native`).

The `rabbitmq_stream` plugin serves streams on their own port (5552) with a
binary protocol of its own: a consumer subscribes at an offset specification
(first, last, next, an offset, a timestamp in milliseconds) and the broker
sends whole chunks -- each with its first offset and the time it was written
-- as long as the consumer has credit.  Nothing is acknowledged.  The client
library is rstream (`pip install 'mqcli[streams]'`), asyncio-based: its loop
runs on a helper thread (`_Session`) that hands the messages to the calling
thread through a bounded queue, so the consume loop, --exec commands and
signals stay on the main thread, as with the AMQP engine.

Messages in a stream are AMQP 1.0 messages.  One published over AMQP 0.9.1
was converted by RabbitMQ (basic properties -> AMQP 1.0 properties and
`x-basic-*` annotations, headers -> application properties); `to_message`
maps them back, so both engines give the same `Message` for it, and
`amqp_message` does the same conversion for publishing.

Nothing here imports rstream at module level: only the paths that use it do.
"""

from __future__ import annotations

import asyncio
import datetime
import queue as queue_mod
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mqcli.core.errors import ConfigError, ConnectionFailed, MqcliError, TimeoutExpired, UsageError
from mqcli.core.message import Message
from mqcli.core.stops import COUNT, END, STOPPED, UNTIL, RunResult, StopTracker

if TYPE_CHECKING:
    from mqcli.core.config import RabbitSettings
    from mqcli.core.delivery import DeliveryReport
    from mqcli.core.rabbit.client import ReconnectPolicy
    from mqcli.core.rabbit.consume import ConsumeSettings, Outcome

AMQP = "amqp"
NATIVE = "native"
ENGINES = (AMQP, NATIVE)
_INSTALL_HINT = "install it with: pip install 'mqcli[streams]' (or choose --stream-engine amqp)"

# A read with -e that got nothing this long after attaching at `last` is reading an empty stream.
END_FIRST_WAIT = 1.0
# ... and the last chunk has arrived when nothing more came for this long.
END_QUIET = 0.2
# -e attached past the end (a time after the last message): nothing will come.
FIRST_WAIT = 2.0
# --until without -e: once TIME has passed, the read is over when nothing arrives for this long.
UNTIL_QUIET = 1.0
# Messages the helper thread may hold for the consume loop (the broker waits meanwhile).
INBOX = 4096
# Chunks the broker may send ahead (credit); rstream gives one back per chunk received.
CREDIT = 10

# AMQP 0.9.1 basic properties RabbitMQ keeps in AMQP 1.0 message annotations
# (priority, delivery mode, expiration) or application properties (type, app id,
# cluster id) when it stores a 0.9.1 message in a stream.
_ANNOTATED = {
    "x-basic-priority": "priority",
    "x-basic-delivery-mode": "delivery_mode",
    "x-basic-expiration": "expiration",
}
_APP_PROPS = {"x-basic-type": "type", "x-basic-app-id": "app_id", "x-basic-cluster-id": "cluster_id"}
# AMQP 1.0 properties that are AMQP 0.9.1 basic properties of the same name.
_SAME = ("message_id", "correlation_id", "content_type", "content_encoding", "reply_to", "user_id")


def available() -> bool:
    """Whether rstream imports."""
    import importlib

    try:
        importlib.import_module("rstream")
    except ImportError:
        return False
    return True


def resolve(settings: RabbitSettings, requested: str | None = None) -> str:
    """The stream engine to use: `--stream-engine`, else $MQCLI_RABBIT_STREAM_ENGINE
    or the profile's `rabbit.stream_engine`, else amqp.  Naming native without rstream
    installed is an error (usage error for the flag, config error otherwise)."""
    if requested is not None:
        name = requested.strip().lower()
        if name not in ENGINES:
            raise UsageError(f"invalid --stream-engine {requested!r} (use {' or '.join(ENGINES)})")
        if name == NATIVE and not available():
            raise UsageError(
                "--stream-engine native needs the rstream package, which is not installed", hint=_INSTALL_HINT
            )
        return name
    name = settings.stream_engine or AMQP
    if name == NATIVE and not available():
        raise ConfigError(
            "rabbit.stream_engine is native (from $MQCLI_RABBIT_STREAM_ENGINE or the profile) but the rstream package is not installed",
            hint=_INSTALL_HINT,
        )
    return name


# -- AMQP 1.0 <-> Message ------------------------------------------------------------


def _text(value: Any) -> Any:
    """AMQP 1.0 strings come as bytes from rstream's decoder: text when they are UTF-8
    (as pika gives AMQP 0.9.1 strings)."""
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value)
    if isinstance(value, list):
        return [_text(v) for v in value]
    if isinstance(value, dict):
        return {_text(k): _text(v) for k, v in value.items()}
    return value


def to_message(
    body: bytes | None,
    properties: Mapping[str, Any] | None,
    application_properties: Mapping[Any, Any] | None,
    annotations: Mapping[Any, Any] | None,
    *,
    offset: int,
    queue: str,
) -> Message:
    """The Message the AMQP engine gives for the same stream entry: basic properties,
    headers (application properties) and the `x-stream-offset` header, exchange and
    routing key from the annotations RabbitMQ wrote."""
    props: dict[str, Any] = {}
    for name in _SAME:
        v = (properties or {}).get(name)
        if v is not None:
            props[name] = _text(v)
    created = (properties or {}).get("creation_time")
    if isinstance(created, int) and not isinstance(created, bool):
        props["timestamp"] = created // 1000  # AMQP 1.0: milliseconds; 0.9.1: seconds
    notes = {_text(k): v for k, v in (annotations or {}).items()}
    for key, name in _ANNOTATED.items():
        if notes.get(key) is not None:
            props[name] = _text(notes[key])
    headers: list[tuple[str, Any]] = []
    for k, v in (application_properties or {}).items():
        key = _text(k)
        if key in _APP_PROPS:
            props[_APP_PROPS[key]] = _text(v)
        elif key != "x-stream-offset":  # a copied record's old offset: the entry's own wins, as over AMQP
            headers.append((str(key), _text(v)))
    headers.append(("x-stream-offset", offset))
    exchange = notes.get("x-exchange")
    routing_key = notes.get("x-routing-key")
    return Message(
        value=body if body is not None else b"",
        headers=headers,
        offset=offset,
        queue=queue,
        exchange=_text(exchange) if exchange is not None else None,
        routing_key=_text(routing_key) if routing_key is not None else None,
        redelivered=False,
        properties={name: props[name] for name in _property_order() if name in props},
    )


def _property_order() -> tuple[str, ...]:
    from mqcli.core.rabbit.convert import PROPERTY_TYPES

    return tuple(PROPERTY_TYPES)


def amqp_fields(
    msg: Message,
    defaults: Mapping[str, Any],
    default_headers: Iterable[tuple[str, Any]],
    *,
    stream: str,
    generate_message_id: bool = False,
    timestamp_now: bool = False,
) -> dict[str, Any]:
    """What `amqp_message` needs for `msg` as plain values: the AMQP 1.0 properties,
    application properties and message annotations RabbitMQ itself writes for an
    AMQP 0.9.1 message with these basic properties (so either engine reads it back
    the same).  The properties are checked as for an AMQP publish (InputError)."""
    from mqcli.core.rabbit.convert import build_properties

    basic = build_properties(msg, dict(defaults), list(default_headers))  # validates, as the AMQP engine does
    if generate_message_id and basic.message_id is None:
        basic.message_id = str(uuid.uuid4())
    if timestamp_now and basic.timestamp is None:
        basic.timestamp = int(time.time())
    properties: dict[str, Any] = {}
    for name in _SAME:
        v = getattr(basic, name, None)
        if v is not None:
            properties[name] = v.encode() if isinstance(v, str) else v
    if basic.timestamp is not None:
        properties["creation_time"] = int(basic.timestamp) * 1000
    # Where an AMQP 0.9.1 publish to the queue would have come from: the default exchange.
    annotations: dict[str, Any] = {"x-exchange": "", "x-routing-key": stream}
    for key, name in _ANNOTATED.items():
        v = getattr(basic, name, None)
        if v is not None:
            annotations[key] = str(v) if name == "expiration" else v
    application: dict[str, Any] = {}
    for key, name in _APP_PROPS.items():
        v = getattr(basic, name, None)
        if v is not None:
            application[key] = v
    for k, v in (basic.headers or {}).items():
        application[k] = float(v) if type(v).__name__ == "Decimal" else v  # AMQP 1.0 has doubles
    return {"properties": properties, "application_properties": application, "message_annotations": annotations}


# -- where and how to connect ----------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """The stream port of the profile's first RabbitMQ host, and how to sign in."""

    host: str
    port: int
    vhost: str
    username: str
    password: str
    tls: bool

    def where(self) -> str:
        return f"{self.host}:{self.port}"


def endpoint(settings: RabbitSettings) -> Endpoint:
    """From the profile: its first host with `rabbit.stream_port`; with an oauth
    section the OAuth client's id and a current access token (as for AMQP)."""
    host = settings.hosts[0][0]
    username, password = settings.username, settings.password
    if settings.oauth.token_url:
        from mqcli.core.oauth import token_source

        username = settings.oauth.client_id or ""
        password = token_source(settings.oauth, settings.connection_timeout).token()
    return Endpoint(host, settings.stream_port, settings.vhost, username, password, settings.tls is not None)


def _ssl(settings: RabbitSettings) -> Any:
    if settings.tls is None:
        return None
    from mqcli.core.rabbit.tls import ssl_context

    return ssl_context(settings.tls, what="RabbitMQ")


def _connect_error(exc: BaseException, where: str, settings: RabbitSettings) -> MqcliError:
    """A failure to connect or sign in, as the AMQP engine says it (exit 4)."""
    import rstream.exceptions as rex

    if isinstance(exc, rex.AuthenticationFailure):
        reason = "authentication failed"
        hint = "check the profile's username and password"
        if settings.oauth.token_url:
            reason += f": the broker refused the OAuth token of client {settings.oauth.client_id!r}"
            hint = "the broker must accept this endpoint's tokens (rabbitmq_auth_backend_oauth2)"
        return ConnectionFailed(f"cannot connect to RabbitMQ's stream port {where}: {reason}", hint=hint)
    if isinstance(exc, rex.VirtualHostAccessFailure):
        return ConnectionFailed(
            f"cannot connect to RabbitMQ's stream port {where}: access denied to the virtual host",
            hint="check the vhost and the user's permissions",
        )
    if isinstance(exc, ConnectionRefusedError):
        return ConnectionFailed(
            f"cannot connect to RabbitMQ's stream port {where}: connection refused",
            hint="is the rabbitmq_stream plugin enabled (rabbitmq-plugins enable rabbitmq_stream)? rabbit.stream_port names the port",
        )
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return ConnectionFailed(f"cannot connect to RabbitMQ's stream port {where}: timed out")
    if isinstance(exc, OSError):
        return ConnectionFailed(
            f"cannot connect to RabbitMQ's stream port {where}: {(exc.strerror or str(exc)).lower()}"
        )
    return ConnectionFailed(f"RabbitMQ's stream port {where}: {type(exc).__name__} {exc}".rstrip())


class ConnectionLostNative(ConnectionFailed):
    """The stream connection went away during a read (--reconnect may resume)."""


class _StreamMissing(Exception):
    """The stream protocol knows no stream of that name: a missing queue, or one that is not a stream."""


# -- the helper thread ------------------------------------------------------------------

_END = object()


@dataclass
class _Item:
    body: Any  # rstream's AMQPMessage
    offset: int
    timestamp: int  # ms: when the chunk was written


class _Session:
    """One rstream Consumer on a helper thread's event loop, subscribed to a stream
    at an offset specification; what arrives goes into `inbox` (bounded: a slow
    reader holds the broker back), errors and the loss of the connection too."""

    def __init__(self, settings: RabbitSettings, ep: Endpoint, stream: str) -> None:
        self.settings = settings
        self.ep = ep
        self.stream = stream
        self.inbox: queue_mod.Queue[Any] = queue_mod.Queue(INBOX)
        self._loop = asyncio.new_event_loop()
        self._consumer: Any = None
        self._stopping = False
        self._thread = threading.Thread(target=self._loop.run_forever, name="mqcli-stream", daemon=True)
        self._thread.start()

    def _run(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def open(self) -> None:
        import rstream

        async def on_closed(info: Any) -> None:
            if not self._stopping:
                await self._put(
                    ConnectionLostNative(
                        f"connection to RabbitMQ's stream port {self.ep.where()} lost: {getattr(info, 'reason', info)}"
                    )
                )

        async def make() -> Any:
            return rstream.Consumer(
                self.ep.host,
                self.ep.port,
                username=self.ep.username,
                password=self.ep.password,
                vhost=self.ep.vhost,
                ssl_context=_ssl(self.settings),
                heartbeat=self.settings.heartbeat,
                connection_name="mqcli",
                on_close_handler=on_closed,
            )

        self._consumer = self._run(make())

    async def _put(self, item: Any) -> None:
        # Never block the loop (heartbeats, credit): wait for room in small steps.
        while True:
            try:
                self.inbox.put_nowait(item)
                return
            except queue_mod.Full:
                if self._stopping:
                    return
                await asyncio.sleep(0.002)

    def subscribe(self, spec: Any) -> int:
        """Attach at `spec`; raises _StreamMissing, or the connection's error."""
        import rstream
        import rstream.exceptions as rex

        async def on_message(msg: Any, ctx: Any) -> None:
            await self._put(_Item(msg, ctx.offset, ctx.timestamp))

        async def sub() -> int:
            try:
                return int(
                    await self._consumer.subscribe(
                        self.stream,
                        on_message,
                        decoder=rstream.amqp_decoder,
                        offset_specification=spec,
                        initial_credit=CREDIT,
                    )
                )
            except rex.StreamDoesNotExist:
                raise _StreamMissing() from None

        timeout = self.settings.connection_timeout * 2 + 5
        try:
            return int(self._run(asyncio.wait_for(sub(), timeout)))
        except _StreamMissing:
            raise
        except MqcliError:
            raise
        except Exception as e:
            raise _connect_error(e, self.ep.where(), self.settings) from None

    def unsubscribe(self, subscription: int) -> None:
        async def unsub() -> None:
            await self._consumer.unsubscribe(subscription)

        self._run(unsub(), 10)
        while True:  # what was still on its way is not part of the next subscription
            try:
                self.inbox.get_nowait()
            except queue_mod.Empty:
                break

    def close(self) -> None:
        if self._stopping:
            return
        self._stopping = True

        async def shut() -> None:
            if self._consumer is not None:
                await self._consumer.close()

        try:
            if self._thread.is_alive():
                self._run(asyncio.wait_for(shut(), 5), 6)
        except Exception:  # closing after a failure must never mask the real error
            pass
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(2)
            if not self._thread.is_alive():
                self._loop.close()


def offset_spec(start: str | int | datetime.datetime, from_ms: int | None = None) -> Any:
    """rstream's offset specification for --offset (parse_offset's value) or --from (ms)."""
    from rstream import ConsumerOffsetSpecification, OffsetType

    if from_ms is not None:
        return ConsumerOffsetSpecification(OffsetType.TIMESTAMP, from_ms)
    if isinstance(start, datetime.datetime):
        return ConsumerOffsetSpecification(OffsetType.TIMESTAMP, int(start.timestamp() * 1000))
    if isinstance(start, int):
        return ConsumerOffsetSpecification(OffsetType.OFFSET, start)
    kind = {"first": OffsetType.FIRST, "last": OffsetType.LAST, "next": OffsetType.NEXT}[start]
    return ConsumerOffsetSpecification(kind, None)


def _end_of(session: _Session) -> int | None:
    """The stream's last offset now (None: empty): attach at `last` (the last
    chunk) and read until nothing more comes for a moment."""
    sub = session.subscribe(offset_spec("last"))
    last: int | None = None
    deadline = time.monotonic() + END_FIRST_WAIT
    while True:
        wait = deadline - time.monotonic() if last is None else END_QUIET
        if wait <= 0:
            break
        try:
            item = session.inbox.get(timeout=wait)
        except queue_mod.Empty:
            break
        if isinstance(item, BaseException):
            raise item
        last = item.offset if last is None else max(last, item.offset)
    session.unsubscribe(sub)
    return last


# -- consume ----------------------------------------------------------------------------


def consume(
    settings: RabbitSettings,
    rules: ConsumeSettings,
    handle: Callable[[Message], Outcome],
    *,
    flush: Callable[[], None] | None = None,
    from_ms: int | None = None,
    reconnect: ReconnectPolicy | None = None,
    notify: Callable[[str], None] = lambda _t: None,
    exists: Callable[[], None] = lambda: None,
) -> RunResult:
    """Read stream `rules.queue` from `rules.stream_offset` (or `from_ms`) until
    --count, -e (the last offset when the run began), --until (`rules.until_ms`,
    against the chunks' timestamps), --timeout or a STOP outcome, handing each
    matching message to `handle` -- as the AMQP engine's consume() does, with
    the same results and errors.  `flush` is called whenever nothing more is at
    hand.  With `reconnect`, a lost connection is re-opened and the read resumes
    after the last offset it saw.  `exists()` is asked when the stream protocol
    knows no such stream: it raises NotFound for a missing queue (otherwise the
    queue is not a stream: a usage error)."""
    from mqcli.core.rabbit.client import ReconnectPolicy
    from mqcli.core.rabbit.consume import Outcome
    from mqcli.core.rabbit.streams import not_a_stream

    stops: StopTracker[str] = StopTracker(rules)
    result = stops.result
    policy = reconnect or ReconnectPolicy()
    delays = list(policy.delays())
    used = 0  # reconnect attempts since the read last worked
    start: Any = rules.stream_offset if rules.stream_offset is not None else "first"
    next_offset: int | None = None
    end: int | None = None
    end_known = False
    last_arrival = time.monotonic()
    while True:
        ep = endpoint(settings)
        session = _Session(settings, ep, rules.queue)
        try:
            session.open()
            try:
                if rules.exit_at_end and not end_known:
                    end, end_known = _end_of(session), True
                    if end is None or start == "next" or (isinstance(start, int) and start > end):
                        stops.end(END)
                        return result
                spec = offset_spec(next_offset, None) if next_offset is not None else offset_spec(start, from_ms)
                session.subscribe(spec)
            except _StreamMissing:
                exists()
                raise not_a_stream(rules.queue) from None
            if used:
                notify(f"reconnected to RabbitMQ's stream port {ep.where()}")
            used = 0  # attached: a new outage gets the full budget
            subscribed_at = time.monotonic()
            while not stops.reached():
                try:
                    item = session.inbox.get_nowait()
                except queue_mod.Empty:
                    if flush is not None:
                        flush()
                    if stops.idle_left() <= 0:
                        raise TimeoutExpired(
                            f"no {'matching ' if rules.matcher else ''}message from queue '{rules.queue}' within {rules.idle_timeout:g}s"
                            + (f" ({result.handled} of {rules.count} received)" if rules.count else "")
                        ) from None
                    now = time.monotonic()
                    if rules.exit_at_end and next_offset is None and now - subscribed_at > FIRST_WAIT:
                        stops.end(END)  # attached past the end: nothing will come
                        break
                    if (
                        rules.until_ms is not None
                        and time.time() * 1000 > rules.until_ms
                        and now - max(last_arrival, subscribed_at) > UNTIL_QUIET
                    ):
                        stops.end(UNTIL)  # TIME has passed and everything there is was read
                        break
                    try:
                        item = session.inbox.get(timeout=stops.wait(0.2))
                    except queue_mod.Empty:
                        continue
                if isinstance(item, BaseException):
                    raise item
                last_arrival = time.monotonic()
                if rules.exit_at_end and end is not None and item.offset > end:
                    stops.end(END)
                    break
                if rules.until_ms is not None and item.timestamp > rules.until_ms:
                    stops.end(UNTIL)
                    break
                if next_offset is not None and item.offset < next_offset:
                    continue  # a resumed read gets the rest of its first chunk again
                next_offset = item.offset + 1
                last_of_stream = rules.exit_at_end and end is not None and item.offset >= end
                m = item.body
                msg = to_message(
                    m.body if isinstance(m.body, bytes) else _body(m),
                    _props(m.properties),
                    m.application_properties,
                    m.message_annotations,
                    offset=item.offset,
                    queue=rules.queue,
                )
                if not stops.matches(msg):
                    if last_of_stream:
                        stops.end(END)
                        break
                    continue
                stops.touch()
                outcome = handle(msg)
                if outcome is Outcome.ACK:
                    stops.handled()
                else:
                    result.failed += 1
                    if outcome is Outcome.STOP:
                        stops.end(STOPPED)
                        break
                if last_of_stream and not stops.reached():
                    stops.end(END)
                    break
            else:
                stops.end(COUNT)
            if flush is not None:
                flush()
            return result
        except ConnectionFailed as lost:
            # A lost connection, or (while reconnecting) one that cannot be made yet.
            if not (isinstance(lost, ConnectionLostNative) or used) or not delays:
                raise
            if used >= len(delays):
                raise ConnectionLostNative(
                    f"{lost.message}; gave up after {len(delays)} reconnect attempt(s)", hint=lost.hint
                ) from None
            session.close()
            delay = delays[used]
            used += 1
            notify(f"{lost.message}; reconnecting in {delay:g}s (attempt {used}/{len(delays)})")
            time.sleep(delay)
            continue
        finally:
            session.close()


def _body(m: Any) -> bytes:
    """An AMQP 1.0 body that is not a single data section (an amqp-value, several
    data sections) as bytes."""
    body = m.body
    if isinstance(body, list):
        return b"".join(bytes(b) for b in body)
    if isinstance(body, str):
        return body.encode()
    value = getattr(m, "value", None)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return b"" if body is None and value is None else str(body if body is not None else value).encode()


def _props(p: Any) -> dict[str, Any] | None:
    """rstream's AMQP 1.0 Properties (a named tuple) as a dict."""
    if p is None:
        return None
    return {name: getattr(p, name, None) for name in (*_SAME, "creation_time")}


# -- publish ------------------------------------------------------------------------------


def publish(
    settings: RabbitSettings,
    stream: str,
    messages: Iterable[Message],
    report: DeliveryReport,
    *,
    defaults: Mapping[str, Any],
    default_headers: Iterable[tuple[str, Any]],
    generate_message_id: bool = False,
    timestamp_now: bool = False,
    window: int = 256,
    confirm_timeout: float = 30.0,
    exists: Callable[[], None] = lambda: None,
) -> None:
    """Publish `messages` to `stream` over the stream protocol, each confirmed by
    the broker before it is counted (`report.ok`); those not confirmed are
    reported as failed, and DeliveryFailed raised at the end.  At most `window`
    messages await their confirm at once.  The input is read on a helper thread
    (a slow pipe never holds up confirms and heartbeats).  An input error, or
    Ctrl-C/SIGTERM, stops the reading; the confirms of what was sent are awaited
    first (a signal: up to SIGNAL_GRACE seconds), then it is raised."""
    from mqcli.core.errors import DeliveryFailed
    from mqcli.core.rabbit.publish import SIGNAL_GRACE
    from mqcli.core.signals import DeferredSignals

    inbox: queue_mod.Queue[Any] = queue_mod.Queue(max(16, window))

    def read() -> None:
        try:
            for m in messages:
                inbox.put(m)
        except BaseException as e:  # handed to the publishing loop, which raises it
            inbox.put(e)
            return
        inbox.put(_END)

    threading.Thread(target=read, name="mqcli-input", daemon=True).start()
    pending: dict[int, Message] = {}
    failed: list[tuple[Message, str]] = []
    stopped: list[BaseException] = []
    with DeferredSignals() as signals:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(
                _publish(
                    settings,
                    stream,
                    inbox,
                    report,
                    pending,
                    failed,
                    stopped,
                    signals,
                    defaults=defaults,
                    headers=list(default_headers),
                    generate_message_id=generate_message_id,
                    timestamp_now=timestamp_now,
                    window=window,
                    confirm_timeout=SIGNAL_GRACE if signals.received is not None else confirm_timeout,
                )
            )
        except _StreamMissing:
            exists()
            raise UsageError(
                f"queue '{stream}' is not a stream (--stream-engine native publishes to streams)"
            ) from None
        finally:
            loop.close()
            for msg, why in failed:
                report.fail(msg, why)
            for msg in sorted(pending.values(), key=lambda m: m.line or 0):
                report.fail(msg, "no confirm from the broker before mqcli stopped")
        if stopped:
            raise stopped[0]
        signals.raise_received()
    if failed or pending:
        raise DeliveryFailed(f"{len(failed) + len(pending)} message(s) not confirmed by RabbitMQ")


async def _publish(
    settings: RabbitSettings,
    stream: str,
    inbox: queue_mod.Queue[Any],
    report: DeliveryReport,
    pending: dict[int, Message],
    failed: list[tuple[Message, str]],
    stopped: list[BaseException],
    signals: Any,
    *,
    defaults: Mapping[str, Any],
    headers: list[tuple[str, Any]],
    generate_message_id: bool,
    timestamp_now: bool,
    window: int,
    confirm_timeout: float,
) -> None:
    import rstream
    import rstream.exceptions as rex

    ep = endpoint(settings)
    producer = rstream.Producer(
        ep.host,
        ep.port,
        username=ep.username,
        password=ep.password,
        vhost=ep.vhost,
        ssl_context=_ssl(settings),
        heartbeat=settings.heartbeat,
        connection_name="mqcli",
    )
    sent = 0

    async def confirmed(status: Any) -> None:
        msg = pending.pop(status.message_id, None)
        if msg is None:
            return
        if status.is_confirmed:
            report.ok(len(msg.value or b""))
        else:
            failed.append((msg, f"refused by the broker (code {status.response_code})"))

    try:
        try:
            await asyncio.wait_for(producer.start(), settings.connection_timeout * 2 + 5)
            if not await producer.stream_exists(stream):
                raise _StreamMissing()
        except (_StreamMissing, MqcliError):
            raise
        except Exception as e:
            raise _connect_error(e, ep.where(), settings) from None
        while signals.received is None:
            room = window - len(pending)
            if room <= 0:
                await asyncio.sleep(0.001)
                continue
            batch: list[tuple[Message, Any]] = []
            ended = False
            while len(batch) < room:
                try:
                    item = inbox.get_nowait()
                except queue_mod.Empty:
                    break
                if item is _END:
                    report.input_ended = True
                    ended = True
                    break
                if isinstance(item, BaseException):
                    stopped.append(item)  # raised once what was sent before it is confirmed
                    ended = True
                    break
                try:
                    fields = amqp_fields(
                        item,
                        defaults,
                        headers,
                        stream=stream,
                        generate_message_id=generate_message_id,
                        timestamp_now=timestamp_now,
                    )
                except MqcliError as e:  # an invalid property names its line
                    stopped.append(e)
                    ended = True
                    break
                sent += 1
                message = rstream.AMQPMessage(
                    body=item.value or b"",
                    properties=rstream.Properties(**fields["properties"]) if fields["properties"] else None,
                    application_properties=fields["application_properties"] or None,
                    message_annotations=fields["message_annotations"],
                )
                message.publishing_id = sent  # our numbering: the confirms name it
                batch.append((item, message))
            if batch:
                for msg, message in batch:
                    pending[message.publishing_id] = msg
                try:
                    # send_batch sends at once (send() would buffer for up to half a second).
                    await producer.send_batch(stream, [m for _, m in batch], on_publish_confirm=confirmed)
                except rex.StreamDoesNotExist:
                    raise _StreamMissing() from None
                except Exception as e:
                    raise ConnectionFailed(
                        f"RabbitMQ's stream port {ep.where()}: {type(e).__name__} {e}".rstrip()
                    ) from None
                last = batch[-1][0].line
                if last is not None:
                    report.handed_line = last
            if ended:
                break
            if not batch:
                await asyncio.sleep(0.002)
        deadline = time.monotonic() + confirm_timeout
        while pending and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
    finally:
        try:
            await asyncio.wait_for(producer.close(), 5)
        except Exception:  # closing after a failure must never mask the real error
            pass
