"""What every schema format raises: a schema that does not parse, a value that does not fit."""

from __future__ import annotations

from collections.abc import Iterable


class SchemaInvalid(ValueError):
    """A schema text that is not a valid schema of its type."""


class Mismatch(ValueError):
    """A JSON value that does not fit the schema: `path` (`.items[3].price`) and what was
    expected (`reason` says it in full: "expected decimal", or the validator's own words)."""

    def __init__(self, path: str, expected: str, *, reason: str | None = None) -> None:
        self.path = path or "."
        self.expected = expected
        self.reason = reason or f"expected {expected}"
        super().__init__(f"{self.path}: {self.reason}")


def json_path(parts: Iterable[str | int]) -> str:
    """`.items[3].price` from a sequence of object keys and list indexes."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
