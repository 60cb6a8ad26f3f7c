"""The settings, each declared once: type, default, parser (with its choices),
secret or not.

Every key of a profile is a field of one of the dataclasses below, declared
with `setting(...)` (a value) or as a section (a nested mapping).  From
those declarations come the file schema and "did you mean" (`SCHEMA`,
`SETTINGS`), the `MQCLI_*` variable names (`ENV_VARS`), the values that are
secrets (`secret_values`) and the plain data of `config show` (`plain_data`).
The only keys that are not fields are RabbitMQ's address written as `url`,
`host` and `port`: layers.build merges them into `hosts`, `vhost`,
`username`, `password` and `tls`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar
from urllib.parse import quote

from mqcli.core.config import parsers as p
from mqcli.core.errors import MASK

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, built with less work at import (see _dataclass.py)
    from mqcli.core.config._dataclass import dataclass

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ENV_PREFIX = "MQCLI_"

T = TypeVar("T")
D = TypeVar("D", bound="DataclassInstance")


@dataclass(frozen=True)
class Setting:
    """How one key is read (from the file, environment or command line) and shown."""

    parse: Callable[[object], Any]
    secret: bool = False  # masked in `config show`, errors and debug output
    listed: bool = False  # a YAML list, or a comma-separated string
    show: Callable[[Any], Any] | None = None  # typed value -> plain data (YAML/JSON), if not itself

    @property
    def keeps_text(self) -> bool:
        """Whether the YAML text is kept as written: `password: 0123` is "0123", not 83."""
        return self.parse in (p.text, p.file_path)

    @property
    def choices(self) -> tuple[str, ...] | None:
        return self.parse.choices if isinstance(self.parse, p.Choice) else None


_SETTING = "mqcli.setting"
_SECTION = "mqcli.section"


def setting(
    default: T,
    parse: Callable[[object], Any],
    *,
    secret: bool = False,
    listed: bool = False,
    show: Callable[[Any], Any] | None = None,
) -> T:
    """A dataclass field that is a setting (secrets stay out of repr, so out of debug logs)."""
    meta = Setting(parse, secret=secret, listed=listed, show=show)
    return field(default=default, repr=not secret, metadata={_SETTING: meta})


# The metadata of a section field, a nested mapping of settings (its class is
# the field's default_factory): `tls: TlsSettings = field(default_factory=TlsSettings, metadata=SECTION)`.
SECTION: Mapping[str, object] = {_SECTION: None}


def optional_section(cls: type) -> Mapping[str, object]:
    """The metadata of a section that is None unless the profile has it (its presence means something)."""
    return {_SECTION: cls}


def _section_class(f: dataclasses.Field[Any]) -> Any:
    """The settings class of a section field."""
    return f.metadata[_SECTION] or f.default_factory


# -- the settings ------------------------------------------------------------------


@dataclass(frozen=True)
class TlsSettings:
    """TLS files (paths with ~ expanded) and whether to verify the server."""

    ca: str | None = setting(None, p.file_path)
    cert: str | None = setting(None, p.file_path)
    key: str | None = setting(None, p.file_path)
    key_password: str | None = setting(None, p.text, secret=True)
    verify: bool = setting(True, p.boolean)


@dataclass(frozen=True)
class ProducerDefaults:
    acks: str = setting("all", p.Acks())
    compression: str = setting("none", p.Choice("none", "gzip", "snappy", "lz4", "zstd", normalise=str.lower))
    linger_ms: int = setting(5, p.integer(0))
    # Bytes per partition.  None (unset): each engine's own default, kafka-python's
    # 16 KB or librdkafka's 1 MB (which sends ~1.5x faster); a value written in the
    # profile always wins, whatever it is.
    batch_size: int | None = setting(None, p.integer(0))
    idempotence: bool = setting(True, p.boolean)
    delivery_timeout: float = setting(120.0, p.duration)  # seconds
    # --transactional-id: the broker aborts a transaction left open this long.
    transaction_timeout: float = setting(60.0, p.duration)  # seconds


@dataclass(frozen=True)
class ConsumerDefaults:
    max_poll_records: int = setting(500, p.integer(1))
    fetch_max_wait_ms: int = setting(500, p.integer(0))
    auto_offset_reset: str = setting("earliest", p.Choice("earliest", "latest", normalise=str.lower))
    # read_committed: only committed transactions' records, up to the last stable offset.
    isolation_level: str = setting(
        "read_uncommitted", p.Choice("read_uncommitted", "read_committed", normalise=str.lower)
    )
    # A group member silent this long is dropped and its partitions go to the others
    # (Kafka's session.timeout.ms; the broker accepts 6s..30m by default).  After a
    # member is killed, a restarted one waits out this much before it gets them back.
    session_timeout: float = setting(45.0, p.duration)


@dataclass(frozen=True)
class SchemaRegistrySettings:
    """The Confluent-compatible Schema Registry of a Kafka cluster (no url: none)."""

    url: str | None = setting(None, p.http_url)
    username: str | None = setting(None, p.text)
    password: str | None = setting(None, p.text, secret=True)
    tls: TlsSettings = field(default_factory=TlsSettings, metadata=SECTION)  # for an https:// url
    timeout: float = setting(10.0, p.duration)  # seconds per registry request


@dataclass(frozen=True)
class OAuthSettings:
    """An OAuth 2 / OIDC client whose access tokens sign in (client-credentials grant;
    no token_url: no OAuth).  Kafka uses it with sasl_mechanism OAUTHBEARER, RabbitMQ
    sends the token as the password (rabbitmq_auth_backend_oauth2)."""

    token_url: str | None = setting(None, p.oauth_url)
    client_id: str | None = setting(None, p.text)
    client_secret: str | None = setting(None, p.text, secret=True)
    scope: str | None = setting(None, p.text)  # space-separated scopes to ask for; None: the client's defaults


def _upper_underscore(s: str) -> str:
    return s.upper().replace("-", "_")


def _upper_dash(s: str) -> str:
    return s.upper().replace("_", "-")


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: tuple[str, ...] = setting(("localhost:9092",), p.servers, listed=True, show=list)
    client_id: str = setting("mqcli", p.text)
    security_protocol: str = setting(
        "PLAINTEXT", p.Choice("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", normalise=_upper_underscore)
    )
    # None: PLAIN with a SASL_* protocol (see layers.build)
    sasl_mechanism: str | None = setting(
        None, p.Choice("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", normalise=_upper_dash)
    )
    username: str | None = setting(None, p.text)
    password: str | None = setting(None, p.text, secret=True)
    tls: TlsSettings = field(default_factory=TlsSettings, metadata=SECTION)
    connect_timeout: float = setting(5.0, p.duration)  # seconds
    engine: str | None = setting(
        None, p.Choice("kafka-python", "librdkafka", "native", normalise=str.lower)
    )  # None: auto
    producer: ProducerDefaults = field(default_factory=ProducerDefaults, metadata=SECTION)
    consumer: ConsumerDefaults = field(default_factory=ConsumerDefaults, metadata=SECTION)
    schema_registry: SchemaRegistrySettings = field(default_factory=SchemaRegistrySettings, metadata=SECTION)
    oauth: OAuthSettings = field(default_factory=OAuthSettings, metadata=SECTION)  # with sasl_mechanism OAUTHBEARER


def _show_hosts(hosts: tuple[tuple[str, int], ...]) -> list[str]:
    return [p.join_host(h, port) for h, port in hosts]


@dataclass(frozen=True)
class RabbitSettings:
    # A cluster is tried in order.  Parsed as host[:port] texts; layers.build adds the default port.
    hosts: tuple[tuple[str, int], ...] = setting((("localhost", 5672),), p.servers, listed=True, show=_show_hosts)
    vhost: str = setting("/", p.text)
    username: str = setting("guest", p.text)
    password: str = setting("guest", p.text, secret=True)
    tls: TlsSettings | None = field(default=None, metadata=optional_section(TlsSettings))  # None: plain amqp
    heartbeat: int = setting(60, p.whole_seconds)  # seconds
    connection_timeout: float = setting(5.0, p.duration)  # seconds
    # The management plugin's HTTP API; None: derived from the first host (management_endpoint).
    management_url: str | None = setting(None, p.http_url)
    # With a token_url: an access token is the password (and client_id the user name).
    oauth: OAuthSettings = field(default_factory=OAuthSettings, metadata=SECTION)
    # How streams are read and written: AMQP 0.9.1, or the stream protocol (rabbitmq_stream
    # plugin, `mqcli[streams]`) on stream_port of the first host.  None: amqp.
    stream_engine: str | None = setting(None, p.Choice("amqp", "native", normalise=str.lower))
    stream_port: int = setting(5552, p.integer(1, 65535))

    def management_endpoint(self) -> str:
        """The management API's base URL: management_url, else http://<first host>:15672
        (https://<first host>:15671, the plugin's TLS port, when the profile uses TLS)."""
        if self.management_url is not None:
            return self.management_url
        name = self.hosts[0][0]
        if ":" in name:  # IPv6 literal
            name = f"[{name}]"
        return f"https://{name}:15671" if self.tls is not None else f"http://{name}:15672"

    def display_url(self, host: tuple[str, int] | None = None) -> str:
        """amqp[s]://user@host:port/vhost for messages: never the password."""
        name, port = host or self.hosts[0]
        if ":" in name:  # IPv6 literal
            name = f"[{name}]"
        vhost = "" if self.vhost == "/" else quote(self.vhost, safe="")
        scheme = "amqps" if self.tls is not None else "amqp"
        # With OAuth the client id is the user name sent (the token is the password).
        user = self.oauth.client_id if self.oauth.token_url and self.oauth.client_id else self.username
        return f"{scheme}://{quote(user, safe='')}@{name}:{port}/{vhost}"


# RabbitMQ's address may also be written as a URL, or as one host and a port;
# they are not fields: layers.build merges them into the fields above.
RABBIT_ADDRESS: dict[str, Setting] = {
    "url": Setting(p.amqp_url),
    "host": Setting(p.host),
    "port": Setting(p.integer(1, 65535)),
}
# A higher layer's rabbit.url replaces these keys of the lower layers.
URL_PARTS = ("host", "hosts", "port", "vhost", "username", "password")


# -- derived from the declarations ---------------------------------------------------

Schema: TypeAlias = dict[str, "Setting | Schema"]


def _schema(cls: type) -> Schema:
    out: Schema = {}
    for f in dataclasses.fields(cls):
        if _SECTION in f.metadata:
            out[f.name] = _schema(_section_class(f))
        else:
            out[f.name] = f.metadata[_SETTING]
    return out


def _rabbit_schema() -> Schema:
    fields = _schema(RabbitSettings)
    a = RABBIT_ADDRESS
    # The order is the one "expected one of: ..." lists.
    head: Schema = {"url": a["url"], "hosts": fields.pop("hosts"), "host": a["host"], "port": a["port"]}
    return {**head, **fields}


SCHEMA: Schema = {"kafka": _schema(KafkaSettings), "rabbit": _rabbit_schema()}


def _leaves(schema: Schema, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Setting]]:
    for key, sub in schema.items():
        if isinstance(sub, Setting):
            yield prefix + (key,), sub
        else:
            yield from _leaves(sub, prefix + (key,))


