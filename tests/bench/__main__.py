"""Benchmark runner: mqcli against kcat, Kafka's tools and RabbitMQ PerfTest.

  python -m tests.bench [--size full|small|tiny] [--out bench-results]
                        [--only kafka,rabbit-publish,...] [--skip memory,...]

Writes OUT/report.md and OUT/report.json.  Exit 0 when every mqcli row
succeeded, 1 when any mqcli row failed (reference tools failing only show in
their rows), 2 on bad arguments, 4 when a broker is not reachable, 130 when
interrupted (SIGINT/SIGTERM; the report then holds what was measured).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

from tests.bench import report
from tests.bench.report import Row
from tests.bench.scenarios import REGISTRY_HOST, REGISTRY_PORT, RUNNERS, SCENARIOS, SIZES, Bench
from tests.bench.tools import (
    KAFKA_HOST,
    KAFKA_PORT,
    RABBIT_HOST,
    RABBIT_PORT,
    Tools,
    go_tool_versions,
    go_version,
    kafka_version,
    perftest_version,
)

NEEDS = {  # which broker each scenario needs
    "startup": set(),
    "help": set(),
    "one-shot": {"kafka", "rabbit"},
    "first-message": {"kafka", "rabbit"},
    "kafka-produce": {"kafka"},
    "kafka-consume": {"kafka"},
    "rabbit-publish": {"rabbit"},
    "rabbit-consume": {"rabbit"},
    "rpc": {"rabbit"},
    "delay": {"rabbit"},
    "memory": {"kafka", "rabbit"},
    "profile": {"kafka"},
    "avro-produce": {"kafka", "registry"},
    "avro-consume": {"kafka", "registry"},
    "avro-memory": {"kafka", "registry"},
    "move-kafka-kafka": {"kafka"},
    "move-rabbit-kafka": {"kafka", "rabbit"},
    "move-kafka-rabbit": {"kafka", "rabbit"},
    "admin-queues-list": {"rabbit"},
    "admin-groups-describe": {"kafka"},
    "admin-watch": {"kafka", "rabbit"},
    "stream-consume": {"rabbit"},
    "kafka-native-produce": {"kafka"},
    "kafka-native-consume": {"kafka"},
}


def select(only: str | None, skip: str | None) -> list[str]:
    """Scenario ids in run order; a token selects every id it prefixes."""

    def expand(spec: str) -> set[str]:
        chosen: set[str] = set()
        for token in filter(None, (t.strip() for t in spec.split(","))):
            hits = {s for s in SCENARIOS if s == token or s.startswith(token + "-") or s.startswith(token)}
            if not hits:
                raise SystemExit(f"unknown scenario {token!r}; choose from {', '.join(SCENARIOS)}")
            chosen |= hits
        return chosen

    wanted = expand(only) if only else set(SCENARIOS)
    if skip:
        wanted -= expand(skip)
    return [s for s in SCENARIOS if s in wanted]


def counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of counts: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"counts must be >= 1: {text!r}")
    return values


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="small",
        help="full: the issue's sizes (1M Kafka, 200k RabbitMQ); small: ~1/50; tiny: smoke test",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("bench-results"), help="report directory (default bench-results)"
    )
    parser.add_argument("--only", help=f"comma-separated scenarios or prefixes: {', '.join(SCENARIOS)}")
    parser.add_argument("--skip", help="comma-separated scenarios or prefixes to leave out")
    parser.add_argument(
        "--no-go-build",
        action="store_true",
        help="leave the Go peers (kaf, rabtap) unbuilt: their rows say so unless built before",
    )
    parser.add_argument("--memory-sizes", type=counts, help="message counts for the memory rows, e.g. 10000,100000")
    args = parser.parse_args(argv)

    try:
        chosen = select(args.only, args.skip)
    except SystemExit as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    sizes = SIZES[args.size]
    if args.memory_sizes:
        sizes = replace(sizes, memory=args.memory_sizes)

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    needed = set().union(*(NEEDS[s] for s in chosen)) if chosen else set()
    down = [
        f"{name} at {h}:{p}"
        for name, h, p in (
            ("Kafka", KAFKA_HOST, KAFKA_PORT),
            ("RabbitMQ", RABBIT_HOST, RABBIT_PORT),
            ("Registry", REGISTRY_HOST, REGISTRY_PORT),
        )
        if name.lower()[:5] in {n[:5] for n in needed} and not reachable(h, p)
    ]
    if down:
        print(f"bench: not reachable: {', '.join(down)} -- start the brokers with `make brokers`", file=sys.stderr)
        return 4

    workdir = Path(tempfile.mkdtemp(prefix="mqcli-bench-"))
    bench = Bench(Tools(workdir=workdir, build_go=not args.no_go_build), sizes, log)
    started = time.monotonic()
    rabbit_version = None
    if needed & {"rabbit"}:
        try:
            rabbit_version = bench.rabbit.server_version()
        except Exception:
            pass
    info = report.machine(kafka_version(), rabbit_version, None)
    info["scenarios"] = chosen
    info["go"] = go_version()

    def write(status: str) -> tuple[Path, Path]:
        # After every scenario: an interrupted run still leaves what it measured.
        report.fill_ratios(bench.rows)
        info["perftest"] = perftest_version()
        info["go_tools"] = go_tool_versions()
        info["duration_s"] = round(time.monotonic() - started, 1)
        info["status"] = status
        return report.write(args.out, bench.rows, info, args.size, asdict(sizes))

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    interrupted = False
    try:
        for i, name in enumerate(chosen):
            log(f"== {name}")
            try:
                RUNNERS[name](bench)
            except Exception as e:
                bench.add(Row(name, "(scenario set-up)", "mqcli", error=f"{type(e).__name__}: {e}"[:300]))
            write("complete" if i == len(chosen) - 1 else f"partial: {i + 1} of {len(chosen)} scenarios")
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: writing what was measured")
        write("interrupted")
    finally:
        bench.close()
        shutil.rmtree(workdir, ignore_errors=True)
    md, js = args.out / "report.md", args.out / "report.json"
    if not chosen:
        md, js = write("complete")
    log(f"report: {md} and {js} ({len(bench.rows)} rows, {round(time.monotonic() - started, 1)}s)")
    if interrupted:
        return 130
    failed = [r for r in bench.rows if report.is_mqcli_failure(r)]
    if failed:
        log(f"{len(failed)} mqcli row(s) failed:")
        for r in failed:
            log(f"  {r.scenario} / {r.tool}: {r.error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
