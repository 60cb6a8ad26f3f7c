"""The native engine's produce loop (mqcli-native): hostile line input comes
out of the topic exactly as mqcli's Python readers split it, failures are
named by input line with the same words and exit codes, and what it does not
cover falls back to the librdkafka engine's loop.

Every test here runs with --engine native when the extension is built (the
conftest), else on librdkafka, where the same outcomes hold."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mqcli.core.kafka.native import available
from mqcli.core.readers import split_records
from tests.conftest import ROOT
from tests.kafka.conftest import BOOTSTRAP, HOST, SASL_PORT, TLS_DIR, TLS_PORT, records, write_profile

# Bytes that break naive splitting and decoding: delimiters, NUL, CR, a UTF-8
# BOM, invalid UTF-8, the key separator.
_hostile = st.binary(max_size=40) | st.sampled_from(
    [b"", b"\n", b"\0", b"\r\n", b"\xef\xbb\xbf", b"\xff\xfe", b":", b"--"]
)
_delimiters = st.sampled_from([b"\n", b"\0", b"--", b"\r\n", b"ab"])


def _escaped(delimiter: bytes) -> str:
    """A delimiter as the --delimiter option takes it."""
    return "".join(f"\\x{b:02x}" for b in delimiter)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_hostile, max_size=12), delimiter=_delimiters)
@example(parts=[b"a-", b"-b"], delimiter=b"--")  # a delimiter split over two pieces of input
@example(parts=[b"", b"", b"x"], delimiter=b"\n")  # empty records are messages
def test_hostile_lines_arrive_as_the_reader_splits_them(
    cli: Callable[..., Any], make_topic: Callable[..., str], parts: list[bytes], delimiter: bytes
) -> None:
    topic = make_topic(1)
    data = b"".join(parts)
    want = list(split_records(io.BytesIO(data), delimiter))
    r = cli("kafka", "produce", topic, "--delimiter", _escaped(delimiter), input=data)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert f"sent {len(want)}, failed 0" in r.stderr
    got = [(x.key, x.value) for x in records(BOOTSTRAP, topic, timeout=5)] if want else []
    assert got == [(None, v) for v in want]


def test_a_record_longer_than_the_read_chunk(cli: Callable[..., Any], topic: str) -> None:
    big = b"x" * 200_000  # three reads of 64 KiB before its delimiter
    r = cli("kafka", "produce", topic, "--delimiter", _escaped(b"--"), input=b"a--" + big + b"--b")
    assert r.exit_code == 0, r.stderr
    assert [x.value for x in records(BOOTSTRAP, topic)] == [b"a", big, b"b"]


def test_key_split_fixed_headers_and_default_key(cli: Callable[..., Any], topic3: str) -> None:
    r = cli("kafka", "produce", topic3, "-K", "::", "-H", "h=1", "-p", "1", input=b"k::v::w\n::empty key\n")
    assert r.exit_code == 0, r.stderr
    recs = records(BOOTSTRAP, topic3)
    assert [(x.partition, x.key, x.value) for x in recs] == [(1, b"k", b"v::w"), (1, b"", b"empty key")]
    assert all(x.headers == [("h", b"1")] for x in recs)
    r = cli("kafka", "produce", topic3, "-k", "fixed", "-p", "2", input=b"a\nb")
    assert r.exit_code == 0, r.stderr
    assert [(x.key, x.value) for x in records(BOOTSTRAP, topic3) if x.partition == 2] == [
        (b"fixed", b"a"),
        (b"fixed", b"b"),
    ]


def test_missing_key_separator_stops_at_its_line(cli: Callable[..., Any], topic: str) -> None:
    r = cli("kafka", "produce", topic, "-K", ":", input=b"k:1\nk:2\nnokey\nk:4\n")
    assert r.exit_code == 7, r.stderr
    assert "record 3: key separator b':' not found" in r.stderr
    assert "sent 2, failed 0" in r.stderr
    assert [x.value for x in records(BOOTSTRAP, topic)] == [b"1", b"2"]


def test_skip_invalid_warns_and_sends_the_rest(cli: Callable[..., Any], topic: str) -> None:
    r = cli("kafka", "produce", topic, "-K", ":", "--skip-invalid", input=b"k:1\nnokey\nk:3\n")
    assert r.exit_code == 0, r.stderr
    assert "skipped: record 2: key separator b':' not found" in r.stderr
    assert "skipped 1 invalid input record(s)" in r.stderr
    assert [x.value for x in records(BOOTSTRAP, topic)] == [b"1", b"3"]


def test_too_large_message_is_named_by_its_line(cli: Callable[..., Any], topic: str) -> None:
    data = b"small\n" + b"y" * 2_000_000 + b"\nlast\n"
    r = cli("kafka", "produce", topic, input=data)
    assert r.exit_code == 1, r.stderr
    assert "not delivered: line 2: MessageSizeTooLargeError" in r.stderr
    assert "sent 2, failed 1" in r.stderr
    assert "1 of 3 message(s)" in r.stderr
    assert [x.value for x in records(BOOTSTRAP, topic)] == [b"small", b"last"]


def test_whole_input_is_one_message(cli: Callable[..., Any], topic: str) -> None:
    r = cli("kafka", "produce", topic, "--input", "whole", input=b"a\nb\0c\n")
    assert r.exit_code == 0, r.stderr
    assert [x.value for x in records(BOOTSTRAP, topic)] == [b"a\nb\0c\n"]


def test_engine_native_is_chosen_or_refused(cli: Callable[..., Any], topic: str, engine: str) -> None:
    r = cli("--debug", "kafka", "--engine", "native", "produce", topic, input=b"a\n")
    if available():
        assert r.exit_code == 0, r.stderr
        assert "kafka engine: librdkafka" in r.stderr  # the native engine is librdkafka underneath
        assert "kafka native loops: mqcli-native, librdkafka " in r.stderr
        assert "kafka produce loop: native" in r.stderr
        # What the native loop does not cover runs the Python loop, and --debug says why.
        r = cli("--debug", "kafka", "--engine", "native", "produce", topic, "--sync", input=b"b\n")
        assert r.exit_code == 0, r.stderr
        assert "kafka produce loop: python: --sync" in r.stderr
        r = cli("--debug", "kafka", "--engine", "native", "produce", topic, "-i", "jsonl", input=b'{"value": "c"}\n')
        assert r.exit_code == 0, r.stderr
        assert "kafka produce loop: python: --input jsonl" in r.stderr
        assert [x.value for x in records(BOOTSTRAP, topic)] == [b"a", b"b", b"c"]
    else:
        assert r.exit_code == 2, r.stderr
        assert "--engine native needs mqcli's native module" in r.stderr
        assert "make install" in r.stderr


def test_uncovered_options_fall_back(cli: Callable[..., Any], topic: str) -> None:
    # --sync (a line per message on stdout) and jsonl run the librdkafka loop.
    r = cli("kafka", "produce", topic, "--sync", input=b"a\nb\n")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "0\t0\n0\t1\n"
    r = cli("kafka", "produce", topic, "--input", "jsonl", "--compression", "zstd", input=b'{"value": "c"}\n')
    assert r.exit_code == 0, r.stderr
    assert [x.value for x in records(BOOTSTRAP, topic)] == [b"a", b"b", b"c"]


def _slow_producer(topic: str, *args: str) -> subprocess.Popen[bytes]:
    """`mqcli kafka produce` reading a pipe that stays open (`tail -f` style)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "mqcli", "kafka", "produce", topic, *args],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
    )


