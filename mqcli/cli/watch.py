"""`--watch [INTERVAL]`: the one runner of every live view (`rabbit queues list`,
`rabbit overview`, `kafka groups list|describe|lag`, `kafka topics describe`).

Each command says how to take a snapshot (rows with their gauges, see
mqcli.core.watch) and this module takes one every INTERVAL (default 2s) and shows it:

* on a terminal (`-o auto` or `table`): a Rich Live table redrawn in place, with
  the rate of each gauge per second, an ETA to zero where it shrinks and a
  sparkline of the last minute;
* when stdout is not a terminal, or with `-o json`: JSON Lines, one object per
  row per snapshot with its `time`, flushed at each snapshot (`-o table` into a
  pipe prints one table per snapshot);

until Ctrl-C, which ends it with exit 0.  A failed snapshot (the broker gone)
ends it with that error's exit code, except up to two in a row that could not
connect or timed out after the first snapshot (core/watch.Refreshes).
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer
from typer.core import TyperCommand

from mqcli.cli.context import AppContext
from mqcli.core.errors import UsageError
from mqcli.core.parse import parse_duration

if TYPE_CHECKING:
    from mqcli.core.watch import Shown, Tracker, View, WatchRow

WATCH = "--watch"
DEFAULT = "2s"


def _check_interval(value: Optional[str]) -> Optional[str]:
    """A bad INTERVAL is a usage error (exit 2) before the command connects anywhere."""
    if value is not None:
        try:
            interval_of(value)
        except UsageError as e:
            raise typer.BadParameter(e.message) from None
    return value


WatchOpt = Annotated[
    Optional[str],
    typer.Option(
        WATCH,
        metavar="INTERVAL",
        callback=_check_interval,
        help="Keep watching: refresh every INTERVAL (the value may be left out: 2s) until Ctrl-C, with rates, "
        "an ETA and a trend per row; JSON Lines when stdout is not a terminal or with -o json. "
        "A word after it is taken as INTERVAL only when it is a duration (or write --watch=INTERVAL).",
        show_default=False,
    ),
]


def with_default_interval(args: Sequence[str], value_options: set[str]) -> list[str]:
    """`args` with the default INTERVAL after a bare `--watch` (the value is optional:
    a following word is taken only when it is a duration).  `value_options`: the
    command's options that take a value, whose values are skipped (`--match --watch`
    matches the text '--watch')."""
    out = list(args)
    i = 0
    while i < len(out):
        word = out[i]
        if word == "--":
            break
        if word == WATCH:
            if i + 1 >= len(out) or not _is_duration(out[i + 1]):
                out.insert(i + 1, DEFAULT)
            i += 2
        elif word in value_options:
            i += 2
        else:
            i += 1
    return out


def _is_duration(word: str) -> bool:
    try:
        parse_duration(word)
    except UsageError:
        return False
    return True


class WatchCommand(TyperCommand):
    """A command with `--watch [INTERVAL]` (an option whose value may be left out,
    which typer's parser has no way to say)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        takes_value = {
            opt
            for p in self.params
            if getattr(p, "param_type_name", "") == "option" and not getattr(p, "is_flag", False)
            for opt in (*p.opts, *p.secondary_opts)
        }
        takes_value.discard(WATCH)
        return super().parse_args(ctx, with_default_interval(args, takes_value))


F = TypeVar("F", bound=Callable[..., Any])


def watchable(command: F) -> F:
    """Mark a verb that mqcli.cli.lazy builds on its own as a WatchCommand (a verb
    registered in a group's Typer app passes `cls=WatchCommand` instead)."""
    # Read by mqcli.cli.lazy.build_command; setattr, as mypy knows no attributes of a function.
    setattr(command, "command_class", WatchCommand)  # noqa: B010
    return command


def interval_of(watch: str) -> float:
    seconds = parse_duration(watch)
    if seconds <= 0:
        raise UsageError("--watch INTERVAL must be more than 0")
    return seconds


