"""`mqcli rabbit wait queue|exists` against the real broker: each condition met by
something that happens while mqcli waits, and each timeout (exit 5)."""

from __future__ import annotations

import time


def still_waiting(proc, seconds: float = 1.5) -> None:  # type: ignore[no-untyped-def]
    """The wait has not ended early: it is still running after `seconds`."""
    time.sleep(seconds)
    assert proc.p.poll() is None, "".join(proc.err_lines)


def test_wait_queue_empty_is_met_by_a_running_consume_exec(amqp, queue, start_mqcli, tmp_path):
    q = queue("drain")
    for i in range(5):
        amqp.publish(q, f"job-{i}")
    wait = start_mqcli("rabbit", "wait", "queue", q, "--empty", "--timeout", "60s", "--interval", "200ms")
    wait.wait_stderr("5 ready, 0 consumers")
    still_waiting(wait)
    done = tmp_path / "done"
    worker = start_mqcli(
        "rabbit", "consume", q, "--prefetch", "1", "--count", "5", "--exec", f"sleep 0.1; cat >> {done}; echo >> {done}"
    )
    rc, out, err = wait.finish()
    assert rc == 0, err
    assert f"queue '{q}' is empty: 0 ready" in err
    assert worker.finish()[0] == 0
    assert done.read_text().split() == [f"job-{i}" for i in range(5)]


def test_wait_queue_consumers_and_min(amqp, queue, start_mqcli):
    q = queue("attach")
    wait = start_mqcli(
        "rabbit", "wait", "queue", q, "--consumers", "1", "--min", "2", "-t", "60s", "--interval", "200ms"
    )
    wait.wait_stderr("0 ready, 0 consumers")
    for body in "abc":
        amqp.publish(q, body)
    still_waiting(wait, 1.0)  # three ready, but no consumer yet
    ch = amqp.conn.channel()
    ch.basic_qos(prefetch_count=1)
    ch.basic_consume(q, lambda *a: None)  # holds one of the three unacknowledged
    amqp.conn.process_data_events(time_limit=0.3)
    rc, _out, err = wait.finish()
    assert rc == 0, err
    assert "2 ready, 1 consumer (" in err
    assert "is at least 2 ready and at least 1 consumer" in err


def test_wait_queue_for_a_queue_declared_later(amqp, unique_name, start_mqcli):
    q = unique_name("later")
    wait = start_mqcli("rabbit", "wait", "queue", q, "--max", "0", "-t", "60s", "--interval", "200ms")
    wait.wait_stderr("the queue does not exist")
    amqp.queue(q)
    rc, _out, err = wait.finish()
    assert rc == 0, err


def test_wait_queue_timeout_is_exit_5_with_what_it_last_saw(cli, amqp, queue):
    q = queue("stuck")
    for _ in range(3):
        amqp.publish(q, "x")
    started = time.monotonic()
    r = cli("rabbit", "wait", "queue", q, "--empty", "--timeout", "1500ms", "--interval", "300ms")
    assert r.exit_code == 5
    assert 1.4 < time.monotonic() - started < 10
    assert r.stderr.strip().splitlines()[-1] == (
        f"mqcli: error: timed out after 1500ms waiting for queue '{q}' to be empty; last seen: 3 ready, 0 consumers"
    )
    assert r.stdout == ""


def test_wait_exists_queue_and_exchange(amqp, unique_name, start_mqcli, cli):
    q, x = unique_name("q"), unique_name("x")
    wait = start_mqcli("rabbit", "wait", "exists", "--queue", q, "--exchange", x, "-t", "60s", "--interval", "200ms")
    wait.wait_stderr(f"missing: queue '{q}', exchange '{x}'")
    amqp.queue(q)
    wait.wait_stderr(f"missing: exchange '{x}'")
    amqp.exchange(x, "fanout")
    rc, _out, err = wait.finish()
    assert rc == 0, err
    assert f"queue '{q}' and exchange '{x}' exist" in err

    r = cli("rabbit", "wait", "exists", "--exchange", unique_name("never"), "-t", "500ms", "--interval", "100ms")
    assert r.exit_code == 5
    assert "last seen: missing: exchange" in r.stderr


def test_wait_usage_errors(cli):
    assert cli("rabbit", "wait", "queue", "q").exit_code == 2
    assert cli("rabbit", "wait", "exists").exit_code == 2
    r = cli("rabbit", "wait", "queue", "q", "--empty", "--timeout", "soon")
    assert r.exit_code == 2


def test_wait_with_the_broker_unreachable_is_exit_4(cli):
    r = cli("rabbit", "wait", "queue", "q", "--empty", env={"MQCLI_RABBIT_URL": "amqp://127.0.0.1:1/"})
    assert r.exit_code == 4
