"""The live views' arithmetic (mqcli.core.watch): rates, ETA, sparklines, formats."""

from __future__ import annotations

import pytest

from mqcli.core.errors import ConnectionFailed, MqcliError, NotFound, TimeoutExpired
from mqcli.core.watch import (
    Gauge,
    Refreshes,
    Tracker,
    View,
    WatchRow,
    average_rate,
    eta_to_zero,
    format_eta,
    format_rate,
    rate_series,
    sparkline,
    timestamp,
)

VIEW = View(
    ("queue", "depth"),
    (Gauge("depth", "depth_per_s", "depth/s", eta=True, trend="value"), Gauge("in", "in_per_s", "in/s")),
)


def row(name: str, depth: float | None, total_in: float | None = None) -> WatchRow:
    return WatchRow(name, (name, depth), {"queue": name, "depth": depth}, {"depth": depth, "in": total_in})


def test_header_adds_rates_eta_and_trend() -> None:
    assert VIEW.header() == ("queue", "depth", "depth/s", "in/s", "eta", "trend")
    assert View(("group", "state")).header() == ("group", "state")


def test_rates_between_refreshes_and_eta_while_shrinking() -> None:
    t = Tracker(VIEW, width=4, window=8)
    (first,) = t.update(100.0, [row("jobs", 100, 0)])
    assert first.rates == {"depth_per_s": None, "in_per_s": None} and first.eta is None
    (second,) = t.update(102.0, [row("jobs", 80, 10)])
    assert second.rates == {"depth_per_s": -10.0, "in_per_s": 5.0}
    assert second.eta == pytest.approx(8.0)  # 80 left at 10/s
    assert second.cells(VIEW) == ("jobs", 80, "-10.0", "+5.0", "8s", "  █▁")
    assert second.record(VIEW, "T") == {
        "time": "T",
        "queue": "jobs",
        "depth": 80,
        "depth_per_s": -10.0,
        "in_per_s": 5.0,
        "eta_s": 8.0,
    }
    (growing,) = t.update(104.0, [row("jobs", 90, 20)])
    assert growing.rates["depth_per_s"] == -2.5  # over the last 5 s: from 100 to 90 in 4 s
    (later,) = t.update(110.0, [row("jobs", 96, 20)])
    assert later.rates["depth_per_s"] == 1.0  # only the last two when they are further apart
    # Over the last 15 s it went from 100 to 90: still shrinking on average, 90 left at 2.5/s.
    assert growing.eta == pytest.approx(36.0)


def test_unknown_values_and_rows_that_come_and_go() -> None:
    t = Tracker(VIEW)
    t.update(0.0, [row("a", 5), row("b", 1)])
    a, c = t.update(1.0, [row("a", None), row("c", 3)])
    assert a.rates["depth_per_s"] is None and a.eta is None  # not known this time
    assert c.rates["depth_per_s"] is None  # new row: no rate yet
    (b,) = t.update(2.0, [row("b", 0)])
    assert b.rates["depth_per_s"] is None  # b was gone for a refresh: its history was forgotten
    assert set(t._history) == {"b"}


def test_history_is_kept_for_the_window_only() -> None:
    t = Tracker(VIEW, window=10)
    for i in range(100):
        t.update(float(i), [row("a", 100 - i)])
    samples = t._history["a"]["depth"]
    assert len(samples) == 12 and samples[0][0] == 88.0  # the window, and one sample before it


def test_eta() -> None:
    assert eta_to_zero([(0, 10)], 0, 15) is None
    assert eta_to_zero([(0, 10), (1, 0)], 1, 15) is None  # already zero
    assert eta_to_zero([(0, 10), (1, 12)], 1, 15) is None  # growing
    assert eta_to_zero([(0, 10), (1, 10)], 1, 15) is None  # flat
    # Only the last 15 s count: the fast drop at the start does not.
    samples = [(0.0, 1000.0), (1.0, 100.0), (20.0, 90.0), (30.0, 80.0)]
    assert eta_to_zero(samples, 30.0, 15.0) == pytest.approx(80.0)


def test_rates() -> None:
    assert average_rate([(0, 1)], 0, 5) is None
    assert average_rate([(0, 1), (2, 5)], 2, 5) == 2.0
    assert average_rate([(2, 1), (2, 5)], 2, 5) is None
    # The window smooths a figure that moves in steps: 0, 0, +10 per refresh is 5/s.
    assert average_rate([(0, 0), (1, 0), (2, 10)], 2, 5) == 5.0
    assert rate_series([(0, 0), (1, 10), (3, 10)]) == [(1, 10.0), (3, 0.0)]


def test_sparkline() -> None:
    # One slot per second over the last 8 s; blank before the first sample.
    samples = [(float(t), float(v)) for t, v in [(5, 0), (6, 7), (7, 3), (8, 14)]]
    assert sparkline(samples, 8.0, window=8, width=8) == "    ▁▅▃█"
    # Slots without a sample of their own repeat the last value (slow refreshes).
    assert sparkline([(1.0, 1.0), (7.0, 2.0)], 8.0, window=8, width=8) == "▁▁▁▁▁▁██"
    assert sparkline([(7.0, 0.0), (8.0, 0.0)], 8.0, window=8, width=4) == "   ▁"
    assert sparkline([(7.0, 5.0), (8.0, 5.0)], 8.0, window=8, width=4) == "   ▄"
    assert sparkline([], 8.0, width=3) == "   "


@pytest.mark.parametrize(
    ("rate", "text"), [(None, ""), (0.0, "0"), (0.04, "0"), (2.25, "+2.2"), (-3.0, "-3.0"), (1234.5, "+1234")]
)
def test_format_rate(rate: float | None, text: str) -> None:
    assert format_rate(rate) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, ""), (0.2, "1s"), (45, "45s"), (200, "3m20s"), (7500, "2h05m"), (3 * 86400 + 4 * 3600, "3d04h")],
)
def test_format_eta(seconds: float | None, text: str) -> None:
    assert format_eta(seconds) == text


def test_timestamp() -> None:
    assert timestamp(1764640800.1234) == "2025-12-02T02:00:00.123Z"


def test_a_watch_passes_over_two_failed_refreshes_in_a_row_not_three() -> None:
    refreshes = Refreshes()
    refreshes.ok()
    for _ in range(5):  # failures that end are forgotten
        refreshes.failed(TimeoutExpired("slow"))
        refreshes.failed(ConnectionFailed("refused"))
        refreshes.ok()
    refreshes.failed(ConnectionFailed("refused"))
    refreshes.failed(ConnectionFailed("refused"))
    with pytest.raises(ConnectionFailed):
        refreshes.failed(ConnectionFailed("refused"))


@pytest.mark.parametrize(
    ("first_ok", "error"),
    [
        (False, ConnectionFailed("no broker")),  # the very first look fails: nothing to keep showing
        (True, NotFound("queue 'q' not found")),  # gone for good: exit 6 at once
        (True, MqcliError("refused by the broker")),
    ],
)
def test_a_watch_ends_at_once_on_a_first_or_lasting_failure(first_ok: bool, error: MqcliError) -> None:
    refreshes = Refreshes()
    if first_ok:
        refreshes.ok()
    with pytest.raises(type(error)):
        refreshes.failed(error)