# Every key path of a profile, ("kafka", "tls", "ca"), with its declaration.
SETTINGS: dict[tuple[str, ...], Setting] = dict(_leaves(SCHEMA))
# Key names whose values are secrets (for the file-permission warning).
SECRET_KEYS = frozenset(path[-1] for path, s in SETTINGS.items() if s.secret)


def env_var_name(path: tuple[str, ...] | str) -> str:
    """The MQCLI_* variable of a key path: 'kafka.tls.ca' -> 'MQCLI_KAFKA_TLS_CA'."""
    parts = path.split(".") if isinstance(path, str) else path
    return ENV_PREFIX + "_".join(parts).upper().replace("-", "_")


ENV_VARS: dict[str, tuple[str, ...]] = {env_var_name(path): path for path in SETTINGS}


def build_section(cls: type[D], values: Mapping[tuple[str, ...], Any], prefix: tuple[str, ...]) -> D:
    """An instance of a settings class from typed values by key path; defaults for the rest.

    Nested sections are built too, except optional ones (the caller decides those).
    """
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        path = prefix + (f.name,)
        if _SECTION in f.metadata:
            if f.default is not None:  # a section that is always there
                kwargs[f.name] = build_section(_section_class(f), values, path)
        elif path in values:
            kwargs[f.name] = values[path]
    return cls(**kwargs)


def plain_data(settings: DataclassInstance, mask: bool) -> dict[str, Any]:
    """A settings object as plain data (valid profile YAML); secrets as **** when mask."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if _SECTION in f.metadata:
            if value is not None:  # an optional section's presence is what turns it on
                out[f.name] = plain_data(value, mask)
            continue
        meta: Setting = f.metadata[_SETTING]
        if meta.secret and mask and value:
            value = MASK
        elif value is not None and meta.show is not None:
            value = meta.show(value)
        out[f.name] = value
    return out


def secret_values(*settings: DataclassInstance | None) -> Iterator[str]:
    """The values of every secret setting, in declaration order (unset ones left out)."""
    for obj in settings:
        if obj is None:
            continue
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if _SECTION in f.metadata:
                yield from secret_values(value)
            elif f.metadata[_SETTING].secret and value:
                yield value
