"""The benchmark scenarios of issue 6.  Each one appends rows to `Bench.rows`;
a tool that is missing or fails gives a row with its error and the run goes on.

Every scenario works on fresh topics/queues (deleted afterwards) and runs one
process at a time: the machine has 2 cores, and two measured processes side by
side would measure each other.
"""

from __future__ import annotations

import base64
import json
import math
import re
import shlex
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tests.bench import measure
from tests.bench.report import Row
from tests.bench.tools import (
    BOOTSTRAP,
    RABBIT_HOST,
    RABBIT_PORT,
    RABBIT_URL,
    KafkaAdmin,
    RabbitAdmin,
    ToolMissing,
    Tools,
    data_file,
    unique,
)

SIZE = 100  # payload bytes per message, as in the issue
# librabbitmq reads a trailing "/" as the vhost "" (not "/").
AMQP_TOOLS_URL = f"amqp://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}"


@dataclass(frozen=True)
class Sizes:
    kafka: int  # Kafka produce/consume messages
    rabbit: int  # RabbitMQ publish/consume messages
    floor: int  # the pika loop waiting for each confirm (slow: capped)
    rpc_serial: int  # requests, one at a time
    rpc_pipelined: int  # requests, --window 100
    delay: int  # delayed messages whose lateness is measured
    delay_s: float  # their delay
    startup_runs: int  # runs per start-up command (median)
    first_runs: int  # runs per time-to-first-message case
    memory: tuple[int, ...]  # message counts for the peak-RSS rows
    # The rows of issues 11, 12, 13 and 16 (set per size in MORE_SIZES below).
    avro: int = 0  # Avro records produced / consumed through the registry
    move: int = 0  # messages moved in each direction
    queues: int = 0  # queues in the vhost that `rabbit queues list` lists
    partitions: int = 0  # partitions of the group that `kafka groups describe` shows
    admin_runs: int = 0  # runs of each listing command (median)
    watch_s: float = 0  # seconds a --watch runs while its CPU time is measured (0: not measured)
    stream: int = 0  # messages read from a stream


SIZES: dict[str, Sizes] = {
    # The sizes of the issue.
    "full": Sizes(1_000_000, 200_000, 20_000, 1_000, 5_000, 500, 2.0, 11, 5, (100_000, 1_000_000)),
    # About 1/50: well under a minute of broker traffic.
    "small": Sizes(20_000, 4_000, 1_000, 200, 1_000, 100, 1.0, 7, 3, (10_000, 100_000)),
    # The smoke test of the benchmark itself.
    "tiny": Sizes(2_000, 2_000, 200, 20, 100, 10, 0.5, 3, 1, (1_000, 2_000)),
}
MORE_SIZES: dict[str, dict[str, Any]] = {
    # The issues' sizes: 200k each way, 1,000 queues, 100 partitions, --watch at its default interval.
    "full": dict(avro=200_000, move=200_000, queues=1_000, partitions=100, admin_runs=7, watch_s=30, stream=200_000),
    # The listings keep their full size (the point is the count); the rest ~1/50.
    "small": dict(avro=4_000, move=4_000, queues=1_000, partitions=100, admin_runs=5, watch_s=10, stream=4_000),
    # The smoke test: every row once, in seconds.
    "tiny": dict(avro=300, move=300, queues=20, partitions=4, admin_runs=1, watch_s=0, stream=300),
}
SIZES = {name: replace(sizes, **MORE_SIZES[name]) for name, sizes in SIZES.items()}

# Scenario ids, in run order ("kafka" selects both kafka-*, and so on).
SCENARIOS = (
    "startup",
    "help",
    "one-shot",
    "first-message",
    "kafka-produce",
    "kafka-consume",
    "rabbit-publish",
    "rabbit-consume",
    "rpc",
    "delay",
    "memory",
    "profile",
    "avro-produce",
    "avro-consume",
    "avro-memory",
    "move-kafka-kafka",
    "move-rabbit-kafka",
    "move-kafka-rabbit",
    "admin-queues-list",
    "admin-groups-describe",
    "admin-watch",
    "stream-consume",
    "kafka-native-produce",
    "kafka-native-consume",
)


class Bench:
    """Shared state of one run: tools, sizes, admin clients, rows."""

    def __init__(self, tools: Tools, sizes: Sizes, log: Callable[[str], None]) -> None:
        self.tools = tools
        self.sizes = sizes
        self.rows: list[Row] = []
        self.log = log
        self._kafka: KafkaAdmin | None = None
        self._rabbit: RabbitAdmin | None = None

    @property
    def kafka(self) -> KafkaAdmin:
        if self._kafka is None:
            self._kafka = KafkaAdmin()
        return self._kafka

    @property
    def rabbit(self) -> RabbitAdmin:
        if self._rabbit is None:
            self._rabbit = RabbitAdmin()
        return self._rabbit

    def close(self) -> None:
        if self._kafka is not None:
            self._kafka.close()
        if self._rabbit is not None:
            self._rabbit.close()

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        if row.error:
            self.log(f"  {row.tool}: ERROR {row.error}")
        elif row.kind == "throughput" and row.msg_s:
            self.log(f"  {row.tool}: {row.msg_s:,.0f} msg/s, {row.wall_s:.2f}s, {row.peak_rss_mb or 0:.0f} MB")
        elif row.kind == "latency" and "p50_ms" in row.extra:
            self.log(f"  {row.tool}: p50 {row.extra['p50_ms']:.1f} ms ({row.note})")
        elif row.kind == "latency":
            self.log(f"  {row.tool}: {row.note}")
        elif row.kind == "memory":
            self.log(f"  {row.tool}: {row.peak_rss_mb or 0:.1f} MB at {row.messages:,}")
        else:
            self.log(f"  {row.tool}: {row.note}")
        return row

    def timeout(self, n: int, rate_floor: float = 500) -> float:
        """Generous per-process limit: 60 s plus n at a very slow rate."""
        return 60 + n / rate_floor

    def run(self, cmd: Sequence[str], **kw: Any) -> measure.Proc:
        kw.setdefault("env", self.tools.env)
        kw.setdefault("cwd", self.tools.workdir)
        return measure.run(cmd, **kw)


@contextmanager
def guarded(bench: Bench, row: Row) -> Iterator[Row]:
    """Any exception inside becomes the row's error; the row is always added."""
    try:
        yield row
    except ToolMissing as e:
        row.error = f"not available: {e}"
    except Exception as e:
        row.error = f"{type(e).__name__}: {e}"[:300]
    bench.add(row)


MQCLI_RATE = re.compile(r"([\d,]+(?:\.\d+)?) msg/s")