def _wait_for_records(topic: str, n: int) -> None:
    deadline = time.monotonic() + 60
    while len(records(BOOTSTRAP, topic, timeout=2)) < n:
        assert time.monotonic() < deadline, f"{n} records never arrived"
        time.sleep(0.2)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_reading_reports_and_names_the_resume_line(topic: str, sig: int, code: int) -> None:
    proc = _slow_producer(topic)
    assert proc.stdin is not None
    proc.stdin.write(b"1\n2\n3\n")
    proc.stdin.flush()  # each record is sent as soon as it is complete
    _wait_for_records(topic, 3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    text = err.decode()
    assert proc.returncode == code, text
    assert "Traceback" not in text
    assert "mqcli: input from line 4 on was not sent" in text
    assert "sent 3, failed 0" in text


# SASL SCRAM and TLS: the extension's librdkafka is built with OpenSSL (the
# rdkafka crate's `ssl` feature); the profile's settings reach it unchanged.
@pytest.mark.parametrize(
    "kafka",
    [
        {
            "bootstrap_servers": f"{HOST}:{SASL_PORT}",
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "username": "mqcli",
            "password": "mqcli-secret",
        },
        {
            "bootstrap_servers": f"{HOST}:{TLS_PORT}",
            "security_protocol": "SSL",
            "tls": {"ca": str(TLS_DIR / "ca.crt")},
        },
    ],
    ids=["scram", "tls"],
)
def test_scram_and_tls(
    cli: Callable[..., Any], topic: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kafka: dict[str, Any]
) -> None:
    monkeypatch.delenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS")
    write_profile(tmp_path, "secure", {**kafka, "connect_timeout": "3s"})
    r = cli("kafka", "produce", topic, "-K", ":", input=b"k:secure\nk2:again\n")
    assert r.exit_code == 0, r.stderr
    assert "mqcli-secret" not in r.stderr
    assert [(x.key, x.value) for x in records(BOOTSTRAP, topic)] == [(b"k", b"secure"), (b"k2", b"again")]


def test_values_given_as_arguments(cli: Callable[..., Any], topic: str) -> None:
    # The whole run in the extension: each argument one message (an empty one too),
    # keys split by -K, and a value without the separator stops the run as the reader does.
    r = cli("--debug", "kafka", "produce", topic, "-K", ":", "k1:a", "k2:", ":c", "-H", "h=1")
    assert r.exit_code == 0, r.stderr
    if available():
        assert "kafka produce loop: native" in r.stderr
    got = records(BOOTSTRAP, topic)
    assert [(x.key, x.value) for x in got] == [(b"k1", b"a"), (b"k2", b""), (b"", b"c")]
    assert all(x.headers == [("h", b"1")] for x in got)
    r = cli("kafka", "produce", topic, "-K", ":", "k3:d", "no-separator", "k4:e")
    assert r.exit_code == 7, r.stderr
    assert "record 2: key separator b':' not found" in r.stderr
    assert [x.value for x in records(BOOTSTRAP, topic)][3:] == [b"d"]
    r = cli("kafka", "produce", topic, "--key", "fixed", "f", "")
    assert r.exit_code == 0, r.stderr
    assert [(x.key, x.value) for x in records(BOOTSTRAP, topic)][4:] == [(b"fixed", b"f"), (b"fixed", b"")]
