"""What `mqcli diff`, `apply` and `export` share: their options, reading the
manifest, and the broker clients, opened on first use and closed at the end."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from mqcli.cli.context import AppContext
from mqcli.core.errors import ConfigError

if TYPE_CHECKING:
    from mqcli.core.kafka.contract import Admin
    from mqcli.core.rabbit.client import RabbitClient
    from mqcli.core.rabbit.management import ManagementClient
    from mqcli.core.topology.manifest import Manifest
    from mqcli.core.topology.plan import Scope

FileOpt = Annotated[
    str,
    typer.Option(
        "--file",
        "-f",
        metavar="FILE",
        help="The topology manifest (YAML; - reads it from stdin).",
        show_default=False,
    ),
]
PruneOpt = Annotated[
    bool,
    typer.Option(
        "--prune",
        help="Also delete what the manifest does not name (topics, exchanges, queues, bindings, policies, "
        "topic config overrides); with --match, only names it matches.",
    ),
]
MatchOpt = Annotated[
    Optional[str],
    typer.Option(
        "--match",
        "-m",
        metavar="REGEX",
        help="Only live objects whose name this regex matches (anywhere in the name) are pruned or exported; "
        "a binding counts when its destination matches, and its source too unless built in.",
        show_default=False,
    ),
]


def read_file(app: AppContext, file: str) -> Manifest:
    """The manifest from FILE or stdin (-); ConfigError (exit 3) with file:line when invalid."""
    from mqcli.core.topology.manifest import read_manifest

    if file == "-":
        try:
            text = app.stdin.read().decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError("<stdin>: not a UTF-8 text file") from None
        return read_manifest(Path("<stdin>"), app.env, text)
    return read_manifest(Path(file).expanduser(), app.env)


def scope_of(match: str | None) -> Scope:
    from mqcli.core.rabbit.management_views import name_filter
    from mqcli.core.topology.plan import match_scope

    name_filter(match)  # a bad regex is a usage error (exit 2)
    return match_scope(match)


class Session:
    """The broker clients of one command, each opened when first needed."""

    def __init__(self, app: AppContext, ctx: typer.Context, vhost: str | None) -> None:
        self.app = app
        self.ctx = ctx
        self.vhost = vhost if vhost is not None else app.profile.rabbit.vhost
        self._admin: Admin | None = None
        self._amqp: RabbitClient | None = None
        self._management: ManagementClient | None = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._admin is not None:
            self._admin.close()
        if self._amqp is not None:
            self._amqp.close()

    def kafka(self) -> Admin:
        if self._admin is None:
            from mqcli.cli.kafka._common import kafka_settings
            from mqcli.core.kafka.engine import admin

            settings, profile = kafka_settings(self.app, self.ctx)
            self._admin = admin(settings, profile)
        return self._admin

    def management(self) -> ManagementClient:
        if self._management is None:
            from mqcli.cli.rabbit._management import management

            self._management = management(self.app)
        return self._management

    def amqp(self) -> RabbitClient:
        if self._amqp is None:
            from mqcli.cli.rabbit._common import connect

            profile = self.app.profile
            if self.vhost == profile.rabbit.vhost:
                self._amqp = connect(self.app)
            else:  # the manifest's vhost, not the profile's
                import dataclasses

                from mqcli.core.rabbit.client import RabbitClient

                settings = dataclasses.replace(profile.rabbit, vhost=self.vhost)
                self._amqp = RabbitClient(settings, profile=profile.name)
        return self._amqp

    def live(self, desired: Manifest, scope: Scope, *, everything_in_scope: bool) -> Manifest:
        """The live state of the brokers the manifest names: the objects it names,
        and with `everything_in_scope` (--prune) every one `scope` takes in."""
        from mqcli.core.topology.live import read_kafka, read_rabbit
        from mqcli.core.topology.manifest import Manifest

        live = Manifest()
        if desired.kafka is not None:
            names = desired.kafka.topics
            live.kafka = read_kafka(self.kafka(), lambda n: n in names or (everything_in_scope and scope(n)))
        if desired.rabbit is not None:
            live.rabbit = read_rabbit(self.management(), self.vhost)
        return live


def plan_json(plan: Any, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = plan.to_dict()
    doc.update(extra)
    return doc


_STYLES = {"+": "green", "~": "yellow", "-": "red", "!": "bold red"}


def write_lines(app: AppContext, lines: list[str]) -> None:
    """Plan lines on stdout: coloured by their sign on a terminal, plain text in a pipe."""
    if app.stdout_isatty:
        for line in lines:
            app.out.print(line, style=_STYLES.get(line[:1]) if app.color else None, soft_wrap=True)
        return
    app.stdout.write("".join(line + "\n" for line in lines).encode("utf-8"))
    app.stdout.flush()