def take(row: Row, proc: measure.Proc, messages: int) -> bool:
    """Fill a throughput row from a finished process; False if it failed."""
    row.peak_rss_mb = proc.maxrss_kb / 1024
    row.wall_s = proc.wall
    if not proc.ok:
        row.error = proc.error()
        return False
    row.set_rate(messages, messages * SIZE, proc.wall)
    if row.tool.startswith("mqcli"):
        # mqcli's own summary on stderr ("..., 7,989 msg/s, 0.1s"), when it prints one.
        found = MQCLI_RATE.findall(proc.stderr.decode("utf-8", "replace"))
        if found:
            row.tool_msg_s = float(found[-1].replace(",", ""))
    return True


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def latency_extra(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": statistics.median(ms), "p99_ms": pct(ms, 99), "max_ms": max(ms), "min_ms": min(ms)}


# -- start-up -------------------------------------------------------------------
def startup(b: Bench) -> None:
    runs = b.sizes.startup_runs
    cases: list[tuple[str, str, Callable[[], list[str]], str]] = [
        ("mqcli --help", "mqcli", lambda: b.tools.mqcli + ["--help"], ""),
        ("mqcli rabbit publish --help", "mqcli", lambda: b.tools.mqcli + ["rabbit", "publish", "--help"], ""),
        ("mqcli kafka produce --help", "mqcli", lambda: b.tools.mqcli + ["kafka", "produce", "--help"], ""),
        ("python -c pass", "floor", lambda: [b.tools.python, "-c", "pass"], "the interpreter alone"),
        ("kcat -V", "reference", lambda: b.tools.kcat() + ["-V"], "native binary"),
    ]
    for tool, role, make, note in cases:
        row = Row("Start-up (process start to exit)", tool, role, kind="latency", sid="startup", note=note)
        with guarded(b, row):
            cmd = make()
            b.run(cmd, timeout=60)  # warm the page cache; not counted
            times, rss = [], 0
            for _ in range(runs):
                p = b.run(cmd, timeout=60)
                if not p.ok:
                    raise RuntimeError(p.error())
                times.append(p.wall * 1000)
                rss = max(rss, p.maxrss_kb)
            row.messages = runs
            row.extra = latency_extra(times)
            row.peak_rss_mb = rss / 1024
            row.note = (note + "; " if note else "") + f"median of {runs}, min {min(times):.0f} ms"
    # Which broker clients a command imports (the issue: none for help, never the other broker's).
    probes = [
        ("--help",),
        ("rabbit", "publish", "--help"),
        ("kafka", "produce", "--help"),
    ]
    for args in probes:
        row = Row("Imports (broker clients loaded)", "mqcli " + " ".join(args), "mqcli", kind="latency", sid="imports")
        with guarded(b, row):
            p = b.run(b.tools.helper("import_probe") + list(args), timeout=60)
            last = p.stderr.decode().strip().splitlines()[-1]
            loaded = json.loads(last)
            names = [k for k in ("kafka", "pika", "confluent_kafka") if loaded.get(k)]
            row.note = "imports " + (", ".join(names) if names else "no broker client")
            row.extra = {"loaded": names}
            want_none = {"kafka", "pika", "confluent_kafka"}
            if args[0] == "rabbit":
                want_none = {"kafka", "confluent_kafka"}
            elif args[0] == "kafka":
                want_none = {"pika"}
            bad = want_none & set(names)
            if bad:
                row.error = f"imports {', '.join(sorted(bad))} (must not)"


def _median_ms(b: Bench, cmd: list[str], runs: int, stdin: bytes | None = None) -> tuple[list[float], int]:
    """Wall times (ms) of `runs` runs of cmd, and the peak RSS (KiB); the first
    run (page cache) is not counted."""
    b.run(cmd, stdin_bytes=stdin, timeout=60)
    times, rss = [], 0
    for _ in range(runs):
        p = b.run(cmd, stdin_bytes=stdin, timeout=60)
        if not p.ok:
            raise RuntimeError(p.error())
        times.append(p.wall * 1000)
        rss = max(rss, p.maxrss_kb)
    return times, rss


def subcommands() -> list[list[str]]:
    """Every command path under mqcli (groups and leaves), from the lazy command tree."""
    import typer

    from mqcli.cli.app import app as typer_app

    root = typer.main.get_command(typer_app)
    paths: list[list[str]] = []

    def walk(cmd: Any, path: list[str], ctx: Any) -> None:
        if path:
            paths.append(path)
        if hasattr(cmd, "list_commands"):  # a group (typer vendors Click: duck-typed)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is not None and not getattr(sub, "hidden", False):
                    walk(sub, [*path, name], sub.context_class(sub, parent=ctx, info_name=name))

    walk(root, [], root.context_class(root, info_name="mqcli"))
    return paths


# -- --help of every subcommand, against `mqcli --help` ---------------------------
def help_pages(b: Bench) -> None:
    """Each subcommand's --help, measured alternately with `mqcli --help` (the
    machine is shared: side by side, so the ratio holds when absolute times drift)."""
    runs = min(b.sizes.startup_runs, 7)  # ~40 pages: 7 alternating pairs each is enough
    scen = "--help of every subcommand vs mqcli --help (issue 15: <= 1.5x)"
    base_cmd = b.tools.mqcli + ["--help"]
    for path in subcommands():
        tool = "mqcli " + " ".join(path) + " --help"
        row = Row(scen, tool, "mqcli", kind="latency", sid="help")
        with guarded(b, row):
            cmd = b.tools.mqcli + path + ["--help"]
            mine, base, rss = [], [], 0
            b.run(cmd, timeout=60)
            for _ in range(runs):
                for target, into in ((cmd, mine), (base_cmd, base)):
                    p = b.run(target, timeout=60)
                    if not p.ok:
                        raise RuntimeError(p.error())
                    into.append(p.wall * 1000)
                rss = max(rss, p.maxrss_kb)
            row.messages = runs
            row.extra = latency_extra(mine) | {"base_p50_ms": statistics.median(base)}
            row.extra["vs_base"] = row.extra["p50_ms"] / row.extra["base_p50_ms"]
            row.peak_rss_mb = rss / 1024
            row.note = f"{row.extra['vs_base']:.2f}x mqcli --help ({row.extra['base_p50_ms']:.0f} ms), median of {runs}"


# -- one-message commands, against bare scripts and the C tools --------------------
def one_shot(b: Bench) -> None:
    """The four one-message commands as a CI step runs them (whole process),
    alternating with a bare Python script doing the same with the same client
    library (tests/bench/oneshot_helper.py) and with kcat / amqp-tools."""
    runs = b.sizes.startup_runs
    helper = b.tools.helper("oneshot_helper")
    amqp = AMQP_TOOLS_URL

    def case(
        title: str,
        sid: str,
        fresh: Callable[[], Any],
        cases: list[tuple[str, str, Callable[[str], list[str]]]],
        stdin: dict[str, bytes],
        refill: Callable[[str], None] | None = None,
    ) -> None:
        scen = f"One-shot: {title} (whole process)"
        rows = {tool: Row(scen, tool, role, kind="latency", sid=sid) for tool, role, _ in cases}
        times: dict[str, list[float]] = {tool: [] for tool, _, _ in cases}
        cpu: dict[str, list[float]] = {tool: [] for tool, _, _ in cases}
        rss: dict[str, int] = {tool: 0 for tool, _, _ in cases}
        try:
            with fresh() as name:
                if refill is not None:
                    refill(name)
                for i in range(runs + 1):  # the first round warms the page cache: not counted
                    for tool, _role, make in cases:
                        if rows[tool].error:
                            continue
                        try:
                            p = b.run(make(name), stdin_bytes=stdin.get(tool), timeout=60)
                            if not p.ok:
                                raise RuntimeError(p.error())
                        except Exception as e:
                            rows[tool].error = f"{type(e).__name__}: {e}"[:300]
                            continue
                        if refill is not None:
                            refill(name)
                        if i:
                            times[tool].append(p.wall * 1000)
                            cpu[tool].append(p.cpu * 1000)
                            rss[tool] = max(rss[tool], p.maxrss_kb)
        except ToolMissing as e:
            for row in rows.values():
                row.error = row.error or f"not available: {e}"
        except Exception as e:
            for row in rows.values():
                row.error = row.error or f"{type(e).__name__}: {e}"[:300]
        mine = rows[cases[0][0]]
        for tool, row in rows.items():
            if not row.error and times[tool]:
                row.messages = len(times[tool])
                row.extra = latency_extra(times[tool]) | {"cpu_p50_ms": statistics.median(cpu[tool])}
                row.peak_rss_mb = rss[tool] / 1024
                row.note = f"median of {len(times[tool])}, CPU {row.extra['cpu_p50_ms']:.0f} ms"
        if not mine.error and mine.extra:
            # Ratios of medians, wall and CPU (user + system): the machine may be
            # shared, and waiting for a core lengthens wall time but not CPU time.
            for row in rows.values():
                if row is not mine and not row.error and row.extra:
                    vs = mine.extra["p50_ms"] / row.extra["p50_ms"]
                    mine.extra[f"vs {row.tool}"] = vs
                    cpu_vs = mine.extra["cpu_p50_ms"] / row.extra["cpu_p50_ms"] if row.extra["cpu_p50_ms"] else None
                    mine.extra[f"cpu vs {row.tool}"] = cpu_vs
                    row.note += f"; mqcli is {vs:.2f}x this" + (f" (CPU {cpu_vs:.2f}x)" if cpu_vs else "")
                    if row.tool.startswith("bare"):
                        mine.note += f"; {vs:.2f}x {row.tool}" + (f" (CPU {cpu_vs:.2f}x)" if cpu_vs else "")
        for row in rows.values():
            b.add(row)

    def kcat(*args: str) -> list[str]:
        return b.tools.kcat() + ["-b", BOOTSTRAP, *args]

    case(
        "kafka produce T hello",
        "one-shot/kafka-produce",
        lambda: b.kafka.topic("oneshot"),
        [
            ("mqcli kafka produce T hello", "mqcli", lambda t: b.tools.mqcli + ["kafka", "produce", t, "hello"]),
            (
                "bare confluent-kafka (idempotent, as mqcli)",
                "reference",
                lambda t: helper + ["kafka-produce", BOOTSTRAP, t, "hello"],
            ),
            (
                "bare confluent-kafka (not idempotent)",
                "reference",
                lambda t: helper + ["kafka-produce-plain", BOOTSTRAP, t, "hello"],
            ),
            ("kcat -P", "reference", lambda t: kcat("-P", "-t", t)),
        ],
        {"kcat -P": b"hello\n"},
    )

    def one_kafka_message(t: str) -> None:
        fill = b.run(kcat("-P", "-t", t), stdin_bytes=b"hello\n")
        if not fill.ok:
            raise RuntimeError(f"filling: {fill.error()}")

    filled: set[str] = set()

    def kafka_once(t: str) -> None:  # consuming the last message leaves it there
        if t not in filled:
            one_kafka_message(t)
            filled.add(t)

    case(
        "kafka consume T --offset -1 --count 1",
        "one-shot/kafka-consume",
        lambda: b.kafka.topic("oneshot"),
        [
            (
                "mqcli kafka consume T --offset -1 --count 1",
                "mqcli",
                lambda t: b.tools.mqcli + ["kafka", "consume", t, "--offset", "-1", "--count", "1"],
            ),
            ("bare confluent-kafka", "reference", lambda t: helper + ["kafka-consume", BOOTSTRAP, t]),
            ("kcat -C -o -1 -c 1", "reference", lambda t: kcat("-C", "-t", t, "-o", "-1", "-c", "1", "-q")),
        ],
        {},
        kafka_once,
    )
    case(
        "rabbit publish --queue Q hello",
        "one-shot/rabbit-publish",
        lambda: b.rabbit.queue("oneshot"),
        [
            (
                "mqcli rabbit publish --queue Q hello",
                "mqcli",
                lambda q: b.tools.mqcli + ["rabbit", "publish", "--queue", q, "hello"],
            ),
            (
                "bare pika (confirmed, as mqcli)",
                "reference",
                lambda q: helper + ["rabbit-publish", RABBIT_URL, q, "hello"],
            ),
            (
                "amqp-publish",
                "reference",
                lambda q: b.tools.amqp_tool("amqp-publish") + ["-u", amqp, "-r", q, "-b", "hello"],
            ),
        ],
        {},
    )
    case(
        "rabbit consume Q --count 1",
        "one-shot/rabbit-consume",
        lambda: b.rabbit.queue("oneshot"),
        [
            (
                "mqcli rabbit consume Q --count 1",
                "mqcli",
                lambda q: b.tools.mqcli + ["rabbit", "consume", q, "--count", "1"],
            ),
            ("bare pika", "reference", lambda q: helper + ["rabbit-consume", RABBIT_URL, q]),
            ("amqp-get", "reference", lambda q: b.tools.amqp_tool("amqp-get") + ["-u", amqp, "-q", q]),
        ],
        {},
        lambda q: b.rabbit.fill(q, 1),
    )


# -- time to first message ------------------------------------------------------
class RabbitWatcher:
    """A pika consumer in a thread of the runner: records when each body arrives."""

    def __init__(self, queue: str) -> None:
        self.queue = queue
        self.arrivals: list[tuple[float, bytes]] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError(f"watcher on {queue} did not start: {self._error}")

    def _run(self) -> None:
        from tests.bench.tools import rabbit_connection

        try:
            conn = rabbit_connection()
            ch = conn.channel()

            def on(ch: Any, method: Any, props: Any, body: bytes) -> None:
                self.arrivals.append((time.time(), body))

            ch.basic_consume(self.queue, on, auto_ack=True)
            self._ready.set()
            while not self._stop.is_set():
                conn.process_data_events(time_limit=0.005)
            conn.close()
        except BaseException as e:
            self._error = e
            self._ready.set()

    def wait_for(self, count: int, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count:
            if self._error or time.monotonic() > deadline or not alive():
                return False
            time.sleep(0.001)
        return True

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


class KafkaWatcher:
    """A kafka-python consumer in a thread, assigned at the end of a partition."""

    def __init__(self, topic: str) -> None:
        from kafka import KafkaConsumer, TopicPartition

        self.arrivals: list[tuple[float, bytes]] = []
        self._stop = threading.Event()
        self.consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, fetch_max_wait_ms=10, client_id="mqcli-bench")
        tp = TopicPartition(topic, 0)
        self.consumer.assign([tp])
        self.consumer.seek_to_end(tp)
        self.consumer.position(tp)  # resolve now, before anything is measured
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for records in self.consumer.poll(timeout_ms=20).values():
                now = time.time()
                for r in records:
                    self.arrivals.append((now, r.value))

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.consumer.close()


def _until_first_line(b: Bench, cmd: list[str], timeout: float = 30) -> tuple[float, int]:
    """Start cmd, return (ms until its first stdout line, peak RSS KiB)."""
    started = measure.Started(cmd, stdout=subprocess.PIPE, env=b.tools.env, cwd=b.tools.workdir)
    assert started.popen.stdout is not None
    timer = threading.Timer(timeout, lambda: started.signal(9))
    timer.start()
    line = started.popen.stdout.readline()
    elapsed = (time.perf_counter() - started.t0) * 1000
    # These commands stop by themselves after one message; let them, so the
    # wrapper can report peak RSS (a signal to the group would end it too).
    started.popen.stdout.read()
    timer.cancel()
    proc = started.wait(30)
    if not line:
        raise RuntimeError(proc.error() if not proc.ok else "no output")
    return elapsed, proc.maxrss_kb


def first_message(b: Bench) -> None:
    runs = b.sizes.first_runs
    scen_send = "Time to first message: start a producer, until a consumer has it"
    scen_recv = "Time to first message: start a consumer on a waiting message, until it prints it"

    # Producers: process start -> the runner's consumer receives the message.
    def producer_case(tool: str, role: str, broker: str, make: Callable[[str], list[str]], stdin: bytes | None) -> None:
        row = Row(scen_send, tool, role, kind="latency", sid="first-send")
        with guarded(b, row):
            times, rss = [], 0
            for i in range(runs):
                ctx = b.kafka.topic("first") if broker == "kafka" else b.rabbit.queue("first")
                with ctx as name:
                    watcher: Any = KafkaWatcher(name) if broker == "kafka" else RabbitWatcher(name)
                    try:
                        cmd = make(name)
                        t0 = time.time()
                        p = b.run(cmd, stdin_bytes=stdin, timeout=60)
                        if not p.ok:
                            raise RuntimeError(p.error())
                        if not watcher.wait_for(1, 30):
                            raise RuntimeError("the message never arrived")
                        times.append((watcher.arrivals[0][0] - t0) * 1000)
                        rss = max(rss, p.maxrss_kb)
                    finally:
                        watcher.stop()
            row.messages = runs
            row.extra = latency_extra(times)
            row.peak_rss_mb = rss / 1024
            row.note = f"median of {runs}"

    producer_case(
        "mqcli kafka produce", "mqcli", "kafka", lambda t: b.tools.mqcli + ["kafka", "produce", t, "hello"], None
    )
    producer_case(
        "kcat -P", "reference", "kafka", lambda t: b.tools.kcat() + ["-P", "-b", BOOTSTRAP, "-t", t], b"hello\n"
    )
    producer_case(
        "mqcli rabbit publish",
        "mqcli",
        "rabbit",
        lambda q: b.tools.mqcli + ["rabbit", "publish", "--queue", q, "hello"],
        None,
    )
    producer_case(
        "amqp-publish",
        "reference",
        "rabbit",
        lambda q: b.tools.amqp_tool("amqp-publish") + ["-u", AMQP_TOOLS_URL, "-r", q, "-b", "hello"],
        None,
    )

    # Consumers: process start -> first line on its stdout.
    def consumer_case(tool: str, role: str, broker: str, make: Callable[[str], list[str]]) -> None:
        row = Row(scen_recv, tool, role, kind="latency", sid="first-recv")
        with guarded(b, row):
            times, rss = [], 0
            for _ in range(runs):
                if broker == "kafka":
                    with b.kafka.topic("first") as t:
                        fill = b.run(b.tools.kcat() + ["-P", "-b", BOOTSTRAP, "-t", t], stdin_bytes=b"hello\n")
                        if not fill.ok:
                            raise RuntimeError(f"filling: {fill.error()}")
                        ms, kb = _until_first_line(b, make(t))
                else:
                    with b.rabbit.queue("first") as q:
                        b.rabbit.fill(q, 1)
                        ms, kb = _until_first_line(b, make(q))
                times.append(ms)
                rss = max(rss, kb)
            row.messages = runs
            row.extra = latency_extra(times)
            row.peak_rss_mb = rss / 1024
            row.note = f"median of {runs}"

    consumer_case(
        "mqcli kafka consume",
        "mqcli",
        "kafka",
        lambda t: b.tools.mqcli + ["kafka", "consume", t, "--offset", "beginning", "--count", "1"],
    )
    consumer_case(
        "kcat -C",
        "reference",
        "kafka",
        lambda t: b.tools.kcat() + ["-C", "-b", BOOTSTRAP, "-t", t, "-o", "beginning", "-c", "1", "-q"],
    )
    consumer_case(
        "mqcli rabbit consume", "mqcli", "rabbit", lambda q: b.tools.mqcli + ["rabbit", "consume", q, "--count", "1"]
    )
    consumer_case(
        "amqp-get", "reference", "rabbit", lambda q: b.tools.amqp_tool("amqp-get") + ["-u", AMQP_TOOLS_URL, "-q", q]
    )


# -- Kafka ------------------------------------------------------------------------
PP_RATE = re.compile(r"(\d+) records sent, ([\d.]+) records/sec")


def kafka_produce(b: Bench) -> None:
    n = b.sizes.kafka
    data = data_file(b.tools.workdir, n, SIZE)
    for acks in ("1", "all"):
        scen = f"Kafka produce {n:,} x {SIZE} B from stdin, acks={acks}"
        b.log(f"{scen}")
        cases: list[tuple[str, str, Callable[[str], list[str]], str]] = [
            (
                "mqcli kafka produce",
                "mqcli",
                lambda t: b.tools.mqcli + ["kafka", "--engine", "librdkafka", "produce", t, "--acks", acks],
                "--engine librdkafka (the default without mqcli-native)" + (", idempotent" if acks == "all" else ""),
            ),
            (
                "mqcli kafka produce (kafka-python)",
                "context",
                lambda t: b.tools.mqcli + ["kafka", "--engine", "kafka-python", "produce", t, "--acks", acks],
                "--engine kafka-python" + (", idempotent" if acks == "all" else ""),
            ),
            (
                "confluent-kafka loop",
                "ceiling",
                lambda t: b.tools.helper("kafka_helper") + ["produce", BOOTSTRAP, t, acks],
                "one produce() per line, nothing else: the most Python gets from librdkafka",
            ),
            (
                "kcat -P",
                "reference",
                lambda t: b.tools.kcat() + ["-P", "-b", BOOTSTRAP, "-t", t, "-X", f"acks={acks}"],
                "librdkafka defaults",
            ),
            (
                "ConsoleProducer",
                "reference",
                lambda t: (
                    b.tools.kafka_tool("org.apache.kafka.tools.ConsoleProducer")
                    + ["--bootstrap-server", BOOTSTRAP, "--topic", t, "--request-required-acks", acks]
                ),
                "JVM start-up included",
            ),
        ]
        for tool, role, make, note in cases:
            row = Row(scen, tool, role, sid=f"kafka-produce/acks={acks}", note=note)
            with guarded(b, row), b.kafka.topic("produce") as t:
                p = b.run(make(t), stdin_path=data, timeout=b.timeout(n, 2000))
                if take(row, p, n):
                    got = b.kafka.end_offset(t)
                    if got != n:
                        row.error = f"only {got} of {n} messages on the topic"
        row = Row(
            scen,
            "ProducerPerformance",
            "ceiling",
            sid=f"kafka-produce/acks={acks}",
            note="Java client, no stdin parsing; JVM start-up included",
        )
        with guarded(b, row), b.kafka.topic("produce") as t:
            cmd = b.tools.kafka_tool("org.apache.kafka.tools.ProducerPerformance") + [
                "--topic",
                t,
                "--num-records",
                str(n),
                "--record-size",
                str(SIZE),
                "--throughput",
                "-1",
                "--bootstrap-server",
                BOOTSTRAP,
                "--command-property",
                f"acks={acks}",
            ]
            p = b.run(cmd, capture=True, timeout=b.timeout(n, 2000))
            if take(row, p, n):
                matches = PP_RATE.findall(p.stdout.decode("utf-8", "replace"))
                if matches:
                    row.tool_msg_s = float(matches[-1][1])
        if acks == "1":
            _kaf_produce(b, scen)


def _kaf_produce(b: Bench, scen: str) -> None:
    """kaf (Go, sarama) as a further peer: it sends one message at a time and
    waits for each (a SyncProducer), so it gets the capped count of the slow rows."""
    m = min(b.sizes.kafka, b.sizes.floor)
    row = Row(
        scen,
        "kaf produce",
        "reference",
        sid="kafka-produce/acks=1",
        note=f"Go (sarama), acks=1 (its default), one synchronous send per line; {m:,} messages",
    )
    with guarded(b, row), b.kafka.topic("produce") as t:
        cmd = b.tools.go_tool("kaf") + ["-b", BOOTSTRAP, "produce", t]
        if take(row, b.run(cmd, stdin_path=data_file(b.tools.workdir, m, SIZE), timeout=b.timeout(m, 100)), m):
            got = b.kafka.end_offset(t)
            if got != m:
                row.error = f"only {got} of {m} messages on the topic"


def kafka_consume(b: Bench) -> None:
    n = b.sizes.kafka
    scen = f"Kafka consume {n:,} x {SIZE} B to /dev/null, exit at end"
    b.log(scen)
    data = data_file(b.tools.workdir, n, SIZE)
    with b.kafka.topic("consume") as t:
        try:
            fill = b.run(b.tools.kcat() + ["-P", "-b", BOOTSTRAP, "-t", t], stdin_path=data, timeout=b.timeout(n, 2000))
        except ToolMissing:
            fill = b.run(b.tools.mqcli + ["kafka", "produce", t, "--acks", "1"], stdin_path=data, timeout=b.timeout(n))
        got = b.kafka.end_offset(t)
        if not fill.ok or got != n:
            raise RuntimeError(f"filling {t}: {fill.error() if not fill.ok else f'{got} of {n}'}")
        cases: list[tuple[str, str, Callable[[], list[str]], str]] = [
            (
                "mqcli kafka consume",
                "mqcli",
                lambda: (
                    b.tools.mqcli
                    + ["kafka", "--engine", "librdkafka", "consume", t, "--offset", "beginning", "--exit-at-end"]
                ),
                "--engine librdkafka (the default without mqcli-native)",
            ),
            (
                "mqcli kafka consume (kafka-python)",
                "context",
                lambda: (
                    b.tools.mqcli
                    + ["kafka", "--engine", "kafka-python", "consume", t, "--offset", "beginning", "--exit-at-end"]
                ),
                "--engine kafka-python",
            ),
            (
                "confluent-kafka loop",
                "ceiling",
                lambda: b.tools.helper("kafka_helper") + ["consume", BOOTSTRAP, t, str(n)],
                "batches of consume(), values joined, one write each: the most Python gets from librdkafka",
            ),
            (
                "kcat -C -e",
                "reference",
                lambda: b.tools.kcat() + ["-C", "-b", BOOTSTRAP, "-t", t, "-o", "beginning", "-e", "-q"],
                "",
            ),
            (
                "kaf consume",
                "reference",
                lambda: (
                    b.tools.go_tool("kaf") + ["-b", BOOTSTRAP, "consume", t, "--offset", "oldest", "--output", "raw"]
                ),
                "Go (sarama); without --follow it ends at the end offsets",
            ),
            # A named group (deleted below) instead of a random console-consumer-NNNN
            # left behind; no commits, like the other two.
            (
                "ConsoleConsumer",
                "reference",
                lambda: (
                    b.tools.kafka_tool("org.apache.kafka.tools.consumer.ConsoleConsumer")
                    + [
                        "--bootstrap-server",
                        BOOTSTRAP,
                        "--topic",
                        t,
                        "--from-beginning",
                        "--max-messages",
                        str(n),
                        "--group",
                        group,
                        "--command-property",
                        "enable.auto.commit=false",
                    ]
                ),
                "--max-messages N (no exit-at-end option); JVM start-up included",
            ),
        ]
        group = unique("console")
        try:
            for tool, role, make, note in cases:
                row = Row(scen, tool, role, sid="kafka-consume", note=note)
                with guarded(b, row):
                    take(row, b.run(make(), timeout=b.timeout(n, 2000)), n)
        finally:
            b.kafka.delete_group(group)


# -- RabbitMQ -----------------------------------------------------------------------
PT_SEND = re.compile(r"sending rate avg: (\d+) msg/s")
PT_RECV = re.compile(r"receiving rate avg: (\d+) msg/s")


def rabbit_publish(b: Bench) -> None:
    n = b.sizes.rabbit
    data = data_file(b.tools.workdir, n, SIZE)
    for confirm in (True, False):
        scen = f"RabbitMQ publish {n:,} x {SIZE} B, persistent, " + ("confirms" if confirm else "no confirms")
        b.log(scen)
        sid = "rabbit-publish/" + ("confirm" if confirm else "no-confirm")
        row = Row(
            scen,
            "mqcli rabbit publish",
            "mqcli",
            sid=sid,
            note="confirm window 1,024 (the default)" if confirm else "--no-confirm",
        )
        with guarded(b, row), b.rabbit.queue("publish") as q:
            cmd = b.tools.mqcli + ["rabbit", "publish", "--queue", q] + ([] if confirm else ["--no-confirm"])
            if take(row, b.run(cmd, stdin_path=data, timeout=b.timeout(n)), n):
                got = b.rabbit.wait_count(q, n)
                if got != n:
                    row.error = f"only {got} of {n} messages in the queue"
        row = Row(
            scen,
            "PerfTest",
            "ceiling",
            sid=sid,
            note=("-c 1024 (same window); " if confirm else "") + "Java client; JVM start-up included",
        )
        with guarded(b, row), b.rabbit.queue("publish") as q:
            cmd = (
                b.tools.perftest()
                + [
                    "-x",
                    "1",
                    "-y",
                    "0",
                    "-C",
                    str(n),
                    "-s",
                    str(SIZE),
                    "-f",
                    "persistent",
                    "-u",
                    q,
                    "-p",
                    "-e",
                    "",
                    "-k",
                    q,
                    "-sb",
                    "-i",
                    "1",
                ]
                + (["-c", "1024"] if confirm else [])
            )
            p = b.run(cmd, capture=True, timeout=b.timeout(n))
            if take(row, p, n):
                m = PT_SEND.findall(p.stdout.decode("utf-8", "replace"))
                if m:
                    row.tool_msg_s = float(m[-1])
                got = b.rabbit.wait_count(q, n)
                if got != n:
                    row.error = f"only {got} of {n} messages in the queue"
        _amqp_publish(b, scen, sid, n, data)
        m_floor = min(n, b.sizes.floor) if confirm else n
        row = Row(
            scen,
            "pika loop" + (", wait per confirm" if confirm else ""),
            "floor" if confirm else "context",
            sid=sid,
            note=(f"{m_floor:,} messages" if m_floor != n else ""),
        )
        with guarded(b, row), b.rabbit.queue("publish") as q:
            cmd = (
                b.tools.helper("pika_helper")
                + ["publish", RABBIT_URL, q, str(m_floor)]
                + (["--confirm"] if confirm else [])
            )
            if take(row, b.run(cmd, timeout=b.timeout(m_floor, 200)), m_floor):
                got = b.rabbit.wait_count(q, m_floor)
                if got != m_floor:
                    row.error = f"only {got} of {m_floor} messages in the queue"
        _rabtap_publish(b, scen, sid, confirm)


def _amqp_publish(b: Bench, scen: str, sid: str, n: int, data: Path) -> None:
    """amqp-publish (C, librabbitmq) with a message per input line, the peer of
    issue 15: it has no publisher confirms at all, so both publish scenarios
    (confirmed and not) compare with the same run of it."""
    row = Row(
        scen,
        "amqp-publish -l -p",
        "reference",
        sid=sid,
        note="C (librabbitmq), no confirms; persistent, a message per line (its bodies keep the newline)",
    )
    with guarded(b, row), b.rabbit.queue("publish") as q:
        cmd = b.tools.amqp_tool("amqp-publish") + ["-u", AMQP_TOOLS_URL, "-r", q, "-l", "-p"]
        if take(row, b.run(cmd, stdin_path=data, timeout=b.timeout(n)), n):
            got = b.rabbit.wait_count(q, n)
            if got != n:
                row.error = f"only {got} of {n} messages in the queue"


def _rabtap_publish(b: Bench, scen: str, sid: str, confirm: bool) -> None:
    """rabtap (Go) as a further peer.  It reads messages as a stream of its own
    JSON objects (base64 bodies; raw input is one whole message), and with
    --confirms waits for each confirm before the next message."""
    m = min(b.sizes.rabbit, b.sizes.floor) if confirm else b.sizes.rabbit
    note = "Go (amqp091-go), its JSON message stream on stdin; " + (
        f"--confirms waits for each; {m:,} messages" if confirm else "no confirms"
    )
    row = Row(scen, "rabtap pub", "reference", sid=sid, note=note)
    with guarded(b, row), b.rabbit.queue("publish") as q:
        data = b.tools.workdir / f"rabtap-{q}.jsonl"
        body = base64.b64encode(b"x" * SIZE).decode()
        line = json.dumps({"Exchange": "", "RoutingKey": q, "Body": body, "DeliveryMode": 2}, separators=(",", ":"))
        data.write_text((line + "\n") * m, encoding="utf-8")
        cmd = b.tools.go_tool("rabtap") + ["pub", "--uri", RABBIT_URL, "--format", "json-nopp"]
        try:
            if take(
                row, b.run(cmd + (["--confirms"] if confirm else []), stdin_path=data, timeout=b.timeout(m, 200)), m
            ):
                got = b.rabbit.wait_count(q, m)
                if got != m:
                    row.error = f"only {got} of {m} messages in the queue"
        finally:
            data.unlink()


def rabbit_consume(b: Bench) -> None:
    n = b.sizes.rabbit
    scen = f"RabbitMQ consume {n:,} x {SIZE} B, manual ack, prefetch 100"
    b.log(scen)
    cases: list[tuple[str, str, Callable[[str], list[str]], str, bool]] = [
        (
            "mqcli rabbit consume",
            "mqcli",
            lambda q: b.tools.mqcli + ["rabbit", "consume", q, "--count", str(n)],
            "--count N, to /dev/null",
            False,
        ),
        (
            "PerfTest",
            "ceiling",
            lambda q: b.tools.perftest() + ["-x", "0", "-y", "1", "-D", str(n), "-u", q, "-p", "-q", "100", "-i", "1"],
            "Java client; JVM start-up included",
            True,
        ),
        (
            "pika loop",
            "context",
            lambda q: b.tools.helper("pika_helper") + ["consume", RABBIT_URL, q, str(n), "100"],
            "one ack per message",
            False,
        ),
        (
            "rabtap sub",
            "reference",
            lambda q: b.tools.go_tool("rabtap") + ["sub", q, "--uri", RABBIT_URL, "--limit", str(n), "--format", "raw"],
            "Go (amqp091-go); its fixed prefetch of 1, an ack per message; header and body printed per message",
            False,
        ),
    ]
    for tool, role, make, note, parse in cases:
        row = Row(scen, tool, role, sid="rabbit-consume", note=note)
        with guarded(b, row), b.rabbit.queue("consume") as q:
            b.rabbit.fill(q, n, SIZE)
            p = b.run(make(q), capture=parse, timeout=b.timeout(n))
            if take(row, p, n):
                if parse:
                    m = PT_RECV.findall(p.stdout.decode("utf-8", "replace"))
                    if m:
                        row.tool_msg_s = float(m[-1])
                left = b.rabbit.wait_count(q, 0, timeout=5)
                if left != 0:
                    row.error = f"{left} messages left in the queue"


def rpc(b: Bench) -> None:
    servers = [
        (
            "mqcli rabbit rpc serve --exec cat",
            "serve",
            lambda q: b.tools.mqcli + ["rabbit", "rpc", "serve", q, "--exec", "cat"],
        ),
        ("pika echo server", "echo", lambda q: b.tools.helper("pika_helper") + ["echo", RABBIT_URL, q]),
    ]
    for server, key, make in servers:
        role = "mqcli" if key == "serve" else "context"
        b.log(f"RPC against {server}")
        rows: list[Row] = []
        error: str | None = None
        with b.rabbit.queue("rpc") as q:
            srv = measure.Started(make(q), env=b.tools.env, cwd=b.tools.workdir)
            try:
                if not b.rabbit.wait_consumer(q, alive=lambda: srv.popen.poll() is None):
                    raise RuntimeError("the server did not start consuming")
                for window, count in ((1, b.sizes.rpc_serial), (100, b.sizes.rpc_pipelined)):
                    mode = "one at a time (--window 1)" if window == 1 else f"pipelined (--window {window})"
                    row = Row(
                        f"RPC round trips {mode}, server: {server}",
                        "mqcli rabbit rpc call",
                        role,
                        sid=f"rpc/window={window}/{key}",
                        note="msg/s = round trips/s; "
                        + ("a cat process per request" if key == "serve" else "isolates rpc call"),
                    )
                    with guarded(b, row):
                        body = b"".join(b"%d\n" % i for i in range(count))
                        cmd = b.tools.mqcli + ["rabbit", "rpc", "call", q, "--window", str(window)]
                        take(row, b.run(cmd, stdin_bytes=body, timeout=b.timeout(count, 20)), count)
                        row.payload_bytes, row.mb_s = 0, None
                    rows.append(row)
            except Exception as e:
                error = f"{type(e).__name__}: {e}"
            finally:
                srv.terminate()
                done = srv.wait(15)
            if error:
                if done.rc != 0 and done.rc != 143:
                    error += f" ({done.error()})"
                b.add(Row(f"RPC server: {server}", server, role, sid=f"rpc/{key}", error=error))
        for row in rows:
            row.note += f"; server peak RSS {done.maxrss_kb / 1024:.0f} MB"
        # mqcli ends with 143 on SIGTERM (the documented signal exit); anything else is a failure.
        if key == "serve" and rows and done.rc not in (0, 143, -15) and not done.timed_out:
            b.add(
                Row(
                    f"RPC server: {server}", server, role, sid=f"rpc/{key}", error=f"server ended badly: {done.error()}"
                )
            )


def delay(b: Bench) -> None:
    count, d = b.sizes.delay, b.sizes.delay_s
    scen = f"Delay lateness: {count} messages delayed {d:g}s, arrival - (send + delay)"
    b.log(scen)
    row = Row(scen, "mqcli rabbit delay publish", "mqcli", kind="latency", sid="delay")
    with guarded(b, row), b.rabbit.queue("delay") as q:
        watcher = RabbitWatcher(q)
        try:
            cmd = b.tools.mqcli + ["rabbit", "delay", "publish", "--delay", f"{int(d * 1000)}ms", "--queue", q]
            pub = measure.Started(cmd, stdin=subprocess.PIPE, env=b.tools.env, cwd=b.tools.workdir)
            assert pub.popen.stdin is not None
            stdin = pub.popen.stdin
            try:
                # A first message gets mqcli connected; lateness is measured after it.
                stdin.write(b"warmup\n")
                stdin.flush()
                if not watcher.wait_for(1, d + 30, alive=lambda: pub.popen.poll() is None):
                    p = pub.wait(10)
                    raise RuntimeError(p.error() if not p.ok else "the warm-up message never arrived")
                for _ in range(count):
                    stdin.write(b"%.6f\n" % time.time())
                    stdin.flush()
                    time.sleep(0.005)
                stdin.close()
            except BrokenPipeError:
                pass
            p = pub.wait(60)
            row.peak_rss_mb = p.maxrss_kb / 1024
            if not p.ok:
                raise RuntimeError(p.error())
            if not watcher.wait_for(count + 1, d + 30):
                raise RuntimeError(f"only {len(watcher.arrivals) - 1} of {count} delayed messages arrived")
        finally:
            watcher.stop()
        late = [(at - float(body) - d) * 1000 for at, body in watcher.arrivals[1:]]
        row.messages = count
        row.extra = latency_extra(late)
        row.note = (
            f"min {min(late):+.1f} ms (negative: early); one message every 5 ms; "
            "via TTL + dead-letter queues; arrival seen by a pika consumer in the runner"
        )


# -- memory -------------------------------------------------------------------------
def memory(b: Bench) -> None:
    counts = b.sizes.memory
    cases = [
        ("Memory: Kafka produce (acks=1)", "mqcli kafka produce", "kafka-produce"),
        ("Memory: Kafka consume (exit at end)", "mqcli kafka consume", "kafka-consume"),
        ("Memory: RabbitMQ publish (confirms)", "mqcli rabbit publish", "rabbit-publish"),
        ("Memory: RabbitMQ consume (manual ack)", "mqcli rabbit consume", "rabbit-consume"),
    ]
    for scen, tool, what in cases:
        b.log(scen)
        base: float | None = None
        for n in counts:
            row = Row(scen, tool, "mqcli", kind="memory", sid=f"memory/{what}", messages=n)
            with guarded(b, row):
                data = data_file(b.tools.workdir, n, SIZE)
                if what.startswith("kafka"):
                    with b.kafka.topic("memory") as t:
                        produce = b.tools.mqcli + ["kafka", "produce", t, "--acks", "1"]
                        if what == "kafka-produce":
                            p = b.run(produce, stdin_path=data, timeout=b.timeout(n))
                        else:
                            try:
                                fill = b.run(
                                    b.tools.kcat() + ["-P", "-b", BOOTSTRAP, "-t", t],
                                    stdin_path=data,
                                    timeout=b.timeout(n),
                                )
                            except ToolMissing:
                                fill = b.run(produce, stdin_path=data, timeout=b.timeout(n))
                            if not fill.ok:
                                raise RuntimeError(f"filling: {fill.error()}")
                            p = b.run(
                                b.tools.mqcli + ["kafka", "consume", t, "--offset", "beginning", "--exit-at-end"],
                                timeout=b.timeout(n),
                            )
                else:
                    with b.rabbit.queue("memory") as q:
                        if what == "rabbit-publish":
                            p = b.run(
                                b.tools.mqcli + ["rabbit", "publish", "--queue", q],
                                stdin_path=data,
                                timeout=b.timeout(n),
                            )
                        else:
                            b.rabbit.fill(q, n, SIZE)
                            p = b.run(b.tools.mqcli + ["rabbit", "consume", q, "--count", str(n)], timeout=b.timeout(n))
                take(row, p, n)
                row.kind = "memory"
                if not row.error:
                    if base is None:
                        base = row.peak_rss_mb
                    elif base and row.peak_rss_mb:
                        row.extra["growth"] = row.peak_rss_mb / base - 1


def profile(b: Bench) -> None:
    """Where kafka-python's time goes (the issue asks the report to say)."""
    n = min(b.sizes.kafka, 200_000)
    data = data_file(b.tools.workdir, n, SIZE)
    with b.kafka.topic("profile") as t:
        cases = [
            ("mqcli kafka produce", ["kafka", "produce", t, "--acks", "1"], data),
            ("mqcli kafka consume", ["kafka", "consume", t, "--offset", "beginning", "--exit-at-end"], None),
        ]
        for tool, args, stdin in cases:
            scen = f"Profile: {tool} {n:,} x {SIZE} B (cProfile, all threads)"
            b.log(scen)
            row = Row(scen, tool, "mqcli", kind="profile", sid=f"profile/{args[0]}-{args[1]}", messages=n)
            with guarded(b, row):
                out = b.tools.workdir / "profile.json"
                out.unlink(missing_ok=True)
                p = b.run(
                    b.tools.helper("profile_run") + [str(out), "15", *args], stdin_path=stdin, timeout=b.timeout(n, 200)
                )
                row.wall_s, row.peak_rss_mb = p.wall, p.maxrss_kb / 1024
                if not p.ok:
                    raise RuntimeError(p.error())
                row.extra = json.loads(out.read_text())
                row.note = (
                    f"{row.extra['threads']} thread(s) profiled, {row.extra['total_s']:.1f}s of self time in all; "
                    f"wall {p.wall:.1f}s under the profiler"
                )


# -- Avro through a schema registry (issue 11) ----------------------------------------
REGISTRY = "http://127.0.0.1:8081/apis/ccompat/v7"
REGISTRY_HOST, REGISTRY_PORT = "127.0.0.1", 8081
AVRO_SCHEMA = {
    "type": "record",
    "name": "Order",
    "namespace": "mqcli.bench",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "customer", "type": "string"},
        {"name": "quantity", "type": "int"},
        {"name": "price", "type": "double"},
        {"name": "paid", "type": "boolean"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}


def avro_schema_file(workdir: Path) -> Path:
    path = workdir / "order.avsc"
    if not path.exists():
        path.write_text(json.dumps(AVRO_SCHEMA), encoding="utf-8")
    return path


def avro_data(workdir: Path, n: int) -> Path:
    """n JSON values of the Order schema, one a line (~100 bytes each), made once per n."""
    path = workdir / f"orders-{n}.jsonl"
    if not path.exists():
        with open(path, "w", encoding="ascii") as f:
            chunk: list[str] = []
            for i in range(n):
                note = "null" if i % 3 else f'"gift {i % 97:02d}"'
                chunk.append(
                    f'{{"id": {i}, "customer": "customer-{i % 10_007:05d}", "quantity": {1 + i % 9}, '
                    f'"price": {(i % 10_000) / 100}, "paid": {"true" if i % 2 else "false"}, "note": {note}}}\n'
                )
                if len(chunk) == 10_000:
                    f.write("".join(chunk))
                    chunk.clear()
            f.write("".join(chunk))
    return path


def _registry_subject_delete(subject: str) -> None:
    """Drop a subject the run registered (soft, then permanent), as the registry allows."""
    import urllib.error
    import urllib.request

    for suffix in ("", "?permanent=true"):
        req = urllib.request.Request(f"{REGISTRY}/subjects/{subject}{suffix}", method="DELETE")
        try:
            urllib.request.urlopen(req, timeout=10).close()
        except (urllib.error.URLError, OSError):
            return


@contextmanager
def avro_topic(b: Bench, prefix: str) -> Iterator[str]:
    """A fresh topic, and afterwards its value subject gone from the registry too."""
    with b.kafka.topic(prefix) as t:
        try:
            yield t
        finally:
            _registry_subject_delete(f"{t}-value")


def _avro_fill(b: Bench, topic: str, n: int) -> None:
    """Put n Avro records in `topic` with the reference loop (not measured)."""
    data = avro_data(b.tools.workdir, n)
    schema = avro_schema_file(b.tools.workdir)
    fill = b.run(
        b.tools.helper("avro_helper") + ["produce", BOOTSTRAP, REGISTRY, topic, str(schema)],
        stdin_path=data,
        timeout=b.timeout(n, 1000),
    )
    got = b.kafka.end_offset(topic)
    if not fill.ok or got != n:
        raise RuntimeError(f"filling {topic}: {fill.error() if not fill.ok else f'{got} of {n}'}")


def _check_json_lines(row: Row, out: bytes, n: int) -> None:
    """The consumer's stdout: n JSON records whose value is the decoded Order."""
    lines = out.splitlines()
    if len(lines) != n:
        row.error = f"{len(lines)} of {n} records written"
        return
    first = json.loads(lines[0])
    if not isinstance(first.get("value"), dict) or "customer" not in first["value"]:
        row.error = f"value not decoded: {lines[0][:120]!r}"


def avro_produce(b: Bench) -> None:
    n = b.sizes.avro
    scen = f"Kafka produce {n:,} JSON lines as Avro (registry)"
    b.log(scen)
    data = avro_data(b.tools.workdir, n)
    schema = avro_schema_file(b.tools.workdir)
    size = data.stat().st_size // n
    cases: list[tuple[str, str, Callable[[str], list[str]], str]] = [
        (
            "mqcli kafka produce --value-schema",
            "mqcli",
            lambda t: (
                b.tools.mqcli + ["kafka", "produce", t, "--schema-registry", REGISTRY, "--value-schema", str(schema)]
            ),
            f"one JSON value a line (~{size} B), registered as TOPIC-value; acks=all, idempotent (the default)",
        ),
        (
            "confluent-kafka AvroSerializer loop",
            "reference",
            lambda t: b.tools.helper("avro_helper") + ["produce", BOOTSTRAP, REGISTRY, t, str(schema)],
            "json.loads + AvroSerializer + produce() per line, acks=all, idempotent",
        ),
    ]
    for tool, role, make, note in cases:
        row = Row(scen, tool, role, sid="avro-produce", note=note)
        with guarded(b, row), avro_topic(b, "avro") as t:
            if take(row, b.run(make(t), stdin_path=data, timeout=b.timeout(n, 500)), n):
                got = b.kafka.end_offset(t)
                if got != n:
                    row.error = f"only {got} of {n} records on the topic"


def avro_consume(b: Bench) -> None:
    n = b.sizes.avro
    scen = f"Kafka consume {n:,} Avro records to -o json (registry), exit at end"
    b.log(scen)
    with avro_topic(b, "avro") as t:
        _avro_fill(b, t, n)
        cases: list[tuple[str, str, list[str], str]] = [
            (
                "mqcli kafka consume -o json",
                "mqcli",
                b.tools.mqcli
                + ["kafka", "consume", t, "--schema-registry", REGISTRY, "--offset", "beginning", "-e", "-o", "json"],
                "--value-format auto (the default with a registry): metadata, decoded value and value_schema",
            ),
            (
                "confluent-kafka AvroDeserializer loop",
                "reference",
                b.tools.helper("avro_helper") + ["consume", BOOTSTRAP, REGISTRY, t, str(n)],
                "AvroDeserializer + json.dumps of topic, partition, offset, timestamp, value per record",
            ),
        ]
        for tool, role, cmd, note in cases:
            row = Row(scen, tool, role, sid="avro-consume", note=note)
            with guarded(b, row):
                p = b.run(cmd, capture=True, timeout=b.timeout(n, 500))
                if take(row, p, n):
                    _check_json_lines(row, p.stdout, n)


def avro_memory(b: Bench) -> None:
    """Peak RSS of Avro produce and consume at two record counts (issue 11: flat)."""
    for what in ("produce", "consume"):
        scen = f"Memory: Kafka Avro {what} (registry)"
        b.log(scen)
        base: float | None = None
        for n in b.sizes.memory:
            row = Row(scen, f"mqcli kafka {what} (Avro)", "mqcli", kind="memory", sid=f"memory/avro-{what}")
            with guarded(b, row), avro_topic(b, "avro-memory") as t:
                if what == "produce":
                    cmd = b.tools.mqcli + [
                        "kafka",
                        "produce",
                        t,
                        "--schema-registry",
                        REGISTRY,
                        "--value-schema",
                        str(avro_schema_file(b.tools.workdir)),
                    ]
                    p = b.run(cmd, stdin_path=avro_data(b.tools.workdir, n), timeout=b.timeout(n, 500))
                else:
                    _avro_fill(b, t, n)
                    cmd = b.tools.mqcli + [
                        "kafka",
                        "consume",
                        t,
                        "--schema-registry",
                        REGISTRY,
                        "--offset",
                        "beginning",
                        "-e",
                        "-o",
                        "json",
                    ]
                    p = b.run(cmd, timeout=b.timeout(n, 500))
                take(row, p, n)
                row.kind = "memory"
                if not row.error and what == "produce" and b.kafka.end_offset(t) != n:
                    row.error = f"only {b.kafka.end_offset(t)} of {n} records on the topic"
                if not row.error:
                    if base is None:
                        base = row.peak_rss_mb
                    elif base and row.peak_rss_mb:
                        row.extra["growth"] = row.peak_rss_mb / base - 1


# -- move vs the pipe (issue 12) ---------------------------------------------------------
def _pipe(*commands: list[str]) -> list[str]:
    """One shell pipeline, failing when any stage fails (measured as one process tree)."""
    return ["bash", "-c", "set -o pipefail; " + " | ".join(shlex.join(c) for c in commands)]


def _fill_topic(b: Bench, topic: str, n: int) -> None:
    data = data_file(b.tools.workdir, n, SIZE)
    try:
        fill = b.run(b.tools.kcat() + ["-P", "-b", BOOTSTRAP, "-t", topic], stdin_path=data, timeout=b.timeout(n, 2000))
    except ToolMissing:
        fill = b.run(b.tools.mqcli + ["kafka", "produce", topic, "--acks", "1"], stdin_path=data, timeout=b.timeout(n))
    got = b.kafka.end_offset(topic)
    if not fill.ok or got != n:
        raise RuntimeError(f"filling {topic}: {fill.error() if not fill.ok else f'{got} of {n}'}")


def _exactly_once_available(b: Bench) -> bool:
    """`move --exactly-once` is issue 12's last part: measured once the command has it."""
    p = b.run(b.tools.mqcli + ["move", "--help"], capture=True, timeout=60)
    return p.ok and b"--exactly-once" in p.stdout


def _move_rows(
    b: Bench,
    sid: str,
    scen: str,
    cases: list[tuple[str, str, str]],
    run_case: Callable[[Row, str], None],
) -> None:
    for tool, role, note in cases:
        row = Row(scen, tool, role, sid=sid, note=note)
        with guarded(b, row):
            run_case(row, tool)
        if "|" in tool:
            # The rate a pipe's stages print is each stage's own, not the pipe's.
            row.tool_msg_s = None


def move_kafka_kafka(b: Bench) -> None:
    n = b.sizes.move
    scen = f"Move {n:,} x {SIZE} B Kafka -> Kafka"
    b.log(scen)
    cases = [
        ("mqcli move", "mqcli", "consumer group committed after acks=all (idempotent) from the target"),
        ("mqcli kafka consume -o json | mqcli kafka produce -i jsonl", "reference", PIPE_NOTE),
    ]
    if _exactly_once_available(b):
        cases.append(("mqcli move --exactly-once", "context", "transactional producer, offsets in the transaction"))
    with b.kafka.topic("move-src") as src:
        _fill_topic(b, src, n)

        def run_case(row: Row, tool: str) -> None:
            with b.kafka.topic("move-dst") as dst:
                group = unique("move")
                if tool.startswith("mqcli move"):
                    extra = ["--exactly-once"] if tool.endswith("--exactly-once") else []
                    cmd = b.tools.mqcli + ["move", f"kafka:{src}", f"kafka:{dst}", "-e", "--group", group, *extra]
                else:
                    cmd = _pipe(
                        b.tools.mqcli + ["kafka", "consume", src, "--offset", "beginning", "-e", "-o", "json"],
                        b.tools.mqcli + ["kafka", "produce", dst, "-i", "jsonl"],
                    )
                try:
                    if take(row, b.run(cmd, timeout=b.timeout(n, 200)), n):
                        got = b.kafka.end_offset(dst)
                        # A transactional producer's commit markers take offsets too.
                        if got is None or got < n or (got != n and "exactly" not in tool):
                            row.error = f"{got} of {n} messages on the target topic"
                finally:
                    b.kafka.delete_group(group)

        _move_rows(b, "move/kafka-kafka", scen, cases, run_case)


# The pipe's target gets the guarantee the move gives it (only the source side is
# unguarded): Kafka produce's defaults are acks=all with idempotence, as the move's producer.
PIPE_NOTE = "the unguarded pipe (the consumer does not wait for the target); acks=all, idempotent (produce's defaults)"


def move_rabbit_kafka(b: Bench) -> None:
    n = b.sizes.move
    scen = f"Move {n:,} x {SIZE} B RabbitMQ -> Kafka"
    b.log(scen)
    cases = [
        ("mqcli move", "mqcli", "each batch acknowledged after acks=all (idempotent) from Kafka"),
        ("mqcli rabbit consume -o json | mqcli kafka produce -i jsonl", "reference", PIPE_NOTE),
    ]

    def run_case(row: Row, tool: str) -> None:
        with b.rabbit.queue("move-src") as q, b.kafka.topic("move-dst") as t:
            b.rabbit.fill(q, n, SIZE)
            if tool == "mqcli move":
                cmd = b.tools.mqcli + ["move", f"rabbit:{q}", f"kafka:{t}", "-e"]
            else:
                cmd = _pipe(
                    b.tools.mqcli + ["rabbit", "consume", q, "--count", str(n), "-o", "json"],
                    b.tools.mqcli + ["kafka", "produce", t, "-i", "jsonl"],
                )
            if take(row, b.run(cmd, timeout=b.timeout(n, 200)), n):
                got, left = b.kafka.end_offset(t), b.rabbit.wait_count(q, 0, timeout=5)
                if got != n or left != 0:
                    row.error = f"{got} of {n} messages on the topic, {left} left in the queue"

    _move_rows(b, "move/rabbit-kafka", scen, cases, run_case)


def move_kafka_rabbit(b: Bench) -> None:
    n = b.sizes.move
    scen = f"Move {n:,} x {SIZE} B Kafka -> RabbitMQ"
    b.log(scen)
    cases = [
        ("mqcli move", "mqcli", "consumer group committed after publisher confirms (mandatory), persistent"),
        (
            "mqcli kafka consume -o json | mqcli rabbit publish -i jsonl --persistent",
            "reference",
            # A Kafka record has no AMQP properties: without --persistent the pipe would
            # publish transient messages, which RabbitMQ confirms without writing them.
            PIPE_NOTE.split(";")[0] + "; --persistent, as the move publishes (delivery_mode 2), with confirms",
        ),
    ]
    with b.kafka.topic("move-src") as src:
        _fill_topic(b, src, n)

        def run_case(row: Row, tool: str) -> None:
            with b.rabbit.queue("move-dst") as q:
                group = unique("move")
                if tool == "mqcli move":
                    cmd = b.tools.mqcli + ["move", f"kafka:{src}", f"rabbit:{q}", "-e", "--group", group]
                else:
                    cmd = _pipe(
                        b.tools.mqcli + ["kafka", "consume", src, "--offset", "beginning", "-e", "-o", "json"],
                        b.tools.mqcli + ["rabbit", "publish", "--queue", q, "-i", "jsonl", "--persistent"],
                    )
                try:
                    if take(row, b.run(cmd, timeout=b.timeout(n, 200)), n):
                        got = b.rabbit.wait_count(q, n)
                        if got != n:
                            row.error = f"{got} of {n} messages in the target queue"
                finally:
                    b.kafka.delete_group(group)

        _move_rows(b, "move/kafka-rabbit", scen, cases, run_case)


# -- listings: 1,000 queues, a group of 100 partitions (issue 13) ------------------------
MANAGEMENT = f"http://{RABBIT_HOST}:15672"


def _management(method: str, path: str, body: dict[str, Any] | None = None) -> None:
    """One call to RabbitMQ's management API as guest (set-up, not measured)."""
    import base64
    import urllib.request

    req = urllib.request.Request(
        MANAGEMENT + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Authorization": "Basic " + base64.b64encode(b"guest:guest").decode(),
            "Content-Type": "application/json",
        },
    )
    urllib.request.urlopen(req, timeout=30).close()


