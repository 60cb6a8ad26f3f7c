"""Parsers for command-line values: durations, times, delimiters, headers.

Each raises `UsageError` with a message naming what was wrong, so a bad value
becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import re
import time

from mqcli.core.errors import UsageError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(text: str) -> float:
    """'30s', '1.5m', '500ms', '2h', '1d' or a plain number of seconds -> seconds.

    Compound forms ('1m30s') are accepted too.
    """
    s = text.strip()
    parts = re.findall(r"(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)?", s)
    if not s or not parts or re.sub(r"(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)?", "", s).strip():
        raise UsageError(f"invalid duration {text!r} (examples: 30s, 500ms, 1m30s, 2h)")
    if len(parts) > 1 and any(unit == "" for _, unit in parts):
        raise UsageError(f"invalid duration {text!r} (examples: 30s, 500ms, 1m30s, 2h)")
    return sum(float(num) * _UNITS[unit or None] for num, unit in parts)


def parse_time(text: str, *, now: float | None = None) -> float:
    """ISO-8601 ('2026-11-25T10:00:00Z', a date alone is midnight UTC), 'now',
    a relative time ('-1h', '-30m', '+5s'), or epoch milliseconds (13 digits)
    -> seconds since the epoch.  A time without an offset is UTC.
    """
    s = text.strip()
    now = time.time() if now is None else now
    if s == "now":
        return now
    if s[:1] in "+-" and s[1:2] not in ("", "-"):
        sign = -1 if s[0] == "-" else 1
        try:
            return now + sign * parse_duration(s[1:])
        except UsageError:
            pass
    if re.fullmatch(r"\d{13}", s):
        return int(s) / 1000.0
    # Imported here: datetime is ~6 M instructions a one-message `kafka produce` never needs.
    from datetime import datetime, timezone

    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"invalid time {text!r} (use ISO-8601 like 2026-11-25T10:00:00Z, a relative time like -1h, or epoch ms)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "0": b"\0", "\\": b"\\", "e": b"\x1b"}


def unescape(text: str) -> bytes:
    r"""Interpret \n \t \r \0 \\ \e and \xHH (a raw byte) in a delimiter or
    template literal; everything else is encoded as UTF-8."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out += _ESCAPES[nxt]
                i += 2
                continue
            if nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2 : i + 4]):
                out.append(int(text[i + 2 : i + 4], 16))
                i += 4
                continue
        try:
            # surrogateescape: arguments that were not valid UTF-8 get their bytes back.
            out += c.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise UsageError(f"invalid character {c!r} in {text!r}") from None
        i += 1
    return bytes(out)


def parse_delimiter(text: str) -> bytes:
    r"""A delimiter option ('\n', '\0', '---', '\x1e') -> bytes; never empty."""
    value = unescape(text)
    if not value:
        raise UsageError("the delimiter must not be empty")
    return value


def parse_header(text: str) -> tuple[str, str]:
    """'name=value' -> (name, value).  The value may contain '='; the name may not be empty."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise UsageError(f"invalid header {text!r} (use name=value)")
    return name, value


def typed_header_value(text: str) -> int | float | bool | str:
    """RabbitMQ header values are typed: '30000' -> int, 'true' -> bool, '1.5' -> float.

    (The delayed-message plugin ignores a string x-delay.)  Quote to force a
    string: '"30000"' -> '30000'.
    """
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?", text):
        return float(text)
    return text
