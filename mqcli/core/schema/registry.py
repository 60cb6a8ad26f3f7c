"""A client for the Confluent Schema Registry REST API (also served by
Apicurio's `/apis/ccompat/v7`, Redpanda, Karapace), on the standard
library's urllib.request: a handful of GET/POST calls with JSON bodies
need no third-party HTTP client.

Schemas are cached per id, subject/version and text for the life of the
client (one command run): a million records of one schema cost one request.

Failures map to the CLI's exit codes: unreachable, or credentials refused
(401: none, wrong or expired) -> ConnectionFailed (4) naming the URL and the
profile; unknown subject, version or id -> NotFound (6); any other 4xx/5xx --
403 included: the credentials were accepted but the user's role does not
allow the request, e.g. a read-only user registering a schema -> MqcliError
(1) with the registry's own message on one line.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mqcli.core.config.settings import SchemaRegistrySettings
from mqcli.core.errors import ConfigError, ConnectionFailed, MqcliError, NotFound

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
# The registry's error codes for "no such thing" (Confluent's numbering, kept by Apicurio).
_NOT_FOUND = {40401: "subject", 40402: "version", 40403: "schema", 40404: "subject", 40406: "version"}


@dataclass(frozen=True)
class RegisteredSchema:
    """One schema the registry holds: its id, text and type, and (when known) subject and version."""

    id: int
    text: str
    type: str = "AVRO"
    subject: str | None = None
    version: int | None = None
    # Schemas this one imports (Protobuf) or refers to: (name it is imported by, subject, version).
    references: tuple[tuple[str, str, int], ...] = ()


def _references(r: dict[str, Any]) -> tuple[tuple[str, str, int], ...]:
    return tuple((str(x["name"]), str(x["subject"]), int(x["version"])) for x in r.get("references") or ())


def _one_line(text: str) -> str:
    return " ".join(text.split())


class RegistryClient:
    def __init__(self, settings: SchemaRegistrySettings, profile: str) -> None:
        if not settings.url:
            raise MqcliError(f"no schema registry configured in profile {profile} (kafka.schema_registry.url)")
        self.url = settings.url
        self.profile = profile
        self._timeout = settings.timeout
        self._headers = {"Accept": _CONTENT_TYPE + ", application/json", "Content-Type": _CONTENT_TYPE}
        self._user = settings.username  # named in errors (never the password)
        if settings.username is not None:
            token = base64.b64encode(f"{settings.username}:{settings.password or ''}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        handlers: list[urllib.request.BaseHandler] = []
        if self.url.startswith("https:"):
            handlers.append(urllib.request.HTTPSHandler(context=_ssl_context(settings)))
        # No proxy from the environment: the registry is addressed as configured.
        handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)
        self._by_id: dict[int, RegisteredSchema] = {}
        self._names: dict[int, list[tuple[str, int]]] = {}
        self._by_version: dict[tuple[str, str], RegisteredSchema] = {}
        self._by_text: dict[tuple[str, str, bool], RegisteredSchema] = {}

    # -- HTTP -----------------------------------------------------------------------

    def _call(self, method: str, path: str, body: object = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=self._headers)
        where = f"schema registry {self.url} (profile {self.profile})"
        try:
            with self._opener.open(req, timeout=self._timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            status, code, message = e.code, None, ""
            try:
                err = json.loads(e.read() or b"{}")
                code, message = err.get("error_code"), str(err.get("message") or "")
            except (ValueError, AttributeError, OSError):
                pass
            message = _one_line(message) or e.reason
            if status == 401:  # not signed in: no, wrong or expired credentials
                whose = (
                    f"of user {self._user}"
                    if self._user is not None
                    else "(none given: kafka.schema_registry.username/password)"
                )
                raise ConnectionFailed(f"{where} refused the credentials {whose}: 401 {message}") from None
            if status == 403:  # signed in, but the user's role does not allow this (e.g. read-only registering)
                who = f" for user {self._user}" if self._user is not None else ""
                raise MqcliError(f"{where} answered 403{who}: {message}") from None
            if status == 404 and (code in _NOT_FOUND or code is None):
                raise NotFound(f"{where}: {message}") from None
            raise MqcliError(f"{where} answered {status}: {message}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ConnectionFailed(f"{where} unreachable: {_one_line(str(reason))}") from None
        except ValueError:
            raise MqcliError(f"{where} answered with something that is not JSON") from None

    # -- lookups (cached) -----------------------------------------------------------------

    def by_id(self, schema_id: int) -> RegisteredSchema:
        """The schema with this id (NotFound when the registry has none)."""
        found = self._by_id.get(schema_id)
        if found is None:
            r = self._call("GET", f"/schemas/ids/{schema_id}")
            found = RegisteredSchema(schema_id, r["schema"], r.get("schemaType") or "AVRO", references=_references(r))
            self._by_id[schema_id] = found
        return found

    def names(self, schema_id: int) -> list[tuple[str, int]]:
        """Every (subject, version) the schema is registered under (one schema may serve several subjects)."""
        if schema_id not in self._names:
            try:
                versions = self._call("GET", f"/schemas/ids/{schema_id}/versions")
            except ConnectionFailed:
                raise
            except MqcliError:  # NotFound, or a registry without this endpoint: the names are only a nicety
                versions = []
            self._names[schema_id] = [(v["subject"], int(v["version"])) for v in versions or ()]
        return self._names[schema_id]

    def version(self, subject: str, version: int | str = "latest") -> RegisteredSchema:
        """A subject's schema at `version` (a number or "latest")."""
        key = (subject, str(version))
        found = self._by_version.get(key)
        if found is None:
            r = self._call("GET", f"/subjects/{quote(subject, safe='')}/versions/{version}")
            found = RegisteredSchema(
                int(r["id"]),
                r["schema"],
                r.get("schemaType") or "AVRO",
                r["subject"],
                int(r["version"]),
                _references(r),
            )
            self._by_version[key] = found
            self._by_id.setdefault(
                found.id, RegisteredSchema(found.id, found.text, found.type, references=found.references)
            )
        return found

    def lookup(
        self,
        subject: str,
        text: str,
        schema_type: str = "AVRO",
        *,
        register: bool,
        references: tuple[tuple[str, str, int], ...] = (),
    ) -> RegisteredSchema:
        """The id of `text` under `subject`: looked up, or registered when missing and `register`.
        `references`: the (import name, subject, version) of the schemas it imports."""
        key = (subject, text, register)
        found = self._by_text.get(key)
        if found is not None:
            return found
        body: dict[str, Any] = {"schema": text}
        if schema_type != "AVRO":
            body["schemaType"] = schema_type
        if references:
            body["references"] = [{"name": n, "subject": s, "version": v} for n, s, v in references]
        path = f"/subjects/{quote(subject, safe='')}"
        try:
            r = self._call("POST", path, body)
            found = RegisteredSchema(int(r["id"]), text, schema_type, subject, int(r["version"]))
        except NotFound:
            if not register:
                raise NotFound(
                    f"schema registry {self.url} (profile {self.profile}) has no such schema under subject {subject}"
                    " (--no-register)"
                ) from None
            r = self._call("POST", path + "/versions", body)
            # Registering answers the id only; the version (which a reference to it names) needs the lookup.
            version = self._call("POST", path, body).get("version")
            found = RegisteredSchema(int(r["id"]), text, schema_type, subject, int(version) if version else None)
        self._by_text[key] = found
        return found

    # -- administration (`mqcli kafka schemas ...`): uncached ------------------------------

    def subjects(self) -> list[str]:
        return sorted(self._call("GET", "/subjects"))

    def versions(self, subject: str) -> list[int]:
        return [int(v) for v in self._call("GET", f"/subjects/{quote(subject, safe='')}/versions")]

    def register(self, subject: str, text: str, schema_type: str = "AVRO") -> int:
        """Register `text` under `subject` (the same text again: its existing id)."""
        body: dict[str, Any] = {"schema": text}
        if schema_type != "AVRO":
            body["schemaType"] = schema_type
        return int(self._call("POST", f"/subjects/{quote(subject, safe='')}/versions", body)["id"])

    def check(self, subject: str, text: str, schema_type: str = "AVRO") -> tuple[bool, list[str]]:
        """Whether `text` is compatible with the subject's latest version under its
        compatibility level, and the registry's reasons when not."""
        body: dict[str, Any] = {"schema": text}
        if schema_type != "AVRO":
            body["schemaType"] = schema_type
        path = f"/compatibility/subjects/{quote(subject, safe='')}/versions/latest?verbose=true"
        r = self._call("POST", path, body)
        return bool(r.get("is_compatible")), [_one_line(str(m)) for m in r.get("messages") or ()]

    def delete(self, subject: str, *, permanent: bool = False) -> list[int]:
        """Delete a subject (soft; with `permanent` also the hard delete that must follow it)."""
        path = f"/subjects/{quote(subject, safe='')}"
        deleted = self._call("DELETE", path)
        if permanent:
            deleted = self._call("DELETE", path + "?permanent=true")
        return [int(v) for v in deleted or ()]

    def compatibility(self, subject: str | None) -> str:
        """The compatibility level of a subject, or the global one.  A subject without a
        level of its own has the global one (Confluent answers 404 for it, Apicurio the global level)."""
        if subject is not None:
            try:
                r = self._call("GET", f"/config/{quote(subject, safe='')}")
                return str(r.get("compatibilityLevel") or r.get("compatibility"))
            except NotFound:
                pass
        r = self._call("GET", "/config")
        return str(r.get("compatibilityLevel") or r.get("compatibility"))

    def set_compatibility(self, subject: str | None, level: str) -> str:
        path = "/config" if subject is None else f"/config/{quote(subject, safe='')}"
        r = self._call("PUT", path, {"compatibility": level})
        return str(r.get("compatibility") or level)


def _ssl_context(settings: SchemaRegistrySettings) -> ssl.SSLContext:
    tls = settings.tls
    try:
        ctx = ssl.create_default_context(cafile=tls.ca)
        if not tls.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if tls.cert:
            ctx.load_cert_chain(tls.cert, tls.key, password=tls.key_password)
    except (OSError, ssl.SSLError) as e:  # SSLError is an OSError; named for the reader
        raise ConfigError(f"kafka.schema_registry.tls: cannot load the TLS files: {e}") from None
    return ctx
