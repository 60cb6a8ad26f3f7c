"""Live progress of `mqcli move`: on a terminal (stderr a pseudo-terminal)
a line redrawn in place with the counts, the rate and what is left in the
source (a Kafka source's lag, a queue's depth), cleared before the summary;
on a pipe none of it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable

from tests.conftest import ROOT, Run
from tests.rabbit.conftest import Amqp

# A redraw: back to the start of the line, clear it, the new text.
REDRAW = "\r\x1b[K"


def _run(args: list[str], *, tty: bool, timeout: float = 120) -> tuple[int, str]:
    """mqcli with stderr on a pseudo-terminal (tty) or a pipe; (exit code, stderr as written)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR")}
    env.update(TERM="xterm", COLUMNS="200", PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    chunks: list[bytes] = []
    master, slave = os.openpty() if tty else (None, None)
    p = subprocess.Popen(
        [sys.executable, "-m", "mqcli", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave if tty else subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    if slave is not None:
        os.close(slave)

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 65536) if master is not None else p.stderr.read1()  # type: ignore[union-attr]
            except OSError:  # the terminal's other end closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code = p.wait(timeout=timeout)
        reader.join(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
        if master is not None:
            os.close(master)
    assert p.stdout is not None
    assert p.stdout.read() == b""  # stdout is data only: none here
    return code, b"".join(chunks).decode("utf-8", errors="replace")


def _figures(text: str, label: str) -> list[tuple[int, int]]:
    """(moved, left) of each live line that names what is left."""
    return [
        (int(m[1]), int(m[2].replace(",", "")))
        for m in re.finditer(rf"moved (\d+), failed 0, [^\r\n]*? msg/s, [0-9.]+s, {label} ([0-9,]+)", text)
    ]


def test_queue_source_shows_moved_rate_and_depth_on_a_terminal_only(
    cli: Callable[..., Run], kafka_engine: str, topic: str, amqp: Amqp, queue: Callable[..., str]
) -> None:
    q = queue()
    for i in range(60):
        amqp.publish(q, f"m{i}")
    code, text = _run(["move", f"rabbit:{q}", f"kafka:{topic}", "-e", "--rate", "20/s"], tty=True)
    assert code == 0, text
    figures = _figures(text, "in queue")
    assert len(figures) >= 3, text
    # Redrawn in place while it ran: the depth falls as the count grows.
    assert figures[-1][0] > figures[0][0] and figures[-1][1] < figures[0][1]
    assert all(0 <= left <= 60 for _moved, left in figures)  # asked a moment apart from the count
    assert text.count(REDRAW) >= len(figures)
    # Cleared before the summary, which has no live figure.
    assert re.search(r"\r\x1b\[K(\x1b\[[0-9;]*m)*mqcli: moved 60, failed 0", text), text[-500:]
    assert "in queue" not in text[text.rindex("mqcli: moved 60") :]

    # The same move on a pipe: the summary only.
    q2 = queue()
    for i in range(60):
        amqp.publish(q2, f"m{i}")
    code, text = _run(["move", f"rabbit:{q2}", f"kafka:{topic}", "-e", "--rate", "20/s"], tty=False)
    assert code == 0, text
    assert "\r" not in text and "\x1b" not in text and "in queue" not in text
    assert text.splitlines()[-1].startswith("mqcli: moved 60, failed 0")


def test_kafka_source_shows_its_lag_on_a_terminal_only(
    cli: Callable[..., Run], kafka_engine: str, make_topic: Callable[..., str], queue: Callable[..., str]
) -> None:
    src, q = make_topic(2), queue()
    r = cli("kafka", "produce", src, input="".join(f"v{i}\n" for i in range(60)))
    assert r.exit_code == 0, r.stderr
    code, text = _run(["move", f"kafka:{src}", f"rabbit:{q}", "-e", "--rate", "20/s"], tty=True)
    assert code == 0, text
    figures = _figures(text, "lag")
    assert len(figures) >= 3, text
    assert figures[-1][0] > figures[0][0] and figures[-1][1] < figures[0][1]
    assert all(0 <= left <= 60 for _moved, left in figures)  # asked a moment apart from the count
    assert "lag" not in text[text.rindex("mqcli: moved 60") :]
    code, text = _run(["copy", f"kafka:{src}", f"rabbit:{q}", "-e", "--rate", "30/s"], tty=False)
    assert code == 0, text
    assert "\r" not in text and "\x1b" not in text and "lag" not in text
