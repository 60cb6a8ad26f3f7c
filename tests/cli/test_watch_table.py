"""The live table of a watch draws only the rows that fit (mqcli.cli.watch._fitting),
and must look exactly as the table of every row would on the same terminal."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from rich.console import Console
from rich.live import Live

from mqcli.cli import watch as watch_cli
from mqcli.cli.context import AppContext
from mqcli.core.errors import ConnectionFailed, TimeoutExpired
from mqcli.core.watch import Gauge, Shown, Tracker, View, WatchRow

VIEW = View(("queue", "note", "ready"), (Gauge("depth", "depth_per_s", "depth/s", eta=True, trend="value"),))


@pytest.fixture(autouse=True)
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal that Live draws on (the suite's TERM=dumb makes it draw nothing)."""
    monkeypatch.setenv("TERM", "xterm-256color")


def snapshots(count: int, *, narrow: bool = False) -> list[list[WatchRow]]:
    """Five refreshes of `count` queues: the widest name, the longest word and the
    longest history are all far below the first screen; one queue comes late.
    narrow: a cell of two words on the screen, which a narrow column wraps."""
    refreshes = []
    for n in range(5):
        rows = []
        for i in range(count):
            if i == count - 1 and n < 3:
                continue  # a queue that appears later: a shorter sparkline
            name = f"q-{i:04d}" + ("-a-much-longer-queue-name" if i == count - 7 else "")
            note = "several short words here" if i == count - 3 else ("x" * 18 if i == count - 5 else "")
            note = "two words" if i == 2 and narrow else note
            depth = (1000 - 40 * n) if i % 3 else i
            rows.append(WatchRow(name, (name, note, depth), {"queue": name}, {"depth": depth}))
        refreshes.append(rows)
    return refreshes


def rendered(shown: list[Shown], width: int, height: int, cache: list[Any] | None = None, head: int = 0) -> str:
    """The screen of a live table of `shown` (through watch_cli._Frame with `cache`)."""
    app = AppContext.create(stdout=io.BytesIO(), env={})
    if cache is None:
        table = watch_cli._table(app, VIEW, shown, "queues of vhost '/'", "2s", "12:00:00")
    else:
        table = watch_cli._Frame(VIEW, shown, head, watch_cli._heading("queues of vhost '/'", "2s", "12:00:00"), cache)
    out = io.StringIO()
    console = Console(
        file=out, force_terminal=True, width=width, height=height, markup=False, highlight=False, emoji=False
    )
    live = Live(table, console=console, auto_refresh=False, transient=False)
    live.start(refresh=True)
    frame = out.getvalue()  # what stays on the screen while it runs (stopping prints the whole table)
    live.stop()
    return frame