@contextmanager
def vhost_with_queues(count: int) -> Iterator[str]:
    """A fresh vhost holding exactly `count` queues, so the listing's size is
    known whatever the shared broker's "/" holds; deleted (queues and all) after."""
    import urllib.parse

    import pika

    name = unique("vhost")
    quoted = urllib.parse.quote(name, safe="")
    _management("PUT", f"/api/vhosts/{quoted}", {})
    try:
        _management("PUT", f"/api/permissions/{quoted}/guest", {"configure": ".*", "write": ".*", "read": ".*"})
        params = pika.URLParameters(f"amqp://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/{quoted}?heartbeat=0")
        conn = pika.BlockingConnection(params)
        try:
            ch = conn.channel()
            for i in range(count):
                ch.queue_declare(f"q-{i:05d}", durable=True)
        finally:
            conn.close()
        yield name
    finally:
        try:
            _management("DELETE", f"/api/vhosts/{quoted}")
        except OSError:
            pass


@contextmanager
def group_with_partitions(b: Bench, partitions: int) -> Iterator[str]:
    """A topic of `partitions` partitions with a message in each, and a group
    with an offset committed on each (no member: a stopped consumer's group)."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic
    from kafka.structs import OffsetAndMetadata

    topic, group = unique("describe"), unique("describe-group")
    b.kafka.admin.create_topics([NewTopic(topic, partitions, 1)])
    try:
        producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, client_id="mqcli-bench")
        try:
            for p in range(partitions):
                producer.send(topic, b"x" * SIZE, partition=p)
            producer.flush(30)
        finally:
            producer.close()
        consumer = KafkaConsumer(
            bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False, client_id="mqcli-bench"
        )
        try:
            tps = [TopicPartition(topic, p) for p in range(partitions)]
            consumer.assign(tps)
            # Committed at 0 while each partition ends at 1: a lag of 1 on every row.
            consumer.commit({tp: OffsetAndMetadata(0, "", -1) for tp in tps})
        finally:
            consumer.close()
        yield group
    finally:
        b.kafka.delete_group(group)
        b.kafka.delete(topic)


def _alternating(b: Bench, scen: str, sid: str, cases: list[tuple[str, str, list[str], str]], runs: int) -> list[Row]:
    """Each command `runs` times, the cases alternating (a shared machine drifts:
    side by side, the ratio holds); medians of wall and CPU time, mqcli's ÷ each."""
    rows = [Row(scen, tool, role, kind="latency", sid=sid, note=note) for tool, role, _, note in cases]
    times: list[list[float]] = [[] for _ in cases]
    cpu: list[list[float]] = [[] for _ in cases]
    rss = [0 for _ in cases]
    # A first round warms the page cache and is not counted (not at a size of one run: the smoke test).
    warm = 1 if runs > 1 else 0
    for i in range(warm + runs):
        for k, (_tool, _role, cmd, _note) in enumerate(cases):
            if rows[k].error:
                continue
            try:
                p = b.run(cmd, timeout=120)
                if not p.ok:
                    raise RuntimeError(p.error())
            except ToolMissing as e:
                rows[k].error = f"not available: {e}"
                continue
            except Exception as e:
                rows[k].error = f"{type(e).__name__}: {e}"[:300]
                continue
            if i >= warm:
                times[k].append(p.wall * 1000)
                cpu[k].append(p.cpu * 1000)
                rss[k] = max(rss[k], p.maxrss_kb)
    for k, row in enumerate(rows):
        if not row.error and times[k]:
            row.messages = len(times[k])
            row.extra = latency_extra(times[k]) | {"cpu_p50_ms": statistics.median(cpu[k])}
            row.peak_rss_mb = rss[k] / 1024
            row.note += ("; " if row.note else "") + f"median of {len(times[k])}, CPU {row.extra['cpu_p50_ms']:.0f} ms"
    mine = rows[0]
    if not mine.error and mine.extra:
        for row in rows[1:]:
            if not row.error and row.extra:
                vs = mine.extra["p50_ms"] / row.extra["p50_ms"]
                mine.extra[f"vs {row.tool}"] = vs
                row.extra["mqcli_vs_this"] = vs
                row.note += f"; mqcli ÷ this {vs:.2f}"
    for row in rows:
        b.add(row)
    return rows


