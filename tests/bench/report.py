"""Result rows, the machine description, and the Markdown/JSON report."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from tests.bench.measure import RSS_METHOD

MB = 1_000_000


@dataclass
class Row:
    """One tool in one scenario.

    kind: "throughput" (messages/s), "latency" (ms figures in `extra`) or
    "memory" (peak RSS at a message count).  role: "mqcli", "reference",
    "ceiling", "floor" or "context".  `ratio` is mqcli's rate divided by this
    row's rate (on reference rows) -- above 1 means mqcli is faster.
    """

    scenario: str
    tool: str
    role: str
    kind: str = "throughput"
    sid: str = ""  # stable scenario id for the targets, e.g. "kafka-produce/acks=1"
    messages: int = 0
    payload_bytes: int = 0
    wall_s: float | None = None
    msg_s: float | None = None
    mb_s: float | None = None
    tool_msg_s: float | None = None  # the rate the tool reports itself (steady state)
    ratio: float | None = None
    peak_rss_mb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    error: str | None = None

    def set_rate(self, messages: int, payload_bytes: int, wall: float) -> None:
        self.messages, self.payload_bytes, self.wall_s = messages, payload_bytes, wall
        if wall > 0:
            self.msg_s = messages / wall
            self.mb_s = payload_bytes / wall / MB

    @property
    def best_rate(self) -> float | None:
        """The rate used for ratios: wall-clock, end to end, start-up included."""
        return self.msg_s


def is_mqcli_failure(row: Row) -> bool:
    """A failed row that measured mqcli (these make the runner exit 1)."""
    return bool(row.error) and (row.role == "mqcli" or row.tool.startswith("mqcli"))


def fill_ratios(rows: list[Row]) -> None:
    """On every non-mqcli throughput row: mqcli's rate / its rate (same scenario)."""
    by_scenario: dict[str, list[Row]] = {}
    for row in rows:
        by_scenario.setdefault(row.scenario, []).append(row)
    for group in by_scenario.values():
        mine = next((r for r in group if r.role == "mqcli" and not r.error and r.msg_s), None)
        for row in group:
            if row.kind != "throughput" or row.error or not row.msg_s:
                continue
            if mine is not None and row is not mine:
                row.ratio = mine.msg_s / row.msg_s  # type: ignore[operator]


def _find(rows: list[Row], sid: str, tool_prefix: str) -> Row | None:
    return next((r for r in rows if r.sid == sid and r.tool.startswith(tool_prefix) and not r.error), None)


