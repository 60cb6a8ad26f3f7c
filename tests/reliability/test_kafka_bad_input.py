"""Bad input for the Kafka commands (issue 5) not already covered by
tests/kafka: each case gets one clear line on stderr, its documented exit
code, and nothing (more) sent.  Broker-facing cases run with every engine (tests/engines.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.engines import kafka_engines
from tests.reliability.kafka_fixtures import BOOTSTRAP, Topics, kafka_env, kafka_topics, read_values  # noqa: F401  (fixtures)

pytestmark = pytest.mark.kafka

TLS_DIR = ROOT / ".brokers" / "tls"
ENGINES = kafka_engines()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def topic(kafka_topics: Any, unique_name: Any) -> str:
    return str(kafka_topics().make(unique_name("bad")))


def mqcli(
    *args: str, env: dict[str, str], input: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        [sys.executable, "-m", "mqcli", *args],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return subprocess.CompletedProcess(
        p.args, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    )


def one_error_line(err: str) -> str:
    """The single `mqcli: error:` line of a failed run (no traceback)."""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("mqcli: error:")]
    assert len(errors) == 1, err
    return errors[0]


# -- invalid offset, time, duration, template; conflicting options (usage errors, exit 2) --
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["consume", "T", "--offset", "+-3"], "invalid --offset"),
        (["consume", "T", "--from", "yesterday-ish"], "invalid time"),
        (["consume", "T", "--until", "2026-13-45"], "invalid time"),
        (["consume", "T", "--timeout", "5x"], "invalid duration"),
        (["group-consume", "-g", "g", "T", "--timeout", "-1s"], "invalid duration"),
        (["produce", "T", "--delivery-timeout", "soon", "x"], "invalid duration"),
        (["produce", "T", "--delivery-timeout", "0s", "x"], "--delivery-timeout"),
        (["consume", "T", "--format", "{value"], "invalid template"),
        (["consume", "T", "--format", "{bogus}"], "unknown placeholder"),
        (["group-consume", "-g", "g", "T", "--format", "{nope}"], "unknown placeholder"),
        (["consume", "T", "--offset", "3", "--from", "-1h"], "mutually exclusive"),
        (["group-consume", "-g", "g", "T", "--exec", "true", "--output", "json"], "do not apply"),
        (["group-consume", "-g", "g", "T", "--exec", "true", "--format", "{value}"], "do not apply"),
        (["produce", "T", "--null", "--input", "jsonl"], "--null"),
    ],
)
def test_invalid_values_and_conflicts_are_usage_errors(
    kafka_env: dict[str, str], topic: str, args: list[str], says: str
) -> None:
    args = [topic if a == "T" else a for a in args]
    r = mqcli("kafka", *args, env=kafka_env, input=b'{"value": "x"}\n' if "--null" in args else None)
    assert r.returncode == 2, r.stderr
    assert says in one_error_line(r.stderr)
    assert r.stdout == ""
    assert read_values(BOOTSTRAP, topic) == []  # nothing sent


# -- JSON Lines: the bad line named; --skip-invalid carries on and counts -------------------
def test_invalid_json_line_is_named_and_stops_the_input(kafka_env: dict[str, str], topic: str, engine: str) -> None:
    data = b'{"value": "a"}\n{"value": "b"}\n{"value": oops}\n{"value": "d"}\n'
    r = mqcli("kafka", "--engine", engine, "produce", topic, "--input", "jsonl", env=kafka_env, input=data)
    assert r.returncode == 7, r.stderr
    assert "line 3" in one_error_line(r.stderr)
    # Input is streamed: the lines before the bad one went out (and are
    # counted in the summary); nothing from the bad line on.
    assert "sent 2, failed 0" in r.stderr
    assert read_values(BOOTSTRAP, topic) == [b"a", b"b"]


def test_skip_invalid_counts_what_it_skipped(kafka_env: dict[str, str], topic: str, engine: str) -> None:
    data = b'{"value": "a"}\nnot json\n{"value": "c"}\n[1, 2]\n{"value": "e"}\n'
    r = mqcli(
        "kafka", "--engine", engine, "produce", topic, "--input", "jsonl", "--skip-invalid", env=kafka_env, input=data
    )
    assert r.returncode == 0, r.stderr
    assert "line 2" in r.stderr and "line 4" in r.stderr
    assert "skipped 2 invalid input record(s)" in r.stderr
    assert read_values(BOOTSTRAP, topic) == [b"a", b"c", b"e"]


def test_key_separator_missing_is_named(kafka_env: dict[str, str], topic: str) -> None:
    r = mqcli("kafka", "produce", topic, "-K", ":", env=kafka_env, input=b"k:v\nno-separator\n")
    assert r.returncode == 7, r.stderr
    assert "record 2" in one_error_line(r.stderr)


# -- non-UTF-8 where text is expected -----------------------------------------------------
def test_non_utf8_json_lines_is_input_error(kafka_env: dict[str, str], topic: str, engine: str) -> None:
    r = mqcli(
        "kafka",
        "--engine",
        engine,
        "produce",
        topic,
        "--input",
        "jsonl",
        env=kafka_env,
        input=b'{"value": "\xff\xfe"}\n',
    )
    assert r.returncode == 7, r.stderr
    line = one_error_line(r.stderr)
    assert "line 1" in line and "UTF-8" in line
    assert read_values(BOOTSTRAP, topic) == []


def test_non_utf8_raw_lines_are_bytes_not_text(kafka_env: dict[str, str], topic: str) -> None:
    # Raw input is bytes: a non-UTF-8 value is data, sent as is (not an error).
    r = mqcli("kafka", "produce", topic, env=kafka_env, input=b"\xff\xfe\n")
    assert r.returncode == 0, r.stderr
    assert read_values(BOOTSTRAP, topic) == [b"\xff\xfe"]


# -- empty input: nothing sent, exit 0 -----------------------------------------------------
# (--input whole is left out: it sends the empty input as one empty message.)
@pytest.mark.parametrize("mode", ["line", "jsonl"])
def test_empty_input_sends_nothing(kafka_env: dict[str, str], topic: str, engine: str, mode: str) -> None:
    r = mqcli("kafka", "--engine", engine, "produce", topic, "--input", mode, env=kafka_env, input=b"")
    assert r.returncode == 0, r.stderr
    assert "sent 0, failed 0" in r.stderr
    assert read_values(BOOTSTRAP, topic) == []


def test_empty_file_sends_nothing(kafka_env: dict[str, str], topic: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    r = mqcli("kafka", "produce", topic, "--file", str(empty), "--input", "jsonl", env=kafka_env)
    assert r.returncode == 0, r.stderr
    assert read_values(BOOTSTRAP, topic) == []


# -- a message larger than the broker accepts ----------------------------------------------
def test_oversized_message_reported_with_every_engine(kafka_env: dict[str, str], topic: str, engine: str) -> None:
    data = b"ok1\n" + b"x" * 1_200_000 + b"\nok3\n"  # message.max.bytes is ~1 MB
    r = mqcli("kafka", "--engine", engine, "produce", topic, env=kafka_env, input=data)
    assert r.returncode == 1, r.stderr
    assert "not delivered: line 2:" in r.stderr
    assert "sent 2, failed 1" in r.stderr
    assert read_values(BOOTSTRAP, topic) == [b"ok1", b"ok3"]


# -- unknown topic, wrong credentials, TLS that does not verify (every engine) ---------------
@pytest.mark.parametrize(
    "args", [["produce", "NOPE", "x"], ["consume", "NOPE", "-e"], ["group-consume", "-g", "g", "NOPE", "-e"]]
)
def test_unknown_topic_is_not_found(kafka_env: dict[str, str], engine: str, unique_name: Any, args: list[str]) -> None:
    missing = unique_name("nope")
    r = mqcli("kafka", "--engine", engine, *[missing if a == "NOPE" else a for a in args], env=kafka_env)
    assert r.returncode == 6, r.stderr
    assert missing in one_error_line(r.stderr)


@pytest.fixture
def profile_env(kafka_env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """write(kafka={...}) -> env whose mqcli.yaml (via MQCLI_CONFIG) holds that profile."""
    import yaml

    def write(**kafka: Any) -> dict[str, str]:
        path = tmp_path / "mqcli.yaml"
        path.write_text(yaml.safe_dump({"default": "p", "profiles": {"p": {"kafka": kafka}}}))
        os.chmod(path, 0o600)
        env = {k: v for k, v in kafka_env.items() if k != "MQCLI_KAFKA_BOOTSTRAP_SERVERS"}
        env["MQCLI_CONFIG"] = str(path)
        return env

    yield write


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_wrong_credentials_exit_4_without_the_password(
    profile_env: Any, topic: str, engine: str, mechanism: str
) -> None:
    env = profile_env(
        bootstrap_servers="127.0.0.1:9093",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        username="mqcli",
        password="not-the-password",
        connect_timeout="5s",
    )
    for args in (["produce", topic, "x"], ["consume", topic, "-e"]):
        r = mqcli("kafka", "--engine", engine, *args, env=env)
        assert r.returncode == 4, r.stderr
        line = one_error_line(r.stderr)
        assert "authentication failed" in line.lower() and "127.0.0.1:9093" in line
        assert "not-the-password" not in r.stderr
    assert read_values(BOOTSTRAP, topic) == []


def test_tls_that_does_not_verify_is_refused(profile_env: Any, topic: str, engine: str) -> None:
    env = profile_env(
        bootstrap_servers="127.0.0.1:9094",
        security_protocol="SSL",
        tls={"ca": str(TLS_DIR / "other-ca.crt")},
        connect_timeout="5s",
    )
    for args in (["produce", topic, "x"], ["consume", topic, "-e"]):
        r = mqcli("kafka", "--engine", engine, *args, env=env)
        assert r.returncode == 4, r.stderr
        line = one_error_line(r.stderr)
        assert "127.0.0.1:9094" in line and ("verif" in line.lower() or "certificate" in line.lower())
    assert read_values(BOOTSTRAP, topic) == []
