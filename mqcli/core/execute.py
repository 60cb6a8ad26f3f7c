"""`--exec CMD`: run a command per message, value on stdin, metadata in the environment.

Environment variables set for CMD (absent metadata is left unset):
MQCLI_TOPIC, MQCLI_PARTITION, MQCLI_OFFSET, MQCLI_TIMESTAMP (ms), MQCLI_KEY,
MQCLI_HEADERS (JSON object), MQCLI_HEADER_<NAME> (name upper-cased, non
alphanumerics as _), MQCLI_QUEUE, MQCLI_EXCHANGE, MQCLI_ROUTING_KEY,
MQCLI_REDELIVERED, MQCLI_PROPERTIES (JSON) and MQCLI_<PROPERTY> for
message_id, correlation_id, reply_to, content_type, type, app_id, priority.

`ExecRunner` is the one runner behind every --exec (Kafka group-consume,
RabbitMQ consume/subscribe and rpc serve): the --on-error retries, and
signals deferred while a command runs (`mqcli.core.signals`), so the first
Ctrl-C/SIGTERM lets the command finish and its message be settled, and a
second one stops at once.  What "settled" means (commit, ack, requeue) stays
with the caller.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from mqcli.core.errors import UsageError
from mqcli.core.message import Message, header_text, to_json_obj
from mqcli.core.signals import DeferredSignals

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, built with less work at import (see mqcli/core/_dataclass.py)
    from mqcli.core._dataclass import dataclass


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


Command = Callable[[], "subprocess.CompletedProcess[bytes]"]
# Runs one command while signals are deferred: `fn()` directly, or on a
# helper thread while the caller services a connection (RabbitMQ).
Waiter = Callable[[Command, DeferredSignals], "subprocess.CompletedProcess[bytes]"]


def _run_directly(fn: Command, _signals: DeferredSignals) -> subprocess.CompletedProcess[bytes]:
    return fn()


@dataclasses.dataclass  # one per message run by --exec: the standard, faster __init__
class Executed:
    """How --exec ended for one message (after any retries)."""

    returncode: int
    stdout: bytes | None  # captured output (rpc serve), else None
    action: str | None  # None when it succeeded, else the --on-error action to take ("retry" ran out: "stop")
    signals: DeferredSignals  # signal.received: a SIGINT/SIGTERM came while it ran and waits to be acted on

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def signal(self) -> int | None:
        """The signal that arrived while the command ran (its message still needs settling), or None."""
        return self.signals.received

    def stop(self) -> None:
        """Act on that signal now: its usual handler raises (KeyboardInterrupt -> 130, SIGTERM -> 143)."""
        self.signals.raise_received()

    def interruption(self) -> BaseException | None:
        """The exception `stop()` would raise, to raise later (after settling the message)."""
        try:
            self.stop()
        except BaseException as e:
            return e
        return None


class ExecRunner:
    """`--exec COMMAND` for one message at a time.

    `policy` retries a failing command (retry:N) and names the action for a
    failure; `before` runs before each attempt (flush our stdout, so the
    command's output comes after what was written); `on_retry(msg, code, attempt)`
    hears of each failed attempt that is tried again.  While a command runs,
    the first SIGINT/SIGTERM is only recorded (`Executed.signal`) and no
    retry follows; a second one acts at once and the command is cut off."""

    def __init__(
        self,
        command: str,
        policy: OnError | None = None,
        *,
        capture: bool = False,
        before: Callable[[], None] | None = None,
        on_retry: Callable[[Message, int, int], None] | None = None,
    ) -> None:
        self.command = command
        self.policy = policy if policy is not None else OnError("stop")
        self.capture = capture
        self.before = before
        self.on_retry = on_retry

    @property
    def attempts(self) -> int:
        return 1 + (self.policy.retries if self.policy.action == "retry" else 0)

    def run(self, msg: Message, wait: Waiter = _run_directly) -> Executed:
        """Run the command for `msg` (through `wait`), retrying as the policy says."""
        attempts = self.attempts
        attempt = 0
        while True:
            attempt += 1
            if self.before is not None:
                self.before()
            with DeferredSignals() as signals:
                done = wait(lambda: run_exec(self.command, msg, capture=self.capture), signals)
            code = done.returncode
            if code == 0 or signals.received is not None or attempt >= attempts:
                break
            if self.on_retry is not None:
                self.on_retry(msg, code, attempt)
        action = None if code == 0 else ("stop" if self.policy.action == "retry" else self.policy.action)
        return Executed(code, done.stdout, action, signals)
