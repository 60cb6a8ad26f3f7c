"""`kafka produce --transactional-id`: records sent in transactions, whichever engine.

The input is cut into transactions of `--transaction-size N` records or
`--transaction-time D` (the whole input is one transaction when neither is
given).  A transaction is committed only once every one of its records was
acknowledged; a record the broker refused, a failed commit, an error or a
signal aborts it instead and ends the run: nothing of it becomes visible to
read_committed readers, and the DeliveryReport names its first input line as
where a rerun resumes (`input from line N on was not sent`).

The engines (contract.TransactionalProducer) only do the steps; what is
counted, committed and said lives here, once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from mqcli.core.errors import DeliveryFailed, UsageError

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, built with less work at import (see mqcli/core/_dataclass.py)
    from mqcli.core._dataclass import dataclass

if TYPE_CHECKING:
    from mqcli.core.delivery import DeliveryReport
    from mqcli.core.kafka.contract import TransactionalProducer
    from mqcli.core.message import Message


class TransactionFailed(DeliveryFailed):
    """A transaction step failed (exit 1).  `fatal`: the producer cannot go on
    (fenced off by another producer with the same transactional id), so its
    open transaction cannot be aborted by it either (the broker does that)."""

    def __init__(
        self, message: str, *, fatal: bool = False, reason: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.fatal = fatal
        self.reason = reason or message  # the few words the aborted transaction's line gives


def fenced(transactional_id: str) -> TransactionFailed:
    """The error of a producer fenced off by another with the same id."""
    return TransactionFailed(
        f"fenced: another producer took over transactional id {transactional_id!r}; "
        "this one stopped and its open transaction was aborted",
        fatal=True,
        reason="fenced by another producer",
    )


@dataclass(frozen=True)
class TransactionRules:
    """When a transaction is complete: after `size` records, or `seconds` after
    it began (a record arriving later opens the next one; a quiet input does
    not hold it open); neither: at the end of the input."""

    size: int | None = None
    seconds: float | None = None

    @classmethod
    def from_options(cls, size: int | None, seconds: float | None) -> TransactionRules:
        if size is not None and seconds is not None:
            raise UsageError("--transaction-size and --transaction-time exclude each other")
        if size is not None and size < 1:
            raise UsageError(f"invalid --transaction-size {size} (must be 1 or more)")
        if seconds is not None and seconds <= 0:
            raise UsageError("invalid --transaction-time (must be more than 0)")
        return cls(size, seconds)

    def full(self, count: int) -> bool:
        """Whether a transaction of `count` records is complete (--transaction-size)."""
        return self.size is not None and count >= self.size

    def expired(self, began: float, now: float) -> bool:
        """Whether a transaction begun at `began` is complete at `now` (--transaction-time)."""
        return self.seconds is not None and now - began >= self.seconds


def with_ticks(messages: Iterable[Message], every: float) -> Iterator[Message | None]:
    """`messages`, read on a helper thread, with None whenever nothing arrived
    for `every` seconds: --transaction-time then commits an open transaction
    while the input is quiet (a live feed), instead of leaving it open until
    the next record or the broker's transaction timeout aborts it.  Errors of
    the input are raised here, on the calling thread."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1024)  # bounded: the reader waits for the sender

    def pump() -> None:
        try:
            for msg in messages:
                box.put(("msg", msg))
            box.put(("end", None))
        except BaseException as e:  # handed to the calling thread
            box.put(("error", e))

    # A daemon: when the run stops early, a reader blocked on stdin must not keep mqcli alive.
    threading.Thread(target=pump, name="mqcli-input", daemon=True).start()
    while True:
        try:
            kind, item = box.get(timeout=every)
        except queue.Empty:
            yield None
            continue
        if kind == "end":
            return
        if kind == "error":
            raise item
        yield item


def _size(msg: Message) -> int:
    return len(msg.value or b"") + len(msg.key or b"")


def send_in_transactions(
    producer: TransactionalProducer,
    topic: str,
    messages: Iterable[Message],
    report: DeliveryReport,
    rules: TransactionRules,
    *,
    clock: Callable[[], float] = time.monotonic,
    tick: float | None = 0.05,
) -> None:
    """Send `messages` to `topic` in transactions (see the module doc).

    Returns when every transaction was committed; raises otherwise, after
    aborting the open one and telling `report` (which then says where to resume).
    With --transaction-time the input is read on a helper thread (`with_ticks`,
    looking at the clock at least every `tick`..1 s; None: only as records arrive).
    """
    count = size = 0
    last_line: int | None = None
    began = 0.0
    open_tx = False

    def abort(why: str, *, can_abort: bool = True) -> None:
        nonlocal open_tx
        open_tx = False
        if can_abort:
            try:
                producer.abort()
            except Exception as e:  # the broker aborts it after the transaction timeout anyway
                why += f" (abort failed: {getattr(e, 'message', None) or e}; the broker aborts it after the transaction timeout)"
        report.transaction_aborted(count, why)

    def commit() -> None:
        nonlocal open_tx
        failures = producer.flush()
        if failures:
            for msg, why in failures:
                report.failure(msg, why)
            abort(f"{len(failures)} record(s) not acknowledged")
            raise DeliveryFailed(f"a transaction to {topic} was aborted: {len(failures)} record(s) not acknowledged")
        producer.commit()
        open_tx = False
        report.transaction_committed(count, size, last_line)

    if rules.seconds is not None and tick is not None:
        stream: Iterable[Message | None] = with_ticks(messages, min(max(rules.seconds / 4, tick), 1.0))
    else:
        stream = messages
    try:
        for msg in stream:
            if open_tx and rules.expired(began, clock()):
                commit()  # --transaction-time passed (while waiting for this record, or with none)
            if msg is None:
                continue
            if not open_tx:
                producer.begin()
                open_tx = True
                report.transaction_begun(msg)
                count = size = 0
                began = clock()
            if msg.value is None and msg.key is None:
                refused: str | None = "a null value (tombstone) needs a key"
            else:
                refused = producer.send(topic, msg)
            count += 1
            if refused is not None:
                report.failure(msg, refused)
                abort("a record was refused")
                raise DeliveryFailed(f"a transaction to {topic} was aborted: line {msg.line}: {refused}")
            size += _size(msg)
            if msg.line is not None:
                last_line = msg.line
            if rules.full(count):
                commit()
        if open_tx:
            commit()
        report.input_ended = True
    except TransactionFailed as e:
        if open_tx:
            abort(e.reason, can_abort=not e.fatal)
        raise
    except BaseException as e:
        # Ctrl-C, SIGTERM, a lost connection: the open transaction must not
        # be committed by anyone; abort it now rather than leave it to the
        # broker's timeout (read_committed readers wait for it meanwhile).
        if open_tx:
            abort(getattr(e, "message", None) or _signal_name(e))
        raise


def _signal_name(e: BaseException) -> str:
    if isinstance(e, KeyboardInterrupt):
        return "interrupted"
    name = type(e).__name__
    return "terminated" if name == "Terminated" else str(e) or name
