"""Broker libraries' log lines: silent by default, masked with --debug."""

from __future__ import annotations

import io
import logging

import pytest

from mqcli.core.logs import show_library_logs


def test_library_logs_are_masked_and_can_be_hidden_again() -> None:
    stream = io.StringIO()
    hide = show_library_logs("mqcli.test.lib", "lib", stream, ["hunter2"])
    log = logging.getLogger("mqcli.test.lib")
    log.debug("config: sasl_plain_password=hunter2 url=amqp://u:pw@h/")
    hide()
    log.warning("after hide")
    out = stream.getvalue()
    assert "hunter2" not in out and ":pw@" not in out
    assert out.startswith("lib: DEBUG mqcli.test.lib: config:")
    assert "after hide" not in out


def test_librdkafka_warnings_stay_off_stderr_without_debug(capsys: pytest.CaptureFixture[str]) -> None:
    from mqcli.core.kafka.librdkafka import common as rdkafka_client

    rdkafka_client._logger().warning("GETPID Coordinator load in progress: retrying")
    assert capsys.readouterr().err == ""
