"""Helpers shared by the `mqcli kafka` commands (no kafka-python imports here)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from mqcli.cli.context import AppContext

ENGINE_META = "mqcli.kafka.engine"  # ctx.meta key: the `mqcli kafka --engine` value

TableOutputOpt = Annotated[str, typer.Option("--output", "-o", help="table (on a terminal; tab-separated in a pipe) or json.")]


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


def write_json(app: AppContext, obj: Any) -> None:
    """Requested output for scripts: one JSON document on stdout."""
    app.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str).encode("utf-8") + b"\n")
    app.stdout.flush()


def write_table(app: AppContext, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    """A Rich table on a terminal; tab-separated columns (with a header) in a pipe."""
    if app.stdout_isatty:
        from rich.table import Table

        table = Table(*columns, title=title, title_justify="left")
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        app.out.print(table)
        return
    lines = ["\t".join(c.upper() for c in columns)]
    lines += ["\t".join("" if v is None else str(v) for v in row) for row in rows]
    app.stdout.write(("\n".join(lines) + "\n").encode("utf-8"))
    app.stdout.flush()


def table_format(value: str) -> str:
    """--output for admin commands: table (a Rich table on a terminal) or json."""
    from mqcli.core.errors import UsageError

    v = value.lower()
    if v not in ("table", "json"):
        raise UsageError(f"invalid --output {value!r} (use table or json)")
    return v
