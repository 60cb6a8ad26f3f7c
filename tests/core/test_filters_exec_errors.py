"""--match filters, --exec environment, error codes and secret masking."""

from __future__ import annotations

import pytest

from mqcli.core.errors import (
    ConfigError,
    ConnectionFailed,
    DeliveryFailed,
    ExitCode,
    InputError,
    NotFound,
    TimeoutExpired,
    UsageError,
    mask_secrets,
)
from mqcli.core.execute import OnError, exec_env, run_exec
from mqcli.core.filters import build_matcher
from mqcli.core.message import Message

MSG = Message(
    value=b"order-42 shipped",
    key=b"cust-7",
    headers=[("region", b"eu-west"), ("Trace-Id", b"t1")],
    topic="o",
    partition=1,
    offset=9,
    timestamp=5,
)


def test_no_patterns_no_filter() -> None:
    assert build_matcher() is None


def test_match_searches_key_value_and_headers() -> None:
    assert build_matcher(["order-42"])(MSG)  # type: ignore[misc]
    assert build_matcher(["cust-\\d"])(MSG)  # type: ignore[misc]
    assert build_matcher(["eu-"])(MSG)  # type: ignore[misc]
    assert not build_matcher(["order-43"])(MSG)  # type: ignore[misc]


def test_narrow_matchers_all_must_match() -> None:
    assert build_matcher(match_key=["^cust"], match_value=["shipped$"], match_header=["region=^eu"])(MSG)  # type: ignore[misc]
    assert not build_matcher(match_key=["order"])(MSG)  # type: ignore[misc]
    assert not build_matcher(match_header=["missing=.*"])(MSG)  # type: ignore[misc]


@pytest.mark.parametrize("kw", [{"match": ["("]}, {"match_header": ["noequals"]}])
def test_bad_patterns_are_usage_errors(kw: dict) -> None:
    with pytest.raises(UsageError):
        build_matcher(**kw)


def test_exec_env_carries_metadata() -> None:
    env = exec_env(MSG, base={})
    assert env["MQCLI_TOPIC"] == "o" and env["MQCLI_PARTITION"] == "1" and env["MQCLI_OFFSET"] == "9"
    assert env["MQCLI_KEY"] == "cust-7" and env["MQCLI_TIMESTAMP"] == "5"
    assert env["MQCLI_HEADER_TRACE_ID"] == "t1"
    assert '"region": "eu-west"' in env["MQCLI_HEADERS"]


def test_run_exec_gets_value_on_stdin() -> None:
    done = run_exec('test "$(cat)" = "order-42 shipped" && test "$MQCLI_KEY" = cust-7', MSG)
    assert done.returncode == 0
    out = run_exec("tr a-z A-Z", MSG, capture=True)
    assert out.stdout == b"ORDER-42 SHIPPED"
    assert run_exec("exit 3", MSG).returncode == 3


def test_on_error_parsing() -> None:
    assert OnError.parse("retry:3", ("stop", "skip", "retry")) == OnError("retry", 3)
    assert OnError.parse("skip", ("stop", "skip", "retry")) == OnError("skip")
    for bad in ("retry", "retry:0", "explode", "stop:1"):
        with pytest.raises(UsageError):
            OnError.parse(bad, ("stop", "skip", "retry"))


def test_exit_codes_are_stable() -> None:
    # Scripts depend on these numbers; the README documents them.
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 5, 6, 7, 130, 143]
    assert UsageError("x").exit_code == 2
    assert ConfigError("x").exit_code == 3
    assert ConnectionFailed("x").exit_code == 4
    assert TimeoutExpired("x").exit_code == 5
    assert NotFound("x").exit_code == 6
    assert InputError("x").exit_code == 7
    assert DeliveryFailed("x").exit_code == 1


def test_mask_secrets() -> None:
    assert mask_secrets("amqp://bob:s3cret@host:5672/") == "amqp://bob:****@host:5672/"
    assert mask_secrets("password=hunter2 other") == "password=**** other"
    assert mask_secrets("{'password': 'x1'}") == "{'password': '****'}"
    assert mask_secrets("token in text: abcdef", ["abcdef"]) == "token in text: ****"
    assert mask_secrets('{"password": "x1"}') == '{"password": "****"}'
    # prose naming a key is not a secret
    assert mask_secrets("rabbit.password: environment variable FOO is not set") == (
        "rabbit.password: environment variable FOO is not set"
    )
