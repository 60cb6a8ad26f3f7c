"""`mqcli rabbit consume QUEUE` against the real broker."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time

from tests.conftest import run_mqcli
from tests.rabbit.conftest import mqcli_env


def test_consume_count_acks_only_what_was_written(cli, amqp, queue):
    q = queue()
    for b in ("a", "b", "c"):
        amqp.publish(q, b)
    r = cli("rabbit", "consume", q, "--count", "2")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "a\nb\n"
    assert amqp.bodies(q) == ["c"]  # the third was not acknowledged (nor redelivered-marked needlessly)


def test_exit_when_empty(cli, amqp, queue):
    q = queue()
    for i in range(250):
        amqp.publish(q, str(i))
    r = cli("rabbit", "consume", q, "-e")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.split() == [str(i) for i in range(250)]
    assert amqp.count(q) == 0
    r = cli("rabbit", "consume", q, "-e")
    assert r.exit_code == 0 and r.stdout == ""


def test_idle_timeout_exit_5(cli, queue):
    q = queue()
    started = time.monotonic()
    r = cli("rabbit", "consume", q, "--timeout", "500ms")
    assert r.exit_code == 5
    assert time.monotonic() - started < 10
    assert q in r.stderr


def test_idle_timeout_speaks_of_matching_only_with_a_match(cli, queue, tmp_path):
    from tests.schema.test_avro import schema_file

    q = queue()
    r = cli("rabbit", "consume", q, "--value-schema", schema_file(tmp_path), "--timeout", "300ms")
    assert r.exit_code == 5, r.stderr
    assert f"no message from queue '{q}'" in r.stderr and "no matching" not in r.stderr
    r = cli("rabbit", "consume", q, "--value-schema", schema_file(tmp_path), "--match", "x", "--timeout", "300ms")
    assert r.exit_code == 5 and f"no matching message from queue '{q}'" in r.stderr


def test_missing_queue_exit_6(cli, unique_name):
    r = cli("rabbit", "consume", unique_name("none"), "-e")
    assert r.exit_code == 6
    assert "Traceback" not in r.stderr


def test_match_filters_and_timeout_when_no_match(cli, amqp, queue):
    q = queue()
    for b in ("order 1 created", "order 2 paid", "order 3 created"):
        amqp.publish(q, b, headers={"kind": "order"})
    r = cli("rabbit", "consume", q, "--match", "paid", "--count", "1", "--timeout", "5s")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "order 2 paid\n"
    assert amqp.bodies(q) == ["order 3 created"]  # not reached: --count 1 was satisfied
    amqp.publish(q, "x", headers={"kind": "audit"})
    r = cli("rabbit", "consume", q, "--match-header", "kind=^order$", "--count", "1", "--timeout", "1s")
    assert r.exit_code == 5
    assert r.stdout == ""


def test_json_output_has_properties_and_headers(cli, amqp, queue):
    q = queue()
    amqp.publish(
        q,
        "payload",
        headers={"n": 7, "s": "x"},
        content_type="application/json",
        delivery_mode=2,
        message_id="m1",
        correlation_id="c1",
        priority=4,
        timestamp=1764059000,
        type="t",
        app_id="a",
    )
    r = cli("rabbit", "consume", q, "-e", "--output", "json")
    assert r.exit_code == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["value"] == "payload" and obj["queue"] == q and obj["routing_key"] == q and obj["exchange"] == ""
    assert obj["redelivered"] is False
    assert obj["headers"] == {"n": 7, "s": "x"}
    assert obj["properties"] == {
        "content_type": "application/json",
        "delivery_mode": 2,
        "message_id": "m1",
        "correlation_id": "c1",
        "priority": 4,
        "timestamp": 1764059000,
        "type": "t",
        "app_id": "a",
    }


def test_jsonl_round_trip_consume_publish(cli, amqp, queue):
    src, dst = queue("src"), queue("dst")
    amqp.publish(
        src,
        b"\x00\xffbinary",
        headers={"n": 1, "txt": "h"},
        content_type="application/octet-stream",
        delivery_mode=1,
        message_id="m",
        correlation_id="c",
        reply_to="r",
        expiration="600000",
        priority=2,
        timestamp=1764059000,
        type="t",
        app_id="a",
    )
    amqp.publish(src, "second")
    out = cli("rabbit", "consume", src, "-e", "-o", "json").stdout_bytes
    r = cli("rabbit", "publish", "--queue", dst, "--input", "jsonl", input=out)
    assert r.exit_code == 0, r.stderr
    again = cli("rabbit", "consume", dst, "-e", "-o", "json").stdout_bytes
    strip = lambda line: {k: v for k, v in json.loads(line).items() if k not in ("queue", "routing_key")}  # noqa: E731
    assert [strip(x) for x in out.splitlines()] == [strip(x) for x in again.splitlines()]
    assert json.loads(again.splitlines()[0])["value_encoding"] == "base64"


def test_template_output(cli, amqp, queue):
    q = queue()
    amqp.publish(q, "v", headers={"h": "1"}, message_id="m9")
    r = cli("rabbit", "consume", q, "-e", "--format", "{message_id}:{header.h}:{value}")
    assert r.stdout == "m9:1:v\n"


def test_no_ack(cli, amqp, queue):
    q = queue()
    amqp.publish(q, "a")
    r = cli("rabbit", "consume", q, "--no-ack", "-c", "1")
    assert r.exit_code == 0 and r.stdout == "a\n"
    assert amqp.count(q) == 0


def test_exec_acks_on_success_with_env(cli, amqp, queue, tmp_path):
    q = queue()
    amqp.publish(q, "body-1", headers={"trace-id": "t1"}, message_id="m1")
    out = tmp_path / "seen"
    r = cli(
        "rabbit",
        "consume",
        q,
        "-e",
        "--exec",
        f'cat >> {out}; echo " $MQCLI_QUEUE $MQCLI_MESSAGE_ID $MQCLI_HEADER_TRACE_ID" >> {out}',
    )
    assert r.exit_code == 0, r.stderr
    assert out.read_text() == f"body-1 {q} m1 t1\n"
    assert amqp.count(q) == 0


def test_exec_failure_stop_requeues_and_exits_1(cli, amqp, queue):
    q = queue()
    amqp.publish(q, "a")
    amqp.publish(q, "b")
    r = cli("rabbit", "consume", q, "-e", "--exec", "exit 3")
    assert r.exit_code == 1
    assert "3" in r.stderr
    got = amqp.get_all(q)
    assert [b for _m, _p, b in got] == [b"a", b"b"]
    assert got[0][0].redelivered is True


def test_exec_failure_reject_dead_letters(cli, amqp, queue):
    dead = queue("dead")
    q = queue("work", **{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead})
    amqp.publish(q, "ok")
    amqp.publish(q, "bad")
    r = cli("rabbit", "consume", q, "-e", "--exec", 'test "$(cat)" = ok', "--on-error", "reject")
    assert r.exit_code == 1  # not everything asked for happened
    assert amqp.count(q) == 0
    assert amqp.wait_count(dead, 1) == 1
    assert amqp.bodies(dead) == ["bad"]


def test_exec_failure_requeue_goes_on(cli, amqp, queue, tmp_path):
    q = queue()
    amqp.publish(q, "flaky")
    marker = tmp_path / "once"
    # Fails the first time, succeeds on the redelivery.
    cmd = f"if [ -e {marker} ]; then exit 0; else touch {marker}; exit 1; fi"
    r = cli("rabbit", "consume", q, "--count", "1", "--timeout", "10s", "--exec", cmd, "--on-error", "requeue")
    assert r.exit_code == 1  # one failure happened along the way
    assert "requeued" in r.stderr
    assert amqp.count(q) == 0


def test_on_error_needs_exec(cli, queue):
    assert cli("rabbit", "consume", queue(), "--on-error", "reject", "-e").exit_code == 2


def test_two_workers_prefetch_1_share_fairly(cli, amqp, queue, start_mqcli):
    q = queue()
    n = 12
    for i in range(n):
        amqp.publish(q, str(i))
    cmd = "cat; echo; sleep 0.3"
    w1 = start_mqcli("rabbit", "consume", q, "--prefetch", "1", "--exec", cmd, "-e")
    w2 = start_mqcli("rabbit", "consume", q, "--prefetch", "1", "--exec", cmd, "-e")
    rc1, out1, err1 = w1.finish()
    rc2, out2, err2 = w2.finish()
    assert (rc1, rc2) == (0, 0), err1 + err2
    got1, got2 = out1.decode().split(), out2.decode().split()
    assert sorted(got1 + got2, key=int) == [str(i) for i in range(n)]  # each exactly once
    assert len(got1) >= 3 and len(got2) >= 3, (got1, got2)


def test_killed_consumer_redelivers_unacked(amqp, queue, start_mqcli):
    q = queue()
    n = 20
    for i in range(n):
        amqp.publish(q, str(i))
    # A slow worker with 5 in flight; killed (SIGKILL) mid-stream.
    w = start_mqcli("rabbit", "consume", q, "--prefetch", "5", "--exec", "cat; echo; sleep 0.5")
    deadline = time.monotonic() + 20
    while amqp.count(q) > n - 5 - 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.6)
    w.kill()
    # Everything that was not acknowledged is back in the queue, marked redelivered.
    rest = run_mqcli(["rabbit", "consume", q, "-e", "-o", "json"])
    assert rest.returncode == 0, rest.stderr
    objs = [json.loads(line) for line in rest.stdout.splitlines()]
    remaining = {o["value"] for o in objs}
    done = n - len(remaining)
    assert 1 <= done < n
    assert remaining == {str(i) for i in range(done, n)}  # nothing lost
    assert any(o["redelivered"] for o in objs)


def test_pipe_into_head_exits_quietly(amqp, queue):
    q = queue()
    for i in range(50):
        amqp.publish(q, str(i))
    p = subprocess.run(
        f"{sys.executable} -m mqcli rabbit consume {q} -e | head -1",
        shell=True,
        capture_output=True,
        env=mqcli_env(),
        timeout=60,
    )
    assert p.returncode == 0
    assert p.stdout == b"0\n"
    assert b"Traceback" not in p.stderr and b"BrokenPipe" not in p.stderr


def test_ctrl_c_stops_and_unacked_go_back(amqp, queue, start_mqcli):
    import signal

    q = queue()
    n = 10
    for i in range(n):
        amqp.publish(q, str(i))
    w = start_mqcli("rabbit", "consume", q, "--prefetch", "4", "--exec", "cat; echo; sleep 0.4")
    deadline = time.monotonic() + 20
    while amqp.count(q) > n - 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    w.p.send_signal(signal.SIGINT)
    rc, out, err = w.finish(timeout=30)
    assert rc == 130, err
    assert "interrupted" in err
    done = out.decode().split()
    # Whatever was not acknowledged is back in the queue: nothing lost.
    assert len(done) >= 1
    rest = amqp.bodies(q)
    assert set(done) | set(rest) == {str(i) for i in range(n)}


def test_sigterm_exit_143(queue, start_mqcli):
    import signal

    q = queue()
    w = start_mqcli("rabbit", "consume", q)
    time.sleep(1.5)
    w.p.send_signal(signal.SIGTERM)
    rc, _out, err = w.finish(timeout=30)
    assert rc == 143, err


def test_consume_pipe_publish_copies_with_real_pipes(amqp, queue):
    src, dst = queue("src"), queue("dst")
    for i in range(100):
        amqp.publish(src, f"m{i}", headers={"i": i}, message_id=f"id{i}")
    p = subprocess.run(
        f"{sys.executable} -m mqcli rabbit consume {src} -e -o json | {sys.executable} -m mqcli rabbit publish --queue {dst} --input jsonl",
        shell=True,
        capture_output=True,
        env=mqcli_env(),
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    got = amqp.get_all(dst)
    assert [b.decode() for _m, _p, b in got] == [f"m{i}" for i in range(100)]
    assert [(pr.headers["i"], pr.message_id) for _m, pr, _b in got] == [(i, f"id{i}") for i in range(100)]
    assert amqp.count(src) == 0


def test_no_ack_with_count_takes_only_count(cli, amqp, queue):
    q = queue()
    for i in range(5):
        amqp.publish(q, str(i))
    r = cli("rabbit", "consume", q, "--no-ack", "-c", "2")
    assert (r.exit_code, r.stdout) == (0, "0\n1\n")
    assert amqp.bodies(q) == ["2", "3", "4"]  # not pushed at us and forgotten


def test_count_beyond_prefetch_outputs_and_acks_exactly_count(cli, amqp, queue):
    # Acknowledgements go out in batches; --count still takes exactly N and
    # hands the rest (prefetched or not) back.
    q = queue()
    for i in range(300):
        amqp.publish(q, str(i))
    r = cli("rabbit", "consume", q, "--count", "130")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.split() == [str(i) for i in range(130)]
    assert sorted(map(int, amqp.bodies(q))) == list(range(130, 300))


def test_match_count_across_ack_batches(cli, amqp, queue):
    q = queue()
    bodies = [f"keep {i}" if i % 3 == 0 else f"drop {i}" for i in range(240)]
    for b in bodies:
        amqp.publish(q, b)
    r = cli("rabbit", "consume", q, "--match", "keep", "--count", "40", "--prefetch", "20")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [f"keep {i}" for i in range(0, 120, 3)]
    # Everything up to the 40th match was handled or skipped (acknowledged); the rest is back.
    assert sorted(amqp.bodies(q), key=lambda b: int(b.split()[1])) == bodies[118:]


def _read_lines(stream, n: int, timeout: float = 20) -> list[bytes]:
    """n lines from a pipe, failing (not hanging) when they do not come."""
    box: list[bytes] = []
    t = threading.Thread(target=lambda: box.extend(stream.readline() for _ in range(n)), daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"only {len(box)} of {n} lines within {timeout}s"
    return box


def test_output_reaches_a_live_reader_without_waiting_for_more(amqp, queue, start_mqcli):
    # Batched flushes never hold back a message while mqcli waits for the next one.
    for args in ((), ("--no-ack",)):
        # A queue per run: a message whose ack had not left before the kill
        # is rightly delivered again, and must not be read by the next run.
        q = queue()
        w = start_mqcli("rabbit", "consume", q, *args)
        for i in range(3):
            amqp.publish(q, f"live {i}")
            assert _read_lines(w.p.stdout, 1) == [f"live {i}\n".encode()]
        w.kill()


def test_killed_writing_consumer_loses_nothing(amqp, queue):
    # Acked only after the output was flushed: killed while blocked on a full
    # pipe, every message is either in the pipe (flushed) or back in the queue.
    q = queue()
    n = 3000
    # Small enough that a whole ack batch sits in mqcli's stdout buffer until
    # the flush that blocks on the full pipe.
    values = [f"{i:05d}-" + "x" * 200 for i in range(n)]
    for v in values:
        amqp.publish(q, v)
    # A buffered stdout, as usual (the test run may set PYTHONUNBUFFERED).
    p = subprocess.Popen(
        [sys.executable, "-m", "mqcli", "rabbit", "consume", q],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=mqcli_env({"PYTHONUNBUFFERED": ""}),
    )
    try:
        seen = _read_lines(p.stdout, 200)
        time.sleep(0.5)  # the pipe fills up again and mqcli blocks writing
    finally:
        p.kill()
        p.wait(timeout=10)
    seen += p.stdout.read().splitlines(keepends=True)
    got = {line.decode().rstrip("\n") for line in seen if line.endswith(b"\n")}  # a cut-off last line does not count
    rest = set(amqp.bodies(q))
    assert got | rest == set(values)  # nothing lost
    assert len(got) >= 200 and rest  # it really stopped half-way


def test_varied_deliveries_come_out_whole_and_in_order(cli, amqp, queue):
    """Bodies over several frames, empty ones, and properties that change from one
    message to the next (mqcli reads deliveries from the connection's input itself:
    core/rabbit/deliveries.py)."""
    q = queue()
    big = bytes(range(256)) * 1200  # 307,200 bytes: three body frames at RabbitMQ's frame_max
    amqp.publish(q, "first", delivery_mode=2)
    amqp.publish(q, big, delivery_mode=2)
    amqp.publish(q, b"")
    amqp.publish(q, "h", headers={"n": 1, "txt": "x"}, message_id="m1", content_type="text/plain")
    amqp.publish(q, "h2", headers={"n": 2}, message_id="m2")
    amqp.publish(q, "last", delivery_mode=2)
    r = cli("rabbit", "consume", q, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [rec.get("properties", {}) for rec in records] == [
        {"delivery_mode": 2},
        {"delivery_mode": 2},
        {},
        {"content_type": "text/plain", "message_id": "m1"},
        {"message_id": "m2"},
        {"delivery_mode": 2},
    ]
    assert [rec.get("headers") for rec in records] == [None, None, None, {"n": 1, "txt": "x"}, {"n": 2}, None]
    assert records[0]["value"] == "first" and records[2]["value"] == "" and records[5]["value"] == "last"
    assert records[1]["value_encoding"] == "base64"
    assert base64.b64decode(records[1]["value"]) == big
    assert all(rec["routing_key"] == q and rec["redelivered"] is False for rec in records)
    assert amqp.count(q) == 0
