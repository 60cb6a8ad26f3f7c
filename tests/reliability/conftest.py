"""Fixtures for the fault tests: broker control through the project's own
tooling (brokers/rabbitmq.sh stop|start|restart|status, and
brokers/rabbitmq-node2.sh for a second, private node), AMQP helpers that
survive a broker restart, and a place to record the measured figures.

Every test that stops a broker gets it back running (and accepting clients)
in a finalizer, whatever happened in the test.  A broker that is not running
when such a test starts FAILS the test (never skips); so does a second node
that cannot be started.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import pika
import pytest

from tests.rabbit.conftest import _params

ROOT = Path(__file__).resolve().parents[2]
RABBITMQ_SH = ROOT / "brokers" / "rabbitmq.sh"
RABBITMQ_NODE2_SH = ROOT / "brokers" / "rabbitmq-node2.sh"
NODE2_PORT = 5682  # brokers/rabbitmq-node2.sh
RABBIT_FIGURES = ROOT / ".brokers" / "reliability-rabbit.json"


def node2_params() -> pika.ConnectionParameters:
    """Like tests.rabbit.conftest._params, for the second node."""
    params = _params()
    params.port = NODE2_PORT
    return params


# -- RabbitMQ control ------------------------------------------------------------
class RabbitBroker:
    """brokers/rabbitmq.sh (or rabbitmq-node2.sh), timed: what the fault tests do to a broker."""

    def __init__(self, script: Path = RABBITMQ_SH) -> None:
        self.script = script
        self.stopped_at: float | None = None
        self.log: list[str] = []

    def _run(self, action: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        p = subprocess.run(
            [str(self.script), action], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
        self.log.append(
            f"{action}: exit {p.returncode} in {time.monotonic() - started:.1f}s {p.stdout.strip()} {p.stderr.strip()}"
        )
        return p

    def is_up(self) -> bool:
        return self._run("status", timeout=60).returncode == 0

    def stop(self) -> None:
        self.stopped_at = time.monotonic()
        p = self._run("stop")
        assert p.returncode == 0, f"brokers/{self.script.name} stop failed: {p.stdout}{p.stderr}"

    def start(self) -> None:
        # `start` returns once AMQP clients are accepted (and await_startup passed).
        p = self._run("start")
        if p.returncode != 0:
            pytest.fail(f"brokers/{self.script.name} start failed: {p.stdout}{p.stderr}", pytrace=False)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def rabbit_broker() -> Iterator[RabbitBroker]:
    """The local RabbitMQ, to stop and start; always running again afterwards."""
    broker = RabbitBroker()
    if not broker.is_up():
        pytest.fail("RabbitMQ is not running on 127.0.0.1:5672; start it with `make brokers`", pytrace=False)
    yield broker
    if not broker.is_up():
        broker.start()
    # Whatever the test did, the next one (and other engineers) find a working broker.
    deadline = time.monotonic() + 120
    while not _accepts_clients():
        if time.monotonic() > deadline:
            pytest.fail("RabbitMQ does not accept clients after the fault test: " + " | ".join(broker.log))
        time.sleep(0.5)


def _accepts_clients(params: Callable[[], pika.ConnectionParameters] = _params) -> bool:
    try:
        pika.BlockingConnection(params()).close()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def _node2_session() -> Iterator[RabbitBroker]:
    """The second node, started for this session when it is not running
    (failing, never skipping, when it cannot start) and stopped again at
    the end if this session started it."""
    broker = RabbitBroker(RABBITMQ_NODE2_SH)
    started = not broker.is_up()
    if started:
        broker.start()
    yield broker
    if started:
        broker._run("stop")


@pytest.fixture
def rabbit_node2(_node2_session: RabbitBroker) -> Iterator[RabbitBroker]:
    """A second RabbitMQ node (rabbit2@localhost on 127.0.0.1:5682, not
    clustered): private to the fault tests, which may stop and restart it
    freely.  Running (and accepting clients) before and after each test."""
    broker = _node2_session
    broker.log.clear()
    if not broker.is_up():
        broker.start()
    yield broker
    if not _accepts_clients(node2_params):
        broker.start()


@pytest.fixture
def rabbit_up() -> None:
    """Fail (not skip) a test that needs RabbitMQ when it is not reachable."""
    if not _accepts_clients():
        pytest.fail("RabbitMQ is not reachable on 127.0.0.1:5672; start it with `make brokers`", pytrace=False)


# -- AMQP helpers that open a fresh connection for every call ----------------------
class Rabbit:
    """Setup and checks with short-lived connections, so a broker restart in
    the middle of a test does not break them.  Deletes what it declared."""

    def __init__(self, params: Callable[[], pika.ConnectionParameters] = _params) -> None:
        self.params = params
        self.queues: list[str] = []
        self.exchanges: list[str] = []

    def _with(self, fn: Callable[[Any], Any]) -> Any:
        conn = pika.BlockingConnection(self.params())
        try:
            return fn(conn.channel())
        finally:
            try:
                conn.close()
            except Exception:
                pass

    def queue(self, name: str, **arguments: Any) -> str:
        self._with(lambda ch: ch.queue_declare(name, durable=True, arguments=arguments or None))
        self.queues.append(name)
        return name

    def exchange(self, name: str, kind: str = "fanout") -> str:
        self._with(lambda ch: ch.exchange_declare(name, exchange_type=kind, durable=True))
        self.exchanges.append(name)
        return name

    def publish(self, queue: str, *bodies: str) -> None:
        def send(ch: Any) -> None:
            ch.confirm_delivery()
            for b in bodies:
                ch.basic_publish("", queue, b.encode(), pika.BasicProperties(delivery_mode=2))

        self._with(send)

    def count(self, queue: str) -> int:
        return self._with(lambda ch: ch.queue_declare(queue, passive=True).method.message_count)

    def consumers(self, queue: str) -> int:
        return self._with(lambda ch: ch.queue_declare(queue, passive=True).method.consumer_count)

    def wait(self, what: Callable[[], bool], timeout: float = 30, message: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not what():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {message}")
            time.sleep(0.05)

    def drain(self, queue: str) -> list[bytes]:
        """Every ready message of `queue`, removed (fast: consume with a large prefetch)."""

        def take(ch: Any) -> list[bytes]:
            n = ch.queue_declare(queue, passive=True).method.message_count
            out: list[bytes] = []
            if n == 0:
                return out
            ch.basic_qos(prefetch_count=2000)
            for method, _props, body in ch.consume(queue, auto_ack=True, inactivity_timeout=5):
                if method is None:
                    break
                out.append(body)
                if len(out) >= n:
                    break
            ch.cancel()
            return out

        return self._with(take)

    def cleanup(self) -> None:
        try:

            def delete(ch: Any) -> None:
                for q in self.queues:
                    ch.queue_delete(q)
                for x in self.exchanges:
                    ch.exchange_delete(x)

            self._with(delete)
        except Exception:
            pass


@pytest.fixture
def rabbit(unique_name: Callable[[str], str]) -> Iterator[Rabbit]:
    r = Rabbit()
    yield r
    r.cleanup()


@pytest.fixture
def rabbit2(rabbit_node2: RabbitBroker) -> Iterator[Rabbit]:
    """Rabbit for the second node (which `rabbit_node2` keeps running)."""
    r = Rabbit(node2_params)
    yield r
    if not _accepts_clients(node2_params):  # the test stopped it: back first, to delete what it declared
        rabbit_node2.start()
    r.cleanup()


def write_profile(path: Path, *ports: int) -> None:
    """./mqcli.yaml with one default profile whose RabbitMQ hosts are 127.0.0.1:PORT..., tried in order."""
    hosts = ", ".join(f'"127.0.0.1:{port}"' for port in ports)
    path.write_text(
        "default: nodes\n"
        "profiles:\n"
        "  nodes:\n"
        "    rabbit:\n"
        f"      hosts: [{hosts}]\n"
        "      username: guest\n"
        "      password: guest\n"
    )


# -- feeding stdin -------------------------------------------------------------------
def feed(stream: IO[bytes], lines: Iterable[bytes]) -> threading.Thread:
    """Write `lines` to a child's stdin on a thread; stops quietly when the child is gone."""

    def run() -> None:
        try:
            for chunk in lines:
                stream.write(chunk)
            stream.close()
        except (BrokenPipeError, OSError, ValueError):
            pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def numbered_lines(n: int, batch: int = 1000) -> Iterator[bytes]:
    """'1\\n2\\n...n\\n' in chunks: line i holds the number i (its input line number)."""
    for start in range(1, n + 1, batch):
        yield "".join(f"{i}\n" for i in range(start, min(start + batch, n + 1))).encode()