def run_watch(
    app: AppContext,
    output: str,
    watch: str,
    view: View,
    snapshot: Callable[[], tuple[str | None, list[WatchRow]]],
) -> None:
    """Show `snapshot()` (a title and rows) every INTERVAL until Ctrl-C (then return: exit 0)."""
    from mqcli.core.errors import MqcliError
    from mqcli.core.watch import Refreshes, Tracker

    if output == "tsv":
        raise UsageError("--watch shows a live table or JSON Lines: use -o auto, table or json")
    every = interval_of(watch)
    jsonl = output == "json" or (output == "auto" and not app.stdout_isatty)
    live_table = not jsonl and app.stdout_isatty
    tracker = Tracker(view)
    refreshes = Refreshes()
    live: Any = None
    frame: tuple[list[Shown], int, str] | None = None  # the live table's last rows, head and heading
    final: Callable[[], Any] | None = None  # the whole last table, which Live prints when it stops
    measured: dict[int, tuple[WatchRow, tuple[int, ...]]] = {}  # see _fitting
    body_cache: list[Any] = []  # see _Frame
    next_at = time.monotonic()
    # Ctrl-C ends a watch even where SIGINT came in ignored (a background job of a
    # script, which then stops it with kill -INT).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while True:
            try:
                title, rows = snapshot()
            except MqcliError as e:
                refreshes.failed(e)  # raises unless the watch goes on
                failure = (
                    f"refresh at {time.strftime('%H:%M:%S')} failed ({refreshes.failed_in_a_row} in a row): "
                    f"{e.message}; trying again in {watch}"
                )
                if live is not None and frame is not None:
                    # On the live table, not as a line on stderr that the next redraw would scroll away.
                    shown, head, heading = frame
                    live.update(_Frame(view, shown, head, f"{heading} · {failure}", body_cache), refresh=True)
                else:
                    app.warn(failure)
            else:
                refreshes.ok()
                now = time.monotonic()
                # JSON Lines carry no sparkline, and a live table draws one only for the rows it shows.
                shown = tracker.update(now, rows, trends=not (jsonl or live_table))
                if jsonl:
                    _json_lines(app, view, shown)
                else:
                    when = time.strftime("%H:%M:%S")
                    if live_table:
                        add_trend = tracker.trends(now)
                        final = _final(app, view, shown, add_trend, title, watch, when)
                        shown, head = _fitting(view, tracker, add_trend, shown, app.out.size.height, measured)
                        frame = (shown, head, _heading(title, watch, when))
                        table: Any = _Frame(view, *frame, body_cache)
                    else:
                        table = _table(app, view, shown, title, watch, when)
                    if not live_table:
                        app.out.print(table)
                    elif live is None:
                        from rich.live import Live

                        live = Live(table, console=app.out, auto_refresh=False, transient=False)
                        live.start(refresh=True)
                    else:
                        live.update(table, refresh=True)
            next_at = max(next_at + every, time.monotonic())
            time.sleep(max(next_at - time.monotonic(), 0))
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a watch ends: exit 0
    finally:
        if live is not None:
            if final is not None:
                # Live shows its last table whole when it stops: every row, not only those that fit.
                live.update(final(), refresh=False)
            live.stop()
        signal.signal(signal.SIGINT, previous)


# json.dumps(ensure_ascii=False, default=str) builds an encoder per call: one for all rows instead.
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _json_lines(app: AppContext, view: View, shown: list[Shown]) -> None:
    from mqcli.core.watch import timestamp

    ts = timestamp()
    lines = [_ENCODE(s.record(view, ts)) for s in shown]
    if lines:
        app.stdout.write(("\n".join(lines) + "\n").encode("utf-8"))
        app.stdout.flush()


def _heading(title: str | None, watch: str, when: str) -> str:
    return f"{title + ' · ' if title else ''}{when}, every {watch} (Ctrl-C to stop)"


def _table(app: AppContext, view: View, shown: list[Shown], title: str | None, watch: str, when: str) -> Any:
    return _rich_table(view, [_texts(s, view) for s in shown], _heading(title, watch, when))


