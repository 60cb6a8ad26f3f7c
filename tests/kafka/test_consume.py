"""`mqcli kafka consume` against the local broker."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

from tests.kafka.conftest import BOOTSTRAP, records, start_mqcli


def produce(cli: Any, topic: str, *args: str, input: bytes | str | None = None) -> None:
    r = cli("kafka", "produce", topic, *args, input=input)
    assert r.exit_code == 0, r.stderr


def test_exit_at_end_raw(cli: Any, topic: str) -> None:
    produce(cli, topic, "a", "b", "c")
    r = cli("kafka", "consume", topic, "-e")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "a\nb\nc\n"


def test_empty_topic_exit_at_end(cli: Any, topic: str) -> None:
    r = cli("kafka", "consume", topic, "-e")
    assert r.exit_code == 0 and r.stdout == ""


def test_json_output_has_metadata(cli: Any, topic: str) -> None:
    produce(cli, topic, "-K", ":", "-H", "h=v", input=b"k:v\n")
    r = cli("kafka", "consume", topic, "-e", "-o", "json")
    (obj,) = [json.loads(x) for x in r.stdout.splitlines()]
    assert obj["topic"] == topic and obj["partition"] == 0 and obj["offset"] == 0
    assert obj["key"] == "k" and obj["value"] == "v" and obj["headers"] == {"h": "v"}
    assert isinstance(obj["timestamp"], int)


def test_jsonl_copy_is_faithful(cli: Any, make_topic: Any) -> None:
    src, dst = make_topic(3), make_topic(3)
    lines = [
        {"key": "k1", "value": "plain", "headers": {"a": "1"}, "partition": 0},
        {"key": "k2", "value": "AP8=", "value_encoding": "base64", "partition": 1},
        {"key": "k3", "value": None, "partition": 2},
        {"value": "multi", "headers": [["x", "1"], ["x", "2"]], "partition": 2},
    ]
    produce(cli, src, "--input", "jsonl", input="\n".join(json.dumps(x) for x in lines))
    out = cli("kafka", "consume", src, "-e", "-o", "json")
    assert out.exit_code == 0
    produce(cli, dst, "--input", "jsonl", input=out.stdout)
    copy = cli("kafka", "consume", dst, "-e", "-o", "json")

    def strip(text: str) -> list[dict[str, Any]]:
        objs = [json.loads(x) for x in text.splitlines()]
        for o in objs:
            o.pop("topic")
        return sorted(objs, key=lambda o: (o["partition"], o["offset"]))

    assert strip(copy.stdout) == strip(out.stdout)  # same keys, values, headers, partitions, offsets, timestamps


def test_consume_pipe_produce_subprocess(cli: Any, make_topic: Any) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    src, dst = make_topic(1), make_topic(1)
    produce(cli, src, "-K", ":", "-H", "h=1", input=b"a:1\nb:\xff\xfe\n")
    m = f"{sys.executable} -m mqcli kafka"
    p = subprocess.run(
        f"set -o pipefail; {m} consume {src} -e -o json | {m} produce {dst} --input jsonl",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == b""
    assert [(x.key, x.value, x.headers) for x in records(BOOTSTRAP, dst)] == [
        (b"a", b"1", [("h", b"1")]),
        (b"b", b"\xff\xfe", [("h", b"1")]),
    ]


def test_offsets(cli: Any, topic: str) -> None:
    produce(cli, topic, *[str(i) for i in range(5)])
    assert cli("kafka", "consume", topic, "-e", "--offset", "beginning").stdout == "0\n1\n2\n3\n4\n"
    assert cli("kafka", "consume", topic, "-e", "--offset", "3").stdout == "3\n4\n"
    assert cli("kafka", "consume", topic, "-e", "--offset", "-2").stdout == "3\n4\n"
    assert cli("kafka", "consume", topic, "-e", "--offset", "-10").stdout == "0\n1\n2\n3\n4\n"
    assert cli("kafka", "consume", topic, "-e", "--offset", "end").stdout == ""
    assert cli("kafka", "consume", topic, "-e", "--offset", "nonsense").exit_code == 2


def test_relative_offset_per_partition(cli: Any, topic3: str) -> None:
    for p in range(3):
        produce(cli, topic3, "-p", str(p), f"{p}a", f"{p}b")
    r = cli("kafka", "consume", topic3, "-e", "--offset", "-1")
    assert sorted(r.stdout.split()) == ["0b", "1b", "2b"]


def test_partition_selection(cli: Any, topic3: str) -> None:
    for p in range(3):
        produce(cli, topic3, "-p", str(p), f"p{p}")
    r = cli("kafka", "consume", topic3, "-e", "-p", "0", "-p", "2")
    assert sorted(r.stdout.split()) == ["p0", "p2"]
    assert cli("kafka", "consume", topic3, "-e", "-p", "7").exit_code == 6


def test_from_and_until_times(cli: Any, topic: str) -> None:
    now = int(time.time() * 1000)
    lines = [{"value": f"m{h}", "timestamp": now - h * 3600_000} for h in (3, 2, 1)]
    produce(cli, topic, "--input", "jsonl", input="\n".join(json.dumps(x) for x in lines))
    assert cli("kafka", "consume", topic, "-e", "--from", "-150m").stdout == "m2\nm1\n"
    assert cli("kafka", "consume", topic, "--until", "-90m").stdout == "m3\nm2\n"
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((now - 2 * 3600_000) / 1000))
    assert cli("kafka", "consume", topic, "-e", "--from", iso).stdout == "m2\nm1\n"
    assert cli("kafka", "consume", topic, "-e", "--from", "-1m").stdout == ""


def _by_partition(records: list[tuple[int, bytes]]) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for partition, record in records:
        out.setdefault(partition, []).append(record)
    return out


def test_whole_batches_write_what_one_message_at_a_time_writes(cli: Any, make_topic: Any, monkeypatch: Any) -> None:
    # Without --match, consume hands whole batches to the writer; --match ''
    # matches every message but takes the per-message path.  Small polls put
    # partition switches, the end offsets and --count inside batches.
    monkeypatch.setenv("MQCLI_KAFKA_CONSUMER_MAX_POLL_RECORDS", "7")
    one, three = make_topic(1), make_topic(3)
    lines = [
        {"key": f"k{i}", "value": None if i % 10 == 3 else f"v{i}", "headers": {"h": str(i)}, "partition": i % 3}
        for i in range(60)
    ]
    jsonl = "\n".join(json.dumps(x) for x in lines)
    produce(cli, three, "--input", "jsonl", input=jsonl)
    produce(cli, one, "--input", "jsonl", "-p", "0", input=jsonl)
    for args in (
        ["-o", "raw"],
        ["-D", r"\0"],
        ["-f", "{offset} {key}={value} {headers}"],
        ["-o", "json"],
        ["-c", "25"],
    ):
        whole = cli("kafka", "consume", one, "-e", *args)
        each = cli("kafka", "consume", one, "-e", "--match", "", *args)
        assert whole.exit_code == each.exit_code == 0, whole.stderr + each.stderr
        assert whole.stdout_bytes == each.stdout_bytes, args
    assert cli("kafka", "consume", one, "-e", "-c", "25").stdout.splitlines() == [
        "" if x["value"] is None else x["value"] for x in lines[:25]
    ]
    # Across partitions only the order within each partition is fixed.
    whole = cli("kafka", "consume", three, "-e", "-o", "json")
    each = cli("kafka", "consume", three, "-e", "-o", "json", "--match", "")
    assert whole.exit_code == each.exit_code == 0
    parts = [
        _by_partition([(json.loads(x)["partition"], x.encode()) for x in r.stdout.splitlines()]) for r in (whole, each)
    ]
    assert parts[0] == parts[1] and sum(map(len, parts[0].values())) == 60
    assert len(cli("kafka", "consume", three, "-e", "-c", "25").stdout.splitlines()) == 25
    # Offsets beyond the start are honoured inside batches too.
    assert cli("kafka", "consume", one, "-e", "--offset", "-9", "-f", "{offset}").stdout.split() == [
        str(i) for i in range(51, 60)
    ]


def test_count(cli: Any, topic: str) -> None:
    produce(cli, topic, "a", "b", "c")
    r = cli("kafka", "consume", topic, "--count", "2")
    assert r.exit_code == 0 and r.stdout == "a\nb\n"


def test_match_count_timeout_ci_assertion(cli: Any, topic: str) -> None:
    produce(cli, topic, "-K", ":", input=b"order-41:x\norder-42:y\n")
    r = cli("kafka", "consume", topic, "--match", "order-42", "--count", "1", "--timeout", "30s")
    assert r.exit_code == 0 and r.stdout == "y\n"
    started = time.monotonic()
    r = cli("kafka", "consume", topic, "--match", "order-43", "--count", "1", "--timeout", "1s")
    assert r.exit_code == 5 and r.stdout == ""
    assert time.monotonic() - started < 15


def test_timeout_without_count(cli: Any, topic: str) -> None:
    assert cli("kafka", "consume", topic, "--timeout", "1s").exit_code == 5
    produce(cli, topic, "a")
    r = cli("kafka", "consume", topic, "--timeout", "1s")
    assert r.exit_code == 0 and r.stdout == "a\n"  # something arrived, then idle: done
    r = cli("kafka", "consume", topic, "--count", "2", "--timeout", "1s")
    assert r.exit_code == 5 and r.stdout == "a\n"  # fewer than --count


def test_match_key_value_header_and_template(cli: Any, topic: str) -> None:
    produce(cli, topic, "-K", ":", "-H", "kind=a", input=b"k1:apple\n")
    produce(cli, topic, "-K", ":", "-H", "kind=b", input=b"k2:banana\n")
    assert cli("kafka", "consume", topic, "-e", "--match-key", "^k2$").stdout == "banana\n"
    assert cli("kafka", "consume", topic, "-e", "--match-value", "pp").stdout == "apple\n"
    assert cli("kafka", "consume", topic, "-e", "--match-header", "kind=b").stdout == "banana\n"
    r = cli("kafka", "consume", topic, "-e", "--format", "{partition}:{offset} {key}={value} {header.kind}")
    assert r.stdout == "0:0 k1=apple a\n0:1 k2=banana b\n"


def test_raw_delimiter(cli: Any, topic: str) -> None:
    produce(cli, topic, "a", "b")
    assert cli("kafka", "consume", topic, "-e", "-D", r"\0").stdout_bytes == b"a\0b\0"


def test_missing_topic(cli: Any, unique_name: Any) -> None:
    assert cli("kafka", "consume", unique_name("nope"), "-e").exit_code == 6


def test_stored_offset_needs_group(cli: Any, topic: str) -> None:
    assert cli("kafka", "consume", topic, "--offset", "stored").exit_code == 2


def test_stored_offset_of_group(cli: Any, topic: str, unique_name: Any) -> None:
    produce(cli, topic, "a", "b", "c")
    group = unique_name("g")
    assert cli("kafka", "group-consume", "--group", group, topic, "--count", "2").exit_code == 0
    r = cli("kafka", "consume", topic, "-e", "--offset", "stored", "--group", group)
    assert r.exit_code == 0 and r.stdout == "c\n"


def test_head_closes_pipe_quietly(cli: Any, topic: str) -> None:
    produce(cli, topic, input=b"".join(b"%d\n" % i for i in range(20000)))
    import subprocess
    import sys

    from tests.conftest import ROOT

    p = subprocess.run(
        f"{sys.executable} -m mqcli kafka consume {topic} -e | head -1",
        shell=True,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert p.stdout == b"0\n"
    assert p.stderr == b""


def test_ctrl_c_stops_cleanly(topic: str) -> None:
    proc = start_mqcli(["kafka", "consume", topic])
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert b"Traceback" not in err


def test_human_output(cli: Any, topic: str) -> None:
    produce(cli, topic, "-K", ":", "-H", "h=1", input=b"k:hello\n")
    r = cli("kafka", "consume", topic, "-e", "-o", "human")
    assert r.exit_code == 0
    meta, value = r.stdout.splitlines()
    assert meta.startswith(f"{topic}[0]@0") and "key=k" in meta and "h=1" in meta
    assert value == "hello"
