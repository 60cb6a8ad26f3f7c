"""Bad input to the RabbitMQ commands (issue 5): each gets one clear line on
stderr, its documented exit code, and nothing is sent.  Cases already pinned
in tests/rabbit (missing queue for publish/consume/rpc call/queue inspect,
missing exchange for publish/subscribe, refused port, bad password for queue
inspect, untrusted TLS for queue inspect, JSON Lines line numbers) are not
repeated here; these cover the other commands and the remaining cases.
"""

from __future__ import annotations

import time

import pytest

from tests.rabbit.conftest import TLS_DIR

pytestmark = pytest.mark.rabbit


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("mqcli: error:")]


def one_clear_error(r) -> str:
    assert "Traceback" not in r.stderr, r.stderr
    lines = error_lines(r.stderr)
    assert len(lines) == 1, r.stderr
    assert r.stdout == "", r.stdout
    return lines[0]


# -- a queue or exchange that does not exist: exit 6 -----------------------------------
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["rabbit", "rpc", "serve", "{missing}", "--exec", "touch {marker}", "-t", "2s"], id="rpc-serve"),
        pytest.param(["rabbit", "consume", "{missing}", "--exec", "touch {marker}", "-t", "2s"], id="consume-exec"),
        pytest.param(["rabbit", "queue", "purge", "{missing}"], id="queue-purge"),
        pytest.param(
            ["rabbit", "delay", "publish", "--delay", "1s", "--exchange", "{missing}", "--routing-key", "k", "x"],
            id="delay-exchange",
        ),
        pytest.param(
            ["rabbit", "subscribe", "--exchange", "{missing}", "--queue", "{missing}-q", "-t", "2s"],
            id="subscribe-named-queue",
        ),
        pytest.param(
            ["rabbit", "declare", "binding", "--exchange", "{missing}", "--queue", "{existing}"], id="binding-exchange"
        ),
    ],
)
def test_missing_queue_or_exchange_exit_6(args, cli, rabbit_up, rabbit, unique_name, tmp_path):
    missing = unique_name("missing")
    existing = rabbit.queue(unique_name("there"))
    rabbit.queues.append(f"{missing}-q")  # in case subscribe declared it
    marker = tmp_path / "ran"
    argv = [a.format(missing=missing, existing=existing, marker=marker) for a in args]
    r = cli(*argv)
    assert r.exit_code == 6, r.stderr
    assert missing in one_clear_error(r)
    assert not marker.exists()  # no --exec command ran
    assert rabbit.count(existing) == 0


# -- wrong credentials: exit 4, nothing sent, the password never shown ------------------
BAD_URL = "amqp://guest:not-the-password-x9@127.0.0.1:5672/"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["rabbit", "publish", "--queue", "{q}", "x"], id="publish"),
        pytest.param(["rabbit", "consume", "{q}", "-e"], id="consume"),
        pytest.param(["rabbit", "subscribe", "--exchange", "amq.fanout", "-t", "1s"], id="subscribe"),
        pytest.param(["rabbit", "rpc", "call", "{q}", "x", "--timeout", "2s"], id="rpc-call"),
        pytest.param(["rabbit", "rpc", "serve", "{q}", "--exec", "cat", "-t", "1s"], id="rpc-serve"),
        pytest.param(["rabbit", "delay", "publish", "--delay", "1s", "--queue", "{q}", "x"], id="delay-publish"),
        pytest.param(["rabbit", "declare", "queue", "{q}-new"], id="declare"),
    ],
)
def test_wrong_credentials_exit_4_nothing_sent(args, cli, rabbit_up, rabbit, unique_name):
    q = rabbit.queue(unique_name("creds"))
    rabbit.publish(q, "kept")
    r = cli(*[a.format(q=q) for a in args], env={"MQCLI_RABBIT_URL": BAD_URL})
    assert r.exit_code == 4, r.stderr
    line = one_clear_error(r)
    assert "authentication failed" in line and "127.0.0.1:5672" in line
    assert "not-the-password-x9" not in r.stderr + r.stdout
    assert rabbit.count(q) == 1  # nothing sent, nothing taken


