"""The schema registry's credentials, against a real registry WITH authentication:
the second Apicurio of `make brokers` (brokers/registry-auth.sh, 127.0.0.1:8083),
signing in through the local Keycloak (realm mqcli) and authorizing by the realm
roles sr-developer / sr-readonly.  HTTP basic credentials are a Keycloak client's id
and secret (brokers/keycloak/mqcli-realm.json), traded by the registry for a token.

How mqcli answers (README, "Schemas" and the exit-code table):
* 401 -- no, wrong or expired credentials: exit 4 naming the URL, the profile and
  the user, never the password (not with --debug either);
* 403 -- signed in, but the role does not allow it (a read-only user registering a
  schema): exit 1 with the registry's own message on one line, nothing sent.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_mqcli
from tests.kafka.conftest import BOOTSTRAP, records, write_profile
from tests.schema.test_avro import ORDER, framed, jsonl, schema_file, send_raw

AUTH_REGISTRY = f"http://127.0.0.1:{os.environ.get('REGISTRY_AUTH_PORT', '8083')}/apis/ccompat/v7"
REALM_FILE = Path(__file__).resolve().parents[2] / "brokers" / "keycloak" / "mqcli-realm.json"
PROFILE = "secured"
WRONG = "not-the-secret-7f3a"  # a password that must never be printed


def secret_of(client_id: str) -> str:
    """The Keycloak client's secret, from the realm file `make brokers` applies."""
    realm = json.loads(REALM_FILE.read_text())
    return str(next(c["secret"] for c in realm["clients"] if c["clientId"] == client_id))


READONLY = ("mqcli-registry-readonly", secret_of("mqcli-registry-readonly"))
DEVELOPER = ("mqcli-registry-developer", secret_of("mqcli-registry-developer"))


