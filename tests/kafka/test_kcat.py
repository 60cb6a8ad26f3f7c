"""Interoperability with kcat (Debian package `kcat`), both ways."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from tests.kafka.conftest import BOOTSTRAP

KCAT = shutil.which("kcat") or "/usr/bin/kcat"


@pytest.fixture(scope="module", autouse=True)
def kcat_installed() -> None:
    if not shutil.which("kcat"):
        pytest.fail("kcat is not installed (apt-get install kcat; the brokers tooling installs it)")


def kcat(*args: str, input: bytes | None = None) -> bytes:
    p = subprocess.run([KCAT, "-b", BOOTSTRAP, *args], input=input, capture_output=True, timeout=60, check=False)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_kcat_reads_what_mqcli_produces(cli: Any, topic3: str) -> None:
    lines = [
        {"key": "k0", "value": "v0", "headers": {"h1": "a", "h2": "b"}, "partition": 0},
        {"key": "k1", "value": "v1", "partition": 1},
        {"value": "v2", "headers": {"h": "c"}, "partition": 2},
    ]
    r = cli("kafka", "produce", topic3, "--input", "jsonl", input="\n".join(json.dumps(x) for x in lines))
    assert r.exit_code == 0, r.stderr
    out = kcat("-C", "-t", topic3, "-e", "-q", "-f", "%p|%o|%k|%h|%s\n")
    assert sorted(out.decode().splitlines()) == ["0|0|k0|h1=a,h2=b|v0", "1|0|k1||v1", "2|0||h=c|v2"]


def test_kcat_reads_binary_byte_for_byte(cli: Any, topic: str) -> None:
    values = [bytes(b for b in range(256) if b != 0x1E), b"\xff\x00\xfe", b"line\nbreak"]
    r = cli("kafka", "produce", topic, "-D", r"\x1e", "--key", "\x01k", input=b"\x1e".join(values))
    assert r.exit_code == 0, r.stderr
    assert kcat("-C", "-t", topic, "-e", "-q", "-f", "%s") == b"".join(values)
    assert kcat("-C", "-t", topic, "-e", "-q", "-f", "%k") == b"\x01k" * 3
    assert kcat("-C", "-t", topic, "-e", "-q", "-f", "%S\n") == b"".join(b"%d\n" % len(v) for v in values)


def test_mqcli_reads_what_kcat_produces(cli: Any, topic3: str) -> None:
    kcat("-P", "-t", topic3, "-p", "1", "-K", ":", "-H", "trace=abc", "-H", "n=1", input=b"k1:v1\nk2:v2\n")
    kcat("-P", "-t", topic3, "-p", "2", "-Z", "-K", ":", input=b"gone:\n")
    r = cli("kafka", "consume", topic3, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    objs = sorted((json.loads(x) for x in r.stdout.splitlines()), key=lambda o: (o["partition"], o["offset"]))
    assert [(o["partition"], o["offset"], o.get("key"), o["value"], o.get("headers")) for o in objs] == [
        (1, 0, "k1", "v1", {"trace": "abc", "n": "1"}),
        (1, 1, "k2", "v2", {"trace": "abc", "n": "1"}),
        (2, 0, "gone", None, None),
    ]


def test_mqcli_reads_kcat_binary(cli: Any, topic: str) -> None:
    values = [b"\x00\x01\x02", b"\xff\xfe", b"text"]
    kcat("-P", "-t", topic, "-D", "\x1e", input=b"\x1e".join(values) + b"\x1e")
    r = cli("kafka", "consume", topic, "-e", "-D", r"\x1e")
    assert r.stdout_bytes == b"".join(v + b"\x1e" for v in values)
