"""mqcli.core.oauth (pure parts), the oauth profile section, and masking of tokens.

The token requests themselves are tested against the local Keycloak
(tests/kafka/test_oauth.py, tests/rabbit/test_oauth.py)."""

from __future__ import annotations

import base64
import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml

from mqcli.core.config import resolve_profile
from mqcli.core.config.settings import OAuthSettings
from mqcli.core.errors import ConfigError, ConnectionFailed, ExitCode, mask_secrets
from mqcli.core.oauth import (
    DEFAULT_LIFETIME,
    Token,
    TokenSource,
    basic_auth,
    jwt_expiry,
    parse_token_response,
    refused,
    request_body,
)

URL = "http://idp.example/realms/r/protocol/openid-connect/token"
SETTINGS = OAuthSettings(URL, "my-client", "s3cret-value", None)


def jwt(claims: dict[str, object]) -> str:
    def part(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


# -- the token request and answer ---------------------------------------------------------------


def test_request_body_and_basic_auth() -> None:
    assert request_body(SETTINGS) == b"grant_type=client_credentials"
    with_scope = OAuthSettings(URL, "c", "s", "kafka read:all")
    assert request_body(with_scope) == b"grant_type=client_credentials&scope=kafka+read%3Aall"
    # RFC 6749 2.3.1: id and secret are form-encoded before Basic.
    header = basic_auth("my client", "p@ss:word")
    assert header.startswith("Basic ")
    assert base64.b64decode(header[6:]).decode() == "my+client:p%40ss%3Aword"


def test_expires_in_wins_over_the_jwt() -> None:
    token = parse_token_response(
        json.dumps({"access_token": jwt({"exp": 2000}), "expires_in": 60}).encode(), URL, now=1000.0
    )
    assert (token.obtained_at, token.lifetime, token.expires_at) == (1000.0, 60.0, 1060.0)
    assert token.refresh_at == pytest.approx(1048.0)


def test_lifetime_from_the_jwt_then_the_default() -> None:
    assert parse_token_response(json.dumps({"access_token": jwt({"exp": 1300})}).encode(), URL, 1000.0).lifetime == 300
    assert jwt_expiry(jwt({"exp": 5})) == 5.0
    assert jwt_expiry(jwt({"sub": "x"})) is None
    assert jwt_expiry("opaque-token") is None
    assert jwt_expiry("a.!!!.c") is None
    opaque = parse_token_response(b'{"access_token": "opaque", "expires_in": "soon"}', URL, 1000.0)
    assert opaque.lifetime == DEFAULT_LIFETIME
    expired = parse_token_response(json.dumps({"access_token": jwt({"exp": 10})}).encode(), URL, 1000.0)
    assert expired.lifetime == DEFAULT_LIFETIME


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>", "did not answer with JSON"),
        (b"[]", "without an access_token"),
        (b'{"token_type": "Bearer"}', "without an access_token"),
        (b'{"access_token": ""}', "without an access_token"),
    ],
)
def test_answers_without_a_token(body: bytes, message: str) -> None:
    with pytest.raises(ConnectionFailed, match=message) as e:
        parse_token_response(body, URL, 0.0)
    assert URL in e.value.message and e.value.exit_code == ExitCode.CONNECTION


def test_refusals_name_the_url_and_the_cause() -> None:
    bad = refused(401, b'{"error":"unauthorized_client","error_description":"Invalid client credentials"}', URL)
    assert bad.message == f"OAuth token request to {URL} refused: unauthorized_client: Invalid client credentials"
    assert bad.hint and "client_secret" in bad.hint and bad.exit_code == ExitCode.CONNECTION
    assert refused(400, b'{"error":"invalid_client"}', URL).hint == bad.hint
    assert "HTTP 401" in refused(401, b"", URL).message
    assert refused(400, b'{"error":"invalid_scope"}', URL).hint == "check oauth.scope"
    missing = refused(404, b'{"error":"Realm does not exist"}', URL)
    assert missing.message == f"OAuth token request to {URL} failed: HTTP 404: Realm does not exist"
    assert refused(502, b"gateway", URL).message.endswith("failed: HTTP 502")


# -- caching and refresh ----------------------------------------------------------------------


def test_token_is_cached_and_fetched_again_before_expiry() -> None:
    now = [1000.0]
    issued: list[str] = []

    def fetch(source: TokenSource) -> Token:
        issued.append(f"t{len(issued)}")
        return Token(issued[-1], now[0], 60.0)

    source = TokenSource(SETTINGS, 5.0, clock=lambda: now[0], fetch=fetch)
    assert source.fetches == 0  # nothing is asked before the first use
    assert source.token() == "t0"
    now[0] = 1047.9  # just before 80% of the lifetime
    assert source.token() == "t0" and source.fetches == 1
    now[0] = 1048.0
    assert source.token() == "t1" and source.fetches == 2
    assert source.current().expires_at == 1108.0


