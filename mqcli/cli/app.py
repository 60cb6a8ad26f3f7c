"""The console entry (`mqcli`, `python -m mqcli`), the global options' effect
and the one error boundary.

Nothing here imports typer: `main` first offers the command line to the
one-shot fast path (mqcli.cli.fast), which runs the hot one-message commands
without typer and Click; everything else goes through the typer app of
mqcli.cli.root, imported only then.  `mqcli.cli.app.app` (and `root`,
`MqcliGroup`) are that module's, as before.
"""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING, Any

from mqcli.core.errors import ExitCode, MqcliError, mask_secrets

if TYPE_CHECKING:
    from mqcli.cli.context import AppContext
    from mqcli.cli.root import MqcliGroup as MqcliGroup
    from mqcli.cli.root import app as app
    from mqcli.cli.root import root as root


class Terminated(BaseException):
    """Raised by the SIGTERM handler; a BaseException so library code catching
    Exception cannot swallow it (as with KeyboardInterrupt)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at devnull so the final flush cannot fail."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _stderr(text: str) -> None:
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _report(app: AppContext | None, exc: BaseException, line: str) -> None:
    secrets = app.secrets() if app else []
    if app is not None and app.debug:
        import traceback  # only with --debug: a start-up cost of every command otherwise

        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        _stderr(mask_secrets(tb.rstrip(), secrets))
    _stderr(mask_secrets(line, secrets))


def failure_exit_code(exc: BaseException, app: AppContext | None) -> int | None:
    """The error boundary: write the one line `exc` ends a command with (and its
    traceback with --debug) and return the exit code; None for what is not a
    command's failure (SystemExit and the like), which the caller re-raises."""
    if isinstance(exc, MqcliError):
        _report(app, exc, f"mqcli: error: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""))
        return int(exc.exit_code)
    if isinstance(exc, BrokenPipeError):
        # `mqcli ... | head -1`: the reader has what it wanted.
        _quiet_stdout()
        return 0
    if isinstance(exc, KeyboardInterrupt):
        _stderr("mqcli: interrupted")
        return int(ExitCode.INTERRUPTED)
    if isinstance(exc, Terminated):
        _stderr("mqcli: terminated")
        return int(ExitCode.TERMINATED)
    if isinstance(exc, Exception):  # a bug, or a library error nobody mapped: still one line
        _report(app, exc, f"mqcli: error: unexpected {type(exc).__name__}: {exc} (run with --debug for details)")
        return int(ExitCode.FAILURE)
    return None


def configure(
    app: AppContext,
    *,
    config: str | None,
    profile: str | None,
    connect_timeout: str | None,
    debug: bool,
    verbose: int,
    quiet: bool,
) -> None:
    """What the global options do (the root callback, and the fast path's equivalent)."""
    app.config_path = config
    app.profile_name = profile
    app.debug = app.debug or debug
    app.verbose = verbose
    if connect_timeout is not None:
        from mqcli.core.parse import parse_duration

        app.connect_timeout = parse_duration(connect_timeout)
    app.quiet = quiet
    if threading_main():
        signal.signal(signal.SIGTERM, _on_sigterm)


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def main() -> None:
    """Entry point of the `mqcli` script and of `python -m mqcli`."""
    from mqcli.cli.fast import run

    code = run(sys.argv[1:])
    if code is not None:
        # The command is over and has closed what it opened: leave the
        # interpreter's last garbage collection out of the objects that exist
        # now (the imports' modules, classes and functions, freed with their
        # modules anyway); it walked all of them on the way out (about 8% of
        # a one-message run's instructions).
        import gc

        gc.freeze()
        sys.exit(code)
    from mqcli.cli.root import app

    # A fixed program name: usage lines, and the _MQCLI_COMPLETE variable the
    # completion scripts set, are the same however mqcli was started.
    app(prog_name="mqcli")


def __getattr__(name: str) -> Any:
    """The typer app and its parts, from mqcli.cli.root (imported on first use)."""
    if name in ("app", "root", "MqcliGroup"):
        from mqcli.cli import root as module

        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
