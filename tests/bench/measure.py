"""Run one command and measure it: wall time, exit code and peak RSS.

Peak RSS comes from the kernel's rusage of a reaped child (`ru_maxrss`, KiB):
Linux reports the largest RSS of that process *and of every descendant it
waited for*, so `brokers/kafka.sh tool` (bash waiting for java) reports the
JVM's peak.  It is a maximum over the process tree, not a sum.

A child's ru_maxrss starts at the RSS of the process that forked it, so the
command is never forked by this (large) runner directly: it runs under GNU
`time -f %M` when that is installed (Debian package `time`, ~2 MB), else under
rss_wrap.py in a fresh `python -I -S` (~8 MB).  Figures below that floor are
upper bounds (only kcat's are that small); the report names the method.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass
class Proc:
    """What one measured command did."""

    cmd: list[str]
    rc: int
    wall: float  # seconds, from just before fork to reaping
    maxrss_kb: int
    stdout: bytes  # only when captured (else b"")
    stderr: bytes  # the tail, for error messages
    timed_out: bool = False
    # CPU seconds (user + system) of the process tree, the measuring wrapper's
    # own included (GNU time: ~1 ms; the python wrapper: ~10 ms).  Steadier
    # than wall time on a shared machine: waiting for a core does not count.
    cpu: float = 0.0

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out

    def error(self) -> str:
        """One line saying why the command failed (for the report)."""
        if self.timed_out:
            why = f"timed out after {self.wall:.0f}s"
        else:
            why = f"exit {self.rc}"
        tail = self.stderr.decode("utf-8", "replace").strip().splitlines()
        # The last non-empty stderr line is nearly always the useful one.
        last = next((line.strip() for line in reversed(tail) if line.strip()), "")
        return f"{why}: {last[:200]}" if last else why


STDERR_TAIL = 4000
WRAP = str(Path(__file__).resolve().parent / "rss_wrap.py")


def _gnu_time() -> str | None:
    path = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    if not path:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if b"GNU" in out.stdout + out.stderr else None


GNU_TIME = _gnu_time()
RSS_METHOD = "GNU time %M" if GNU_TIME else "wait4() in a python -I -S wrapper"


def _wrapped(cmd: list[str], out: str) -> list[str]:
    if GNU_TIME:
        return [GNU_TIME, "-f", "%M", "-o", out, *cmd]
    return [sys.executable, "-I", "-S", WRAP, out, *cmd]


def _read_rss(path: str) -> tuple[int, float | None]:
    """(peak RSS KiB, wall s if the wrapper measured it) from the wrapper's file."""
    try:
        lines = Path(path).read_text().strip().splitlines()
    except OSError:
        return 0, None
    for line in reversed(lines):  # GNU time may write "Command exited with ..." first
        parts = line.split()
        if parts and parts[0].isdigit():
            return int(parts[0]), float(parts[1]) if len(parts) > 1 else None
    return 0, None


class Started:
    """A command started in its own session, measured when reaped."""

    def __init__(
        self,
        cmd: Sequence[str],
        *,
        stdin: int | IO[bytes] | None = subprocess.DEVNULL,
        stdout: int | IO[bytes] | None = subprocess.DEVNULL,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> None:
        self.cmd = [str(c) for c in cmd]
        # stderr goes to a file: a pipe nobody reads could fill and stall the child.
        self._err = tempfile.TemporaryFile()
        fd, self._rss_file = tempfile.mkstemp(prefix="mqcli-bench-rss-")
        os.close(fd)
        self.t0 = time.perf_counter()
        self.popen = subprocess.Popen(
            _wrapped(self.cmd, self._rss_file),
            stdin=stdin,
            stdout=stdout,
            stderr=self._err,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,  # so a timeout can kill the whole tree
        )
        self.pid = self.popen.pid

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def terminate(self) -> None:
        """SIGTERM the command itself, not its measuring wrapper (which must
        live on to report peak RSS); the group if the command is not found."""
        try:
            kids = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except OSError:
            kids = []
        if not kids:
            self.signal(signal.SIGTERM)
        for kid in kids:
            try:
                os.kill(int(kid), signal.SIGTERM)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float, captured: bytes = b"") -> Proc:
        """Reap the child (killing its group after `timeout` s) and measure it."""
        fired = threading.Event()

        def kill() -> None:
            fired.set()
            self.signal(signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        cpu = 0.0
        try:
            try:
                # wait4, not Popen.wait: the same reaping, plus the tree's CPU time.
                _, status, usage = os.wait4(self.pid, 0)
                rc = self.popen.returncode = os.waitstatus_to_exitcode(status)
                cpu = usage.ru_utime + usage.ru_stime
            except ChildProcessError:  # already reaped by a Popen.poll(): no CPU figure
                rc = self.popen.wait()
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM): never leave a measured process behind.
            self.signal(signal.SIGKILL)
            self.popen.wait()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - self.t0
        maxrss, inner_wall = _read_rss(self._rss_file)
        os.unlink(self._rss_file)
        if inner_wall is not None and not fired.is_set():
            wall = inner_wall  # without the wrapper's own interpreter start-up
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        self._err.seek(0, os.SEEK_END)
        size = self._err.tell()
        self._err.seek(max(0, size - STDERR_TAIL))
        err = self._err.read()
        self._err.close()
        return Proc(self.cmd, rc, wall, maxrss, captured, err, fired.is_set(), cpu)


def run(
    cmd: Sequence[str],
    *,
    stdin_path: str | Path | None = None,
    stdin_bytes: bytes | None = None,
    capture: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 120,
) -> Proc:
    """Run `cmd` to completion; stdout goes to /dev/null unless `capture`."""
    stdin: int | IO[bytes] = subprocess.DEVNULL
    opened: list[IO[bytes]] = []
    if stdin_path is not None:
        stdin = open(stdin_path, "rb")
        opened.append(stdin)
    elif stdin_bytes is not None:
        # A file, not a pipe: the child reads at its own pace and we measure only it.
        tmp = tempfile.TemporaryFile()
        tmp.write(stdin_bytes)
        tmp.seek(0)
        opened.append(tmp)
        stdin = tmp
    out: int | IO[bytes] = subprocess.DEVNULL
    if capture:
        out_file = tempfile.TemporaryFile()
        opened.append(out_file)
        out = out_file
    try:
        started = Started(cmd, stdin=stdin, stdout=out, env=env, cwd=cwd)
        proc = started.wait(timeout)
        if capture:
            out_file.seek(0)
            proc.stdout = out_file.read()
        return proc
    finally:
        for stream in opened:
            stream.close()
