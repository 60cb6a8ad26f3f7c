"""librdkafka client settings from a profile, and the mapping of its errors
to mqcli's typed errors, without confluent-kafka: shared by the librdkafka
engine (client.py, on confluent-kafka's KafkaError) and the native engine
(mqcli_native hands back librdkafka's codes and texts as NativeError), so
both say the same words with the same exit codes.

librdkafka never gives up on a broker by itself: a refused connection, bad
SASL credentials or a certificate that does not verify are reported through
`error_cb` while it keeps retrying.  `Diagnosis` collects those reports, and
`wait_for_metadata` turns them into one ConnectionFailed within the profile's
connect timeout (at once for definite verdicts: credentials and
certificates do not heal by retrying).
"""

from __future__ import annotations

import builtins
import functools
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from mqcli.core.errors import ConfigError, ConnectionFailed, MqcliError, NotFound, TimeoutExpired
from mqcli.core.kafka.common import heartbeat_ms, sasl_credentials, session_ms

if TYPE_CHECKING:
    import logging

    from mqcli.core.config import KafkaSettings
    from mqcli.core.kafka.common import ProduceOptions

# librdkafka's error codes (rdkafka.h; confluent-kafka's KafkaError constants
# are these numbers), as ints so that this module needs no client library.
_AUTHENTICATION = -169
_SSL = -181
_ALL_BROKERS_DOWN = -187
_TRANSPORT = -195
_TIMED_OUT = -185
_UNKNOWN_TOPIC = -188
_UNKNOWN_PARTITION = -190
UNKNOWN_TOPIC_OR_PART = 3
TOPIC_AUTHORIZATION_FAILED = 29
GROUP_AUTHORIZATION_FAILED = 30
CLUSTER_AUTHORIZATION_FAILED = 31
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
SASL_AUTHENTICATION_FAILED = 58
UNKNOWN_TOPIC_ID = 100


class RdError(Protocol):
    """What mqcli reads of a librdkafka error: confluent-kafka's KafkaError, or NativeError."""

    def code(self) -> int: ...
    def name(self) -> builtins.str: ...
    def fatal(self) -> bool: ...
    def str(self) -> builtins.str: ...


class NativeError:
    """A librdkafka error as mqcli_native hands it back: (code, name, text)."""

    def __init__(self, code: int, name: str | None, text: str, fatal: bool = False) -> None:
        self._code, self._name, self._text, self._fatal = code, name or str(code), text, fatal

    def code(self) -> int:
        return self._code

    def name(self) -> builtins.str:
        return self._name

    def fatal(self) -> bool:
        return self._fatal

    def str(self) -> builtins.str:
        return self._text


class TopicMetadata:
    """One topic of a Metadata answer (as confluent-kafka's TopicMetadata is read here)."""

    __slots__ = ("error", "partitions")

    def __init__(self, error: RdError | None, partitions: list[int]) -> None:
        self.error = error
        self.partitions = partitions


class Metadata:
    """A metadata answer from mqcli_native: topic name -> (error, partition ids)."""

    __slots__ = ("topics",)

    def __init__(self, topics: dict[str, tuple[RdError | None, list[int]]]) -> None:
        self.topics = {name: TopicMetadata(err, parts) for name, (err, parts) in topics.items()}


class RequestFailed(Exception):
    """A metadata request's error (wait_for_metadata's `fetch` raises it)."""

    def __init__(self, error: RdError) -> None:
        super().__init__(error.str())
        self.error = error


@functools.cache
def _logger() -> logging.Logger:
    """Where librdkafka's own log lines go (confluent-kafka's clients); silent
    unless --debug adds a handler.  Made on first use: the native engine's
    clients log nowhere in Python, and logging is a start-up cost."""
    import logging

    log = logging.getLogger("mqcli.librdkafka")
    log.propagate = False
    log.setLevel(logging.WARNING)
    # Without a handler of its own, Python's last-resort handler would print
    # librdkafka's retry warnings ("Coordinator load in progress") on stderr.
    log.addHandler(logging.NullHandler())
    return log


