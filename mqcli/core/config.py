"""Configuration profiles: where the file is, which profile is used, what it holds.

File lookup (first that applies):
  1. `--config PATH`, then `$MQCLI_CONFIG` -- must exist, else ConfigError;
  2. `./mqcli.yaml`;
  3. `$XDG_CONFIG_HOME/mqcli/config.yaml` (default `~/.config/mqcli/config.yaml`).
With no file at all the built-in profile `local` is used: Kafka at
localhost:9092 and RabbitMQ at amqp://guest:guest@localhost:5672/.

Profile choice: `--profile NAME`, then `$MQCLI_PROFILE`, then the file's
default, which is
  - the top-level `default: NAME` key (must name an existing profile); else
  - the only profile, when the file defines exactly one; else
  - the profile named `default`, if there is one; else
  - none: a ConfigError asks for `default:` or `--profile`.

Precedence of every setting: command-line flag (`Profile.with_overrides`) >
`MQCLI_*` environment variable (from the key path: `kafka.tls.ca` ->
`MQCLI_KAFKA_TLS_CA`; an empty variable counts as unset) > profile >
built-in default.

String values in the file may use `${VAR}`, `${VAR:-default}` (used when VAR
is unset or empty) and `$$` for a literal `$`.  Values from MQCLI_* variables
and flags are taken literally.

RabbitMQ: `url` (amqp:// or amqps://) is read first, then the discrete keys
`host`/`hosts`, `port`, `vhost`, `username`, `password` override its parts.
TLS is on with an amqps:// URL or a `tls:` section (a `tls:` section with an
amqp:// URL is an error); the default port is 5671 with TLS, else 5672.  A
`url` set by an environment variable or flag replaces the whole address
(host, hosts, port, vhost, username, password) of the lower layers, and
if it is amqp:// also their `tls:` section.

Kafka: a SASL_* security protocol without `sasl_mechanism` means PLAIN.

YAML anchors and merge keys (`<<: *base`) work; top-level keys starting with
`x-` are ignored, so they can hold shared anchors.

Every problem is one ConfigError naming the file, line and key path, e.g.
`mqcli.yaml:7: profiles.prod.kafka.bootstrap_server: unknown key (did you mean
bootstrap_servers?)`.  A bad value given to `with_overrides` (a command-line
flag) is a UsageError instead.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mqcli.core.errors import MASK, ConfigError, MqcliError, UsageError
from mqcli.core.parse import parse_duration

BUILTIN_PROFILE = "local"
BUILTIN_SOURCE = "built-in"
LOCAL_FILE = "mqcli.yaml"
ENV_PREFIX = "MQCLI_"

# -- settings ------------------------------------------------------------------


@dataclass(frozen=True)
class TlsSettings:
    """TLS files (paths with ~ expanded) and whether to verify the server."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    key_password: str | None = field(default=None, repr=False)  # repr: never in debug logs
    verify: bool = True


@dataclass(frozen=True)
class ProducerDefaults:
    acks: str = "all"  # '0' | '1' | 'all'
    compression: str = "none"  # none | gzip | snappy | lz4 | zstd
    linger_ms: int = 5
    batch_size: int = 16384  # bytes
    idempotence: bool = True
    delivery_timeout: float = 120.0  # seconds


@dataclass(frozen=True)
class ConsumerDefaults:
    max_poll_records: int = 500
    fetch_max_wait_ms: int = 500
    auto_offset_reset: str = "earliest"  # earliest | latest


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: tuple[str, ...] = ("localhost:9092",)
    client_id: str = "mqcli"
    security_protocol: str = "PLAINTEXT"  # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    sasl_mechanism: str | None = None  # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: TlsSettings = field(default_factory=TlsSettings)
    connect_timeout: float = 5.0  # seconds
    engine: str | None = None  # kafka-python | librdkafka
    producer: ProducerDefaults = field(default_factory=ProducerDefaults)
    consumer: ConsumerDefaults = field(default_factory=ConsumerDefaults)


@dataclass(frozen=True)
class RabbitSettings:
    hosts: tuple[tuple[str, int], ...] = (("localhost", 5672),)  # a cluster is tried in order
    vhost: str = "/"
    username: str = "guest"
    password: str = field(default="guest", repr=False)
    tls: TlsSettings | None = None  # None: plain amqp
    heartbeat: int = 60  # seconds
    connection_timeout: float = 5.0  # seconds

    def display_url(self, host: tuple[str, int] | None = None) -> str:
        """amqp[s]://user@host:port/vhost for messages: never the password."""
        name, port = host or self.hosts[0]
        if ":" in name:  # IPv6 literal
            name = f"[{name}]"
        vhost = "" if self.vhost == "/" else quote(self.vhost, safe="")
        scheme = "amqps" if self.tls is not None else "amqp"
        return f"{scheme}://{quote(self.username, safe='')}@{name}:{port}/{vhost}"


