"""pika deliveries <-> `Message`, and `Message` properties -> pika BasicProperties.

`properties` in the JSON form carries the AMQP basic properties except
headers (those are the message's `headers`), with the names pika uses.
"""

from __future__ import annotations

import decimal
import struct
from typing import Any

import pika

from mqcli.core.errors import InputError
from mqcli.core.message import Message

# Basic properties other than headers, with the JSON type each must have.
PROPERTY_TYPES: dict[str, type | tuple[type, ...]] = {
    "content_type": str,
    "content_encoding": str,
    "delivery_mode": int,
    "priority": int,
    "correlation_id": str,
    "reply_to": str,
    "expiration": (str, int),
    "message_id": str,
    "timestamp": int,
    "type": str,
    "user_id": str,
    "app_id": str,
    "cluster_id": str,
}

# Header set by `rpc serve` on an error reply; the caller prints it and fails.
ERROR_HEADER = "x-mqcli-error"


def from_delivery(method: Any, props: pika.BasicProperties, body: bytes, *, queue: str | None = None) -> Message:
    """A Message from a basic.deliver / basic.get-ok."""
    properties, headers, offset = delivery_fields(props)
    return Message(
        value=body,
        headers=headers,
        offset=offset,
        queue=queue,
        exchange=getattr(method, "exchange", None),
        routing_key=getattr(method, "routing_key", None),
        redelivered=getattr(method, "redelivered", None),
        properties=properties,
    )


def delivery_fields(props: pika.BasicProperties) -> tuple[dict[str, Any], list[tuple[str, Any]], int | None]:
    """A delivery's properties (without headers), its headers, and its stream offset (or None)."""
    properties: dict[str, Any] = {}
    for name in PROPERTY_TYPES:
        v = getattr(props, name, None)
        if v is not None:
            properties[name] = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
    headers = list((props.headers or {}).items())
    # A stream delivery's offset (header x-stream-offset) is its "offset", as a Kafka record's.
    offset = (props.headers or {}).get("x-stream-offset")
    return properties, headers, offset if isinstance(offset, int) and not isinstance(offset, bool) else None


def _where(msg: Message) -> str:
    return f"line {msg.line}: " if msg.line is not None else ""


def build_properties(
    msg: Message, defaults: dict[str, Any], default_headers: list[tuple[str, Any]]
) -> pika.BasicProperties:
    """Properties for publishing `msg`: the command-line `defaults`, overridden by
    the message's own (from JSON Lines), which are validated here."""
    props: dict[str, Any] = dict(defaults)
    for name, value in msg.properties.items():
        kind = PROPERTY_TYPES.get(name)
        if kind is None:
            raise InputError(f"{_where(msg)}unknown property {name!r} (known: {', '.join(PROPERTY_TYPES)})")
        if value is None:
            props.pop(name, None)
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InputError(f"{_where(msg)}property {name!r} has the wrong type ({type(value).__name__})")
        props[name] = str(value) if name == "expiration" else value
    if "priority" in props and not 0 <= props["priority"] <= 255:
        raise InputError(f"{_where(msg)}priority must be 0..255")
    if "delivery_mode" in props and props["delivery_mode"] not in (1, 2):
        raise InputError(f"{_where(msg)}delivery_mode must be 1 (transient) or 2 (persistent)")
    headers: dict[str, Any] = dict(default_headers)
    # Tables have unique names: with duplicates, the last value wins.
    headers.update(msg.headers)
    return pika.BasicProperties(headers={k: table_value(v) for k, v in headers.items()} or None, **props)


# Property flag bits (AMQP 0-9-1 basic class; pika.spec.BasicProperties.FLAG_*),
# and the kind each property's value is encoded as.  A higher bit comes first.
_PROPERTY_FLAGS: dict[str, tuple[int, str]] = {
    "content_type": (1 << 15, "short"),
    "content_encoding": (1 << 14, "short"),
    "delivery_mode": (1 << 12, "mode"),
    "priority": (1 << 11, "octet"),
    "correlation_id": (1 << 10, "short"),
    "reply_to": (1 << 9, "short"),
    "expiration": (1 << 8, "short"),
    "message_id": (1 << 7, "short"),
    "timestamp": (1 << 6, "timestamp"),
    "type": (1 << 5, "short"),
    "user_id": (1 << 4, "short"),
    "app_id": (1 << 3, "short"),
    "cluster_id": (1 << 2, "short"),
}
_FLAG_HEADERS = 1 << 13
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_INT = struct.Struct(">ci")
_LONG = struct.Struct(">cq")


