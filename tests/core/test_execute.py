"""The --exec runner (mqcli.core.execute.ExecRunner): retries, the --on-error
action and signals deferred while a command runs, without a broker."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mqcli.core.execute import Command, ExecRunner, OnError
from mqcli.core.message import Message
from mqcli.core.signals import DeferredSignals

MSG = Message(value=b"v1", topic="t", partition=0, offset=7)


class Interrupted(BaseException):
    """What the test's SIGTERM handler raises (as the CLI's Terminated)."""


@pytest.fixture
def sigterm_raises() -> Iterator[None]:
    def handler(_signum: int, _frame: object) -> None:
        raise Interrupted()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_success_runs_once() -> None:
    calls: list[str] = []
    runner = ExecRunner("true", OnError("retry", 3), before=lambda: calls.append("before"))
    done = runner.run(MSG)
    assert (done.ok, done.returncode, done.action, done.signal) == (True, 0, None, None)
    assert calls == ["before"]


def test_failure_names_the_policy_action() -> None:
    assert ExecRunner("false").run(MSG).action == "stop"
    assert ExecRunner("false", OnError("skip")).run(MSG).action == "skip"
    assert ExecRunner("sh -c 'exit 3'", OnError("requeue")).run(MSG).returncode == 3


def test_retries_then_stops() -> None:
    retried: list[tuple[int, int]] = []
    before: list[int] = []
    runner = ExecRunner(
        "sh -c 'exit 3'",
        OnError("retry", 2),
        before=lambda: before.append(1),
        on_retry=lambda msg, code, attempt: retried.append((code, attempt)),
    )
    done = runner.run(MSG)
    assert (done.returncode, done.action) == (3, "stop")  # retry:N ran out: then stop
    assert retried == [(3, 1), (3, 2)]
    assert len(before) == 3  # one attempt and two retries


def test_retry_until_the_command_succeeds(tmp_path: Path) -> None:
    # Fails on the first attempt, succeeds on the second (a file marks the first).
    mark = tmp_path / "seen"
    runner = ExecRunner(f"test -e {mark} || {{ touch {mark}; exit 1; }}", OnError("retry", 5))
    retried: list[int] = []
    runner.on_retry = lambda _m, _c, attempt: retried.append(attempt)
    done = runner.run(MSG)
    assert done.ok and done.action is None
    assert retried == [1]


def test_message_on_stdin_and_captured_output() -> None:
    done = ExecRunner("tr a-z A-Z", capture=True).run(MSG)
    assert done.stdout == b"V1"
    assert ExecRunner('test "$MQCLI_OFFSET" = 7').run(MSG).ok


# The commands signal mqcli (their shell's parent, here the test process) themselves:
# the signal arrives while the command runs, with no timing to guess.
SIGNAL_ME = "kill -TERM $PPID"


def test_first_signal_lets_the_command_finish_and_no_retry_follows(sigterm_raises: None, tmp_path: Path) -> None:
    finished = tmp_path / "finished"
    retried: list[int] = []
    runner = ExecRunner(
        f"{SIGNAL_ME}; sleep 0.2; touch {finished}; exit 1",
        OnError("retry", 3),
        on_retry=lambda _m, _c, a: retried.append(a),
    )
    done = runner.run(MSG)
    assert finished.exists()  # not cut off
    assert done.signal == signal.SIGTERM and done.returncode == 1
    assert retried == []  # stopping: no further attempt
    with pytest.raises(Interrupted):
        done.stop()  # the usual handler, once the message was settled


def test_interruption_returns_the_exception_to_raise_later(sigterm_raises: None) -> None:
    done = ExecRunner(f"{SIGNAL_ME}; exit 0").run(MSG)
    assert done.ok
    assert isinstance(done.interruption(), Interrupted)


def test_second_signal_acts_at_once(sigterm_raises: None) -> None:
    def wait(fn: Command, signals: DeferredSignals) -> subprocess.CompletedProcess[bytes]:
        # The command signals once; the second signal follows once the first
        # was recorded (two signals close together may arrive as one).
        def second() -> None:
            while signals.received is None:
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=second, daemon=True).start()
        return fn()

    started = time.monotonic()
    with pytest.raises(Interrupted):
        ExecRunner(f"{SIGNAL_ME}; sleep 30").run(MSG, wait)
    assert time.monotonic() - started < 10  # the command was not waited for


def test_signals_are_deferred_only_while_a_command_runs(sigterm_raises: None) -> None:
    handler = signal.getsignal(signal.SIGTERM)
    ExecRunner("true").run(MSG)
    assert signal.getsignal(signal.SIGTERM) is handler


def test_a_waiter_runs_the_command_with_the_signals_deferred(sigterm_raises: None) -> None:
    seen: list[int | None] = []

    def wait(fn: Command, signals: DeferredSignals) -> subprocess.CompletedProcess[bytes]:
        done = fn()
        seen.append(signals.received)  # what run_while_polling watches to tell the user
        return done

    done = ExecRunner(f"{SIGNAL_ME}; exit 0").run(MSG, wait)
    assert seen == [signal.SIGTERM] and done.signal == signal.SIGTERM


def test_no_signal_no_interruption() -> None:
    done = ExecRunner("true").run(MSG)
    assert done.interruption() is None
