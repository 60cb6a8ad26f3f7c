"""One-message commands (issue 15) import only what they use: not Rich (the
summary reaches a stderr that is not a terminal as plain text), not YAML (no
config file), not pydantic, not importlib.metadata, and no Kafka client."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from tests.conftest import ROOT
from tests.rabbit.conftest import Amqp

# A producer loads neither the --match filters nor the output writers (cli/io.py imports them lazily).
CONSUMER_SIDE = {"mqcli.core.filters", "mqcli.core.writers"}
NEVER = {"rich", "yaml", "pydantic", "importlib.metadata", "kafka", "confluent_kafka"}


def _run(*args: str) -> tuple[int, set[str], bytes]:
    """(exit code, modules imported, stdout) of `mqcli ARGS` in a fresh interpreter."""
    code = (
        "import sys\n"
        "from mqcli.cli.app import app\n"
        f"try:\n    app({list(args)!r})\nexcept SystemExit as e:\n    rc = e.code\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write(f'\\nEXIT {rc} MODULES ' + ' '.join(sorted(sys.modules)) + '\\n')\n"
    )
    env = dict(os.environ, MQCLI_RABBIT_URL="amqp://guest:guest@127.0.0.1:5672/")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, stdin=subprocess.DEVNULL, env=env)
    line = [x for x in out.stderr.decode().splitlines() if x.startswith("EXIT ")]
    assert line, out.stderr
    _, rc, _, *modules = line[0].split()
    return int(rc), set(modules), out.stdout


def test_one_message_publish_and_consume_import_only_pika(queue: Callable[..., str], amqp: Amqp) -> None:
    q = queue()
    rc, mods, _ = _run("rabbit", "publish", "--queue", q, "hello")
    assert rc == 0 and amqp.wait_count(q, 1) == 1
    assert "pika" in mods and not mods & NEVER, mods & NEVER
    assert not mods & CONSUMER_SIDE, mods & CONSUMER_SIDE
    rc, mods, out = _run("rabbit", "consume", q, "--count", "1")
    assert rc == 0 and out == b"hello\n"
    assert "pika" in mods and not mods & NEVER, mods & NEVER
