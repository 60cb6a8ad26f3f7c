"""`dataclass` for the config package's classes, with less work at import.

The standard decorator writes every method it adds as source text and
compiles it with `exec`: six compilations for a frozen class (__init__,
__repr__, __eq__, __hash__, __setattr__, __delattr__), which made up most of
the config package's import time, paid by every command.  This decorator
lets the standard one add __init__ and the frozen __setattr__/__delattr__
(their exact signatures and errors), and gives __repr__, __eq__ and __hash__
as shared functions that do what the generated ones do (Python 3.11's:
fields compared and hashed as one tuple, `repr=False` fields left out of
repr, a recursive repr shown as "...").  `dataclasses.fields`, `replace`,
`asdict` and `__dataclass_params__` see an ordinary dataclass.

Type checkers see dataclasses.dataclass itself (see the importing modules).
"""

from __future__ import annotations

import dataclasses
from _thread import get_ident
from collections.abc import Callable
from typing import Any

_GENERATED = ("__repr__", "__eq__", "__hash__")


def dataclass(cls: type[Any] | None = None, /, *, frozen: bool = False) -> Any:
    """dataclasses.dataclass(cls, frozen=frozen), with repr, eq and (when frozen) hash."""

    def wrap(c: type[Any]) -> type[Any]:
        return _build(c, frozen)

    return wrap if cls is None else wrap(cls)


def _build(cls: type[Any], frozen: bool) -> type[Any]:
    if any(name in cls.__dict__ for name in _GENERATED):
        # The standard rules for methods the class writes itself: leave them to it.
        return dataclasses.dataclass(cls, frozen=frozen)
    cls = dataclasses.dataclass(cls, frozen=frozen, repr=False, eq=False)
    fields = dataclasses.fields(cls)
    shown = tuple(f.name for f in fields if f.repr)
    compared = _values(tuple(f.name for f in fields if f.compare))
    hashed = _values(tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash)))

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(hashed(self))

    running: set[tuple[int, int]] = set()

    def __repr__(self: Any) -> str:
        key = (id(self), get_ident())
        if key in running:
            return "..."
        running.add(key)
        try:
            inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        finally:
            running.discard(key)
        return f"{self.__class__.__qualname__}({inner})"

    for method in (__eq__, __hash__, __repr__):
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        setattr(cls, method.__name__, method)
    if not frozen:
        cls.__hash__ = None  # type: ignore[assignment]  # eq without frozen: unhashable, as dataclasses makes it
    # What the standard decorator records for dataclass(frozen=frozen): repr and eq on.
    cls.__dataclass_params__ = dataclasses._DataclassParams(  # type: ignore[attr-defined]  # private, 3.11's signature
        True, True, True, False, False, frozen
    )
    return cls


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The fields `names` of an object as one tuple (as the generated methods compare and hash them)."""

    def values(obj: Any) -> tuple[Any, ...]:
        return tuple([getattr(obj, name) for name in names])

    return values
