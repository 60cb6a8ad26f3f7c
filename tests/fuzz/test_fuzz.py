"""A bounded coverage-guided fuzzing run over the input parsers (see fuzz_inputs.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_fuzzing_run_finds_no_undocumented_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.fuzz_inputs",
            "-runs=100000",
            "-max_len=512",
            "-seed=1",
            f"-artifact_prefix={tmp_path}/",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    tail = done.stderr[-3000:]
    assert done.returncode == 0, tail
    assert "Done 100000 runs" in done.stderr, tail
