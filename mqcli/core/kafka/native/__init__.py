"""The native engine: librdkafka through confluent-kafka for everything, with
`kafka produce` (line/whole input and values given as arguments: the whole run,
without importing confluent-kafka; producer.py) and `kafka consume` (raw and
--format output: the whole run, without confluent-kafka, consumer.py; with
--offset stored the loop only, rd_consumer.py) in mqcli's own compiled
extension, `mqcli_native` (Rust, PyO3 and the rdkafka crate; its source is
native/ in the source tree, built by `make install` when cargo is present).

Optional and invisible: without the extension nothing here is used, and the
engine choice (mqcli.core.kafka.engine) falls back to librdkafka.
"""

from __future__ import annotations

import functools
from typing import Any

# confluent-kafka's own keys (Python callables), not librdkafka properties.
_PYTHON_ONLY = ("error_cb", "logger")


def native_config(cfg: dict[str, Any]) -> list[tuple[str, str]] | None:
    """confluent-kafka's producer or consumer settings as librdkafka's strings; None when
    one cannot be handed over (a Python callback such as oauth_cb)."""
    out: list[tuple[str, str]] = []
    for name, value in cfg.items():
        if name in _PYTHON_ONLY:
            continue
        if isinstance(value, bool):
            out.append((name, "true" if value else "false"))
        elif isinstance(value, (str, int, float)):
            out.append((name, str(value)))
        else:
            return None
    return out


@functools.cache
def module() -> Any | None:
    """The compiled extension, or None when it is not installed (or broken)."""
    import importlib

    try:
        return importlib.import_module("mqcli_native")
    except ImportError:
        return None


def available() -> bool:
    """Whether mqcli's native extension imports."""
    return module() is not None


def describe() -> str:
    """What --debug says about the native loops: 'mqcli-native, librdkafka 2.12.1'."""
    native = module()
    if native is None:
        return "not installed"
    return f"mqcli-native, librdkafka {native.librdkafka_version()}"