def test_a_failed_refresh_keeps_a_valid_token_and_raises_once_it_expired() -> None:
    now = [0.0]
    answers: list[Token | ConnectionFailed] = [
        Token("a", 0.0, 10.0),
        ConnectionFailed("cannot reach the OAuth token endpoint U: connection refused"),
        ConnectionFailed("cannot reach the OAuth token endpoint U: connection refused"),
        Token("b", 11.0, 10.0),
    ]

    def fetch(source: TokenSource) -> Token:
        answer = answers.pop(0)
        if isinstance(answer, ConnectionFailed):
            raise answer
        return answer

    source = TokenSource(SETTINGS, 5.0, clock=lambda: now[0], fetch=fetch)
    assert source.token() == "a"
    now[0] = 9.0  # refresh due, the endpoint is down, "a" is valid for another second
    assert source.token() == "a"
    now[0] = 10.0  # expired, and still no new one
    with pytest.raises(ConnectionFailed) as e:
        source.token()
    assert e.value.message == (
        "the OAuth token of client 'my-client' expired and cannot be refreshed: "
        "cannot reach the OAuth token endpoint U: connection refused"
    )
    now[0] = 11.0
    assert source.token() == "b" and source.fetches == 2


def test_check_ends_a_long_run_once_the_token_expired_and_cannot_be_renewed() -> None:
    """What producer and consumer loops call: nothing while the token is valid (no
    fetch), one fetch once it expired, the failure until a new token comes."""
    now = [0.0]
    answers: list[Token | ConnectionFailed] = [
        Token("a", 0.0, 10.0),
        ConnectionFailed("cannot reach the OAuth token endpoint U: connection refused"),
        Token("b", 12.0, 10.0),
    ]
    asked = [0]

    def fetch(source: TokenSource) -> Token:
        asked[0] += 1
        answer = answers.pop(0)
        if isinstance(answer, ConnectionFailed):
            raise answer
        return answer

    source = TokenSource(SETTINGS, 5.0, clock=lambda: now[0], fetch=fetch)
    source.check()  # no token yet: nothing to check, nothing fetched
    assert asked[0] == 0
    source.token()
    now[0] = 9.5  # past the refresh time but valid: check() fetches nothing
    source.check()
    assert asked[0] == 1 and source.failure is None
    now[0] = 10.0
    with pytest.raises(ConnectionFailed, match="expired and cannot be refreshed") as e:
        source.check()
    assert source.failure is e.value and e.value.exit_code == ExitCode.CONNECTION
    now[0] = 12.0  # the endpoint is back
    source.check()
    assert source.token() == "b" and source.failure is None


def test_kafka_oauth_check_only_for_oauthbearer() -> None:
    from mqcli.core.config.settings import KafkaSettings
    from mqcli.core.oauth import kafka_oauth_check

    assert kafka_oauth_check(KafkaSettings()) is None
    assert kafka_oauth_check(KafkaSettings(sasl_mechanism="PLAIN", oauth=SETTINGS)) is None
    check = kafka_oauth_check(KafkaSettings(sasl_mechanism="OAUTHBEARER", oauth=SETTINGS))
    assert check is not None
    check()  # no token fetched yet: nothing to say


def test_the_first_failure_is_raised_as_it_is() -> None:
    def fetch(source: TokenSource) -> Token:
        raise ConnectionFailed("refused", hint="h")

    with pytest.raises(ConnectionFailed) as e:
        TokenSource(SETTINGS, 5.0, fetch=fetch).token()
    assert (e.value.message, e.value.hint) == ("refused", "h")


def test_incomplete_settings_are_a_config_error() -> None:
    with pytest.raises(ConfigError):
        TokenSource(OAuthSettings(URL, "id", None, None), 5.0)


def test_reprs_never_show_the_token_or_secret() -> None:
    token = Token(jwt({"exp": 1}), 0.0, 60.0)
    source = TokenSource(SETTINGS, 5.0, fetch=lambda s: token)
    source.token()
    text = repr(token) + repr(source) + repr(SETTINGS)
    assert token.value not in text and "s3cret-value" not in text


# -- masking ----------------------------------------------------------------------------------


