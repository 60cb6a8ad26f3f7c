"""Live views (`--watch`): what changes between two looks at the brokers.

A watched command takes a snapshot every interval: rows, each with a key (the
queue, the partition, the group and topic…), its cells, its JSON record and
its gauges (numbers worth following: a queue's depth, a group's lag, a
partition's end offset).  The `Tracker` keeps the last minute of each gauge
per row and adds, per row:

* the rate of each gauge per second, between the refreshes of the last
  `rate_window` seconds (at least the last two): the brokers' own figures move in
  steps (RabbitMQ's statistics every few seconds, a group's offsets when it
  commits), so one refresh alone would flicker between 0 and twice the rate;
* an ETA to zero for a gauge that is shrinking (an emptying queue, a group
  catching up), from its average rate over the last `eta_window` seconds, so
  one slow refresh does not make it jump;
* a sparkline of the last minute (of the value, or of its rate for a gauge that
  only grows, such as an end offset), one character per slot of time.

Pure: the CLI passes the clock and the rows, and renders what comes back
(mqcli.cli.watch), so all of this is tested without a broker or a terminal.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mqcli.core.errors import ConnectionFailed, MqcliError, TimeoutExpired

SPARKS = "▁▂▃▄▅▆▇█"
DEFAULT_INTERVAL = 2.0


@dataclass(frozen=True)
class Gauge:
    """A number of a row worth following."""

    name: str  # its key in WatchRow.gauges
    rate_key: str  # the JSON key of its change per second, e.g. "lag_per_s"
    rate_label: str  # the table column of that, e.g. "lag/s"
    eta: bool = False  # an ETA to zero while it shrinks
    trend: Literal["value", "rate"] | None = None  # a sparkline of the last minute of the value or of its rate


@dataclass(frozen=True)
class View:
    """The columns of a watched listing and the gauges followed in it."""

    columns: tuple[str, ...]
    gauges: tuple[Gauge, ...] = ()

    def header(self) -> tuple[str, ...]:
        extra = [g.rate_label for g in self.gauges]
        if any(g.eta for g in self.gauges):
            extra.append("eta")
        if any(g.trend for g in self.gauges):
            extra.append("trend")
        return self.columns + tuple(extra)


@dataclass(frozen=True)
class WatchRow:
    """One row of a snapshot."""

    key: Hashable  # the same thing in the next snapshot has the same key
    cells: tuple[Any, ...]  # the table's cells (View.columns)
    record: Mapping[str, Any]  # the JSON Lines object
    gauges: Mapping[str, float | None] = field(default_factory=dict)  # None: not known in this snapshot


@dataclass(frozen=True)
class Shown:
    """A row with what the tracker adds to it."""

    row: WatchRow
    rates: dict[str, float | None]  # by Gauge.rate_key; None on a row's first refresh
    eta: float | None  # seconds to zero; None: not shrinking (or already zero)
    trend: str | None

    def cells(self, view: View) -> tuple[Any, ...]:
        extra: list[Any] = [format_rate(self.rates.get(g.rate_key)) for g in view.gauges]
        if any(g.eta for g in view.gauges):
            extra.append(format_eta(self.eta))
        if any(g.trend for g in view.gauges):
            extra.append(self.trend or "")
        return self.row.cells + tuple(extra)

    def record(self, view: View, timestamp: str) -> dict[str, Any]:
        """The JSON Lines object: the time first, then the row's record, its rates and ETA
        (numbers, or null when not known yet)."""
        out: dict[str, Any] = {"time": timestamp, **self.row.record}
        for key, rate in self.rates.items():
            out[key] = None if rate is None else round(rate, 3)
        if any(g.eta for g in view.gauges):
            out["eta_s"] = None if self.eta is None else round(self.eta, 1)
        return out


Sample = tuple[float, float]  # (monotonic time, value)


class Tracker:
    """The last `window` seconds of every gauge of every row, and what they say."""

    def __init__(
        self, view: View, *, window: float = 60.0, rate_window: float = 5.0, eta_window: float = 15.0, width: int = 20
    ) -> None:
        self.view = view
        self.window = window
        self.rate_window = rate_window
        self.eta_window = eta_window
        self.width = width
        self._history: dict[Hashable, dict[str, deque[Sample]]] = {}

    def update(self, now: float, rows: Sequence[WatchRow], *, trends: bool = True) -> list[Shown]:
        """Record a snapshot taken at `now` (seconds, monotonic) and show its rows.
        Rows no longer there are forgotten, so a view of churning queues stays small.
        trends=False leaves every Shown.trend None (JSON Lines show none, and a live
        table draws only the rows that fit: `with_trend` adds it to those)."""
        seen: dict[Hashable, dict[str, deque[Sample]]] = {}
        out = []
        history_of = self._history.get
        gauges = self.view.gauges
        for row in rows:
            history = seen[row.key] = history_of(row.key) or {}
            rates: dict[str, float | None] = {}
            eta: float | None = None
            for gauge in gauges:
                samples = history.get(gauge.name)
                if samples is None:
                    samples = history[gauge.name] = deque()
                value = row.gauges.get(gauge.name)
                if value is None:
                    rates[gauge.rate_key] = None
                    continue
                samples.append((now, float(value)))
                self._trim(samples, now)
                rates[gauge.rate_key] = average_rate(samples, now, self.rate_window)
                if gauge.eta and eta is None:
                    eta = eta_to_zero(samples, now, self.eta_window)
            out.append(Shown(row, rates, eta, self._trend(history, now) if trends else None))
        self._history = seen
        return out

    def trends(self, now: float) -> Callable[[Shown], Shown]:
        """Adds its sparkline as of `now` (the last update) to a Shown of that update
        (from update(trends=False)); later updates do not change what it adds: the
        sparkline ignores samples after `now`, and the ones they trim are older than it shows."""
        history_of = self._history.get

        def add(shown: Shown) -> Shown:
            history = history_of(shown.row.key)
            return Shown(shown.row, shown.rates, shown.eta, None if history is None else self._trend(history, now))

        return add

    def trend_start(self, key: Hashable) -> float | None:
        """The time of the first point of the row's sparkline (None: it has none).  The
        row that starts earliest has the longest unbroken sparkline: slots are blank
        only before the first point."""
        history = self._history.get(key)
        for gauge in self.view.gauges:
            if gauge.trend and history is not None:
                samples = history.get(gauge.name)
                if samples:
                    if gauge.trend == "value":
                        return samples[0][0]
                    series = rate_series(samples)
                    return series[0][0] if series else None
        return None

    def _trend(self, history: Mapping[str, deque[Sample]], now: float) -> str | None:
        for gauge in self.view.gauges:
            if gauge.trend:
                samples = history.get(gauge.name)
                if samples:
                    series = rate_series(samples) if gauge.trend == "rate" else list(samples)
                    return sparkline(series, now, window=self.window, width=self.width)
        return None

    def _trim(self, samples: deque[Sample], now: float) -> None:
        # Keep one sample older than the window: it fills the sparkline's first slots.
        while len(samples) > 2 and samples[1][0] < now - self.window:
            samples.popleft()


def rate_series(samples: Sequence[Sample]) -> list[Sample]:
    """(time, change per second since the sample before) for each sample but the first."""
    pairs = zip(samples, list(samples)[1:], strict=False)  # n-1 pairs
    return [(t1, (v1 - v0) / (t1 - t0)) for (t0, v0), (t1, v1) in pairs if t1 > t0]


def average_rate(samples: Sequence[Sample], now: float, window: float) -> float | None:
    """Change per second from the oldest sample of the last `window` seconds (at least
    the one before the last) to the last; None with fewer than two samples."""
    if len(samples) < 2:
        return None
    first = len(samples) - 2
    while first > 0 and samples[first - 1][0] >= now - window:
        first -= 1
    (t0, v0), (t1, v1) = samples[first], samples[-1]
    return (v1 - v0) / (t1 - t0) if t1 > t0 else None


def eta_to_zero(samples: Sequence[Sample], now: float, window: float) -> float | None:
    """Seconds until the value reaches zero at its average rate over the last `window`
    seconds (at least the last two samples); None when it is not shrinking or is zero."""
    slope = average_rate(samples, now, window)
    if slope is None or samples[-1][1] <= 0:
        return None
    return samples[-1][1] / -slope if slope < 0 else None


def sparkline(samples: Sequence[Sample], now: float, *, window: float = 60.0, width: int = 20) -> str:
    """The last `window` seconds in `width` characters, one per slot of time: each slot
    shows the latest value at its end, scaled between the lowest and highest shown.
    Slots before the first sample are blank (the history is still short)."""
    if not samples:
        return " " * width
    slot = window / width
    cells: list[float | None] = []
    i = -1
    for n in range(width):
        end = now - window + (n + 1) * slot
        while i + 1 < len(samples) and samples[i + 1][0] <= end + 1e-9:
            i += 1
        cells.append(samples[i][1] if i >= 0 else None)
    values = [v for v in cells if v is not None]
    if not values:
        return " " * width
    lo, hi = min(values), max(values)
    top = len(SPARKS) - 1
    out = []
    for v in cells:
        if v is None:
            out.append(" ")
        elif hi == lo:
            # Flat: at the bottom when it is zero, halfway up otherwise.
            out.append(SPARKS[0] if hi == 0 else SPARKS[top // 2])
        else:
            out.append(SPARKS[round((v - lo) / (hi - lo) * top)])
    return "".join(out)


def format_rate(rate: float | None) -> str:
    """A per-second rate for a table cell: '' unknown, '+12.5', '-3', '0'."""
    if rate is None:
        return ""
    if abs(rate) < 0.05:
        return "0"
    return f"{rate:+.0f}" if abs(rate) >= 100 else f"{rate:+.1f}"


def format_eta(seconds: float | None) -> str:
    """'' (none), '45s', '3m20s', '2h05m', '3d04h'."""
    if seconds is None:
        return ""
    s = max(round(seconds), 1)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def timestamp(epoch: float | None = None) -> str:
    """UTC ISO-8601 with milliseconds: the `time` of a JSON Lines row."""
    t = time.time() if epoch is None else epoch
    ms = round(t * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


class Refreshes:
    """Whether a watch goes on after a refresh that failed.

    A management API answering slower than its timeout for a moment (a busy
    broker) should not end a watch that has been running for an hour, but a
    broker that is gone should: up to `allowed` refreshes in a row that fail
    to connect or time out are passed over (the last snapshot stays on show);
    the next one, a first refresh that fails, or any other failure (a queue or
    group that is gone: exit 6) ends the watch with that failure's exit code."""

    def __init__(self, allowed: int = 2) -> None:
        self.allowed = allowed
        self.succeeded = False
        self.failed_in_a_row = 0

    def ok(self) -> None:
        self.succeeded = True
        self.failed_in_a_row = 0

    def failed(self, error: MqcliError) -> None:
        """Count `error`; raise it when the watch cannot go on."""
        self.failed_in_a_row += 1
        transient = isinstance(error, (ConnectionFailed, TimeoutExpired))
        if not (transient and self.succeeded and self.failed_in_a_row <= self.allowed):
            raise error
