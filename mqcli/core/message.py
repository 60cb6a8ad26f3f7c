"""The message model shared by both brokers, and its JSON Lines form.

One `Message` carries a key, a value and headers plus whatever metadata the
broker attached.  `to_json`/`from_json` define the JSON Lines interface: what
`consume --output json` writes is exactly what `produce`/`publish --input
jsonl` reads, so `consume | produce` copies messages faithfully.

JSON form (fields that are empty/None are left out, except `value`):

    {"topic": "t", "partition": 0, "offset": 42, "timestamp": 1764059000000,
     "key": "k", "value": "v", "headers": {"h": "1"}}

* `key`/`value` are UTF-8 text; bytes that are not valid UTF-8 travel as
  base64 with `"key_encoding": "base64"` / `"value_encoding": "base64"`.
  `"value": null` is a null value (a Kafka tombstone).
* `headers` is an object; a header name that occurs more than once (Kafka
  allows it) makes it a list of `[name, value]` pairs instead, preserving
  order.  A bytes header value that is not UTF-8 is `{"base64": "..."}`.
* `timestamp` is milliseconds since the epoch (Kafka) or, for RabbitMQ, the
  `timestamp` property in seconds inside `properties`.
* A key/value decoded with a schema (`--value-format`, core/schema/) is the
  decoded JSON value itself, with `"value_schema": {"id", "subject",
  "version", "type"}` (`key_schema`); reading such a record back keeps it in
  `Message.decoded` so `produce --value-format avro` can re-encode it.
* RabbitMQ adds `exchange`, `routing_key`, `queue`, `redelivered` and
  `properties` (content_type, delivery_mode, message_id, correlation_id,
  reply_to, expiration, priority, type, app_id, user_id, timestamp, ...).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mqcli.core.errors import InputError

HeaderValue = Any  # str | bytes | int | float | bool | None | list | dict (RabbitMQ tables are typed)

# Metadata fields copied verbatim between the model and JSON, in output order.
_META_FIELDS = ("topic", "partition", "offset", "timestamp", "queue", "exchange", "routing_key", "redelivered")
_KNOWN_FIELDS = set(_META_FIELDS) | {
    "key",
    "value",
    "key_encoding",
    "value_encoding",
    "headers",
    "properties",
    "key_schema",
    "value_schema",
}


@dataclass(slots=True)  # slots: cheaper to build, and a million of them may pass through
class Message:
    value: bytes | None
    key: bytes | None = None
    headers: list[tuple[str, HeaderValue]] = field(default_factory=list)
    # Kafka metadata
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    timestamp: int | None = None  # ms since epoch
    # RabbitMQ metadata
    queue: str | None = None
    exchange: str | None = None
    routing_key: str | None = None
    redelivered: bool | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    # Where the message came from in the input (record or line number, 1-based),
    # so failures can name it.  Never serialised.
    line: int | None = None
    # "value"/"key" -> the schema it was decoded with (core/schema/codec.py; None: plain
    # JSON) when that field now holds the decoded JSON text.  JSON output then carries
    # the decoded value itself plus "value_schema"/"key_schema".
    decoded: dict[str, dict[str, Any] | None] | None = None

    def header(self, name: str) -> HeaderValue | None:
        """Last value of header `name`, or None."""
        found = None
        for k, v in self.headers:
            if k == name:
                found = v
        return found

    def headers_dict(self) -> dict[str, HeaderValue]:
        return dict(self.headers)


class DecodedSchema(dict[str, Any]):
    """The schema a key/value was decoded with (a `Message.decoded` entry) when that field
    holds the compact JSON text mqcli wrote itself (`json.dumps(..., ensure_ascii=False,
    separators=(",", ":"))`): the JSON output then embeds the text as it is instead of
    parsing it and writing it again -- the same bytes, once per record less work."""

    __slots__ = ()


def text_or_none(data: bytes | None) -> str | None:
    """Decode bytes as UTF-8 for display, replacing what is not valid."""
    if data is None:
        return None
    return data.decode("utf-8", errors="replace")


def header_text(value: HeaderValue) -> str:
    """A header value as text (for templates, --match and environment variables)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return compact_json(_jsonable(value))
    return str(value)


