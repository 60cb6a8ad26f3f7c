"""`mqcli rabbit rpc call` / `rpc serve` end to end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pika
import pytest

from tests.rabbit.conftest import _params


class PikaServer:
    """A plain pika RPC server in a thread: upper-cases each request.
    With `batch`, it collects that many requests and answers them in reverse
    order, to prove the caller puts answers back in request order."""

    def __init__(self, queue: str, batch: int = 1) -> None:
        self.queue = queue
        self.batch = batch
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def run(self) -> None:
        conn = pika.BlockingConnection(_params())
        ch = conn.channel()
        held = []
        self.ready.set()
        for method, props, body in ch.consume(self.queue, inactivity_timeout=0.1):
            if self.stop.is_set():
                break
            if method is None:
                continue
            held.append((method, props, body))
            if len(held) < self.batch:
                continue
            for m, p, b in reversed(held):
                # A stray reply with a wrong correlation id first: the caller must ignore it.
                ch.basic_publish("", p.reply_to, b"stray", pika.BasicProperties(correlation_id="not-yours"))
                ch.basic_publish("", p.reply_to, b.upper(), pika.BasicProperties(correlation_id=p.correlation_id))
                ch.basic_ack(m.delivery_tag)
            held.clear()
        ch.cancel()
        conn.close()


@pytest.fixture
def pika_server() -> Iterator:
    servers: list[PikaServer] = []

    def start(queue: str, batch: int = 1) -> PikaServer:
        s = PikaServer(queue, batch)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop.set()
        s.thread.join(10)


def test_call_against_plain_pika_server(cli, queue, pika_server):
    q = queue("rpc")
    pika_server(q)
    r = cli("rabbit", "rpc", "call", q, "hello", "--timeout", "10s")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "HELLO\n"


def test_pipelined_requests_answered_in_request_order(cli, queue, pika_server):
    q = queue("rpc")
    pika_server(q, batch=4)
    r = cli("rabbit", "rpc", "call", q, "--timeout", "10s", input=b"a\nb\nc\nd\n")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "A\nB\nC\nD\n"


def test_call_timeout_exit_5(cli, queue):
    q = queue("rpc")  # nobody serves it
    started = time.monotonic()
    r = cli("rabbit", "rpc", "call", q, "x", "--timeout", "500ms")
    assert r.exit_code == 5
    assert time.monotonic() - started < 10


def test_call_missing_queue_exit_6(cli, unique_name):
    assert cli("rabbit", "rpc", "call", unique_name("none"), "x", "--timeout", "1s").exit_code == 6


def test_serve_and_call(cli, queue, start_mqcli):
    q = queue("rpc")
    server = start_mqcli("rabbit", "rpc", "serve", q, "--exec", "read n; echo $((n*n))", "--count", "5")
    r = cli("rabbit", "rpc", "call", q, "--timeout", "20s", input=b"1\n2\n3\n4\n5\n")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "1\n4\n9\n16\n25\n"
    rc, _out, err = server.finish()
    assert rc == 0, err


def test_serve_error_reply(cli, amqp, queue, start_mqcli):
    q = queue("rpc")
    server = start_mqcli("rabbit", "rpc", "serve", q, "--exec", 'test "$(cat)" != bad && echo fine', "--count", "2")
    r = cli("rabbit", "rpc", "call", q, "--timeout", "20s", input=b"good\nbad\n")
    assert r.exit_code == 1
    assert r.stdout == "fine\n"
    assert "line 2" in r.stderr and "exited with status 1" in r.stderr
    rc, _out, err = server.finish()
    assert rc == 0, err
    assert amqp.count(q) == 0  # both requests acknowledged


def test_serve_declare_and_env(cli, amqp, unique_name, start_mqcli):
    q = unique_name("rpcdecl")
    amqp.queues.append(q)
    server = start_mqcli(
        "rabbit", "rpc", "serve", q, "--declare", "--exec", 'echo "$MQCLI_CORRELATION_ID" | wc -c', "--count", "1"
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            amqp.channel().queue_declare(q, passive=True)
            break
        except pika.exceptions.ChannelClosedByBroker:
            time.sleep(0.1)
    r = cli("rabbit", "rpc", "call", q, "x", "--timeout", "20s")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == "37"  # a UUID correlation id and a newline
    assert server.finish()[0] == 0


def test_call_timeout_names_every_unanswered_request(cli, queue):
    q = queue("rpc")  # nobody serves it
    r = cli("rabbit", "rpc", "call", q, "--timeout", "500ms", input=b"a\nb\nc\n")
    assert r.exit_code == 5
    assert "no reply to line 1" in r.stderr
    for line in (1, 2, 3):
        assert f"not answered: line {line}: no reply before mqcli stopped" in r.stderr
    assert "was not sent" not in r.stderr  # the whole input was sent


def test_call_requests_are_transient_text(cli, amqp, queue):
    q = queue("rpc")
    r = cli("rabbit", "rpc", "call", q, "x", "--timeout", "200ms")
    assert r.exit_code == 5
    ((_method, props, body),) = amqp.get_all(q)
    assert body == b"x"
    assert props.content_type == "text/plain" and props.delivery_mode == 1
    assert props.reply_to.startswith("amq.rabbitmq.reply-to") and props.correlation_id