def admin_queues_list(b: Bench) -> None:
    count, runs = b.sizes.queues, b.sizes.admin_runs
    scen = f"rabbit queues list: a vhost of {count:,} queues (issue 13: < 1 s)"
    b.log(scen)
    try:
        with vhost_with_queues(count) as vhost:
            cases = [
                (
                    "mqcli rabbit queues list",
                    "mqcli",
                    b.tools.mqcli + ["rabbit", "queues", "list", "--vhost", vhost],
                    "management API; whole process",
                ),
                (
                    "rabbitmqadmin list queues",
                    "reference",
                    _rabbitmqadmin(b) + ["-V", vhost, "list", "queues"],
                    "RabbitMQ's own Python CLI (Debian's), same API",
                ),
                (
                    "curl /api/queues",
                    "floor",
                    ["curl", "-sf", "-u", "guest:guest", f"{MANAGEMENT}/api/queues/{vhost}", "-o", "/dev/null"],
                    "the HTTP request alone, every column",
                ),
            ]
            _alternating(b, scen, "admin-queues-list", cases, runs)
    except ToolMissing as e:
        b.add(Row(scen, "mqcli rabbit queues list", "mqcli", kind="latency", sid="admin-queues-list", error=str(e)))


def _rabbitmqadmin(b: Bench) -> list[str]:
    import shutil

    path = shutil.which("rabbitmqadmin")
    if not path:
        raise ToolMissing("rabbitmqadmin not installed (Debian rabbitmq-server)")
    return [path, "-H", RABBIT_HOST]