_debug_enabled = False
_DEBUG_CONTEXTS = "generic,broker,security,protocol,cgrp,topic,metadata"


def enable_library_logs(stream: Any, secrets: list[str]) -> Callable[[], None]:
    """Show librdkafka's own log lines (for --debug), passwords masked; returns
    the function that turns them off.  Applies to clients created afterwards."""
    from mqcli.core.logs import show_library_logs

    global _debug_enabled
    hide = show_library_logs(_logger().name, "librdkafka", stream, secrets)
    _debug_enabled = True

    def disable() -> None:
        global _debug_enabled
        hide()
        _debug_enabled = False

    return disable


class Diagnosis:
    """The connection problems one client reported (through error_cb)."""

    def __init__(self) -> None:
        self.errors: list[RdError] = []
        self.fatal: RdError | None = None
        # An OAuth token that expired and could not be refreshed (set by the token
        # callback, which runs on librdkafka's thread): the client cannot sign in again.
        self.oauth_failure: MqcliError | None = None

    def __call__(self, err: RdError) -> None:
        if err.fatal() and self.fatal is None:
            self.fatal = err
        self.errors.append(err)
        del self.errors[:-20]  # a retrying client reports the same failure again and again

    def best(self) -> RdError | None:
        """The report that explains the most: a verdict beats a symptom."""
        ranked = sorted(self.errors, key=_rank, reverse=True)
        return ranked[0] if ranked else None

    def definite(self) -> RdError | None:
        """A failure retrying cannot fix (credentials, certificates)."""
        best = self.best()
        return best if best is not None and _rank(best) >= 4 else None


def _rank(err: RdError) -> int:
    code = err.code()
    text = err.str()
    if code == _AUTHENTICATION or "certificate verify failed" in text:
        return 4
    if code == _SSL:
        return 3
    if "Connection refused" in text:
        return 2
    if code == _ALL_BROKERS_DOWN:
        return 0
    return 1


def servers(settings: KafkaSettings) -> str:
    return ",".join(settings.bootstrap_servers)


def _where(settings: KafkaSettings, profile: str | None) -> str:
    return servers(settings) + (f" (profile {profile})" if profile else "")


RECONNECT_BACKOFF_MS = 10


def client_config(settings: KafkaSettings, diagnosis: Diagnosis, python: bool = True) -> dict[str, Any]:
    """librdkafka settings shared by producer, consumer and admin clients;
    with `python` (confluent-kafka's clients) its Python callbacks too (the
    native engine's clients take librdkafka's settings only)."""
    timeout_ms = max(int(settings.connect_timeout * 1000), 100)
    cfg: dict[str, Any] = {
        "bootstrap.servers": servers(settings),
        "client.id": settings.client_id or "mqcli",
        "security.protocol": settings.security_protocol.lower(),
        "socket.connection.setup.timeout.ms": max(timeout_ms, 1000),
        # A new client connects to the bootstrap address, then again to the
        # broker its metadata names, and librdkafka waits half its reconnect
        # backoff before that second connection: 50 ms of librdkafka's
        # default 100, in every run of a one-message command (half its time
        # with the broker).  The backoff after failures still doubles up to
        # reconnect.backoff.max.ms (10 s).
        "reconnect.backoff.ms": RECONNECT_BACKOFF_MS,
        # Let the Python logger see warnings (and everything with --debug).
        "log_level": 7 if _debug_enabled else 4,
    }
    if python:
        cfg["error_cb"] = diagnosis
        cfg["logger"] = _logger()
    if _debug_enabled:
        cfg["debug"] = _DEBUG_CONTEXTS
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        tls = settings.tls
        for label, path in (("ca", tls.ca), ("cert", tls.cert), ("key", tls.key)):
            if path and not os.path.isfile(os.path.expanduser(path)):
                raise ConfigError(f"kafka tls {label} file not found: {path}")
        # Without tls.ca, the system's CA store (as kafka-python's load_default_certs).
        cfg["ssl.ca.location"] = os.path.expanduser(tls.ca) if tls.ca else "probe"
        if tls.cert:
            cfg["ssl.certificate.location"] = os.path.expanduser(tls.cert)
        if tls.key:
            cfg["ssl.key.location"] = os.path.expanduser(tls.key)
        if tls.key_password:
            cfg["ssl.key.password"] = tls.key_password
        cfg["enable.ssl.certificate.verification"] = bool(tls.verify)
        # Verify the host name too, as Python's default TLS context does; off
        # only with the explicit tls.verify: false.
        cfg["ssl.endpoint.identification.algorithm"] = "https" if tls.verify else "none"
    if settings.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        if not settings.sasl_mechanism:
            raise ConfigError(f"kafka security_protocol {settings.security_protocol} needs a sasl_mechanism")
        cfg["sasl.mechanisms"] = settings.sasl_mechanism
        if settings.sasl_mechanism == "OAUTHBEARER":
            cfg["oauth_cb"] = _oauth_cb(settings, diagnosis)
        else:
            cfg["sasl.username"], cfg["sasl.password"] = sasl_credentials(settings)
    return cfg


