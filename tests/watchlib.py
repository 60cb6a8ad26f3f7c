"""Helpers of the `--watch` tests: a running mqcli whose stdout is a pipe (JSON
Lines) or a pseudo-terminal (the live table), read as it comes, stopped with SIGINT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.conftest import ROOT


class Watching:
    def __init__(self, args: list[str], *, tty: bool = False, env: dict[str, str] | None = None) -> None:
        full = dict(os.environ)
        full.update(env or {})
        full["PYTHONPATH"] = str(ROOT) + os.pathsep + full.get("PYTHONPATH", "")
        self.out = b""
        self.err = b""
        self._master: int | None = None
        if tty:
            self._master, slave = os.openpty()
            stdout: Any = slave
        else:
            stdout = subprocess.PIPE
        self.p = subprocess.Popen(
            [sys.executable, "-m", "mqcli", *args],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=full,
            start_new_session=True,
        )
        if tty:
            os.close(slave)
        self._threads = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _read_out(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536) if self._master is not None else self.p.stdout.read1()  # type: ignore[union-attr]
            except OSError:  # the pty's other end closed
                return
            if not chunk:
                return
            self.out += chunk

    def _read_err(self) -> None:
        assert self.p.stderr is not None
        for line in iter(self.p.stderr.readline, b""):
            self.err += line

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", errors="replace")

    def records(self) -> list[dict[str, Any]]:
        """The complete JSON Lines read so far."""
        lines = self.text.split("\n")[:-1]
        return [json.loads(line) for line in lines if line.strip()]

    def until(self, check: Callable[[], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert self.p.poll() is None, f"exited {self.p.returncode}: {self.err.decode()} {self.text[-2000:]}"
            assert time.monotonic() < deadline, f"not seen in {timeout}s: {self.err.decode()} {self.text[-3000:]}"
            time.sleep(0.1)

    def interrupt(self, timeout: float = 20) -> int:
        """SIGINT (Ctrl-C), then the exit code."""
        self.p.send_signal(signal.SIGINT)
        try:
            rc = self.p.wait(timeout=timeout)
        finally:
            self.kill()
        for t in self._threads:
            t.join(timeout=5)
        return rc

    def kill(self) -> None:
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait(timeout=10)
        if self._master is not None:
            try:
                os.close(self._master)
            except OSError:
                pass
            self._master = None
