"""mqcli.core._dataclass: classes it does not write methods for get the standard decorator."""

from __future__ import annotations

import dataclasses
from dataclasses import KW_ONLY, field

import pytest

from mqcli.core._dataclass import dataclass as fast


def test_init_false_and_kw_only_fields_get_the_standard_decorator() -> None:
    @fast
    class Later:
        name: str
        seen: int = field(default=0, init=False)

    @fast(frozen=True)
    class Keywords:
        name: str
        _: KW_ONLY
        size: int = 1

    @fast
    class Plain:
        name: str

    # The standard decorator's __init__ is compiled from source text ("<string>").
    assert Later.__init__.__code__.co_filename == "<string>"
    assert Keywords.__init__.__code__.co_filename == "<string>"
    assert Plain.__init__.__code__.co_filename != "<string>"
    assert Later("a").seen == 0 and Later("a") == Later("a")
    with pytest.raises(TypeError):
        Keywords("a", 2)  # type: ignore[misc]  # size is keyword-only
    k = Keywords("a", size=2)
    assert k.size == 2 and hash(k) == hash(Keywords("a", size=2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        k.size = 3  # type: ignore[misc]


def test_undocumented_classes_get_the_standard_docstring() -> None:
    def body() -> type:
        class Sample:
            name: str
            size: int = 1

        return Sample

    doc = fast(body()).__doc__
    assert doc == dataclasses.dataclass(body()).__doc__ and doc.startswith("Sample(name:")
