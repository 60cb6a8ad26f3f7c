"""SASL OAUTHBEARER with tokens from the local Keycloak (brokers/keycloak.sh,
realm mqcli, client mqcli-kafka, tokens living 60 s) against the broker's
OAuth listener (9096; 9097 over TLS), which checks them against the realm's JWKS.

The addresses follow the broker scripts' own variables, so the tests can run
against a private set of servers: KAFKA_PORT_OFFSET (shifts 9096) and
KEYCLOAK_PORT (8180)."""

from __future__ import annotations

import http.server
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, run_mqcli
from tests.kafka.conftest import HOST, TLS_DIR, start_mqcli, write_profile

OAUTH_PORT = 9096 + int(os.environ.get("KAFKA_PORT_OFFSET", "0"))
OAUTH_TLS_PORT = OAUTH_PORT + 1  # the same listener over TLS (SASL_SSL)
KEYCLOAK = f"http://127.0.0.1:{os.environ.get('KEYCLOAK_PORT', '8180')}/realms/mqcli"
TOKEN_URL = f"{KEYCLOAK}/protocol/openid-connect/token"
SECRET = "mqcli-kafka-secret"
TOKEN_LIFETIME = 20  # accessTokenLifespan of brokers/keycloak/mqcli-realm.json
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.")


def _oauth(secret: str = SECRET, token_url: str = TOKEN_URL) -> dict[str, Any]:
    return {
        "bootstrap_servers": f"{HOST}:{OAUTH_PORT}",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "OAUTHBEARER",
        "connect_timeout": "5s",
        "oauth": {"token_url": token_url, "client_id": "mqcli-kafka", "client_secret": secret},
    }


@pytest.fixture
def oauth_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cwd holds mqcli.yaml with the OAuth profile; the address comes from it."""
    monkeypatch.delenv("MQCLI_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    write_profile(tmp_path, "sso", _oauth())
    return tmp_path


@pytest.fixture
def oauth_topic(oauth_dir: Path, cli: Any, unique_name: Callable[[str], str]) -> Iterator[str]:
    """A fresh topic, created and deleted through the OAuth listener itself."""
    name = unique_name("oauth")
    r = cli("kafka", "topics", "create", name)
    assert r.exit_code == 0, r.stderr
    yield name
    cli("kafka", "topics", "delete", name, "--if-exists")


def test_produce_and_consume_with_oauth(cli: Any, oauth_topic: str) -> None:
    r = cli("kafka", "produce", oauth_topic, "-K", ":", input=b"k1:one\nk2:two\n")
    assert r.exit_code == 0, r.stderr
    r = cli("kafka", "consume", oauth_topic, "-e", "--format", "{key}={value}")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "k1=one\nk2=two\n"
    r = cli("ping", "--kafka")
    assert r.exit_code == 0 and f"{HOST}:{OAUTH_PORT}" in r.stdout


def test_produce_and_consume_with_oauth_over_tls(oauth_dir: Path, cli: Any, oauth_topic: str) -> None:
    """SASL_SSL: the token travels inside TLS, the broker's certificate checked against the test CA."""
    over_tls = {
        **_oauth(),
        "bootstrap_servers": f"{HOST}:{OAUTH_TLS_PORT}",
        "security_protocol": "SASL_SSL",
        "tls": {"ca": str(TLS_DIR / "ca.crt")},
    }
    write_profile(oauth_dir, "sso", over_tls)
    r = cli("kafka", "produce", oauth_topic, "-K", ":", input=b"k1:one\nk2:two\n")
    assert r.exit_code == 0, r.stderr
    r = cli("kafka", "consume", oauth_topic, "-e", "--format", "{key}={value}")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "k1=one\nk2=two\n"
    # The CA is checked: another CA's certificate is refused (exit 4), token or not.
    write_profile(oauth_dir, "sso", {**over_tls, "tls": {"ca": str(TLS_DIR / "other-ca.crt")}, "connect_timeout": "3s"})
    r = cli("kafka", "produce", oauth_topic, "x")
    assert r.exit_code == 4, r.stderr
    assert "Traceback" not in r.stderr


def test_bad_client_secret_is_exit_4(oauth_dir: Path, cli: Any) -> None:
    write_profile(oauth_dir, "sso", _oauth(secret="wrong-secret-123"))
    started = time.monotonic()
    r = cli("kafka", "produce", "any-topic", "x")
    assert r.exit_code == 4
    assert f"OAuth token request to {TOKEN_URL} refused" in r.stderr and "unauthorized_client" in r.stderr
    assert "wrong-secret-123" not in r.stderr + r.stdout
    assert time.monotonic() - started < 20


def test_unreachable_token_endpoint_is_exit_4(oauth_dir: Path, cli: Any) -> None:
    dead = "http://127.0.0.1:9/realms/mqcli/protocol/openid-connect/token"  # discard port: nothing listens
    write_profile(oauth_dir, "sso", _oauth(token_url=dead))
    r = cli("kafka", "consume", "any-topic", "-e")
    assert r.exit_code == 4
    assert f"cannot reach the OAuth token endpoint {dead}: connection refused" in r.stderr
    assert SECRET not in r.stderr


