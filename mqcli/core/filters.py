"""`--match` filters: regular expressions on key, value or headers."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mqcli.core.errors import UsageError
from mqcli.core.message import Message, header_text
from mqcli.core.stops import Matcher


def _compile(pattern: str, what: str) -> re.Pattern[bytes]:
    try:
        return re.compile(pattern.encode("utf-8"))
    except re.error as e:
        raise UsageError(f"invalid {what} regular expression {pattern!r}: {e}") from None


def build_matcher(
    match: Sequence[str] = (),
    match_key: Sequence[str] = (),
    match_value: Sequence[str] = (),
    match_header: Sequence[str] = (),
) -> Matcher | None:
    """A predicate that is true when every given pattern matches (None: no filter).

    * `match`        searches the key, the value and every header value
    * `match_key`    searches the key; `match_value` the value
    * `match_header` is NAME=REGEX and searches header NAME's value
    """
    anywhere = [_compile(p, "--match") for p in match]
    keys = [_compile(p, "--match-key") for p in match_key]
    values = [_compile(p, "--match-value") for p in match_value]
    headers: list[tuple[str, re.Pattern[bytes]]] = []
    for spec in match_header:
        name, sep, pattern = spec.partition("=")
        if not sep or not name:
            raise UsageError(f"invalid --match-header {spec!r} (use NAME=REGEX)")
        headers.append((name, _compile(pattern, "--match-header")))
    if not (anywhere or keys or values or headers):
        return None

    def hval(msg: Message, name: str) -> bytes | None:
        v = msg.header(name)
        return None if v is None and all(k != name for k, _ in msg.headers) else header_text(v).encode()

    def matches(msg: Message) -> bool:
        key = msg.key or b""
        value = msg.value or b""
        for rx in anywhere:
            if not (
                rx.search(key) or rx.search(value) or any(rx.search(header_text(v).encode()) for _, v in msg.headers)
            ):
                return False
        if any(not rx.search(key) for rx in keys) or any(not rx.search(value) for rx in values):
            return False
        for name, rx in headers:
            h = hval(msg, name)
            if h is None or not rx.search(h):
                return False
        return True

    return matches
