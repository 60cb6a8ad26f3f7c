"""The config package's dataclass decorator behaves as dataclasses.dataclass."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import field
from typing import Any

import pytest

from mqcli.core.config._dataclass import dataclass as fast


def pair(frozen: bool) -> tuple[type[Any], type[Any]]:
    """The same class body, built by each decorator."""

    def body() -> type[Any]:
        class Sample:
            name: str
            secret: str | None = field(default=None, repr=False)
            items: tuple[int, ...] = ()
            extra: dict[str, Any] = field(default_factory=dict, compare=False)
            weight: float = field(default=1.0, hash=False)

            def describe(self) -> str:
                return f"{self.name}:{len(self.items)}"

        return Sample

    return dataclasses.dataclass(frozen=frozen)(body()), fast(frozen=frozen)(body())


@pytest.mark.parametrize("frozen", [True, False])
def test_same_behaviour_as_dataclasses(frozen: bool) -> None:
    std, ours = pair(frozen)
    for args, kwargs in [
        (("a",), {}),
        (("b", "pw", (1, 2)), {"weight": float("nan")}),
        ((), {"name": "c", "extra": {"x": 1}}),
    ]:
        s, o = std(*args, **kwargs), ours(*args, **kwargs)
        assert repr(o) == repr(s).replace(std.__qualname__, ours.__qualname__)
        assert "pw" not in repr(o)
        assert (o == ours(*args, **kwargs)) == (s == std(*args, **kwargs))
        assert (o == o) == (s == s)  # a NaN field: the tuple compares it by identity
        assert o.__eq__(s) is NotImplemented and s.__eq__(o) is NotImplemented
        assert (o == dataclasses.replace(o, extra={"other": 2})) == (s == dataclasses.replace(s, extra={"other": 2}))
        assert (o == dataclasses.replace(o, items=(9,))) == (s == dataclasses.replace(s, items=(9,)))
        assert dataclasses.asdict(o) == dataclasses.asdict(s)
        assert o.describe() == s.describe()
        if frozen:
            assert hash(o) == hash(s)
            assert hash(o) == hash(dataclasses.replace(o, weight=5.0, extra={"y": 0}))
            with pytest.raises(dataclasses.FrozenInstanceError):
                o.name = "x"
        else:
            with pytest.raises(TypeError):
                hash(o)
            o.name = "x"
            assert o.name == "x"
    assert str(ours.__dataclass_params__) == str(std.__dataclass_params__)
    assert str(inspect.signature(ours)) == str(inspect.signature(std))
    assert ours.__doc__ == std.__doc__ and ours.__match_args__ == std.__match_args__
    assert ours("a").extra is not ours("a").extra  # a new default from the factory each time
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(std)]
    for bad_args, bad_kwargs in [((), {"nope": 1}), ((), {}), (("a",), {"name": "b"}), (tuple("abcdef"), {})]:
        with pytest.raises(TypeError):
            std(*bad_args, **bad_kwargs)
        with pytest.raises(TypeError):
            ours(*bad_args, **bad_kwargs)
    if frozen:
        o = ours("a")
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'name'"):
            del o.name
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'other'"):
            o.other = 1


def test_recursive_repr() -> None:
    @fast
    class Node:
        children: list[Any] = field(default_factory=list)

    n = Node()
    n.children.append(n)
    assert repr(n) == "test_recursive_repr.<locals>.Node(children=[...])"


def test_methods_written_by_the_class_are_kept() -> None:
    @fast(frozen=True)
    class Own:
        a: int

        def __repr__(self) -> str:
            return "own"

    assert repr(Own(1)) == "own" and Own(1) == Own(1) and hash(Own(1)) == hash(Own(1))
