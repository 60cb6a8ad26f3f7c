"""Fixtures for the RabbitMQ tests: a real broker on 127.0.0.1:5672 (`make brokers`).

A missing broker FAILS the session (never skips).  Queues and exchanges get
unique names per test and are deleted afterwards.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pika
import pytest

ROOT = Path(__file__).resolve().parents[2]
TLS_DIR = ROOT / ".brokers" / "tls"
HOST, PORT = "127.0.0.1", 5672


def _params() -> pika.ConnectionParameters:
    return pika.ConnectionParameters(
        host=HOST,
        port=PORT,
        credentials=pika.PlainCredentials("guest", "guest"),
        socket_timeout=5,
        stack_timeout=5,
        connection_attempts=1,
        heartbeat=60,
    )


@pytest.fixture(scope="session", autouse=True)
def rabbitmq_broker() -> None:
    """Fail (not skip) the session when RabbitMQ does not answer."""
    try:
        pika.BlockingConnection(_params()).close()
    except Exception as e:  # any failure to connect means the tests cannot run
        pytest.fail(
            f"RabbitMQ is not reachable on {HOST}:{PORT} ({type(e).__name__}: {e}); start it with `make brokers`",
            pytrace=False,
        )


class Amqp:
    """A plain pika connection for setting up and checking what mqcli did."""

    def __init__(self) -> None:
        self.conn = pika.BlockingConnection(_params())
        self.ch = self.conn.channel()
        self.queues: list[str] = []
        self.exchanges: list[str] = []

    def channel(self) -> Any:
        if not self.ch.is_open:
            self.ch = self.conn.channel()
        return self.ch

    def queue(self, name: str, **arguments: Any) -> str:
        self.channel().queue_declare(name, durable=True, arguments=arguments or None)
        self.queues.append(name)
        return name

    def exchange(self, name: str, kind: str = "direct") -> str:
        self.channel().exchange_declare(name, exchange_type=kind, durable=True)
        self.exchanges.append(name)
        return name

    def publish(self, queue: str, body: bytes | str, **props: Any) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.channel().basic_publish("", queue, data, pika.BasicProperties(**props))

    def get_all(self, queue: str) -> list[tuple[Any, Any, bytes]]:
        """Every ready message of `queue` (acknowledged)."""
        out = []
        while True:
            method, props, body = self.channel().basic_get(queue, auto_ack=True)
            if method is None:
                return out
            out.append((method, props, body))

    def bodies(self, queue: str) -> list[str]:
        return [b.decode() for _m, _p, b in self.get_all(queue)]

    def count(self, queue: str) -> int:
        return self.channel().queue_declare(queue, passive=True).method.message_count

    def wait_count(self, queue: str, n: int, timeout: float = 15) -> int:
        deadline = time.monotonic() + timeout
        while True:
            c = self.count(queue)
            if c >= n or time.monotonic() > deadline:
                return c
            time.sleep(0.05)

    def cleanup(self) -> None:
        try:
            ch = self.conn.channel()
            for q in self.queues:
                ch.queue_delete(q)
            for x in self.exchanges:
                ch.exchange_delete(x)
            self.conn.close()
        except Exception:
            pass


@pytest.fixture
def amqp() -> Iterator[Amqp]:
    a = Amqp()
    yield a
    a.cleanup()


@pytest.fixture
def queue(amqp: Amqp, unique_name: Callable[[str], str]) -> Callable[..., str]:
    """queue() -> the name of a fresh durable queue, deleted after the test."""

    def make(prefix: str = "q", **arguments: Any) -> str:
        return amqp.queue(unique_name(prefix), **arguments)

    return make


@pytest.fixture
def exchange(amqp: Amqp, unique_name: Callable[[str], str]) -> Callable[..., str]:
    def make(kind: str = "direct", prefix: str = "x") -> str:
        return amqp.exchange(unique_name(prefix), kind)

    return make


def mqcli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra or {})
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Proc:
    """A background `python -m mqcli` whose stderr is collected as it comes."""

    def __init__(self, args: Sequence[str], *, stdin: Any = subprocess.DEVNULL) -> None:
        self.p = subprocess.Popen(
            [sys.executable, "-m", "mqcli", *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=mqcli_env(),
            start_new_session=True,
        )
        self.err_lines: list[str] = []
        self._out = b""  # stdout read by wait_stdout_lines, before finish() reads the rest
        self._t = threading.Thread(target=self._read_err, daemon=True)
        self._t.start()

    def _read_err(self) -> None:
        assert self.p.stderr is not None
        for line in iter(self.p.stderr.readline, b""):
            self.err_lines.append(line.decode(errors="replace"))

    def wait_stderr(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.err_lines):
            if self.p.poll() is not None and not any(text in line for line in self.err_lines):
                time.sleep(0.1)
                if not any(text in line for line in self.err_lines):
                    raise AssertionError(
                        f"mqcli exited ({self.p.returncode}) before printing {text!r}: {''.join(self.err_lines)}"
                    )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} on stderr within {timeout}s: {''.join(self.err_lines)}")
            time.sleep(0.05)

    def wait_stdout_lines(self, n: int, timeout: float = 20) -> None:
        """Until `n` lines were written to stdout (kept for finish())."""
        assert self.p.stdout is not None
        fd = self.p.stdout.fileno()
        deadline = time.monotonic() + timeout
        while self._out.count(b"\n") < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                got = self._out.count(b"\n")
                raise AssertionError(f"{got} of {n} lines on stdout within {timeout}s: {''.join(self.err_lines)}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"mqcli closed stdout after {self._out!r}: {''.join(self.err_lines)}")
            self._out += chunk

    def finish(self, timeout: float = 60) -> tuple[int, bytes, str]:
        # Not communicate(): the stderr pipe belongs to the reader thread.
        assert self.p.stdout is not None
        box: list[bytes] = []
        reader = threading.Thread(target=lambda: box.append(self.p.stdout.read()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        self.p.wait(timeout=timeout)
        reader.join(timeout=30)
        self._t.join(timeout=5)
        out = self._out + (box[0] if box else b"")
        return self.p.returncode, out, "".join(self.err_lines)

    def kill(self) -> None:
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, 9)
            except ProcessLookupError:
                pass
        self.p.wait(timeout=10)


@pytest.fixture
def start_mqcli() -> Iterator[Callable[..., Proc]]:
    procs: list[Proc] = []

    def start(*args: str, stdin: Any = subprocess.DEVNULL) -> Proc:
        proc = Proc(args, stdin=stdin)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/rabbit needs the broker: mark it `rabbit` (-m 'not rabbit' deselects)."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.rabbit)
