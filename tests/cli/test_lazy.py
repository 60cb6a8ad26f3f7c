"""mqcli.cli.lazy: commands built on first use, their annotations evaluated once."""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated, Any, Optional

import typer
import typer.main

from mqcli.cli.lazy import evaluate_annotations, evaluate_app_annotations
from tests.conftest import ROOT


def _complete(incomplete: str) -> list[str]:
    return [x for x in ("alpha", "beta") if x.startswith(incomplete)]


def _check(value: Optional[int]) -> Optional[int]:
    return value


def _command() -> Any:
    """A fresh function with string annotations (this module has the future import)."""

    def sample(
        ctx: typer.Context,
        topic: Annotated[str, typer.Argument(metavar="TOPIC", help="Topic.", show_default=False)],
        values: Annotated[Optional[list[str]], typer.Argument(metavar="VALUE", show_default=False)] = None,
        count: Annotated[Optional[int], typer.Option("--count", "-n", metavar="N", min=1, callback=_check)] = None,
        name: Annotated[Optional[str], typer.Option("--name", autocompletion=_complete, show_default=False)] = None,
        flag: Annotated[bool, typer.Option("--flag/--no-flag", help="A flag.")] = False,
    ) -> None:
        """Sample.

        Example: sample t
        """

    return sample


def _described(command: Any) -> list[tuple[Any, ...]]:
    return [
        (
            type(p).__name__,
            p.name,
            tuple(p.opts),
            tuple(p.secondary_opts),
            repr(p.type),
            p.default,
            p.required,
            p.multiple,
            p.nargs,
            p.metavar,
            getattr(p, "help", None),
            p.callback is None,
            p._custom_shell_complete is None,
        )
        for p in command.params
    ]


def _built(func: Any) -> Any:
    app = typer.Typer(add_completion=False, rich_markup_mode=None)
    app.command("sample")(func)
    return typer.main.get_command(app)


def test_annotations_become_objects_for_the_command_and_its_hooks() -> None:
    func = _command()
    assert all(isinstance(a, str) for a in func.__annotations__.values())
    evaluate_annotations(func)
    assert not any(isinstance(a, str) for a in func.__annotations__.values())
    assert func.__annotations__["ctx"] is typer.Context
    # The option's callback and completer are read by typer the same way.
    assert not any(isinstance(a, str) for a in _check.__annotations__.values())
    assert not any(isinstance(a, str) for a in _complete.__annotations__.values())
    once = dict(func.__annotations__)
    evaluate_annotations(func)  # a second time changes nothing
    assert func.__annotations__ == once


def test_the_built_command_is_the_same_with_evaluated_annotations() -> None:
    plain = _built(_command())
    func = _command()
    evaluate_annotations(func)
    evaluated = _built(func)
    assert _described(evaluated) == _described(plain)
    assert evaluated.help == plain.help


def test_typer_compiles_no_annotation_when_building_a_real_command() -> None:
    # Each evaluation typer does itself compiles every annotation string again
    # (~15 ms for `kafka produce`): build_command leaves it nothing to compile.
    # In a fresh interpreter, so `produce` has not been built by another test.
    code = (
        "import typing\n"
        "from mqcli.cli.lazy import build_command\n"
        "compiled = []\n"
        "real = typing.ForwardRef.__init__\n"
        "def counting(self, arg, *a, **k):\n"
        "    compiled.append(arg)\n"
        "    real(self, arg, *a, **k)\n"
        "typing.ForwardRef.__init__ = counting\n"
        "command = build_command('produce', 'mqcli.cli.kafka.produce:produce')\n"
        "print(len(command.params), len(compiled))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    params, compiled = map(int, out.stdout.split())
    assert params > 30
    assert compiled == 0


def test_groups_have_every_callback_evaluated() -> None:
    from mqcli.cli.kafka.topics import app

    evaluate_app_annotations(app)
    callbacks = [c.callback for c in app.registered_commands]
    assert callbacks
    for func in callbacks:
        assert func is not None
        assert not any(isinstance(a, str) for a in func.__annotations__.values()), func.__name__


def test_a_build_reads_each_function_once_and_puts_typer_back() -> None:
    from mqcli.cli.lazy import signatures_read_once

    real = typer.main.get_params_from_function  # type: ignore[attr-defined]
    reads: list[object] = []

    def counting(func: Any) -> Any:
        reads.append(func)
        return real(func)

    typer.main.get_params_from_function = counting  # type: ignore[attr-defined]
    try:
        func = _command()
        evaluate_annotations(func)
        with signatures_read_once():
            command = _built(func)
        assert typer.main.get_params_from_function is counting  # type: ignore[attr-defined]  # put back
    finally:
        typer.main.get_params_from_function = real  # type: ignore[attr-defined]
    assert reads.count(func) == 1  # typer itself asks twice (params, then the callback wrapper)
    assert _described(command) == _described(_built(_command()))
