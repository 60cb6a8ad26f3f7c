"""`Option(...)` and `Argument(...)`: typer's parameter declarations, written
without importing typer.

A command module that the one-shot fast path imports (mqcli.cli.fast) must
not import typer or Click (together ~80 M instructions, a third of a
one-message `kafka produce`).  Its option aliases write
`Annotated[int, params.Option("--count", ...)]`, which records the call;
mqcli.cli.lazy makes the real `typer.Option(...)` from it (the same
arguments, once per declaration) when typer builds the command, so the
command, its help and its behaviour are what `typer.Option(...)` gives.
"""

from __future__ import annotations

from typing import Any


class Declared:
    """A recorded `typer.Option(*args, **kwargs)` or `typer.Argument(...)`."""

    __slots__ = ("_made", "args", "kind", "kwargs")

    def __init__(self, kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.kind = kind
        self.args = args
        self.kwargs = kwargs
        self._made: Any = None

    def make(self) -> Any:
        """The typer ParameterInfo (made once: one object, as one `typer.Option` call would be)."""
        if self._made is None:
            import typer

            self._made = getattr(typer, self.kind)(*self.args, **self.kwargs)
        return self._made

    def __repr__(self) -> str:
        return f"params.{self.kind}{self.args!r}"


def Option(*args: Any, **kwargs: Any) -> Any:
    """typer.Option(*args, **kwargs), made when the command is built."""
    return Declared("Option", args, kwargs)


def Argument(*args: Any, **kwargs: Any) -> Any:
    """typer.Argument(*args, **kwargs), made when the command is built."""
    return Declared("Argument", args, kwargs)