def producer_config(
    settings: KafkaSettings, options: ProduceOptions, diagnosis: Diagnosis, python: bool = True
) -> dict[str, Any]:
    """librdkafka's producer settings for `options` (both engines produce with
    them; `python` as for client_config)."""
    delivery_ms = max(int(options.delivery_timeout * 1000), 1000)
    linger = 0 if options.sync else max(options.linger_ms, 0)
    cfg = client_config(settings, diagnosis, python)
    cfg.update(
        {
            "acks": options.acks,
            # Idempotence needs acks=all; with acks 0/1 it is off rather than
            # an error, as with the kafka-python engine.
            "enable.idempotence": options.idempotence and options.acks == "all",
            "compression.type": options.compression,
            "linger.ms": linger,
            "delivery.timeout.ms": delivery_ms,
            "request.timeout.ms": max(min(30000, delivery_ms - linger - 1), 500),
            # Our window is the bound; librdkafka's queue only has to hold it.
            "queue.buffering.max.messages": max(options.max_in_flight + 1000, 1000),
            "queue.buffering.max.kbytes": max(options.max_in_flight_bytes // 1024 + 1024, 4096),
            # The Java client's (and kafka-python's) partitioner: the same key
            # lands in the same partition whichever engine sent it.
            "partitioner": "murmur2_random",
            "allow.auto.create.topics": False,
        }
    )
    if options.batch_size is not None:
        cfg["batch.size"] = max(options.batch_size, 1)
    return cfg


_PLACEHOLDER_GROUP = "mqcli-no-group"  # librdkafka wants a group.id; a consumer that only assigns never joins it
# librdkafka stops fetching a partition while queued.min.messages (100,000) of
# it wait in the local queue, then waits fetch.queue.backoff.ms (1 s by
# default) before the next fetch -- although mqcli drains that queue in about
# 0.1 s.  Reading a backlog then stalls for most of every second (1M messages:
# 8.8 s instead of 1 s).
_FETCH_QUEUE_BACKOFF_MS = 10
# ...and with so short a backoff, 20,000 queued messages keep it just as busy:
# peak RSS stays ~58 MB reading 100k or 1M messages (100,000: 65 -> 89 MB).
_QUEUED_MIN_MESSAGES = 20_000


def consumer_config(
    settings: KafkaSettings, diagnosis: Diagnosis, extra: dict[str, Any], python: bool = True
) -> dict[str, Any]:
    """librdkafka's settings for a consumer (both engines consume with them;
    `python` as for client_config)."""
    cfg = client_config(settings, diagnosis, python)
    cfg.update(
        {
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "fetch.queue.backoff.ms": _FETCH_QUEUE_BACKOFF_MS,
            "queued.min.messages": _QUEUED_MIN_MESSAGES,
            "fetch.wait.max.ms": int(settings.consumer.fetch_max_wait_ms),
            "auto.offset.reset": settings.consumer.auto_offset_reset,
            "allow.auto.create.topics": False,
            "group.id": _PLACEHOLDER_GROUP,
            # read_committed also makes the watermarks' high mark the last stable offset: -e stops there.
            "isolation.level": settings.consumer.isolation_level,
            "session.timeout.ms": session_ms(settings),
            "heartbeat.interval.ms": heartbeat_ms(settings),
        }
    )
    cfg.update(extra)
    return cfg


def _oauth_cb(settings: KafkaSettings, diagnosis: Diagnosis) -> Callable[[str], tuple[str, float, str]]:
    """librdkafka's OAUTHBEARER token callback, backed by mqcli's token source:
    librdkafka asks again at 80% of the expiry it is given.  A token that expired
    and cannot be refreshed is kept in `diagnosis` for check_fatal: librdkafka
    itself only retries, silently, and a consumer would wait forever."""
    from mqcli.core.oauth import kafka_token_source

    source = kafka_token_source(settings)
    principal = settings.oauth.client_id or "mqcli"

    def oauth_cb(_config: str) -> tuple[str, float, str]:
        try:
            token = source.current()
        except ConnectionFailed as e:
            diagnosis.oauth_failure = e
            raise
        return token.value, token.expires_at, principal

    return oauth_cb


def connection_error(settings: KafkaSettings, profile: str | None, diagnosis: Diagnosis) -> ConnectionFailed:
    """The ConnectionFailed for a failed bootstrap, naming its real cause."""
    where = _where(settings, profile)
    err = diagnosis.best()
    text = err.str() if err is not None else ""
    if err is not None and err.code() == _AUTHENTICATION and settings.sasl_mechanism == "OAUTHBEARER":
        from mqcli.core.oauth import broker_refused

        return broker_refused(where, settings)
    if err is not None and err.code() == _AUTHENTICATION:
        mech = settings.sasl_mechanism or "SASL"
        return ConnectionFailed(
            f"Kafka authentication failed at {where}: invalid credentials for {mech} user {settings.username!r}",
            hint="check username/password and sasl_mechanism in the profile",
        )
    if "certificate verify failed" in text:
        detail = (
            text.split("certificate verify failed", 1)[1].lstrip(": ").split(",", 1)[0].split(" (after", 1)[0].strip()
        )
        return ConnectionFailed(
            f"TLS certificate of Kafka at {where} does not verify: {detail or 'verify failed'}",
            hint="set tls.ca to the CA that signed the broker certificate",
        )
    if err is not None and err.code() == _SSL:
        return ConnectionFailed(f"TLS handshake with Kafka at {where} failed: {_tail(text)}")
    if "Connection refused" in text:
        return ConnectionFailed(
            f"cannot connect to Kafka at {where}: connection refused",
            hint="is the broker running? try: mqcli ping --kafka",
        )
    reason = (
        f": {_tail(text)}"
        if text and err is not None and err.code() != _ALL_BROKERS_DOWN
        else f": no answer within {settings.connect_timeout:g}s"
    )
    hint = None
    if settings.security_protocol in ("PLAINTEXT", "SASL_PLAINTEXT"):
        hint = "does the listener expect TLS or SASL? check security_protocol"
    return ConnectionFailed(f"cannot connect to Kafka at {where}{reason}", hint=hint)


def _tail(text: str) -> str:
    """'host:port/bootstrap: Connect to ... failed: X (after 3ms in state Y)' -> 'X'."""
    text = text.split(" (after ", 1)[0]
    if "/bootstrap: " in text:
        text = text.split("/bootstrap: ", 1)[1]
    return text.strip()


def wait_for_metadata(
    fetch: Callable[[float], Any],
    serve: Callable[[], Any],
    settings: KafkaSettings,
    profile: str | None,
    diagnosis: Diagnosis,
) -> Any:
    """Fetch cluster metadata, so a dead or misconfigured broker fails now:
    ConnectionFailed within connect_timeout, sooner for bad credentials or
    certificates.  Returns the metadata.  `fetch(timeout)` asks once (raising
    RequestFailed with the request's error); `serve()` delivers the client's
    error reports to `diagnosis` (raising a mapped error for a fatal one)."""
    deadline = time.monotonic() + max(settings.connect_timeout, 0.1)
    while True:
        left = deadline - time.monotonic()
        try:
            metadata = fetch(max(min(left, 0.5), 0.05))
        except RequestFailed as e:
            if e.error.code() not in (_TRANSPORT, _TIMED_OUT, _ALL_BROKERS_DOWN):
                raise map_code(e.error, settings, profile) from None
        else:
            if _debug_enabled:
                serve()
            return metadata
        serve()
        if diagnosis.definite() is not None or time.monotonic() >= deadline:
            raise connection_error(settings, profile, diagnosis)


# A topic that does not exist, as metadata reports it.
UNKNOWN_TOPIC = (UNKNOWN_TOPIC_OR_PART, _UNKNOWN_TOPIC, UNKNOWN_TOPIC_ID)


def topic_partitions(metadata: Any, topic: str, settings: KafkaSettings, profile: str | None) -> list[int]:
    """Partition ids of `topic` in cluster metadata; NotFound when it does not exist."""
    t = metadata.topics.get(topic)
    if t is not None and t.error is not None and t.error.code() == TOPIC_AUTHORIZATION_FAILED:
        # Kafka hides a topic the principal may not DESCRIBE: not "missing" but denied.
        raise map_code(t.error, settings, profile, topic=topic)
    if t is None or (t.error is not None and t.error.code() in UNKNOWN_TOPIC) or not t.partitions:
        raise NotFound(f"topic {topic!r} does not exist", hint="create it with --create or `mqcli kafka topics create`")
    if t.error is not None:
        raise map_code(t.error, settings, profile, topic=topic)
    return sorted(t.partitions)


def known_partitions(metadata: Any, topic: str) -> list[int]:
    """Partition ids of `topic` in cluster metadata, sorted; [] when it is missing."""
    t = metadata.topics.get(topic)
    if (
        t is None
        or (t.error is not None and t.error.code() in (UNKNOWN_TOPIC_OR_PART, _UNKNOWN_TOPIC, _UNKNOWN_PARTITION))
        or not t.partitions
    ):
        return []
    return sorted(t.partitions)


def check_denied(fetch: Callable[[float], Any], topic: str, settings: KafkaSettings, profile: str | None) -> None:
    """Raise the authorization error when `topic` is hidden because the
    principal may not DESCRIBE it (Kafka leaves such topics out of the
    metadata of every topic; asked for by name it says why).  `fetch(timeout)`:
    the topic's metadata, or None when the request failed (the caller's
    NotFound stands; a broken connection shows on the next request)."""
    md = fetch(max(settings.connect_timeout, 5.0))
    t = md.topics.get(topic) if md is not None else None
    if t is not None and t.error is not None and t.error.code() == TOPIC_AUTHORIZATION_FAILED:
        raise map_code(t.error, settings, profile, topic=topic)


def error_name(err: RdError) -> str:
    """A RdError as kafka-python would name it, where users may grep for it."""
    return kafka_python_name(err.name())


def kafka_python_name(name: str) -> str:
    """librdkafka's name of an error ('MSG_SIZE_TOO_LARGE') as kafka-python's, where users may grep for it."""
    return _NAMES.get(name, name)


_NAMES = {
    "MSG_SIZE_TOO_LARGE": "MessageSizeTooLargeError",
    "_MSG_TIMED_OUT": "KafkaTimeoutError",
    "_TIMED_OUT": "KafkaTimeoutError",
    "UNKNOWN_TOPIC_OR_PART": "UnknownTopicOrPartitionError",
    "_UNKNOWN_TOPIC": "UnknownTopicOrPartitionError",
    "_UNKNOWN_PARTITION": "UnknownTopicOrPartitionError",
    "NOT_ENOUGH_REPLICAS": "NotEnoughReplicasError",
    "RECORD_LIST_TOO_LARGE": "RecordListTooLargeError",
    "INVALID_RECORD": "InvalidRecordError",
    "TOPIC_AUTHORIZATION_FAILED": "TopicAuthorizationFailedError",
}


# librdkafka's names of the authorization errors, as kafka-python names them.
_DENIED_NAMES = {
    "TOPIC_AUTHORIZATION_FAILED": "TopicAuthorizationFailedError",
    "GROUP_AUTHORIZATION_FAILED": "GroupAuthorizationFailedError",
    "CLUSTER_AUTHORIZATION_FAILED": "ClusterAuthorizationFailedError",
    "TRANSACTIONAL_ID_AUTHORIZATION_FAILED": "TransactionalIdAuthorizationFailedError",
}


def describe(err: RdError) -> str:
    """'MessageSizeTooLargeError: Broker: Message size too large'."""
    return f"{error_name(err)}: {err.str()}"


def map_code(
    err: RdError,
    settings: KafkaSettings,
    profile: str | None = None,
    *,
    topic: str | None = None,
    diagnosis: Diagnosis | None = None,
) -> MqcliError:
    """A librdkafka error as the mqcli error a user should see."""
    code = err.code()
    where = _where(settings, profile)
    if code in (
        UNKNOWN_TOPIC_OR_PART,
        _UNKNOWN_TOPIC,
        _UNKNOWN_PARTITION,
        UNKNOWN_TOPIC_ID,
    ):
        what = f"topic {topic!r}" if topic else "topic or partition"
        return NotFound(f"{what} does not exist on {where}")
    if code in (_AUTHENTICATION, SASL_AUTHENTICATION_FAILED):
        return ConnectionFailed(f"Kafka authentication failed at {where}: {err.str()}")
    if code in (
        TOPIC_AUTHORIZATION_FAILED,
        GROUP_AUTHORIZATION_FAILED,
        CLUSTER_AUTHORIZATION_FAILED,
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    ):
        from mqcli.core.kafka.acls import acl_denied

        # An idempotent producer's id needs IDEMPOTENT_WRITE on the cluster (or WRITE on a topic).
        op = "IDEMPOTENT_WRITE" if "idempotence PID" in err.str() else None
        return ConnectionFailed(acl_denied(_DENIED_NAMES.get(err.name(), err.name()), where, topic=topic, operation=op))
    if code in (_TRANSPORT, _ALL_BROKERS_DOWN):
        if diagnosis is not None and diagnosis.errors:
            return connection_error(settings, profile, diagnosis)
        return ConnectionFailed(f"lost connection to Kafka at {where}: {err.str()}")
    if code == _TIMED_OUT:
        return TimeoutExpired(f"Kafka at {where} did not answer in time: {err.str()}")
    return MqcliError(f"Kafka error: {describe(err)}")


def check_fatal(diagnosis: Diagnosis, settings: KafkaSettings, profile: str | None) -> None:
    """Raise for a fatal client error (e.g. an idempotent producer fenced off, an OAuth token that cannot be renewed)."""
    if diagnosis.oauth_failure is not None:
        raise diagnosis.oauth_failure
    if diagnosis.fatal is not None and diagnosis.fatal.name() in _DENIED_NAMES:
        raise map_code(diagnosis.fatal, settings, profile)
    if diagnosis.fatal is not None:
        raise MqcliError(f"Kafka client failed at {_where(settings, profile)}: {describe(diagnosis.fatal)}")
