"""pika deliveries <-> `Message`, and `Message` properties -> pika BasicProperties.

`properties` in the JSON form carries the AMQP basic properties except
headers (those are the message's `headers`), with the names pika uses.
"""

from __future__ import annotations

import decimal
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