def admin_groups_describe(b: Bench) -> None:
    partitions, runs = b.sizes.partitions, b.sizes.admin_runs
    scen = f"kafka groups describe: a group with {partitions} partitions (issue 13: < 1 s)"
    b.log(scen)
    with group_with_partitions(b, partitions) as group:
        cases = [
            (
                "mqcli kafka groups describe",
                "mqcli",
                b.tools.mqcli + ["kafka", "groups", "describe", group],
                "the default engine; whole process",
            ),
            (
                "mqcli kafka groups describe (kafka-python)",
                "context",
                b.tools.mqcli + ["kafka", "--engine", "kafka-python", "groups", "describe", group],
                "--engine kafka-python",
            ),
        ]
        try:
            cases.append(
                (
                    "kafka-consumer-groups --describe",
                    "reference",
                    b.tools.kafka_tool("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand")
                    + ["--bootstrap-server", BOOTSTRAP, "--describe", "--group", group],
                    "Kafka's own tool; JVM start-up included",
                )
            )
        except ToolMissing as e:
            b.add(
                Row(
                    scen,
                    "kafka-consumer-groups --describe",
                    "reference",
                    "latency",
                    "admin-groups-describe",
                    error=str(e),
                )
            )
        _alternating(b, scen, "admin-groups-describe", cases, runs)