def test_debug_shows_neither_secret_nor_token(oauth_topic: str) -> None:
    # A real process, so the library loggers --debug turns on write to the captured stderr.
    r = run_mqcli(["--debug", "kafka", "produce", oauth_topic, "x"])
    assert r.returncode == 0, r.stderr
    r2 = run_mqcli(["--debug", "kafka", "consume", oauth_topic, "-e"])
    assert r2.returncode == 0 and r2.stdout == b"x\n", r2.stderr
    for err in (r.stderr.decode(), r2.stderr.decode()):
        assert "debug" in err  # --debug did show the libraries' logs
        assert SECRET not in err
        assert not JWT.search(err), JWT.search(err)
    r3 = run_mqcli(["config", "show"])
    assert r3.returncode == 0 and SECRET not in r3.stdout.decode() and "client_secret: '****'" in r3.stdout.decode()


def test_group_consume_outlives_the_token(oauth_topic: str) -> None:
    """The broker ends a session when its token expires (connections.max.reauth.ms
    is set on the OAuth listener): a consumer that keeps working past the token's
    lifetime has re-authenticated with a fresh token."""
    group = f"{oauth_topic}-g"
    consumer = start_mqcli(["kafka", "group-consume", oauth_topic, "-g", group, "--count", "2"])
    try:
        assert run_mqcli(["kafka", "produce", oauth_topic, "before"]).returncode == 0
        time.sleep(TOKEN_LIFETIME + 15)
        assert consumer.poll() is None, consumer.stderr.read() if consumer.stderr else b""
        r = run_mqcli(["kafka", "produce", oauth_topic, "after"])
        assert r.returncode == 0, r.stderr
        out, err = consumer.communicate(timeout=60)
    finally:
        if consumer.poll() is None:
            consumer.send_signal(signal.SIGTERM)
            try:
                consumer.wait(10)
            except subprocess.TimeoutExpired:
                consumer.kill()
    assert consumer.returncode == 0, err
    assert out == b"before\nafter\n"


class OneTokenEndpoint:
    """A token endpoint that hands out one real token (it forwards the first
    request to Keycloak) and then goes away: later requests are refused, as
    from an identity provider that went down."""

    def __init__(self) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = urllib.request.Request(TOKEN_URL, data=body, method="POST")
                request.add_header("Authorization", self.headers["Authorization"])
                request.add_header("Content-Type", "application/x-www-form-urlencoded")
                with urllib.request.urlopen(request, timeout=10) as answer:
                    data = answer.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                threading.Thread(target=outer.close).start()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_token_that_cannot_be_renewed_ends_the_run_with_exit_4(oauth_dir: Path, oauth_topic: str) -> None:
    endpoint = OneTokenEndpoint()
    write_profile(oauth_dir, "sso", _oauth(token_url=endpoint.url))
    consumer = start_mqcli(["kafka", "group-consume", oauth_topic, "-g", f"{oauth_topic}-g"])
    try:
        # Refreshes fail from 80% of the lifetime on; the token in hand is used until it expires.
        _, err = consumer.communicate(timeout=TOKEN_LIFETIME + 90)
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
        endpoint.close()
    assert consumer.returncode == 4, err
    assert (
        f"the OAuth token of client 'mqcli-kafka' expired and cannot be refreshed: "
        f"cannot reach the OAuth token endpoint {endpoint.url}: connection refused"
    ) in err.decode()


def test_a_produce_whose_token_cannot_be_renewed_ends_with_exit_4(oauth_dir: Path, oauth_topic: str) -> None:
    """A long produce (a line every 2 s on stdin) outlives its token: the broker ends the
    session at the token's expiry, and a new one cannot be had."""
    endpoint = OneTokenEndpoint()
    write_profile(oauth_dir, "sso", _oauth(token_url=endpoint.url))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    producer = subprocess.Popen(
        [sys.executable, "-m", "mqcli", "kafka", "produce", oauth_topic],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert producer.stdin is not None
    try:
        deadline = time.monotonic() + TOKEN_LIFETIME + 90
        line = 0
        while producer.poll() is None and time.monotonic() < deadline:
            line += 1
            try:
                producer.stdin.write(f"line {line}\n".encode())
                producer.stdin.flush()
            except BrokenPipeError:
                break
            time.sleep(2)
        _, err = producer.communicate(timeout=30)
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.wait()
        endpoint.close()
    assert producer.returncode == 4, err
    assert (
        f"the OAuth token of client 'mqcli-kafka' expired and cannot be refreshed: "
        f"cannot reach the OAuth token endpoint {endpoint.url}: connection refused"
    ) in err.decode()
    assert re.search(rb"; input from line \d+ on was not sent", err), err  # where a rerun resumes
