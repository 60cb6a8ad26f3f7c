"""Interoperability with Debian's amqp-tools (amqp-publish, amqp-consume, amqp-get)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

URL = "amqp://guest:guest@127.0.0.1:5672"  # no trailing slash: that would be vhost ""


@pytest.fixture(scope="module", autouse=True)
def amqp_tools() -> None:
    missing = [t for t in ("amqp-publish", "amqp-consume", "amqp-get") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"amqp-tools not installed ({', '.join(missing)}); run `make brokers-deps`", pytrace=False)


def test_amqp_publish_to_mqcli_consume(cli, queue):
    q = queue()
    subprocess.run(
        ["amqp-publish", "-u", URL, "-r", q, "-p", "-C", "application/json", "-H", "trace: abc", "-b", '{"n": 1}'],
        check=True,
        timeout=30,
    )
    r = cli("rabbit", "consume", q, "-e", "-o", "json")
    assert r.exit_code == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["value"] == '{"n": 1}'
    assert obj["properties"]["content_type"] == "application/json"
    assert obj["properties"]["delivery_mode"] == 2
    assert obj["headers"] == {"trace": "abc"}


def test_mqcli_publish_to_amqp_get_and_consume(cli, queue):
    q = queue()
    assert cli("rabbit", "publish", "--queue", q, "first", "second", "third").exit_code == 0
    got = subprocess.run(["amqp-get", "-u", URL, "-q", q], capture_output=True, check=True, timeout=30)
    assert got.stdout == b"first"
    # amqp-consume runs the command per message with the body on stdin.
    got = subprocess.run(
        ["amqp-consume", "-u", URL, "-q", q, "-c", "2", "cat"], capture_output=True, check=True, timeout=30
    )
    assert got.stdout == b"secondthird"


def test_amqp_publish_lines_to_mqcli_subscribe(cli, exchange, start_mqcli):
    x = exchange("fanout")
    sub = start_mqcli("rabbit", "subscribe", "--exchange", x, "-c", "2", "-t", "20s")
    sub.wait_stderr("subscribed")
    subprocess.run(["amqp-publish", "-u", URL, "-e", x, "-r", "", "-l"], input=b"l1\nl2\n", check=True, timeout=30)
    rc, out, err = sub.finish()
    assert rc == 0, err
    assert out == b"l1\n\nl2\n\n"  # amqp-publish -l keeps each line's newline in the body