def test_tokens_are_masked_wherever_they_appear() -> None:
    token = jwt({"sub": "service-account", "exp": 1})
    lines = [
        f"SaslAuthenticateRequest(auth_bytes=b'n,,\\x01auth=Bearer {token}\\x01\\x01')",
        f'{{"access_token": "{token}", "expires_in": 60}}',
        "Authorization: Bearer opaque.token-value_1",
        f"token {token} expired",
    ]
    for line in lines:
        masked = mask_secrets(line)
        assert token not in masked and "opaque.token-value_1" not in masked and "****" in masked, masked
    # librdkafka's "SASL OAUTHBEARER client in state ..." is no token.
    line = "SASL OAUTHBEARER client in state client-first-message"
    assert mask_secrets(line) == line


# -- the profile section ------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mqcli.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    os.chmod(path, 0o600)
    return path


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg"), **extra}


OAUTH_PROFILE = """
profiles:
  sso:
    kafka:
      security_protocol: SASL_SSL
      sasl_mechanism: oauthbearer
      oauth:
        token_url: https://idp.example/realms/r/protocol/openid-connect/token/
        client_id: kafka-cli
        client_secret: ${KAFKA_SECRET}
        scope: kafka
    rabbit:
      oauth:
        token_url: https://idp.example/token
        client_id: rabbit-cli
        client_secret: rabbit-secret-1
"""


def test_oauth_sections_of_both_brokers(tmp_path: Path) -> None:
    p = resolve_profile(str(write(tmp_path, OAUTH_PROFILE)), None, env(tmp_path, KAFKA_SECRET="kafka-secret-1"))
    assert p.kafka.sasl_mechanism == "OAUTHBEARER"
    assert p.kafka.oauth == OAuthSettings(
        "https://idp.example/realms/r/protocol/openid-connect/token", "kafka-cli", "kafka-secret-1", "kafka"
    )
    assert p.rabbit.oauth.client_id == "rabbit-cli"
    assert p.rabbit.display_url() == "amqp://rabbit-cli@localhost:5672/"  # the user name sent
    assert {"kafka-secret-1", "rabbit-secret-1"} <= set(p.secrets())
    shown = yaml.safe_dump(p.to_dict()) + repr(p)
    assert "kafka-secret-1" not in shown and "rabbit-secret-1" not in shown
    assert p.to_dict()["kafka"]["oauth"]["client_secret"] == "****"
    assert p.to_dict(mask=False)["rabbit"]["oauth"]["client_secret"] == "rabbit-secret-1"
    assert p.warnings == ()


def test_oauth_from_the_environment(tmp_path: Path) -> None:
    p = resolve_profile(
        None,
        None,
        env(
            tmp_path,
            MQCLI_RABBIT_OAUTH_TOKEN_URL="http://127.0.0.1:8180/t",
            MQCLI_RABBIT_OAUTH_CLIENT_ID="c",
            MQCLI_RABBIT_OAUTH_CLIENT_SECRET="env-secret",
        ),
    )
    assert p.rabbit.oauth.token_url == "http://127.0.0.1:8180/t" and "env-secret" in p.secrets()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "profiles:\n  p:\n    kafka:\n      oauth:\n        token_url: http://h/t\n        client_id: c\n",
            "mqcli.yaml:4: profiles.p.kafka.oauth: missing client_secret",
        ),
        (
            "profiles:\n  p:\n    rabbit:\n      oauth: {client_id: c, client_secret: s}\n",
            "profiles.p.rabbit.oauth: missing token_url",
        ),
        (
            "profiles:\n  p:\n    kafka:\n      security_protocol: SASL_SSL\n      sasl_mechanism: OAUTHBEARER\n",
            "mqcli.yaml:5: profiles.p.kafka.sasl_mechanism: OAUTHBEARER needs a kafka.oauth section",
        ),
        (
            "profiles:\n  p:\n    kafka:\n      oauth: {token_url: 'http://id:pw@h/t', client_id: c, client_secret: s}\n",
            "give the credentials with the client_id and client_secret keys",
        ),
        (
            "profiles:\n  p:\n    kafka:\n      oauth: {token_url: 'ftp://h/t', client_id: c, client_secret: s}\n",
            "profiles.p.kafka.oauth.token_url",
        ),
    ],
)
def test_invalid_oauth_sections(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        resolve_profile(str(write(tmp_path, text)), None, env(tmp_path))
    assert message in e.value.message
    assert "pw" not in e.value.message.replace("profiles.p", "")


def test_oauth_without_oauthbearer_is_a_warning(tmp_path: Path) -> None:
    text = "profiles:\n  p:\n    kafka:\n      oauth: {token_url: 'http://h/t', client_id: c, client_secret: s}\n"
    p = resolve_profile(str(write(tmp_path, text)), None, env(tmp_path))
    assert p.warnings == ("kafka oauth settings are ignored unless sasl_mechanism is OAUTHBEARER",)
