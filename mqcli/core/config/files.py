"""The config file: finding it, loading and resolving profiles from it,
writing the starter file, and the warning for a readable file with passwords.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mqcli.core.config.layers import BUILTIN_PROFILE, BUILTIN_SOURCE, Layer, Profile, build, env_layer, merge
from mqcli.core.config.parsers import key_names
from mqcli.core.errors import ConfigError

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, built with less work at import (see _dataclass.py)
    from mqcli.core.config._dataclass import dataclass

if TYPE_CHECKING:
    # document.py imports PyYAML (~20 ms, most of it compiling its regular
    # expressions): imported only when there is a file to read.
    from mqcli.core.config.document import Document

LOCAL_FILE = "mqcli.yaml"


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    default: str | None  # the effective default profile (see the package docstring), if any
    profiles: dict[str, Profile]


def _file_warnings(doc: Document) -> tuple[str, ...]:
    warning = config_permission_warning(doc.path, has_literal_secrets=doc.literal_secrets)
    return (warning,) if warning else ()


def _file_profile(
    doc: Document, name: str, env: Mapping[str, str], extra: Layer | None = None, extra_warnings: tuple[str, ...] = ()
) -> Profile:
    from mqcli.core.config.document import profile_layer

    layers = [profile_layer(doc, name, env)] + ([extra] if extra is not None else [])
    kafka, rabbit, warnings = build(merge(*layers))
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
    """The config file to use (see the package docstring), or None for the built-in profile."""
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
    from mqcli.core.config.document import read_document

    doc = read_document(path)
    profiles = {name: _file_profile(doc, name, env) for name in doc.profiles}
    return ConfigFile(path, doc.default, profiles)


def read_profile_names(path: Path) -> tuple[list[str], str | None]:
    """Profile names (file order) and the default, checking only the file's top level."""
    from mqcli.core.config.document import read_document

    doc = read_document(path)
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
    overrides, env_warnings = env_layer(env)
    path = find_config_file(config_path, env)
    if path is None:
        if name not in (None, BUILTIN_PROFILE):
            raise ConfigError(
                f"unknown profile {name!r}: no config file found, only the built-in profile {BUILTIN_PROFILE!r} exists",
                hint=f"create one with `mqcli config init`, or put {LOCAL_FILE} in this directory",
            )
        kafka, rabbit, warnings = build(overrides)
        return Profile(BUILTIN_PROFILE, BUILTIN_SOURCE, kafka, rabbit, tuple(dict.fromkeys(env_warnings + warnings)))
    from mqcli.core.config.document import read_document

    doc = read_document(path)
    if name is None:
        if doc.default is None:
            raise ConfigError(
                f"{path}: no default profile (available: {key_names(list(doc.profiles))})",
                hint="set `default: NAME` in the file, or pass --profile NAME",
            )
        name = doc.default
    if name not in doc.profiles:
        raise ConfigError(f"unknown profile {name!r} in {path} (available: {key_names(list(doc.profiles))})")
    return _file_profile(doc, name, env, overrides, env_warnings)


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
        # batch_size: 16384                   # bytes; unset: each engine's own (kafka-python 16 KB, librdkafka 1 MB)
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
  #     sasl_mechanism: SCRAM-SHA-512           # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 | OAUTHBEARER
  #     username: mqcli
  #     password: ${KAFKA_PASSWORD}             # an error if KAFKA_PASSWORD is unset
  #     # oauth:                                # with OAUTHBEARER: tokens by client credentials
  #     #   token_url: https://idp.example.com/realms/prod/protocol/openid-connect/token
  #     #   client_id: mqcli
  #     #   client_secret: ${KAFKA_CLIENT_SECRET}
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
