"""The CLI as a whole: help texts, lazy imports, the error boundary, completions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from mqcli.cli.app import app
from mqcli.cli.completions import SHELLS, script
from tests.conftest import ROOT, run_mqcli


def _commands(group, path=()):  # type: ignore[no-untyped-def]
    for name, cmd in sorted(group.commands.items()):
        if hasattr(cmd, "commands"):
            yield path + (name,), cmd
            yield from _commands(cmd, path + (name,))
        else:
            yield path + (name,), cmd


ALL_COMMANDS = list(_commands(typer.main.get_command(app)))


def test_the_command_tree_has_both_broker_groups() -> None:
    paths = {" ".join(p) for p, _ in ALL_COMMANDS}
    assert {"kafka", "rabbit", "config", "ping"} <= paths


@pytest.mark.parametrize("path, cmd", ALL_COMMANDS, ids=[" ".join(p) for p, _ in ALL_COMMANDS])
def test_every_command_has_help_with_an_example(path: tuple[str, ...], cmd: object) -> None:
    help_text = getattr(cmd, "help", None) or ""
    assert help_text.strip(), f"mqcli {' '.join(path)} has no help text"
    assert "Example" in help_text, f"mqcli {' '.join(path)}: help text has no 'Example:'"


def _imported_modules(*args: str) -> set[str]:
    code = (
        "import sys\n"
        "from mqcli.cli.app import app\n"
        f"try:\n    app({list(args)!r})\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('MODULES ' + ' '.join(sorted(sys.modules)) + '\\n')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, stdin=subprocess.DEVNULL, check=False
    )
    line = [x for x in out.stderr.splitlines() if x.startswith("MODULES ")]
    assert line, out.stderr
    return set(line[0].split()[1:])


KAFKA_CLIENTS = {"kafka", "confluent_kafka"}  # kafka-python, and confluent-kafka (the librdkafka engine)
VERB_MODULES = {
    "mqcli.cli.kafka.produce",
    "mqcli.cli.kafka.consume",
    "mqcli.cli.kafka.topics",
    "mqcli.cli.rabbit.publish",
    "mqcli.cli.rabbit.consume",
    "mqcli.cli.rabbit.rpc",
    "mqcli.cli.config.show",
}


def test_help_imports_only_what_it_shows() -> None:
    # Subcommands are imported and built on first use (mqcli.cli.lazy).
    top = _imported_modules("--help")
    assert "mqcli.cli.kafka" in top and "mqcli.cli.rabbit" in top  # listed, with their help
    assert not top & VERB_MODULES, top & VERB_MODULES
    # Nor the config loader (and YAML), nor Rich: help is plain Click output;
    # nor pydantic (typer 0.29 imported it for every subcommand: ~150 ms).
    assert not top & {"mqcli.core.config", "yaml", "rich", "pydantic"}
    produce = _imported_modules("kafka", "produce", "--help")
    assert "mqcli.cli.kafka.produce" in produce
    assert not produce & (VERB_MODULES - {"mqcli.cli.kafka.produce"})
    assert not produce & {"mqcli.core.config", "yaml", "rich", "pydantic"}


def test_help_imports_no_broker_client() -> None:
    mods = _imported_modules("--help")
    assert not mods & KAFKA_CLIENTS and "pika" not in mods
    assert not _imported_modules("kafka", "--engine", "librdkafka", "--help") & KAFKA_CLIENTS
    for path, _ in ALL_COMMANDS:
        if path[0] == "rabbit":
            assert not _imported_modules(*path, "--help") & KAFKA_CLIENTS, path


def test_rabbit_commands_never_import_kafka_and_kafka_commands_never_import_pika() -> None:
    rabbit = _imported_modules("--connect-timeout", "1s", "ping", "--rabbit")
    kafka = _imported_modules("--connect-timeout", "1s", "ping", "--kafka")
    assert "pika" in rabbit and not rabbit & KAFKA_CLIENTS
    assert kafka & KAFKA_CLIENTS and "pika" not in kafka  # the engine's client only


def test_each_kafka_engine_imports_only_its_own_library() -> None:
    args = ("--connect-timeout", "1s", "kafka", "--engine")
    rd = _imported_modules(*args, "librdkafka", "topics", "list")
    kp = _imported_modules(*args, "kafka-python", "topics", "list")
    assert "confluent_kafka" in rd and "kafka" not in rd and "pika" not in rd
    assert "kafka" in kp and "confluent_kafka" not in kp and "pika" not in kp


def test_unknown_option_is_a_usage_error(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("ping", "--no-such-option")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert "--no-such-option" in r.stderr


def test_config_error_is_one_line_and_exit_3(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.yaml").write_text("profiles: [\n")
    r = cli("--config", str(tmp_path / "bad.yaml"), "ping")
    assert r.exit_code == 3
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mqcli: error:"), r.stderr
    assert "Traceback" not in r.stderr


def test_debug_shows_traceback_with_secrets_masked(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "profiles:\n  p:\n    rabbit:\n      url: amqp://bob:TopSecret99@127.0.0.1:1/\n      connection_timeout: 1s\n"
    )
    cfg.chmod(0o600)
    r = cli("--debug", "--config", str(cfg), "ping", "--rabbit")
    assert r.exit_code == 4
    assert "Traceback" in r.stderr
    assert "TopSecret99" not in r.stderr + r.stdout
    assert "127.0.0.1:1" in r.stderr


def test_version(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("--version")
    assert r.exit_code == 0 and r.stdout.startswith("mqcli ")


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_scripts_are_current(shell: str) -> None:
    committed = (ROOT / "completions" / f"mqcli.{shell}").read_text()
    assert committed == script(shell), "completions/ is stale: run `make completions`"


def test_profile_names_complete_from_the_config(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("default: staging\nprofiles:\n  staging: {}\n  prod: {}\n  production-eu: {}\n")
    done = run_mqcli(
        [],
        env={
            "_MQCLI_COMPLETE": "complete_bash",
            "COMP_WORDS": "mqcli --profile pro",
            "COMP_CWORD": "2",
            "MQCLI_CONFIG": str(cfg),
        },
    )
    assert set(done.stdout.decode().split()) == {"prod", "production-eu"}


def test_core_never_imports_typer_or_rich() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import mqcli.core as core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'mqcli.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    mods = set(out.stdout.split())
    assert "mqcli" in mods
    assert "typer" not in mods and "rich" not in mods and "click" not in mods
