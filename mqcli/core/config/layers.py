"""Layers of raw values and their precedence (file < MQCLI_* environment <
command line), and the Profile built from them.

A Layer holds raw values by key path with where each came from; `merge`
applies the precedence key by key, and `build` parses every value with its
declared parser (settings.py) and assembles the settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mqcli.core.config.parsers import AmqpUrl, Invalid, host_port, key_name
from mqcli.core.config.settings import (
    ENV_PREFIX,
    ENV_VARS,
    SETTINGS,
    URL_PARTS,
    KafkaSettings,
    RabbitSettings,
    TlsSettings,
    build_section,
    plain_data,
    secret_values,
)
from mqcli.core.errors import ConfigError, MqcliError, UsageError

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, built with less work at import (see _dataclass.py)
    from mqcli.core.config._dataclass import dataclass

BUILTIN_PROFILE = "local"
BUILTIN_SOURCE = "built-in"

KeyPath = tuple[str, ...]  # a key path: ("kafka", "tls", "ca")


@dataclass(frozen=True)
class Origin:
    """Where a value came from, for error messages."""

    label: str  # "mqcli.yaml:7", "$MQCLI_KAFKA_TLS_CA", "kafka.producer.acks"
    prefix: str = ""  # key path prefix in the file, e.g. "profiles.prod."
    flag: bool = False  # a command-line value: errors are usage errors

    def error(self, path: KeyPath, message: str) -> MqcliError:
        key = ".".join(key_name(p) for p in path)
        if self.flag:
            return UsageError(f"invalid value for {key}: {message}")
        if self.label.startswith("$"):
            return ConfigError(f"{self.label}: {message}")
        return ConfigError(f"{self.label}: {self.prefix}{key}: {message}")


@dataclass
class Layer:
    """Raw leaf values keyed by key path, with origins."""

    values: dict[KeyPath, object] = field(default_factory=dict)
    origins: dict[KeyPath, Origin] = field(default_factory=dict)
    sections: dict[KeyPath, Origin] = field(default_factory=dict)  # sections present, e.g. ("rabbit", "tls")

    def set(self, path: KeyPath, value: object, origin: Origin) -> None:
        self.values[path] = value
        self.origins[path] = origin
        for i in range(1, len(path)):
            self.sections.setdefault(path[:i], origin)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: Origin) -> Layer:
        layer = cls()

        def walk(d: Mapping[str, Any], prefix: KeyPath) -> None:
            for k, v in d.items():
                if isinstance(v, dict):
                    layer.sections.setdefault(prefix + (k,), origin)
                    walk(v, prefix + (k,))
                elif v is not None:
                    layer.set(prefix + (k,), v, origin)

        walk(data, ())
        return layer


def merge(*layers: Layer) -> Layer:
    """Later layers win key by key; a later rabbit.url replaces earlier address parts."""
    out = Layer()
    for layer in layers:
        url = layer.values.get(("rabbit", "url"))
        if url is not None:
            replaced: list[KeyPath] = [("rabbit", key) for key in URL_PARTS]
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


def env_layer(env: Mapping[str, str]) -> tuple[Layer, tuple[str, ...]]:
    """MQCLI_* overrides, and warnings for near-miss names (likely typos)."""
    layer = Layer()
    warnings: list[str] = []
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or value == "":
            continue
        path = ENV_VARS.get(name)
        if path is not None:
            layer.set(path, value, Origin(f"${name}"))
        elif name.startswith(("MQCLI_KAFKA_", "MQCLI_RABBIT_")):
            # Other MQCLI_KAFKA_* variables may belong to commands; warn only on a near miss.
            import difflib  # here: needed only for a near miss, and every command imports this module

            close = difflib.get_close_matches(name, ENV_VARS, n=1, cutoff=0.85)
            if close:
                warnings.append(f"ignoring environment variable {name} (did you mean {close[0]}?)")
    return layer, tuple(sorted(warnings))


# -- building settings from a merged layer --------------------------------------------


def build(layer: Layer) -> tuple[KafkaSettings, RabbitSettings, tuple[str, ...]]:
    """Parse every value, then assemble the settings (raises ConfigError/UsageError); and warnings."""
    typed: dict[KeyPath, Any] = {}
    for path, value in layer.values.items():
        try:
            typed[path] = SETTINGS[path].parse(value)
        except Invalid as e:
            raise layer.origins[path].error(path, str(e)) from None
    _check_oauth(layer, typed)
    kafka, warnings = _build_kafka(typed)
    return kafka, _build_rabbit(layer, typed), warnings


_OAUTH_NEEDS = ("token_url", "client_id", "client_secret")


def _check_oauth(layer: Layer, typed: Mapping[KeyPath, Any]) -> None:
    """An oauth section is whole (token_url, client_id, client_secret), and OAUTHBEARER has one."""
    for broker in ("kafka", "rabbit"):
        section = (broker, "oauth")
        if not any(path[:2] == section for path in typed):
            continue
        missing = [key for key in _OAUTH_NEEDS if section + (key,) not in typed]
        if missing:
            origin = layer.sections.get(section) or next(o for p, o in layer.origins.items() if p[:2] == section)
            raise origin.error(section, f"missing {', '.join(missing)} (OAuth needs {', '.join(_OAUTH_NEEDS)})")
    mechanism = ("kafka", "sasl_mechanism")
    if typed.get(mechanism) == "OAUTHBEARER" and ("kafka", "oauth", "token_url") not in typed:
        raise layer.origins[mechanism].error(
            mechanism, f"OAUTHBEARER needs a kafka.oauth section ({', '.join(_OAUTH_NEEDS)})"
        )


def _build_kafka(typed: Mapping[KeyPath, Any]) -> tuple[KafkaSettings, tuple[str, ...]]:
    kafka = build_section(KafkaSettings, typed, ("kafka",))
    protocol = kafka.security_protocol
    if protocol.startswith("SASL_") and kafka.sasl_mechanism is None:
        kafka = dataclasses.replace(kafka, sasl_mechanism="PLAIN")
    warnings: list[str] = []
    if kafka.oauth.token_url and kafka.sasl_mechanism != "OAUTHBEARER":
        warnings.append("kafka oauth settings are ignored unless sasl_mechanism is OAUTHBEARER")
    if not protocol.startswith("SASL_") and (kafka.username or kafka.password):
        warnings.append(
            f"kafka username/password are ignored with security_protocol {protocol} (use SASL_PLAINTEXT or SASL_SSL)"
        )
    if protocol in ("PLAINTEXT", "SASL_PLAINTEXT") and kafka.tls != TlsSettings():
        warnings.append(f"kafka tls settings are ignored with security_protocol {protocol} (use SSL or SASL_SSL)")
    return kafka, tuple(warnings)


def _build_rabbit(layer: Layer, typed: Mapping[KeyPath, Any]) -> RabbitSettings:
    """RabbitSettings, with the address merged from url, host/hosts and port."""
    url: AmqpUrl | None = typed.get(("rabbit", "url"))
    has_tls_section = ("rabbit", "tls") in layer.sections
    if url is not None and not url.tls and has_tls_section:
        origin = layer.sections[("rabbit", "tls")]
        raise origin.error(("rabbit", "tls"), "TLS settings given but rabbit.url is amqp:// (use amqps://)")
    use_tls = (url is not None and url.tls) or has_tls_section
    port = typed.get(("rabbit", "port")) or (url.port if url else None) or (5671 if use_tls else 5672)

    if ("rabbit", "host") in typed and ("rabbit", "hosts") in typed:
        path = ("rabbit", "host")
        raise layer.origins[path].error(path, "give either host or hosts, not both")
    values = dict(typed)
    if ("rabbit", "hosts") in typed:
        values[("rabbit", "hosts")] = tuple(host_port(h, port) for h in typed[("rabbit", "hosts")])
    else:
        host = typed.get(("rabbit", "host")) or (url.host if url else None) or RabbitSettings().hosts[0][0]
        values[("rabbit", "hosts")] = ((host, port),)
    if url is not None:  # the URL's parts, where no discrete key is given
        for key in ("vhost", "username", "password"):
            part = getattr(url, key)
            if part is not None:
                values.setdefault(("rabbit", key), part)
    tls = build_section(TlsSettings, typed, ("rabbit", "tls")) if use_tls else None
    return dataclasses.replace(build_section(RabbitSettings, values, ("rabbit",)), tls=tls)


# -- the profile ------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    name: str
    source: str  # "built-in" or the config file's path
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    rabbit: RabbitSettings = field(default_factory=RabbitSettings)
    warnings: tuple[str, ...] = ()  # for the CLI to print once (permissions, ignored settings)

    def secrets(self) -> list[str]:
        """Every secret value, for masking in errors and debug output."""
        out: list[str] = []
        for v in secret_values(self.kafka, self.rabbit):
            # `guest` is RabbitMQ's public default: masking it would also hide the user name.
            if v == "guest":
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
        layer = Layer()
        for key, value in overrides.items():
            if value is None:
                continue
            path = tuple(key.split("."))
            if path not in SETTINGS:
                import difflib

                close = difflib.get_close_matches(key, [".".join(p) for p in SETTINGS], n=1)
                raise ValueError(f"unknown setting {key!r}" + (f" (did you mean {close[0]}?)" if close else ""))
            layer.set(path, value, Origin(key, flag=True))
        if not layer.values:
            return self
        base = Layer.from_dict(self.to_dict(mask=False), Origin(f"profile {self.name}"))
        kafka, rabbit, warnings = build(merge(base, layer))
        return Profile(self.name, self.source, kafka, rabbit, tuple(dict.fromkeys(self.warnings + warnings)))

    def to_dict(self, mask: bool = True) -> dict[str, Any]:
        """The settings as plain data (valid profile YAML); secrets as **** when mask."""
        return {"kafka": plain_data(self.kafka, mask), "rabbit": plain_data(self.rabbit, mask)}


def builtin_profile() -> Profile:
    """The profile used when there is no config file: everything on localhost."""
    return Profile(BUILTIN_PROFILE, BUILTIN_SOURCE, KafkaSettings(), RabbitSettings())
