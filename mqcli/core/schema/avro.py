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

__all__ = ["Mismatch", "Schema", "SchemaInvalid", "compile_converter", "from_json", "json_text", "to_json_text"]

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


_TEXT = json.JSONEncoder(default=_json_default, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_TEXT_NON_FINITE = json.JSONEncoder(default=_json_default, ensure_ascii=False, separators=(",", ":")).encode


def to_json_text(value: object) -> str:
    """A decoded Avro value as compact JSON text (see the module's mapping)."""
    # Encoders made once: json.dumps with options builds a new one per call.
    try:
        return _TEXT(value)
    except ValueError:  # a NaN or infinite float (rare: only then is the value walked)
        return _TEXT_NON_FINITE(_finite(value))


def json_text(value: object) -> bytes:
    """`to_json_text` as UTF-8 bytes (what a decoded key or value holds)."""
    return to_json_text(value).encode("utf-8")


class Schema:
    """A parsed Avro schema: decodes and encodes schemaless bodies.

    The JSON -> Avro conversion is compiled once per schema (`compile_converter`)
    into one function per type, so a record costs no walk of the schema."""

    type = "AVRO"

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
        self._convert = compile_converter(self.parsed, self.named)

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

    def text_decoder(self) -> Callable[[bytes | memoryview], bytes]:
        """body -> the UTF-8 JSON text of its value (`to_json_text`), as one function with
        everything it needs bound: the consumer calls it once per record."""
        reader, parsed, bytes_io, text = self._reader, self.parsed, io.BytesIO, json_text

        def decode_text(body: bytes | memoryview) -> bytes:
            fo = bytes_io(body)
            value = reader(fo, parsed, None)
            if fo.tell() != len(body):
                raise ValueError(f"{len(body) - fo.tell()} byte(s) left over after the value")
            return text(value)

        return decode_text

    def encode(self, value: object) -> bytes:
        """The schemaless Avro body of a JSON value (Mismatch when it does not fit)."""
        return self.encode_framed(value, b"")

    def encode_framed(self, value: object, prefix: bytes) -> bytes:
        """`prefix` (the wire-format header) and then the body of `value`, written into one
        buffer so the body is not copied again to put the header in front."""
        try:
            datum = self._convert(value)
        except _Miss as e:
            raise e.mismatch() from None
        buf = io.BytesIO()
        if prefix:
            buf.write(prefix)
        try:
            self._writer(buf, self.parsed, datum)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as e:
            # The converter checked the shape; what is left is fastavro's own rule (a decimal's scale...).
            raise Mismatch(".", f"a value fastavro can write ({e})") from None
        return buf.getvalue()


# -- encoding: JSON value -> what fastavro writes -------------------------------------
#
# `compile_converter` turns a parsed schema into one function per type, each checking
# and converting a JSON value (as json.loads gives it) into what fastavro writes.  A
# value that does not fit raises `_Miss`; each record field, array item and map entry
# it passes through on the way out adds its step to the path (only then: a value that
# fits builds no path text), and the caller turns it into a `Mismatch`.

Convert = Callable[[Any], Any]


class _Miss(Exception):
    """A value that does not fit: what was expected, and the path steps (innermost first)."""

    def __init__(self, expected: str, step: str | None = None) -> None:
        super().__init__(expected)
        self.expected = expected
        self.steps = [] if step is None else [step]

    def mismatch(self, path: str = "") -> Mismatch:
        return Mismatch(path + "".join(reversed(self.steps)), self.expected)


def _type_name(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    logical = schema.get("logicalType")
    return str(logical or schema.get("name") or schema["type"])


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise _Miss(f"{what} as base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise _Miss(f"{what} as base64 text") from None


def _null(value: object) -> None:
    if value is not None:
        raise _Miss("null")
    return None


def _boolean(value: object) -> bool:
    if value is True or value is False:
        return value
    raise _Miss("a boolean")


def _string(value: object) -> str:
    if isinstance(value, str):
        return value
    raise _Miss("a string")


def _bytes(value: object) -> bytes:
    return _b64(value, "bytes")


def _integer(kind: str) -> Convert:
    lo, hi = _INT_RANGE[kind]
    expected = f"{kind} (an integer from {lo} to {hi})"

    def integer(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi:
            return value
        raise _Miss(expected)

    return integer


def _floating(kind: str) -> Convert:
    expected = f'{kind} (a number, or "NaN", "Infinity", "-Infinity")'
    non_finite = _NON_FINITE

    def floating(value: Any) -> float:
        if type(value) is float:  # what json.loads gives for a number with a point: float() would return it
            return value
        if isinstance(value, str) and value in non_finite:
            return non_finite[value]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Miss(expected)
        try:
            return float(value)
        except OverflowError:  # an integer beyond any double
            raise _Miss(expected) from None

    return floating


_PRIMITIVE: dict[str, Convert] = {
    "null": _null,
    "boolean": _boolean,
    "int": _integer("int"),
    "long": _integer("long"),
    "float": _floating("float"),
    "double": _floating("double"),
    "string": _string,
    "bytes": _bytes,
}


def _decimal(scale: int) -> Convert:
    wrong, too_fine = 'decimal (a string such as "12.50")', f"decimal with at most {scale} decimal place(s)"

    def to_decimal(value: Any) -> decimal.Decimal:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise _Miss(wrong)
        try:
            d = decimal.Decimal(str(value))
        except decimal.InvalidOperation:
            raise _Miss(wrong) from None
        if not d.is_finite() or -d.as_tuple().exponent > scale:  # type: ignore[operator]  # finite: int exponent
            raise _Miss(too_fine)
        return d

    return to_decimal


def _iso(kind: str, parse: Callable[[str], Any]) -> Convert:
    expected = f"{kind} (ISO-8601 text or a number)"
    date, local = kind == "date", kind.startswith("local")

    def to_time(value: Any) -> Any:
        if _is_int(value):
            return value  # the raw Avro number (days, ms or µs)
        if isinstance(value, str):
            try:
                parsed = parse(value if date else value.replace("Z", "+00:00"))
            except ValueError:
                pass
            else:
                if isinstance(parsed, dt.datetime) and parsed.tzinfo is None and not local:
                    parsed = parsed.replace(tzinfo=dt.timezone.utc)
                return parsed
        raise _Miss(expected)

    return to_time


_LOGICAL: dict[str, Callable[[Mapping[str, Any]], Convert]] = {
    "date": lambda s: _iso("date", dt.date.fromisoformat),
    "time-millis": lambda s: _iso("time-millis", dt.time.fromisoformat),
    "time-micros": lambda s: _iso("time-micros", dt.time.fromisoformat),
    "timestamp-millis": lambda s: _iso("timestamp-millis", dt.datetime.fromisoformat),
    "timestamp-micros": lambda s: _iso("timestamp-micros", dt.datetime.fromisoformat),
    "local-timestamp-millis": lambda s: _iso("local-timestamp-millis", dt.datetime.fromisoformat),
    "local-timestamp-micros": lambda s: _iso("local-timestamp-micros", dt.datetime.fromisoformat),
    "decimal": lambda s: _decimal(int(s.get("scale", 0))),
}

_NO_DEFAULT = object()


class _Compiler:
    """Builds the converter of each type of one schema, each named type once (recursive
    types refer to themselves through a forwarder until they are built)."""

    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = named
        self.built: dict[int, Convert] = {}
        self.keep: list[Any] = []  # the schema nodes `built` is keyed by (their ids stay theirs)

    def compile(self, schema: Any) -> Convert:
        if isinstance(schema, str):
            if schema in _PRIMITIVE:
                return _PRIMITIVE[schema]
            return self.compile(self.named[schema])
        key = id(schema)
        found = self.built.get(key)
        if found is not None:
            return found
        cell: list[Convert] = []
        self.built[key] = lambda value: cell[0](value)  # while `schema` itself is being built
        self.keep.append(schema)
        conv = self._build(schema)
        cell.append(conv)
        self.built[key] = conv
        return conv

    def _build(self, schema: Any) -> Convert:
        if isinstance(schema, list):
            return self._union(schema)
        kind = schema["type"]
        logical = schema.get("logicalType")
        if logical in _LOGICAL and (kind != "fixed" or logical == "decimal"):
            return _LOGICAL[logical](schema)
        if kind == "record" or kind == "error":
            return self._record(schema)
        if kind == "enum":
            return _enum(schema["symbols"])
        if kind == "array":
            return _array(self.compile(schema["items"]))
        if kind == "map":
            return _map(self.compile(schema["values"]))
        if kind == "fixed":
            return _fixed(int(schema["size"]))
        return self.compile(kind)  # {"type": "string"} and the like

    def _record(self, schema: Mapping[str, Any]) -> Convert:
        record_name = schema.get("name")
        fields = [(f["name"], self.compile(f["type"]), f.get("default", _NO_DEFAULT)) for f in schema["fields"]]
        names = {name for name, _, _ in fields}
        not_object = f"an object (record {record_name})"
        no_field = "no such field in record " + str(record_name)

        def record(value: Any) -> dict[str, Any]:
            if not isinstance(value, dict):
                raise _Miss(not_object)
            out: dict[str, Any] = {}
            present = 0
            for name, conv, default in fields:
                if name in value:
                    present += 1
                    item = value[name]
                elif default is not _NO_DEFAULT:
                    item = default
                else:
                    raise _Miss(f"a value (field {name} is required)", f".{name}")
                try:
                    out[name] = conv(item)
                except _Miss as e:
                    e.steps.append(f".{name}")
                    raise
            if present != len(value):  # field names are distinct: the other keys are not fields
                raise _Miss(no_field, f".{sorted(set(value) - names)[0]}")
            return out

        return record

    def _union(self, branches: list[Any]) -> Convert:
        convs = [self.compile(b) for b in branches]
        # Avro's JSON encoding tags a union value with its branch: {"string": "x"}, {"ns.Rec": {...}}.
        by_tag: dict[str, Convert] = {}
        for b, conv in zip(branches, convs, strict=True):
            by_tag.setdefault(_type_name(b), conv)
        untagged = [conv for b, conv in zip(branches, convs, strict=True) if b != "null"]
        has_null = "null" in branches
        expected = "one of " + ", ".join(_type_name(b) for b in branches)

        def union(value: Any) -> Any:
            if value is None and has_null:
                return None
            if isinstance(value, dict) and len(value) == 1:
                ((tag, inner),) = value.items()
                tagged = by_tag.get(tag)
                if tagged is not None:
                    return tagged(inner)
            for conv in untagged:  # the first branch the plain value fits
                try:
                    return conv(value)
                except _Miss:
                    continue
            raise _Miss(expected)

        return union


def _enum(symbols: list[str]) -> Convert:
    known = frozenset(symbols)
    expected = f"one of {', '.join(symbols)}"

    def enum(value: Any) -> str:
        if isinstance(value, str) and value in known:
            return value
        raise _Miss(expected)

    return enum


def _array(item: Convert) -> Convert:
    def array(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise _Miss("a list")
        try:
            return [item(v) for v in value]
        except _Miss:
            pass
        for i, v in enumerate(value):  # again, only to say which item (the converters are pure)
            try:
                item(v)
            except _Miss as e:
                e.steps.append(f"[{i}]")
                raise
        raise AssertionError("an item failed once and not again")  # pragma: no cover

    return array


def _map(item: Convert) -> Convert:
    def mapping(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _Miss("an object (map)")
        try:
            return {k: item(v) for k, v in value.items()}
        except _Miss:
            pass
        for k, v in value.items():
            try:
                item(v)
            except _Miss as e:
                e.steps.append(f".{k}")
                raise
        raise AssertionError("an entry failed once and not again")  # pragma: no cover

    return mapping


def _fixed(size: int) -> Convert:
    what = f"{size} bytes"

    def fixed(value: Any) -> bytes:
        data = _b64(value, what)
        if len(data) != size:
            raise _Miss(f"{size} bytes as base64 text (got {len(data)})")
        return data

    return fixed


def compile_converter(schema: Any, named: Mapping[str, Any]) -> Convert:
    """The converter of a parsed schema: a JSON value -> what fastavro writes for it, checked
    on the way (it raises `_Miss`; `from_json` and `Schema.encode` raise `Mismatch`)."""
    return _Compiler(named).compile(schema)


def from_json(schema: Any, value: object, named: Mapping[str, Any], path: str = "") -> Any:
    """`value` (as json.loads gives it) converted to what fastavro writes for
    `schema`, checked on the way: Mismatch names the first field that does not fit.
    (Compiles the schema each call: `Schema.encode` keeps its converter.)"""
    try:
        return compile_converter(schema, named)(value)
    except _Miss as e:
        raise e.mismatch(path) from None
