"""One-message commands (issue 15) import only what they use, on each engine:
not Rich (the summary reaches a stderr that is not a terminal as plain text),
not YAML (no config file), not pydantic, not importlib.metadata, and no other
client library than the engine's own."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

NEVER = {"rich", "yaml", "pydantic", "importlib.metadata", "pika"}
# A producer loads neither the --match filters nor the output writers (cli/io.py imports them lazily).
CONSUMER_SIDE = {"mqcli.core.filters", "mqcli.core.writers"}
CLIENT = {"librdkafka": "confluent_kafka", "kafka-python": "kafka"}


def _run(*args: str) -> tuple[int, set[str], bytes]:
    """(exit code, modules imported, stdout) of `mqcli ARGS` in a fresh interpreter."""
    code = (
        "import sys\n"
        "from mqcli.cli.app import app\n"
        f"try:\n    app({list(args)!r})\nexcept SystemExit as e:\n    rc = e.code\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write(f'\\nEXIT {rc} MODULES ' + ' '.join(sorted(sys.modules)) + '\\n')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    line = [x for x in out.stderr.decode().splitlines() if x.startswith("EXIT ")]
    assert line, out.stderr
    _, rc, _, *modules = line[0].split()
    return int(rc), set(modules), out.stdout


def test_one_message_produce_and_consume_import_only_their_engine(topic: str, engine: str) -> None:
    own = CLIENT[engine]
    other = set(CLIENT.values()) - {own}
    # kafka-python imports importlib.metadata itself (a bare script using it does too).
    never = NEVER - {"importlib.metadata"} if engine == "kafka-python" else NEVER
    rc, mods, _ = _run("kafka", "produce", topic, "hello")
    assert rc == 0
    assert own in mods and not mods & (never | other), mods & (never | other)
    assert not mods & CONSUMER_SIDE, mods & CONSUMER_SIDE
    rc, mods, out = _run("kafka", "consume", topic, "--offset", "-1", "--count", "1")
    assert rc == 0 and out == b"hello\n"
    assert own in mods and not mods & (never | other), mods & (never | other)
