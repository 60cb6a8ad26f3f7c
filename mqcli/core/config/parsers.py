"""Value parsers for settings: raw value (YAML scalar, environment text or
command-line value) -> typed value, raising Invalid with the problem.

The caller adds where the value came from (file:line and key path, the
variable, or the flag); see layers.Origin.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urlsplit

from mqcli.core.errors import UsageError
from mqcli.core.parse import parse_duration

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same classes, built with less work at import (see _dataclass.py)
    from mqcli.core.config._dataclass import dataclass


class Invalid(Exception):
    """A value's problem; the caller adds where it came from."""


def kind(v: object) -> str:
    """What a value is, for messages: 'a string', 'a list', ..."""
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (list, tuple)):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__


def show(v: object) -> str:
    """A value for a message: strings quoted, booleans as YAML writes them."""
    return repr(v) if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)


def key_name(key: str) -> str:
    """A key or profile name for a one-line message: odd ones (newlines, empty) quoted."""
    return key if key.isprintable() and key.strip() == key and key else repr(key)


def key_names(keys: list[str]) -> str:
    return ", ".join(key_name(k) for k in keys)


def text(v: object) -> str:
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise Invalid(f"expected a string, got {kind(v)}")
    return str(v)


def file_path(v: object) -> str:
    s = text(v)
    if not s:
        raise Invalid("expected a file path, got an empty string")
    return os.path.expanduser(s)


_BOOLS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def boolean(v: object) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _BOOLS:
        return _BOOLS[v.strip().lower()]
    raise Invalid(f"expected true or false, got {show(v)}")


def integer(lo: int, hi: int | None = None) -> Callable[[object], int]:
    """An integer parser accepting lo.. (or lo..hi)."""

    def parse(v: object) -> int:
        if isinstance(v, bool):
            raise Invalid(f"expected an integer, got {show(v)}")
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, str) and re.fullmatch(r"[+-]?[0-9]+", v.strip()):
            v = int(v.strip())  # int() itself accepts fewer spaces than str.strip(), e.g. not \x1f
        if not isinstance(v, int):
            raise Invalid(f"expected an integer, got {show(v)}")
        if hi is not None and not lo <= v <= hi:
            raise Invalid(f"{v} is out of range (expected {lo}..{hi})")
        if v < lo:
            raise Invalid(f"{v} is too small (expected at least {lo})")
        return v

    return parse


def duration(v: object) -> float:
    """Seconds, from a number or a text like 500ms, 5s, 1m30s."""
    if isinstance(v, bool):
        raise Invalid(f"expected a duration like 5s or 500ms, got {show(v)}")
    if isinstance(v, (int, float)):
        try:
            seconds = float(v)
        except OverflowError:
            raise Invalid(f"duration {v} is too large") from None
    elif isinstance(v, str):
        try:
            seconds = parse_duration(v)
        except UsageError:
            raise Invalid(f"invalid duration {v!r} (examples: 30s, 500ms, 1m30s, 2h)") from None
    else:
        raise Invalid(f"expected a duration like 5s or 500ms, got {kind(v)}")
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise Invalid(f"invalid duration {show(v)}")
    return seconds


def whole_seconds(v: object) -> int:
    return round(duration(v))


class Choice:
    """One of a fixed set of words, after `normalise` (e.g. upper-casing)."""

    def __init__(self, *choices: str, normalise: Callable[[str], str] = str) -> None:
        self.choices = choices
        self.normalise = normalise

    def __call__(self, v: object) -> str:
        choices = self.choices
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise Invalid(f"expected one of {', '.join(choices)}, got {show(v)}")
        s = self.normalise(str(v).strip())
        if s not in choices:
            import difflib  # here: needed only for a near miss, and every command imports this module

            close = difflib.get_close_matches(s, choices, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise Invalid(f"invalid value {str(v)!r} (expected one of {', '.join(choices)}{hint})")
        return s


class Acks(Choice):
    """0, 1 or all; -1 is Kafka's own spelling of all."""

    def __init__(self) -> None:
        super().__init__("0", "1", "all", normalise=str.lower)

    def __call__(self, v: object) -> str:
        if v == -1 or v == "-1":
            return "all"
        return super().__call__(v)


# -- addresses ---------------------------------------------------------------------


def _split_list(v: object) -> list[str]:
    if isinstance(v, str):
        items = [s.strip() for s in v.split(",")]
    elif isinstance(v, (list, tuple)):
        items = [text(s).strip() for s in v]
    else:
        raise Invalid(f"expected a list or a comma-separated string, got {kind(v)}")
    items = [s for s in items if s]
    if not items:
        raise Invalid("expected at least one host:port")
    return items


_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]@,]+)(?::(?P<port>[^:]*))?$")


