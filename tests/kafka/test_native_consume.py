"""The native engine's consume loop (mqcli-native): raw and --format output
byte for byte as the librdkafka engine's Python writers render the same
records (binary and non-UTF-8 values, keys and headers), what it does not
cover falls back to the Python loop with the same output, and a closed pipe
or a signal ends it as the Python loop ends.

Every test here runs with --engine native when the extension is built (the
conftest), else on librdkafka (the comparisons then hold trivially, the
--debug lines name the Python loop: the tests say which they expect)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from mqcli.core.kafka.native import available
from tests.conftest import ROOT
from tests.kafka.conftest import BOOTSTRAP, start_mqcli

# Records that break naive rendering: no value, no key, invalid UTF-8 in
# values, keys and headers (a truncated sequence, a surrogate, a lone
# continuation byte), a header given twice (the last one counts), a header
# without a value, non-ASCII header names, delimiters inside values, and
# timestamps at both ends of what {time} renders.
_RECORDS: list[dict[str, Any]] = [
    {"value": None, "key": None},
    {"value": b"", "key": b""},
    {"value": b"\x00\xfe\xff bin\n", "key": b"k\xff", "headers": [("h", b"\xff\xfeok"), ("h", b"last\xe2\x82")]},
    {"value": b"a\xed\xa0\x80b\x80", "key": b"\xc3", "headers": [("none", None), ("\u00fc", "\u00e9".encode())]},
    {"value": "\u00fcn\u00efcode \u2713".encode(), "key": b"plain", "timestamp": 1},
    {"value": b"x" * 3000, "key": b"big", "timestamp": 253402300799999},  # 9999-12-31T23:59:59.999Z
    {"value": b"{}{{}}", "key": b"braces", "timestamp": 1700000000123, "headers": [("h", b"\xe4\xb8\xad")]},
    # What JSON escapes ({headers}), and base64 of 1, 2 and 3 bytes (its padding).
    {
        "value": b"json",
        "headers": [
            ('q"\\', 'a"b\\c\x01\x1f\x7f\u2028 \n\r\t\b\f'.encode()),
            ("b1", b"\xff"),
            ("b2", b"\xff\xfe"),
            ("b3", b"\xff\xfe\xfd"),
            ("n", None),
        ],
    },
]

# Every placeholder the native loop renders, RabbitMQ's (empty for Kafka),
# literal braces and escapes.
_TEMPLATE = (
    "{partition}|{offset}|{key}|{value}|{topic}|{timestamp}|{time}|{size}|{header.h}|{header.none}|"
    "{header.missing}|{header.\u00fc}|{queue}{exchange}{routing_key}{redelivered}{content_type}{message_id}"
    "{delivery_mode}{priority}|{headers}|{{x}}\\t\\x00\\xff"
)


def _fill(topic: str, partitions: int = 1) -> int:
    """Write _RECORDS to `topic` (round robin over its partitions); how many."""
    from confluent_kafka import Producer

    # The broker keeps timestamps only this far from now (Kafka 4: an hour ahead).
    _admin_config(
        topic, {"message.timestamp.after.max.ms": str(2**63 - 1), "message.timestamp.before.max.ms": str(2**63 - 1)}
    )
    failed: list[Any] = []
    p = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 0})
    for i, rec in enumerate(_RECORDS):
        p.produce(topic, partition=i % partitions, on_delivery=lambda e, m: failed.append(e) if e else None, **rec)
    assert p.flush(30) == 0
    assert failed == []
    return len(_RECORDS)


def _admin_config(topic: str, config: dict[str, str]) -> None:
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in config.items()]
    for future in admin.incremental_alter_configs(
        [ConfigResource("topic", topic, incremental_configs=entries)]
    ).values():
        future.result(30)


def _consume(cli: Callable[..., Any], engine: str, *args: str) -> tuple[bytes, str]:
    r = cli("--debug", "kafka", "--engine", engine, "consume", *args)
    assert r.exit_code == 0, r.stderr
    return r.stdout_bytes, r.stderr


def _loop(stderr: str) -> str:
    """Which consume loop ran, from --debug ('native' or 'python: why')."""
    line = next(x for x in stderr.splitlines() if "kafka consume loop:" in x)
    return line.split("kafka consume loop:", 1)[1].strip()


def _native(engine: str) -> bool:
    return engine == "native" and available()


@pytest.mark.parametrize(
    "args",
    [
        ["-f", _TEMPLATE],
        ["-f", _TEMPLATE, "--delimiter", "\\x00--"],
        ["-f", "{headers}"],
        ["-o", "raw"],
        ["-o", "raw", "--delimiter", "\\r\\n"],
        ["-o", "raw", "--count", "4"],
        ["-f", "{value}", "--offset", "-3"],
    ],
)
def test_output_is_the_python_writers_byte_for_byte(
    cli: Callable[..., Any], topic: str, engine: str, args: list[str]
) -> None:
    _fill(topic)
    want, _ = _consume(cli, "librdkafka", topic, "-e", *args)
    got, err = _consume(cli, engine, topic, "-e", *args)
    assert got == want and want
    assert _loop(err) == "native" if _native(engine) else _loop(err).startswith("python")


def test_each_partition_in_order_across_partitions(cli: Callable[..., Any], topic3: str, engine: str) -> None:
    _fill(topic3, partitions=3)
    want, _ = _consume(cli, "librdkafka", topic3, "-e", "-f", _TEMPLATE)
    got, _ = _consume(cli, engine, topic3, "-e", "-f", _TEMPLATE)
    assert want.count(b"\x00\xff\n") == len(_RECORDS)
    # Partitions interleave as they arrive; within one the order is the log's.
    assert sorted(got.split(b"\n")) == sorted(want.split(b"\n"))
    for p in range(3):
        mine = [x for x in got.split(b"\n") if x.startswith(b"%d|" % p)]
        assert mine == [x for x in want.split(b"\n") if x.startswith(b"%d|" % p)]


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--match", "code"], "--match"),
        (["-f", "{key} {json}"], "{json}"),
        (["-o", "json"], "-o json"),
    ],
)
def test_what_it_does_not_cover_runs_the_python_loop(
    cli: Callable[..., Any], topic: str, engine: str, args: list[str], why: str
) -> None:
    _fill(topic)
    want, _ = _consume(cli, "librdkafka", topic, "-e", *args)
    got, err = _consume(cli, engine, topic, "-e", *args)
    assert got == want and want
    loop = _loop(err)
    assert loop.startswith("python: ")
    if _native(engine):
        assert why.split()[0] in loop


@pytest.mark.parametrize(
    ("args", "client"),
    [
        (["--from", "-1h"], None),
        (["--offset", "1", "-p", "0"], None),
        # A group's committed offsets are read with confluent-kafka's consumer; the loop stays native.
        (["--offset", "stored", "--group", "mqcli-test-never-committed"], "--offset stored"),
    ],
)
def test_start_offsets_found_by_the_native_consumer(
    cli: Callable[..., Any], topic: str, engine: str, args: list[str], client: str | None
) -> None:
    _fill(topic)
    want, _ = _consume(cli, "librdkafka", topic, "-e", "-f", _TEMPLATE, *args)
    got, err = _consume(cli, engine, topic, "-e", "-f", _TEMPLATE, *args)
    assert got == want and want
    if _native(engine):
        assert _loop(err) == (
            "native"
            if client is None
            else f"native, on confluent-kafka's client: {client} (the group's committed offsets)"
        )


def test_batches_of_every_compression_codec(cli: Callable[..., Any], topic: str, engine: str) -> None:
    from confluent_kafka import Producer

    lines = [b"%05d" % i + b"y" * 200 for i in range(500)]  # compressible: librdkafka keeps them compressed
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        p = Producer({"bootstrap.servers": BOOTSTRAP, "compression.type": codec, "linger.ms": 50})
        for value in lines:
            p.produce(topic, value)
        assert p.flush(30) == 0
    got, err = _consume(cli, engine, topic, "-e")
    assert got == b"".join(v + b"\n" for v in lines) * 4
    assert _loop(err) == "native" if _native(engine) else _loop(err).startswith("python")


def test_until_and_count_stop_as_the_python_loop(cli: Callable[..., Any], topic: str, engine: str) -> None:
    _fill(topic)
    # The records with timestamps 1 and 9999-12-31 are the 5th and 6th: --until
    # 1971 stops at the first one after it (the first record, which has a current time).
    want, _ = _consume(cli, "librdkafka", topic, "--until", "1971-01-01T00:00:00Z", "-f", "{offset}")
    got, err = _consume(cli, engine, topic, "--until", "1971-01-01T00:00:00Z", "-f", "{offset}")
    assert got == want == b""
    got, _ = _consume(cli, engine, topic, "--offset", "4", "--until", "1971-01-01T00:00:00Z", "-f", "{offset}")
    assert got == b"4\n"
    got, _ = _consume(cli, engine, topic, "--offset", "1", "--count", "2", "-f", "{offset}")
    assert got == b"1\n2\n"


def test_timeout_on_an_idle_topic_exits_5(cli: Callable[..., Any], topic: str, engine: str) -> None:
    _fill(topic)
    start = time.monotonic()
    r = cli("kafka", "--engine", engine, "consume", topic, "--offset", "end", "--timeout", "1s")
    assert r.exit_code == 5
    assert "no messages from" in r.stderr
    assert 0.9 < time.monotonic() - start < 15


def test_a_closed_pipe_ends_it_quietly(topic: str, engine: str) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 5})
    for i in range(50_000):
        p.produce(topic, value=b"%d" % i + b"x" * 100)
    assert p.flush(30) == 0
    for fmt in ("", "-f '{offset} {value}'"):
        proc = subprocess.run(
            f"{sys.executable} -m mqcli kafka --engine {engine} consume {topic} -e {fmt} | head -1",
            shell=True,
            capture_output=True,
            cwd=ROOT,
            timeout=60,
            env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
        )
        assert proc.stdout.split(b"x")[0] in (b"0", b"0 0")
        assert proc.stderr == b""


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_following_exits_as_the_python_loop(topic: str, engine: str, sig: int, code: int) -> None:
    _fill(topic)
    proc = start_mqcli(["kafka", "--engine", engine, "consume", topic, "-f", "{offset}"])
    # The records are written at once, then it follows the topic.
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    seen = b""
    while seen.count(b"\n") < len(_RECORDS) and time.monotonic() < deadline:
        seen += proc.stdout.read1(4096)  # type: ignore[attr-defined]
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code
    assert (seen + out) == b"".join(b"%d\n" % i for i in range(len(_RECORDS)))
    assert b"Traceback" not in err