def encode_properties(properties: dict[str, Any], headers: list[tuple[str, Any]]) -> bytes | None:
    """The content header's property bytes (flags, then the fields) that
    build_properties(msg, {}, []) would give pika to encode, for a message's
    own `properties` and `headers` -- or None when they need build_properties:
    a name or value it would refuse or convert (an unknown property, a wrong
    type, an expiration given as a number, a value out of range, a string too
    long for its field).  Without pika's objects: per message they cost more
    CPU than the rest of a Kafka -> RabbitMQ move (tests/core/test_rabbit_encode
    compares the bytes with pika's)."""
    flags = 0
    fields: dict[int, bytes] = {}
    for name, value in properties.items():
        if value is None:
            continue  # no such property (build_properties drops it)
        spec = _PROPERTY_FLAGS.get(name)
        if spec is None:
            return None
        flag, kind = spec
        if kind == "short":
            if type(value) is not str:
                return None
            raw = value.encode("utf-8")
            if len(raw) > 255:
                return None
            fields[flag] = bytes((len(raw),)) + raw
        elif kind == "timestamp":
            if type(value) is not int or not 0 <= value < 1 << 64:
                return None
            fields[flag] = _U64.pack(value)
        else:  # delivery_mode (1 or 2), priority (0..255): one octet
            if type(value) is not int or not (value in (1, 2) if kind == "mode" else 0 <= value <= 255):
                return None
            fields[flag] = bytes((value,))
        flags |= flag
    if headers:
        table = _encode_table(headers)
        if table is None:
            return None
        fields[_FLAG_HEADERS] = table
        flags |= _FLAG_HEADERS
    head = _U16.pack(flags)
    if not fields:
        return head
    if len(fields) == 1:
        return head + fields[flags]
    return head + b"".join([fields[f] for f in sorted(fields, reverse=True)])


def _encode_table(headers: list[tuple[str, Any]]) -> bytes | None:
    """`headers` as the AMQP table pika encodes for them (a name that occurs
    twice: the last value, at the first one's place, as build_properties'
    dict), or None when pika would refuse a name."""
    pieces: list[bytes] = []
    for name, value in dict(headers).items() if len(headers) > 1 else headers:
        if type(name) is not str:
            return None
        raw = name.encode("utf-8")
        if len(raw) > 255:
            return None
        pieces.append(bytes((len(raw),)))
        pieces.append(raw)
        kind = type(value)
        if kind is bytes:
            pieces.append(b"x" + _U32.pack(len(value)))
            pieces.append(value)
        elif kind is str:
            raw = value.encode("utf-8")
            pieces.append(b"S" + _U32.pack(len(raw)))
            pieces.append(raw)
        elif kind is int:
            if -(1 << 31) <= value < 1 << 31:
                pieces.append(_INT.pack(b"I", value))
            elif -(1 << 63) <= value < 1 << 63:
                pieces.append(_LONG.pack(b"l", value))
            else:
                return None
        elif value is None:
            pieces.append(b"V")
        else:  # bool, float, Decimal, datetime, table, array...: rarer, pika's own encoding
            from pika.data import encode_value

            try:
                encode_value(pieces, table_value(value))
            except Exception:
                return None  # build_properties and pika then say why
    body = b"".join(pieces)
    return _U32.pack(len(body)) + body


def table_value(value: Any) -> Any:
    """A header value pika can encode: pika has no encoder for floats, so
    they travel as AMQP decimals (exact for the decimal text given)."""
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    if isinstance(value, dict):
        return {str(k): table_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [table_value(v) for v in value]
    return value
