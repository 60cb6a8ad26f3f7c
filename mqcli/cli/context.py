"""The one context object, built in the root callback and passed down.

Like httpie's `Environment`, every attribute can be overridden, so tests can
build their own (`AppContext.create(stdout=io.BytesIO(), ...)`).

The Rich consoles (and Rich itself, ~15 ms to import) are made on first use:
`mqcli COMMAND --help` never needs them.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import field
from typing import TYPE_CHECKING, BinaryIO, TextIO

if TYPE_CHECKING:
    from dataclasses import dataclass

    import typer
    from rich.console import Console

    from mqcli.core.config import Profile
else:  # the same class, built with less work at import (see mqcli/core/_dataclass.py)
    from mqcli.core._dataclass import dataclass


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return False


@dataclass
class AppContext:
    stdin: BinaryIO
    stdout: BinaryIO  # message data and requested output only
    text_out: TextIO  # stdout as text, under `out`
    text_err: TextIO  # stderr, under `err`
    stdin_isatty: bool
    stdout_isatty: bool
    stderr_isatty: bool
    env: Mapping[str, str]
    color: bool
    ci: bool
    width: int | None = None  # console width ($COLUMNS), None: the terminal's
    debug: bool = False
    verbose: int = 0
    quiet: bool = False
    config_path: str | None = None
    profile_name: str | None = None
    connect_timeout: float | None = None  # global --connect-timeout, seconds
    _profile: Profile | None = field(default=None, repr=False)
    _out: Console | None = field(default=None, repr=False)
    _err: Console | None = field(default=None, repr=False)

    @classmethod
    def create(
        cls,
        *,
        stdin: BinaryIO | None = None,
        stdout: BinaryIO | None = None,
        stderr: TextIO | None = None,
        env: Mapping[str, str] | None = None,
        width: int | None = None,
    ) -> AppContext:
        env = dict(os.environ) if env is None else dict(env)
        text_out: TextIO = sys.stdout if stdout is None else io.TextIOWrapper(stdout, write_through=True)
        text_err = sys.stderr if stderr is None else stderr
        stdout_b = stdout if stdout is not None else sys.stdout.buffer
        stdin_b = stdin if stdin is not None else sys.stdin.buffer
        stdout_tty = _isatty(text_out)
        stderr_tty = _isatty(text_err)
        ci = env.get("CI", "").lower() in ("1", "true", "yes")
        color = "NO_COLOR" not in env
        if env.get("COLUMNS", "").isdigit() and width is None:
            width = int(env["COLUMNS"])
        return cls(
            stdin=stdin_b,
            stdout=stdout_b,
            text_out=text_out,
            text_err=text_err,
            width=width,
            stdin_isatty=_isatty(sys.stdin) if stdin is None else False,
            stdout_isatty=stdout_tty,
            stderr_isatty=stderr_tty,
            env=env,
            color=color,
            ci=ci,
            debug=env.get("MQCLI_DEBUG", "") not in ("", "0", "false"),
        )

    # -- consoles ----------------------------------------------------------------
    @property
    def out(self) -> Console:
        """Rich view of stdout (tables, the human message view)."""
        if self._out is None:
            self._out = self._console(self.text_out, self.stdout_isatty)
        return self._out

    @property
    def err(self) -> Console:
        """Diagnostics, progress, summaries (stderr)."""
        if self._err is None:
            self._err = self._console(self.text_err, self.stderr_isatty)
        return self._err

    def _console(self, file: TextIO, tty: bool) -> Console:
        from rich.console import Console

        # markup/highlight/emoji off: payloads must never be read as Rich markup.
        return Console(
            file=file,
            markup=False,
            highlight=False,
            emoji=False,
            no_color=not self.color,
            force_terminal=None if tty else False,
            width=self.width,
            soft_wrap=False,
        )

    # -- profile ---------------------------------------------------------------
    @property
    def profile(self) -> Profile:
        """The resolved profile (loaded on first use, so `config init` works without one)."""
        if self._profile is None:
            from mqcli.core.config import resolve_profile

            profile = resolve_profile(config_path=self.config_path, profile_name=self.profile_name, env=self.env)
            if self.connect_timeout is not None:
                profile = profile.with_overrides(
                    {"kafka.connect_timeout": self.connect_timeout, "rabbit.connection_timeout": self.connect_timeout}
                )
            for warning in profile.warnings:
                self.warn(warning)
            self._profile = profile
        return self._profile

    def secrets(self) -> list[str]:
        """Secret values to mask in errors and --debug output (only once a profile is loaded)."""
        return self._profile.secrets() if self._profile is not None else []

    # -- terminal behaviour -------------------------------------------------------
    @property
    def live(self) -> bool:
        """Whether spinners and live progress lines may be drawn on stderr."""
        return self.stderr_isatty and self.color and not self.ci and not self.quiet

    # -- diagnostics on stderr ----------------------------------------------------
    # Every line mqcli writes on stderr goes through one of these (tables and
    # documents go through mqcli.cli.output), so the prefix, the styles and what
    # --quiet leaves out are decided here.  The final error of a command is
    # the exception: cli/app.py's error boundary writes it, with or without a context.
    def _plain(self, text: str) -> bool:
        """Write an unstyled line to a stderr that is not a terminal without
        Rich, when Rich would write it unchanged (printable text: no control
        characters to strip, no tabs to expand).  True if written.  Saves
        importing Rich (~60 ms) in a one-shot command that only prints its summary."""
        if self.stderr_isatty or self._err is not None or not text.isprintable():
            return False
        self.text_err.write(text + "\n")
        self.text_err.flush()
        return True

    def info(self, text: str) -> None:
        """Progress and what was done (dim on a terminal); left out with --quiet."""
        if not self.quiet and not self._plain(text):
            self.err.print(text, style="dim" if self.color else None, soft_wrap=True)

    def note(self, text: str) -> None:
        """`mqcli: TEXT`: a summary or an event of a long run; left out with --quiet."""
        if not self.quiet and not self._plain(f"mqcli: {text}"):
            self.err.print(f"mqcli: {text}", soft_wrap=True)

    def report(self, text: str) -> None:
        """TEXT as is: the result of a command that answers on stderr (`config validate`)."""
        if not self._plain(text):
            self.err.print(text, soft_wrap=True)

    def warn(self, text: str) -> None:
        self.err.print(f"mqcli: warning: {text}", style="yellow" if self.color else None, soft_wrap=True)

    def error(self, text: str) -> None:
        """`mqcli: TEXT`: a failure the command goes on after, or reports before it
        stops (a message not delivered, a request not answered); even with --quiet."""
        if not self._plain(f"mqcli: {text}"):
            self.err.print(f"mqcli: {text}", soft_wrap=True)

    def debug_log(self, text: str) -> None:
        if self.debug:
            from mqcli.core.errors import mask_secrets

            self.err.print(f"mqcli: debug: {mask_secrets(text, self.secrets())}", soft_wrap=True)


def get_app(ctx: typer.Context, *, profile: str | None = None) -> AppContext:
    """The AppContext of this invocation; a command's own --profile overrides the global one."""
    app = ctx.find_root().obj
    if not isinstance(app, AppContext):  # invoked without the root callback (tests of sub-apps)
        app = AppContext.create()
        ctx.find_root().obj = app
    if profile is not None and profile != app.profile_name:
        app.profile_name = profile
        app._profile = None
    return app


class CommandContext:
    """What a command uses of Click's context when mqcli.cli.fast runs it without
    Click: `find_root().obj` (the AppContext), `meta` (shared by the whole
    command tree) and `call_on_close` (run, last first, when the command ends)."""

    def __init__(self, obj: AppContext) -> None:
        self.obj = obj
        self.meta: dict[str, object] = {}
        self._on_close = ExitStack()  # as Click's: every callback runs, whatever one raises

    def find_root(self) -> CommandContext:
        return self

    def call_on_close(self, f: Callable[[], object]) -> Callable[[], object]:
        self._on_close.callback(f)
        return f

    def close(self) -> None:
        self._on_close.close()