@dataclass(frozen=True)
class Profile:
    name: str
    source: str  # "built-in" or the config file's path
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    rabbit: RabbitSettings = field(default_factory=RabbitSettings)
    warnings: tuple[str, ...] = ()  # for the CLI to print once (permissions, ignored settings)

    def secrets(self) -> list[str]:
        """Every secret value, for masking in errors and debug output."""
        values = [self.kafka.password, self.kafka.tls.key_password, self.rabbit.password]
        if self.rabbit.tls is not None:
            values.append(self.rabbit.tls.key_password)
        out: list[str] = []
        for v in values:
            # `guest` is RabbitMQ's public default: masking it would also hide the user name.
            if not v or v == "guest":
                continue
            out.append(v)
            if quote(v, safe="") != v:  # as it appears inside a URL
                out.append(quote(v, safe=""))
        return list(dict.fromkeys(out))

    def with_overrides(self, overrides: Mapping[str, object]) -> Profile:
        """A new Profile with command-line values applied ({"kafka.producer.acks": "1"}).

        Keys are key paths as in the file; None values are ignored; values are
        validated like file values (a bad one raises UsageError).  An unknown
        key is a programming error (ValueError).
        """
        layer = _Layer()
        for key, value in overrides.items():
            if value is None:
                continue
            path = tuple(key.split("."))
            if path not in _LEAVES:
                close = difflib.get_close_matches(key, [".".join(p) for p in _LEAVES], n=1)
                raise ValueError(f"unknown setting {key!r}" + (f" (did you mean {close[0]}?)" if close else ""))
            layer.set(path, value, _Origin(key, flag=True))
        if not layer.values:
            return self
        base = _Layer.from_dict(self.to_dict(mask=False), _Origin(f"profile {self.name}"))
        kafka, rabbit, warnings = _build(_merge(base, layer))
        return Profile(self.name, self.source, kafka, rabbit, tuple(dict.fromkeys(self.warnings + warnings)))

    def to_dict(self, mask: bool = True) -> dict[str, Any]:
        """The settings as plain data (valid profile YAML); secrets as **** when mask."""

        def secret(v: str | None) -> str | None:
            return MASK if (mask and v) else v

        def tls(t: TlsSettings) -> dict[str, Any]:
            return {
                "ca": t.ca,
                "cert": t.cert,
                "key": t.key,
                "key_password": secret(t.key_password),
                "verify": t.verify,
            }

        k, r = self.kafka, self.rabbit
        kafka = {
            "bootstrap_servers": list(k.bootstrap_servers),
            "client_id": k.client_id,
            "security_protocol": k.security_protocol,
            "sasl_mechanism": k.sasl_mechanism,
            "username": k.username,
            "password": secret(k.password),
            "tls": tls(k.tls),
            "connect_timeout": k.connect_timeout,
            "engine": k.engine,
            "producer": {
                "acks": k.producer.acks,
                "compression": k.producer.compression,
                "linger_ms": k.producer.linger_ms,
                "batch_size": k.producer.batch_size,
                "idempotence": k.producer.idempotence,
                "delivery_timeout": k.producer.delivery_timeout,
            },
            "consumer": {
                "max_poll_records": k.consumer.max_poll_records,
                "fetch_max_wait_ms": k.consumer.fetch_max_wait_ms,
                "auto_offset_reset": k.consumer.auto_offset_reset,
            },
        }
        rabbit: dict[str, Any] = {
            "hosts": [_join_host(h, p) for h, p in r.hosts],
            "vhost": r.vhost,
            "username": r.username,
            "password": secret(r.password),
        }
        if r.tls is not None:  # the section's presence is what turns TLS on
            rabbit["tls"] = tls(r.tls)
        rabbit["heartbeat"] = r.heartbeat
        rabbit["connection_timeout"] = r.connection_timeout
        return {"kafka": kafka, "rabbit": rabbit}


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    default: str | None  # the effective default profile (see module docstring), if any
    profiles: dict[str, Profile]


def builtin_profile() -> Profile:
    """The profile used when there is no config file: everything on localhost."""
    return Profile(BUILTIN_PROFILE, BUILTIN_SOURCE, KafkaSettings(), RabbitSettings())


# -- schema ----------------------------------------------------------------------
# A leaf is a coercion function: value -> typed value, raising _Invalid.


class _Invalid(Exception):
    """A value's problem; the caller adds where it came from."""


def _str(v: object) -> str:
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise _Invalid(f"expected a string, got {_kind(v)}")
    return str(v)


def _path(v: object) -> str:
    s = _str(v)
    if not s:
        raise _Invalid("expected a file path, got an empty string")
    return os.path.expanduser(s)


def _bool(v: object) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _BOOLS:
        return _BOOLS[v.strip().lower()]
    raise _Invalid(f"expected true or false, got {_show(v)}")


_BOOLS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def _int(lo: int, hi: int | None = None) -> Callable[[object], int]:
    def coerce(v: object) -> int:
        if isinstance(v, bool):
            raise _Invalid(f"expected an integer, got {_show(v)}")
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, str) and re.fullmatch(r"[+-]?[0-9]+", v.strip()):
            v = int(v.strip())  # int() itself accepts fewer spaces than str.strip(), e.g. not \x1f
        if not isinstance(v, int):
            raise _Invalid(f"expected an integer, got {_show(v)}")
        if hi is not None and not lo <= v <= hi:
            raise _Invalid(f"{v} is out of range (expected {lo}..{hi})")
        if v < lo:
            raise _Invalid(f"{v} is too small (expected at least {lo})")
        return v

    return coerce


def _duration(v: object) -> float:
    if isinstance(v, bool):
        raise _Invalid(f"expected a duration like 5s or 500ms, got {_show(v)}")
    if isinstance(v, (int, float)):
        try:
            seconds = float(v)
        except OverflowError:
            raise _Invalid(f"duration {v} is too large") from None
    elif isinstance(v, str):
        try:
            seconds = parse_duration(v)
        except UsageError:
            raise _Invalid(f"invalid duration {v!r} (examples: 30s, 500ms, 1m30s, 2h)") from None
    else:
        raise _Invalid(f"expected a duration like 5s or 500ms, got {_kind(v)}")
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise _Invalid(f"invalid duration {_show(v)}")
    return seconds