def targets(rows: list[Row]) -> list[dict[str, Any]]:
    """The issue's targets, computed from this run (reported, never asserted)."""
    out: list[dict[str, Any]] = []

    def ratio(name: str, a: Row | None, b: Row | None, want: float, note: str = "") -> None:
        if a is None or b is None or not a.msg_s or not b.msg_s:
            return
        r = a.msg_s / b.msg_s
        measured = f"{r:.2f}"
        if a.tool_msg_s and b.tool_msg_s:
            # Both print their own rate: the ratio without start-up, for reference.
            measured += f" (own rates: {a.tool_msg_s / b.tool_msg_s:.2f})"
        out.append(
            {"target": name, "measured": measured, "want": f">= {want:.2f}", "met": r >= want, "note": note, "ratio": r}
        )

    for acks in ("1", "all"):
        sid = f"kafka-produce/acks={acks}"
        ratio(
            f"Kafka produce acks={acks}: mqcli / kcat",
            _find(rows, sid, "mqcli"),
            _find(rows, sid, "kcat"),
            0.8,
            "the target is for the librdkafka engine",
        )
    ratio(
        "Kafka consume: mqcli / kcat",
        _find(rows, "kafka-consume", "mqcli"),
        _find(rows, "kafka-consume", "kcat"),
        0.8,
        "the target is for the librdkafka engine",
    )
    confirmed = _find(rows, "rabbit-publish/confirm", "mqcli")
    ratio(
        "RabbitMQ publish: confirmed / mqcli's own unconfirmed",
        confirmed,
        _find(rows, "rabbit-publish/no-confirm", "mqcli"),
        0.7,
    )
    ratio(
        "RabbitMQ publish: confirmed, mqcli / PerfTest",
        confirmed,
        _find(rows, "rabbit-publish/confirm", "PerfTest"),
        0.5,
    )
    ratio(
        "RabbitMQ consume, manual ack: mqcli / PerfTest",
        _find(rows, "rabbit-consume", "mqcli"),
        _find(rows, "rabbit-consume", "PerfTest"),
        0.5,
    )
    # Issue 15 §3: against amqp-publish (which has no confirms) and PerfTest's consumer.
    for sid, want in (("rabbit-publish/no-confirm", 1.0), ("rabbit-publish/confirm", 0.8)):
        ratio(
            f"RabbitMQ publish {sid.split('/')[1]}: mqcli / amqp-publish -l -p",
            _find(rows, sid, "mqcli"),
            _find(rows, sid, "amqp-publish"),
            want,
            "issue 15",
        )
    ratio(
        "RabbitMQ consume, manual ack: mqcli / PerfTest (issue 15)",
        _find(rows, "rabbit-consume", "mqcli"),
        _find(rows, "rabbit-consume", "PerfTest"),
        1.0,
    )
    helps = _find(rows, "startup", "mqcli --help")
    if helps is not None and "p50_ms" in helps.extra:
        ms = helps.extra["p50_ms"]
        out.append(
            {
                "target": "mqcli --help start-up (median)",
                "measured": f"{ms:.0f} ms",
                "want": "< 150 ms",
                "met": ms < 150,
                "note": "",
            }
        )
    helps = [r for r in rows if r.sid == "help" and not r.error and "vs_base" in r.extra]
    if helps:
        worst = max(helps, key=lambda r: r.extra["vs_base"])
        over = [r for r in helps if r.extra["vs_base"] > 1.5]
        out.append(
            {
                "target": "every subcommand's --help / mqcli --help (medians, side by side)",
                "measured": f"worst {worst.extra['vs_base']:.2f} ({worst.tool}); {len(over)} of {len(helps)} over 1.5",
                "want": "<= 1.50",
                "met": not over,
                "note": "",
            }
        )
    for r in rows:
        if r.sid.startswith("one-shot/") and r.role == "mqcli" and not r.error:
            for key, vs in r.extra.items():
                if key.startswith("vs bare"):
                    cpu_vs = r.extra.get(f"cpu {key}")
                    out.append(
                        {
                            "target": f"{r.tool} / {key[3:]} (whole process, medians)",
                            "measured": f"{vs:.2f}" + (f" (CPU time {cpu_vs:.2f})" if cpu_vs else ""),
                            "want": "<= 1.25",
                            "met": vs <= 1.25,
                            "note": "issue 15",
                        }
                    )
    probes = [r for r in rows if r.sid == "imports"]
    if probes:
        bad = [r.tool for r in probes if r.error]
        out.append(
            {
                "target": "no broker client imported for help / the other broker's commands",
                "measured": "; ".join(f"{r.tool}: {r.note or r.error}" for r in probes),
                "want": "none",
                "met": not bad,
                "note": "",
            }
        )
    more_targets(rows, ratio, out)
    mem_sids = sorted({r.sid for r in rows if r.kind == "memory"})
    for sid in mem_sids:
        group = [r for r in rows if r.sid == sid and not r.error and r.peak_rss_mb]
        if len(group) >= 2:
            growth = group[-1].peak_rss_mb / group[0].peak_rss_mb - 1  # type: ignore[operator]
            out.append(
                {
                    "target": f"{group[0].scenario}: peak RSS {group[0].messages:,} -> {group[-1].messages:,}",
                    "measured": f"{growth:+.0%}",
                    # Flat: not growing with the count (a smaller peak at the
                    # larger count is no leak; the allocator keeps what it had).
                    "want": "at most +20%",
                    "met": growth <= 0.2,
                    "note": "",
                }
            )
    return out


