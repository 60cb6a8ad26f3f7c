"""`${VAR}` interpolation of config file values: apart from document.py, so
that loading a profile without a config file does not import YAML."""

from __future__ import annotations

import re
from collections.abc import Mapping

# Pattern texts, compiled by re (and cached) on first use: every command imports the
# config package, only one that reads a config file interpolates (issue 15: start-up).
_INTERPOLATION = r"\$(?:\$|\{(?P<body>[^}]*)\}|(?P<bad>\{))"
_VAR = r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?$"


class InterpolationError(Exception):
    """A ${...} that cannot be expanded (the caller adds file, line and key)."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Expand ${VAR}, ${VAR:-default} (unset or empty VAR) and $$ -> $ in `text`.

    Any other `$` is kept as it is.  Raises InterpolationError.
    """

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        if m["bad"] is not None:
            raise InterpolationError("unterminated ${ (write $$ for a literal $)")
        var = re.match(_VAR, m["body"], re.DOTALL)
        if var is None:
            raise InterpolationError(
                f"invalid variable reference ${{{m['body']}}} (use ${{NAME}} or ${{NAME:-default}})"
            )
        value = env.get(var["name"])
        if var["default"] is not None:
            return value if value else var["default"]
        if value is None:
            raise InterpolationError(
                f"environment variable {var['name']} is not set (use ${{{var['name']}:-default}} for a default)"
            )
        return value

    return re.sub(_INTERPOLATION, repl, text)
