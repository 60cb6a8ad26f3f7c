"""The native stream engine's pure parts (mqcli.core.rabbit.stream_native): the AMQP 1.0
<-> Message mapping, the engine choice, --from/--until; no broker."""

from __future__ import annotations

import datetime

import pytest

from mqcli.cli.rabbit._streams import stream_start
from mqcli.core.config.settings import RabbitSettings
from mqcli.core.errors import ConfigError, InputError, UsageError
from mqcli.core.message import Message
from mqcli.core.rabbit import stream_native
from mqcli.core.rabbit.stream_native import amqp_fields, offset_spec, resolve, to_message


def test_to_message_maps_what_rabbitmq_wrote_for_an_amqp_091_message() -> None:
    # What RabbitMQ 3.10 stores for basic.publish("", "s", props) (seen on the real broker).
    msg = to_message(
        b"two",
        {
            "message_id": b"m2",
            "reply_to": b"r",
            "correlation_id": b"c",
            "content_type": b"text/plain",
            "creation_time": 1700000000000,
        },
        {b"x-basic-type": b"t", b"x-basic-app-id": b"ap", b"a": 1, b"b": b"x", b"c": True, b"bin": b"\xff"},
        {
            b"x-routing-key": b"s",
            b"x-exchange": b"",
            b"x-basic-priority": 3,
            b"x-basic-delivery-mode": 2,
            b"x-basic-expiration": b"60000",
        },
        offset=20,
        queue="s",
    )
    assert msg.value == b"two"
    assert msg.offset == 20 and msg.queue == "s" and msg.exchange == "" and msg.routing_key == "s"
    assert msg.redelivered is False
    # Headers as pika gives them: text when UTF-8, bytes otherwise; the offset header last.
    assert msg.headers == [("a", 1), ("b", "x"), ("c", True), ("bin", b"\xff"), ("x-stream-offset", 20)]
    # In the AMQP engine's order (PROPERTY_TYPES), seconds for the timestamp.
    assert list(msg.properties.items()) == [
        ("content_type", "text/plain"),
        ("delivery_mode", 2),
        ("priority", 3),
        ("correlation_id", "c"),
        ("reply_to", "r"),
        ("expiration", "60000"),
        ("message_id", "m2"),
        ("timestamp", 1700000000),
        ("type", "t"),
        ("app_id", "ap"),
    ]


def test_to_message_of_a_bare_message() -> None:
    msg = to_message(b"1", None, None, None, offset=0, queue="s")
    assert (msg.value, msg.headers, msg.properties, msg.exchange) == (b"1", [("x-stream-offset", 0)], {}, None)


def test_amqp_fields_write_what_rabbitmq_writes_and_read_back_the_same() -> None:
    msg = Message(value=b"v", headers=[("h", "1")], properties={"message_id": "m", "priority": 4}, line=3)
    fields = amqp_fields(
        msg, {"content_type": "text/plain", "delivery_mode": 2, "type": "t"}, [("d", 5)], stream="s", timestamp_now=True
    )
    assert fields["properties"]["message_id"] == b"m" and fields["properties"]["content_type"] == b"text/plain"
    assert fields["properties"]["creation_time"] % 1000 == 0
    assert fields["message_annotations"] == {
        "x-exchange": "",
        "x-routing-key": "s",
        "x-basic-priority": 4,
        "x-basic-delivery-mode": 2,
    }
    assert fields["application_properties"] == {"x-basic-type": "t", "d": 5, "h": "1"}
    back = to_message(
        b"v", fields["properties"], fields["application_properties"], fields["message_annotations"], offset=7, queue="s"
    )
    assert back.properties["message_id"] == "m" and back.properties["priority"] == 4 and back.properties["type"] == "t"
    assert back.headers == [("d", 5), ("h", "1"), ("x-stream-offset", 7)]
    assert (back.exchange, back.routing_key) == ("", "s")


def test_amqp_fields_generate_a_message_id_and_check_properties_as_amqp_does() -> None:
    fields = amqp_fields(Message(value=b"v"), {}, [], stream="s", generate_message_id=True)
    assert len(fields["properties"]["message_id"]) == 36
    with pytest.raises(InputError, match=r"line 9: priority must be 0\.\.255"):
        amqp_fields(Message(value=b"v", properties={"priority": 300}, line=9), {}, [], stream="s")


def test_offset_spec() -> None:
    from rstream import OffsetType

    assert offset_spec("first").offset_type is OffsetType.FIRST
    assert offset_spec("next").offset_type is OffsetType.NEXT
    assert (offset_spec(42).offset_type, offset_spec(42).offset) == (OffsetType.OFFSET, 42)
    t = datetime.datetime(2027, 1, 1, tzinfo=datetime.timezone.utc)
    assert (offset_spec(t).offset_type, offset_spec(t).offset) == (OffsetType.TIMESTAMP, int(t.timestamp() * 1000))
    # --from: to the millisecond, whatever --offset said.
    assert offset_spec("first", 1_800_000_000_123).offset == 1_800_000_000_123


def test_engine_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = RabbitSettings()
    assert resolve(settings) == "amqp"  # the default, whatever is installed
    assert resolve(settings, " Native ") == "native"
    assert resolve(RabbitSettings(stream_engine="native")) == "native"
    assert resolve(RabbitSettings(stream_engine="native"), "amqp") == "amqp"  # the flag wins
    with pytest.raises(UsageError, match="invalid --stream-engine 'fast'"):
        resolve(settings, "fast")
    monkeypatch.setattr(stream_native, "available", lambda: False)
    with pytest.raises(UsageError, match="needs the rstream package"):
        resolve(settings, "native")
    with pytest.raises(ConfigError, match=r"rabbit\.stream_engine is native"):
        resolve(RabbitSettings(stream_engine="native"))


def test_stream_start() -> None:
    assert stream_start("first", None, None, "amqp") == ("first", None, None)
    # --from over AMQP is --offset TIME (epoch ms); natively it stays milliseconds.
    assert stream_start(None, "1800000000123", None, "amqp") == ("1800000000123", None, None)
    assert stream_start(None, "1800000000123", "1800000009000", "native") == (None, 1800000000123, 1800000009000)
    for args, text in [
        (("first", "-1h", None, "native"), "give --offset or --from, not both"),
        (("first", None, "-1h", "amqp"), "--until on a stream needs --stream-engine native"),
        ((None, None, "-1h", "native"), "--until applies to a stream read"),
        ((None, "soon", None, "native"), "invalid time 'soon'"),
    ]:
        with pytest.raises(UsageError, match=text):
            stream_start(*args)
