"""Helpers shared by the `mqcli kafka` commands (no kafka-python imports here)."""

from __future__ import annotations

from typing import Any

import typer

from mqcli.cli.context import AppContext

ENGINE_META = "mqcli.kafka.engine"  # ctx.meta key: the `mqcli kafka --engine` value


def kafka_settings(app: AppContext, ctx: typer.Context) -> tuple[Any, str]:
    """(KafkaSettings, profile name) of this invocation, `engine` resolved
    (--engine, $MQCLI_KAFKA_ENGINE, profile, installed); with --debug, the
    engine's own logs on stderr until the command ends."""
    from mqcli.core.kafka.engine import enable_library_logs, resolve

    profile = app.profile
    settings = resolve(profile.kafka, ctx.meta.get(ENGINE_META))
    app.debug_log(f"kafka engine: {settings.engine}")
    if app.debug:
        ctx.call_on_close(enable_library_logs(settings, app.err.file, profile.secrets()))
    return settings, profile.name