def more_targets(rows: list[Row], ratio: Callable[..., None], out: list[dict[str, Any]]) -> None:
    """The targets of issues 11 (Avro), 12 (move) and 13 (listings, --watch)."""
    for sid, what in (("avro-produce", "Avro produce"), ("avro-consume", "Avro consume to -o json")):
        ratio(
            f"{what}: mqcli / confluent-kafka serializer loop",
            _find(rows, sid, "mqcli"),
            _find(rows, sid, "confluent-kafka"),
            1.0,
            "issue 11",
        )
    for sid, what in (
        ("kafka-kafka", "Kafka -> Kafka"),
        ("rabbit-kafka", "RabbitMQ -> Kafka"),
        ("kafka-rabbit", "Kafka -> RabbitMQ"),
    ):
        move = _find(rows, f"move/{sid}", "mqcli move")
        ratio(
            f"move {what}: move / the consume | produce pipe",
            move,
            _find(rows, f"move/{sid}", "mqcli kafka consume") or _find(rows, f"move/{sid}", "mqcli rabbit consume"),
            1.0,
            "issue 12",
        )
        eo = _find(rows, f"move/{sid}", "mqcli move --exactly-once")
        ratio(f"move {what}: --exactly-once / plain move", eo, move, 0.5, "issue 12")
    for sid in ("admin-queues-list", "admin-groups-describe"):
        r = _find(rows, sid, "mqcli")
        if r is not None and "p50_ms" in r.extra:
            ms = r.extra["p50_ms"]
            out.append(
                {
                    "target": f"{r.scenario.split(' (issue')[0]}, whole process, median",
                    "measured": f"{ms:.0f} ms",
                    "want": "< 1000 ms",
                    "met": ms < 1000,
                    "note": "issue 13",
                }
            )
    for r in rows:
        if r.sid.startswith("admin-watch/") and not r.error and "core_pct" in r.extra:
            pct = r.extra["core_pct"]
            out.append(
                {
                    "target": f"{r.tool}: CPU at the default interval",
                    "measured": f"{pct:.1f}% of one core",
                    "want": "< 5%",
                    "met": pct < 5,
                    "note": "issue 13",
                }
            )


def _first_line(cmd: list[str]) -> str | None:
    if not shutil.which(cmd[0]):
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout + out.stderr).decode("utf-8", "replace")
    return text.strip().splitlines()[0] if text.strip() else None


def machine(kafka_version: str | None, rabbit_version: str | None, perftest_version: str | None) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        m = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        if m:
            mem_gib = round(int(m.group(1)) / 1024 / 1024, 1)
    except OSError:
        pass
    kcat = None
    kcat_out = (
        subprocess.run(["kcat", "-V"], capture_output=True, check=False).stdout.decode() if shutil.which("kcat") else ""
    )
    m = re.search(r"Version (\S+).*librdkafka (\S+)", kcat_out)
    if m:
        kcat = f"{m.group(1)} (librdkafka {m.group(2)})"

    def dist(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    java = _first_line(["java", "-version"])
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "memory_gib": mem_gib,
        "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "mqcli": dist("mqcli"),
        "kafka_python": dist("kafka-python"),
        "crc32c": dist("crc32c"),
        "pika": dist("pika"),
        "confluent_kafka": dist("confluent-kafka"),
        "kafka": kafka_version,
        "rabbitmq": rabbit_version,
        "kcat": kcat,
        "java": java.replace('"', "") if java else None,
        "perftest": perftest_version,
        "python_executable": sys.executable,
        "rss_method": RSS_METHOD,
    }