def parse_host_port(address: str, default_port: int | None) -> tuple[str, int | None]:
    """host or host:port ([v6]:port) -> (host, port or default_port)."""
    m = _HOST_PORT.match(address)
    if not m:
        raise Invalid(f"invalid address {address!r} (expected host or host:port)")
    port: int | None = default_port
    if m["port"] is not None:
        if not m["port"].isdigit() or not 0 < int(m["port"]) < 65536:
            raise Invalid(f"invalid port in {address!r} (expected 1..65535)")
        port = int(m["port"])
    return m["host"].strip("[]"), port


def host_port(address: str, default_port: int) -> tuple[str, int]:
    """An address already checked by `servers`, with the default port filled in."""
    host, port = parse_host_port(address, default_port)
    return host, port if port is not None else default_port


def join_host(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def servers(v: object) -> tuple[str, ...]:
    """host:port addresses, as a list or a comma-separated string (kept as text)."""
    items = _split_list(v)
    for item in items:
        parse_host_port(item, None)
    return tuple(items)


def host(v: object) -> str:
    """One host name or address, without a port."""
    s = text(v).strip()
    if s.count(":") >= 2 and re.fullmatch(r"\[?[0-9A-Fa-f:.]+\]?", s):  # a bare IPv6 address: no port here
        return s.strip("[]")
    name, port = parse_host_port(s, None) if s else ("", None)
    if not name or port is not None:
        raise Invalid(f"invalid host {s!r} (give the port with the port key)")
    return name


def _split_url(s: str, schemes: tuple[str, ...]) -> tuple[SplitResult, int | None]:
    """`s` split, and its port; Invalid for a bad port or another scheme.
    Messages never echo the URL: it may hold a password."""
    try:
        parts = urlsplit(s)
        port = parts.port
    except ValueError:
        raise Invalid("invalid URL: bad host or port (the port must be 1..65535)") from None
    if parts.scheme.lower() not in schemes:
        wanted = " or ".join(f"{scheme}://" for scheme in schemes)
        raise Invalid(
            f"invalid URL: the scheme must be {wanted}, not {parts.scheme + '://' if parts.scheme else 'missing'}"
        )
    return parts, port


def http_url(v: object) -> str:
    """An http:// or https:// base URL (the management API, a schema registry),
    without a trailing slash.

    Credentials in it are refused: they come from the profile's username and
    password, which are masked; a URL is shown as it is."""
    s = text(v).strip()
    parts, port = _split_url(s, ("http", "https"))
    if not parts.hostname:
        raise Invalid("invalid URL: no host")
    if parts.username is not None or parts.password is not None:
        raise Invalid("invalid URL: give the credentials with the username and password keys, not in the URL")
    if parts.query or parts.fragment:
        raise Invalid("invalid URL: query parameters are not supported")
    if port is not None and not 0 < port < 65536:
        raise Invalid("invalid URL: bad port (expected 1..65535)")
    return s.rstrip("/")


def oauth_url(v: object) -> str:
    """An OAuth token endpoint: an http(s) URL without credentials (they are client_id and client_secret)."""
    s = text(v).strip()
    if "@" in s.split("://", 1)[-1].split("/", 1)[0]:
        raise Invalid("invalid URL: give the credentials with the client_id and client_secret keys, not in the URL")
    return http_url(s)


@dataclass(frozen=True)
class AmqpUrl:
    """The parts of an amqp:// or amqps:// URL; None where the URL leaves them out."""

    tls: bool
    host: str | None
    port: int | None
    vhost: str | None
    username: str | None
    password: str | None


def amqp_url(v: object) -> AmqpUrl:
    # Messages never echo the URL: it may hold a password.
    s = text(v).strip()
    parts, port = _split_url(s, ("amqp", "amqps"))
    if parts.query or parts.fragment:
        raise Invalid("invalid URL: query parameters are not supported (use the heartbeat and connection_timeout keys)")
    if port is not None and not 0 < port < 65536:
        raise Invalid("invalid URL: bad port (expected 1..65535)")
    path = parts.path
    return AmqpUrl(
        tls=parts.scheme.lower() == "amqps",
        host=parts.hostname or None,
        port=port,
        vhost="/" if path in ("", "/") else unquote(path[1:]),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )
