"""Connections to RabbitMQ (pika BlockingConnection) and error mapping.

Every pika exception that can reach a user is turned into a typed mqcli
error here (`amqp_errors`), so commands never see pika's exception zoo:

* refused / unreachable / TLS handshake / auth failure -> ConnectionFailed (4)
* channel closed 404 NOT_FOUND (passive declare)        -> NotFound (6)
* channel closed 406 PRECONDITION_FAILED                -> MqcliError (1) with a hint
* channel closed 403 ACCESS_REFUSED                     -> ConnectionFailed (4)
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pika
import pika.exceptions as pex
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.adapters.utils.connection_workflow import AMQPConnectorException

from mqcli.core.config import RabbitSettings
from mqcli.core.errors import ConnectionFailed, MqcliError, NotFound
from mqcli.core.rabbit.tls import ssl_context

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, built with less work at import (see mqcli/core/_dataclass.py)
    from mqcli.core._dataclass import dataclass

# A broker that blocks publishers (memory or disk alarm) must not hang mqcli forever.
BLOCKED_CONNECTION_TIMEOUT = 60.0


class PreconditionFailed(MqcliError):
    """The broker refused a declare/bind because existing topology differs (406)."""


class ConnectionLost(ConnectionFailed):
    """An open connection went away (broker shutdown or restart, network,
    missed heartbeats).  Exit 4 like any connection failure; commands with
    --reconnect catch it, reconnect and resume."""


@dataclass(frozen=True)
class ReconnectPolicy:
    """How long to keep trying after a lost connection: `attempts` tries,
    waiting `first` seconds before the first and doubling up to `longest`.
    Bounded on purpose: mqcli never waits forever for a broker."""

    attempts: int = 0
    first: float = 0.5
    longest: float = 5.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        for _ in range(self.attempts):
            yield delay
            delay = min(delay * 2, self.longest)


def _ssl_options(settings: RabbitSettings, host: str) -> pika.SSLOptions | None:
    tls = settings.tls
    if tls is None:
        return None
    return pika.SSLOptions(ssl_context(tls, what="RabbitMQ"), server_hostname=host)


def connection_parameters(settings: RabbitSettings, host: tuple[str, int]) -> pika.ConnectionParameters:
    name, port = host
    timeout = settings.connection_timeout
    return pika.ConnectionParameters(
        host=name,
        port=port,
        virtual_host=settings.vhost,
        credentials=_credentials(settings),
        ssl_options=_ssl_options(settings, name),
        heartbeat=settings.heartbeat,
        connection_attempts=1,
        # socket_timeout covers the TCP connect, stack_timeout the whole
        # TCP + TLS + AMQP handshake: an unreachable broker fails in time.
        socket_timeout=timeout,
        stack_timeout=timeout,
        blocked_connection_timeout=BLOCKED_CONNECTION_TIMEOUT,
        client_properties={"connection_name": "mqcli", "product": "mqcli"},
    )


def _credentials(settings: RabbitSettings) -> pika.PlainCredentials:
    """The user name and password; with an oauth section the OAuth client's id and an
    access token (rabbitmq_auth_backend_oauth2), fetched anew once it nears expiry, so
    every (re)connect signs in with a live token.  A token that cannot be had is a
    ConnectionFailed naming the token endpoint."""
    if settings.oauth.token_url:
        from mqcli.core.oauth import token_source

        token = token_source(settings.oauth, settings.connection_timeout).token()
        return pika.PlainCredentials(settings.oauth.client_id or "", token)
    return pika.PlainCredentials(settings.username, settings.password)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (pika nests the real cause in args)."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop(0)
        if e in seen:
            continue
        seen.append(e)
        for attr in ("exception", "__cause__", "__context__"):
            inner = getattr(e, attr, None)
            if isinstance(inner, BaseException):
                todo.append(inner)
        for arg in getattr(e, "args", ()):
            if isinstance(arg, BaseException):
                todo.append(arg)
    return seen


def describe_connect_error(exc: BaseException) -> tuple[str, str | None]:
    """(short reason, hint) for a failed connection attempt."""
    chain = _chain(exc)
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed: {e.verify_message or e.reason}", "check the profile's tls.ca"
        if isinstance(e, ssl.SSLError):
            return (
                f"TLS handshake failed: {e.reason or e}",
                "check the profile's tls settings and the port (amqps is usually 5671)",
            )
    for e in chain:
        if isinstance(e, (pex.ProbableAuthenticationError, pex.AuthenticationError)):
            return "authentication failed (ACCESS_REFUSED)", "check the profile's username and password"
        if isinstance(e, pex.ProbableAccessDeniedError):
            return "access denied to the virtual host", "check the vhost and the user's permissions"
        if isinstance(e, pex.ConnectionClosedByBroker):
            if e.reply_code == 403:
                return f"authentication failed ({e.reply_text})", "check the profile's username and password"
            if e.reply_code == 530:
                return f"access denied ({e.reply_text})", "check the vhost and the user's permissions"
            return f"closed by the broker: {e.reply_code} {e.reply_text}", None
        if isinstance(e, pex.IncompatibleProtocolError):
            return (
                "the server closed the connection during the AMQP handshake",
                "is this an AMQP port? amqps (TLS) is usually 5671",
            )
        if isinstance(e, ConnectionRefusedError):
            return "connection refused", "is RabbitMQ running? check with: mqcli ping --rabbit"
        if isinstance(e, TimeoutError) or "Timeout" in type(e).__name__:
            return "timed out", None
        if isinstance(e, OSError) and e.strerror:
            return e.strerror.lower(), None
    text = "; ".join(str(e) for e in chain if str(e) and not str(e).startswith("("))
    if "timeout" in repr(chain).lower() or "timed out" in repr(chain).lower():
        return "timed out", None
    return text or type(exc).__name__, None


def _nothing() -> None:
    """The zero-delay timer of RabbitClient.wake: its only effect is to end the wait."""


class RabbitClient:
    """One BlockingConnection to the first host of the profile that answers."""

    def __init__(self, settings: RabbitSettings, *, profile: str | None = None) -> None:
        self.settings = settings
        self.profile = profile
        self.host: tuple[str, int] = settings.hosts[0]
        # A Ctrl-C/SIGTERM that arrived while an --exec command ran: the
        # consume loop settles that command's message first, then raises it.
        self.interrupted: BaseException | None = None
        # Run after every successful reconnect, on the new connection and before
        # the command resumes: re-check or re-declare what it relies on (the new
        # connection may be to another host of the profile, which lacks it).
        # A hook that loses the connection again costs a reconnect attempt.
        self.on_reconnect: list[Callable[[], None]] = []
        self.connection: BlockingConnection = self._connect()

    def where(self) -> str:
        name, port = self.host
        suffix = f" (profile {self.profile})" if self.profile else ""
        return f"{name}:{port}{suffix}"

    def _connect(self) -> BlockingConnection:
        failures: list[str] = []
        hint: str | None = None
        for host in self.settings.hosts:
            try:
                conn = BlockingConnection(connection_parameters(self.settings, host))
            except pex.AMQPError as e:
                reason, hint = describe_connect_error(e)
                if "authentication" in reason and self.settings.oauth.token_url:
                    reason = f"{reason}: the broker refused the OAuth token of client {self.settings.oauth.client_id!r}"
                    hint = "the broker must accept this endpoint's tokens (rabbitmq_auth_backend_oauth2)"
                failures.append(f"{host[0]}:{host[1]}: {reason}")
                # Authentication and TLS errors are the same on every node of a cluster.
                if "authentication" in reason or "TLS" in reason or "access denied" in reason:
                    break
                continue
            except AMQPConnectorException as e:
                # The handshake did not finish within the timeout (a port that accepts
                # TCP but never speaks AMQP), raised by pika outside its AMQPError tree.
                reason, hint = describe_connect_error(e)
                failures.append(f"{host[0]}:{host[1]}: {reason}")
                continue
            except OSError as e:  # ssl errors surface directly, not wrapped by pika
                reason, hint = describe_connect_error(e)
                failures.append(f"{host[0]}:{host[1]}: {reason}")
                if "TLS" in reason:
                    break
                continue
            self.host = host
            return conn
        profile = f" (profile {self.profile})" if self.profile else ""
        raise ConnectionFailed(f"cannot connect to RabbitMQ {'; '.join(failures)}{profile}", hint=hint)

    def channel(self) -> BlockingChannel:
        with amqp_errors(self):
            return self.connection.channel()

    def reconnect(self, policy: ReconnectPolicy, lost: ConnectionLost, notify: Callable[[str], None]) -> int:
        """Replace the lost connection with a new one to the first host that
        answers, waiting between attempts as `policy` says, and run the
        `on_reconnect` hooks on it; returns the number of attempts it took.
        Raises ConnectionLost (exit 4) when every attempt failed, or when the
        policy allows none."""
        self.close()
        last: ConnectionFailed | None = None
        for attempt, delay in enumerate(policy.delays(), 1):
            notify(f"{lost.message}; reconnecting in {delay:g}s (attempt {attempt}/{policy.attempts})")
            time.sleep(delay)
            try:
                self.connection = self._connect()
                for hook in self.on_reconnect:
                    hook()
            except ConnectionFailed as e:
                self.close()
                last = e
                lost = ConnectionLost(e.message, hint=e.hint)
                continue
            notify(f"reconnected to RabbitMQ at {self.where()}")
            return attempt
        if last is None:
            raise lost
        raise ConnectionLost(f"{last.message}; gave up after {policy.attempts} reconnect attempt(s)", hint=last.hint)

    def wake(self) -> None:
        """End the process_data_events() this connection is in, once its
        current read is handled.

        BlockingConnection.process_data_events(time_limit) returns early only
        for its own events (consumer deliveries it dispatched, timers), not
        for frames handled by callbacks on the asynchronous channel (publisher
        confirms) or by mqcli's own delivery reader, so those would leave it
        sleeping for the whole time limit.  A zero-delay timer is such an
        event: pika runs timers right after the I/O that delivered the frame,
        in the same loop iteration, and then returns.  call_later is public
        and costs no system call (add_callback_threadsafe writes to a pipe)."""
        if self.connection.is_open:
            self.connection.call_later(0, _nothing)

    def server_properties(self) -> dict[str, Any]:
        # The server's connection.start properties (product, version, ...).
        return dict(self.connection._impl.server_properties or {})

    def close(self) -> None:
        try:
            if self.connection.is_open:
                self.connection.close()
        except Exception:  # closing after a failure must never mask the real error
            pass

    def __enter__(self) -> RabbitClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- passive checks (each on a throw-away channel: a failed passive declare closes it)
    def queue_info(self, queue: str) -> tuple[int, int]:
        """(ready messages, consumers) of an existing queue; NotFound when missing."""
        with amqp_errors(self, what=f"queue '{queue}'"):
            ch = self.connection.channel()
            try:
                ok = ch.queue_declare(queue, passive=True)
            finally:
                _close_quietly(ch)
        return ok.method.message_count, ok.method.consumer_count

    def check_exchange(self, exchange: str) -> None:
        if exchange == "" or exchange.startswith("amq."):
            return  # the default and built-in exchanges always exist
        with amqp_errors(self, what=f"exchange '{exchange}'"):
            ch = self.connection.channel()
            try:
                ch.exchange_declare(exchange, passive=True)
            finally:
                _close_quietly(ch)


def _close_quietly(ch: BlockingChannel) -> None:
    try:
        if ch.is_open:
            ch.close()
    except Exception:
        pass


def connect(settings: RabbitSettings, *, profile: str | None = None) -> RabbitClient:
    return RabbitClient(settings, profile=profile)


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def ping(settings: RabbitSettings) -> str:
    """'127.0.0.1:5672 vhost / RabbitMQ 3.10.8'; ConnectionFailed within the connect timeout."""
    with RabbitClient(settings) as client:
        props = client.server_properties()
        product = _text(props.get("product", "RabbitMQ"))
        version = _text(props.get("version", "?"))
        name, port = client.host
        return f"{name}:{port} vhost {settings.vhost} {product} {version}"


@contextmanager
def amqp_errors(client: RabbitClient | None, *, what: str | None = None) -> Iterator[None]:
    """Turn pika exceptions raised inside into mqcli errors."""
    where = client.where() if client is not None else "RabbitMQ"
    try:
        yield
    except pex.ChannelClosedByBroker as e:
        raise channel_error(e.reply_code, e.reply_text, what=what, where=where) from None
    except (pex.ChannelWrongStateError, pex.ConnectionWrongStateError) as e:
        # Using a channel or connection that went away underneath: report the
        # loss of the connection when that is what happened.
        if client is not None and not client.connection.is_open:
            raise ConnectionLost(f"connection to RabbitMQ at {where} lost") from None
        raise MqcliError(f"RabbitMQ channel closed: {e or type(e).__name__}") from None
    except pex.ConnectionBlockedTimeout:
        raise ConnectionFailed(
            f"RabbitMQ at {where} blocked publishing for {BLOCKED_CONNECTION_TIMEOUT:.0f}s (resource alarm)",
            hint="the broker is low on memory or disk",
        ) from None
    except pex.ConnectionClosedByBroker as e:
        if e.reply_code == 503 and "exchange type" in (e.reply_text or ""):
            raise MqcliError(
                f"RabbitMQ refused: {e.reply_text}", hint="is the plugin providing this exchange type enabled?"
            ) from None
        if e.reply_code == 320:  # CONNECTION_FORCED: broker shutdown or an operator closed it
            raise ConnectionLost(f"RabbitMQ at {where} closed the connection: {e.reply_code} {e.reply_text}") from None
        if e.reply_code in (403, 530):  # auth, vhost access
            raise ConnectionFailed(
                f"RabbitMQ at {where} closed the connection: {e.reply_code} {e.reply_text}"
            ) from None
        # Protocol-level refusals (540 NOT_IMPLEMENTED, 503 COMMAND_INVALID, ...): the request was wrong.
        raise MqcliError(f"RabbitMQ refused: {e.reply_code} {e.reply_text}") from None
    except pex.AMQPHeartbeatTimeout:
        raise ConnectionLost(f"connection to RabbitMQ at {where} lost: heartbeat timeout") from None
    except (pex.StreamLostError, pex.ConnectionClosed) as e:
        raise ConnectionLost(f"connection to RabbitMQ at {where} lost: {_stream_lost_reason(e)}") from None
    except pex.ChannelClosed as e:
        raise MqcliError(f"RabbitMQ channel closed: {e}") from None
    except pex.AMQPConnectionError as e:
        reason, hint = describe_connect_error(e)
        raise ConnectionFailed(f"RabbitMQ at {where}: {reason}", hint=hint) from None


def _stream_lost_reason(exc: BaseException) -> str:
    """'connection reset by peer' from pika's "Stream connection lost: ConnectionResetError(104, 'Connection reset by peer')"."""
    text = str(exc)
    m = re.search(r"Error\(\d+, '([^']+)'\)", text)
    return m.group(1).lower() if m else text


def channel_error(code: int, text: str, *, what: str | None = None, where: str = "RabbitMQ") -> MqcliError:
    text = text or ""
    if code == 404:
        # "NOT_FOUND - no queue 'x' in vhost '/'"
        detail = text.split(" - ", 1)[-1]
        return NotFound(detail)
    if code == 406:
        return PreconditionFailed(
            f"RabbitMQ refused: {text}",
            hint="it already exists with different settings: use it as it is, or delete it first",
        )
    if code == 403:
        return ConnectionFailed(f"access refused by RabbitMQ at {where}: {text}", hint="check the user's permissions")
    if code == 405:
        return MqcliError(f"RabbitMQ refused: {text}", hint="an exclusive queue is in use by another connection")
    return MqcliError(f"RabbitMQ closed the channel: {code} {text}")
