"""Broker libraries' own log lines, shown only with --debug and always masked.

kafka-python logs its whole configuration (SASL password included) at debug
level, and pika logs connection parameters: every line passes mask_secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TextIO

from mqcli.core.errors import mask_secrets


class MaskingFormatter(logging.Formatter):
    def __init__(self, label: str, secrets: list[str]) -> None:
        super().__init__(f"{label}: %(levelname)s %(name)s: %(message)s")
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record), self._secrets)


def show_library_logs(
    logger_name: str, label: str, stream: TextIO, secrets: list[str], level: int = logging.DEBUG
) -> Callable[[], None]:
    """Send logger `logger_name`'s lines from `level` up to `stream`, secrets masked;
    returns the function that turns them off again."""
    log = logging.getLogger(logger_name)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(MaskingFormatter(label, secrets))
    previous = log.level
    log.addHandler(handler)
    log.setLevel(level)

    def hide() -> None:
        log.removeHandler(handler)
        log.setLevel(previous)

    return hide
