"""What the `rabbit wait` commands share: --timeout/--interval and the status line."""

from __future__ import annotations

from typing import Annotated

import typer

from mqcli.cli.context import AppContext

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
