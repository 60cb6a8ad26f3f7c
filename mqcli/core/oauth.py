"""OAuth 2 access tokens for brokers that sign in with them (Kafka SASL
OAUTHBEARER, RabbitMQ's oauth2 auth backend): the client-credentials grant
against an OIDC token endpoint, cached, and fetched again before it expires.

Standard library only (urllib, imported when a token is fetched: a profile
with an `oauth` section).  Every failure is a ConnectionFailed (exit 4)
naming the token URL and the cause; neither the client secret nor a token is
ever part of a message.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mqcli.core.errors import ConfigError, ConnectionFailed

if TYPE_CHECKING:
    import urllib.error

    from mqcli.core.config.settings import KafkaSettings, OAuthSettings

# A token is fetched again once this share of its lifetime has passed (Kafka's
# own clients default to 0.8 too), so a connection made just before the refresh
# still authenticates with a token that has a fifth of its life left.
REFRESH_FACTOR = 0.8
# When the endpoint says nothing about the lifetime and the token is no JWT.
DEFAULT_LIFETIME = 300.0
# The hint for credentials the endpoint refused.
_CREDENTIALS_HINT = "check oauth.client_id and oauth.client_secret in the profile"


@dataclass(frozen=True)
class Token:
    """An access token and when it was obtained (wall-clock seconds) and lasts."""

    value: str
    obtained_at: float  # time.time() when the answer arrived
    lifetime: float  # seconds

    @property
    def expires_at(self) -> float:
        return self.obtained_at + self.lifetime

    @property
    def refresh_at(self) -> float:
        return self.obtained_at + self.lifetime * REFRESH_FACTOR

    def __repr__(self) -> str:  # never the token itself (debug output, tracebacks)
        return f"Token(obtained_at={self.obtained_at:.0f}, lifetime={self.lifetime:g})"


def request_body(settings: OAuthSettings) -> bytes:
    """The form body of a client-credentials token request (the client authenticates with HTTP Basic)."""
    fields = {"grant_type": "client_credentials"}
    if settings.scope:
        fields["scope"] = settings.scope
    return urllib.parse.urlencode(fields).encode()


def basic_auth(client_id: str, client_secret: str) -> str:
    """The Authorization header of RFC 6749 section 2.3.1: both parts form-encoded, then Basic."""
    pair = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (seconds since the epoch), None when the token is not a JWT with one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    import json  # here: every Kafka producer imports this module, few fetch a token (issue 15)

    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


def parse_token_response(body: bytes, url: str, now: float) -> Token:
    """The token of a successful (HTTP 200) answer; ConnectionFailed when there is none."""
    import json

    try:
        data = json.loads(body)
    except ValueError:
        raise ConnectionFailed(f"OAuth token endpoint {url} did not answer with JSON") from None
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise ConnectionFailed(f"OAuth token endpoint {url} answered without an access_token")
    expires_in = data.get("expires_in")
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and expires_in > 0:
        lifetime = float(expires_in)
    else:
        exp = jwt_expiry(token)
        lifetime = exp - now if exp is not None and exp > now else DEFAULT_LIFETIME
    return Token(token, now, lifetime)


def refused(status: int, body: bytes, url: str) -> ConnectionFailed:
    """The error for an answer other than 200: the endpoint's OAuth error code and description."""
    import json

    error, description = "", ""
    try:
        data = json.loads(body)
        if isinstance(data, dict):
            error = str(data.get("error") or "")
            description = str(data.get("error_description") or "")
    except ValueError:
        pass
    cause = ": ".join(part for part in (error, description) if part)
    if error in ("invalid_client", "unauthorized_client") or status == 401:
        return ConnectionFailed(f"OAuth token request to {url} refused: {cause or 'HTTP 401'}", hint=_CREDENTIALS_HINT)
    if error == "invalid_scope":
        return ConnectionFailed(f"OAuth token request to {url} refused: {cause}", hint="check oauth.scope")
    return ConnectionFailed(f"OAuth token request to {url} failed: HTTP {status}" + (f": {cause}" if cause else ""))


