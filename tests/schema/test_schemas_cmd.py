"""`mqcli kafka schemas …` against the local registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.schema.conftest import rest
from tests.schema.test_avro import ORDER, schema_file


def test_register_list_versions_show_delete(cli: Any, unique_name: Any, tmp_path: Path) -> None:
    subject = unique_name("s") + "-value"
    r = cli("kafka", "schemas", "register", subject, schema_file(tmp_path), "-o", "json")
    assert r.exit_code == 0, r.stderr
    schema_id = json.loads(r.stdout)["id"]
    assert subject in json.loads(cli("kafka", "schemas", "list", "-o", "json").stdout)
    assert json.loads(cli("kafka", "schemas", "versions", subject, "-o", "json").stdout) == [1]
    shown = json.loads(cli("kafka", "schemas", "show", subject, "--version", "1", "-o", "json").stdout)
    assert shown == {"subject": subject, "version": 1, "id": schema_id, "type": "AVRO", "schema": ORDER}
    r = cli("kafka", "schemas", "delete", subject, "--permanent")
    assert r.exit_code == 0, r.stderr
    r = cli("kafka", "schemas", "versions", subject)
    assert r.exit_code == 6 and subject in r.stderr


def test_check_is_a_ci_gate(cli: Any, unique_name: Any, tmp_path: Path) -> None:
    subject = unique_name("s") + "-value"
    rest("POST", f"/subjects/{subject}/versions", {"schema": json.dumps(ORDER)})
    rest("PUT", f"/config/{subject}", {"compatibility": "BACKWARD"})
    added_optional = {**ORDER, "fields": [*ORDER["fields"], {"name": "extra", "type": "int", "default": 0}]}
    changed_type = {**ORDER, "fields": [{"name": "id", "type": "string"}]}
    r = cli("kafka", "schemas", "check", subject, schema_file(tmp_path, added_optional, "ok.avsc"))
    assert r.exit_code == 0, r.stderr
    r = cli("kafka", "schemas", "check", subject, schema_file(tmp_path, changed_type, "bad.avsc"))
    assert r.exit_code == 1 and "not compatible" in r.stderr and "Traceback" not in r.stderr


def test_unknown_subject_is_exit_6_and_no_registry_exit_2(cli: Any, unique_name: Any, monkeypatch: Any) -> None:
    r = cli("kafka", "schemas", "show", unique_name("none"))
    assert r.exit_code == 6
    monkeypatch.delenv("MQCLI_KAFKA_SCHEMA_REGISTRY_URL")
    r = cli("kafka", "schemas", "list")
    assert r.exit_code == 2 and "schema registry" in r.stderr


def test_compat_get_and_set(cli: Any, unique_name: Any, tmp_path: Path) -> None:
    subject = unique_name("s") + "-value"
    rest("POST", f"/subjects/{subject}/versions", {"schema": json.dumps(ORDER)})
    got = json.loads(cli("kafka", "schemas", "compat", "get", subject, "-o", "json").stdout)
    assert got == {"subject": subject, "level": rest("GET", "/config")["compatibilityLevel"]}  # the global one
    r = cli("kafka", "schemas", "compat", "set", subject, "forward")
    assert r.exit_code == 0, r.stderr
    assert json.loads(cli("kafka", "schemas", "compat", "get", subject, "-o", "json").stdout) == {
        "subject": subject,
        "level": "FORWARD",
    }
    assert cli("kafka", "schemas", "compat", "set", subject, "SIDEWAYS").exit_code == 2