def _num(v: float | None, digits: int = 0) -> str:
    if v is None:
        return ""
    return f"{v:,.{digits}f}"


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _one_shot_table(shots: list[Row]) -> str:
    """The one-message commands beside their peers, measured alternately in
    this run: medians of wall and CPU (user + system) time, and mqcli's over each."""
    out = ["## One-shot commands (issue 15: mqcli <= 1.25x the bare script)\n"]
    out.append(
        "Whole processes, each command run alternately with its peers; medians. CPU time does not count "
        "waiting for a core, so its ratio holds better than wall time's on a shared machine.\n"
    )
    out.append("| command | tool | wall ms | CPU ms | mqcli ÷ this, wall | mqcli ÷ this, CPU |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: |")
    mine = {r.sid: r for r in shots if r.role == "mqcli"}
    for r in shots:
        command = r.scenario.removeprefix("One-shot: ").removesuffix(" (whole process)")
        if r.error:
            out.append(f"| {_esc(command)} | {_esc(r.tool)} | | | | **error**: {_esc(r.error)} |")
            continue
        m = mine.get(r.sid)
        wall = cpu = None
        if m is not None and r is not m and not m.error:
            wall, cpu = m.extra.get(f"vs {r.tool}"), m.extra.get(f"cpu vs {r.tool}")
        out.append(
            f"| {_esc(command)} | {_esc(r.tool)} | {_num(r.extra.get('p50_ms'), 0)} | "
            f"{_num(r.extra.get('cpu_p50_ms'), 0)} | {_num(wall, 2)} | {_num(cpu, 2)} |"
        )
    out.append("")
    return "\n".join(out)


