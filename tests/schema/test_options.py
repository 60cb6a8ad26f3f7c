"""What the schema options cost and refuse: plain runs import none of the
schema code, a missing fastavro is exit 2 with the install hint, and the
option checks are usage errors (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_app import _imported_modules
from tests.conftest import ROOT

SCHEMA_MODULES = {
    "fastavro",
    "jsonschema",
    "google.protobuf",
    "grpc_tools",
    "mqcli.core.schema",
    "mqcli.core.schema.registry",
    "mqcli.core.schema.codec",
    "mqcli.core.schema.protobuf",
    "mqcli.core.schema.json_schema",
}


def test_plain_consume_and_produce_import_no_schema_code(topic: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MQCLI_KAFKA_SCHEMA_REGISTRY_URL")
    assert not _imported_modules("kafka", "produce", topic, "x") & SCHEMA_MODULES
    assert not _imported_modules("kafka", "consume", topic, "-e") & SCHEMA_MODULES


def _without_fastavro(*args: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        "sys.modules['fastavro'] = None  # as if not installed: importing it raises ImportError\n"
        "from mqcli.cli.app import main\n"
        f"sys.argv = ['mqcli', *{list(args)!r}]\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=dict(os.environ), check=False
    )


def test_without_fastavro_a_schema_format_is_exit_2_with_the_hint(cli: Any, topic: str) -> None:
    out = _without_fastavro("kafka", "consume", topic, "-e", "--value-format", "avro")
    assert out.returncode == 2, out.stderr
    assert "pip install 'mqcli[schemas]'" in out.stderr and "Traceback" not in out.stderr
    # A registry in the profile alone (auto by default) does not break plain consuming.
    assert cli("kafka", "produce", topic, "plain").exit_code == 0
    out = _without_fastavro("kafka", "consume", topic, "-e")
    assert out.returncode == 0 and out.stdout == "plain\n", out.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("consume", "T", "--value-format", "protobof"), "invalid --value-format"),
        (("consume", "T", "--schema-registry", "ftp://x"), "invalid --schema-registry"),
        (
            ("consume", "T", "-e", "--skip-invalid", "--value-format", "raw", "--key-format", "string"),
            "--skip-invalid applies only",
        ),
        (("produce", "T", "--value-subject", "s", "--value-schema-id", "1", "x"), "mutually exclusive"),
        (("produce", "T", "--value-schema-version", "2", "x"), "applies only with --value-subject"),
        (("produce", "T", "--value-format", "raw", "--value-subject", "s", "x"), "apply only with --value-format avro"),
        (("produce", "T", "--value-subject", "s", "--subject-strategy", "name", "x"), "invalid --subject-strategy"),
        (("produce", "T", "-k", "k", "--key-subject", "s", "x"), "with --key-format avro give each key"),
        (("produce", "T", "--value-schema", "a.proto", "--descriptor-set", "a.desc", "x"), "mutually exclusive"),
        (("consume", "T", "-e", "--value-schema", "a.avsc", "--descriptor-set", "a.desc"), "mutually exclusive"),
        (("consume", "T", "-e", "--message-type", "p.M"), "--message-type/--proto-path apply with"),
        (("consume", "T", "-e", "--value-schema", "a.avsc", "--value-format", "json"), "--value-schema applies with"),
        (("produce", "T", "--value-schema", "/nonexistent/a.avsc", "x"), "cannot read --value-schema"),
    ],
)
def test_option_mistakes_are_usage_errors(cli: Any, topic: str, args: tuple[str, ...], says: str) -> None:
    r = cli("kafka", *[topic if a == "T" else a for a in args])
    assert r.exit_code == 2 and says in r.stderr, r.stderr


def test_no_registry_means_no_avro(cli: Any, topic: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MQCLI_KAFKA_SCHEMA_REGISTRY_URL")
    r = cli("kafka", "produce", topic, "--value-subject", "s", "x")
    assert r.exit_code == 2 and "needs a schema registry" in r.stderr


def test_tls_to_a_plain_registry_is_exit_4_and_an_unreadable_ca_exit_3(
    cli: Any, topic: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MQCLI_KAFKA_SCHEMA_REGISTRY_URL", "https://127.0.0.1:8081/apis/ccompat/v7")
    r = cli("kafka", "produce", topic, "--value-subject", "s", "x")
    assert r.exit_code == 4 and "https://127.0.0.1:8081/apis/ccompat/v7" in r.stderr, r.stderr
    monkeypatch.setenv("MQCLI_KAFKA_SCHEMA_REGISTRY_TLS_CA", str(tmp_path / "missing.pem"))
    r = cli("kafka", "produce", topic, "--value-subject", "s", "x")
    assert r.exit_code == 3 and "kafka.schema_registry.tls" in r.stderr and "Traceback" not in r.stderr, r.stderr