def admin_watch(b: Bench) -> None:
    """CPU time of `--watch` at its default interval (2 s) over watch_s seconds,
    stdout a pipe (JSON Lines snapshots), start-up included (issue 13: < 5% of a core)."""
    secs = b.sizes.watch_s
    if not secs:
        b.log("  --watch CPU: not measured at this size")
        return
    scen = f"--watch CPU at the default interval over {secs:g} s (issue 13: < 5% of one core)"
    b.log(scen)

    def watch(row: Row, cmd: list[str]) -> None:
        started = measure.Started(cmd, env=b.tools.env, cwd=b.tools.workdir)
        time.sleep(secs)
        started.terminate()
        p = started.wait(30)
        if p.rc not in (0, 143) or p.timed_out:
            raise RuntimeError(p.error())
        row.peak_rss_mb = p.maxrss_kb / 1024
        row.wall_s = p.wall
        row.extra = {"cpu_s": p.cpu, "core_pct": 100 * p.cpu / p.wall}
        row.note = f"{row.extra['core_pct']:.1f}% of one core ({p.cpu:.2f} s CPU in {p.wall:.0f} s)"

    row = Row(scen, "mqcli rabbit queues list --watch", "mqcli", kind="latency", sid="admin-watch/queues")
    with guarded(b, row), vhost_with_queues(b.sizes.queues) as vhost:
        watch(row, b.tools.mqcli + ["rabbit", "queues", "list", "--vhost", vhost, "--watch"])
    row = Row(scen, "mqcli kafka groups describe --watch", "mqcli", kind="latency", sid="admin-watch/groups")
    with guarded(b, row), group_with_partitions(b, b.sizes.partitions) as group:
        watch(row, b.tools.mqcli + ["kafka", "groups", "describe", "--watch", "2s", group])