def markdown(rows: list[Row], info: dict[str, Any], size: str) -> str:
    out: list[str] = []
    out.append(f"# mqcli benchmark ({size} size)\n")
    if info.get("status", "complete") != "complete":
        out.append(f"**Run {info['status']}** -- the tables hold what was measured.\n")
    out.append(
        f"{info['date']} -- {info['nproc']} cores ({info['cpu']}), {info['memory_gib']} GiB RAM, "
        f"{info['os']}; Python {info['python']}, mqcli {info['mqcli']}, kafka-python {info['kafka_python']}"
        f" (crc32c {info['crc32c'] or 'absent'}), pika {info['pika']}"
        f"{', confluent-kafka ' + info['confluent_kafka'] if info['confluent_kafka'] else ''}; "
        f"Kafka {info['kafka']} (1 node, KRaft), RabbitMQ {info['rabbitmq']}; kcat {info['kcat']}; "
        f"{info['java']}; PerfTest {info['perftest'] or 'not fetched'}"
        f"{''.join(f'; {k} {v}' for k, v in (info.get('go_tools') or {}).items())} (Go {info.get('go') or 'absent'}). "
        "Brokers and tools on the same machine, loopback; tools run without PYTHONUNBUFFERED and PYTHONDONTWRITEBYTECODE.\n"
    )
    out.append(
        "msg/s and MB/s are end to end: messages (payload bytes) divided by the wall time of the whole "
        "process, start-up included, as a shell user waits for it. `mqcli ÷ this` is mqcli's msg/s over "
        "the row's (above 1: mqcli is faster). `tool's own` is the rate the tool prints itself "
        "(PerfTest and ProducerPerformance: steady state; mqcli: the summary it writes on stderr, where it does). "
        "Peak RSS is the largest resident set in the process tree "
        f"(measured with {info['rss_method']}).\n"
    )
    thr = [r for r in rows if r.kind == "throughput"]
    if thr:
        out.append("## Throughput\n")
        out.append(
            "| scenario | tool | messages | wall s | msg/s | MB/s | mqcli ÷ this | tool's own msg/s | peak RSS MB | notes |"
        )
        out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for r in thr:
            note = f"**error**: {r.error}" if r.error else r.note
            out.append(
                f"| {_esc(r.scenario)} | {_esc(r.tool)} | {_num(r.messages) if r.messages else ''} | "
                f"{_num(r.wall_s, 2)} | {_num(r.msg_s)} | {_num(r.mb_s, 1)} | {_num(r.ratio, 2)} | "
                f"{_num(r.tool_msg_s)} | {_num(r.peak_rss_mb, 0)} | {_esc(note)} |"
            )
        out.append("")
    lat = [r for r in rows if r.kind == "latency"]
    if lat:
        out.append("## Latency and start-up\n")
        out.append("| scenario | tool | runs / messages | p50 ms | p99 ms | max ms | peak RSS MB | notes |")
        out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for r in lat:
            note = f"**error**: {r.error}" if r.error else r.note
            e = r.extra
            out.append(
                f"| {_esc(r.scenario)} | {_esc(r.tool)} | {_num(r.messages) if r.messages else ''} | "
                f"{_num(e.get('p50_ms'), 1)} | {_num(e.get('p99_ms'), 1)} | {_num(e.get('max_ms'), 1)} | "
                f"{_num(r.peak_rss_mb, 0)} | {_esc(note)} |"
            )
        out.append("")
    shots = [r for r in rows if r.sid.startswith("one-shot/")]
    if shots:
        out.append(_one_shot_table(shots))
    mem = [r for r in rows if r.kind == "memory"]
    if mem:
        out.append("## Memory (peak RSS against message count)\n")
        out.append("| scenario | tool | messages | peak RSS MB | growth vs smallest | msg/s | notes |")
        out.append("| --- | --- | ---: | ---: | ---: | ---: | --- |")
        for r in mem:
            note = f"**error**: {r.error}" if r.error else r.note
            growth = r.extra.get("growth")
            out.append(
                f"| {_esc(r.scenario)} | {_esc(r.tool)} | {_num(r.messages)} | {_num(r.peak_rss_mb, 1)} | "
                f"{'' if growth is None else f'{growth:+.0%}'} | {_num(r.msg_s)} | {_esc(note)} |"
            )
        out.append("")
    for r in (r for r in rows if r.kind == "profile"):
        out.append(f"## Where the time goes: {_esc(r.scenario.removeprefix('Profile: '))}\n")
        if r.error:
            out.append(f"**error**: {_esc(r.error)}\n")
            continue
        out.append(
            f"{_esc(r.note)}. Self time per function, summed over threads (waiting in select/poll "
            "counts: a thread blocked there is idle).\n"
        )
        out.append("| function | calls | self s | % of profiled time |")
        out.append("| --- | ---: | ---: | ---: |")
        for f in r.extra.get("top", []):
            out.append(f"| `{_esc(f['function'])}` | {f['calls']:,} | {f['self_s']:.2f} | {f['self_pct']:.1f} |")
        out.append("")
    goals = targets(rows)
    if goals:
        out.append("## Targets of issues 6, 11, 12, 13 (reported, not asserted)\n")
        out.append(
            "Ratios of end-to-end msg/s (start-up included)"
            + (
                "."
                if size == "full"
                else f"; at the {size} size start-up dominates (a JVM needs ~1 s), so only the full size "
                "(`make bench`) says whether a throughput target is met."
            )
            + "\n"
        )
        out.append("| target | measured | wanted | met |")
        out.append("| --- | --- | --- | --- |")
        for g in goals:
            note = f" ({g['note']})" if g["note"] else ""
            out.append(
                f"| {_esc(g['target'])}{_esc(note)} | {_esc(g['measured'])} | {_esc(g['want'])} | "
                f"{'yes' if g['met'] else '**no**'} |"
            )
        out.append("")
    failed = [r for r in rows if is_mqcli_failure(r)]
    if failed:
        out.append(f"**{len(failed)} mqcli row(s) failed** -- see the notes above.\n")
    return "\n".join(out)


def write(out_dir: Path, rows: list[Row], info: dict[str, Any], size: str, sizes: dict[str, Any]) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "report.md"
    js = out_dir / "report.json"
    md.write_text(markdown(rows, info, size), encoding="utf-8")
    js.write_text(
        json.dumps(
            {
                "size": size,
                "sizes": sizes,
                "machine": info,
                "targets": targets(rows),
                "rows": [asdict(r) for r in rows],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return md, js
