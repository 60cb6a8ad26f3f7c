"""`dataclass` for classes on every command's start-up path, with less work at import.

The standard decorator writes every method it adds as source text and
compiles it with `exec`: six compilations for a frozen class (__init__,
__repr__, __eq__, __hash__, __setattr__, __delattr__), ~1-3 M instructions
per class, paid by every command that imports it (the config package's 12
classes were most of its import time).  Here the standard
decorator only collects the fields (and sets __dataclass_fields__,
__match_args__), and the methods are closures over them that do what the
generated ones do (Python 3.11's: fields compared and hashed as one tuple,
`repr=False` fields left out of repr, a recursive repr shown as "...", the
same __init__ signature and docstring, FrozenInstanceError).
`dataclasses.fields`, `replace`, `asdict` and `__dataclass_params__` see an
ordinary dataclass.  A class with __post_init__, its own dunder methods,
init=False or kw_only fields gets the standard decorator.

The __init__ here is a closure, slower per call than the generated one: use it
for classes made a few times per run (settings, options, a run's counters),
not for one object per message (Message, Delivery keep the standard decorator).
Type checkers see dataclasses.dataclass itself (see the importing modules).
"""

from __future__ import annotations

import dataclasses
import inspect
from _thread import get_ident
from collections.abc import Callable
from typing import Any

# Methods the standard decorator would add; a class that writes one itself gets the standard decorator.
_OWN = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__", "__post_init__")
_FACTORY = dataclasses._HAS_DEFAULT_FACTORY  # type: ignore[attr-defined]  # shown as `<factory>` in signatures
_EMPTY = inspect.Parameter.empty


def dataclass(cls: type[Any] | None = None, /, *, frozen: bool = False) -> Any:
    """dataclasses.dataclass(cls, frozen=frozen), its methods built without `exec`."""

    def wrap(c: type[Any]) -> type[Any]:
        return _build(c, frozen)

    return wrap if cls is None else wrap(cls)


def _build(cls: type[Any], frozen: bool) -> type[Any]:
    if any(name in cls.__dict__ for name in _OWN) or _special_fields(cls):
        # The standard rules for methods the class writes itself, and for fields
        # not given to __init__ or keyword-only: leave them to it.
        return dataclasses.dataclass(cls, frozen=frozen)
    documented = bool(cls.__dict__.get("__doc__"))
    if not documented:
        # A placeholder until the docstring below: without one the standard decorator
        # writes it from inspect.signature(cls), which with init=False is object's
        # __init__, parsed from its text signature by tokenize (compiling tokenize's
        # large regular expression: ~15 M instructions, once per process).
        cls.__doc__ = cls.__name__
    # Fields, defaults, __match_args__, __dataclass_fields__: the standard decorator's, with no method of its own.
    cls = dataclasses.dataclass(cls, init=False, repr=False, eq=False)
    fields = dataclasses.fields(cls)
    if any(not f.init or f.kw_only for f in fields):  # inherited from a base class: not seen above
        raise TypeError(f"{cls.__qualname__}: fields with init=False or kw_only are not supported here")
    names = tuple(f.name for f in fields)
    shown = tuple(f.name for f in fields if f.repr)
    compared = _values(tuple(f.name for f in fields if f.compare))
    hashed = _values(tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash)))
    defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
    factories = {f.name: f.default_factory for f in fields if f.default_factory is not dataclasses.MISSING}
    assign = object.__setattr__ if frozen else setattr
    qualname = cls.__qualname__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(
                f"{qualname}.__init__() takes {len(names) + 1} positional arguments but {len(args) + 1} were given"
            )
        values = dict(zip(names, args, strict=False))  # the first fields, given by position
        for name, value in kwargs.items():
            if name not in names:
                raise TypeError(f"{qualname}.__init__() got an unexpected keyword argument {name!r}")
            if name in values:
                raise TypeError(f"{qualname}.__init__() got multiple values for argument {name!r}")
            values[name] = value
        for name in names:
            if name in values:
                value = values[name]
            elif name in defaults:
                value = defaults[name]
            elif name in factories:
                value = factories[name]()
            else:
                missing = [n for n in names if n not in values and n not in defaults and n not in factories]
                raise TypeError(f"{qualname}.__init__() missing required argument(s): {', '.join(map(repr, missing))}")
            assign(self, name, value)

    # What inspect.signature shows for the generated __init__ (annotations as written, `<factory>`).
    parameters = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=f.default if f.name in defaults else (_FACTORY if f.name in factories else _EMPTY),
            annotation=f.type,
        )
        for f in fields
    ]
    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    __init__.__signature__ = inspect.Signature([self_parameter, *parameters], return_annotation=None)  # type: ignore[attr-defined]

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

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

    methods: list[Callable[..., Any]] = [__init__, __eq__, __repr__]
    methods += [__hash__, __setattr__, __delattr__] if frozen else []
    for method in methods:
        method.__qualname__ = f"{qualname}.{method.__name__}"
        setattr(cls, method.__name__, method)
    if not frozen:
        cls.__hash__ = None  # type: ignore[assignment]  # eq without frozen: unhashable, as dataclasses makes it
    # What the standard decorator records for dataclass(frozen=frozen): init, repr and eq on.
    cls.__dataclass_params__ = dataclasses._DataclassParams(  # type: ignore[attr-defined]  # private, 3.11's signature
        True, True, True, False, False, frozen
    )
    if not documented:
        # inspect.signature(cls) without looking it up again: __init__'s, less self and the return.
        cls.__doc__ = cls.__name__ + str(inspect.Signature(parameters, __validate_parameters__=False))
    return cls


def _special_fields(cls: type[Any]) -> bool:
    """Whether the class body declares a field with init=False or kw_only (or a KW_ONLY marker)."""
    for value in cls.__dict__.values():
        if isinstance(value, dataclasses.Field) and (not value.init or value.kw_only is True):
            return True
    annotations = inspect.get_annotations(cls)
    return any(a is dataclasses.KW_ONLY or (isinstance(a, str) and "KW_ONLY" in a) for a in annotations.values())


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The fields `names` of an object as one tuple (as the generated methods compare and hash them)."""

    def values(obj: Any) -> tuple[Any, ...]:
        return tuple([getattr(obj, name) for name in names])

    return values
