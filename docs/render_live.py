"""Render the last frame of a live view to SVG with Rich's SVG export (for the README).

    python docs/render_live.py OUT.svg SECONDS WIDTH mqcli-args...

Runs `python -m mqcli ARGS` on a pseudo-terminal for SECONDS, stops it with SIGINT
(Ctrl-C), keeps the last table it drew and exports it as SVG; convert it with
`rsvg-convert` (Debian's librsvg2-bin).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

from rich.console import Console
from rich.text import Text


def main() -> int:
    out, seconds, width, args = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(width))
    env.pop("NO_COLOR", None)
    master, slave = os.openpty()
    p = subprocess.Popen([sys.executable, "-m", "mqcli", *args], stdout=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    data = b""
    deadline = time.monotonic() + seconds
    os.set_blocking(master, False)
    while p.poll() is None:
        if time.monotonic() > deadline:
            p.send_signal(signal.SIGINT)
            p.wait(timeout=20)
            break
        try:
            data += os.read(master, 65536)
        except BlockingIOError:
            time.sleep(0.05)
    try:
        while chunk := os.read(master, 65536):
            data += chunk
    except OSError:
        pass
    text = data.decode("utf-8", errors="replace").replace("\r", "")
    # Each redraw erases the previous frame line by line (ESC[2K ESC[1A …): keep what follows the last.
    frame = re.split(r"(?:\x1b\[2K\x1b\[1A)+\x1b\[2K", text)[-1]
    frame = re.sub(r"\x1b\[\?25[lh]", "", frame).rstrip("\n")
    console = Console(
        record=True, width=width, force_terminal=True, color_system="truecolor", file=open(os.devnull, "w")
    )
    console.print(Text.from_ansi(frame))
    console.save_svg(out, title="mqcli " + " ".join(args))
    return p.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