def status_of(user: tuple[str, str] | None) -> int:
    """The HTTP status of listing the subjects with these basic credentials (None: none)."""
    req = urllib.request.Request(AUTH_REGISTRY + "/subjects")
    if user is not None:
        req.add_header("Authorization", "Basic " + base64.b64encode(":".join(user).encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


@pytest.fixture(scope="session")
def auth_registry() -> str:
    """The registry with authentication, answering the read-only client; FAILS when it does not."""
    deadline = time.monotonic() + 10
    while True:
        try:
            if status_of(READONLY) == 200:
                return AUTH_REGISTRY
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(
                f"the schema registry with authentication is not answering at {AUTH_REGISTRY}: "
                "start it with `make brokers` (brokers/registry-auth.sh; Keycloak must run)"
            )
        time.sleep(0.5)


@pytest.fixture
def as_user(auth_registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """as_user(name, password): the profile `secured` points at the registry with these credentials."""

    def use(user: str | None, password: str | None) -> Path:
        sr: dict[str, Any] = {"url": auth_registry}
        if user is not None:
            sr.update(username=user, password=password)
        cfg = write_profile(tmp_path, PROFILE, {"bootstrap_servers": BOOTSTRAP, "schema_registry": sr})
        monkeypatch.delenv("MQCLI_KAFKA_SCHEMA_REGISTRY_URL", raising=False)
        monkeypatch.setenv("MQCLI_CONFIG", str(cfg))
        monkeypatch.setenv("MQCLI_PROFILE", PROFILE)
        return cfg

    return use


def one_error_line(stderr: str) -> str:
    lines = [x for x in stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("mqcli: error: "), stderr
    return lines[0]


def test_the_registry_itself_refuses_and_forbids() -> None:
    """What the tests below rely on: 401 without or with wrong credentials, 200 for a reader."""
    assert status_of(None) == 401
    assert status_of((READONLY[0], WRONG)) == 401
    assert status_of(READONLY) == 200 and status_of(DEVELOPER) == 200


def test_wrong_password_is_exit_4_naming_url_profile_and_user(
    cli: Any, as_user: Any, topic: str, tmp_path: Path
) -> None:
    as_user(READONLY[0], WRONG)
    runs = {
        "schemas list": cli("kafka", "schemas", "list"),
        "produce": cli(
            "kafka", "produce", topic, "--value-schema", schema_file(tmp_path), input='{"id": 1, "price": 1}\n'
        ),
    }
    for what, r in runs.items():
        assert r.exit_code == 4, (what, r.stderr)
        line = one_error_line(r.stderr)
        assert AUTH_REGISTRY in line and f"profile {PROFILE}" in line, line
        assert "401" in line and READONLY[0] in line, line
        assert WRONG not in r.stdout + r.stderr
    assert records(BOOTSTRAP, topic) == []  # nothing produced


def test_wrong_password_while_decoding(cli: Any, as_user: Any, topic: str) -> None:
    """The registry is asked when a record needs a schema: refused credentials are exit 4 then,
    also under `auto` (which leaves bytes it cannot decode alone, but does not hide a refusal)."""
    send_raw(topic, [(None, framed(1, ORDER, {"id": 1, "price": b"\x01", "note": None}))])
    as_user(READONLY[0], WRONG)
    for fmt in ("auto", "avro"):
        r = cli("kafka", "consume", topic, "-e", "-o", "json", "--value-format", fmt)
        assert r.exit_code == 4, r.stderr
        line = one_error_line(r.stderr)
        assert "401" in line and AUTH_REGISTRY in line and f"profile {PROFILE}" in line
        assert r.stdout == "" and WRONG not in r.stdout + r.stderr


def test_no_credentials_is_exit_4_saying_none_were_given(cli: Any, as_user: Any) -> None:
    as_user(None, None)
    r = cli("kafka", "schemas", "list")
    assert r.exit_code == 4
    line = one_error_line(r.stderr)
    assert "401" in line and "kafka.schema_registry.username" in line and AUTH_REGISTRY in line


def test_wrong_password_never_printed_with_debug(as_user: Any, tmp_path: Path) -> None:
    """--debug adds a traceback and debug logs: still no password (a real process, real stderr)."""
    as_user(READONLY[0], WRONG)
    env = {"MQCLI_CONFIG": str(tmp_path / "mqcli.yaml"), "MQCLI_PROFILE": PROFILE}
    basic = base64.b64encode(f"{READONLY[0]}:{WRONG}".encode()).decode()  # the Authorization header's form
    for args in (["--debug", "kafka", "schemas", "list"], ["--debug", "config", "show"]):
        p = run_mqcli(args, env=env)
        out = (p.stdout + p.stderr).decode()
        assert WRONG not in out and basic not in out, out
    p = run_mqcli(["--debug", "kafka", "schemas", "list"], env=env)
    assert p.returncode == 4 and b"Traceback" in p.stderr and b"401" in p.stderr


def test_readonly_registering_is_the_registrys_403_exit_1(cli: Any, as_user: Any, topic: str, tmp_path: Path) -> None:
    as_user(*READONLY)
    r = cli(
        "kafka", "produce", topic, "--value-schema", schema_file(tmp_path),
        input='{"id": 1, "price": "1.5"}\n',
    )  # fmt: skip
    assert r.exit_code == 1, r.stderr
    line = one_error_line(r.stderr)
    assert "403" in line and "User is not authorized to perform the requested operation" in line, line
    assert AUTH_REGISTRY in line and f"profile {PROFILE}" in line and READONLY[0] in line, line
    assert READONLY[1] not in r.stdout + r.stderr
    assert records(BOOTSTRAP, topic) == []  # nothing sent
    r = cli("kafka", "schemas", "register", f"{topic}-value", schema_file(tmp_path))
    assert r.exit_code == 1 and "403" in one_error_line(r.stderr)


def test_developer_produces_and_readonly_consumes(cli: Any, as_user: Any, topic: str, tmp_path: Path) -> None:
    as_user(*DEVELOPER)
    r = cli(
        "kafka", "produce", topic, "--value-schema", schema_file(tmp_path),
        input='{"id": 1, "price": "12.5"}\n{"id": 2, "price": 3, "note": "gift"}\n',
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    raw = [rec.value for rec in records(BOOTSTRAP, topic)]
    assert len(raw) == 2 and all(v[0] == 0 for v in raw)
    schema_id = struct.unpack(">I", raw[0][1:5])[0]

    # A read-only user decodes (auto and strict) ...
    as_user(*READONLY)
    for fmt in ("auto", "avro"):
        r = cli("kafka", "consume", topic, "-e", "-o", "json", "--value-format", fmt)
        assert r.exit_code == 0, r.stderr
        got = jsonl(r.stdout)
        assert [x["value"] for x in got] == [
            {"id": 1, "price": "12.50", "note": None},
            {"id": 2, "price": "3.00", "note": "gift"},
        ]
        assert got[0]["value_schema"]["id"] == schema_id and got[0]["value_schema"]["subject"] == f"{topic}-value"
    # ... and produces with a schema the registry already has (a lookup, no registration).
    r = cli("kafka", "produce", topic, "--value-schema", schema_file(tmp_path), input='{"id": 3, "price": 1}\n')
    assert r.exit_code == 0, r.stderr
    r = cli("kafka", "produce", topic, "--value-subject", f"{topic}-value", input='{"id": 4, "price": 1}\n')
    assert r.exit_code == 0, r.stderr
    assert [struct.unpack(">I", rec.value[1:5])[0] for rec in records(BOOTSTRAP, topic)] == [schema_id] * 4


def test_config_masks_the_registry_password(cli: Any, as_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = as_user(READONLY[0], WRONG)
    for args in (("config", "show"), ("config", "show", "-o", "json"), ("config", "validate", str(cfg))):
        r = cli(*args)
        assert r.exit_code == 0, r.stderr
        assert WRONG not in r.stdout + r.stderr
    # The password from the environment is masked too, and an invalid sibling setting names its key, not the secret.
    monkeypatch.setenv("MQCLI_KAFKA_SCHEMA_REGISTRY_PASSWORD", WRONG + "-env")
    r = cli("config", "show", "-o", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["kafka"]["schema_registry"]["password"] == "****"
    monkeypatch.setenv("MQCLI_KAFKA_SCHEMA_REGISTRY_URL", "ftp://nowhere")
    r = cli("config", "validate")
    assert r.exit_code == 3 and "MQCLI_KAFKA_SCHEMA_REGISTRY_URL" in one_error_line(r.stderr)
    assert WRONG not in r.stdout + r.stderr