def _encode_bytes(data: bytes) -> tuple[str, bool]:
    """(text, is_base64)."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), True


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        text, b64 = _encode_bytes(value)
        return {"base64": text} if b64 else text
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    # datetime, Decimal and other AMQP table types: their text form.
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _from_jsonable_header(value: Any) -> HeaderValue:
    if isinstance(value, dict) and set(value) == {"base64"} and isinstance(value["base64"], str):
        return base64.b64decode(value["base64"], validate=True)
    return value


def to_json_obj(msg: Message) -> dict[str, Any]:
    obj = _plain_obj(msg)
    if msg.decoded is not None:
        _put_decoded(obj, msg)
    return obj


def _plain_obj(msg: Message) -> dict[str, Any]:
    """to_json_obj without the decoded fields put in."""
    obj: dict[str, Any] = {}
    for name in _META_FIELDS:
        v = getattr(msg, name)
        if v is not None:
            obj[name] = v
    if msg.key is not None:
        obj["key"], b64 = _encode_bytes(msg.key)
        if b64:
            obj["key_encoding"] = "base64"
    if msg.value is None:
        obj["value"] = None
    else:
        obj["value"], b64 = _encode_bytes(msg.value)
        if b64:
            obj["value_encoding"] = "base64"
    if msg.headers:
        names = [k for k, _ in msg.headers]
        if len(set(names)) == len(names):
            obj["headers"] = {k: _jsonable(v) for k, v in msg.headers}
        else:
            obj["headers"] = [[k, _jsonable(v)] for k, v in msg.headers]
    if msg.properties:
        obj["properties"] = _jsonable(msg.properties)
    return obj


def _put_decoded(obj: dict[str, Any], msg: Message, placeholders: dict[str, str] | None = None) -> None:
    """The decoded key/value as JSON values, with the schema each was decoded with (with
    `placeholders`: the fields that hold mqcli's own compact text get those strings instead)."""
    for name, schema in msg.decoded.items() if msg.decoded else ():
        data = getattr(msg, name)
        if data is None:
            continue
        obj[name] = placeholders[name] if placeholders is not None else _json_module().loads(data)
        obj.pop(f"{name}_encoding", None)
        if schema is not None:
            obj[f"{name}_schema"] = schema


# json is imported on first use, not with this module: a one-message produce or consume
# of plain text never needs it (issue 15: ~5 M instructions of a ~400 M run).
_json: Any = None
# json.dumps(obj, ensure_ascii=False, separators=(",", ":")) with its encoder made once
# (json.dumps with options builds one per call: once per record written).
_compact: Callable[[Any], str] | None = None


def _json_module() -> Any:
    """The json module, imported (and the compact encoder made) on the first call."""
    global _json, _compact
    if _json is None:
        import json

        _compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        _json = json
    return _json


def _encoder() -> Callable[[Any], str]:
    _json_module()
    assert _compact is not None
    return _compact


def compact_json(obj: Any) -> str:
    """json.dumps(obj, ensure_ascii=False, separators=(",", ":")), with the encoder made once."""
    return (_compact or _encoder())(obj)


# Stand-ins for embedded texts: a NUL, which JSON always writes as \u0000, cannot come out
# of json.dumps as a bare NUL, so each stand-in's JSON form is found where it was put
# (and, should a header or key happen to hold the same string, the record is written
# the long way).
_PLACEHOLDERS = {"key": "\x00mqcli-decoded-key\x00", "value": "\x00mqcli-decoded-value\x00"}
# Their json.dumps forms, written out (a NUL is \u0000): tests/core check them against json.dumps.
_PLACEHOLDER_JSON = {"key": '"\\u0000mqcli-decoded-key\\u0000"', "value": '"\\u0000mqcli-decoded-value\\u0000"'}


def _embedded(msg: Message) -> str | None:
    """The JSON Lines record of a message whose decoded fields all hold mqcli's compact JSON
    text (`DecodedSchema`), with those texts embedded as they are; None: the long way."""
    assert msg.decoded is not None
    for name, schema in msg.decoded.items():
        if type(schema) is not DecodedSchema or name not in _PLACEHOLDERS:
            return None
    obj = _plain_obj(msg)
    _put_decoded(obj, msg, _PLACEHOLDERS)
    text = (_compact or _encoder())(obj)
    for name in msg.decoded:
        data: bytes | None = getattr(msg, name)
        if data is None:
            continue
        stand_in = _PLACEHOLDER_JSON[name]
        if text.count(stand_in) != 1:
            return None
        text = text.replace(stand_in, data.decode("utf-8"), 1)
    return text


def to_json(msg: Message) -> str:
    """One JSON Lines record (no trailing newline)."""
    if msg.decoded is not None:
        text = _embedded(msg)
        if text is not None:
            return text
    return (_compact or _encoder())(to_json_obj(msg))


def _decode_field(obj: dict[str, Any], name: str, line: int | None) -> bytes | None:
    value = obj.get(name)
    encoding = obj.get(f"{name}_encoding")
    if value is None:
        if encoding is not None and name == "key":
            raise _bad(line, f"'{name}_encoding' given without '{name}'")
        return None
    if not isinstance(value, str):
        # Numbers, objects and lists as values: their compact JSON text, so
        # `{"value": {"id": 1}}` sends the object itself.
        if encoding is not None:
            raise _bad(line, f"'{name}' must be a string when '{name}_encoding' is given")
        import json

        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    if encoding is None or encoding in ("utf-8", "utf8", "text"):
        return value.encode("utf-8")
    if encoding == "base64":
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            raise _bad(line, f"'{name}' is not valid base64") from None
    raise _bad(line, f"unknown {name}_encoding {encoding!r} (use base64 or utf-8)")


def _bad(line: int | None, why: str) -> InputError:
    where = f"line {line}: " if line is not None else ""
    return InputError(f"invalid JSON Lines input: {where}{why}")


def from_json_obj(obj: Any, line: int | None = None) -> Message:
    if not isinstance(obj, dict):
        raise _bad(line, "expected a JSON object")
    unknown = set(obj) - _KNOWN_FIELDS
    if unknown:
        raise _bad(line, f"unknown field(s) {', '.join(sorted(unknown))}")
    if "value" not in obj:
        raise _bad(line, "missing 'value' (use null for a null value)")
    msg = Message(value=_decode_field(obj, "value", line), key=_decode_field(obj, "key", line), line=line)
    headers = obj.get("headers")
    try:
        if isinstance(headers, dict):
            msg.headers = [(str(k), _from_jsonable_header(v)) for k, v in headers.items()]
        elif isinstance(headers, list):
            for pair in headers:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                    raise _bad(line, "'headers' list items must be [name, value] pairs")
                msg.headers.append((pair[0], _from_jsonable_header(pair[1])))
        elif headers is not None:
            raise _bad(line, "'headers' must be an object or a list of [name, value] pairs")
    except binascii.Error:
        raise _bad(line, "a header's base64 value is not valid base64") from None
    for name, kind in (
        ("topic", str),
        ("partition", int),
        ("offset", int),
        ("timestamp", int),
        ("queue", str),
        ("exchange", str),
        ("routing_key", str),
        ("redelivered", bool),
    ):
        v = obj.get(name)
        if v is None:
            continue
        if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
            raise _bad(line, f"'{name}' must be {'an integer' if kind is int else 'a ' + kind.__name__}")
        if name == "partition" and isinstance(v, int) and v < 0:
            # librdkafka reads -1 as "unassigned" and would pick a partition itself.
            raise _bad(line, "'partition' must be 0 or more")
        setattr(msg, name, v)
    for name in ("key", "value"):
        schema = obj.get(f"{name}_schema")
        if schema is not None:
            # What `consume -o json` wrote for a decoded field: `produce --{name}-format avro` re-encodes with it.
            if not (isinstance(schema, dict) and isinstance(schema.get("id"), int)):
                raise _bad(line, f"'{name}_schema' must be an object with an integer 'id'")
            msg.decoded = {**(msg.decoded or {}), name: schema}
    props = obj.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            raise _bad(line, "'properties' must be an object")
        msg.properties = dict(props)
    return msg


def from_json(text: str | bytes, line: int | None = None) -> Message:
    json = _json if _json is not None else _json_module()
    try:
        obj = json.loads(text)
    except UnicodeDecodeError:
        raise _bad(line, "not valid UTF-8") from None
    except json.JSONDecodeError as e:
        raise _bad(line, e.msg) from None
    return from_json_obj(obj, line)
