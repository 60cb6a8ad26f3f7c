"""What every `wait` command shares (`rabbit wait`, `kafka wait`): the
--timeout/--interval options, the status line on stderr while waiting, and the
contract: exit 0 as soon as the condition holds, exit 5 with what was last
seen when the timeout passes.  The polling loop itself is mqcli.core.wait."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from mqcli.cli.context import AppContext
from mqcli.core.errors import TimeoutExpired, UsageError
from mqcli.core.parse import parse_duration

if TYPE_CHECKING:
    from mqcli.core.wait import Waited

S = TypeVar("S")

TimeoutOpt = Annotated[
    str,
    typer.Option("--timeout", "-t", metavar="DURATION", help="Give up after DURATION with exit code 5."),
]
IntervalOpt = Annotated[
    str,
    typer.Option("--interval", metavar="DURATION", help="How often to look."),
]


class StatusLine:
    """The one-line status while waiting, on stderr: redrawn in place on a terminal,
    else a line each time what is seen changes (left out with --quiet)."""

    def __init__(self, app: AppContext, what: str) -> None:
        self.app = app
        self.what = what
        self.last: str | None = None
        self.drawn = False

    def __call__(self, seen: str, elapsed: float) -> None:
        if self.app.live:
            self.app.text_err.write(f"\r\x1b[Kwaiting for {self.what}: {seen} ({elapsed:.0f}s)")
            self.app.text_err.flush()
            self.drawn = True
        elif seen != self.last:
            self.app.info(f"mqcli: waiting for {self.what}: {seen}")
        self.last = seen

    def clear(self) -> None:
        if self.drawn:
            self.app.text_err.write("\r\x1b[K")
            self.app.text_err.flush()
            self.drawn = False


@dataclass(frozen=True)
class WaitTimes:
    """--timeout and --interval, checked before anything connects (a bad one is exit 2)."""

    timeout_text: str  # as the user wrote it, for the timeout message
    timeout: float
    interval: float

    @classmethod
    def parse(cls, timeout: str, interval: str) -> WaitTimes:
        every = parse_duration(interval)
        if every <= 0:
            raise UsageError("--interval must be more than 0")
        return cls(timeout, parse_duration(timeout), every)


def wait_until(
    app: AppContext,
    what: str,
    poll: Callable[[], S],
    holds: Callable[[S], bool],
    seen: Callable[[S], str],
    times: WaitTimes,
) -> Waited[S]:
    """Poll until `holds`, with the status line (none when it holds at once);
    TimeoutExpired (exit 5) naming `what` and what was last `seen` when the timeout passes.

    `what` completes "waiting for …" (e.g. "queue 'jobs' to be empty")."""
    from mqcli.core.wait import wait_for

    status = StatusLine(app, what)
    try:
        result = wait_for(
            poll,
            holds,
            timeout=times.timeout,
            interval=times.interval,
            on_poll=lambda s, t: None if holds(s) else status(seen(s), t),
        )
    finally:
        status.clear()
    if not result.held:
        raise TimeoutExpired(f"timed out after {times.timeout_text} waiting for {what}; last seen: {seen(result.last)}")
    return result
