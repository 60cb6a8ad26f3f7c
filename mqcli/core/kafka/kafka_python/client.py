"""kafka-python client configuration from a profile, and the mapping of
kafka-python's exceptions to mqcli's typed errors.

kafka-python reports every bootstrap failure (refused connection, bad SASL
credentials, a certificate that does not verify) as the same
`KafkaTimeoutError("Unable to bootstrap ...")`; the real cause is only
logged.  `_Diagnosis` keeps the last such log line so the error a user sees
says *why* (and the library's own log lines never reach the terminal).
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import kafka.errors as kerr
from kafka import KafkaAdminClient

from mqcli.core.errors import ConfigError, ConnectionFailed, MqcliError, NotFound, TimeoutExpired
from mqcli.core.kafka.common import sasl_credentials
from mqcli.core.logs import show_library_logs

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings


class _Diagnosis(logging.Handler):
    """Remembers the last connection/authentication/TLS failure kafka-python logged."""

    _MARKERS = (
        "Bootstrap connection to",
        "Connection failed:",
        "Authentication failed",
        "CERTIFICATE_VERIFY_FAILED",
        "ECONNREFUSED",
    )

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._lock_ = threading.Lock()
        self.last: str | None = None
        self.sasl_sent = False  # a SASL authenticate request went out

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a malformed library log call must never break us
            return
        if record.levelno < logging.WARNING:
            if "SaslAuthenticateRequest" in text:
                self.sasl_sent = True
            return
        if any(m in text for m in self._MARKERS):
            with self._lock_:
                # An authentication or TLS failure explains more than the
                # "socket disconnected" that follows it: keep the best one.
                if self.last and _rank(self.last) > _rank(text):
                    return
                self.last = text

    def reset(self) -> None:
        with self._lock_:
            self.last = None
            self.sasl_sent = False


@contextmanager
def bootstrapping() -> Iterator[None]:
    """While a client connects, also watch kafka-python's debug lines: a broker
    that rejects SASL credentials often just closes the connection, and only
    the debug log shows that the credentials had been sent."""
    _DIAG.reset()
    conn_log = logging.getLogger("kafka.net.connection")
    previous = conn_log.level
    if _kafka_log.level > logging.DEBUG:
        conn_log.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        conn_log.setLevel(previous)


def _rank(text: str) -> int:
    """How well a log line explains a failure: a definite verdict beats a symptom."""
    if "Authentication failed" in text or "SaslAuthenticationFailed" in text or "CERTIFICATE_VERIFY_FAILED" in text:
        return 4
    if "SSL" in text or "Handshake failed" in text:
        return 3
    if "ECONNREFUSED" in text:
        return 2
    return 1


_DIAG = _Diagnosis()
_kafka_log = logging.getLogger("kafka")
_kafka_log.addHandler(_DIAG)
# Library chatter ("sending password in the clear", connection retries) is
# not for the user's terminal; --debug still gets it via enable_library_logs.
_kafka_log.propagate = False
_kafka_log.setLevel(logging.WARNING)


def enable_library_logs(stream: Any, secrets: list[str]) -> Callable[[], None]:
    """Show kafka-python's own log lines (for --debug), passwords masked
    (it logs its whole configuration and the SASL bytes at debug level);
    returns the function that turns them off again."""
    return show_library_logs("kafka", "kafka-python", stream, secrets)


def servers(settings: KafkaSettings) -> str:
    return ",".join(settings.bootstrap_servers)


def _where(settings: KafkaSettings, profile: str | None) -> str:
    return servers(settings) + (f" (profile {profile})" if profile else "")


def ssl_context(settings: KafkaSettings) -> ssl.SSLContext:
    """The TLS context for SSL/SASL_SSL: the profile's CA (or the system's),
    an optional client certificate, verification on unless verify: false."""
    tls = settings.tls
    for label, path in (("ca", tls.ca), ("cert", tls.cert), ("key", tls.key)):
        if path and not os.path.isfile(os.path.expanduser(path)):
            raise ConfigError(f"kafka tls {label} file not found: {path}")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if tls.ca:
            ctx.load_verify_locations(os.path.expanduser(tls.ca))
        else:
            ctx.load_default_certs()
        if tls.cert:
            ctx.load_cert_chain(
                os.path.expanduser(tls.cert),
                os.path.expanduser(tls.key) if tls.key else None,
                password=tls.key_password,
            )
    except (ssl.SSLError, OSError) as e:
        raise ConfigError(f"kafka tls files cannot be loaded: {e}") from None
    if not tls.verify:
        # Explicitly asked for (tls.verify: false); never the default.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def client_config(settings: KafkaSettings) -> dict[str, Any]:
    """Connection settings shared by producer, consumer and admin clients."""
    timeout_ms = max(int(settings.connect_timeout * 1000), 100)
    cfg: dict[str, Any] = {
        "bootstrap_servers": list(settings.bootstrap_servers),
        "security_protocol": settings.security_protocol,
        "bootstrap_timeout_ms": timeout_ms,
    }
    if settings.client_id:
        cfg["client_id"] = settings.client_id
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        cfg["ssl_context"] = ssl_context(settings)
    if settings.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        if not settings.sasl_mechanism:
            raise ConfigError(f"kafka security_protocol {settings.security_protocol} needs a sasl_mechanism")
        cfg["sasl_mechanism"] = settings.sasl_mechanism
        if settings.sasl_mechanism == "OAUTHBEARER":
            cfg["sasl_oauth_token_provider"] = _token_provider(settings)
        else:
            cfg["sasl_plain_username"], cfg["sasl_plain_password"] = sasl_credentials(settings)
    return cfg


def _token_provider(settings: KafkaSettings) -> Any:
    """kafka-python's OAUTHBEARER token provider, backed by mqcli's token source
    (asked at every (re-)authentication; it fetches a new token before expiry)."""
    from kafka.net.sasl.oauth import AbstractTokenProvider

    from mqcli.core.oauth import TokenSource, kafka_token_source

    class TokenProvider(AbstractTokenProvider):  # type: ignore[misc]  # kafka-python is untyped
        def __init__(self, source: TokenSource) -> None:
            self._source = source

        def token(self) -> str:
            return self._source.token()

        def __repr__(self) -> str:  # kafka-python logs its configuration at debug level
            return f"TokenProvider({self._source!r})"

    return TokenProvider(kafka_token_source(settings))


def connection_error(settings: KafkaSettings, profile: str | None = None) -> ConnectionFailed:
    """The ConnectionFailed for a failed bootstrap, naming its real cause."""
    cause = _DIAG.last or ""
    where = _where(settings, profile)
    oauth = settings.sasl_mechanism == "OAUTHBEARER"
    if oauth and ("Authentication failed" in cause or "SaslAuthenticationFailed" in cause or _DIAG.sasl_sent):
        from mqcli.core.oauth import broker_refused

        return broker_refused(where, settings)
    if "Authentication failed" in cause or "SaslAuthenticationFailed" in cause:
        mech = settings.sasl_mechanism or "SASL"
        return ConnectionFailed(
            f"Kafka authentication failed at {where}: invalid credentials for {mech} user {settings.username!r}",
            hint="check username/password and sasl_mechanism in the profile",
        )
    if "CERTIFICATE_VERIFY_FAILED" in cause or "certificate verify failed" in cause:
        detail = cause.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip()
        return ConnectionFailed(
            f"TLS certificate of Kafka at {where} does not verify: {detail or 'verify failed'}",
            hint="set tls.ca to the CA that signed the broker certificate",
        )
    if _DIAG.sasl_sent and "ECONNREFUSED" not in cause:
        mech = settings.sasl_mechanism or "SASL"
        return ConnectionFailed(
            f"Kafka authentication failed at {where}: the broker closed the connection after the {mech} exchange for user {settings.username!r}",
            hint="check username/password and sasl_mechanism in the profile",
        )
    if "SSL" in cause or "Handshake failed" in cause:
        return ConnectionFailed(f"TLS handshake with Kafka at {where} failed: {_tail(cause)}")
    if "ECONNREFUSED" in cause:
        return ConnectionFailed(
            f"cannot connect to Kafka at {where}: connection refused",
            hint="is the broker running? try: mqcli ping --kafka",
        )
    reason = f": {_tail(cause)}" if cause else f": no answer within {settings.connect_timeout:g}s"
    hint = None
    if "socket disconnected" in cause and settings.security_protocol in ("PLAINTEXT", "SASL_PLAINTEXT"):
        hint = "does the listener expect TLS or SASL? check security_protocol"
    return ConnectionFailed(f"cannot connect to Kafka at {where}{reason}", hint=hint)


def _tail(text: str) -> str:
    for marker in ("failed: ", "Connection failed: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.split(" (backoff", 1)[0].strip()


def map_error(
    e: BaseException, settings: KafkaSettings, profile: str | None = None, *, topic: str | None = None
) -> MqcliError:
    """A kafka-python exception as the mqcli error a user should see."""
    if isinstance(e, MqcliError):
        return e
    text = str(e)
    if "Unable to bootstrap" in text or type(e).__name__ == "NoBrokersAvailable":
        return connection_error(settings, profile)
    if isinstance(e, kerr.SaslAuthenticationFailedError):
        return ConnectionFailed(f"Kafka authentication failed at {_where(settings, profile)}: {text}")
    if isinstance(e, (kerr.UnknownTopicOrPartitionError, kerr.UnknownTopicIdError)):
        what = f"topic {topic!r}" if topic else "topic or partition"
        return NotFound(f"{what} does not exist on {_where(settings, profile)}")
    if isinstance(e, kerr.AuthorizationError):
        from mqcli.core.kafka.acls import acl_denied

        return ConnectionFailed(acl_denied(type(e).__name__, _where(settings, profile), topic=topic))
    if isinstance(e, kerr.KafkaTimeoutError):
        return TimeoutExpired(f"Kafka at {_where(settings, profile)} did not answer in time: {text}")
    if isinstance(e, kerr.KafkaConnectionError):
        return ConnectionFailed(f"lost connection to Kafka at {_where(settings, profile)}: {text}")
    if isinstance(e, kerr.KafkaError):
        return MqcliError(f"Kafka error: {type(e).__name__}: {text}")
    raise e


@contextmanager
def kafka_errors(settings: KafkaSettings, profile: str | None = None, *, topic: str | None = None) -> Iterator[None]:
    """Turn kafka-python exceptions raised inside the block into mqcli errors."""
    try:
        yield
    except kerr.KafkaError as e:
        raise map_error(e, settings, profile, topic=topic) from None


def admin_client(settings: KafkaSettings, profile: str | None = None) -> KafkaAdminClient:
    """A connected admin client, or ConnectionFailed within connect_timeout."""
    cfg = client_config(settings)
    # Admin requests are small; waiting longer than a few connect timeouts
    # for an answer only hides a broken cluster.
    cfg["request_timeout_ms"] = max(int(settings.connect_timeout * 1000) * 3, 15000)
    try:
        with bootstrapping():
            return KafkaAdminClient(**cfg)
    except kerr.KafkaError as e:
        raise map_error(e, settings, profile) from None


def wait_connected(client: Any, settings: KafkaSettings, profile: str | None = None) -> None:
    """Bootstrap a producer/consumer client now, so a dead broker fails fast."""
    try:
        with bootstrapping():
            client.bootstrap(timeout_ms=max(int(settings.connect_timeout * 1000), 100))
    except kerr.KafkaError as e:
        raise map_error(e, settings, profile) from None
