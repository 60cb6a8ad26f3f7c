"""DeferredSignals: what is recorded, what acts at once (real signals to this process)."""

from __future__ import annotations

import os
import signal

import pytest

from mqcli.core.signals import DeferredSignals


def _interrupt() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def test_deferred_records_the_first_and_raises_it_later() -> None:
    with DeferredSignals() as signals:
        _interrupt()
        assert signals.received == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):
            signals.raise_received()


def test_deferred_second_signal_acts_at_once() -> None:
    with DeferredSignals(), pytest.raises(KeyboardInterrupt):
        _interrupt()
        _interrupt()


def test_held_only_acts_at_once_outside_a_held_section() -> None:
    with DeferredSignals(held_only=True) as signals, pytest.raises(KeyboardInterrupt):
        _interrupt()
    assert signals.received is None


def test_held_only_records_inside_a_held_section() -> None:
    with DeferredSignals(held_only=True) as signals:
        signals.holding = True
        _interrupt()
        signals.holding = False
        assert signals.received == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):
            signals.raise_received()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_held_only_after_the_first_signal_the_next_acts_at_once() -> None:
    with DeferredSignals(held_only=True) as signals:
        signals.holding = True
        _interrupt()
        with pytest.raises(KeyboardInterrupt):
            _interrupt()
