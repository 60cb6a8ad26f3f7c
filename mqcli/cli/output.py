"""The one output funnel for what is not a message stream: the tables and
JSON documents of the admin, inspect and status commands of both brokers.

Message streams (consume, group-consume, subscribe, rpc call) have their own
vocabulary, `-o auto|raw|json|human` plus `-f TEMPLATE` (mqcli.cli.io).
Everything else that prints rows takes `-o auto|table|tsv|json` through
`TableOutputOpt` and prints through `emit()`:

* `table`: a Rich table;
* `tsv`: tab-separated columns with a header row, so `cut` and `awk` work on it
  (a table's title goes to stderr);
* `auto` (the default): `table` on a terminal, `tsv` in a pipe;
* `json`: one JSON document, for scripts.

A command that accepts only some of these (a one-document command such as
`config show`, or one whose normal result is a status line on stderr) declares
its own choices with `output_option()`, so its help lists only what it accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from mqcli.cli import params
from mqcli.cli.context import AppContext

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, built with less work at import (see mqcli/core/_dataclass.py)
    from mqcli.core._dataclass import dataclass

TableFormat = Literal["auto", "table", "tsv", "json"]
"""-o of every command that prints rows."""
StatusFormat = Literal["auto", "json"]
"""-o of a command whose result is a status line on stderr (auto) or a JSON document."""
DocumentFormat = Literal["yaml", "json"]
"""-o of a command that prints one document (config show)."""


def output_option(choices: Any, help: str) -> Any:
    """The `-o/--output` option for a Literal of `choices` (typer checks the
    value: anything else is a usage error, exit 2); the help shows the choices
    as `a|b|c`, as kcat and kafkactl do."""
    return params.Option(
        "--output",
        "-o",
        metavar="|".join(get_args(choices)),
        case_sensitive=False,
        help=help,
    )


TableOutputOpt = Annotated[
    TableFormat,
    output_option(
        TableFormat,
        "auto: table on a terminal, tsv in a pipe; table: a table; "
        "tsv: tab-separated columns under a header row; json: one JSON document.",
    ),
]


@dataclass(frozen=True)
class Table:
    """Rows under column names.  `title` heads a Rich table; with tsv it goes to
    stderr first, so stdout stays plain rows."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    title: str | None = None


def emit(app: AppContext, output: str, document: Any, *tables: Table, note: str | None = None) -> None:
    """Print a command's result as `output` asks: `document` for json, else each
    table (`note`, when given, is a line on stderr before them)."""
    if output == "json":
        write_json(app, document)
        return
    rich = output == "table" or (output == "auto" and app.stdout_isatty)
    if note is not None:
        app.err.print(note)
    for table in tables:
        if rich:
            _rich_table(app, table)
        else:
            _tsv(app, table)


def write_json(app: AppContext, obj: Any) -> None:
    """One JSON document on stdout, for scripts."""
    import json  # here: the one-message commands never write a document

    app.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str).encode("utf-8") + b"\n")
    app.stdout.flush()


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _rich_table(app: AppContext, table: Table) -> None:
    from rich.table import Table as RichTable

    out = RichTable(*table.columns, title=table.title, title_justify="left")
    for row in table.rows:
        out.add_row(*(_cell(v) for v in row))
    app.out.print(out)


def _tsv(app: AppContext, table: Table) -> None:
    if table.title is not None:
        app.err.print(table.title)
    lines = ["\t".join(c.upper() for c in table.columns)]
    lines += ["\t".join(_cell(v) for v in row) for row in table.rows]
    app.stdout.write(("\n".join(lines) + "\n").encode("utf-8"))
    app.stdout.flush()