def _whole_seconds(v: object) -> int:
    return round(_duration(v))


def _enum(*choices: str, normalise: Callable[[str], str] = str) -> Callable[[object], str]:
    def coerce(v: object) -> str:
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise _Invalid(f"expected one of {', '.join(choices)}, got {_show(v)}")
        s = normalise(str(v).strip())
        if s not in choices:
            close = difflib.get_close_matches(s, choices, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise _Invalid(f"invalid value {str(v)!r} (expected one of {', '.join(choices)}{hint})")
        return s

    return coerce


def _acks(v: object) -> str:
    if v == -1 or v == "-1":  # Kafka's own spelling of "all"
        return "all"
    return _enum("0", "1", "all", normalise=str.lower)(v)


def _split_list(v: object) -> list[str]:
    if isinstance(v, str):
        items = [s.strip() for s in v.split(",")]
    elif isinstance(v, (list, tuple)):
        items = [_str(s).strip() for s in v]
    else:
        raise _Invalid(f"expected a list or a comma-separated string, got {_kind(v)}")
    items = [s for s in items if s]
    if not items:
        raise _Invalid("expected at least one host:port")
    return items


_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]@,]+)(?::(?P<port>[^:]*))?$")


def _parse_host_port(text: str, default_port: int | None) -> tuple[str, int | None]:
    m = _HOST_PORT.match(text)
    if not m:
        raise _Invalid(f"invalid address {text!r} (expected host or host:port)")
    port: int | None = default_port
    if m["port"] is not None:
        if not m["port"].isdigit() or not 0 < int(m["port"]) < 65536:
            raise _Invalid(f"invalid port in {text!r} (expected 1..65535)")
        port = int(m["port"])
    return m["host"].strip("[]"), port


def _servers(v: object) -> tuple[str, ...]:
    items = _split_list(v)
    for item in items:
        _parse_host_port(item, None)
    return tuple(items)


def _hosts(v: object) -> tuple[str, ...]:
    return _servers(v)  # ports are resolved later, once the default port is known


def _host(v: object) -> str:
    s = _str(v).strip()
    if s.count(":") >= 2 and re.fullmatch(r"\[?[0-9A-Fa-f:.]+\]?", s):  # a bare IPv6 address: no port here
        return s.strip("[]")
    host, port = _parse_host_port(s, None) if s else ("", None)
    if not host or port is not None:
        raise _Invalid(f"invalid host {s!r} (give the port with the port key)")
    return host


@dataclass(frozen=True)
class _Url:
    tls: bool
    host: str | None
    port: int | None
    vhost: str | None
    username: str | None
    password: str | None


def _amqp_url(v: object) -> _Url:
    # Messages never echo the URL: it may hold a password.
    s = _str(v).strip()
    try:
        parts = urlsplit(s)
        port = parts.port
    except ValueError:
        raise _Invalid("invalid URL: bad host or port (the port must be 1..65535)") from None
    if parts.scheme.lower() not in ("amqp", "amqps"):
        raise _Invalid(
            f"invalid URL: the scheme must be amqp:// or amqps://, not {parts.scheme + '://' if parts.scheme else 'missing'}"
        )
    if parts.query or parts.fragment:
        raise _Invalid(
            "invalid URL: query parameters are not supported (use the heartbeat and connection_timeout keys)"
        )
    if port is not None and not 0 < port < 65536:
        raise _Invalid("invalid URL: bad port (expected 1..65535)")
    path = parts.path
    return _Url(
        tls=parts.scheme.lower() == "amqps",
        host=parts.hostname or None,
        port=port,
        vhost="/" if path in ("", "/") else unquote(path[1:]),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _tls_schema() -> dict[str, Any]:
    return {"ca": _path, "cert": _path, "key": _path, "key_password": _str, "verify": _bool}


_SCHEMA: dict[str, Any] = {
    "kafka": {
        "bootstrap_servers": _servers,
        "client_id": _str,
        "security_protocol": _enum(
            "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", normalise=lambda s: s.upper().replace("-", "_")
        ),
        "sasl_mechanism": _enum(
            "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", normalise=lambda s: s.upper().replace("_", "-")
        ),
        "username": _str,
        "password": _str,
        "tls": _tls_schema(),
        "connect_timeout": _duration,
        "engine": _enum("kafka-python", "librdkafka", normalise=str.lower),
        "producer": {
            "acks": _acks,
            "compression": _enum("none", "gzip", "snappy", "lz4", "zstd", normalise=str.lower),
            "linger_ms": _int(0),
            "batch_size": _int(0),
            "idempotence": _bool,
            "delivery_timeout": _duration,
        },
        "consumer": {
            "max_poll_records": _int(1),
            "fetch_max_wait_ms": _int(0),
            "auto_offset_reset": _enum("earliest", "latest", normalise=str.lower),
        },
    },
    "rabbit": {
        "url": _amqp_url,
        "hosts": _hosts,
        "host": _host,
        "port": _int(1, 65535),
        "vhost": _str,
        "username": _str,
        "password": _str,
        "tls": _tls_schema(),
        "heartbeat": _whole_seconds,
        "connection_timeout": _duration,
    },
}

# Leaves that are lists in YAML (a sequence or a comma-separated string).
_LIST_LEAVES = {("kafka", "bootstrap_servers"), ("rabbit", "hosts")}
# Keys whose values are secrets (for the file-permission warning).
_SECRET_KEYS = {"password", "key_password"}
# A higher layer's rabbit.url replaces these keys of the lower layers.
_URL_PARTS = ("host", "hosts", "port", "vhost", "username", "password")


def _leaves(schema: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, sub in schema.items():
        if isinstance(sub, dict):
            yield from _leaves(sub, prefix + (key,))
        else:
            yield prefix + (key,)


_LEAVES: tuple[tuple[str, ...], ...] = tuple(_leaves(_SCHEMA))


def env_var_name(path: tuple[str, ...] | str) -> str:
    """The MQCLI_* variable of a key path: 'kafka.tls.ca' -> 'MQCLI_KAFKA_TLS_CA'."""
    parts = path.split(".") if isinstance(path, str) else path
    return ENV_PREFIX + "_".join(parts).upper().replace("-", "_")


ENV_VARS: dict[str, tuple[str, ...]] = {env_var_name(p): p for p in _LEAVES}


def _kind(v: object) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (list, tuple)):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__


def _name(key: str) -> str:
    """A key or profile name for a one-line message: odd ones (newlines, empty) quoted."""
    return key if key.isprintable() and key.strip() == key and key else repr(key)


def _names(keys: Iterator[str] | list[str]) -> str:
    return ", ".join(_name(k) for k in keys)


def _show(v: object) -> str:
    return repr(v) if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)


