"""`--exec CMD`: run a command per message, value on stdin, metadata in the environment.

Environment variables set for CMD (absent metadata is left unset):
MQCLI_TOPIC, MQCLI_PARTITION, MQCLI_OFFSET, MQCLI_TIMESTAMP (ms), MQCLI_KEY,
MQCLI_HEADERS (JSON object), MQCLI_HEADER_<NAME> (name upper-cased, non
alphanumerics as _), MQCLI_QUEUE, MQCLI_EXCHANGE, MQCLI_ROUTING_KEY,
MQCLI_REDELIVERED, MQCLI_PROPERTIES (JSON) and MQCLI_<PROPERTY> for
message_id, correlation_id, reply_to, content_type, type, app_id, priority.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from mqcli.core.errors import UsageError
from mqcli.core.message import Message, header_text, to_json_obj


def exec_env(msg: Message, base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    meta = {
        "TOPIC": msg.topic,
        "PARTITION": msg.partition,
        "OFFSET": msg.offset,
        "TIMESTAMP": msg.timestamp,
        "QUEUE": msg.queue,
        "EXCHANGE": msg.exchange,
        "ROUTING_KEY": msg.routing_key,
        "REDELIVERED": None if msg.redelivered is None else str(msg.redelivered).lower(),
    }
    for name in ("message_id", "correlation_id", "reply_to", "content_type", "type", "app_id", "priority"):
        meta[name.upper()] = msg.properties.get(name)
    for name, value in meta.items():
        if value is not None:
            env[f"MQCLI_{name}"] = str(value)
    if msg.key is not None:
        env["MQCLI_KEY"] = msg.key.decode("utf-8", errors="replace")
    obj = to_json_obj(msg)
    env["MQCLI_HEADERS"] = json.dumps(obj.get("headers", {}), ensure_ascii=False)
    if msg.properties:
        env["MQCLI_PROPERTIES"] = json.dumps(obj["properties"], ensure_ascii=False)
    for name, value in msg.headers:
        env["MQCLI_HEADER_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()] = header_text(value).replace("\0", "")
    return env


@dataclass(frozen=True)
class OnError:
    """What to do when --exec fails: stop, skip, retry:N (Kafka); requeue, reject, stop (RabbitMQ)."""

    action: str
    retries: int = 0

    @classmethod
    def parse(cls, text: str, allowed: tuple[str, ...]) -> OnError:
        action, _, n = text.partition(":")
        if action not in allowed:
            raise UsageError(f"invalid --on-error {text!r} (use one of: {', '.join(allowed)})")
        if action == "retry":
            if not n.isdigit() or int(n) < 1:
                raise UsageError(f"invalid --on-error {text!r} (use retry:N with N >= 1)")
            return cls("retry", int(n))
        if n:
            raise UsageError(f"invalid --on-error {text!r}")
        return cls(action)


def run_exec(command: str, msg: Message, *, capture: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Run `command` through the shell for one message.  Its stdout goes to ours
    (or is captured, for rpc serve); its stderr to ours."""
    return subprocess.run(
        command,
        shell=True,
        input=msg.value or b"",
        env=exec_env(msg),
        stdout=subprocess.PIPE if capture else None,
        check=False,
    )
