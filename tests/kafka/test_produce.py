"""`mqcli kafka produce` against the local broker."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from tests.kafka.conftest import BOOTSTRAP, records


def test_values_as_arguments(cli: Any, topic: str) -> None:
    r = cli("kafka", "produce", topic, "a", "b", "c")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""  # stdout is data only
    assert "sent 3, failed 0" in r.stderr
    assert [x.value for x in records(BOOTSTRAP, topic)] == [b"a", b"b", b"c"]


def test_stdin_lines_keys_and_headers(cli: Any, topic: str) -> None:
    r = cli("kafka", "produce", topic, "-K", ":", "-H", "source=ci", "-H", "n=1", input=b"k1:v1\nk2:v:2\n")
    assert r.exit_code == 0, r.stderr
    recs = records(BOOTSTRAP, topic)
    assert [(x.key, x.value) for x in recs] == [(b"k1", b"v1"), (b"k2", b"v:2")]
    assert recs[0].headers == [("source", b"ci"), ("n", b"1")]


def test_key_for_every_message_and_partition(cli: Any, topic3: str) -> None:
    r = cli("kafka", "produce", topic3, "--key", "same", "-p", "2", input=b"x\ny\n")
    assert r.exit_code == 0, r.stderr
    recs = records(BOOTSTRAP, topic3)
    assert [(x.partition, x.key, x.value) for x in recs] == [(2, b"same", b"x"), (2, b"same", b"y")]


def test_same_key_same_partition(cli: Any, topic3: str) -> None:
    assert cli("kafka", "produce", topic3, "-K", "=", input=b"a=1\na=2\na=3\n").exit_code == 0
    assert len({x.partition for x in records(BOOTSTRAP, topic3)}) == 1


def test_sync_prints_partition_and_offset(cli: Any, topic3: str) -> None:
    r = cli("kafka", "produce", topic3, "--sync", "-p", "1", "a", "b")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "1\t0\n1\t1\n"


def test_sync_json(cli: Any, topic: str) -> None:
    r = cli("kafka", "produce", topic, "--sync", "--output", "json", "a", "b")
    assert r.exit_code == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(x["line"], x["partition"], x["offset"], x["topic"]) for x in lines] == [(1, 0, 0, topic), (2, 0, 1, topic)]
    assert all(isinstance(x["timestamp"], int) for x in lines)


def test_output_json_needs_sync(cli: Any, topic: str) -> None:
    assert cli("kafka", "produce", topic, "--output", "json", "a").exit_code == 2


def test_null_delimiter_binary_values(cli: Any, topic: str) -> None:
    data = b"\xff\xfe\n\x01" + b"\0" + b"line1\nline2" + b"\0"
    r = cli("kafka", "produce", topic, "-D", r"\0", input=data)
    assert r.exit_code == 0, r.stderr
    assert [x.value for x in records(BOOTSTRAP, topic)] == [b"\xff\xfe\n\x01", b"line1\nline2"]


def test_whole_input_is_one_message(cli: Any, topic: str) -> None:
    r = cli("kafka", "produce", topic, "--input", "whole", input=b"a\nb\n")
    assert r.exit_code == 0, r.stderr
    assert [x.value for x in records(BOOTSTRAP, topic)] == [b"a\nb\n"]


def test_jsonl_honours_key_headers_partition_timestamp(cli: Any, topic3: str) -> None:
    ts = int(time.time() * 1000) - 60_000
    lines = [
        {"key": "k", "value": "v", "headers": {"h": "1"}, "partition": 2, "timestamp": ts},
        {"value": base64.b64encode(b"\x00\xff").decode(), "value_encoding": "base64", "partition": 0},
        {"key": "gone", "value": None, "partition": 1},
        {"value": "dup", "headers": [["h", "1"], ["h", "2"]], "partition": 1},
    ]
    r = cli("kafka", "produce", topic3, "--input", "jsonl", input="\n".join(json.dumps(x) for x in lines) + "\n")
    assert r.exit_code == 0, r.stderr
    recs = {(x.partition, x.offset): x for x in records(BOOTSTRAP, topic3)}
    assert recs[(2, 0)].key == b"k" and recs[(2, 0)].headers == [("h", b"1")] and recs[(2, 0)].timestamp == ts
    assert recs[(0, 0)].value == b"\x00\xff"
    assert recs[(1, 0)].value is None and recs[(1, 0)].key == b"gone"
    assert recs[(1, 1)].headers == [("h", b"1"), ("h", b"2")]


def test_tombstone_for_key(cli: Any, topic: str) -> None:
    r = cli("kafka", "produce", topic, "--key", "user-1", "--null")
    assert r.exit_code == 0, r.stderr
    (rec,) = records(BOOTSTRAP, topic)
    assert (rec.key, rec.value) == (b"user-1", None)


def test_tombstones_from_input_keys(cli: Any, topic: str) -> None:
    r = cli("kafka", "produce", topic, "--tombstone", input=b"a\nb\n")
    assert r.exit_code == 0, r.stderr
    assert [(x.key, x.value) for x in records(BOOTSTRAP, topic)] == [(b"a", None), (b"b", None)]


def test_failure_reported_with_line_number(cli: Any, topic: str) -> None:
    # Line 2 is a null value without a key: Kafka cannot take it.
    data = '{"value": "ok1"}\n{"value": null}\n{"value": "ok3"}\n'
    r = cli("kafka", "produce", topic, "--input", "jsonl", input=data)
    assert r.exit_code == 1
    assert "line 2" in r.stderr and "sent 2, failed 1" in r.stderr
    assert [x.value for x in records(BOOTSTRAP, topic)] == [b"ok1", b"ok3"]


def test_missing_topic_is_not_found(cli: Any, unique_name: Any) -> None:
    r = cli("kafka", "produce", unique_name("missing"), "x")
    assert r.exit_code == 6
    assert "does not exist" in r.stderr


def test_create_missing_topic(cli: Any, admin: Any, unique_name: Any) -> None:
    name = unique_name("created")
    try:
        r = cli("kafka", "produce", name, "--create", "--partitions", "2", "x")
        assert r.exit_code == 0, r.stderr
        (desc,) = admin.describe_topics([name])
        assert len(desc["partitions"]) == 2
        assert [x.value for x in records(BOOTSTRAP, name)] == [b"x"]
    finally:
        admin.delete_topics([name])


def test_partitions_without_create_is_usage_error(cli: Any, topic: str) -> None:
    assert cli("kafka", "produce", topic, "--partitions", "2", "x").exit_code == 2


def test_missing_partition_is_not_found(cli: Any, topic: str) -> None:
    r = cli("kafka", "produce", topic, "-p", "5", "x")
    assert r.exit_code == 6 and "partition 5" in r.stderr


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_compression(cli: Any, topic: str, codec: str) -> None:
    r = cli("kafka", "produce", topic, "--compression", codec, input=b"".join(b"value %d\n" % i for i in range(50)))
    assert r.exit_code == 0, r.stderr
    assert len(records(BOOTSTRAP, topic)) == 50


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks(cli: Any, topic: str, acks: str) -> None:
    r = cli("kafka", "produce", topic, "--acks", acks, "a", "b")
    assert r.exit_code == 0, r.stderr
    assert len(records(BOOTSTRAP, topic)) == 2


def test_batching_options_and_no_idempotence(cli: Any, topic: str) -> None:
    r = cli(
        "kafka", "produce", topic, "--linger-ms", "50", "--batch-size", "1024", "--no-idempotence", input=b"a\nb\nc\n"
    )
    assert r.exit_code == 0, r.stderr
    assert len(records(BOOTSTRAP, topic)) == 3


@pytest.mark.parametrize("args", [["--acks", "2"], ["--compression", "brotli"]])
def test_invalid_delivery_options(cli: Any, topic: str, args: list[str]) -> None:
    assert cli("kafka", "produce", topic, *args, "x").exit_code == 2


def test_invalid_jsonl_is_input_error(cli: Any, topic: str) -> None:
    r = cli("kafka", "produce", topic, "--input", "jsonl", input=b'{"value": "a"}\nnot json\n')
    assert r.exit_code == 7


@pytest.mark.parametrize(
    "args",
    [
        ["produce", "t", "x"],
        ["consume", "t", "-e"],
        ["group-consume", "--group", "g", "t"],
        ["topics", "list"],
        ["groups", "describe", "g"],
        ["info"],
    ],
)
def test_unreachable_broker_names_host_and_profile(cli: Any, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.setenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    started = time.monotonic()
    r = cli("--connect-timeout", "1s", "kafka", *args)
    assert r.exit_code == 4
    assert "127.0.0.1:1" in r.stderr and "profile local" in r.stderr
    assert time.monotonic() - started < 10


def test_long_input_streams_through_subprocess(mqcli_proc: Any, topic: str) -> None:
    n = 20000
    data = b"".join(b"message-%06d\n" % i for i in range(n))
    p = mqcli_proc(["kafka", "produce", topic], input=data)
    assert p.returncode == 0, p.stderr
    assert f"sent {n}, failed 0".encode() in p.stderr
    assert p.stdout == b""


def test_files_and_skip_invalid(cli: Any, topic: str, tmp_path: Any) -> None:
    good = tmp_path / "a.jsonl"
    good.write_text('{"value": "one"}\nbroken\n{"value": "two"}\n')
    r = cli("kafka", "produce", topic, "--file", str(good), "--input", "jsonl", "--skip-invalid")
    assert r.exit_code == 0, r.stderr
    assert "skipped" in r.stderr
    assert [x.value for x in records(BOOTSTRAP, topic)] == [b"one", b"two"]
    assert cli("kafka", "produce", topic, "--file", str(tmp_path / "missing")).exit_code == 2


def test_oversized_message_is_reported_and_others_delivered(cli: Any, topic: str) -> None:
    data = b"small\n" + b"x" * 2_000_000 + b"\nsmall2\n"
    r = cli("kafka", "produce", topic, input=data)
    assert r.exit_code == 1
    assert "line 2" in r.stderr and "MessageSizeTooLarge" in r.stderr
    assert [x.value for x in records(BOOTSTRAP, topic)] == [b"small", b"small2"]