def _tls_profile(path, ca: str) -> None:
    path.write_text(
        "default: tls\n"
        "profiles:\n"
        "  tls:\n"
        "    rabbit:\n"
        "      url: amqps://guest:guest@127.0.0.1:5671/\n"
        "      tls:\n"
        f"        ca: {TLS_DIR / ca}\n"
    )


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["rabbit", "publish", "--queue", "{q}", "x"], id="publish"),
        pytest.param(["rabbit", "consume", "{q}", "-e"], id="consume"),
        pytest.param(["rabbit", "rpc", "call", "{q}", "x", "--timeout", "2s"], id="rpc-call"),
    ],
)
def test_tls_certificate_that_does_not_verify_is_refused(args, cli, rabbit_up, rabbit, unique_name, isolate):
    q = rabbit.queue(unique_name("tls"))
    rabbit.publish(q, "kept")
    _tls_profile(isolate / "mqcli.yaml", "other-ca.crt")
    r = cli(*[a.format(q=q) for a in args])
    assert r.exit_code == 4, r.stderr
    line = one_clear_error(r).lower()
    assert "certificate verif" in line and "127.0.0.1:5671" in line
    assert rabbit.count(q) == 1  # never silently insecure: nothing went over the wire


def test_silent_host_fails_within_the_connect_timeout(cli, silent_server):
    started = time.monotonic()
    r = cli(
        "--connect-timeout",
        "1s",
        "rabbit",
        "publish",
        "--queue",
        "q",
        "x",
        env={"MQCLI_RABBIT_URL": f"amqp://guest:guest@127.0.0.1:{silent_server}/"},
    )
    assert r.exit_code == 4
    assert f"127.0.0.1:{silent_server}" in one_clear_error(r)
    assert time.monotonic() - started < 15  # the timeout, not a hang


# -- invalid input lines --------------------------------------------------------------------
def test_skip_invalid_reports_a_count(cli, rabbit_up, rabbit, unique_name):
    q = rabbit.queue(unique_name("skip"))
    data = b'{"value":"a"}\n{bad\n\n{"value":"b"}\nnot json either\n'
    r = cli("rabbit", "publish", "--queue", q, "--input", "jsonl", "--skip-invalid", input=data)
    assert r.exit_code == 0, r.stderr
    assert "line 2" in r.stderr and "line 5" in r.stderr
    assert "skipped 2 invalid input record(s)" in r.stderr
    assert [b.decode() for b in rabbit.drain(q)] == ["a", "b"]


def test_non_utf8_json_lines_names_the_line(cli, rabbit_up, rabbit, unique_name):
    q = rabbit.queue(unique_name("utf8"))
    r = cli("rabbit", "publish", "--queue", q, "--input", "jsonl", input=b'{"value":"ok"}\n\xff\xfe{"value":1}\n')
    assert r.exit_code == 7
    assert "line 2" in one_clear_error(r)
    assert [b.decode() for b in rabbit.drain(q)] == ["ok"]  # what came before was sent (and confirmed)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["rabbit", "rpc", "call", "{q}", "--input", "jsonl", "--timeout", "2s"], id="rpc-call"),
        pytest.param(
            ["rabbit", "delay", "publish", "--delay", "1m", "--queue", "{q}", "--input", "jsonl"], id="delay-publish"
        ),
    ],
)
def test_invalid_json_lines_other_commands(args, cli, rabbit_up, rabbit, unique_name):
    q = rabbit.queue(unique_name("jsonl"))
    r = cli(*[a.format(q=q) for a in args], input=b"{nope\n")
    assert r.exit_code == 7
    assert "line 1" in one_clear_error(r)
    assert rabbit.count(q) == 0
    r = cli(*[a.format(q=q) for a in args], "--skip-invalid", input=b"{nope\n")
    assert r.exit_code == 0, r.stderr
    assert "skipped 1 invalid input record(s)" in r.stderr


@pytest.mark.slow
def test_message_larger_than_the_broker_accepts(rabbit_up, rabbit, unique_name, tmp_path):
    # RabbitMQ's max_message_size: 128 MiB by default in 3.x (16 MiB in 4.x);
    # the broker closes the channel (406) and mqcli names the line, exit 7.
    from tests.conftest import run_mqcli

    q = rabbit.queue(unique_name("big"))
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.write(b"small\n")
        f.write(b"x" * (128 * 1024 * 1024 + 1))
        f.write(b"\nafter\n")
    r = run_mqcli(["rabbit", "publish", "--queue", q, "--file", str(big)])
    big.unlink()
    err = r.stderr.decode()
    assert r.returncode == 7, err
    errors = error_lines(err)
    assert len(errors) == 1 and "line 2: message of 134217729 bytes is larger than RabbitMQ accepts" in errors[0]
    assert "not delivered: line 2" in err and "confirmed 1," in err
    assert [b.decode() for b in rabbit.drain(q)] == ["small"]  # the one before it went through; nothing after


