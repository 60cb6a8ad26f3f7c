"""Plain pika loops, run as measured subprocesses: the library baseline that
mqcli's RabbitMQ commands are built on.

  pika_helper.py publish URL QUEUE COUNT [--confirm]   one basic_publish per message
                                                        (--confirm: wait for each)
  pika_helper.py consume URL QUEUE COUNT [PREFETCH]   manual ack, one per message
  pika_helper.py echo URL QUEUE                        RPC echo server (runs until killed)
"""

from __future__ import annotations

import signal
import sys

import pika


def publish(url: str, queue: str, count: int, confirm: bool) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    if confirm:
        # BlockingChannel then waits for the broker's ack inside every basic_publish.
        ch.confirm_delivery()
    props = pika.BasicProperties(delivery_mode=2, content_type="text/plain")
    body = b"x" * 100
    for _ in range(count):
        ch.basic_publish("", queue, body, props)
    conn.close()
    return 0


def consume(url: str, queue: str, count: int, prefetch: int) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=prefetch)
    seen = 0
    out = sys.stdout.buffer
    for method, _props, body in ch.consume(queue):
        out.write(body + b"\n")
        ch.basic_ack(method.delivery_tag)
        seen += 1
        if seen >= count:
            break
    out.flush()
    ch.cancel()
    conn.close()
    return 0


def echo(url: str, queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=100)

    def on_request(ch: pika.adapters.blocking_connection.BlockingChannel, method, props, body: bytes) -> None:  # type: ignore[no-untyped-def]
        ch.basic_publish("", props.reply_to, body, pika.BasicProperties(correlation_id=props.correlation_id))
        ch.basic_ack(method.delivery_tag)

    ch.basic_consume(queue, on_request)
    # Raise out of start_consuming at once (stop_consuming only takes effect
    # at pika's next poll, seconds later).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        ch.start_consuming()
    except SystemExit:
        pass
    try:
        conn.close()
    except Exception:
        pass
    return 0


def main(argv: list[str]) -> int:
    verb, url, queue, *rest = argv
    if verb == "publish":
        return publish(url, queue, int(rest[0]), "--confirm" in rest)
    if verb == "consume":
        return consume(url, queue, int(rest[0]), int(rest[1]) if len(rest) > 1 else 100)
    if verb == "echo":
        return echo(url, queue)
    print(f"unknown verb {verb}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
