"""mqcli.core.config: lookup, profile choice, precedence, interpolation, validation."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqcli.core import config as cfg
from mqcli.core.config import (
    STARTER_CONFIG,
    ConfigFile,
    InterpolationError,
    Profile,
    RabbitSettings,
    TlsSettings,
    config_permission_warning,
    find_config_file,
    interpolate,
    list_profiles,
    load_config,
    resolve_profile,
    write_starter_config,
)
from mqcli.core.errors import ConfigError, UsageError


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No MQCLI_* variables, a temp HOME/XDG dir and cwd: no user config leaks in."""
    for name in list(os.environ):
        if name.startswith("MQCLI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    path.chmod(mode)
    return path


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg"), **extra}


TWO = """
default: dev
profiles:
  dev:
    kafka:
      bootstrap_servers: dev:9092
  prod:
    kafka:
      bootstrap_servers: [p1:9092, p2:9092]
      security_protocol: SASL_SSL
      sasl_mechanism: SCRAM-SHA-512
      username: app
      password: ${KAFKA_PASSWORD:-s3cret}
    rabbit:
      url: amqps://app:rpw@rabbit.example.com/orders
"""


def config_error(match: str) -> pytest.RaisesContext[ConfigError]:  # type: ignore[type-var]
    return pytest.raises(ConfigError, match=match)


# -- lookup ------------------------------------------------------------------------


def test_lookup_order(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    assert find_config_file(None, env, cwd=tmp_path) is None
    xdg = write(tmp_path / "xdg" / "mqcli" / "config.yaml", TWO)
    assert find_config_file(None, env, cwd=tmp_path) == xdg
    local = write(tmp_path / "mqcli.yaml", TWO)
    assert find_config_file(None, env, cwd=tmp_path) == local
    from_env = write(tmp_path / "env.yaml", TWO)
    env["MQCLI_CONFIG"] = str(from_env)
    assert find_config_file(None, env, cwd=tmp_path) == from_env
    flag = write(tmp_path / "flag.yaml", TWO)
    assert find_config_file(str(flag), env, cwd=tmp_path) == flag


def test_lookup_home_default_without_xdg(tmp_path: Path) -> None:
    home_cfg = write(tmp_path / "home" / ".config" / "mqcli" / "config.yaml", TWO)
    assert find_config_file(None, {"HOME": str(tmp_path / "home")}, cwd=tmp_path) == home_cfg


@pytest.mark.parametrize("via", ["flag", "env"])
def test_explicit_missing_file_is_an_error(tmp_path: Path, via: str) -> None:
    missing = str(tmp_path / "nope.yaml")
    with config_error(r"config file not found: .*nope\.yaml"):
        if via == "flag":
            find_config_file(missing, base_env(tmp_path))
        else:
            find_config_file(None, base_env(tmp_path, MQCLI_CONFIG=missing))


def test_no_file_gives_builtin_local_profile(tmp_path: Path) -> None:
    p = resolve_profile(env=base_env(tmp_path))
    assert (p.name, p.source) == ("local", "built-in")
    assert p.kafka.bootstrap_servers == ("localhost:9092",)
    assert p.rabbit.hosts == (("localhost", 5672),)
    assert (p.rabbit.username, p.rabbit.password, p.rabbit.vhost, p.rabbit.tls) == ("guest", "guest", "/", None)
    assert p.rabbit.display_url() == "amqp://guest@localhost:5672/"
    assert list_profiles(None, base_env(tmp_path)) == ["local"]
    with config_error(r"unknown profile 'prod'.*no config file"):
        resolve_profile(profile_name="prod", env=base_env(tmp_path))


# -- profile choice --------------------------------------------------------------------


def test_profile_precedence(tmp_path: Path) -> None:
    path = str(write(tmp_path / "c.yaml", TWO))
    env = base_env(tmp_path)
    assert resolve_profile(path, None, env).name == "dev"
    env["MQCLI_PROFILE"] = "prod"
    assert resolve_profile(path, None, env).name == "prod"
    assert resolve_profile(path, "dev", env).name == "dev"


def test_resolve_profile_honours_env_for_config_and_profile(tmp_path: Path) -> None:
    path = str(write(tmp_path / "c.yaml", TWO))
    p = resolve_profile(env=base_env(tmp_path, MQCLI_CONFIG=path, MQCLI_PROFILE="prod"))
    assert (p.name, p.source) == ("prod", path)


def test_unknown_profile_names_the_available_ones(tmp_path: Path) -> None:
    path = str(write(tmp_path / "c.yaml", TWO))
    with config_error(r"unknown profile 'stage'.*available: dev, prod"):
        resolve_profile(path, "stage", base_env(tmp_path))


def test_default_rules(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    one = write(tmp_path / "one.yaml", "profiles:\n  only: {}\n")
    assert resolve_profile(str(one), None, env).name == "only"
    named = write(tmp_path / "named.yaml", "profiles:\n  a: {}\n  default: {}\n")
    assert resolve_profile(str(named), None, env).name == "default"
    none = write(tmp_path / "none.yaml", "profiles:\n  a: {}\n  b: {}\n")
    with config_error(r"no default profile \(available: a, b\)"):
        resolve_profile(str(none), None, env)
    assert load_config(none, env).default is None
    bad = write(tmp_path / "bad.yaml", "default: c\nprofiles:\n  a: {}\n")
    with config_error(r"bad\.yaml:1: default: unknown profile 'c' \(available: a\)"):
        resolve_profile(str(bad), None, env)


def test_list_profiles_in_file_order(tmp_path: Path) -> None:
    path = str(write(tmp_path / "c.yaml", TWO))
    assert list_profiles(path, base_env(tmp_path)) == ["dev", "prod"]


def test_other_profiles_problems_do_not_block_the_chosen_one(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        """
        default: dev
        profiles:
          dev: {}
          prod:
            kafka:
              password: ${PROD_ONLY_SECRET}
        """,
    )
    assert resolve_profile(str(path), None, base_env(tmp_path)).name == "dev"
    with config_error("PROD_ONLY_SECRET"):
        load_config(path, base_env(tmp_path))


# -- values ------------------------------------------------------------------------------


def test_load_config_reads_all_profiles(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", TWO)
    c = load_config(path, base_env(tmp_path))
    assert isinstance(c, ConfigFile)
    assert (c.path, c.default, list(c.profiles)) == (path, "dev", ["dev", "prod"])
    dev, prod = c.profiles["dev"], c.profiles["prod"]
    assert dev.kafka.bootstrap_servers == ("dev:9092",)
    assert prod.kafka.bootstrap_servers == ("p1:9092", "p2:9092")
    assert (prod.kafka.security_protocol, prod.kafka.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert prod.kafka.password == "s3cret"
    r = prod.rabbit
    assert r.hosts == (("rabbit.example.com", 5671),)
    assert (r.vhost, r.username, r.password) == ("orders", "app", "rpw")
    assert r.tls == TlsSettings()
    assert r.display_url() == "amqps://app@rabbit.example.com:5671/orders"


def test_every_key_and_coercion(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        """
        profiles:
          full:
            kafka:
              bootstrap_servers: "a:1, b:2"
              client_id: 12
              security_protocol: sasl_plaintext
              username: u
              password: 0123
              tls: {ca: ~/ca.pem, cert: c.pem, key: k.pem, key_password: kp, verify: no}
              connect_timeout: 1m30s
              engine: librdkafka
              producer: {acks: -1, compression: zstd, linger_ms: "20", batch_size: 1, idempotence: off, delivery_timeout: 500ms}
              consumer: {max_poll_records: 10, fetch_max_wait_ms: 0, auto_offset_reset: LATEST}
            rabbit:
              host: r1
              port: 5673
              vhost: v
              username: ru
              password: rp
              tls: {verify: false}
              heartbeat: 30s
              connection_timeout: 2
        """,
    )
    p = resolve_profile(str(path), None, base_env(tmp_path))
    k = p.kafka
    assert k.bootstrap_servers == ("a:1", "b:2")
    assert k.client_id == "12"
    assert (k.security_protocol, k.sasl_mechanism) == ("SASL_PLAINTEXT", "PLAIN")  # SASL without a mechanism: PLAIN
    assert k.password == "0123"  # the text, not YAML's octal 83
    assert k.tls == TlsSettings(os.path.expanduser("~/ca.pem"), "c.pem", "k.pem", "kp", False)
    assert (k.connect_timeout, k.engine) == (90.0, "librdkafka")
    assert (k.producer.acks, k.producer.compression, k.producer.linger_ms, k.producer.batch_size) == (
        "all",
        "zstd",
        20,
        1,
    )
    assert (k.producer.idempotence, k.producer.delivery_timeout) == (False, 0.5)
    assert (k.consumer.max_poll_records, k.consumer.fetch_max_wait_ms, k.consumer.auto_offset_reset) == (
        10,
        0,
        "latest",
    )
    r = p.rabbit
    assert r == RabbitSettings(
        hosts=(("r1", 5673),),
        vhost="v",
        username="ru",
        password="rp",
        tls=TlsSettings(verify=False),
        heartbeat=30,
        connection_timeout=2.0,
    )


@pytest.mark.parametrize(
    ("rabbit", "hosts", "vhost", "user", "password", "tls"),
    [
        ("url: amqp://u:p@h:1234/v", (("h", 1234),), "v", "u", "p", False),
        ("url: amqp://h", (("h", 5672),), "/", "guest", "guest", False),
        ("url: amqps://h/%2F", (("h", 5671),), "/", "guest", "guest", True),
        ("{url: 'amqp://u:p%40x@h/', port: 9, vhost: w, password: q}", (("h", 9),), "w", "u", "q", False),
        ("{url: 'amqps://h', hosts: [a, 'b:7']}", (("a", 5671), ("b", 7)), "/", "guest", "guest", True),
        ("{hosts: 'a,b', port: 6000}", (("a", 6000), ("b", 6000)), "/", "guest", "guest", False),
        ("{host: '::1', tls: {}}", (("::1", 5671),), "/", "guest", "guest", True),
        ("{url: 'amqp://u:p%40x@[::1]:5/'}", (("::1", 5),), "/", "u", "p@x", False),
    ],
)
def test_rabbit_url_and_discrete_keys(
    tmp_path: Path, rabbit: str, hosts: tuple[tuple[str, int], ...], vhost: str, user: str, password: str, tls: bool
) -> None:
    path = write(
        tmp_path / "c.yaml",
        f"profiles:\n  p:\n    rabbit: {rabbit}\n"
        if rabbit.startswith("{")
        else f"profiles:\n  p:\n    rabbit:\n      {rabbit}\n",
    )
    r = resolve_profile(str(path), None, base_env(tmp_path)).rabbit
    assert (r.hosts, r.vhost, r.username, r.password, r.tls is not None) == (hosts, vhost, user, password, tls)


def test_display_url_never_holds_the_password() -> None:
    r = RabbitSettings(
        hosts=(("::1", 5671), ("b", 5671)), vhost="a/b", username="u@x", password="pw", tls=TlsSettings()
    )
    assert r.display_url() == "amqps://u%40x@[::1]:5671/a%2Fb"
    assert r.display_url(("b", 5671)) == "amqps://u%40x@b:5671/a%2Fb"


def test_anchors_merge_keys_and_x_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        """
        x-kafka: &kafka
          bootstrap_servers: shared:9092
          client_id: base
        profiles:
          a:
            kafka:
              <<: *kafka
              client_id: own
          b:
            kafka: *kafka
        """,
    )
    c = load_config(path, base_env(tmp_path))
    assert c.profiles["a"].kafka.bootstrap_servers == ("shared:9092",)
    assert c.profiles["a"].kafka.client_id == "own"
    assert c.profiles["b"].kafka.client_id == "base"


# -- precedence: env and flags ------------------------------------------------------------


def test_env_overrides(tmp_path: Path) -> None:
    path = str(write(tmp_path / "c.yaml", TWO))
    env = base_env(
        tmp_path,
        MQCLI_PROFILE="prod",
        MQCLI_KAFKA_BOOTSTRAP_SERVERS="e1:9092,e2:9092",
        MQCLI_KAFKA_PASSWORD="envpw",
        MQCLI_KAFKA_TLS_CA="/ca.pem",
        MQCLI_KAFKA_PRODUCER_ACKS="1",
        MQCLI_RABBIT_PASSWORD="rabbitenv",
        MQCLI_KAFKA_CLIENT_ID="",  # empty: unset
    )
    p = resolve_profile(path, None, env)
    assert p.kafka.bootstrap_servers == ("e1:9092", "e2:9092")
    assert (p.kafka.password, p.kafka.tls.ca, p.kafka.producer.acks, p.kafka.client_id) == (
        "envpw",
        "/ca.pem",
        "1",
        "mqcli",
    )
    assert (p.rabbit.username, p.rabbit.password) == ("app", "rabbitenv")  # only the password part of the URL replaced


def test_env_url_replaces_the_whole_address(tmp_path: Path) -> None:
    path = str(
        write(
            tmp_path / "c.yaml", "profiles:\n  p:\n    rabbit: {host: filehost, port: 1, username: fu, password: fp}\n"
        )
    )
    p = resolve_profile(path, None, base_env(tmp_path, MQCLI_RABBIT_URL="amqp://eu:ep@envhost/v"))
    assert (p.rabbit.hosts, p.rabbit.username, p.rabbit.password, p.rabbit.vhost) == (
        (("envhost", 5672),),
        "eu",
        "ep",
        "v",
    )


def test_env_overrides_apply_to_builtin_profile(tmp_path: Path) -> None:
    p = resolve_profile(env=base_env(tmp_path, MQCLI_RABBIT_URL="amqps://u:pw@h/", MQCLI_KAFKA_ENGINE="librdkafka"))
    assert p.rabbit.display_url() == "amqps://u@h:5671/"
    assert p.kafka.engine == "librdkafka"


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    with config_error(r"^\$MQCLI_KAFKA_PRODUCER_ACKS: invalid value '2' \(expected one of 0, 1, all"):
        resolve_profile(env=base_env(tmp_path, MQCLI_KAFKA_PRODUCER_ACKS="2"))


def test_near_miss_env_var_is_a_warning(tmp_path: Path) -> None:
    p = resolve_profile(env=base_env(tmp_path, MQCLI_KAFKA_BOOTSTRAP_SERVER="x:1", MQCLI_KAFKA_GROUP="g"))
    assert p.kafka.bootstrap_servers == ("localhost:9092",)
    assert p.warnings == (
        "ignoring environment variable MQCLI_KAFKA_BOOTSTRAP_SERVER (did you mean MQCLI_KAFKA_BOOTSTRAP_SERVERS?)",
    )


def test_env_var_names_cover_every_key() -> None:
    assert cfg.ENV_VARS["MQCLI_KAFKA_TLS_KEY_PASSWORD"] == ("kafka", "tls", "key_password")
    assert cfg.ENV_VARS["MQCLI_RABBIT_URL"] == ("rabbit", "url")
    assert cfg.env_var_name("kafka.producer.acks") == "MQCLI_KAFKA_PRODUCER_ACKS"


def test_with_overrides(tmp_path: Path) -> None:
    path = str(write(tmp_path / "c.yaml", TWO))
    p = resolve_profile(path, "prod", base_env(tmp_path, MQCLI_KAFKA_PRODUCER_ACKS="0"))
    q = p.with_overrides(
        {
            "kafka.bootstrap_servers": "a:9092",
            "kafka.producer.acks": "1",
            "kafka.client_id": None,
            "kafka.connect_timeout": "2s",
        }
    )
    assert q is not p and p.kafka.bootstrap_servers == ("p1:9092", "p2:9092")  # the original is unchanged
    assert (q.kafka.bootstrap_servers, q.kafka.producer.acks, q.kafka.connect_timeout) == (("a:9092",), "1", 2.0)
    assert (q.kafka.password, q.rabbit.password, q.rabbit.tls) == (p.kafka.password, p.rabbit.password, p.rabbit.tls)
    assert (q.name, q.source) == (p.name, p.source)
    assert p.with_overrides({"kafka.client_id": None}) is p
    r = p.with_overrides({"rabbit.url": "amqp://x:y@other:1/"})
    assert (r.rabbit.hosts, r.rabbit.username, r.rabbit.password, r.rabbit.tls) == ((("other", 1),), "x", "y", None)
    s = p.with_overrides({"rabbit.url": "amqps://other/", "rabbit.tls.verify": False})
    assert (s.rabbit.hosts, s.rabbit.username, s.rabbit.tls) == ((("other", 5671),), "guest", TlsSettings(verify=False))
    with pytest.raises(UsageError, match=r"invalid value for kafka.producer.acks: invalid value '2'"):
        p.with_overrides({"kafka.producer.acks": 2})
    with pytest.raises(ValueError, match=r"did you mean kafka.producer.acks"):
        p.with_overrides({"kafka.producer.ack": "1"})


def test_with_overrides_on_a_hand_built_profile() -> None:
    p = Profile("t", "built-in", cfg.KafkaSettings(client_id="mine"), RabbitSettings(password="pw"))
    q = p.with_overrides({"kafka.producer.linger_ms": 50})
    assert (q.kafka.client_id, q.kafka.producer.linger_ms, q.rabbit.password) == ("mine", 50, "pw")


# -- the declarations ----------------------------------------------------------------------------


def test_every_declared_setting_is_a_key_an_env_var_and_an_override() -> None:
    from mqcli.core.config.settings import SETTINGS

    assert set(cfg.ENV_VARS.values()) == set(SETTINGS)
    assert ("kafka", "producer", "batch_size") in SETTINGS and ("rabbit", "url") in SETTINGS
    p = Profile("t", "built-in", rabbit=RabbitSettings(tls=TlsSettings()))
    shown = p.to_dict(mask=False)

    def has(data: object, path: tuple[str, ...]) -> bool:
        for key in path:
            if not isinstance(data, dict) or key not in data:
                return False
            data = data[key]
        return True

    # Every field is in `config show`; RabbitMQ's url, host and port are merged into hosts etc.
    assert [path for path in SETTINGS if not has(shown, path)] == [
        ("rabbit", "url"),
        ("rabbit", "host"),
        ("rabbit", "port"),
    ]
    assert p.with_overrides({"kafka.producer.batch_size": "0"}).kafka.producer.batch_size == 0


def test_secrets_are_the_declared_ones() -> None:
    from mqcli.core.config.settings import SECRET_KEYS, SETTINGS

    assert {path for path, s in SETTINGS.items() if s.secret} == {
        ("kafka", "password"),
        ("kafka", "tls", "key_password"),
        ("kafka", "schema_registry", "password"),
        ("kafka", "schema_registry", "tls", "key_password"),
        ("kafka", "oauth", "client_secret"),
        ("rabbit", "password"),
        ("rabbit", "tls", "key_password"),
        ("rabbit", "oauth", "client_secret"),
    }
    assert SECRET_KEYS == {"password", "key_password", "client_secret"}


def test_declared_choices_match_the_produce_flags() -> None:
    from mqcli.core.config.settings import SETTINGS
    from mqcli.core.kafka.common import ACKS, COMPRESSION

    assert SETTINGS[("kafka", "producer", "acks")].choices == ACKS
    assert SETTINGS[("kafka", "producer", "compression")].choices == COMPRESSION
    assert SETTINGS[("kafka", "producer", "linger_ms")].choices is None


def test_batch_size_unset_unless_written(tmp_path: Path) -> None:
    # None means "each engine's own default"; a value the profile writes always counts,
    # the one kafka-python would use anyway included.
    assert resolve_profile(env={}).kafka.producer.batch_size is None
    assert resolve_profile(env={}).to_dict()["kafka"]["producer"]["batch_size"] is None
    path = write(tmp_path / "c.yaml", "profiles:\n  p:\n    kafka: {producer: {batch_size: 16384}}\n")
    p = resolve_profile(str(path), None, base_env(tmp_path))
    assert p.kafka.producer.batch_size == 16384
    assert p.with_overrides({"kafka.client_id": "x"}).kafka.producer.batch_size == 16384
    env = base_env(tmp_path, MQCLI_KAFKA_PRODUCER_BATCH_SIZE="16384")
    assert resolve_profile(env=env).kafka.producer.batch_size == 16384


# -- interpolation ------------------------------------------------------------------------


def test_interpolation_forms() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert interpolate("x${A}y", env) == "x1y"
    assert interpolate("${B:-dflt}", env) == "dflt"
    assert interpolate("${EMPTY:-dflt}", env) == "dflt"
    assert interpolate("${EMPTY}", env) == ""
    assert interpolate("${B:-}", env) == ""
    assert interpolate("$${A} costs $5 $", env) == "${A} costs $5 $"
    for bad in ("${B}", "${", "${1X}", "${A B}"):
        with pytest.raises(InterpolationError):
            interpolate(bad, env)


def test_missing_variable_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        """
        profiles:
          prod:
            kafka:
              username: u
              password: ${NOT_SET_ANYWHERE}
        """,
    )
    with pytest.raises(ConfigError) as e:
        load_config(path, base_env(tmp_path))
    assert e.value.message == (
        f"{path}:5: profiles.prod.kafka.password: environment variable NOT_SET_ANYWHERE is not set "
        "(use ${NOT_SET_ANYWHERE:-default} for a default)"
    )


def test_interpolation_in_lists_and_typed_values(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        """
        profiles:
          p:
            kafka:
              bootstrap_servers: ["${BROKER}", "b:${PORT:-9093}"]
              producer: {linger_ms: "${LINGER}"}
              tls: {verify: "${VERIFY:-false}"}
            rabbit:
              password: "pa$$word"
        """,
    )
    p = resolve_profile(str(path), None, base_env(tmp_path, BROKER="a:9092", LINGER="7"))
    assert p.kafka.bootstrap_servers == ("a:9092", "b:9093")
    assert (p.kafka.producer.linger_ms, p.kafka.tls.verify, p.rabbit.password) == (7, False, "pa$word")


@given(st.text().filter(lambda s: "$" not in s))
def test_interpolation_round_trips_text_without_dollar(text: str) -> None:
    assert interpolate(text, {}) == text


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30).filter(lambda s: "$" not in s))
def test_string_values_round_trip_through_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rt.yaml"
    path.write_text(yaml.safe_dump({"profiles": {"p": {"kafka": {"password": text, "client_id": text}}}}))
    p = resolve_profile(str(path), None, base_env(tmp_path))
    assert p.kafka.password == text
    assert p.kafka.client_id == text


# -- validation errors --------------------------------------------------------------------------


BAD_CASES = [
    (
        "profiles:\n  prod:\n    kafka:\n      bootstrap_server: x:1\n",
        r":4: profiles\.prod\.kafka\.bootstrap_server: unknown key \(did you mean bootstrap_servers\?\)$",
    ),
    ("profiles:\n  p:\n    kafak: {}\n", r":3: profiles\.p\.kafak: unknown key \(did you mean kafka\?\)$"),
    ("profile:\n  p: {}\n", r":1: profile: unknown key \(did you mean profiles\?\)$"),
    (
        "profiles:\n  p:\n    kafka:\n      producer:\n        linger_ms: soon\n",
        r":5: profiles\.p\.kafka\.producer\.linger_ms: expected an integer, got 'soon'$",
    ),
    ("profiles:\n  p:\n    kafka:\n      producer:\n        linger_ms: -1\n", r":5: .*linger_ms: -1 is too small"),
    (
        "profiles:\n  p:\n    kafka:\n      producer:\n        acks: everyone\n",
        r"acks: invalid value 'everyone' \(expected one of 0, 1, all",
    ),
    (
        "profiles:\n  p:\n    kafka:\n      security_protocol: SASL_TLS\n",
        r":4: .*security_protocol: invalid value 'SASL_TLS' \(expected one of .*did you mean SASL_SSL\?\)",
    ),
    (
        "profiles:\n  p:\n    kafka:\n      connect_timeout: 5 parsecs\n",
        r":4: .*connect_timeout: invalid duration '5 parsecs'",
    ),
    (
        "profiles:\n  p:\n    kafka:\n      tls: {verify: maybe}\n",
        r":4: .*kafka\.tls\.verify: expected true or false, got 'maybe'",
    ),
    ("profiles:\n  p:\n    kafka:\n      tls: yes\n", r":4: profiles\.p\.kafka\.tls: expected a mapping, got a value"),
    ("profiles:\n  p:\n    kafka:\n      client_id: [a]\n", r":4: .*client_id: expected a single value, got a list"),
    (
        "profiles:\n  p:\n    kafka:\n      bootstrap_servers: 'a:b'\n",
        r":4: .*bootstrap_servers: invalid port in 'a:b'",
    ),
    (
        "profiles:\n  p:\n    rabbit:\n      url: http://h/\n",
        r":4: profiles\.p\.rabbit\.url: invalid URL: the scheme must be amqp:// or amqps://, not http://$",
    ),
    (
        "profiles:\n  p:\n    rabbit:\n      url: amqp://u:secretpw@h:99999/\n",
        r":4: .*rabbit\.url: invalid URL: bad host or port",
    ),
    ("profiles:\n  p:\n    rabbit:\n      url: amqp://h/?heartbeat=5\n", r"query parameters are not supported"),
    ("profiles:\n  p:\n    rabbit:\n      port: 0\n", r":4: .*rabbit\.port: 0 is out of range \(expected 1\.\.65535\)"),
    (
        "profiles:\n  p:\n    rabbit:\n      url: amqp://h\n      tls: {ca: x}\n",
        r":5: profiles\.p\.rabbit\.tls: TLS settings given but rabbit\.url is amqp://",
    ),
    (
        "profiles:\n  p:\n    rabbit:\n      host: a\n      hosts: [b]\n",
        r":4: .*rabbit\.host: give either host or hosts, not both",
    ),
    ("profiles:\n  p:\n    kafka: {}\n    kafka: {}\n", r":4: profiles\.p\.kafka: duplicate key \(first at line 3\)"),
    ("profiles:\n  p: [1]\n", r":2: profiles\.p: expected a mapping"),
    ("profiles: []\n", r":1: profiles: expected a mapping of profile names, got a list"),
    ("profiles:\n  p:\n    kafka:\n      password: ${\n", r":4: .*password: unterminated \$\{"),
    ("", r": the file is empty"),
    ("default: p\n", r": no profiles defined"),
    ("- a\n- b\n", r":1: expected a mapping with a profiles: section"),
    ("profiles:\n  p:\n    kafka: {bootstrap_servers: [a\n", r":4: invalid YAML: "),
    ("profiles:\n\tp: {}\n", r":2: invalid YAML: "),
]


@pytest.mark.parametrize(("text", "pattern"), BAD_CASES)
def test_validation_errors(tmp_path: Path, text: str, pattern: str) -> None:
    path = tmp_path / "mqcli.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(path, base_env(tmp_path))
    message = e.value.message
    assert message.startswith(str(path)), message
    assert re.search(pattern, message), message
    assert "\n" not in message
    assert "secretpw" not in message


def test_unreadable_and_directory_paths(tmp_path: Path) -> None:
    with config_error("config file not found"):
        load_config(tmp_path / "nope.yaml", {})
    with config_error("is a directory"):
        load_config(tmp_path, {})
    with config_error("is a directory"):
        find_config_file(str(tmp_path), {})
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with config_error("not a UTF-8 text file"):
        load_config(tmp_path / "bin.yaml", {})


YAML_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12))
KEYS = st.one_of(
    st.sampled_from(
        [
            "kafka",
            "rabbit",
            "profiles",
            "default",
            "tls",
            "url",
            "hosts",
            "port",
            "producer",
            "acks",
            "bootstrap_servers",
            "password",
            "<<",
            "verify",
            "heartbeat",
            "x-a",
        ]
    ),
    st.text(max_size=6),
    st.integers(),
)
YAMLISH = st.recursive(
    YAML_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=12,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300, deadline=None)
