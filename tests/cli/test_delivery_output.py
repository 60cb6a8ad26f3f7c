"""How a DeliveryReport reaches the terminal (mqcli.cli.io.TerminalReport): the exact stderr and stdout bytes."""

from __future__ import annotations

import io

import pytest

from mqcli.cli.context import AppContext
from mqcli.cli.io import TerminalReport
from mqcli.core.delivery import Delivery, DeliveryReport, landed_line
from mqcli.core.message import Message
from mqcli.core.readers import ReadStats


def make_app(*, quiet: bool = False) -> tuple[AppContext, io.BytesIO, io.StringIO]:
    out, err = io.BytesIO(), io.StringIO()
    app = AppContext.create(stdout=out, stderr=err, env={"NO_COLOR": "1"})
    app.quiet = quiet
    return app, out, err


def fixed_clock() -> float:
    return 10.0


def test_failures_resume_line_summary_and_skipped_on_stderr() -> None:
    app, out, err = make_app()
    assert not TerminalReport(app).live  # not a terminal: no live line
    report = DeliveryReport(TerminalReport(app), verb="confirmed", stats=ReadStats(skipped=1), clock=fixed_clock)
    with pytest.raises(KeyboardInterrupt):
        with report.sending():
            report.ok(5)
            report.fail(Message(value=b"x", line=2), "rejected by the broker (basic.nack)")
            report.handed_line = 2
            raise KeyboardInterrupt
    assert err.getvalue() == (
        "mqcli: not delivered: line 2: rejected by the broker (basic.nack)\n"
        "mqcli: input from line 3 on was not sent\n"
        "mqcli: confirmed 1, failed 1, 5 B, 1,000,000,000 msg/s, 0.0s\n"
        "mqcli: warning: skipped 1 invalid input record(s)\n"
    )
    assert out.getvalue() == b""


def test_sync_results_on_stdout_and_reconnects() -> None:
    app, out, err = make_app()
    report = DeliveryReport(TerminalReport(app), landed=landed_line("t", as_json=False), clock=fixed_clock)
    with report.sending():
        report.settle(Delivery(msg=Message(value=b"v", line=1), size=1, partition=2, offset=40))
        report.reconnects, report.resent = 1, 3
    assert out.getvalue() == b"2\t40\n"
    assert err.getvalue() == (
        "mqcli: sent 1, failed 0, 1 B, 1,000,000,000 msg/s, 0.0s\n"
        "mqcli: reconnected 1 time(s), sent 3 unconfirmed message(s) again\n"
    )


def test_quiet_leaves_out_the_summary_and_notes_but_not_the_failures() -> None:
    app, _out, err = make_app(quiet=True)
    report = DeliveryReport(TerminalReport(app), clock=fixed_clock)
    with report.sending():
        report.fail(Message(value=None), "a null value (tombstone) needs a key")
        report.reconnects = 1
    assert err.getvalue() == "mqcli: not delivered: message: a null value (tombstone) needs a key\n"
