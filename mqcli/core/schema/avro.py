"""Avro with fastavro, and the JSON mapping mqcli uses for Avro values.

Avro -> JSON (consuming), by the value fastavro decodes:

    null, boolean, int, long, float, double, string   the JSON value itself (NaN, ±Infinity: "NaN", "Infinity", "-Infinity")
    record, map                                        an object; array: a list
    union                                              the branch's value, untagged
    enum                                               the symbol, a string
    bytes, fixed                                       base64 text
    decimal (bytes or fixed)                           the exact number as a string: "12.50"
    uuid                                               the string
    date, time-millis/micros                           ISO-8601: "2026-12-01", "13:45:00.250000"
    timestamp-millis/micros (and local-)               ISO-8601: "2026-12-01T13:45:00.250000+00:00"

JSON -> Avro (producing) reads that same form back, guided by the schema:
base64 for bytes/fixed, a string or a number for a decimal, ISO-8601 text or
the raw number for dates, times and timestamps; a union takes a plain value
(the first branch it fits) or Avro's own JSON form `{"branch.Name": value}`.
A value that does not fit raises `Mismatch` naming the field path.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import io
import json
import math
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from mqcli.core.schema.common import Mismatch, SchemaInvalid

__all__ = ["Mismatch", "Schema", "SchemaInvalid", "from_json", "to_json_text"]

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


# -- decoding: Avro binary -> JSON text ----------------------------------------------


def _json_default(v: object) -> object:
    """The JSON form of what fastavro decodes that json cannot write itself."""
    if isinstance(v, bytes):
        return base64.b64encode(v).decode("ascii")
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, uuid.UUID):
        return str(v)
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _finite(value: Any) -> Any:
    """`value` with NaN and the infinities as the strings JSON has for them (as Protobuf's mapping does)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def to_json_text(value: object) -> str:
    """A decoded Avro value as compact JSON text (see the module's mapping)."""
    try:
        return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a NaN or infinite float (rare: only then is the value walked)
        return json.dumps(_finite(value), default=_json_default, ensure_ascii=False, separators=(",", ":"))


class Schema:
    """A parsed Avro schema: decodes and encodes schemaless bodies."""

    def __init__(self, text: str) -> None:
        import fastavro

        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise SchemaInvalid(f"not JSON: {e.msg}") from None
        self.named: dict[str, Any] = {}
        try:
            self.parsed = fastavro.parse_schema(raw, named_schemas=self.named)
        except Exception as e:  # fastavro raises SchemaParseException, ValueError, KeyError, ...
            raise SchemaInvalid(str(e) or type(e).__name__) from None
        self.text = text
        self._reader: Callable[..., Any] = fastavro.schemaless_reader
        self._writer: Callable[..., Any] = fastavro.schemaless_writer

    @property
    def name(self) -> str | None:
        """The full name of a named top-level type (record, enum, fixed), else None."""
        return self.parsed.get("name") if isinstance(self.parsed, dict) else None

    def decode(self, body: bytes | memoryview) -> object:
        """The value a schemaless Avro body holds (raises on a body that does not decode)."""
        fo = io.BytesIO(body)
        value = self._reader(fo, self.parsed, None)
        if fo.tell() != len(body):
            raise ValueError(f"{len(body) - fo.tell()} byte(s) left over after the value")
        return value

    def encode(self, value: object) -> bytes:
        """The schemaless Avro body of a JSON value (Mismatch when it does not fit)."""
        datum = from_json(self.parsed, value, self.named)
        buf = io.BytesIO()
        try:
            self._writer(buf, self.parsed, datum)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as e:
            # from_json checked the shape; what is left is fastavro's own rule (a decimal's scale...).
            raise Mismatch(".", f"a value fastavro can write ({e})") from None
        return buf.getvalue()


# -- encoding: JSON value -> what fastavro writes -------------------------------------


def _type_name(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    logical = schema.get("logicalType")
    return str(logical or schema.get("name") or schema["type"])


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _b64(value: object, path: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise Mismatch(path, f"{what} as base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise Mismatch(path, f"{what} as base64 text") from None


def _decimal(value: object, path: str, scale: int) -> decimal.Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Mismatch(path, 'decimal (a string such as "12.50")')
    try:
        d = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        raise Mismatch(path, 'decimal (a string such as "12.50")') from None
    if not d.is_finite() or -d.as_tuple().exponent > scale:  # type: ignore[operator]  # finite: int exponent
        raise Mismatch(path, f"decimal with at most {scale} decimal place(s)")
    return d


def _iso(value: object, path: str, kind: str, parse: Callable[[str], Any]) -> Any:
    if _is_int(value):
        return value  # the raw Avro number (days, ms or µs)
    if isinstance(value, str):
        try:
            parsed = parse(value.replace("Z", "+00:00") if kind != "date" else value)
        except ValueError:
            pass
        else:
            if isinstance(parsed, dt.datetime) and parsed.tzinfo is None and not kind.startswith("local"):
                parsed = parsed.replace(tzinfo=dt.timezone.utc)
            return parsed
    raise Mismatch(path, f"{kind} (ISO-8601 text or a number)")


_LOGICAL: dict[str, Callable[[object, str, Mapping[str, Any]], Any]] = {
    "date": lambda v, p, s: _iso(v, p, "date", dt.date.fromisoformat),
    "time-millis": lambda v, p, s: _iso(v, p, "time-millis", dt.time.fromisoformat),
    "time-micros": lambda v, p, s: _iso(v, p, "time-micros", dt.time.fromisoformat),
    "timestamp-millis": lambda v, p, s: _iso(v, p, "timestamp-millis", dt.datetime.fromisoformat),
    "timestamp-micros": lambda v, p, s: _iso(v, p, "timestamp-micros", dt.datetime.fromisoformat),
    "local-timestamp-millis": lambda v, p, s: _iso(v, p, "local-timestamp-millis", dt.datetime.fromisoformat),
    "local-timestamp-micros": lambda v, p, s: _iso(v, p, "local-timestamp-micros", dt.datetime.fromisoformat),
    "decimal": lambda v, p, s: _decimal(v, p, int(s.get("scale", 0))),
}


def from_json(schema: Any, value: object, named: Mapping[str, Any], path: str = "") -> Any:
    """`value` (as json.loads gives it) converted to what fastavro writes for
    `schema`, checked on the way: Mismatch names the first field that does not fit."""
    if isinstance(schema, str):
        if schema not in PRIMITIVES:
            return from_json(named[schema], value, named, path)
        return _primitive(schema, value, path)
    if isinstance(schema, list):
        return _union(schema, value, named, path)
    kind = schema["type"]
    logical = schema.get("logicalType")
    if logical in _LOGICAL and (kind != "fixed" or logical == "decimal"):
        return _LOGICAL[logical](value, path, schema)
    if kind == "record" or kind == "error":
        if not isinstance(value, dict):
            raise Mismatch(path, f"an object (record {schema.get('name')})")
        out: dict[str, Any] = {}
        fields = schema["fields"]
        for f in fields:
            name = f["name"]
            if name in value:
                out[name] = from_json(f["type"], value[name], named, f"{path}.{name}")
            elif "default" in f:
                out[name] = from_json(f["type"], f["default"], named, f"{path}.{name}")
            else:
                raise Mismatch(f"{path}.{name}", f"a value (field {name} is required)")
        extra = set(value) - {f["name"] for f in fields}
        if extra:
            raise Mismatch(f"{path}.{sorted(extra)[0]}", "no such field in record " + str(schema.get("name")))
        return out
    if kind == "enum":
        if value not in schema["symbols"]:
            raise Mismatch(path, f"one of {', '.join(schema['symbols'])}")
        return value
    if kind == "array":
        if not isinstance(value, list):
            raise Mismatch(path, "a list")
        return [from_json(schema["items"], v, named, f"{path}[{i}]") for i, v in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise Mismatch(path, "an object (map)")
        return {k: from_json(schema["values"], v, named, f"{path}.{k}") for k, v in value.items()}
    if kind == "fixed":
        data = _b64(value, path, f"{schema['size']} bytes")
        if len(data) != schema["size"]:
            raise Mismatch(path, f"{schema['size']} bytes as base64 text (got {len(data)})")
        return data
    return from_json(kind, value, named, path)  # {"type": "string"} and the like


def _primitive(kind: str, value: object, path: str) -> Any:
    if kind == "null":
        if value is not None:
            raise Mismatch(path, "null")
        return None
    if kind == "boolean":
        if not isinstance(value, bool):
            raise Mismatch(path, "a boolean")
        return value
    if kind in _INT_RANGE:
        lo, hi = _INT_RANGE[kind]
        if not _is_int(value) or not lo <= value <= hi:  # type: ignore[operator]  # _is_int: an int
            raise Mismatch(path, f"{kind} (an integer from {lo} to {hi})")
        return value
    if kind in ("float", "double"):
        if isinstance(value, str) and value in _NON_FINITE:
            return _NON_FINITE[value]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Mismatch(path, f'{kind} (a number, or "NaN", "Infinity", "-Infinity")')
        return float(value)
    if kind == "string":
        if not isinstance(value, str):
            raise Mismatch(path, "a string")
        return value
    return _b64(value, path, "bytes")


def _union(branches: list[Any], value: object, named: Mapping[str, Any], path: str) -> Any:
    if value is None and "null" in branches:
        return None
    if isinstance(value, dict) and len(value) == 1:
        # Avro's JSON encoding tags a union value with its branch: {"string": "x"}, {"ns.Rec": {...}}.
        ((tag, inner),) = value.items()
        for b in branches:
            if _type_name(b) == tag or (isinstance(b, str) and b == tag):
                return from_json(b, inner, named, path)
    for b in branches:
        if b == "null":
            continue
        try:
            return from_json(b, value, named, path)
        except Mismatch:
            continue
    raise Mismatch(path, "one of " + ", ".join(_type_name(b) for b in branches))
