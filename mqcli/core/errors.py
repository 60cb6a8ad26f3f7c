"""Typed errors with exit codes; the CLI turns them into one line on stderr.

The exit codes are part of the interface scripts rely on; the README lists
them and `tests/core/test_filters_exec_errors.py::test_exit_codes_are_stable` pins them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # something asked for did not happen (unacknowledged message, --exec failed)
    USAGE = 2  # bad command line: unknown option, conflicting options, invalid value
    CONFIG = 3  # config file missing, malformed or invalid; unknown profile; missing ${VAR}
    CONNECTION = 4  # broker unreachable, authentication or TLS failure
    TIMEOUT = 5  # --timeout/--wait expired before what was asked for arrived
    NOT_FOUND = 6  # topic, queue, exchange or group does not exist
    INPUT = 7  # input data invalid (JSON Lines, encoding, key separator, oversized message)
    INTERRUPTED = 130  # SIGINT (Ctrl-C)
    TERMINATED = 143  # SIGTERM


class MqcliError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(MqcliError):
    exit_code = ExitCode.USAGE


class ConfigError(MqcliError):
    exit_code = ExitCode.CONFIG


class ConnectionFailed(MqcliError):
    exit_code = ExitCode.CONNECTION


class TimeoutExpired(MqcliError):
    exit_code = ExitCode.TIMEOUT


class NotFound(MqcliError):
    exit_code = ExitCode.NOT_FOUND


class InputError(MqcliError):
    exit_code = ExitCode.INPUT


class DeliveryFailed(MqcliError):
    """Some messages were not acknowledged by the broker (each was reported already)."""

    exit_code = ExitCode.FAILURE


class Interrupted(MqcliError):
    exit_code = ExitCode.INTERRUPTED


# The patterns are compiled on first use (by re's cache): most runs never print an
# error, and compiling these four at import was ~4 M instructions of every command.
# user:password@ in URLs, and password-like keys in key=value or key: value text.
_URL_CREDENTIALS = r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@"
# password=VALUE, and quoted 'password': 'VALUE' (a repr'd dict); an unquoted
# "password: text" is prose (e.g. a config error naming the key), not a secret.
_KEY_VALUE = r"(?i)(?P<k>password|passwd|secret|token)(?:(?P<eq>\s*=\s*)(?P<v>[^\s'\",}&]+)|(?P<q>['\"]\s*:\s*)(?P<qc>['\"])(?P<qv>[^'\"]*)(?P=qc))"
# OAuth access tokens are fetched at run time, so they are in no list of the
# profile's secrets: a JWT (header.payload.signature, base64url, the header
# starting with '{"' = eyJ) and whatever follows "Bearer " are masked wherever
# they appear (kafka-python logs the SASL OAUTHBEARER bytes at debug level).
_JWT = r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
_BEARER = r"(?i)(?P<b>\bbearer\s+)(?P<t>[A-Za-z0-9._~+/=-]+)"
MASK = "****"


def mask_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace known secret values and URL/key-value passwords in `text` with ****."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = re.sub(_URL_CREDENTIALS, lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = re.sub(_JWT, MASK, text)
    text = re.sub(_BEARER, lambda m: f"{m['b']}{MASK}", text)

    def key_value(m: re.Match[str]) -> str:
        if m["eq"] is not None:
            return f"{m['k']}{m['eq']}{MASK}"
        return f"{m['k']}{m['q']}{m['qc']}{MASK}{m['qc']}"

    return re.sub(_KEY_VALUE, key_value, text)