# -- stream consume over AMQP (issue 16) -------------------------------------------------
def stream_consume(b: Bench) -> None:
    n = b.sizes.stream
    scen = f"RabbitMQ stream consume {n:,} x {SIZE} B over AMQP and the stream protocol, from the first offset"
    b.log(scen)
    cases: list[tuple[str, str, Callable[[str], list[str]], str]] = [
        (
            "mqcli rabbit consume --offset first -e",
            "mqcli",
            lambda s: b.tools.mqcli + ["rabbit", "consume", s, "--offset", "first", "-e"],
            "prefetch 100 (the default), exit at the stream's end",
        ),
        (
            "mqcli rabbit consume --offset first -e --stream-engine native",
            "mqcli",
            lambda s: b.tools.mqcli + ["rabbit", "consume", s, "--offset", "first", "-e", "--stream-engine", "native"],
            "the stream protocol (rstream, port 5552), credit 10 chunks, exit at the stream's end",
        ),
        (
            "pika loop",
            "reference",
            lambda s: b.tools.helper("stream_helper") + ["consume", RABBIT_URL, s, str(n), "100"],
            "x-stream-offset first, prefetch 100, one multiple-ack per 25",
        ),
    ]
    with b.rabbit.stream("stream") as s:
        b.rabbit.fill(s, n, SIZE)
        for tool, role, make, note in cases:
            row = Row(scen, tool, role, sid="stream-consume", note=note)
            with guarded(b, row):
                p = b.run(make(s), capture=True, timeout=b.timeout(n))
                if take(row, p, n):
                    got = p.stdout.count(b"\n")
                    if got != n:
                        row.error = f"{got} of {n} messages read"