def _texts(shown: Shown, view: View) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in shown.cells(view))


def _rich_table(view: View, rows: list[tuple[str, ...]], heading: str | None) -> Any:
    from rich.table import Table as RichTable

    table = RichTable(*view.header(), title=heading, title_justify="left")
    for cells in rows:
        table.add_row(*cells)
    return table


class _Frame:
    """The live table as Rich draws it (its title over the table's body), but with the
    body's segments kept while its rows stay the same: the clock in the title changes
    every refresh, the rows of an idle vhost do not, and drawing them is most of a
    refresh's work.  `cache`: [key, segments] of the last body drawn.  The first
    `head` rows are the ones on the screen (see _fitting): when each of their cells
    fits its column on one line, they are drawn here as Rich draws such a row, and
    Rich draws the rest (header, borders, the rows past the crop) -- 5 times less work."""

    def __init__(self, view: View, shown: list[Shown], head: int, heading: str, cache: list[Any]) -> None:
        self.view = view
        self.rows = [_texts(s, view) for s in shown]
        self.head = head
        self.heading = heading
        self.cache = cache

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.segment import Segment
        from rich.style import Style

        key = (self.rows, tuple(vars(options).values()))
        if not self.cache or self.cache[0] != key:
            body = self._drawn(console, options) if self.head else None
            if body is None:
                body = list(console.render(_rich_table(self.view, self.rows, None), options))
            self.cache[:] = [key, body]
        segments: list[Segment] = self.cache[1]
        # As rich.table.Table draws its title: across the table's width (its first line's), left-justified.
        width = 0
        for segment in segments:
            if "\n" in segment.text:
                break
            width += segment.cell_length
        title = console.render_str(self.heading, style=Style.pick_first(None, "table.title"), highlight=False)
        yield from console.render(title, options.update(width=width, highlight=False, height=None, justify="left"))
        yield from segments

    def _drawn(self, console: Any, options: Any) -> list[Any] | None:
        """The body with its first `head` rows drawn here; None when one of their cells
        takes more than one line of its column (Rich then draws them all)."""
        from rich.box import HEAVY_HEAD
        from rich.cells import cell_len
        from rich.segment import Segment

        head, rest = self.rows[: self.head], self.rows[self.head :]
        # Rich draws a table of the other rows and of those of the first rows that hold
        # a column's widest cell or longest word: every column keeps its width.
        sizes = [_measures(row) for row in head]
        extra = {column.index(max(column)) for column in zip(*sizes, strict=True)}
        lines = list(Segment.split_lines(console.render(
            _rich_table(self.view, rest + [head[i] for i in sorted(extra)], None), options
        )))  # fmt: skip
        box = HEAVY_HEAD.substitute(options, safe=console.safe_box)  # rich.table.Table's box
        top = "".join(segment.text for segment in lines[0])
        widths = [len(part) for part in top[1:-1].split(box.top_divider)]
        if top != box.get_top(widths):
            return None
        rule = box.get_row(widths, "head", edge=True)
        under = next((i + 1 for i, line in enumerate(lines) if "".join(x.text for x in line) == rule), None)
        if under is None:
            return None
        by_rich: dict[tuple[str, int], str | None] = {}  # the same few texts recur (sparklines, rates)
        drawn = []
        for row in head:
            cells = []
            for text, width in zip(row, widths, strict=True):
                room = width - 2  # a space of padding on each side
                if room >= len(text) and text.isprintable() and cell_len(text) == len(text):
                    cells.append(f" {text}{' ' * (room - len(text))} ")
                    continue
                # Cut, wrapped or wide: Rich draws the cell alone, as its table would.
                key = (text, width)
                if key not in by_rich:
                    by_rich[key] = _cell_line(console, options, text, width)
                alone = by_rich[key]
                if alone is None:
                    return None
                cells.append(alone)
            drawn.append([Segment(box.mid_left + box.mid_vertical.join(cells) + box.mid_right)])
        out: list[Any] = []
        for line in [*lines[:under], *drawn, *lines[under:]]:
            out.extend(line)
            out.append(Segment.line())
        return out


