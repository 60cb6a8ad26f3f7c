"""RabbitMQ with an OAuth 2 access token as the password (rabbitmq_auth_backend_oauth2,
after the internal user database) from the local Keycloak (brokers/keycloak.sh,
realm mqcli, client mqcli-rabbitmq whose tokens carry the audience `rabbitmq` and
the scopes rabbitmq.read/write/configure:*/*).

The addresses follow the broker scripts' own variables, so the tests can run
against a private set of servers: RABBIT_AMQP_PORT (5672) and KEYCLOAK_PORT (8180)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

PORT = int(os.environ.get("RABBIT_AMQP_PORT", "5672"))
MANAGEMENT = f"http://127.0.0.1:{os.environ.get('RABBIT_HTTP_PORT', '15672')}/api"
TOKEN_LIFETIME = 20  # accessTokenLifespan of brokers/keycloak/mqcli-realm.json
KEYCLOAK = f"http://127.0.0.1:{os.environ.get('KEYCLOAK_PORT', '8180')}/realms/mqcli"
TOKEN_URL = f"{KEYCLOAK}/protocol/openid-connect/token"
SECRET = "mqcli-rabbitmq-secret"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.")


def _profile(tmp_path: Path, secret: str = SECRET, token_url: str = TOKEN_URL, client: str = "mqcli-rabbitmq") -> None:
    rabbit = {
        "host": "127.0.0.1",
        "port": PORT,
        "connection_timeout": "5s",
        "oauth": {"token_url": token_url, "client_id": client, "client_secret": secret},
    }
    file = tmp_path / "mqcli.yaml"
    file.write_text(yaml.safe_dump({"profiles": {"sso": {"rabbit": rabbit}}}))
    os.chmod(file, 0o600)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MQCLI_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def mqcli(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "mqcli", *args],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        env=_env(),
        timeout=60,
        check=False,
    )


@pytest.fixture
def oauth_queue(tmp_path: Path, unique_name: Callable[[str], str]) -> Iterator[str]:
    """The OAuth profile in cwd, and a queue name deleted afterwards (through OAuth too)."""
    _profile(tmp_path)
    name = unique_name("oauth")
    yield name
    mqcli("rabbit", "queue", "delete", name)


def test_publish_and_consume_with_oauth(oauth_queue: str) -> None:
    r = mqcli("rabbit", "publish", "--queue", oauth_queue, "--declare", input=b"one\ntwo\n")
    assert r.returncode == 0, r.stderr
    r = mqcli("rabbit", "consume", oauth_queue, "--count", "2", "--timeout", "10s")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"one\ntwo\n"


def test_bad_client_secret_is_exit_4(tmp_path: Path) -> None:
    _profile(tmp_path, secret="wrong-secret-456")
    r = mqcli("rabbit", "publish", "--queue", "any", "x")
    assert r.returncode == 4
    err = r.stderr.decode()
    assert f"OAuth token request to {TOKEN_URL} refused" in err and "unauthorized_client" in err
    assert "wrong-secret-456" not in err


def test_unreachable_token_endpoint_is_exit_4(tmp_path: Path) -> None:
    dead = "http://127.0.0.1:9/token"  # discard port: nothing listens
    _profile(tmp_path, token_url=dead)
    r = mqcli("rabbit", "consume", "any", "--count", "1")
    assert r.returncode == 4
    assert f"cannot reach the OAuth token endpoint {dead}: connection refused" in r.stderr.decode()


def test_debug_and_config_show_never_show_secret_or_token(oauth_queue: str) -> None:
    r = mqcli("--debug", "rabbit", "publish", "--queue", oauth_queue, "--declare", "x")
    assert r.returncode == 0, r.stderr
    r2 = mqcli("--debug", "rabbit", "consume", oauth_queue, "--count", "1", "--timeout", "10s")
    assert r2.returncode == 0 and r2.stdout == b"x\n", r2.stderr
    for err in (r.stderr.decode(), r2.stderr.decode()):
        assert "debug" in err
        assert SECRET not in err and not JWT.search(err), err
    shown = mqcli("config", "show").stdout.decode()
    assert SECRET not in shown and "client_secret: '****'" in shown


def test_a_token_the_broker_refuses_is_exit_4(tmp_path: Path) -> None:
    """A token of the Kafka client (audience kafka, no rabbitmq scopes): RabbitMQ refuses it."""
    _profile(tmp_path, secret="mqcli-kafka-secret", client="mqcli-kafka")
    r = mqcli("rabbit", "publish", "--queue", "any", "x")
    assert r.returncode == 4
    err = r.stderr.decode()
    assert "authentication failed" in err and "refused the OAuth token of client 'mqcli-kafka'" in err, err
    assert not JWT.search(err)


def _management(method: str, path: str) -> Any:
    request = urllib.request.Request(f"{MANAGEMENT}{path}", method=method)
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    with urllib.request.urlopen(request, timeout=10) as answer:
        body = answer.read()
    return json.loads(body) if body else None


def _subject() -> str:
    """The `sub` of mqcli-rabbitmq's tokens (its service account's id)."""
    request = urllib.request.Request(TOKEN_URL, data=b"grant_type=client_credentials", method="POST")
    request.add_header("Authorization", "Basic " + base64.b64encode(f"mqcli-rabbitmq:{SECRET}".encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as answer:
        token = json.loads(answer.read())["access_token"]
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def test_reconnect_signs_in_with_a_fresh_token(oauth_queue: str) -> None:
    """RabbitMQ 3.10 keeps a connection open past its token's expiry, but signs
    in every new one with the token it is given: a reconnect after the first
    token expired only works with a token fetched anew."""
    assert mqcli("rabbit", "publish", "--queue", oauth_queue, "--declare", "before").returncode == 0
    consumer = subprocess.Popen(
        [sys.executable, "-m", "mqcli", "rabbit", "consume", oauth_queue, "--count", "2", "--reconnect", "5"],
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(TOKEN_LIFETIME + 10)
        assert consumer.poll() is None
        # The oauth2 backend names a connection's user after the token's subject.
        subject = _subject()
        mine = [c["name"] for c in _management("GET", "/connections") if c.get("user") == subject]
        assert mine, "the consumer's connection is not listed"
        for name in mine:
            _management("DELETE", f"/connections/{urllib.parse.quote(name, safe='')}")
        time.sleep(2)
        assert mqcli("rabbit", "publish", "--queue", oauth_queue, "after").returncode == 0
        out, err = consumer.communicate(timeout=60)
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
    assert consumer.returncode == 0, err
    assert out == b"before\nafter\n"
    assert b"reconnected to RabbitMQ" in err


def test_a_reconnect_whose_token_cannot_be_renewed_ends_with_exit_4(tmp_path: Path, oauth_queue: str) -> None:
    """The token endpoint goes away after the first token; the connection is closed
    after that token expired: every reconnect needs a new token, none can be had,
    and the run ends with exit 4 naming that cause (not the reconnects' count alone)."""
    from tests.kafka.test_oauth import OneTokenEndpoint

    assert mqcli("rabbit", "publish", "--queue", oauth_queue, "--declare", "before").returncode == 0
    endpoint = OneTokenEndpoint()
    _profile(tmp_path, token_url=endpoint.url)
    consumer = subprocess.Popen(
        [sys.executable, "-m", "mqcli", "rabbit", "consume", oauth_queue, "--reconnect", "2"],
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(TOKEN_LIFETIME + 10)
        assert consumer.poll() is None
        subject = _subject()
        mine = [c["name"] for c in _management("GET", "/connections") if c.get("user") == subject]
        assert mine, "the consumer's connection is not listed"
        for name in mine:
            _management("DELETE", f"/connections/{urllib.parse.quote(name, safe='')}")
        out, err = consumer.communicate(timeout=60)
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
        endpoint.close()
        _profile(tmp_path)  # the fixture deletes the queue through the real endpoint
    assert out == b"before\n"
    assert consumer.returncode == 4, err
    assert (
        f"the OAuth token of client 'mqcli-rabbitmq' expired and cannot be refreshed: "
        f"cannot reach the OAuth token endpoint {endpoint.url}: connection refused"
    ) in err.decode(), err
