"""The root Typer app, the root callback and the one error boundary."""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Optional

import typer

from mqcli import __version__
from mqcli.cli.context import AppContext
from mqcli.cli.lazy import LazyGroup
from mqcli.cli.options import complete_profiles
from mqcli.core.errors import ExitCode, MqcliError, mask_secrets


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


class MqcliGroup(LazyGroup):
    """Root group: every error of every command ends here, once."""

    # Built on first use (mqcli.cli.lazy), so `mqcli --help` imports no command
    # module.  Command modules import only typer and the core; broker
    # libraries are imported inside the commands.
    lazy_commands: ClassVar[Mapping[str, str]] = {
        "ping": "mqcli.cli.ping:ping",
        "config": "mqcli.cli.config:app",
        "kafka": "mqcli.cli.kafka:app",
        "rabbit": "mqcli.cli.rabbit:app",
        "move": "mqcli.cli.move:move",
        "copy": "mqcli.cli.move:copy",
        "diff": "mqcli.cli.topology.diff:diff",
        "apply": "mqcli.cli.topology.apply:apply",
        "export": "mqcli.cli.topology.export:export",
    }

    def invoke(self, ctx: Any) -> Any:  # a Click Context (typer vendors Click: no stable public type)
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except MqcliError as e:
            _report(ctx, e, f"mqcli: error: {e.message}" + (f" ({e.hint})" if e.hint else ""))
            raise typer.Exit(int(e.exit_code)) from None
        except BrokenPipeError:
            # `mqcli ... | head -1`: the reader has what it wanted.
            _quiet_stdout()
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            _stderr("mqcli: interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Terminated:
            _stderr("mqcli: terminated")
            raise typer.Exit(int(ExitCode.TERMINATED)) from None
        except Exception as e:  # a bug, or a library error nobody mapped: still one line
            _report(ctx, e, f"mqcli: error: unexpected {type(e).__name__}: {e} (run with --debug for details)")
            raise typer.Exit(int(ExitCode.FAILURE)) from None


def _stderr(text: str) -> None:
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _report(ctx: typer.Context, exc: BaseException, line: str) -> None:
    app = ctx.obj if isinstance(ctx.obj, AppContext) else None
    secrets = app.secrets() if app else []
    if app is not None and app.debug:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        _stderr(mask_secrets(tb.rstrip(), secrets))
    _stderr(mask_secrets(line, secrets))


app = typer.Typer(
    cls=MqcliGroup,
    name="mqcli",
    help="One command line for Apache Kafka and RabbitMQ.\n\nExample: printf 'a\\nb\\n' | mqcli kafka produce events",
    no_args_is_help=True,
    # Profiles hold passwords: never print local variables in tracebacks.
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mqcli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Optional[str],
        typer.Option(
            "--config",
            metavar="PATH",
            help="Config file (default: $MQCLI_CONFIG, ./mqcli.yaml, ~/.config/mqcli/config.yaml).",
            envvar="MQCLI_CONFIG",
            show_envvar=True,
        ),
    ] = None,
    profile: Annotated[
        Optional[str],
        typer.Option(
            "--profile",
            "-P",
            metavar="NAME",
            help="Profile to use (default: $MQCLI_PROFILE, then the file's default).",
            envvar="MQCLI_PROFILE",
            show_envvar=True,
            autocompletion=complete_profiles,
        ),
    ] = None,
    connect_timeout: Annotated[
        Optional[str],
        typer.Option(
            "--connect-timeout",
            metavar="DURATION",
            help="How long to wait for a broker to answer before failing with exit code 4 (default 5s, or the profile's).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks and debug logs (secrets masked). Also MQCLI_DEBUG=1.")
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, show_default=False, help="More diagnostics on stderr.")
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No summaries or progress on stderr (errors still print).")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """mqcli: produce, consume and inspect Kafka and RabbitMQ from the shell.

    Example: mqcli kafka consume events --offset beginning -e --output json
    """
    app_ctx = ctx.obj if isinstance(ctx.obj, AppContext) else AppContext.create()
    app_ctx.config_path = config
    app_ctx.profile_name = profile
    app_ctx.debug = app_ctx.debug or debug
    app_ctx.verbose = verbose
    if connect_timeout is not None:
        from mqcli.core.parse import parse_duration

        app_ctx.connect_timeout = parse_duration(connect_timeout)
    app_ctx.quiet = quiet
    ctx.obj = app_ctx
    if threading_main():
        signal.signal(signal.SIGTERM, _on_sigterm)


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def main() -> None:
    """Entry point of the `mqcli` script and of `python -m mqcli`."""
    # A fixed program name: usage lines, and the _MQCLI_COMPLETE variable the
    # completion scripts set, are the same however mqcli was started.
    app(prog_name="mqcli")
