"""JSON Schema with the `jsonschema` library: the body is the JSON text itself
(after the wire-format header, or bare), checked against the schema both ways.

JSON -> JSON: a value is written as compact JSON text and read back as the same
JSON value; nothing is converted.  A value the schema refuses raises `Mismatch`
naming the field path (`.items[3].price`) and the validator's own reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from mqcli.core.schema.common import Mismatch, SchemaInvalid, json_path

_MAX_REASON = 200  # the validator repeats the offending value; keep the one line readable


class JsonSchema:
    """A parsed JSON Schema (any draft the library knows; `$schema` picks it, else 2020-12)."""

    type = "JSON"

    def __init__(self, text: str) -> None:
        import jsonschema
        import jsonschema.exceptions

        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise SchemaInvalid(f"not JSON: {e.msg}") from None
        if not isinstance(raw, (dict, bool)):
            raise SchemaInvalid("a JSON Schema is an object (or true/false)")
        cls = jsonschema.validators.validator_for(raw, default=jsonschema.Draft202012Validator)
        try:
            cls.check_schema(raw)  # type: ignore[arg-type]  # true/false are schemas too; the stubs say dict
        except jsonschema.exceptions.SchemaError as e:
            raise SchemaInvalid(_short(e.message)) from None
        self._validator: Any = cls(raw)
        self._best_match = jsonschema.exceptions.best_match
        self.text = text
        title = raw.get("title") if isinstance(raw, dict) else None
        # RecordNameStrategy names a JSON Schema by its title (as Confluent's serializer does).
        self.name: str | None = title if isinstance(title, str) else None

    def check(self, value: object) -> None:
        """Mismatch when the schema refuses `value`: the most relevant error, with its path."""
        error = self._best_match(self._validator.iter_errors(value))
        if error is not None:
            path = json_path(error.absolute_path)
            raise Mismatch(path, error.validator, reason=_short(error.message))

    def decode(self, body: bytes | memoryview) -> object:
        """The JSON value of a body, validated (ValueError or Mismatch when it is not valid)."""
        value = json.loads(bytes(body))
        self.check(value)
        return value

    def encode(self, value: object) -> bytes:
        """The body of a JSON value the schema accepts (Mismatch when it does not, or when it holds
        what JSON text cannot: NaN or an infinity, or a string with an unpaired surrogate)."""
        self.check(value)
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except ValueError:
            raise Mismatch(_first(value, _non_finite), "a finite number (JSON has no NaN or Infinity)") from None
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            raise Mismatch(_first(value, _unpaired), "text without unpaired surrogates (UTF-8 has none)") from None


def _non_finite(v: object) -> bool:
    return isinstance(v, float) and not math.isfinite(v)


def _unpaired(v: object) -> bool:
    if not isinstance(v, str):
        return False
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _first(value: object, bad: Callable[[object], bool], path: str = "") -> str:
    """The path of the first value (or object key) in `value` that is `bad` ("" when none is)."""
    if bad(value):
        return path
    if isinstance(value, dict):
        for k, v in value.items():
            if bad(k):
                return path
            found = _first(v, bad, f"{path}.{k}")
            if found or bad(v):
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = _first(v, bad, f"{path}[{i}]")
            if found or bad(v):
                return found
    return ""


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