@given(
    st.one_of(
        YAMLISH,
        st.builds(lambda p: {"profiles": {"p": p}}, YAMLISH),
        st.builds(lambda k, r: {"default": "p", "profiles": {"p": {"kafka": k, "rabbit": r}}}, YAMLISH, YAMLISH),
    )
)
def test_arbitrary_documents_raise_only_config_errors(tmp_path: Path, doc: object) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    env = base_env(tmp_path)
    for call in (
        lambda: load_config(path, env),
        lambda: resolve_profile(str(path), None, env),
        lambda: list_profiles(str(path), env),
    ):
        try:
            call()
        except ConfigError as e:
            assert e.message and "\n" not in e.message


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_raises_only_config_errors(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.yaml"
        path.write_bytes(text.encode("utf-8", "replace"))
        try:
            load_config(path, {})
        except ConfigError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(cfg.ENV_VARS)), st.text(max_size=20).filter(lambda s: "\x00" not in s))
def test_arbitrary_env_values_raise_only_config_errors(name: str, value: str) -> None:
    try:
        resolve_profile(env={"HOME": "/nonexistent-home", name: value})
    except ConfigError as e:
        assert e.message.startswith(f"${name}: ")


# -- secrets and permissions ---------------------------------------------------------------------


def test_secrets_and_masked_dict(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        """
        profiles:
          p:
            kafka: {password: kpw, tls: {key_password: tkpw}}
            rabbit: {url: "amqps://u:r%40pw@h/", tls: {key_password: rkpw}}
        """,
    )
    p = resolve_profile(str(path), None, base_env(tmp_path))
    assert set(p.secrets()) == {"kpw", "tkpw", "r@pw", "r%40pw", "rkpw"}
    dumped = repr(p) + yaml.safe_dump(p.to_dict())
    for secret in ("kpw", "tkpw", "r@pw", "r%40pw", "rkpw"):
        assert secret not in dumped
    assert p.to_dict()["kafka"]["password"] == "****"
    assert p.to_dict(mask=False)["rabbit"]["password"] == "r@pw"
    assert resolve_profile(env={}).secrets() == []  # guest is no secret


