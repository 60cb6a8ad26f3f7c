"""Where the tools under test are and how to call them, plus the broker set-up
helpers (topics, queues, counts) that the scenarios share.

Set-up and checks use kafka-python and pika directly in the runner process:
they are not measured, and they must not depend on the mqcli commands being
benchmarked (a broken `mqcli kafka produce` must not break the kcat rows)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("BROKERS_STATE", ROOT / ".brokers"))
KAFKA_HOST, KAFKA_PORT = "127.0.0.1", 9092
BOOTSTRAP = f"{KAFKA_HOST}:{KAFKA_PORT}"
RABBIT_HOST, RABBIT_PORT = "127.0.0.1", 5672
RABBIT_URL = f"amqp://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/"
KAFKA_SH = ROOT / "brokers" / "kafka.sh"
PERFTEST_POM = Path(__file__).resolve().parent / "perftest" / "pom.xml"
PERFTEST_LIB = STATE / "perftest" / "lib"
# Go peers (issue 15 §4), built from the Go module proxy at exact versions
# (the proxy here refuses @latest and `go install`'s version list lookup).
GO_TOOLS = {
    "kaf": ("github.com/birdayz/kaf", "v0.2.14", "./cmd/kaf"),
    "rabtap": ("github.com/jandelgado/rabtap", "v1.45.0", "./cmd/rabtap"),
}
GO_BIN = STATE / "go" / "bin"
BENCH_DIR = Path(__file__).resolve().parent


class ToolMissing(Exception):
    """A reference tool is not installed or cannot be set up (shown in its row)."""


UNSET_FOR_TOOLS = ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")


@dataclass
class Tools:
    """Commands for every tool, resolved once per run."""

    workdir: Path  # scratch: data files, empty config dir
    python: str = sys.executable
    mqcli: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # for mqcli and helpers
    _perftest_cp: str | None = None
    _perftest_error: str | None = None
    build_go: bool = True  # False: a Go peer not built before is a missing tool
    _go_errors: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        script = Path(self.python).parent / "mqcli"
        # The console script is what users run (and what start-up time means).
        self.mqcli = [str(script)] if script.exists() else [self.python, "-m", "mqcli"]
        cfg = self.workdir / "config"
        cfg.mkdir(parents=True, exist_ok=True)
        # As a user's shell runs them: no MQCLI_* settings, and none of the
        # CI-style PYTHONUNBUFFERED (stdout a raw stream) or
        # PYTHONDONTWRITEBYTECODE (every module compiled again at each start).
        env = {k: v for k, v in os.environ.items() if not k.startswith("MQCLI_") and k not in UNSET_FOR_TOOLS}
        env.update(
            # No user config file: the built-in `local` profile, pointed at
            # 127.0.0.1 (localhost may resolve to ::1 first).
            XDG_CONFIG_HOME=str(cfg),
            MQCLI_KAFKA_BOOTSTRAP_SERVERS=BOOTSTRAP,
            MQCLI_RABBIT_URL=RABBIT_URL,
            NO_COLOR="1",
            PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        )
        self.env = env

    # -- reference tools -------------------------------------------------
    def kcat(self) -> list[str]:
        path = shutil.which("kcat") or shutil.which("kafkacat")
        if not path:
            raise ToolMissing("kcat not installed (make brokers-deps installs it)")
        return [path]

    def kafka_tool(self, cls: str) -> list[str]:
        if not KAFKA_SH.exists() or not (STATE / "kafka" / "lib").is_dir():
            raise ToolMissing("Kafka jars missing (.brokers/kafka/lib): run make brokers")
        if not shutil.which("java"):
            raise ToolMissing("java not installed")
        return ["bash", str(KAFKA_SH), "tool", cls]

    def amqp_tool(self, name: str) -> list[str]:
        path = shutil.which(name)
        if not path:
            raise ToolMissing(f"{name} not installed (Debian amqp-tools)")
        return [path]

    def perftest(self) -> list[str]:
        """`java -cp ... PerfTest`, fetching the jars with mvn the first time."""
        if self._perftest_error:
            raise ToolMissing(self._perftest_error)
        if self._perftest_cp is None:
            try:
                self._perftest_cp = fetch_perftest()
            except ToolMissing as e:
                self._perftest_error = str(e)
                raise
        return ["java", "-cp", self._perftest_cp, "com.rabbitmq.perf.PerfTest"]

    def go_tool(self, name: str) -> list[str]:
        """kaf or rabtap, built once (minutes on 2 cores) into .brokers/go/bin."""
        if name in self._go_errors:
            raise ToolMissing(self._go_errors[name])
        try:
            return [build_go_tool(name, build=self.build_go)]
        except ToolMissing as e:
            self._go_errors[name] = str(e)
            raise

    def helper(self, module: str) -> list[str]:
        """A helper script of this package (pika floor, echo server, probes)."""
        return [self.python, str(BENCH_DIR / f"{module}.py")]


def fetch_perftest() -> str:
    """Copy PerfTest and its dependencies into .brokers/perftest/lib once per pom."""
    if not shutil.which("java"):
        raise ToolMissing("java not installed")
    digest = hashlib.sha256(PERFTEST_POM.read_bytes()).hexdigest()
    stamp = PERFTEST_LIB / ".pom.sha256"
    if not (stamp.exists() and stamp.read_text().strip() == digest):
        if not shutil.which("mvn"):
            raise ToolMissing("mvn not installed (needed once to fetch PerfTest)")
        tmp = PERFTEST_LIB.with_name("lib.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        log = PERFTEST_LIB.parent / "mvn.log"
        with open(log, "wb") as out:
            rc = subprocess.call(
                [
                    "mvn",
                    "-B",
                    "-ntp",
                    "-f",
                    str(PERFTEST_POM),
                    "dependency:copy-dependencies",
                    f"-DoutputDirectory={tmp}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=600,
            )
        if rc != 0:
            raise ToolMissing(f"mvn could not fetch PerfTest (see {log})")
        # Swap in whole, so an interrupted download never looks complete.
        shutil.rmtree(PERFTEST_LIB, ignore_errors=True)
        tmp.rename(PERFTEST_LIB)
        stamp.write_text(digest + "\n")
    return str(PERFTEST_LIB / "*")


def build_go_tool(name: str, build: bool = True) -> str:
    """The path of GO_TOOLS[name]'s binary, building it the first time (per version)."""
    module, version, package = GO_TOOLS[name]
    binary = GO_BIN / f"{name}-{version}"
    if binary.exists():
        return str(binary)
    if not build:
        raise ToolMissing(f"{name} {version} not built (make bench builds it; this run has --no-go-build)")
    if not shutil.which("go"):
        raise ToolMissing(f"{name}: go not installed (needed once to build it)")
    GO_BIN.mkdir(parents=True, exist_ok=True)
    log = GO_BIN.parent / f"{name}-build.log"
    env = dict(os.environ, GOFLAGS="-mod=mod")
    with open(log, "wb") as out:
        got = subprocess.run(
            ["go", "mod", "download", "-json", f"{module}@{version}"],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=600,
            check=False,
        )
        out.write(got.stdout + got.stderr)
        if got.returncode != 0:
            raise ToolMissing(f"{name}: go mod download {module}@{version} failed (see {log})")
        source = json.loads(got.stdout)["Dir"]
        tmp = binary.with_suffix(".tmp")
        rc = subprocess.call(
            ["go", "build", "-o", str(tmp), package],
            cwd=source,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=1800,
        )
    if rc != 0:
        raise ToolMissing(f"{name}: go build failed (see {log})")
    tmp.rename(binary)  # whole, so an interrupted build never looks complete
    return str(binary)


