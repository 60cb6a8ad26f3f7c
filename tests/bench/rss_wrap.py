"""Run a command and write its peak RSS (KiB) and wall time (s) to a file.

  python -I -S rss_wrap.py OUTFILE CMD [ARGS...]

Used by measure.py when GNU time is not installed.  Peak RSS comes from
wait4(): the largest resident set of the command and the descendants it
waited for.  It runs in its own small process because a child's ru_maxrss
starts at the RSS of the process that forked it -- forking from the (large)
runner would inflate small tools like kcat.  Exit code: the command's, or
128+N when signal N ended it.
"""

import os
import shutil
import signal
import sys
import time


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    exe = shutil.which(cmd[0]) or cmd[0]
    # Ignore TERM/INT here so a killpg() of the group ends the command and we
    # still write the figures; the command itself gets default handlers back.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    t0 = time.perf_counter()
    pid = os.posix_spawn(exe, cmd, os.environ, setsigdef=(signal.SIGTERM, signal.SIGINT))
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    with open(out, "w") as f:
        f.write(f"{usage.ru_maxrss} {wall:.6f}\n")
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
