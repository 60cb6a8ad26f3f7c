"""One-message commands (issue 15) import only what they use: not Rich (the
summary reaches a stderr that is not a terminal as plain text), not YAML (no
config file), not pydantic, not importlib.metadata, and no Kafka client."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.conftest import ROOT
from tests.rabbit.conftest import Amqp

# A producer loads neither the --match filters nor the output writers (cli/io.py imports them lazily).
CONSUMER_SIDE = {"mqcli.core.filters", "mqcli.core.writers"}
NEVER = {"rich", "yaml", "pydantic", "importlib.metadata", "kafka", "confluent_kafka"}
# The console entry runs them on the fast path (mqcli.cli.fast), without typer and its Click.
TYPER = {"typer", "click", "mqcli.cli.root", "mqcli.cli.lazy"}


def _run(*args: str, typer: bool = False) -> tuple[int, set[str], bytes]:
    """(exit code, modules imported, stdout) of `mqcli ARGS` in a fresh interpreter:
    through the console entry (`mqcli`), or with `typer` the typer app itself."""
    call = f"app({list(args)!r})" if typer else f"sys.argv = ['mqcli', *{list(args)!r}]\n    main()"
    code = (
        "import sys\n"
        f"from mqcli.cli.app import {'app' if typer else 'main'}\n"
        f"try:\n    {call}\nexcept SystemExit as e:\n    rc = e.code\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write(f'\\nEXIT {rc} MODULES ' + ' '.join(sorted(sys.modules)) + '\\n')\n"
    )
    env = dict(os.environ, MQCLI_RABBIT_URL="amqp://guest:guest@127.0.0.1:5672/")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, stdin=subprocess.DEVNULL, env=env)
    line = [x for x in out.stderr.decode().splitlines() if x.startswith("EXIT ")]
    assert line, out.stderr
    _, rc, _, *modules = line[0].split()
    return int(rc), set(modules), out.stdout


@pytest.mark.parametrize("typer", [False, True], ids=["entry", "typer"])
def test_one_message_publish_and_consume_import_only_pika(queue: Callable[..., str], amqp: Amqp, typer: bool) -> None:
    never = NEVER if typer else NEVER | TYPER
    q = queue()
    rc, mods, _ = _run("rabbit", "publish", "--queue", q, "hello", typer=typer)
    assert rc == 0 and amqp.wait_count(q, 1) == 1
    assert "pika" in mods and not mods & never, mods & never
    assert not mods & CONSUMER_SIDE, mods & CONSUMER_SIDE
    rc, mods, out = _run("rabbit", "consume", q, "--count", "1", typer=typer)
    assert rc == 0 and out == b"hello\n"
    assert "pika" in mods and not mods & never, mods & never
    assert ("typer" in mods) == typer  # each path is the one under test
