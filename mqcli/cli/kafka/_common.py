"""Helpers shared by the `mqcli kafka` commands (no kafka-python imports here)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any, Optional

from mqcli.cli import params
from mqcli.cli.context import AppContext

if TYPE_CHECKING:
    import typer

ENGINE_META = "mqcli.kafka.engine"  # ctx.meta key: the `mqcli kafka --engine` value


def kafka_settings(app: AppContext, ctx: typer.Context) -> tuple[Any, str]:
    """(KafkaSettings, profile name) of this invocation, `engine` resolved
    (--engine, $MQCLI_KAFKA_ENGINE, profile, installed); with --debug, the
    engine's own logs on stderr until the command ends."""
    from mqcli.core.kafka.engine import NATIVE, enable_library_logs, label, resolve

    profile = app.profile
    settings = resolve(profile.kafka, ctx.meta.get(ENGINE_META))
    app.debug_log(f"kafka engine: {label(settings.engine)}")
    if settings.engine == NATIVE:
        from mqcli.core.kafka.native import describe

        app.debug_log(f"kafka native loops: {describe()}")
    if app.debug:
        ctx.call_on_close(enable_library_logs(settings, app.err.file, profile.secrets()))
    return settings, profile.name


def kafka(
    ctx: typer.Context,
    engine: Annotated[
        Optional[str],
        params.Option(
            "--engine",
            metavar="NAME",
            help="Kafka client library: kafka-python, librdkafka or native (librdkafka with mqcli's compiled "
            "produce and consume loops; default: $MQCLI_KAFKA_ENGINE, else the profile's kafka.engine, else native when built, "
            "else librdkafka when confluent-kafka is installed, else kafka-python).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Apache Kafka: produce, consume, group-consume, topics, groups, info.

    Example: mqcli kafka --engine librdkafka consume events -e
    """
    # Read by kafka_settings() in the command; ctx.meta is shared by the whole command tree.
    ctx.meta[ENGINE_META] = engine


ISOLATION_LEVELS = ("read_uncommitted", "read_committed")

IsolationOpt = Annotated[
    Optional[str],
    params.Option(
        "--isolation",
        metavar="read_committed|read_uncommitted",
        help="read_committed: only records of committed transactions (-e stops at the last stable offset); default: the profile's kafka.consumer.isolation_level, normally read_uncommitted.",
        show_default=False,
    ),
]


def check_isolation(isolation: str | None) -> str | None:
    """--isolation as given, normalised; UsageError when it is neither level."""
    if isolation is None:
        return None
    level = isolation.strip().lower()
    if level not in ISOLATION_LEVELS:
        from mqcli.core.errors import UsageError

        raise UsageError(f"invalid --isolation {isolation!r} (use read_committed or read_uncommitted)")
    return level


def with_isolation(settings: Any, isolation: str | None) -> Any:
    """KafkaSettings with --isolation applied (None: as the profile says)."""
    level = check_isolation(isolation)
    if level is None:
        return settings
    return dataclasses.replace(settings, consumer=dataclasses.replace(settings.consumer, isolation_level=level))
