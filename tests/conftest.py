"""Shared fixtures: isolation for every test, in-process and subprocess runners,
unique names for topics and queues."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No user config, no MQCLI_* settings, no colour, fixed width, temp cwd."""
    for name in list(os.environ):
        if name.startswith("MQCLI_"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes


@pytest.fixture
def cli() -> Callable[..., Run]:
    """Run mqcli in-process: cli("kafka", "produce", topic, input=b"a\\nb\\n")."""
    from mqcli.cli.app import app

    runner = CliRunner()

    def run(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Run:
        result = runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr, result.stdout_bytes)

    return run


def run_mqcli(
    args: Sequence[str],
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m mqcli` in a real subprocess, with real pipes."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "mqcli", *args],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def mqcli_proc() -> Callable[..., subprocess.CompletedProcess[bytes]]:
    return run_mqcli


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """unique_name("orders") -> 'orders-test_x-1a2b3c4d': fresh per test, readable in broker listings."""

    def make(prefix: str = "t") -> str:
        test = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40].strip("-")
        return f"mqcli-{prefix}-{test}-{uuid.uuid4().hex[:8]}"

    return make
