"""The outcome of a run that sends messages, whichever broker takes them.

`kafka produce`, `rabbit publish` and `rabbit delay publish` (and any verb
that writes messages to a broker, such as a future `move`) report here:

* counts: delivered (acknowledged/confirmed, or just sent without
  confirms), failed, bytes, and from them the rate;
* each failure, with the input line of its message
  (`not delivered: line 12: why`);
* where the input stopped when the run ends early, so a script can resume
  there (`input from line N on was not sent`);
* the live progress line on a terminal and the summary at the end.

The report decides what is said; a `ReportOutput` supplied by the CLI only
puts the lines on the terminal.  Fast senders count in bulk: they may keep
their own running totals and assign `delivered`, `failed` and `bytes`
before calling `progress()` (one Python call per message would cost more
than sending it at librdkafka's rates).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from mqcli.core.message import Message
from mqcli.core.readers import ReadStats

# How often the live line is redrawn at most (seconds).
DRAW_EVERY = 0.2


@dataclass
class Delivery:
    """The outcome for one input message."""

    msg: Message
    size: int
    partition: int | None = None
    offset: int | None = None
    timestamp: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ReportOutput(Protocol):
    """How a DeliveryReport's lines reach the terminal (the CLI supplies it).
    Texts come without the "mqcli: " prefix."""

    @property
    def live(self) -> bool:
        """Whether a live progress line may be drawn."""
        ...

    def problem(self, text: str) -> None:
        """A message not delivered, or where the input stopped (always shown)."""

    def warn(self, text: str) -> None:
        """A warning (skipped input records)."""

    def info(self, text: str) -> None:
        """A note (reconnects); a quiet run may leave it out."""

    def summary(self, text: str) -> None:
        """The counts at the end; a quiet run may leave them out."""

    def draw(self, text: str) -> None:
        """Replace the live line with `text` ("" clears it)."""

    def result(self, line: str) -> None:
        """One line on stdout (where a message landed, --sync)."""


def not_sent_from(last_line: int | None) -> str:
    """The resume line: the input after `last_line` (the last line handed to the broker) was not sent."""
    return f"input from line {(last_line or 0) + 1} on was not sent"


def skipped_input(stats: ReadStats) -> str | None:
    """The warning for invalid input records skipped by --skip-invalid, if any."""
    return f"skipped {stats.skipped} invalid input record(s)" if stats.skipped else None


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


class DeliveryReport:
    """Where a sender reports the fate of every message it was handed.

    Successes are counted (`ok()`, or in bulk: assign `delivered`/`bytes`,
    then `progress()`).  Each failure comes to `fail()` (counted here) or
    `failure()` (already counted by the sender) with its message, whose
    `line` names the input record.  With `landed` set (`--sync`), `each` is
    true and every success comes to `settle()`/`landed()` with where it
    landed.  When the sender returns or raises, every message up to input
    line `handed_line` has been reported one way or the other;
    `input_ended` says the whole input was read.
    """

    def __init__(
        self,
        out: ReportOutput,
        *,
        verb: str = "sent",
        stats: ReadStats | None = None,
        landed: Callable[[Delivery], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out
        self.verb = verb  # sent | confirmed | published: what `delivered` counts
        self.stats = stats  # of the input reader: skipped invalid records
        self._landed = landed
        self.each = landed is not None
        self.delivered = 0
        self.failed = 0
        self.bytes = 0  # of the delivered messages, as the sender counts them
        self.handed_line = 0  # input line of the last message handed to the broker (0: none)
        self.input_ended = False  # every input record was read (and sent, or reported)
        self.reconnects = 0
        self.resent = 0  # unconfirmed messages sent again after a reconnect
        # Transactions (kafka produce --transactional-id): what the counts say
        # is committed, and where a rerun resumes when one is aborted.
        self.transactional = False
        self.committed_transactions = 0
        self.aborted_transactions = 0
        self.open_from: int | None = None  # first input line of the open transaction
        self.resume_from: int | None = None  # first input line of the aborted transaction
        self._clock = clock
        self._live = out.live
        self.start = clock()
        self._last_draw = 0.0
        self._drawn = False

    # -- outcomes, from the sender ------------------------------------------------
    def ok(self, size: int) -> None:
        """One message delivered (for senders that report each one)."""
        self.delivered += 1
        self.bytes += size
        if self._live:
            self.progress()

    def fail(self, msg: Message, why: str) -> None:
        """One message not delivered: count it and say so."""
        self.failed += 1
        self.failure(msg, why)

    def settle(self, delivery: Delivery) -> None:
        """Count one outcome and pass it on (for senders with an outcome object per message)."""
        if delivery.error is None:
            self.delivered += 1
            self.bytes += delivery.size
            if self.each:
                self.landed(delivery)
        else:
            self.fail(delivery.msg, delivery.error)

    def failure(self, msg: Message, why: str) -> None:
        """Say that `msg` was not delivered (counted by the caller)."""
        where = f"line {msg.line}" if msg.line is not None else "message"
        self.out.problem(f"not delivered: {where}: {why}")

    def landed(self, delivery: Delivery) -> None:
        """Say where a delivered message landed (only when `each`)."""
        if self._landed is not None:
            self.out.result(self._landed(delivery))

    def progress(self) -> None:
        """Counts changed: redraw the live line now and then."""
        if self._live:
            now = self._clock()
            if now - self._last_draw > DRAW_EVERY:
                self._last_draw = now
                self._drawn = True
                self.out.draw(self.line())

    # -- transactions, from a transactional sender ----------------------------------
    # A transaction's records count as delivered only once it is committed (a
    # read_committed reader sees none of them before), and as failed when it
    # is aborted; the resume line is then the transaction's first input line.
    def transaction_begun(self, first: Message) -> None:
        """A transaction opens with `first`."""
        self.transactional = True
        self.open_from = first.line if first.line is not None else self.handed_line + 1

    def transaction_committed(self, count: int, size: int, last_line: int | None) -> None:
        """The open transaction (`count` records, `size` bytes, up to input line `last_line`) is committed."""
        self.committed_transactions += 1
        self.delivered += count
        self.bytes += size
        if last_line is not None:
            self.handed_line = last_line
        self.open_from = None
        self.progress()

    def transaction_aborted(self, count: int, why: str) -> None:
        """The open transaction (`count` records handed over) is aborted: none of it is visible to read_committed readers."""
        self.aborted_transactions += 1
        self.failed += count
        self.resume_from = self.open_from
        where = f" from line {self.open_from}" if self.open_from is not None else ""
        self.out.problem(f"transaction{where} aborted ({count} record(s) not committed): {why}")
        self.open_from = None

    # -- what is said at the end -----------------------------------------------------
    def line(self) -> str:
        """The counts: `sent 10, failed 0, 1.2 kB, 3,000 msg/s, 0.0s` (and the transactions, if any)."""
        elapsed = max(self._clock() - self.start, 1e-9)
        text = (
            f"{self.verb} {self.delivered}, failed {self.failed}, {human_bytes(self.bytes)}, "
            f"{self.delivered / elapsed:,.0f} msg/s, {elapsed:.1f}s"
        )
        if self.transactional:
            text += f", {self.committed_transactions} transaction(s) committed"
            if self.aborted_transactions:
                text += f", {self.aborted_transactions} aborted"
        return text

    def stopped(self, error: BaseException, explained: tuple[type[BaseException], ...] = ()) -> None:
        """The run ends with `error` (Ctrl-C, SIGTERM, a lost connection...):
        say where the input stopped, unless all of it was read or the error
        says so itself (`explained`).  After an aborted transaction a rerun
        resumes at its first line, whatever the error."""
        if self.resume_from is not None:
            self.out.problem(not_sent_from(self.resume_from - 1))
        elif not self.input_ended and not isinstance(error, explained):
            self.out.problem(not_sent_from(self.handed_line))

    def summary(self) -> None:
        """Clear the live line; the counts; skipped input records."""
        if self._drawn:
            self.out.draw("")
        self.out.summary(self.line())
        skipped = skipped_input(self.stats) if self.stats is not None else None
        if skipped is not None:
            self.out.warn(skipped)

    @contextmanager
    def sending(self, explained: tuple[type[BaseException], ...] = ()) -> Iterator[DeliveryReport]:
        """Around the sender: the resume line if it raises (see `stopped`),
        then the summary however it ends, then the reconnects if it succeeded."""
        try:
            yield self
        except BaseException as e:
            self.stopped(e, explained)
            raise
        finally:
            self.summary()
        if self.reconnects:
            self.out.info(f"reconnected {self.reconnects} time(s), sent {self.resent} unconfirmed message(s) again")


def landed_line(topic: str, as_json: bool) -> Callable[[Delivery], str]:
    """`--sync`'s stdout line for a delivered message: PARTITION<TAB>OFFSET, or a JSON object."""
    import json  # here, not at import: a one-message produce never writes JSON (issue 15)

    def line(d: Delivery) -> str:
        if as_json:
            return json.dumps(
                {
                    "line": d.msg.line,
                    "topic": topic,
                    "partition": d.partition,
                    "offset": d.offset,
                    "timestamp": d.timestamp,
                }
            )
        return f"{d.partition}\t{d.offset}"

    return line