def go_tool_versions() -> dict[str, str]:
    """The Go peers built so far, by name."""
    return {name: v for name, (_m, v, _p) in GO_TOOLS.items() if (GO_BIN / f"{name}-{v}").exists()}


def go_version() -> str | None:
    if not shutil.which("go"):
        return None
    got = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, timeout=30, check=False)
    return got.stdout.strip() or None


def perftest_version() -> str | None:
    for jar in PERFTEST_LIB.glob("perf-test-*.jar"):
        return jar.stem.removeprefix("perf-test-")
    return None


def kafka_version() -> str | None:
    for jar in (STATE / "kafka" / "lib").glob("kafka-clients-*.jar"):
        return jar.stem.removeprefix("kafka-clients-")
    return None


def unique(prefix: str) -> str:
    return f"mqcli-bench-{prefix}-{uuid.uuid4().hex[:8]}"


# -- data -------------------------------------------------------------------
def data_file(workdir: Path, n: int, size: int = 100) -> Path:
    """n lines of exactly `size` bytes each (plus the newline), made once per n."""
    path = workdir / f"lines-{n}x{size}.txt"
    if not path.exists():
        pad = "x" * size
        with open(path, "w", encoding="ascii") as f:
            # Written in chunks: 1M lines as one string would be 100 MB of RAM.
            chunk: list[str] = []
            for i in range(n):
                head = f"{i:010d} "
                chunk.append(head + pad[len(head) :] + "\n")
                if len(chunk) == 10_000:
                    f.write("".join(chunk))
                    chunk.clear()
            f.write("".join(chunk))
    return path