def _cell_line(console: Any, options: Any, text: str, width: int) -> str | None:
    """A cell of `width` as rich.table.Table draws a text in a default column (padded
    by a space each side, left-justified, cut with an ellipsis); None when that takes
    more than one line or any style."""
    from rich.padding import Padding

    cell_options = options.update(
        width=width, justify="left", no_wrap=False, overflow="ellipsis", height=None, highlight=False
    )
    lines = console.render_lines(Padding(text, (0, 1)), cell_options)
    if len(lines) != 1 or any(segment.style or segment.control for segment in lines[0]):
        return None
    return "".join(segment.text for segment in lines[0])


def _final(
    app: AppContext,
    view: View,
    shown: list[Shown],
    add_trend: Callable[[Shown], Shown],
    title: str | None,
    watch: str,
    when: str,
) -> Callable[[], Any]:
    return lambda: _table(app, view, [add_trend(s) for s in shown], title, watch, when=when)


def _fitting(
    view: View,
    tracker: Tracker,
    add_trend: Callable[[Shown], Shown],
    shown: list[Shown],
    height: int,
    measured: dict[int, tuple[WatchRow, tuple[int, ...]]],
) -> tuple[list[Shown], int]:
    """The rows a live table needs to look exactly as it would with all of them, with
    their sparklines.  Rich's Live draws the first `height` - 1 lines of the table and
    "..." (it renders every row, then crops), so rendering 1,000 queues to show 20
    cost a whole core.  Kept: the first `height` - 3 rows (each takes a line at least,
    under a title, a header and two rules, so they overflow the screen) and, after them,
    where the crop never shows them, a row holding the widest cell and one holding the
    longest word of each column among the rest: Rich sizes a column from exactly
    those two measures of its cells, so every column keeps its width.
    `measured`: the measures of each WatchRow's own cells, kept between refreshes
    (a snapshot reuses the WatchRow of an unchanged queue).  Returns the rows and how
    many of them are the first ones (0: all rows, each drawn)."""
    head_rows = max(height - 3, 1)
    if len(shown) <= head_rows + 2:
        return [add_trend(s) for s in shown], 0
    head, rest = shown[:head_rows], shown[head_rows:]
    own = len(view.columns)
    now: dict[int, tuple[WatchRow, tuple[int, ...]]] = {}
    table: list[tuple[int, ...]] = []
    extras: dict[tuple[Any, ...], tuple[int, ...]] = {}  # the rates and ETA are mostly the same few texts
    for s in rest:
        row = s.row
        hit = measured.get(id(row))
        if hit is None or hit[0] is not row:
            hit = (row, _measures(row.cells))
        now[id(row)] = hit
        added = s.cells(view)[own:]
        sizes = extras.get(added)
        if sizes is None:
            sizes = extras[added] = _measures(added)
        table.append(hit[1] + sizes)
    measured.clear()
    measured.update(now)
    # Per column: its cells' widths, then its cells' longest words.
    keep = {column.index(max(column)) for column in zip(*table, strict=True)}
    # Sparklines were not drawn for these rows: the one starting earliest is the widest and wordiest.
    starts = [(t, i) for i, s in enumerate(rest) if (t := tracker.trend_start(s.row.key)) is not None]
    if starts:
        keep.add(min(starts)[1])
    return [add_trend(s) for s in head] + [add_trend(rest[i]) for i in sorted(keep)], head_rows


def _measures(cells: tuple[Any, ...]) -> tuple[int, ...]:
    """Each cell's width, then each cell's longest word, as rich.text.Text measures a
    table cell (markup, emoji and highlighting are off on mqcli's consoles)."""
    from rich.cells import cell_len

    widths = []
    words = []
    for value in cells:
        text = "" if value is None else str(value)
        width = max(map(cell_len, text.splitlines()), default=0)
        widths.append(width)
        words.append(max(map(cell_len, text.split()), default=width))
    return (*widths, *words)
