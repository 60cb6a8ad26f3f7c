"""A plain pika loop reading a RabbitMQ stream over AMQP 0.9.1, run as a
measured subprocess: the library baseline for `mqcli rabbit consume STREAM
--offset first` (issue 16).

  stream_helper.py consume URL STREAM COUNT [PREFETCH]   COUNT bodies -> stdout, one line each

Streams need a prefetch and manual acknowledgements (they only give the broker
credit); as mqcli, prefetch 100 and one multiple-ack per PREFETCH/4 messages.
"""

from __future__ import annotations

import sys

import pika


def consume(url: str, stream: str, count: int, prefetch: int) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=prefetch)
    out = sys.stdout.buffer
    seen = 0
    every = max(1, prefetch // 4)
    for method, _props, body in ch.consume(stream, arguments={"x-stream-offset": "first"}):
        out.write(body + b"\n")
        seen += 1
        if seen % every == 0 or seen >= count:
            ch.basic_ack(method.delivery_tag, multiple=True)
        if seen >= count:
            break
    out.flush()
    ch.cancel()
    conn.close()
    return 0


if __name__ == "__main__":
    verb, url, stream, n, *rest = sys.argv[1:]
    if verb != "consume":
        print(f"unknown verb {verb}", file=sys.stderr)
        sys.exit(2)
    sys.exit(consume(url, stream, int(n), int(rest[0]) if rest else 100))
