"""Requested output that is not a message stream: JSON documents and tables
(admin, inspect and status commands of both brokers)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mqcli.cli.context import AppContext


def write_json(app: AppContext, obj: Any) -> None:
    """One JSON document on stdout, for scripts."""
    app.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str).encode("utf-8") + b"\n")
    app.stdout.flush()


def write_table(
    app: AppContext, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None
) -> None:
    """A Rich table on a terminal; tab-separated columns (with a header row) in a pipe,
    so `cut` and `awk` work on it."""
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
