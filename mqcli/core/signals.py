"""Deferring Ctrl-C and SIGTERM while something must not be cut in half.

* pika writing frames: a KeyboardInterrupt (or the CLI's SIGTERM exception)
  raised in the middle of `basic_publish` can leave half a message in pika's
  output buffer; the broker then closes the connection (505
  UNEXPECTED_FRAME) and the confirms of every message already sent are lost
  with it.  The publisher notices a deferred signal between messages, stops
  taking input, collects the outstanding confirms and then re-raises it.
* a consumer writing a batch of records to stdout: a signal in the middle of
  a large write() would leave half a record at the end of the output
  (`mqcli.core.writers`).
* an --exec command running for a message (`mqcli.core.execute.ExecRunner`):
  the command finishes and its message is settled (committed, acknowledged)
  before mqcli stops; a second signal cuts it off.

* a Kafka producer handing a message to kafka-python: a signal between
  `send()` appending the record and the producer keeping its future would
  send a message that is never reported (`held_only=True`: input is still
  read with signals acting at once).

Inside `DeferredSignals` the first SIGINT/SIGTERM is only recorded;
`raise_received()` then runs the usual handler (KeyboardInterrupt -> exit
130, SIGTERM -> 143).  A second signal is handled as usual at once.  With
`held_only=True` a signal is recorded only while `holding` is true and acts
at once otherwise.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

DEFERRED = (signal.SIGINT, signal.SIGTERM)


class DeferredSignals:
    def __init__(self, *, held_only: bool = False) -> None:
        self.received: int | None = None
        # False: the next signal acts at once (see held_only above).
        self.holding = not held_only
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> DeferredSignals:
        self._install()
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def _install(self) -> None:
        # signal.signal() works on the main thread only; elsewhere nothing is deferred.
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in DEFERRED:
            previous = signal.getsignal(sig)
            if previous in (signal.SIG_IGN, None):
                continue  # ignored signals stay ignored
            self._previous[sig] = previous
            signal.signal(sig, self._handle)

    def _restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None and self.holding:
            self.received = signum
            return
        # The second one, or one outside a held section: no more waiting.
        previous = self._previous.get(signum)
        self._restore()
        _call(previous, signum, frame)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Signals act at once inside (e.g. while sleeping before a reconnect)."""
        active = bool(self._previous)
        self._restore()
        try:
            if self.received is not None:
                self.raise_received()
            yield
        finally:
            if active:
                self._install()

    def raise_received(self) -> None:
        """Run the usual handler of the recorded signal (it raises)."""
        signum = self.received
        if signum is None:
            return
        previous = self._previous.get(signum, signal.getsignal(signum))
        self._restore()
        _call(previous, signum, None)


def _call(handler: Any, signum: int, frame: FrameType | None) -> None:
    if callable(handler):
        handler(signum, frame)
        return
    # SIG_DFL: let the default action happen (terminate).
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)