# -- Kafka set-up -----------------------------------------------------------
class KafkaAdmin:
    """Topic create/delete and end offsets, with kafka-python."""

    def __init__(self) -> None:
        from kafka import KafkaAdminClient

        self.admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="mqcli-bench")

    def create(self, topic: str) -> None:
        from kafka.admin import NewTopic

        self.admin.create_topics([NewTopic(topic, 1, 1)])
        # Wait until the leader is known, so the first tool does not pay for it.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.end_offset(topic) is not None:
                return
            time.sleep(0.1)

    def delete(self, topic: str) -> None:
        try:
            self.admin.delete_topics([topic])
        except Exception:
            pass

    def delete_group(self, group: str) -> None:
        # kafka-python 3 names it delete_groups; 2.x delete_consumer_groups.
        delete = getattr(self.admin, "delete_groups", None) or self.admin.delete_consumer_groups
        try:
            delete([group])
        except Exception:
            pass

    def end_offset(self, topic: str) -> int | None:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, client_id="mqcli-bench")
        try:
            tp = TopicPartition(topic, 0)
            return int(consumer.end_offsets([tp])[tp])
        except Exception:
            return None
        finally:
            consumer.close()

    def close(self) -> None:
        self.admin.close()

    @contextmanager
    def topic(self, prefix: str) -> Iterator[str]:
        name = unique(prefix)
        self.create(name)
        try:
            yield name
        finally:
            self.delete(name)


# -- RabbitMQ set-up ----------------------------------------------------------
def rabbit_connection() -> Any:
    import pika

    # No heartbeats: the runner leaves this connection idle while a measured
    # process runs (minutes at the full size), and a blocking pika connection
    # only answers heartbeats when called -- the broker would drop it.
    return pika.BlockingConnection(pika.URLParameters(RABBIT_URL + "?heartbeat=0"))


class RabbitAdmin:
    """Queue declare/delete/count and bulk fill, with pika."""

    def __init__(self) -> None:
        self.conn = rabbit_connection()
        self.ch = self.conn.channel()

    def declare(self, queue: str) -> None:
        self.ch.queue_declare(queue, durable=True)

    def delete(self, queue: str) -> None:
        try:
            self.ch.queue_delete(queue)
        except Exception:
            self._reopen()

    def _reopen(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass
        self.conn = rabbit_connection()
        self.ch = self.conn.channel()

    def counts(self, queue: str) -> tuple[int, int]:
        """(ready messages, consumers)."""
        for attempt in range(2):
            try:
                ok = self.ch.queue_declare(queue, passive=True)
                return ok.method.message_count, ok.method.consumer_count
            except Exception:
                self._reopen()
        return (-1, -1)

    def wait_count(self, queue: str, want: int, timeout: float = 10) -> int:
        """Poll until the queue holds `want` ready messages; returns the last count."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.counts(queue)[0]
            if got == want or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    def wait_consumer(self, queue: str, timeout: float = 20, alive: Callable[[], bool] = lambda: True) -> bool:
        """Poll until `queue` has a consumer; False on timeout or when `alive()` turns false."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive():
            if self.counts(queue)[1] >= 1:
                return True
            time.sleep(0.05)
        return False

    def fill(self, queue: str, n: int, size: int = 100) -> None:
        """Put n persistent messages of `size` bytes in `queue` (not measured)."""
        import pika

        props = pika.BasicProperties(delivery_mode=2)
        body = b"x" * size
        for i in range(n):
            self.ch.basic_publish("", queue, body, props)
            if i % 5000 == 4999:
                # Let the broker's flow control and heartbeats through.
                self.conn.process_data_events(0)
        got = self.wait_count(queue, n, timeout=30 + n / 5000)
        if got != n:
            raise RuntimeError(f"filling {queue}: {got} of {n} messages arrived")

    def server_version(self) -> str | None:
        props = getattr(self.conn._impl, "server_properties", None) or {}
        v = props.get("version")
        return v.decode() if isinstance(v, bytes) else v

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass

    @contextmanager
    def queue(self, prefix: str) -> Iterator[str]:
        name = unique(prefix)
        self.declare(name)
        try:
            yield name
        finally:
            self.delete(name)

    @contextmanager
    def stream(self, prefix: str) -> Iterator[str]:
        """A fresh stream queue (its depth shows in `counts` a few seconds late)."""
        name = unique(prefix)
        self.ch.queue_declare(name, durable=True, arguments={"x-queue-type": "stream"})
        try:
            yield name
        finally:
            self.delete(name)