@pytest.mark.parametrize(
    ("width", "height", "narrow", "minutes", "drawn_here"),
    [
        (200, 50, False, 0, True),
        (120, 24, True, 0, True),
        # Narrow: the sparklines of the first minute start with blanks (Rich draws such a cell alone).
        (60, 24, False, 0, True),
        (60, 24, False, 1, True),  # a minute on, they are whole: long names are cut with an ellipsis
        (40, 12, False, 1, True),
        (40, 12, True, 1, False),
    ],
)
def test_the_fitting_rows_draw_the_same_screen(
    width: int, height: int, narrow: bool, minutes: int, drawn_here: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[bool] = []  # whether the frame drew the rows on the screen itself (each cell fits)
    own = watch_cli._Frame._drawn

    def spy(frame: Any, console: Any, options: Any) -> Any:
        body = own(frame, console, options)
        drawn.append(body is not None)
        return body

    monkeypatch.setattr(watch_cli._Frame, "_drawn", spy)
    everything, fitting = Tracker(VIEW), Tracker(VIEW)
    measured: dict[int, tuple[WatchRow, tuple[int, ...]]] = {}
    refreshes = snapshots(300, narrow=narrow)
    refreshes += refreshes[-1:] * 30 * minutes
    for t, rows in enumerate(refreshes):
        full = everything.update(float(2 * t), rows)
        shown = fitting.update(float(2 * t), rows, trends=False)
        fit, head = watch_cli._fitting(VIEW, fitting, fitting.trends(float(2 * t)), shown, height, measured)
    assert len(fit) < height + 10  # far fewer rows rendered
    cache: list[Any] = []
    expected = rendered(full, width, height)
    assert "│ q-0" in expected and "..." in expected  # drawn, and the screen overflowed
    assert rendered(fit, width, height, cache, head) == expected
    assert cache and rendered(fit, width, height, cache, head) == expected  # the body drawn again from the cache
    # Once (then from the cache); by Rich when a cell on the screen wraps.
    assert drawn == [drawn_here]


def test_few_rows_are_all_drawn_with_their_trend() -> None:
    tracker = Tracker(VIEW)
    rows = snapshots(5)[4]
    shown = tracker.update(0.0, rows, trends=False)
    assert not any(s.trend for s in shown)
    shown, head = watch_cli._fitting(VIEW, tracker, tracker.trends(0.0), shown, 24, {})
    assert head == 0
    assert [s.row for s in shown] == rows and all(s.trend for s in shown)


def test_the_live_table_ends_with_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Live prints its last table whole when it stops (Ctrl-C): every row, each with its trend."""
    out = io.StringIO()
    app = AppContext.create(stdout=io.BytesIO(), env={})
    app.stdout_isatty = True
    app._out = Console(file=out, force_terminal=True, width=120, height=20, markup=False, highlight=False, emoji=False)
    refreshes = iter(snapshots(300))

    def snapshot() -> tuple[str, list[WatchRow]]:
        rows = next(refreshes, None)
        if rows is None:
            raise KeyboardInterrupt
        return "queues", rows

    monkeypatch.setattr(time, "sleep", lambda _: None)
    watch_cli.run_watch(app, "auto", "2s", VIEW, snapshot)
    final = out.getvalue().rsplit("\x1b[2K", 1)[-1]  # after the last erase: the frame Live leaves
    assert final.count("q-0") == 300 and "q-0299" in final and "..." not in final
    assert final.count("▄") > 0 and final.count("\n") > 300


def test_the_frame_draws_its_body_again_only_when_a_row_changes() -> None:
    tracker = Tracker(VIEW)
    shown = tracker.update(0.0, snapshots(10)[4])
    cache: list[Any] = []
    first = rendered(shown, 120, 40, cache)
    assert "q-0009" in first and first == rendered(shown, 120, 40)  # as Rich's table with its title
    body = cache[1]
    assert rendered(shown, 120, 40, cache) == first and cache[1] is body
    changed = tracker.update(2.0, [*snapshots(10)[4][:-1], WatchRow("q-0009", ("q-0009", "", 1), {}, {"depth": 1})])
    assert rendered(changed, 120, 40, cache) != first and cache[1] is not body


def test_a_failed_refresh_keeps_the_watch_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON Lines: nothing is written for a failed refresh, a warning goes to
    stderr, and the watch goes on; the third failure in a row ends it."""
    stdout, stderr = io.BytesIO(), io.StringIO()
    app = AppContext.create(stdout=stdout, env={})
    app.text_err = stderr
    rows = snapshots(2)
    steps: list[Any] = [rows[0], TimeoutExpired("management API: timed out"), rows[1]]
    steps += [ConnectionFailed("refused")] * 3

    def snapshot() -> tuple[str, list[WatchRow]]:
        step = steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return "queues", step

    monkeypatch.setattr(time, "sleep", lambda _: None)
    with pytest.raises(ConnectionFailed):
        watch_cli.run_watch(app, "json", "2s", VIEW, snapshot)
    assert not steps
    assert stdout.getvalue().count(b"\n") == 2  # two refreshes of the one queue listed in both
    warnings = stderr.getvalue().splitlines()
    assert len(warnings) == 3 and "failed (1 in a row): management API: timed out; trying again in 2s" in warnings[0]
    assert "failed (2 in a row): refused" in warnings[2]


def test_the_live_table_shows_a_failed_refresh_in_its_heading(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    app = AppContext.create(stdout=io.BytesIO(), env={})
    app.stdout_isatty = True
    app._out = Console(file=out, force_terminal=True, width=200, height=20, markup=False, highlight=False, emoji=False)
    steps: list[Any] = [snapshots(3)[0], ConnectionFailed("refused")]

    def snapshot() -> tuple[str, list[WatchRow]]:
        if not steps:
            raise KeyboardInterrupt
        step = steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return "queues", step

    monkeypatch.setattr(time, "sleep", lambda _: None)
    watch_cli.run_watch(app, "auto", "2s", VIEW, snapshot)
    frames = out.getvalue().split("\x1b[2K")
    # The heading is as wide as the table: it wraps.
    assert any("failed (1 in a" in f and "refused; trying again in 2s" in f and "q-0000" in f for f in frames)