# -- layers: raw values with where they came from ------------------------------------


@dataclass(frozen=True)
class _Origin:
    """Where a value came from, for error messages."""

    label: str  # "mqcli.yaml:7", "$MQCLI_KAFKA_TLS_CA", "kafka.producer.acks"
    prefix: str = ""  # key path prefix in the file, e.g. "profiles.prod."
    flag: bool = False  # a command-line value: errors are usage errors

    def error(self, path: tuple[str, ...], message: str) -> MqcliError:
        key = ".".join(_name(p) for p in path)
        if self.flag:
            return UsageError(f"invalid value for {key}: {message}")
        if self.label.startswith("$"):
            return ConfigError(f"{self.label}: {message}")
        return ConfigError(f"{self.label}: {self.prefix}{key}: {message}")


@dataclass
class _Layer:
    """Leaf values keyed by key path (("kafka", "tls", "ca")), with origins."""

    values: dict[tuple[str, ...], object] = field(default_factory=dict)
    origins: dict[tuple[str, ...], _Origin] = field(default_factory=dict)
    sections: dict[tuple[str, ...], _Origin] = field(default_factory=dict)  # sections present, e.g. ("rabbit", "tls")

    def set(self, path: tuple[str, ...], value: object, origin: _Origin) -> None:
        self.values[path] = value
        self.origins[path] = origin
        for i in range(1, len(path)):
            self.sections.setdefault(path[:i], origin)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: _Origin) -> _Layer:
        layer = cls()

        def walk(d: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
            for k, v in d.items():
                if isinstance(v, dict):
                    layer.sections.setdefault(prefix + (k,), origin)
                    walk(v, prefix + (k,))
                elif v is not None:
                    layer.set(prefix + (k,), v, origin)

        walk(data, ())
        return layer


def _merge(*layers: _Layer) -> _Layer:
    """Later layers win key by key; a later rabbit.url replaces earlier address parts."""
    out = _Layer()
    for layer in layers:
        url = layer.values.get(("rabbit", "url"))
        if url is not None:
            replaced = [("rabbit", key) for key in _URL_PARTS]
            if not str(url).strip().lower().startswith("amqps:"):
                # An amqp:// URL from the command line or environment means no TLS,
                # whatever the file says; with amqps:// the file's CA etc. still apply.
                replaced += [p for p in out.values if p[:2] == ("rabbit", "tls")]
                out.sections.pop(("rabbit", "tls"), None)
            for path in replaced:
                if path not in layer.values:
                    out.values.pop(path, None)
                    out.origins.pop(path, None)
        out.values.update(layer.values)
        out.origins.update(layer.origins)
        for path, origin in layer.sections.items():
            out.sections.setdefault(path, origin)
    return out


def _env_layer(env: Mapping[str, str]) -> tuple[_Layer, tuple[str, ...]]:
    """MQCLI_* overrides, and warnings for near-miss names (likely typos)."""
    layer = _Layer()
    warnings: list[str] = []
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or value == "":
            continue
        path = ENV_VARS.get(name)
        if path is not None:
            layer.set(path, value, _Origin(f"${name}"))
        elif name.startswith(("MQCLI_KAFKA_", "MQCLI_RABBIT_")):
            # Other MQCLI_KAFKA_* variables may belong to commands; warn only on a near miss.
            close = difflib.get_close_matches(name, ENV_VARS, n=1, cutoff=0.85)
            if close:
                warnings.append(f"ignoring environment variable {name} (did you mean {close[0]}?)")
    return layer, tuple(sorted(warnings))


# -- building settings from a merged layer --------------------------------------------


def _build(layer: _Layer) -> tuple[KafkaSettings, RabbitSettings, tuple[str, ...]]:
    """Validate and coerce every leaf, then assemble the settings (raises ConfigError/UsageError)."""
    typed: dict[tuple[str, ...], Any] = {}
    for path, value in layer.values.items():
        coerce = _lookup(path)
        try:
            typed[path] = coerce(value)
        except _Invalid as e:
            raise layer.origins[path].error(path, str(e)) from None

    def get(*path: str, default: Any = None) -> Any:
        return typed.get(path, default)

    def tls(section: str) -> TlsSettings:
        d = TlsSettings()
        return TlsSettings(
            ca=get(section, "tls", "ca", default=d.ca),
            cert=get(section, "tls", "cert", default=d.cert),
            key=get(section, "tls", "key", default=d.key),
            key_password=get(section, "tls", "key_password", default=d.key_password),
            verify=get(section, "tls", "verify", default=d.verify),
        )

    warnings: list[str] = []
    kd, pd, cd = KafkaSettings(), ProducerDefaults(), ConsumerDefaults()
    protocol = get("kafka", "security_protocol", default=kd.security_protocol)
    mechanism = get("kafka", "sasl_mechanism")
    if protocol.startswith("SASL_") and mechanism is None:
        mechanism = "PLAIN"
    if not protocol.startswith("SASL_") and (get("kafka", "username") or get("kafka", "password")):
        warnings.append(
            f"kafka username/password are ignored with security_protocol {protocol} (use SASL_PLAINTEXT or SASL_SSL)"
        )
    kafka_tls = tls("kafka")
    if protocol in ("PLAINTEXT", "SASL_PLAINTEXT") and kafka_tls != TlsSettings():
        warnings.append(f"kafka tls settings are ignored with security_protocol {protocol} (use SSL or SASL_SSL)")
    kafka = KafkaSettings(
        bootstrap_servers=get("kafka", "bootstrap_servers", default=kd.bootstrap_servers),
        client_id=get("kafka", "client_id", default=kd.client_id),
        security_protocol=protocol,
        sasl_mechanism=mechanism,
        username=get("kafka", "username"),
        password=get("kafka", "password"),
        tls=kafka_tls,
        connect_timeout=get("kafka", "connect_timeout", default=kd.connect_timeout),
        engine=get("kafka", "engine"),
        producer=ProducerDefaults(
            acks=get("kafka", "producer", "acks", default=pd.acks),
            compression=get("kafka", "producer", "compression", default=pd.compression),
            linger_ms=get("kafka", "producer", "linger_ms", default=pd.linger_ms),
            batch_size=get("kafka", "producer", "batch_size", default=pd.batch_size),
            idempotence=get("kafka", "producer", "idempotence", default=pd.idempotence),
            delivery_timeout=get("kafka", "producer", "delivery_timeout", default=pd.delivery_timeout),
        ),
        consumer=ConsumerDefaults(
            max_poll_records=get("kafka", "consumer", "max_poll_records", default=cd.max_poll_records),
            fetch_max_wait_ms=get("kafka", "consumer", "fetch_max_wait_ms", default=cd.fetch_max_wait_ms),
            auto_offset_reset=get("kafka", "consumer", "auto_offset_reset", default=cd.auto_offset_reset),
        ),
    )
    return kafka, _build_rabbit(layer, typed, tls("rabbit")), tuple(warnings)


def _build_rabbit(layer: _Layer, typed: Mapping[tuple[str, ...], Any], tls: TlsSettings) -> RabbitSettings:
    rd = RabbitSettings()
    url: _Url | None = typed.get(("rabbit", "url"))
    has_tls_section = ("rabbit", "tls") in layer.sections
    if url is not None and not url.tls and has_tls_section:
        origin = layer.sections[("rabbit", "tls")]
        raise origin.error(("rabbit", "tls"), "TLS settings given but rabbit.url is amqp:// (use amqps://)")
    use_tls = (url is not None and url.tls) or has_tls_section
    port = typed.get(("rabbit", "port")) or (url.port if url else None) or (5671 if use_tls else 5672)

    if ("rabbit", "host") in typed and ("rabbit", "hosts") in typed:
        path = ("rabbit", "host")
        raise layer.origins[path].error(path, "give either host or hosts, not both")
    if ("rabbit", "hosts") in typed:
        hosts = tuple(_host_port(h, port) for h in typed[("rabbit", "hosts")])
    else:
        host = typed.get(("rabbit", "host")) or (url.host if url else None) or rd.hosts[0][0]
        hosts = ((host, port),)

    def pick(key: str, from_url: str | None, default: str) -> str:
        value = typed.get(("rabbit", key))
        return value if value is not None else from_url if from_url is not None else default

    return RabbitSettings(
        hosts=hosts,
        vhost=pick("vhost", url.vhost if url else None, rd.vhost),
        username=pick("username", url.username if url else None, rd.username),
        password=pick("password", url.password if url else None, rd.password),
        tls=tls if use_tls else None,
        heartbeat=typed.get(("rabbit", "heartbeat"), rd.heartbeat),
        connection_timeout=typed.get(("rabbit", "connection_timeout"), rd.connection_timeout),
    )


def _host_port(text: str, default_port: int) -> tuple[str, int]:
    host, port = _parse_host_port(text, default_port)  # already validated by _hosts
    return host, port if port is not None else default_port


def _join_host(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _lookup(path: tuple[str, ...]) -> Callable[[object], Any]:
    node: Any = _SCHEMA
    for key in path:
        node = node[key]
    return node  # type: ignore[no-any-return]


# -- reading the file ------------------------------------------------------------------


_INTERPOLATION = re.compile(r"\$(?:\$|\{(?P<body>[^}]*)\}|(?P<bad>\{))")
_VAR = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?$", re.DOTALL)


class InterpolationError(Exception):
    """A ${...} that cannot be expanded (the caller adds file, line and key)."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Expand ${VAR}, ${VAR:-default} (unset or empty VAR) and $$ -> $ in `text`.

    Any other `$` is kept as it is.  Raises InterpolationError.
    """

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        if m["bad"] is not None:
            raise InterpolationError("unterminated ${ (write $$ for a literal $)")
        var = _VAR.match(m["body"])
        if var is None:
            raise InterpolationError(
                f"invalid variable reference ${{{m['body']}}} (use ${{NAME}} or ${{NAME:-default}})"
            )
        value = env.get(var["name"])
        if var["default"] is not None:
            return value if value else var["default"]
        if value is None:
            raise InterpolationError(
                f"environment variable {var['name']} is not set (use ${{{var['name']}:-default}} for a default)"
            )
        return value

    return _INTERPOLATION.sub(repl, text)


@dataclass
class _Document:
    path: Path
    default: str | None  # effective default (see module docstring)
    profiles: dict[str, tuple[ScalarNode, Node]]  # name -> (key node, value node), in file order
    literal_secrets: bool


def _where(path: Path, node: Node) -> str:
    return f"{path}:{node.start_mark.line + 1}"


def _read_document(path: Path) -> _Document:
    """Parse the file and check its top level (profiles are checked one by one later)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file is a directory: {path}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: invalid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:  # e.g. a reader error (control characters)
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None

    if root is None or _is_null(root):
        raise ConfigError(f"{path}: the file is empty (add a profiles: section; see `mqcli config init -`)")
    if not isinstance(root, MappingNode):
        raise ConfigError(f"{_where(path, root)}: expected a mapping with a profiles: section")

    default_node: Node | None = None
    profiles_node: Node | None = None
    for key, value in _items(path, root, ""):
        if key.value == "default":
            default_node = value
        elif key.value == "profiles":
            profiles_node = value
        elif not key.value.startswith("x-"):  # x-* keys hold shared YAML anchors
            raise ConfigError(
                f"{_where(path, key)}: {_name(key.value)}: unknown key{_suggest(key.value, ['default', 'profiles'])}"
            )

    if profiles_node is None or _is_null(profiles_node):
        raise ConfigError(f"{path}: no profiles defined (add a profiles: section; see `mqcli config init -`)")
    if not isinstance(profiles_node, MappingNode):
        raise ConfigError(
            f"{_where(path, profiles_node)}: profiles: expected a mapping of profile names, got {_node_kind(profiles_node)}"
        )
    profiles = {key.value: (key, value) for key, value in _items(path, profiles_node, "profiles.")}
    if not profiles:
        raise ConfigError(f"{_where(path, profiles_node)}: profiles: no profiles defined")

    default: str | None = None
    if default_node is not None and not _is_null(default_node):
        if not isinstance(default_node, ScalarNode):
            raise ConfigError(
                f"{_where(path, default_node)}: default: expected a profile name, got {_node_kind(default_node)}"
            )
        default = default_node.value
        if default not in profiles:
            raise ConfigError(
                f"{_where(path, default_node)}: default: unknown profile {default!r} (available: {_names(list(profiles))})"
            )
    elif len(profiles) == 1:
        default = next(iter(profiles))
    elif "default" in profiles:
        default = "default"
    return _Document(path, default, profiles, _has_literal_secrets(root))


def _items(
    path: Path, node: MappingNode, prefix: str, _outer: frozenset[int] = frozenset()
) -> Iterator[tuple[ScalarNode, Node]]:
    """A mapping's (key, value) nodes: merge keys (<<) flattened, duplicates rejected."""
    if id(node) in _outer:  # an alias merging a mapping into itself
        raise ConfigError(f"{_where(path, node)}: {prefix}<<: recursive merge")
    explicit: list[tuple[ScalarNode, Node]] = []
    merged: list[tuple[ScalarNode, Node]] = []
    for key, value in node.value:
        if key.tag == "tag:yaml.org,2002:merge":
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for src in sources:
                if not isinstance(src, MappingNode):
                    raise ConfigError(
                        f"{_where(path, src)}: {prefix}<<: a merge key needs a mapping (or a list of them)"
                    )
                merged.extend(_items(path, src, prefix, _outer | {id(node)}))
            continue
        if not isinstance(key, ScalarNode) or _is_null(key):
            raise ConfigError(f"{_where(path, key)}: {prefix.rstrip('.') or '(top level)'}: keys must be names")
        explicit.append((key, value))
    seen: dict[str, ScalarNode] = {}
    for key, _ in explicit:
        if key.value in seen:
            raise ConfigError(
                f"{_where(path, key)}: {prefix}{_name(key.value)}: duplicate key (first at line {seen[key.value].start_mark.line + 1})"
            )
        seen[key.value] = key
    # Explicit keys win over merged ones; of merged ones the first wins (YAML's rule).
    out: dict[str, tuple[ScalarNode, Node]] = {}
    for key, value in merged:
        out.setdefault(key.value, (key, value))
    for key, value in explicit:
        out[key.value] = (key, value)
    return iter(out.values())


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _node_kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return "a value"


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else f" (expected one of: {', '.join(choices)})"


_SCALARS = yaml.SafeLoader("")  # only its constructor is used, to type plain scalars


def _scalar(node: ScalarNode) -> object:
    try:
        return _SCALARS.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError):
        return node.value  # e.g. an odd timestamp: keep the text and let the leaf judge it
    finally:
        _SCALARS.constructed_objects.clear()  # it caches by node: do not keep documents alive


def _has_literal_secrets(root: Node) -> bool:
    """Whether a password (or a URL with one) is written in the file instead of ${VAR}."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if (
                    isinstance(key, ScalarNode)
                    and isinstance(value, ScalarNode)
                    and value.value
                    and "${" not in value.value
                ):
                    # RabbitMQ's well-known guest password is no secret worth a warning.
                    if key.value in _SECRET_KEYS and value.value != "guest":
                        return True
                    m = re.search(r"://[^@/\s]*:(?P<pw>[^@/\s]+)@", value.value) if key.value == "url" else None
                    if m and m["pw"] != "guest":
                        return True
                stack.append(value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return False


def _profile_layer(doc: _Document, name: str, env: Mapping[str, str]) -> _Layer:
    """One profile's values from the file: unknown keys and ${VAR}s checked, types not yet."""
    _key_node, node = doc.profiles[name]
    prefix = f"profiles.{_name(name)}."
    layer = _Layer()
    if _is_null(node):
        return layer
    if not isinstance(node, MappingNode):
        raise ConfigError(
            f"{_where(doc.path, node)}: profiles.{_name(name)}: expected a mapping with kafka: and/or rabbit:, got {_node_kind(node)}"
        )

    def origin(n: Node) -> _Origin:
        return _Origin(_where(doc.path, n), prefix)

    def text(n: ScalarNode, path: tuple[str, ...]) -> str:
        try:
            return interpolate(n.value, env)
        except InterpolationError as e:
            raise origin(n).error(path, str(e)) from None

    def walk(mapping: MappingNode, schema: Mapping[str, Any], path: tuple[str, ...]) -> None:
        for key, value in _items(doc.path, mapping, prefix + "".join(_name(p) + "." for p in path)):
            sub = schema.get(key.value)
            here = path + (key.value,)
            if sub is None:
                raise origin(key).error(here, "unknown key" + _suggest(key.value, list(schema)))
            if isinstance(sub, dict):
                if _is_null(value):
                    layer.sections.setdefault(here, origin(key))
                    continue
                if not isinstance(value, MappingNode):
                    raise origin(value).error(here, f"expected a mapping, got {_node_kind(value)}")
                layer.sections.setdefault(here, origin(key))
                walk(value, sub, here)
            else:
                leaf(value, sub, here)

    def leaf(value: Node, coerce: Callable[[object], Any], path: tuple[str, ...]) -> None:
        if isinstance(value, SequenceNode) and path in _LIST_LEAVES:
            items: list[str] = []
            for item in value.value:
                if not isinstance(item, ScalarNode) or _is_null(item):
                    raise origin(item).error(path, "expected a list of host:port strings")
                items.append(text(item, path))
            layer.set(path, items, origin(value))
            return
        if not isinstance(value, ScalarNode):
            raise origin(value).error(path, f"expected a single value, got {_node_kind(value)}")
        if _is_null(value):
            return  # `password:` with nothing: unset, the default applies
        typed = _scalar(value)
        if coerce in (_str, _path) or isinstance(typed, str):
            # Strings keep their text exactly: `password: 0123` is "0123", not 83.
            layer.set(path, text(value, path), origin(value))
        else:
            layer.set(path, typed, origin(value))

    walk(node, _SCHEMA, ())
    return layer


def _file_warnings(doc: _Document) -> tuple[str, ...]:
    warning = config_permission_warning(doc.path, has_literal_secrets=doc.literal_secrets)
    return (warning,) if warning else ()


def _file_profile(
    doc: _Document, name: str, env: Mapping[str, str], extra: _Layer | None = None, extra_warnings: tuple[str, ...] = ()
) -> Profile:
    layers = [_profile_layer(doc, name, env)] + ([extra] if extra is not None else [])
    kafka, rabbit, warnings = _build(_merge(*layers))
    return Profile(
        name, str(doc.path), kafka, rabbit, tuple(dict.fromkeys(_file_warnings(doc) + extra_warnings + warnings))
    )


# -- public functions ------------------------------------------------------------------------


def default_config_path(env: Mapping[str, str]) -> Path:
    """$XDG_CONFIG_HOME/mqcli/config.yaml, else ~/.config/mqcli/config.yaml."""
    xdg = env.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore a relative value
        return Path(xdg) / "mqcli" / "config.yaml"
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".config" / "mqcli" / "config.yaml"


def find_config_file(config_path: str | None, env: Mapping[str, str], cwd: Path | None = None) -> Path | None:
    """The config file to use (see the module docstring), or None for the built-in profile."""
    explicit = config_path or env.get("MQCLI_CONFIG") or None
    if explicit:
        path = Path(explicit).expanduser()
        if not path.exists():
            origin = "--config" if config_path else "$MQCLI_CONFIG"
            raise ConfigError(f"config file not found: {path} (from {origin})")
        if path.is_dir():
            raise ConfigError(f"config file is a directory: {path}")
        return path
    local = (cwd if cwd is not None else Path.cwd()) / LOCAL_FILE
    if local.is_file():
        return local
    user = default_config_path(env)
    return user if user.is_file() else None


def load_config(path: Path, env: Mapping[str, str]) -> ConfigFile:
    """Read and validate every profile of `path` (MQCLI_* overrides are not applied)."""
    doc = _read_document(path)
    profiles = {name: _file_profile(doc, name, env) for name in doc.profiles}
    return ConfigFile(path, doc.default, profiles)


def read_profile_names(path: Path) -> tuple[list[str], str | None]:
    """Profile names (file order) and the default, checking only the file's top level."""
    doc = _read_document(path)
    return list(doc.profiles), doc.default


def list_profiles(config_path: str | None, env: Mapping[str, str]) -> list[str]:
    """Profile names of the config file in use, or ["local"] without one."""
    path = find_config_file(config_path, env)
    return [BUILTIN_PROFILE] if path is None else read_profile_names(path)[0]


def resolve_profile(
    config_path: str | None = None,
    profile_name: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Profile:
    """The profile to use, with MQCLI_* overrides applied.

    Only the chosen profile is validated in full, so a typo or an unset
    ${VAR} in another profile does not get in the way (`config validate`
    checks them all).
    """
    env = os.environ if env is None else env
    name = profile_name or env.get("MQCLI_PROFILE") or None
    env_layer, env_warnings = _env_layer(env)
    path = find_config_file(config_path, env)
    if path is None:
        if name not in (None, BUILTIN_PROFILE):
            raise ConfigError(
                f"unknown profile {name!r}: no config file found, only the built-in profile {BUILTIN_PROFILE!r} exists",
                hint=f"create one with `mqcli config init`, or put {LOCAL_FILE} in this directory",
            )
        kafka, rabbit, warnings = _build(env_layer)
        return Profile(BUILTIN_PROFILE, BUILTIN_SOURCE, kafka, rabbit, tuple(dict.fromkeys(env_warnings + warnings)))
    doc = _read_document(path)
    if name is None:
        if doc.default is None:
            raise ConfigError(
                f"{path}: no default profile (available: {_names(list(doc.profiles))})",
                hint="set `default: NAME` in the file, or pass --profile NAME",
            )
        name = doc.default
    if name not in doc.profiles:
        raise ConfigError(f"unknown profile {name!r} in {path} (available: {_names(list(doc.profiles))})")
    return _file_profile(doc, name, env, env_layer, env_warnings)


def config_permission_warning(path: Path, has_literal_secrets: bool = True) -> str | None:
    """A warning when a file holding secrets can be read by group or other users."""
    if os.name == "nt" or not has_literal_secrets:
        return None
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        return f"{path} holds passwords and can be read by other users (run: chmod 600 {path})"
    return None


def write_starter_config(path: Path, *, force: bool = False) -> Path:
    """Write STARTER_CONFIG to `path` (mode 0600, parent directories created).

    Raises ConfigError if the file exists and not `force`.
    """
    path = path.expanduser()
    if path.is_dir():
        raise ConfigError(f"{path} is a directory")
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists", hint="use --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(STARTER_CONFIG)
        os.chmod(path, 0o600)  # O_CREAT's mode does not apply to an existing file
    except OSError as e:
        raise ConfigError(f"cannot write {path}: {e.strerror or e}") from None
    return path


STARTER_CONFIG = """\
# mqcli configuration.  Lookup order: --config, $MQCLI_CONFIG, ./mqcli.yaml,
# ~/.config/mqcli/config.yaml.  Check it with: mqcli config validate
#
# Precedence: command-line flag > MQCLI_* environment variable (from the key
# path: kafka.tls.ca -> MQCLI_KAFKA_TLS_CA) > this file > built-in default.
# Keep secrets out of this file with ${VAR} or ${VAR:-default}; $$ is a literal $.
# Durations: 500ms, 5s, 1m30s, 2h (or a number of seconds).

default: local        # used without --profile / $MQCLI_PROFILE

profiles:
  local:
    kafka:
      bootstrap_servers: [localhost:9092]     # or "host1:9092,host2:9092"
      client_id: mqcli
      security_protocol: PLAINTEXT            # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
      connect_timeout: 5s
      producer:
        acks: all                             # 0 | 1 | all
        compression: none                     # none | gzip | snappy | lz4 | zstd
        linger_ms: 5
        batch_size: 16384                     # bytes
        idempotence: true
        delivery_timeout: 120s
      consumer:
        auto_offset_reset: earliest           # earliest | latest
        max_poll_records: 500
        fetch_max_wait_ms: 500
    rabbit:
      url: amqp://guest@localhost:5672/       # amqps:// turns TLS on (default port 5671)
      password: ${RABBIT_PASSWORD:-guest}
      heartbeat: 60                           # seconds
      connection_timeout: 5s

  # A production-like profile; remove the leading "# " of these lines to use it.
  # prod:
  #   kafka:
  #     bootstrap_servers: [kafka1.example.com:9093, kafka2.example.com:9093]
  #     security_protocol: SASL_SSL
  #     sasl_mechanism: SCRAM-SHA-512           # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
  #     username: mqcli
  #     password: ${KAFKA_PASSWORD}             # an error if KAFKA_PASSWORD is unset
  #     tls:
  #       ca: ~/certs/ca.pem
  #       verify: true
  #   rabbit:
  #     hosts: [rabbit1.example.com, rabbit2.example.com]   # tried in order
  #     vhost: orders
  #     username: mqcli
  #     password: ${RABBIT_PASSWORD}
  #     tls:                                    # TLS on, port 5671 unless port: is given
  #       ca: ~/certs/ca.pem
  #       cert: ~/certs/client.pem
  #       key: ~/certs/client.key
"""
