"""RabbitMQ's management HTTP API (the rabbitmq_management plugin), through the
standard library's urllib.

The client speaks JSON to `rabbit.management_url` (default
http://<first host>:15672) with the profile's credentials and TLS settings, and
turns every failure into a typed mqcli error:

* nothing answering, a TLS failure, an answer that is not the API -> ConnectionFailed (4),
  with a hint naming the plugin and the URL tried;
* 401 for a user without a management tag, or 403 -> ConnectionFailed (4) naming the
  missing permission; 401 for a wrong password -> ConnectionFailed (4);
* 404 -> NotFound (6); anything else -> MqcliError (1).

It never imports pika, and the credentials are only ever in the Authorization
header: not in the URL, messages or debug lines.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from mqcli.core.config import RabbitSettings, TlsSettings
from mqcli.core.errors import ConnectionFailed, MqcliError, NotFound
from mqcli.core.rabbit.tls import ssl_context

PLUGIN_HINT = "enable the rabbitmq_management plugin: rabbitmq-plugins enable rabbitmq_management; or point rabbit.management_url at the API"
# The user tags that may use the HTTP API at all.
MANAGEMENT_TAGS = "management, policymaker, monitoring or administrator"


# RabbitMQ's word in "Not <word> user" -> the user tag that grants it.
_TAGS = {
    "management": "management",
    "monitor": "monitoring",
    "administrator": "administrator",
    "policymaker": "policymaker",
}


class ManagementForbidden(ConnectionFailed):
    """The user may not do this through the management API (a missing tag or permission)."""


def path(*segments: str) -> str:
    """/api/... from segments, each percent-encoded ('/' as a vhost is %2F)."""
    return "/api/" + "/".join(quote(s, safe="") for s in segments)


class ManagementClient:
    """JSON requests to one management API, as the profile's user."""

    def __init__(
        self,
        settings: RabbitSettings,
        *,
        profile: str | None = None,
        debug: Callable[[str], None] | None = None,
    ) -> None:
        self.base = settings.management_endpoint()
        self.username = settings.username
        self.timeout = settings.connection_timeout
        self.profile = profile
        self._debug = debug
        token = base64.b64encode(f"{settings.username}:{settings.password}".encode()).decode("ascii")
        self._auth = f"Basic {token}"
        self._context: ssl.SSLContext | None = None
        if self.base.lower().startswith("https:"):
            # An https management_url with a plain-amqp profile still verifies against the system CAs.
            self._context = ssl_context(settings.tls or TlsSettings(), what="the RabbitMQ management API")

    def get(self, api_path: str, params: Mapping[str, str] | None = None, *, what: str | None = None) -> Any:
        """The JSON document at api_path (NotFound naming `what` on 404)."""
        return self._request("GET", api_path, params, what=what)

    def delete(self, api_path: str, *, headers: Mapping[str, str] | None = None, what: str | None = None) -> None:
        self._request("DELETE", api_path, None, headers=headers, what=what)

    def put(self, api_path: str, body: Any, *, what: str | None = None) -> None:
        self._request("PUT", api_path, None, body=body, what=what)

    def _request(
        self,
        method: str,
        api_path: str,
        params: Mapping[str, str] | None,
        *,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        what: str | None = None,
    ) -> Any:
        url = self.base + api_path + ("?" + urlencode(params) if params else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", self._auth)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if self._debug is not None:
            self._debug(f"management API: {method} {url}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._context) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            raise self._http_error(e, method, api_path, what) from None
        except (urllib.error.URLError, OSError) as e:
            raise self._unreachable(e) from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ConnectionFailed(
                f"{self.base} did not answer as RabbitMQ's management API (not JSON)", hint=PLUGIN_HINT
            ) from None

    def _where(self) -> str:
        return f" (profile '{self.profile}')" if self.profile else ""

    def _unreachable(self, e: BaseException) -> MqcliError:
        reason = getattr(e, "reason", e)
        if isinstance(reason, ssl.SSLCertVerificationError):
            return ConnectionFailed(
                f"TLS certificate verification failed for the management API at {self.base}{self._where()}: "
                f"{reason.verify_message or reason.reason}",
                hint="check the profile's tls.ca",
            )
        if isinstance(reason, ssl.SSLError):
            return ConnectionFailed(
                f"TLS handshake with the management API at {self.base} failed{self._where()}: {reason.reason or reason}",
                hint="check rabbit.management_url (https is usually port 15671) and the tls settings",
            )
        text = getattr(reason, "strerror", None) or str(reason)
        return ConnectionFailed(
            f"RabbitMQ management API not reachable at {self.base}{self._where()}: {text}", hint=PLUGIN_HINT
        )

    def _http_error(self, e: urllib.error.HTTPError, method: str, api_path: str, what: str | None) -> MqcliError:
        try:
            detail = json.loads(e.read() or b"{}")
        except ValueError:
            detail = {}
        reason = str(detail.get("reason", "")) if isinstance(detail, dict) else ""
        if e.code == 401:
            # RabbitMQ answers 401 both for a wrong password and for a user without
            # the tag an endpoint needs ("Not management user", "Not monitor user").
            tag = re.fullmatch(r"not (\w+) user", reason.strip().lower())
            if tag is not None:
                needed = _TAGS.get(tag[1], tag[1])
                can = "use the management API" if needed == "management" else f"{method} {api_path}"
                return ManagementForbidden(
                    f"user '{self.username}' may not {can}: it has no {needed} tag{self._where()}",
                    hint=f"rabbitmqctl set_user_tags {self.username} {needed} (tags: {MANAGEMENT_TAGS})",
                )
            return ConnectionFailed(
                f"management API at {self.base}: authentication failed for user '{self.username}'{self._where()}",
                hint="check the profile's username and password",
            )
        if e.code == 403:
            return ManagementForbidden(
                f"user '{self.username}' is not allowed to {method} {api_path} on the management API"
                + (f" ({reason})" if reason else "")
                + self._where(),
                hint="this needs the monitoring or administrator tag, or permissions on the vhost",
            )
        if e.code == 404:
            if what is not None:
                return NotFound(f"{what} not found")
            return ConnectionFailed(
                f"{self.base}{api_path}: 404 Not Found: {self.base} is not RabbitMQ's management API", hint=PLUGIN_HINT
            )
        return MqcliError(f"management API: {method} {api_path}: HTTP {e.code} {reason or e.reason}")
