"""`mqcli config list|show|validate|init`, run in-process through the root app."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from mqcli.cli.app import app
from mqcli.core.config import STARTER_CONFIG

PROFILES = """
default: dev
profiles:
  dev:
    kafka:
      bootstrap_servers: dev:9092
  prod:
    kafka:
      bootstrap_servers: [p1:9092]
      security_protocol: SASL_SSL
      username: app
      password: ${KAFKA_PASSWORD:-kafka-pw-123}
    rabbit:
      url: amqps://app:rabbit-pw-456@rabbit.example.com/orders
"""


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No MQCLI_* variables, temp HOME/XDG and cwd, no colour."""
    for name in list(os.environ):
        if name.startswith("MQCLI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def mqcli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def local_file(tmp_path: Path, text: str = PROFILES) -> Path:
    path = tmp_path / "mqcli.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    path.chmod(0o600)
    return path


# -- list ------------------------------------------------------------------------------


def test_list_without_file_shows_builtin() -> None:
    r = mqcli("config", "list")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "local\n", "")
    r = mqcli("config", "list", "--output", "json")
    assert json.loads(r.stdout) == [{"name": "local", "default": True, "source": "built-in"}]


def test_list_piped_is_bare_names(tmp_path: Path) -> None:
    local_file(tmp_path)
    r = mqcli("config", "list")
    assert (r.exit_code, r.stdout) == (0, "dev\nprod\n")


def test_list_json(tmp_path: Path) -> None:
    path = local_file(tmp_path)
    r = mqcli("config", "list", "-o", "json")
    assert r.exit_code == 0
    assert json.loads(r.stdout) == [
        {"name": "dev", "default": True, "source": str(path)},
        {"name": "prod", "default": False, "source": str(path)},
    ]


def test_list_with_explicit_config(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("profiles:\n  only: {}\n")
    assert mqcli("--config", str(other), "config", "list").stdout == "only\n"
    assert mqcli("config", "list", env={"MQCLI_CONFIG": str(other)}).stdout == "only\n"


# -- show --------------------------------------------------------------------------------


def test_show_masks_secrets(tmp_path: Path) -> None:
    local_file(tmp_path)
    r = mqcli("config", "show", "prod")
    assert r.exit_code == 0, r.stderr
    for secret in ("kafka-pw-123", "rabbit-pw-456"):
        assert secret not in r.stdout and secret not in r.stderr
    data = yaml.safe_load(r.stdout)
    assert data["kafka"]["password"] == "****"
    assert data["rabbit"]["password"] == "****"
    assert data["rabbit"]["hosts"] == ["rabbit.example.com:5671"]
    assert r.stdout.startswith("# profile prod (")


def test_show_json_after_env_overrides(tmp_path: Path) -> None:
    path = local_file(tmp_path)
    r = mqcli(
        "config",
        "show",
        "-o",
        "json",
        env={"MQCLI_KAFKA_BOOTSTRAP_SERVERS": "e:1,f:2", "MQCLI_KAFKA_PASSWORD": "env-secret-789"},
    )
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["name"], data["source"]) == ("dev", str(path))
    assert data["kafka"]["bootstrap_servers"] == ["e:1", "f:2"]
    assert data["kafka"]["password"] == "****"
    assert "env-secret-789" not in r.stdout


def test_show_profile_precedence(tmp_path: Path) -> None:
    local_file(tmp_path)
    assert json.loads(mqcli("config", "show", "-o", "json").stdout)["name"] == "dev"
    assert json.loads(mqcli("-P", "prod", "config", "show", "-o", "json").stdout)["name"] == "prod"
    env = {"MQCLI_PROFILE": "prod"}
    assert json.loads(mqcli("config", "show", "-o", "json", env=env).stdout)["name"] == "prod"
    assert json.loads(mqcli("config", "show", "dev", "-o", "json", env=env).stdout)["name"] == "dev"


def test_show_builtin_without_file() -> None:
    r = mqcli("config", "show")
    assert r.exit_code == 0
    data = yaml.safe_load(r.stdout)
    assert data["kafka"]["bootstrap_servers"] == ["localhost:9092"]
    assert data["rabbit"]["hosts"] == ["localhost:5672"]
    assert "built-in" in r.stdout.splitlines()[0]


def test_show_unknown_profile_exits_3(tmp_path: Path) -> None:
    local_file(tmp_path)
    r = mqcli("config", "show", "stage")
    assert r.exit_code == 3
    assert r.stdout == ""
    assert (
        r.stderr
        == "mqcli: error: unknown profile 'stage' in " + str(tmp_path / "mqcli.yaml") + " (available: dev, prod)\n"
    )