def test_to_dict_round_trips_as_a_profile(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", TWO)
    p = resolve_profile(str(path), "prod", base_env(tmp_path))
    again = write(tmp_path / "again.yaml", yaml.safe_dump({"profiles": {"prod": p.to_dict(mask=False)}}))
    q = resolve_profile(str(again), None, base_env(tmp_path))
    assert (q.kafka, q.rabbit) == (p.kafka, p.rabbit)


def test_permission_warning(tmp_path: Path) -> None:
    literal = write(tmp_path / "lit.yaml", "profiles:\n  p:\n    rabbit: {password: hunter2}\n", mode=0o644)
    warning = config_permission_warning(literal)
    assert warning and "chmod 600" in warning
    assert resolve_profile(str(literal), None, base_env(tmp_path)).warnings == (warning,)
    literal.chmod(0o600)
    assert config_permission_warning(literal) is None
    assert resolve_profile(str(literal), None, base_env(tmp_path)).warnings == ()
    via_env = write(tmp_path / "env.yaml", "profiles:\n  p:\n    rabbit: {password: '${PW:-x}'}\n", mode=0o644)
    assert resolve_profile(str(via_env), None, base_env(tmp_path)).warnings == ()
    url = write(tmp_path / "url.yaml", "profiles:\n  p:\n    rabbit: {url: 'amqp://u:hunter2@h/'}\n", mode=0o640)
    assert load_config(url, {}).profiles["p"].warnings == (config_permission_warning(url),)


def test_ignored_kafka_settings_warn(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "profiles:\n  p:\n    kafka: {username: u, tls: {ca: x}}\n")
    warnings = resolve_profile(str(path), None, base_env(tmp_path)).warnings
    assert any("username/password are ignored" in w for w in warnings)
    assert any("tls settings are ignored" in w for w in warnings)


# -- starter file -------------------------------------------------------------------------------------


def test_starter_config_validates(tmp_path: Path) -> None:
    path = write_starter_config(tmp_path / "deep" / "dir" / "config.yaml")
    assert path.read_text() == STARTER_CONFIG
    assert (path.stat().st_mode & 0o777) == 0o600
    c = load_config(path, {})
    assert (c.default, list(c.profiles)) == ("local", ["local"])
    p = c.profiles["local"]
    assert p.kafka == cfg.KafkaSettings() and p.rabbit == RabbitSettings()
    assert p.warnings == ()


def test_starter_example_profile_validates_when_uncommented(tmp_path: Path) -> None:
    lines = STARTER_CONFIG.splitlines()
    start = lines.index("  # prod:")
    example = [line.replace("  # ", "  ", 1) for line in lines[start:] if line.startswith("  # ")]
    text = "\n".join(lines[:start] + example) + "\n"
    path = write(tmp_path / "c.yaml", text)
    c = load_config(path, {"KAFKA_PASSWORD": "k", "RABBIT_PASSWORD": "r"})
    prod = c.profiles["prod"]
    assert prod.kafka.sasl_mechanism == "SCRAM-SHA-512"
    assert prod.rabbit.hosts == (("rabbit1.example.com", 5671), ("rabbit2.example.com", 5671))
    assert prod.rabbit.display_url() == "amqps://mqcli@rabbit1.example.com:5671/orders"


def test_write_starter_refuses_to_overwrite(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "mine", mode=0o644)
    with config_error("already exists"):
        write_starter_config(path)
    assert path.read_text() == "mine"
    write_starter_config(path, force=True)
    assert path.read_text() == STARTER_CONFIG
    assert (path.stat().st_mode & 0o777) == 0o600
