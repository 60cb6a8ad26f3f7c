"""Fault tests for the RabbitMQ commands (issue 5): the broker stops or
restarts under publish, consume, subscribe, rpc serve, rpc call and delay
publish; a consumer is killed with SIGKILL; a profile with several hosts
fails over, at connect time and mid-run; signals arrive while publishing,
consuming, connecting and while an --exec command runs.

The first broker tests stop the shared local RabbitMQ through
brokers/rabbitmq.sh (about 10 s of downtime each, two per run) and always
leave it running (`rabbit_broker` fixture).  The rpc call, delay publish and
mid-run failover tests stop and restart only a second, private node
(brokers/rabbitmq-node2.sh, 127.0.0.1:5682; `rabbit_node2` fixture), so they
never disturb the shared one.  They print the figures they measure (-s) and
keep them in .brokers/reliability-rabbit.json.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.reliability.conftest import NODE2_PORT, Rabbit, feed, write_profile

pytestmark = pytest.mark.rabbit

N_PUBLISH = 100_000
STOP_AT = 20_000  # messages in the queue when the broker is told to stop

NOT_DELIVERED = re.compile(r"not delivered: line (\d+): (.*)")
NOT_SENT = re.compile(r"input from line (\d+) on was not sent")
SUMMARY = re.compile(r"confirmed (\d+), failed (\d+)")
RESENT = re.compile(r"sending (\d+) unconfirmed message\(s\) again")
RECONNECTED = "reconnected to RabbitMQ"


def paced_lines(n: int, per_chunk: int = 1000, pause: float = 0.1, prefix: str = "") -> Iterator[bytes]:
    """'1\\n' .. 'n\\n' (line i holds i, its input line number, after
    `prefix`) at about 10k lines/s: the input outlasts the broker's shutdown,
    so the stop hits the publisher mid-stream with messages awaiting their
    confirm."""
    for start in range(1, n + 1, per_chunk):
        yield "".join(f"{prefix}{i}\n" for i in range(start, min(start + per_chunk, n + 1))).encode()
        time.sleep(pause)


def publisher_figures(err: str, found: list[bytes], n_input: int) -> dict[str, Any]:
    """What a publisher run did, from its stderr and what is in the queue."""
    reported = {int(n) for n, _why in NOT_DELIVERED.findall(err)}
    summary = SUMMARY.findall(err)
    assert summary, err[-2000:]
    confirmed, failed = map(int, summary[-1])
    not_sent = NOT_SENT.search(err)
    handed = int(not_sent.group(1)) - 1 if not_sent else n_input  # lines given to the broker
    values = Counter(int(b) for b in found)
    confirmed_lines = set(range(1, handed + 1)) - reported
    return {
        "input_lines": n_input,
        "sent": handed,
        "confirmed": confirmed,
        "reported_unconfirmed": len(reported),
        "reported_lines": reported,
        "confirmed_lines": confirmed_lines,
        "failed_in_summary": failed,
        "found_in_queue": sum(values.values()),
        "found_distinct": len(values),
        "duplicated": sum(c - 1 for c in values.values()),
        "lost": len(confirmed_lines - set(values)),
        "unconfirmed_but_in_queue": len(reported & set(values)),
        "unexpected_in_queue": len(set(values) - set(range(1, handed + 1))),
        "resent": sum(int(n) for n in RESENT.findall(err)),
        "reconnects": err.count(RECONNECTED),
    }


def public(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if not isinstance(v, set)}


# -- the broker stops: nothing silently lost, nothing hangs, nothing exits 0 ----------
@pytest.mark.slow
def test_broker_stop_without_reconnect(rabbit_broker, rabbit, unique_name, mqcli_bg, record_rabbit_figures):
    pub_q = rabbit.queue(unique_name("pub"))
    cons_q = rabbit.queue(unique_name("cons"))
    rpc_q = rabbit.queue(unique_name("rpc"))
    fanout = rabbit.exchange(unique_name("fan"))
    consumer = mqcli_bg("rabbit", "consume", cons_q)
    server = mqcli_bg("rabbit", "rpc", "serve", rpc_q, "--exec", "cat")
    subscriber = mqcli_bg("rabbit", "subscribe", "--exchange", fanout)
    subscriber.wait_stderr("subscribed")
    rabbit.wait(lambda: rabbit.consumers(cons_q) == 1 and rabbit.consumers(rpc_q) == 1, message="consumers")
    publisher = mqcli_bg("rabbit", "publish", "--queue", pub_q, stdin=subprocess.PIPE)
    feed(publisher.p.stdin, paced_lines(N_PUBLISH))
    rabbit.wait(lambda: rabbit.count(pub_q) >= STOP_AT, timeout=120, message=f"{STOP_AT} messages published")

    stop_began = time.monotonic()
    exits: dict[str, tuple[int, float, str]] = {}
    try:
        rabbit_broker.stop()
        stopped_in = time.monotonic() - stop_began
        for name, proc in (
            ("publish", publisher),
            ("consume", consumer),
            ("subscribe", subscriber),
            ("rpc serve", server),
        ):
            rc, _out, err = proc.finish(timeout=60)  # never hang
            exits[name] = (rc, round(time.monotonic() - stop_began, 1), err)
    finally:
        rabbit_broker.start()

    for name, (rc, _after, err) in exits.items():
        assert rc == 4, f"{name}: exit {rc}: {err[-1500:]}"  # connection lost: non-zero, never 0
        assert "Traceback" not in err, err[-1500:]
        assert "closed the connection" in err or "lost" in err, err[-1500:]
    err = exits["publish"][2]
    print(
        "\npublish stderr (not delivered lines elided):\n"
        + "".join(line for line in err.splitlines(True) if "not delivered" not in line)
    )
    print("consume stderr: " + exits["consume"][2])
    found = rabbit.drain(pub_q)
    f = publisher_figures(err, found, N_PUBLISH)
    record_rabbit_figures(
        "publisher-broker-stop-no-reconnect",
        {
            **public(f),
            "broker_stop_seconds": round(stopped_in, 1),
            **{f"exit_after_stop_{k.replace(' ', '_')}_s": v[1] for k, v in exits.items()},
        },
    )
    assert f["sent"] < N_PUBLISH, "the stop did not hit the publisher mid-stream"
    assert f["lost"] == 0  # every line mqcli did not report is in the queue
    assert f["confirmed"] + f["reported_unconfirmed"] == f["sent"]  # each line sent is confirmed or reported
    assert f["failed_in_summary"] == f["reported_unconfirmed"]
    assert f["duplicated"] == 0 and f["unexpected_in_queue"] == 0
    assert all("connection lost" in why for _n, why in NOT_DELIVERED.findall(err))


@pytest.mark.slow
def test_broker_restart_with_reconnect(
    cli, rabbit_broker, rabbit, unique_name, mqcli_bg, record_rabbit_figures, tmp_path
):
    pub_q = rabbit.queue(unique_name("pub"))
    cons_q = rabbit.queue(unique_name("cons"))
    rpc_q = rabbit.queue(unique_name("rpc"))
    sub_q = rabbit.queue(unique_name("sub"))
    fanout = rabbit.exchange(unique_name("fan"))
    processed = tmp_path / "processed"
    consumer = mqcli_bg(
        "rabbit",
        "consume",
        cons_q,
        "--reconnect",
        "30",
        "--count",
        "20",
        "--exec",
        f'printf "%s\\n" "$(cat)" >> {processed}',
    )
    server = mqcli_bg("rabbit", "rpc", "serve", rpc_q, "--exec", "tr a-z A-Z", "--count", "2", "--reconnect", "30")
    subscriber = mqcli_bg("rabbit", "subscribe", "--exchange", fanout, "--queue", sub_q, "-c", "2", "--reconnect", "30")
    # Without --queue: a server-named queue, gone with the connection; declared and bound again.
    transient = mqcli_bg("rabbit", "subscribe", "--exchange", fanout, "-c", "2", "--reconnect", "30")
    subscriber.wait_stderr("subscribed")
    transient.wait_stderr("subscribed")
    rabbit.wait(lambda: rabbit.consumers(cons_q) == 1 and rabbit.consumers(rpc_q) == 1, message="consumers")

    # Before the restart: each consumer handles one part of its work.
    rabbit.publish(cons_q, *[f"c{i}" for i in range(10)])
    r = cli("rabbit", "rpc", "call", rpc_q, "before", "--timeout", "30s")
    assert (r.exit_code, r.stdout) == (0, "BEFORE\n"), r.stderr
    assert cli("rabbit", "publish", "--exchange", fanout, "before").exit_code == 0
    rabbit.wait(lambda: processed.exists() and len(processed.read_text().split()) == 10, message="10 consumed")
    time.sleep(0.3)  # the 10th acknowledgement is on its way

    publisher = mqcli_bg("rabbit", "publish", "--queue", pub_q, "--reconnect", "30", stdin=subprocess.PIPE)
    feed(publisher.p.stdin, paced_lines(N_PUBLISH))
    rabbit.wait(lambda: rabbit.count(pub_q) >= STOP_AT, timeout=120, message=f"{STOP_AT} messages published")
    began = time.monotonic()
    rabbit_broker.restart()
    downtime = time.monotonic() - began

    # After the restart: the rest of the work arrives and everyone finishes it.
    rabbit.wait(
        lambda: sum("subscribed:" in line for line in transient.err_lines) >= 2, timeout=60, message="subscribed again"
    )
    rabbit.publish(cons_q, *[f"c{i}" for i in range(10, 20)])
    r = cli("rabbit", "rpc", "call", rpc_q, "after", "--timeout", "60s")
    assert (r.exit_code, r.stdout) == (0, "AFTER\n"), r.stderr
    assert cli("rabbit", "publish", "--exchange", fanout, "after").exit_code == 0

    rc, _out, pub_err = publisher.finish(timeout=300)
    print(
        "\npublish --reconnect stderr:\n"
        + "".join(
            line for line in pub_err.splitlines(True) if "confirmed" in line or "warning" in line or "reconnect" in line
        )
    )
    assert rc == 0, pub_err[-3000:]
    results = {}
    for name, proc in (
        ("consume", consumer),
        ("subscribe", subscriber),
        ("subscribe (server-named queue)", transient),
        ("rpc serve", server),
    ):
        results[name] = proc.finish(timeout=120)
        assert results[name][0] == 0, f"{name}: {results[name][2][-1500:]}"
        assert RECONNECTED in results[name][2], f"{name}: {results[name][2][-1500:]}"
    assert processed.read_text().split() == [f"c{i}" for i in range(20)]
    assert results["subscribe"][1] == b"before\nafter\n"
    # What was published while it was away is not in a new server-named queue; this is after.
    assert results["subscribe (server-named queue)"][1] == b"before\nafter\n"

    found = rabbit.drain(pub_q)
    f = publisher_figures(pub_err, found, N_PUBLISH)
    record_rabbit_figures(
        "publisher-broker-restart-reconnect", {**public(f), "broker_restart_seconds": round(downtime, 1)}
    )
    assert f["reported_unconfirmed"] == 0 and "not delivered" not in pub_err
    assert f["lost"] == 0 and f["found_distinct"] == N_PUBLISH and f["unexpected_in_queue"] == 0
    assert f["reconnects"] >= 1
    # Duplicates only among the messages that were in flight and sent again.
    assert f["duplicated"] <= f["resent"]


def test_error_while_the_input_waits_keeps_its_exit_code(rabbit_up, rabbit, unique_name, mqcli_bg):
    # `tail -f | mqcli rabbit publish`: the input reader waits in a read on
    # stdin when the publish fails; mqcli must still exit with its own code
    # (not abort at interpreter shutdown with 134).
    import pika

    from tests.rabbit.conftest import _params

    x = rabbit.exchange(unique_name("gone"), "direct")
    q = rabbit.queue(unique_name("bound"))
    rabbit._with(lambda ch: ch.queue_bind(q, x, routing_key="k"))
    publisher = mqcli_bg("rabbit", "publish", "--exchange", x, "--routing-key", "k", stdin=subprocess.PIPE)
    publisher.p.stdin.write(b"a\n")
    publisher.p.stdin.flush()
    rabbit.wait(lambda: rabbit.count(q) == 1, message="the first message")
    conn = pika.BlockingConnection(_params())
    conn.channel().exchange_delete(x)
    conn.close()
    publisher.p.stdin.write(b"b\n")  # refused (404): the channel closes; stdin stays open
    publisher.p.stdin.flush()
    publisher.p.wait(timeout=30)
    publisher.p.stdin.close()
    rc, _out, err = publisher.finish(timeout=30)
    assert rc == 6, err
    assert "Fatal Python error" not in err
    assert "not delivered: line 2" in err and "input from line 3 on was not sent" in err


# -- kill -9 of a consumer: at least once -------------------------------------------------
@pytest.mark.slow
def test_consumer_kill_9_processes_everything_at_least_once(
    rabbit, unique_name, mqcli_bg, tmp_path, record_rabbit_figures
):
    from tests.conftest import run_mqcli

    q = rabbit.queue(unique_name("kill9"))
    n = 400
    rabbit.publish(q, *[f"m{i}" for i in range(n)])
    processed = tmp_path / "processed"
    # One write per message (O_APPEND, a short line): a kill cannot leave half a line.
    cmd = f'printf "%s\\n" "$(cat)" >> {processed}'
    worker = mqcli_bg("rabbit", "consume", q, "--prefetch", "20", "--exec", cmd)
    rabbit.wait(
        lambda: processed.exists() and len(processed.read_text().split()) >= 100, timeout=60, message="100 processed"
    )
    worker.kill()  # SIGKILL, process group (the running --exec command too)
    killed_after = len(processed.read_text().split())
    r = run_mqcli(["rabbit", "consume", q, "-e", "--exec", cmd])
    assert r.returncode == 0, r.stderr
    lines = processed.read_text().split()
    counts = Counter(lines)
    figures = {
        "messages": n,
        "processed_before_kill": killed_after,
        "processed_total": len(lines),
        "distinct": len(counts),
        "duplicated": sum(c - 1 for c in counts.values()),
        "lost": n - len(set(counts) & {f"m{i}" for i in range(n)}),
    }
    record_rabbit_figures("consumer-kill-9", figures)
    assert figures["lost"] == 0 and set(counts) == {f"m{i}" for i in range(n)}
    # --exec runs one message at a time: at most the one whose ack did not get out.
    assert figures["duplicated"] <= 1
    assert rabbit.count(q) == 0


# -- several hosts: the first refuses, the second serves -----------------------------------
def test_profile_with_several_hosts_fails_over(cli, rabbit_up, rabbit, unique_name, isolate):
    (isolate / "mqcli.yaml").write_text(
        "default: cluster\n"
        "profiles:\n"
        "  cluster:\n"
        "    rabbit:\n"
        '      hosts: ["127.0.0.1:1", "127.0.0.1:5672"]\n'
        "      username: guest\n"
        "      password: guest\n"
    )
    q = rabbit.queue(unique_name("failover"))
    r = cli("rabbit", "publish", "--queue", q, "a", "b")
    assert r.exit_code == 0, r.stderr
    r = cli("rabbit", "consume", q, "-e")
    assert (r.exit_code, r.stdout) == (0, "a\nb\n"), r.stderr
    r = cli("ping", "--rabbit")
    assert r.exit_code == 0 and "127.0.0.1:5672" in r.stdout
    # All down: one error naming every host and the profile, exit 4.
    (isolate / "mqcli.yaml").write_text((isolate / "mqcli.yaml").read_text().replace("127.0.0.1:5672", "127.0.0.1:2"))
    r = cli("rabbit", "consume", q, "-e")
    assert r.exit_code == 4
    assert "127.0.0.1:1" in r.stderr and "127.0.0.1:2" in r.stderr and "cluster" in r.stderr


def count_or_zero(rabbit: Rabbit, queue: str) -> int:
    """Ready messages of `queue`, 0 while it does not exist yet (mqcli declares it)."""
    try:
        return rabbit.count(queue)
    except Exception:  # the passive declare is refused (404)
        return 0


N_FAILOVER = 50_000
FAILOVER_STOP_AT = 10_000


@pytest.mark.slow
def test_profile_with_several_hosts_fails_over_mid_run(
    rabbit_node2, rabbit2, rabbit, unique_name, mqcli_bg, isolate, tmp_path, record_rabbit_figures
):
    # hosts [node 2, the shared node]: mqcli starts on node 2, which then
    # stops; publish and consume go on with the shared node (never stopped).
    write_profile(isolate / "mqcli.yaml", NODE2_PORT, 5672)
    pub_q = unique_name("failpub")
    rabbit.queues.append(pub_q)  # mqcli declares it (--declare) on each node it uses
    rabbit2.queues.append(pub_q)
    cons_q = rabbit.queue(rabbit2.queue(unique_name("failcons")))
    rabbit2.publish(cons_q, *[f"c{i}" for i in range(10)])
    rabbit.publish(cons_q, *[f"c{i}" for i in range(10, 20)])
    processed = tmp_path / "processed"
    consumer = mqcli_bg(
        "rabbit",
        "consume",
        cons_q,
        "--reconnect",
        "30",
        "--count",
        "20",
        "--exec",
        f'printf "%s\\n" "$(cat)" >> {processed}',
    )
    rabbit2.wait(
        lambda: processed.exists() and len(processed.read_text().split()) == 10, message="10 consumed from node 2"
    )
    time.sleep(0.3)  # the 10th acknowledgement is on its way
    publisher = mqcli_bg("rabbit", "publish", "--queue", pub_q, "--declare", "--reconnect", "30", stdin=subprocess.PIPE)
    feed(publisher.p.stdin, paced_lines(N_FAILOVER))
    rabbit2.wait(
        lambda: count_or_zero(rabbit2, pub_q) >= FAILOVER_STOP_AT,
        timeout=60,
        message=f"{FAILOVER_STOP_AT} published to node 2",
    )

    began = time.monotonic()
    rabbit_node2.stop()
    stop_seconds = time.monotonic() - began
    rc, _out, err = publisher.finish(timeout=120)
    crc, _cout, cerr = consumer.finish(timeout=60)
    rabbit_node2.start()  # to count what node 2 kept
    on_node2, on_main = rabbit2.drain(pub_q), rabbit.drain(pub_q)
    left_on_node2 = [b.decode() for b in rabbit2.drain(cons_q)]

    print("\npublish stderr:\n" + err[-1500:] + "\nconsume stderr:\n" + cerr[-1500:])
    assert rc == 0, err[-3000:]
    assert crc == 0, cerr[-1500:]
    for text in (err, cerr):
        assert "reconnected to RabbitMQ at 127.0.0.1:5672" in text and "Traceback" not in text
    f = publisher_figures(err, on_node2 + on_main, N_FAILOVER)
    lines = processed.read_text().split()
    consumed = {
        "consume_processed": len(lines),
        "consume_from_node2": sum(int(v[1:]) < 10 for v in lines),
        "consume_from_main": sum(int(v[1:]) >= 10 for v in lines),
        "consume_left_on_node2": len(left_on_node2),
    }
    record_rabbit_figures(
        "publisher-failover-mid-run",
        {
            **public(f),
            "found_on_node2": len(on_node2),
            "found_on_main": len(on_main),
            "node2_stop_seconds": round(stop_seconds, 1),
            **consumed,
        },
    )
    assert f["reported_unconfirmed"] == 0 and "not delivered" not in err
    assert f["lost"] == 0 and f["found_distinct"] == N_FAILOVER and f["unexpected_in_queue"] == 0
    assert len(on_node2) >= FAILOVER_STOP_AT and on_main, "the stop did not hit the publisher mid-stream"
    assert f["duplicated"] <= f["resent"]
    # Each message processed once, on the node that held it; an acknowledgement
    # that did not reach node 2 would leave its message there (again), never lose it.
    assert sorted(lines, key=lambda v: int(v[1:])) == [f"c{i}" for i in range(20)]
    assert set(left_on_node2) <= set(lines)


# -- rpc call and delay publish through a restart (of the private second node) ------------
RPC_REQUESTS = 600
NOT_ANSWERED = re.compile(r"not answered: line (\d+): (.*)")
CALL_RECONNECTS = re.compile(r"reconnected (\d+) time\(s\), sent (\d+) request\(s\) without a reply again")


@pytest.mark.slow
def test_rpc_call_through_a_broker_restart(
    rabbit_node2, rabbit2, unique_name, mqcli_bg, isolate, tmp_path, record_rabbit_figures
):
    write_profile(isolate / "mqcli.yaml", NODE2_PORT)
    q = rabbit2.queue(unique_name("rpc"))
    served = tmp_path / "served"
    # One short append per request run (O_APPEND): how often each request ran.
    # The plain caller's requests ("p...") are slow, so it always has some
    # waiting for a reply when the broker stops.
    server = mqcli_bg(
        "rabbit",
        "rpc",
        "serve",
        q,
        "--reconnect",
        "30",
        "--exec",
        f'v=$(cat); case $v in p*) sleep 0.05;; esac; printf "%s\\n" "$v" >> {served}; printf "R%s" "$v"',
    )
    rabbit2.wait(lambda: rabbit2.consumers(q) == 1, message="rpc serve")
    caller = mqcli_bg("rabbit", "rpc", "call", q, "--reconnect", "30", "--timeout", "60s", stdin=subprocess.PIPE)
    plain = mqcli_bg("rabbit", "rpc", "call", q, "--timeout", "60s", stdin=subprocess.PIPE)
    feed(caller.p.stdin, paced_lines(RPC_REQUESTS, per_chunk=10, prefix="c"))
    feed(plain.p.stdin, paced_lines(RPC_REQUESTS, per_chunk=10, prefix="p"))
    rabbit2.wait(
        lambda: served.exists() and served.read_text().count("c") >= 50, timeout=60, message="50 requests served"
    )

    began = time.monotonic()
    rabbit_node2.restart()
    downtime = time.monotonic() - began
    rc, out, err = caller.finish(timeout=120)
    prc, pout, perr = plain.finish(timeout=60)
    rabbit2.wait(lambda: any(RECONNECTED in line for line in server.err_lines), message="rpc serve reconnected")

    print("\nrpc call --reconnect stderr:\n" + err[-1500:] + "\nrpc call stderr:\n" + perr[-1500:])
    # With --reconnect: every request answered, in request order, exit 0.
    assert rc == 0, err[-3000:]
    assert out.decode() == "".join(f"Rc{i}\n" for i in range(1, RPC_REQUESTS + 1))
    counts = CALL_RECONNECTS.findall(err)
    assert counts, err[-1500:]
    reconnects, resent = map(int, counts[-1])
    runs = Counter(line for line in served.read_text().split() if line.startswith("c"))
    figures = {
        "requests": RPC_REQUESTS,
        "answered_in_order": RPC_REQUESTS,
        "reconnects": reconnects,
        "resent": resent,
        "server_runs": sum(runs.values()),
        "duplicated_runs": sum(c - 1 for c in runs.values()),
        "lost": RPC_REQUESTS - len(runs),
        "broker_restart_seconds": round(downtime, 1),
    }
    assert reconnects >= 1 and figures["lost"] == 0
    # A request runs twice only when it was sent again (its reply went to the lost connection).
    assert figures["duplicated_runs"] <= resent

    # Without --reconnect: exit 4; the replies printed are those of the first
    # requests, in order; each request sent after them is named, then where the input stopped.
    assert prc == 4, perr[-1500:]
    assert "Traceback" not in perr
    answered = [int(line[2:]) for line in pout.decode().split()]
    unanswered = [int(n) for n, _why in NOT_ANSWERED.findall(perr)]
    not_sent = NOT_SENT.search(perr)
    assert not_sent, perr[-1500:]
    first_not_sent = int(not_sent.group(1))
    assert answered == list(range(1, len(answered) + 1))
    assert unanswered and unanswered == list(range(len(answered) + 1, first_not_sent)), perr[-1500:]
    assert "connection lost" in NOT_ANSWERED.findall(perr)[0][1]
    figures.update(
        {
            "no_reconnect_exit": prc,
            "no_reconnect_answered": len(answered),
            "no_reconnect_reported_unanswered": len(unanswered),
            "no_reconnect_not_sent_from_line": first_not_sent,
        }
    )
    record_rabbit_figures("rpc-call-broker-restart", figures)


N_DELAY = 20_000
# Long enough that nothing falls due during the test: what mqcli guarantees is
# that every confirmed message waits in its delay queue.  (The later step,
# RabbitMQ dead-lettering it to the target, is at most once for classic
# queues: a broker stop while messages fall due can drop some there, which
# no publisher can see or prevent.)
DELAY_MS = 60_000


@pytest.mark.slow
def test_delay_publish_through_a_broker_restart(
    rabbit_node2, rabbit2, unique_name, mqcli_bg, isolate, record_rabbit_figures
):
    from mqcli.core.rabbit.delay import Target, delay_queue_name

    write_profile(isolate / "mqcli.yaml", NODE2_PORT)
    target = rabbit2.queue(unique_name("dtarget"))
    plain_target = rabbit2.queue(unique_name("dplain"))
    delay_q, plain_delay_q = (delay_queue_name(DELAY_MS, Target(queue=t)) for t in (target, plain_target))
    rabbit2.queues += [delay_q, plain_delay_q]
    publisher = mqcli_bg(
        "rabbit", "delay", "publish", "--delay", "1m", "--queue", target, "--reconnect", "30", stdin=subprocess.PIPE
    )
    plain = mqcli_bg("rabbit", "delay", "publish", "--delay", "1m", "--queue", plain_target, stdin=subprocess.PIPE)
    feed(publisher.p.stdin, paced_lines(N_DELAY, per_chunk=500))
    feed(plain.p.stdin, paced_lines(N_DELAY, per_chunk=500))
    rabbit2.wait(
        lambda: count_or_zero(rabbit2, delay_q) >= 5000, timeout=60, message="5000 messages in the delay queue"
    )

    began = time.monotonic()
    rabbit_node2.restart()
    downtime = time.monotonic() - began
    rc, _out, err = publisher.finish(timeout=120)
    prc, _pout, perr = plain.finish(timeout=60)

    print(
        "\ndelay publish --reconnect stderr:\n"
        + err[-1500:]
        + "\ndelay publish stderr (not delivered lines elided):\n"
        + "".join(line for line in perr.splitlines(True) if "not delivered" not in line)
    )
    assert rc == 0, err[-3000:]
    assert rabbit2.count(target) == 0 and rabbit2.count(plain_target) == 0  # nothing early
    f = publisher_figures(err, rabbit2.drain(delay_q), N_DELAY)
    p = publisher_figures(perr, rabbit2.drain(plain_delay_q), N_DELAY)
    record_rabbit_figures(
        "delay-publish-broker-restart-reconnect", {**public(f), "broker_restart_seconds": round(downtime, 1)}
    )
    record_rabbit_figures("delay-publish-broker-stop-no-reconnect", {**public(p), "exit": prc})
    assert f["reported_unconfirmed"] == 0 and "not delivered" not in err
    assert f["lost"] == 0 and f["found_distinct"] == N_DELAY and f["unexpected_in_queue"] == 0
    assert f["reconnects"] >= 1 and f["duplicated"] <= f["resent"]
    # Without --reconnect: exit 4, every line sent is confirmed (and waits) or reported.
    assert prc == 4, perr[-1500:]
    assert p["sent"] < N_DELAY and NOT_SENT.search(perr)
    assert p["lost"] == 0 and p["duplicated"] == 0 and p["unexpected_in_queue"] == 0
    assert p["confirmed"] + p["reported_unconfirmed"] == p["sent"]


# -- signals ------------------------------------------------------------------------------------
SIGNALS = [pytest.param(signal.SIGINT, 130, id="SIGINT"), pytest.param(signal.SIGTERM, 143, id="SIGTERM")]


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), SIGNALS)
def test_signal_while_publishing(signum, code, rabbit_up, rabbit, unique_name, mqcli_bg, record_rabbit_figures):
    q = rabbit.queue(unique_name("sigpub"))
    publisher = mqcli_bg("rabbit", "publish", "--queue", q, stdin=subprocess.PIPE)
    feed(publisher.p.stdin, paced_lines(N_PUBLISH))
    rabbit.wait(lambda: rabbit.count(q) >= 5000, timeout=120, message="5000 published")
    publisher.p.send_signal(signum)
    rc, _out, err = publisher.finish(timeout=60)
    assert rc == code, err[-2000:]
    f = publisher_figures(err, rabbit.drain(q), N_PUBLISH)
    record_rabbit_figures(f"publisher-{signal.Signals(signum).name}", public(f))
    assert f["sent"] < N_PUBLISH
    assert f["lost"] == 0 and f["duplicated"] == 0 and f["unexpected_in_queue"] == 0
    assert f["confirmed"] + f["reported_unconfirmed"] == f["sent"]


@pytest.mark.parametrize(("signum", "code"), SIGNALS)
def test_signal_while_exec_runs_finishes_and_acks_it(signum, code, rabbit_up, rabbit, unique_name, mqcli_bg, tmp_path):
    q = rabbit.queue(unique_name("sigexec"))
    rabbit.publish(q, "m0", "m1", "m2")
    started, done = tmp_path / "started", tmp_path / "done"
    worker = mqcli_bg(
        "rabbit",
        "consume",
        q,
        "--prefetch",
        "3",
        "--exec",
        f'touch {started}; sleep 1; printf "%s\\n" "$(cat)" >> {done}',
    )
    rabbit.wait(started.exists, timeout=30, message="the first --exec command")
    worker.p.send_signal(signum)  # to mqcli only: its command is not signalled
    rc, _out, err = worker.finish(timeout=30)
    assert rc == code, err
    assert done.read_text() == "m0\n"  # the running command finished ...
    assert sorted(b.decode() for b in rabbit.drain(q)) == ["m1", "m2"]  # ... was acknowledged; the rest went back


def test_second_signal_stops_at_once_and_the_message_goes_back(rabbit_up, rabbit, unique_name, mqcli_bg, tmp_path):
    q = rabbit.queue(unique_name("sig2"))
    rabbit.publish(q, "m0")
    started = tmp_path / "started"
    worker = mqcli_bg("rabbit", "consume", q, "--exec", f"touch {started}; sleep 60")
    rabbit.wait(started.exists, timeout=30, message="the --exec command")
    worker.p.send_signal(signal.SIGTERM)
    worker.wait_stderr("stopping after the running --exec command finishes")
    worker.p.send_signal(signal.SIGTERM)
    worker.p.wait(timeout=15)  # not after the 60 s command
    # mqcli does not kill the command; the test does (its process group), so stdout closes.
    os.killpg(worker.p.pid, signal.SIGKILL)
    rc, _out, err = worker.finish(timeout=30)
    assert rc == 143, err
    assert [b.decode() for b in rabbit.drain(q)] == ["m0"]  # not acknowledged: back in the queue


def test_signal_while_rpc_serve_runs_answers_first(rabbit_up, rabbit, unique_name, mqcli_bg, tmp_path):
    q = rabbit.queue(unique_name("sigrpc"))
    started = tmp_path / "started"
    server = mqcli_bg("rabbit", "rpc", "serve", q, "--exec", f"touch {started}; sleep 1; tr a-z A-Z")
    rabbit.wait(lambda: rabbit.consumers(q) == 1, message="rpc serve")
    caller = mqcli_bg("rabbit", "rpc", "call", q, "hello", "--timeout", "30s")
    rabbit.wait(started.exists, timeout=30, message="the --exec command")
    server.p.send_signal(signal.SIGTERM)
    rc, _out, err = server.finish(timeout=30)
    assert rc == 143, err
    rc, out, err = caller.finish(timeout=30)
    assert (rc, out) == (0, b"HELLO\n"), err
    assert rabbit.count(q) == 0


@pytest.mark.parametrize(("signum", "code"), SIGNALS)
def test_signal_while_connecting(signum, code, silent_server, tmp_path):
    from tests.rabbit.conftest import mqcli_env

    env = mqcli_env({"MQCLI_RABBIT_URL": f"amqp://guest:guest@127.0.0.1:{silent_server}/"})
    p = subprocess.Popen(
        [sys.executable, "-m", "mqcli", "--connect-timeout", "60s", "rabbit", "consume", "q"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    time.sleep(1.5)  # python start-up, then stuck in the handshake
    assert p.poll() is None
    sent = time.monotonic()
    p.send_signal(signum)
    _out, err = p.communicate(timeout=30)
    assert p.returncode == code, err
    assert time.monotonic() - sent < 20  # stops at once, not at the connect timeout
    assert b"Traceback" not in err