def test_show_bad_env_value_exits_3(tmp_path: Path) -> None:
    r = mqcli("config", "show", env={"MQCLI_KAFKA_PRODUCER_ACKS": "2"})
    assert r.exit_code == 3
    assert r.stderr.startswith("mqcli: error: $MQCLI_KAFKA_PRODUCER_ACKS: invalid value '2'")


# -- validate -----------------------------------------------------------------------------


def test_validate_ok(tmp_path: Path) -> None:
    path = local_file(tmp_path)
    r = mqcli("config", "validate")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", f"ok: {path} (2 profiles)\n")


def test_validate_without_file() -> None:
    r = mqcli("config", "validate")
    assert r.exit_code == 0 and r.stdout == ""
    assert "using the built-in profile 'local'" in r.stderr


def test_validate_reports_file_line_and_key(tmp_path: Path) -> None:
    path = local_file(tmp_path, "profiles:\n  prod:\n    kafka:\n      bootstrap_server: x:1\n")
    r = mqcli("config", "validate")
    assert r.exit_code == 3
    assert r.stdout == ""
    assert (
        r.stderr
        == f"mqcli: error: {path}:4: profiles.prod.kafka.bootstrap_server: unknown key (did you mean bootstrap_servers?)\n"
    )


def test_validate_checks_every_profile_and_missing_vars(tmp_path: Path) -> None:
    path = local_file(tmp_path, "default: a\nprofiles:\n  a: {}\n  b:\n    rabbit:\n      password: ${UNSET_VAR_X}\n")
    assert mqcli("config", "show").exit_code == 0  # the chosen profile is fine
    r = mqcli("config", "validate")
    assert r.exit_code == 3
    # (The root error boundary's mask_secrets turns "password: environment" into "password: ****".)
    assert r.stderr.startswith(f"mqcli: error: {path}:6: profiles.b.rabbit.password: ")
    assert "variable UNSET_VAR_X is not set" in r.stderr


def test_validate_malformed_yaml(tmp_path: Path) -> None:
    path = local_file(tmp_path, "profiles:\n  a: {kafka: [\n")
    r = mqcli("config", "validate")
    assert r.exit_code == 3
    assert r.stderr.startswith(f"mqcli: error: {path}:3: invalid YAML: ")
    assert "Traceback" not in r.stderr


def test_validate_explicit_path_and_missing_file(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("profiles:\n  x: {}\n")
    r = mqcli("config", "validate", str(other))
    assert (r.exit_code, r.stderr) == (0, f"ok: {other} (1 profile)\n")
    r = mqcli("--config", str(tmp_path / "missing.yaml"), "config", "validate")
    assert r.exit_code == 3 and "config file not found" in r.stderr


def test_validate_warns_about_readable_secrets(tmp_path: Path) -> None:
    path = local_file(tmp_path, "profiles:\n  a:\n    rabbit: {password: hunter2}\n")
    path.chmod(0o644)
    r = mqcli("config", "validate")
    assert r.exit_code == 0
    assert "mqcli: warning: " in r.stderr and "chmod 600" in r.stderr
    assert "hunter2" not in r.stderr


# -- init --------------------------------------------------------------------------------------


def test_init_writes_starter_to_xdg(tmp_path: Path) -> None:
    r = mqcli("config", "init")
    target = tmp_path / "xdg" / "mqcli" / "config.yaml"
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", f"wrote {target}\n")
    assert target.read_text() == STARTER_CONFIG
    assert target.stat().st_mode & 0o777 == 0o600
    r = mqcli("config", "validate")  # the new file is found and valid
    assert (r.exit_code, r.stderr) == (0, f"ok: {target} (1 profile)\n")


def test_init_refuses_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("keep me")
    r = mqcli("config", "init", str(target))
    assert r.exit_code == 3
    assert "already exists" in r.stderr and "--force" in r.stderr
    assert target.read_text() == "keep me"
    r = mqcli("config", "init", str(target), "--force")
    assert r.exit_code == 0
    assert target.read_text() == STARTER_CONFIG


def test_init_to_stdout() -> None:
    r = mqcli("config", "init", "-")
    assert (r.exit_code, r.stdout, r.stderr) == (0, STARTER_CONFIG, "")


# -- help ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["list", "show", "validate", "init"])
def test_help_has_an_example(verb: str) -> None:
    r = mqcli("config", verb, "--help")
    assert r.exit_code == 0
    assert f"Example: mqcli config {verb}" in r.stdout


def test_group_help() -> None:
    r = mqcli("config", "--help")
    assert r.exit_code == 0 and "Example: mqcli config show prod" in r.stdout