# Issue 15 section 2's sizes: (messages, payload bytes) -- 300k x 100 B and
# 100k x 1 KB, and in the full run 1M x 100 B and 300k x 1 KB as well.
NATIVE_SIZES = {
    "full": [(300_000, SIZE), (1_000_000, SIZE), (300_000, 1024)],
    "small": [(300_000, SIZE), (100_000, 1024)],
    "tiny": [(2_000, SIZE), (2_000, 1024)],
}


def _native_sizes(b: Bench) -> list[tuple[int, int]]:
    size = next((name for name, sizes in SIZES.items() if sizes == b.sizes), "small")
    return NATIVE_SIZES[size]


def _native_missing(row: Row) -> bool:
    """Whether the native engine is not built: its row then says so as context,
    not as a failed mqcli row."""
    from mqcli.core.kafka.native import available

    if available():
        return False
    row.role, row.error = "context", "the native engine is not built (make install builds it when cargo is present)"
    return True


def kafka_native_produce(b: Bench) -> None:
    """The native engine (mqcli-native: the produce loop in Rust on librdkafka)
    against kcat, lines from stdin, acks=1; the librdkafka engine's Python loop
    beside it."""
    for n, size in _native_sizes(b):
        data = data_file(b.tools.workdir, n, size)
        scen = f"Kafka produce {n:,} x {size} B from stdin, acks=1, native engine"
        sid = f"kafka-native-produce/{size}B/acks=1"
        b.log(scen)
        mqcli = b.tools.mqcli
        cases: list[tuple[str, str, Callable[[str], list[str]], str]] = [
            (
                "mqcli kafka produce (native)",
                "mqcli",
                lambda t: mqcli + ["kafka", "--engine", "native", "produce", t, "--acks", "1"],
                "produce loop in mqcli-native",
            ),
            (
                "mqcli kafka produce (librdkafka)",
                "context",
                lambda t: mqcli + ["kafka", "--engine", "librdkafka", "produce", t, "--acks", "1"],
                "confluent-kafka loop",
            ),
            (
                "kcat -P",
                "reference",
                lambda t: b.tools.kcat() + ["-P", "-b", BOOTSTRAP, "-t", t, "-X", "acks=1"],
                "librdkafka defaults",
            ),
        ]
        for tool, role, make, note in cases:
            row = Row(scen, tool, role, sid=sid, note=note)
            if role == "mqcli" and _native_missing(row):
                b.add(row)
                continue
            with guarded(b, row), b.kafka.topic("produce") as t:
                p = b.run(make(t), stdin_path=data, timeout=b.timeout(n, 2000))
                if take(row, p, n) and (got := b.kafka.end_offset(t)) != n:
                    row.error = f"only {got} of {n} messages on the topic"


def kafka_native_consume(b: Bench) -> None:
    """The native engine's consume loop (mqcli-native) against kcat: records
    from the beginning to the end offsets, raw output to a pipe the runner
    reads (every line counted); the librdkafka engine's Python loop beside it."""
    consume = ["consume", "--offset", "beginning", "--exit-at-end"]
    for n, size in _native_sizes(b):
        data = data_file(b.tools.workdir, n, size)
        scen = f"Kafka consume {n:,} x {size} B to the end offsets, native engine"
        b.log(scen)
        with b.kafka.topic("consume") as t:
            fill = b.run(b.tools.kcat() + ["-P", "-b", BOOTSTRAP, "-t", t], stdin_path=data, timeout=b.timeout(n, 2000))
            got = b.kafka.end_offset(t)
            if not fill.ok or got != n:
                raise RuntimeError(f"filling {t}: {fill.error() if not fill.ok else f'{got} of {n}'}")
            cases: list[tuple[str, str, list[str], str]] = [
                (
                    "mqcli kafka consume (native)",
                    "mqcli",
                    b.tools.mqcli + ["kafka", "--engine", "native", *consume, t],
                    "consume loop in mqcli-native",
                ),
                (
                    "mqcli kafka consume (librdkafka)",
                    "context",
                    b.tools.mqcli + ["kafka", "--engine", "librdkafka", *consume, t],
                    "confluent-kafka loop",
                ),
                (
                    "kcat -C -e",
                    "reference",
                    b.tools.kcat() + ["-C", "-b", BOOTSTRAP, "-t", t, "-o", "beginning", "-e", "-q"],
                    "librdkafka defaults",
                ),
            ]
            for tool, role, argv, note in cases:
                row = Row(scen, tool, role, sid=f"kafka-native-consume/{size}B", note=note)
                if role == "mqcli" and _native_missing(row):
                    b.add(row)
                    continue
                with guarded(b, row):
                    p = b.run(argv, capture=True, timeout=b.timeout(n, 2000))
                    if take(row, p, n) and (lines := p.stdout.count(b"\n")) != n:
                        row.error = f"{lines} of {n} messages read"


RUNNERS: dict[str, Callable[[Bench], None]] = {
    "startup": startup,
    "help": help_pages,
    "one-shot": one_shot,
    "first-message": first_message,
    "kafka-produce": kafka_produce,
    "kafka-consume": kafka_consume,
    "rabbit-publish": rabbit_publish,
    "rabbit-consume": rabbit_consume,
    "rpc": rpc,
    "delay": delay,
    "memory": memory,
    "profile": profile,
    "avro-produce": avro_produce,
    "avro-consume": avro_consume,
    "avro-memory": avro_memory,
    "move-kafka-kafka": move_kafka_kafka,
    "move-rabbit-kafka": move_rabbit_kafka,
    "move-kafka-rabbit": move_kafka_rabbit,
    "admin-queues-list": admin_queues_list,
    "admin-groups-describe": admin_groups_describe,
    "admin-watch": admin_watch,
    "stream-consume": stream_consume,
    "kafka-native-produce": kafka_native_produce,
    "kafka-native-consume": kafka_native_consume,
}
