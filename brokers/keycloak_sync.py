#!/usr/bin/env python3
"""Bring a RUNNING Keycloak's realm up to date with its realm file, without a restart.

    brokers/keycloak_sync.py [--dry-run] REALM_FILE BASE_URL

`kc.sh --import-realm` only applies the realm file when the realm does not exist yet,
and keycloak.sh drops the dev database (re-importing the file) only at the next start;
other tests use the running Keycloak, so it must not be restarted to add a client.
This applies the same file through the admin REST API instead, idempotently: the
realm's top-level settings, client scopes, realm roles and clients are created when
missing and updated when a declared field differs (protocol mappers and default
client scopes too), and the realm roles of the declared users (service-account users
named by `serviceAccountClientId`, or plain users) are granted.  Nothing it does not
declare is touched or removed, so the other tests' clients keep working throughout.

The admin REST API needs an administrator of the master realm: KEYCLOAK_ADMIN_USER /
KEYCLOAK_ADMIN_PASSWORD (keycloak.sh starts Keycloak with them as its bootstrap
admin).  A Keycloak started before that has no administrator at all; then the one
way Keycloak offers without a restart is its welcome page, which creates the first
administrator for a request from loopback -- used here once, with the same
credentials.  Standard library only (brokers/deps.sh installs python3).
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TIMEOUT = 15
# --dry-run: say what would change, change nothing.
DRY_RUN = "--dry-run" in sys.argv
# A realm's top-level fields that are objects or lists are handled per kind below (or not at all).
REALM_SECTIONS = {"clientScopes", "clients", "roles", "users", "groups", "identityProviders", "components"}


def log(msg: str) -> None:
    print(f"[brokers] keycloak sync: {msg}", file=sys.stderr)


class Admin:
    """The admin REST API of one realm, with an administrator's token."""

    def __init__(self, base: str, realm: str, user: str, password: str) -> None:
        self.base, self.realm = base.rstrip("/"), realm
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.token = self._admin_token(user, password)

    def _open(self, req: urllib.request.Request) -> tuple[int, bytes, Any]:
        try:
            with self._opener.open(req, timeout=TIMEOUT) as resp:
                return resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers

    def _admin_token(self, user: str, password: str) -> str:
        url = f"{self.base}/realms/master/protocol/openid-connect/token"
        form = {"grant_type": "password", "client_id": "admin-cli", "username": user, "password": password}
        for attempt in (1, 2):
            status, body, _ = self._open(urllib.request.Request(url, urllib.parse.urlencode(form).encode()))
            if status == 200:
                return str(json.loads(body)["access_token"])
            if attempt == 1 and self._create_first_admin(user, password):
                continue
            break
        sys.exit(
            f"[brokers] keycloak sync: no admin token for {user!r} from {url} ({status}); set "
            "KEYCLOAK_ADMIN_USER / KEYCLOAK_ADMIN_PASSWORD to an administrator of the master realm"
        )

    def _create_first_admin(self, user: str, password: str) -> bool:
        """Keycloak without any administrator offers to create one on its welcome page
        (loopback requests only); a form guarded by a state cookie."""
        status, body, headers = self._open(urllib.request.Request(self.base + "/"))
        page = body.decode("utf-8", "replace")
        m = re.search(r'name="stateChecker" type="hidden" value="([^"]+)"', page)
        if status != 200 or m is None:
            return False  # an administrator exists already (the credentials were wrong)
        cookie = "; ".join(c.split(";", 1)[0] for c in headers.get_all("Set-Cookie") or ())
        form = {"username": user, "password": password, "passwordConfirmation": password, "stateChecker": m.group(1)}
        req = urllib.request.Request(self.base + "/", urllib.parse.urlencode(form).encode(), headers={"Cookie": cookie})
        status, _, _ = self._open(req)
        log(f"created the first administrator {user!r} through the welcome page ({status})")
        return status < 400

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        """One admin API call on the realm (`path` relative to it); exits on an error not in `ok`."""
        if method != "GET" and DRY_RUN:
            log(f"(dry run) would {method} {path or '/'}")
            return None
        data = None if body is None else json.dumps(body).encode()
        url = f"{self.base}/admin/realms" + ("" if path == "!realms" else f"/{self.realm}{path}")
        req = urllib.request.Request(
            url,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        status, raw, _ = self._open(req)
        if status >= 400 and status not in ok:
            sys.exit(
                f"[brokers] keycloak sync: {method} {path} answered {status}: {raw[:300].decode('utf-8', 'replace')}"
            )
        return json.loads(raw) if raw and status < 400 else None


def differs(declared: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """The declared scalar (and string-map) fields whose value the server holds differently."""
    out = []
    for k, v in declared.items():
        if isinstance(v, dict) and all(not isinstance(x, (dict, list)) for x in v.values()):
            have = actual.get(k) or {}
            if any(str(have.get(kk)) != str(vv) for kk, vv in v.items()):
                out.append(k)
        elif not isinstance(v, (dict, list)) and actual.get(k) != v:
            out.append(k)
    return out


def sync_realm(adm: Admin, rep: dict[str, Any]) -> None:
    actual = adm.call("GET", "")
    top = {k: v for k, v in rep.items() if k not in REALM_SECTIONS}
    if changed := differs(top, actual):
        adm.call("PUT", "", top)
        log(f"realm {adm.realm}: updated {', '.join(changed)}")


def sync_mappers(adm: Admin, what: str, path: str, declared: dict[str, Any], actual: dict[str, Any]) -> None:
    """The declared protocol mappers of a client or client scope (at `path`), by name."""
    mappers = {m["name"]: m for m in actual.get("protocolMappers") or ()}
    for m in declared.get("protocolMappers") or ():
        had = mappers.get(m["name"])
        if had is None:
            adm.call("POST", f"{path}/protocol-mappers/models", m)
            log(f"{what}: mapper {m['name']} created")
        elif differs(m, had):
            adm.call("PUT", f"{path}/protocol-mappers/models/{had['id']}", {**had, **m, "id": had["id"]})
            log(f"{what}: mapper {m['name']} updated")


def sync_client_scopes(adm: Admin, scopes: list[dict[str, Any]]) -> dict[str, str]:
    """Create/update the declared client scopes; answers every scope's id by name."""
    have = {s["name"]: s for s in adm.call("GET", "/client-scopes")}
    for s in scopes:
        cur = have.get(s["name"])
        if cur is None:
            adm.call("POST", "/client-scopes", s)
            log(f"client scope {s['name']}: created")
            continue
        scalars = {k: v for k, v in s.items() if k != "protocolMappers"}
        if changed := differs(scalars, cur):
            adm.call("PUT", f"/client-scopes/{cur['id']}", {**cur, **scalars})
            log(f"client scope {s['name']}: updated {', '.join(changed)}")
        sync_mappers(adm, f"client scope {s['name']}", f"/client-scopes/{cur['id']}", s, cur)
    return {s["name"]: s["id"] for s in adm.call("GET", "/client-scopes")}


def sync_roles(adm: Admin, roles: list[dict[str, Any]]) -> None:
    for r in roles:
        name = urllib.parse.quote(r["name"], safe="")
        cur = adm.call("GET", f"/roles/{name}", ok=(404,))
        if cur is None:
            adm.call("POST", "/roles", r)
            log(f"realm role {r['name']}: created")
        elif changed := differs(r, cur):
            adm.call("PUT", f"/roles/{name}", {**cur, **r})
            log(f"realm role {r['name']}: updated {', '.join(changed)}")


def sync_clients(adm: Admin, clients: list[dict[str, Any]], scope_ids: dict[str, str]) -> None:
    for c in clients:
        cid = c["clientId"]
        found = adm.call("GET", "/clients?clientId=" + urllib.parse.quote(cid, safe=""))
        if not found:
            adm.call("POST", "/clients", c)  # with its mappers and default scopes
            log(f"client {cid}: created")
            continue
        cur = found[0]
        uid = cur["id"]
        if cur.get("secret") is None and "secret" in c:  # the listing leaves the secret out
            cur["secret"] = (adm.call("GET", f"/clients/{uid}/client-secret") or {}).get("value")
        scalars = {
            k: v for k, v in c.items() if k not in ("protocolMappers", "defaultClientScopes", "optionalClientScopes")
        }
        if changed := differs(scalars, cur):
            adm.call("PUT", f"/clients/{uid}", {**cur, **scalars})
            log(f"client {cid}: updated {', '.join(changed)}")
        sync_mappers(adm, f"client {cid}", f"/clients/{uid}", c, cur)
        for kind in ("default", "optional"):
            want = c.get(f"{kind}ClientScopes") or ()
            have = {s["name"] for s in adm.call("GET", f"/clients/{uid}/{kind}-client-scopes")}
            for name in want:
                if name not in have and name in scope_ids:
                    adm.call("PUT", f"/clients/{uid}/{kind}-client-scopes/{scope_ids[name]}")
                    log(f"client {cid}: {kind} scope {name} added")


def sync_users(adm: Admin, users: list[dict[str, Any]]) -> None:
    for u in users:
        if "serviceAccountClientId" in u:
            found = adm.call("GET", "/clients?clientId=" + urllib.parse.quote(u["serviceAccountClientId"], safe=""))
            if not found:
                if DRY_RUN:  # its client would have been created above
                    continue
                sys.exit(f"[brokers] keycloak sync: user {u['username']}: no client {u['serviceAccountClientId']}")
            uid = adm.call("GET", f"/clients/{found[0]['id']}/service-account-user")["id"]
        else:
            q = urllib.parse.quote(u["username"], safe="")
            found = adm.call("GET", f"/users?exact=true&username={q}")
            if not found:
                adm.call("POST", "/users", u)
                log(f"user {u['username']}: created")
                found = adm.call("GET", f"/users?exact=true&username={q}")
            uid = found[0]["id"]
        have = {r["name"] for r in adm.call("GET", f"/users/{uid}/role-mappings/realm")}
        missing = [adm.call("GET", f"/roles/{urllib.parse.quote(n, safe='')}") for n in u.get("realmRoles") or ()]
        missing = [r for r in missing if r["name"] not in have]
        if missing:
            adm.call("POST", f"/users/{uid}/role-mappings/realm", missing)
            log(f"user {u['username']}: granted {', '.join(r['name'] for r in missing)}")


def main() -> None:
    realm_file, base = [a for a in sys.argv[1:] if a != "--dry-run"]
    with open(realm_file) as f:
        rep = json.load(f)
    # keycloak.sh declares the administrator (and starts Keycloak with it).
    user, password = os.environ["KEYCLOAK_ADMIN_USER"], os.environ["KEYCLOAK_ADMIN_PASSWORD"]
    adm = Admin(base, rep["realm"], user, password)
    if adm.call("GET", "", ok=(404,)) is None:
        adm.call("POST", "!realms", rep)  # no such realm: import the whole file (POST /admin/realms)
        log(f"realm {rep['realm']}: imported")
        return
    sync_realm(adm, rep)
    scope_ids = sync_client_scopes(adm, rep.get("clientScopes") or [])
    sync_roles(adm, (rep.get("roles") or {}).get("realm") or [])
    sync_clients(adm, rep.get("clients") or [], scope_ids)
    sync_users(adm, rep.get("users") or [])
    log(f"realm {rep['realm']} up to date with {os.path.basename(realm_file)}")


if __name__ == "__main__":
    main()
