"""`rabbit publish --confirm-window`'s default is written out in the command
(its module must not import pika for --help) and declared in the core, where a
Kafka -> RabbitMQ move takes it: the two stay equal."""

from __future__ import annotations

import inspect

from mqcli.cli.rabbit.publish import publish
from mqcli.core.rabbit.publish import CONFIRM_WINDOW


def test_the_command_default_is_the_core_window() -> None:
    assert inspect.signature(publish).parameters["window"].default == CONFIRM_WINDOW
