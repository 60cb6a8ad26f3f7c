"""The root Typer app and its callback (the global options); built when a
command goes through typer (mqcli.cli.app.main)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Optional

import typer

from mqcli import __version__
from mqcli.cli.app import configure, failure_exit_code
from mqcli.cli.context import AppContext
from mqcli.cli.lazy import LazyGroup, evaluate_app_annotations
from mqcli.cli.options import complete_profiles


class MqcliGroup(LazyGroup):
    """Root group: every error of every command ends here, once."""

    # Built on first use (mqcli.cli.lazy), so `mqcli --help` imports no command
    # module.  Command modules import only typer (or, for the fast path's,
    # mqcli.cli.params) and the core; broker libraries are imported inside
    # the commands.
    lazy_commands: ClassVar[Mapping[str, str]] = {
        "ping": "mqcli.cli.ping:ping",
        "config": "mqcli.cli.config:app",
        "kafka": "mqcli.cli.kafka.group:app",
        "rabbit": "mqcli.cli.rabbit.group:app",
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
        except BaseException as e:
            code = failure_exit_code(e, ctx.obj if isinstance(ctx.obj, AppContext) else None)
            if code is None:
                raise
            raise typer.Exit(code) from None


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
    configure(
        app_ctx,
        config=config,
        profile=profile,
        connect_timeout=connect_timeout,
        debug=debug,
        verbose=verbose,
        quiet=quiet,
    )
    ctx.obj = app_ctx


# The root callback's annotations, evaluated once instead of each time typer
# reads them (see mqcli.cli.lazy.evaluate_annotations).
evaluate_app_annotations(app)
