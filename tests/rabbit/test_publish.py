"""`mqcli rabbit publish` against the real broker."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pika


def test_publish_arguments_to_queue_persistent_text(cli, amqp, queue):
    q = queue()
    r = cli("rabbit", "publish", "--queue", q, "one", "two")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""  # stdout is data only
    assert "confirmed 2, failed 0" in r.stderr
    got = amqp.get_all(q)
    assert [b for _m, _p, b in got] == [b"one", b"two"]
    props = got[0][1]
    assert props.delivery_mode == 2
    assert props.content_type == "text/plain"


def test_publish_stdin_lines_and_delimiter(cli, amqp, queue):
    q = queue()
    assert cli("rabbit", "publish", "--queue", q, input=b"a\nb\nc\n").exit_code == 0
    assert cli("rabbit", "publish", "--queue", q, "-D", r"\0", input=b"x\ny\0z").exit_code == 0
    assert cli("rabbit", "publish", "--queue", q, "--input", "whole", input=b"w1\nw2\n").exit_code == 0
    assert amqp.bodies(q) == ["a", "b", "c", "x\ny", "z", "w1\nw2\n"]


def test_publish_many_pipelined(cli, amqp, queue):
    q = queue()
    data = "".join(f"{i}\n" for i in range(3000)).encode()
    r = cli("rabbit", "publish", "--queue", q, "--confirm-window", "64", input=data)
    assert r.exit_code == 0, r.stderr
    assert "confirmed 3000, failed 0" in r.stderr
    assert amqp.bodies(q) == [str(i) for i in range(3000)]


def test_large_bodies_unconfirmed_stay_within_the_byte_bound(cli, amqp, queue, monkeypatch):
    """Bodies over LARGE_BODY go out only while those unconfirmed stay within
    MAX_UNCONFIRMED_BYTES (here 1 MiB): the window (1,024) alone would hold all 12."""
    from mqcli.core.rabbit import publish

    monkeypatch.setattr(publish, "MAX_UNCONFIRMED_BYTES", 1 << 20)
    held: list[int] = []
    add = publish.Unconfirmed.add

    def spy(self, msg, size=0):
        tag = add(self, msg, size)
        held.append(self.large_bytes)
        return tag

    monkeypatch.setattr(publish.Unconfirmed, "add", spy)
    q = queue()
    bodies = [bytes([97 + i]) * 400_000 for i in range(12)]
    r = cli("rabbit", "publish", "--queue", q, input=b"\n".join(bodies) + b"\n")
    assert r.exit_code == 0, r.stderr
    assert "confirmed 12, failed 0" in r.stderr
    assert len(held) == 12 and max(held) == 800_000  # two at a time: a third would pass 1 MiB
    assert [b for _m, _p, b in amqp.get_all(q)] == bodies


def test_publish_properties_and_typed_headers(cli, amqp, queue):
    q = queue()
    r = cli(
        "rabbit",
        "publish",
        "--queue",
        q,
        "body",
        "-H",
        "x-delay=5000",
        "-H",
        "flag=true",
        "-H",
        "ratio=1.5",
        "-H",
        "name=bob",
        "-H",
        'id="42"',
        "--content-type",
        "application/json",
        "--transient",
        "--message-id",
        "m-1",
        "--correlation-id",
        "c-1",
        "--reply-to",
        "replies",
        "--expiration",
        "60s",
        "--priority",
        "5",
        "--type",
        "order.created",
        "--app-id",
        "ci",
        "--timestamp",
    )
    assert r.exit_code == 0, r.stderr
    [(_m, p, body)] = amqp.get_all(q)
    assert body == b"body"
    assert p.headers == {"x-delay": 5000, "flag": True, "ratio": Decimal("1.5"), "name": "bob", "id": "42"}
    assert isinstance(p.headers["x-delay"], int)
    assert (p.content_type, p.delivery_mode, p.message_id, p.correlation_id) == ("application/json", 1, "m-1", "c-1")
    assert (p.reply_to, p.expiration, p.priority, p.type, p.app_id) == ("replies", "60000", 5, "order.created", "ci")
    assert isinstance(p.timestamp, int) and p.timestamp > 1_700_000_000


def test_generate_message_id(cli, amqp, queue):
    q = queue()
    assert cli("rabbit", "publish", "--queue", q, "--generate-message-id", "a", "b").exit_code == 0
    ids = [p.message_id for _m, p, _b in amqp.get_all(q)]
    assert len(set(ids)) == 2 and all(len(i) == 36 for i in ids)


def test_missing_queue_is_not_found_and_nothing_declared(cli, amqp, unique_name):
    name = unique_name("missing")
    r = cli("rabbit", "publish", "--queue", name, "x")
    assert r.exit_code == 6
    assert name in r.stderr and "Traceback" not in r.stderr
    r = cli("rabbit", "publish", "--exchange", name, "--routing-key", "k", "x")
    assert r.exit_code == 6


def test_declare_queue_and_exchange(cli, amqp, unique_name):
    q = unique_name("decl")
    amqp.queues.append(q)
    r = cli("rabbit", "publish", "--queue", q, "--declare", "hello")
    assert r.exit_code == 0, r.stderr
    assert amqp.bodies(q) == ["hello"]
    x = unique_name("declx")
    amqp.exchanges.append(x)
    r = cli("rabbit", "publish", "--exchange", x, "--exchange-type", "fanout", "--declare", "hi")
    assert r.exit_code == 0, r.stderr
    amqp.channel().exchange_declare(x, exchange_type="fanout", durable=True, passive=True)


def test_declare_never_fights_existing_queue(cli, amqp, queue):
    # A queue with arguments: --declare must use it as it is, not redeclare it (no PRECONDITION_FAILED).
    q = queue("ttl", **{"x-message-ttl": 60000})
    r = cli("rabbit", "publish", "--queue", q, "--declare", "kept")
    assert r.exit_code == 0, r.stderr
    assert amqp.bodies(q) == ["kept"]


def test_mandatory_unroutable_reports_each_line_and_fails(cli, exchange):
    x = exchange("direct")
    r = cli("rabbit", "publish", "--exchange", x, "--routing-key", "nobody", "--mandatory", input=b"a\nb\n")
    assert r.exit_code == 1
    assert "line 1" in r.stderr and "line 2" in r.stderr and "NO_ROUTE" in r.stderr
    # Without --mandatory the broker drops it silently, as AMQP says.
    assert cli("rabbit", "publish", "--exchange", x, "--routing-key", "nobody", "a").exit_code == 0


def test_mandatory_routable_is_ok(cli, amqp, exchange, queue):
    x = exchange("direct")
    q = queue()
    amqp.channel().queue_bind(q, x, routing_key="k")
    r = cli("rabbit", "publish", "--exchange", x, "--routing-key", "k", "--mandatory", "a")
    assert r.exit_code == 0, r.stderr
    assert amqp.bodies(q) == ["a"]


def test_jsonl_honours_properties_headers_and_routing_key(cli, amqp, exchange, queue):
    x = exchange("direct")
    qa, qb = queue("a"), queue("b")
    amqp.channel().queue_bind(qa, x, routing_key="a")
    amqp.channel().queue_bind(qb, x, routing_key="b")
    lines = [
        {
            "routing_key": "a",
            "value": "to-a",
            "headers": {"n": 1, "bin": {"base64": "AAE="}},
            "properties": {"content_type": "application/json", "priority": 3, "message_id": "id-a"},
        },
        {"routing_key": "b", "value": "to-b", "properties": {"delivery_mode": 1}},
    ]
    data = "".join(json.dumps(o) + "\n" for o in lines).encode()
    r = cli("rabbit", "publish", "--exchange", x, "--input", "jsonl", input=data)
    assert r.exit_code == 0, r.stderr
    [(_m, pa, ba)] = amqp.get_all(qa)
    [(_m, pb, bb)] = amqp.get_all(qb)
    assert (ba, bb) == (b"to-a", b"to-b")
    assert pa.headers["n"] == 1 and pa.headers["bin"] == b"\x00\x01"
    assert (pa.content_type, pa.priority, pa.message_id, pa.delivery_mode) == (
        "application/json",
        3,
        "id-a",
        None,
    )  # copied as is
    assert pb.delivery_mode == 1


def test_jsonl_without_target_uses_message_destination(cli, amqp, queue):
    q = queue()
    data = json.dumps({"exchange": "", "routing_key": q, "value": "back"}).encode() + b"\n"
    r = cli("rabbit", "publish", "--input", "jsonl", input=data)
    assert r.exit_code == 0, r.stderr
    assert amqp.bodies(q) == ["back"]


def test_invalid_input_after_valid_lines(cli, amqp, queue):
    q = queue()
    r = cli("rabbit", "publish", "--queue", q, "--input", "jsonl", input=b'{"value":"ok"}\nnot json\n')
    assert r.exit_code == 7
    assert "line 2" in r.stderr
    assert amqp.bodies(q) == ["ok"]  # what came before the bad line was sent and confirmed
    r = cli(
        "rabbit",
        "publish",
        "--queue",
        q,
        "--input",
        "jsonl",
        "--skip-invalid",
        input=b'{"value":"a"}\n{bad\n{"value":"b"}\n',
    )
    assert r.exit_code == 0
    assert amqp.bodies(q) == ["a", "b"]


def test_usage_errors(cli, queue):
    q = queue()
    assert cli("rabbit", "publish", "x").exit_code == 2
    assert cli("rabbit", "publish", "--queue", q, "--exchange", "e", "x").exit_code == 2
    assert cli("rabbit", "publish", "--queue", q, "--mandatory", "--no-confirm", "x").exit_code == 2
    assert cli("rabbit", "publish", "--queue", q, "--expiration", "soon", "x").exit_code == 2


def test_no_confirm(cli, amqp, queue):
    q = queue()
    r = cli("rabbit", "publish", "--queue", q, "--no-confirm", "a")
    assert r.exit_code == 0
    assert amqp.wait_count(q, 1) == 1


def test_counts_come_in_batches_but_add_up(cli, amqp, queue):
    # Confirms are counted a basic.ack at a time, and without confirms a
    # socket write's messages together: the summary still counts each one.
    data = "".join(f"{i}\n" for i in range(3000)).encode()  # 10,890 bytes of bodies
    for flag, verb in [([], "confirmed"), (["--no-confirm"], "published")]:
        q = queue()
        r = cli("rabbit", "publish", "--queue", q, *flag, input=data)
        assert r.exit_code == 0, r.stderr
        assert f"{verb} 3000, failed 0, 10.9 kB" in r.stderr
        assert amqp.wait_count(q, 3000) == 3000


def test_unreachable_broker_names_host_and_profile(cli):
    r = cli(
        "--connect-timeout",
        "2s",
        "rabbit",
        "publish",
        "--queue",
        "q",
        "x",
        env={"MQCLI_RABBIT_URL": "amqp://guest:guest@127.0.0.1:1/"},
    )
    assert r.exit_code == 4
    assert "127.0.0.1:1" in r.stderr and "local" in r.stderr


def test_pika_properties_roundtrip_class():
    # The property names mqcli writes are pika's BasicProperties attributes.
    from mqcli.core.rabbit.convert import PROPERTY_TYPES

    for name in PROPERTY_TYPES:
        assert hasattr(pika.BasicProperties(), name)


def test_nacked_messages_are_reported_with_their_line(cli, amqp, queue):
    # A full queue that rejects publishes: the broker nacks what does not fit.
    q = queue("full", **{"x-max-length": 2, "x-overflow": "reject-publish"})
    r = cli("rabbit", "publish", "--queue", q, input=b"a\nb\nc\nd\n")
    assert r.exit_code == 1
    assert "line 3" in r.stderr and "line 4" in r.stderr and "nack" in r.stderr
    assert "line 1" not in r.stderr
    assert "confirmed 2, failed 2" in r.stderr
    assert amqp.bodies(q) == ["a", "b"]


def test_mandatory_mixed_stream_reports_only_the_returned_lines(cli, amqp, exchange, queue):
    # Returned and confirmed messages interleave within one confirm window:
    # each basic.return must be matched to its own pending message.
    x = exchange("direct")
    q = queue()
    amqp.channel().queue_bind(q, x, routing_key="k")
    lines = [{"routing_key": "k" if i % 3 else "nobody", "value": f"m{i}"} for i in range(1, 61)]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    r = cli(
        "rabbit", "publish", "--exchange", x, "--mandatory", "--input", "jsonl", "--confirm-window", "8", input=data
    )
    assert r.exit_code == 1
    unroutable = [i for i in range(1, 61) if i % 3 == 0]
    reported = [int(n) for n in re.findall(r"not delivered: line (\d+): returned unroutable", r.stderr)]
    assert sorted(reported) == unroutable
    assert f"confirmed {60 - len(unroutable)}, failed {len(unroutable)}" in r.stderr
    assert amqp.bodies(q) == [f"m{i}" for i in range(1, 61) if i % 3]


def test_publisher_keeps_unconfirmed_in_input_order(queue):
    from mqcli.core.config import RabbitSettings
    from mqcli.core.message import Message
    from mqcli.core.rabbit.client import RabbitClient
    from mqcli.core.rabbit.publish import Publisher, PublishSettings

    q = queue()
    ok: list[int | None] = []
    with RabbitClient(RabbitSettings(hosts=(("127.0.0.1", 5672),))) as client:
        publisher = Publisher(
            client, PublishSettings(exchange="", routing_key=q), lambda m: ok.append(m.line), lambda m, why: None
        )
        first = [Message(b"c%d" % i, line=i) for i in range(1, 4)]
        for m in first:
            publisher.publish(m)
        publisher.finish()  # every confirm in, however the broker grouped them
        assert ok == [1, 2, 3]
        later = [Message(b"p%d" % i, line=i) for i in range(4, 9)]
        for m in later:
            publisher.publish(m, flush=False)  # not even sent: surely unconfirmed
        assert all(publisher.is_pending(m) for m in later)
        assert not publisher.is_pending(first[0])
        assert publisher.take_pending() == later  # as for a re-send after a reconnect
        assert not publisher.is_pending(later[0]) and publisher.take_pending() == []
        publisher.close()
