"""One-message commands (issue 15) import only what they use, on each engine:
not Rich (the summary reaches a stderr that is not a terminal as plain text),
not YAML (no config file), not pydantic, not importlib.metadata, and no other
client library than the engine's own."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

NEVER = {"rich", "yaml", "pydantic", "importlib.metadata", "pika"}
# The console entry runs them on the fast path (mqcli.cli.fast), without typer and its Click.
TYPER = {"typer", "click", "mqcli.cli.root", "mqcli.cli.lazy"}
# A producer loads neither the --match filters nor the output writers (cli/io.py imports them lazily).
CONSUMER_SIDE = {"mqcli.core.filters", "mqcli.core.writers"}
CLIENT = {"librdkafka": "confluent_kafka", "kafka-python": "kafka", "native": "mqcli_native"}
# What each engine's one-message consume imports (the native engine's is
# one librdkafka consumer in mqcli_native: no confluent-kafka, issue 15).
CONSUME_CLIENTS = {"librdkafka": {"confluent_kafka"}, "kafka-python": {"kafka"}, "native": {"mqcli_native"}}
# Imported on first use, which a one-message run of plain text never reaches (issue 15):
# json (core/message.py and the modules that write JSON), datetime (the template
# writer's timestamps), difflib (the config package's near-miss hints), and the
# transaction machinery with its queue module.  Checked on the console entry with
# librdkafka: typer itself and kafka-python import some of these.
LAZY = {"json", "datetime", "difflib", "queue", "mqcli.core.kafka.transactions"}


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
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    line = [x for x in out.stderr.decode().splitlines() if x.startswith("EXIT ")]
    assert line, out.stderr
    _, rc, _, *modules = line[0].split()
    return int(rc), set(modules), out.stdout


@pytest.mark.parametrize("typer", [False, True], ids=["entry", "typer"])
def test_one_message_produce_and_consume_import_only_their_engine(topic: str, engine: str, typer: bool) -> None:
    own = CLIENT[engine]
    other = set(CLIENT.values()) - {own}
    # kafka-python imports importlib.metadata itself (a bare script using it does too).
    never = NEVER - {"importlib.metadata"} if engine == "kafka-python" else NEVER
    if not typer:
        never = never | TYPER
        if engine in ("librdkafka", "native"):
            never = never | LAZY
    # The native engine produces one message without confluent-kafka (issue 15).
    rc, mods, _ = _run("kafka", "produce", topic, "hello", typer=typer)
    assert rc == 0
    assert own in mods and not mods & (never | other), mods & (never | other)
    assert not mods & CONSUMER_SIDE, mods & CONSUMER_SIDE
    rc, mods, out = _run("kafka", "consume", topic, "--offset", "-1", "--count", "1", typer=typer)
    assert rc == 0 and out == b"hello\n"
    clients = CONSUME_CLIENTS[engine]
    others = set(CLIENT.values()) - clients
    assert clients <= mods and not mods & (never | others), mods & (never | others)
    assert ("typer" in mods) == typer  # each path is the one under test
