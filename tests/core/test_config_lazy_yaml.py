"""Loading the profile without a config file does not import PyYAML (it costs
a one-shot command ~20 ms); with a file it does, and reads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

CODE = (
    "import sys\n"
    "from mqcli.core.config import resolve_profile\n"
    "p = resolve_profile(env={'HOME': sys.argv[1], 'XDG_CONFIG_HOME': sys.argv[1]})\n"
    "print(p.name, 'yaml' in sys.modules)\n"
)


def _run(cwd: Path, home: Path) -> str:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", CODE, str(home)], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_no_config_file_no_yaml(tmp_path: Path) -> None:
    assert _run(tmp_path, tmp_path) == "local False"


def test_config_file_is_read_with_yaml(tmp_path: Path) -> None:
    (tmp_path / "mqcli.yaml").write_text("profiles:\n  dev:\n    kafka:\n      bootstrap_servers: [h:9092]\n")
    assert _run(tmp_path, tmp_path) == "dev True"
