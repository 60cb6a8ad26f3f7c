"""Which messages handed to a target are settled, when the target confirms
them later than it takes them (a pipelined `mqcli move`: the next batch is
published while the confirms of the last one are outstanding).

Messages are numbered in the order they are handed over.  A message is
settled once the target confirmed it (or it was refused and then skipped or
dead-lettered); confirms may come in any order.  A source's marks -- "the
offset after this one is committable" -- are held with the number of
messages handed over before them and released, in the order they were
made, once every one of those is settled.  So an offset is committed only
after its message and every message taken before it was confirmed, on its
partition and on every other (a little stricter than needed, and it makes
the ledger blind to partitions).

Pure logic: no client library, no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from mqcli.core.message import Message

K = TypeVar("K", bound=Hashable)


def _nowhere(_key: object, _offset: int) -> None:
    pass


class Ledger(Generic[K]):
    """Messages handed over (numbered from 0) and the marks that wait for them."""

    def __init__(self) -> None:
        self.low = 0  # every message numbered below this one is settled
        self.high = 0  # the number the next message handed over gets
        self._messages: deque[Message] = deque()  # those numbered low .. high-1, in order
        self._later: set[int] = set()  # settled, above `low` (a confirm out of order)
        self._held: deque[tuple[int, K, int]] = deque()  # (messages it waits for, key, offset)
        self.release: Callable[[K, int], None] = _nowhere

    @property
    def outstanding(self) -> int:
        """Messages handed over and not settled yet."""
        return self.high - self.low

    def add(self, messages: list[Message]) -> int:
        """Hand `messages` over; the number of the first (the rest follow in order)."""
        first = self.high
        self._messages.extend(messages)
        self.high += len(messages)
        return first

    def message(self, number: int) -> Message:
        """The message numbered `number` (not settled yet)."""
        return self._messages[number - self.low]

    def hold(self, key: K, next_offset: int, upto: int) -> None:
        """Release (`key`, `next_offset`) once every message numbered below
        `upto` is settled (at once when they are and nothing is held before it)."""
        if upto <= self.low and not self._held:
            self.release(key, next_offset)
        else:
            self._held.append((upto, key, next_offset))

    def settle(self, number: int) -> None:
        """Message `number` is settled (again, or one never handed over: nothing happens)."""
        if number != self.low or number >= self.high:
            if self.low < number < self.high:
                self._later.add(number)
            return
        low = number + 1
        messages = self._messages
        messages.popleft()
        later = self._later
        while later and low in later:
            later.remove(low)
            messages.popleft()
            low += 1
        self.low = low
        held = self._held
        while held and held[0][0] <= low:
            _upto, key, offset = held.popleft()
            self.release(key, offset)