# -- conflicting or invalid options: exit 2, nothing sent -------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            ["rabbit", "publish", "--queue", "{q}", "--reconnect", "3", "--no-confirm", "x"], id="reconnect-no-confirm"
        ),
        pytest.param(["rabbit", "publish", "--queue", "{q}", "--reconnect", "-1", "x"], id="reconnect-negative"),
        pytest.param(
            ["rabbit", "publish", "--queue", "{q}", "--exchange-type", "topic", "x"], id="exchange-type-without-declare"
        ),
        pytest.param(["rabbit", "publish", "--queue", "{q}", "--input", "jsonl", "x"], id="jsonl-with-arguments"),
        pytest.param(["rabbit", "publish", "--queue", "{q}", "--file", "f", "x"], id="file-and-arguments"),
        pytest.param(["rabbit", "publish", "--queue", "{q}", "-H", "novalue", "x"], id="header-without-value"),
        pytest.param(["rabbit", "publish", "--queue", "{q}", "--confirm-timeout", "soon", "x"], id="bad-duration"),
        pytest.param(
            ["rabbit", "consume", "{q}", "--format", "{{value}}", "--output", "json", "-e"], id="format-and-output"
        ),
        pytest.param(["rabbit", "consume", "{q}", "--count", "0"], id="count-zero"),
        pytest.param(["rabbit", "consume", "{q}", "--reconnect", "x"], id="reconnect-not-a-number"),
        pytest.param(["rabbit", "subscribe", "--exchange", "amq.fanout", "--bind-match", "some"], id="bind-match"),
        pytest.param(["rabbit", "subscribe", "--exchange", "", "-t", "1s"], id="default-exchange"),
        pytest.param(["rabbit", "rpc", "call", "{q}", "x", "--window", "0"], id="rpc-window-zero"),
        pytest.param(["rabbit", "rpc", "call", "{q}", "x", "--reconnect", "-1"], id="rpc-reconnect-negative"),
        pytest.param(
            ["rabbit", "delay", "publish", "--delay", "1s", "--queue", "{q}", "--reconnect", "x", "x"],
            id="delay-reconnect-not-a-number",
        ),
        pytest.param(
            ["rabbit", "delay", "publish", "--delay", "1s", "--queue", "{q}", "--routing-key", "k", "x"],
            id="delay-queue-and-key",
        ),
    ],
)
def test_conflicting_or_invalid_options_exit_2(args, cli, rabbit_up, rabbit, unique_name):
    q = rabbit.queue(unique_name("opts"))
    r = cli(*[a.format(q=q) for a in args])
    assert r.exit_code == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert rabbit.count(q) == 0


# -- empty input: nothing sent, exit 0 ---------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "data"),
    [
        pytest.param(["rabbit", "publish", "--queue", "{q}"], b"", id="publish"),
        pytest.param(
            ["rabbit", "publish", "--queue", "{q}", "--input", "jsonl"], b"\n\n  \n", id="publish-jsonl-blank-lines"
        ),
        pytest.param(["rabbit", "publish", "--queue", "{q}", "-D", r"\0"], b"", id="publish-nul-delimited"),
        pytest.param(["rabbit", "rpc", "call", "{q}", "--timeout", "2s"], b"", id="rpc-call"),
        pytest.param(["rabbit", "delay", "publish", "--delay", "1s", "--queue", "{q}"], b"", id="delay-publish"),
    ],
)
def test_empty_input_sends_nothing_and_exits_0(args, data, cli, rabbit_up, rabbit, unique_name):
    q = rabbit.queue(unique_name("empty"))
    r = cli(*[a.format(q=q) for a in args], input=data)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert "error" not in r.stderr
    time.sleep(0.2)
    assert rabbit.count(q) == 0