# -- figures ---------------------------------------------------------------------------
@pytest.fixture
def record_rabbit_figures(request: pytest.FixtureRequest) -> Callable[[str, dict[str, Any]], None]:
    """record("publisher-restart", {...}): print the figures (visible with -s)
    and merge them into .brokers/reliability-rabbit.json for the README."""

    def record(scenario: str, figures: dict[str, Any]) -> None:
        entry = {**figures, "test": request.node.nodeid, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        print(f"\nreliability figures [{scenario}]: {json.dumps(figures, sort_keys=True)}")
        RABBIT_FIGURES.parent.mkdir(parents=True, exist_ok=True)
        try:
            data = json.loads(RABBIT_FIGURES.read_text())
        except (OSError, ValueError):
            data = {}
        data[scenario] = entry
        tmp = RABBIT_FIGURES.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(RABBIT_FIGURES)

    return record


# -- background mqcli processes -------------------------------------------------------
@pytest.fixture
def mqcli_bg() -> Iterator[Callable[..., Any]]:
    """mqcli_bg("rabbit", "consume", q, stdin=subprocess.PIPE) -> a running
    tests.rabbit.conftest.Proc; killed (SIGKILL) after the test if still running."""
    from tests.rabbit.conftest import Proc

    procs: list[Proc] = []

    def start(*args: str, stdin: Any = subprocess.DEVNULL) -> Proc:
        proc = Proc(args, stdin=stdin)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (an AMQP handshake hangs)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join(5)
    for c in conns:
        c.close()
    srv.close()
