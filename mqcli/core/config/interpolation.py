"""`${VAR}` interpolation of config file values: apart from document.py, so
that loading a profile without a config file does not import YAML."""

from __future__ import annotations

import re
from collections.abc import Mapping

_INTERPOLATION = re.compile(r"\$(?:\$|\{(?P<body>[^}]*)\}|(?P<bad>\{))")
_VAR = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?$", re.DOTALL)


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
        var = _VAR.match(m["body"])
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

    return _INTERPOLATION.sub(repl, text)