class TokenSource:
    """Access tokens of one OAuth client: fetched on first use, cached, and
    fetched again once REFRESH_FACTOR of a token's lifetime has passed.
    Thread-safe (client libraries ask from their network threads)."""

    def __init__(
        self,
        settings: OAuthSettings,
        timeout: float,
        *,
        clock: Callable[[], float] = time.time,
        fetch: Callable[[TokenSource], Token] | None = None,
    ) -> None:
        if not settings.token_url or not settings.client_id or not settings.client_secret:
            raise ConfigError("oauth needs token_url, client_id and client_secret")
        self.url = settings.token_url
        self.client_id = settings.client_id
        self._settings = settings
        self._timeout = timeout
        self._clock = clock
        self._fetch = fetch or _http_fetch
        self._lock = threading.Lock()
        self._token: Token | None = None
        self.fetches = 0  # how many tokens were fetched (for tests and --debug)
        # Set once the token expired and a new one could not be had (cleared when one
        # is): client libraries ask from their own threads and only retry, so the
        # loops of a long run look here (`check`) to end it with this cause.
        self.failure: ConnectionFailed | None = None

    def current(self) -> Token:
        """A token that has not reached its refresh time, fetched now if need be.

        When a refresh fails while the token in hand is still valid, that one is
        returned (and the next call tries again): an endpoint that is down for a
        moment must not end a long run.  Once it has expired, the failure is
        raised, saying so."""
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._token.refresh_at:
                try:
                    self._token = self._fetch(self)
                except ConnectionFailed as e:
                    if self._token is not None and now < self._token.expires_at:
                        return self._token
                    if self._token is not None:
                        self.failure = ConnectionFailed(
                            f"the OAuth token of client {self.client_id!r} expired and cannot be refreshed: {e.message}",
                            hint=e.hint,
                        )
                        raise self.failure from None
                    raise
                self.fetches += 1
                self.failure = None
            return self._token

    def check(self) -> None:
        """Raise `failure` when the token in hand has expired and no new one can be
        had (one fetch is tried then); cheap while it is valid (a long run's loops
        call it often)."""
        token = self._token
        if token is not None and self._clock() >= token.expires_at:
            self.current()
        elif self.failure is not None:
            raise self.failure

    def token(self) -> str:
        return self.current().value

    def __repr__(self) -> str:
        return f"TokenSource({self.url}, client {self.client_id!r})"


def _http_fetch(source: TokenSource) -> Token:
    """One client-credentials request (urllib); every failure a ConnectionFailed naming the URL."""
    # Imported here: urllib.request (http.client, email, ssl) is ~40 M instructions,
    # and every Kafka producer and consumer imports this module for kafka_oauth_check.
    import urllib.error
    import urllib.request

    settings = source._settings
    assert settings.client_id is not None and settings.client_secret is not None  # checked in __init__
    request = urllib.request.Request(
        source.url,
        data=request_body(settings),
        headers={
            "Authorization": basic_auth(settings.client_id, settings.client_secret),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=source._timeout) as answer:
            body = answer.read()
    except urllib.error.HTTPError as e:
        raise refused(e.code, _read(e), source.url) from None
    except urllib.error.URLError as e:
        raise ConnectionFailed(f"cannot reach the OAuth token endpoint {source.url}: {_reason(e.reason)}") from None
    except (TimeoutError, OSError) as e:
        raise ConnectionFailed(f"cannot reach the OAuth token endpoint {source.url}: {_reason(e)}") from None
    return parse_token_response(body, source.url, source._clock())


def _read(e: urllib.error.HTTPError) -> bytes:
    try:
        return e.read()
    except OSError:
        return b""


def _reason(reason: Any) -> str:
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return "no answer in time"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)


_SOURCES: dict[tuple[str, str, str, str], TokenSource] = {}
_SOURCES_LOCK = threading.Lock()


def token_source(settings: OAuthSettings, timeout: float) -> TokenSource:
    """The process's one TokenSource for this client (so several broker clients share a token)."""
    key = (settings.token_url or "", settings.client_id or "", settings.client_secret or "", settings.scope or "")
    with _SOURCES_LOCK:
        source = _SOURCES.get(key)
        if source is None:
            source = _SOURCES[key] = TokenSource(settings, timeout)
        return source


def kafka_oauth_check(settings: KafkaSettings) -> Callable[[], None] | None:
    """For a Kafka profile with OAUTHBEARER, `check` of its token source (see
    TokenSource.check), else None: what a producer or consumer loop calls."""
    if settings.sasl_mechanism != "OAUTHBEARER" or not settings.oauth.token_url:
        return None
    return token_source(settings.oauth, settings.connect_timeout).check


def kafka_token_source(settings: KafkaSettings) -> TokenSource:
    """The token source of a Kafka profile with OAUTHBEARER, with a token fetched
    now: bad credentials or an unreachable endpoint fail before any broker is asked."""
    source = token_source(settings.oauth, settings.connect_timeout)
    source.current()
    return source


def broker_refused(where: str, settings: KafkaSettings) -> ConnectionFailed:
    """A Kafka broker that refused a token the endpoint issued (audience, issuer, signature)."""
    return ConnectionFailed(
        f"Kafka authentication failed at {where}: the broker refused the OAuth token of client "
        f"{settings.oauth.client_id!r} from {settings.oauth.token_url}",
        hint="the broker must accept this endpoint's tokens (issuer, audience, signing keys)",
    )
