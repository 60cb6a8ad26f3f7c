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

The package: settings.py declares every setting once (type, default, parser,
secret or not); document.py reads the YAML with node positions; layers.py
holds the precedence and builds a Profile; files.py finds and loads the file.
Values are parsed by parsers.py.
"""

from __future__ import annotations

from mqcli.core.config.files import (
    LOCAL_FILE,
    STARTER_CONFIG,
    ConfigFile,
    config_permission_warning,
    default_config_path,
    find_config_file,
    list_profiles,
    load_config,
    read_profile_names,
    resolve_profile,
    write_starter_config,
)
from mqcli.core.config.interpolation import InterpolationError, interpolate
from mqcli.core.config.layers import BUILTIN_PROFILE, BUILTIN_SOURCE, Profile, builtin_profile
from mqcli.core.config.settings import (
    ENV_PREFIX,
    ENV_VARS,
    ConsumerDefaults,
    KafkaSettings,
    ProducerDefaults,
    RabbitSettings,
    TlsSettings,
    env_var_name,
)

__all__ = [
    "BUILTIN_PROFILE",
    "BUILTIN_SOURCE",
    "ENV_PREFIX",
    "ENV_VARS",
    "LOCAL_FILE",
    "STARTER_CONFIG",
    "ConfigFile",
    "ConsumerDefaults",
    "InterpolationError",
    "KafkaSettings",
    "ProducerDefaults",
    "Profile",
    "RabbitSettings",
    "TlsSettings",
    "builtin_profile",
    "config_permission_warning",
    "default_config_path",
    "env_var_name",
    "find_config_file",
    "interpolate",
    "list_profiles",
    "load_config",
    "read_profile_names",
    "resolve_profile",
    "write_starter_config",
]
