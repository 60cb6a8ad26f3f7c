"""Run `mqcli ARGS` under cProfile, every thread included, and write the top
functions as JSON to OUTFILE (for the report's "where the time goes").

  python profile_run.py OUTFILE TOP mqcli-args...

kafka-python sends and fetches in a background thread, which `python -m
cProfile` would not see: each new thread gets its own profiler here, and the
stats are merged at exit.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import sys
import threading
from typing import Any

profilers: list[cProfile.Profile] = []


def _thread_hook(*_: Any) -> None:
    # Called once at the start of each new thread: swap this hook for a profiler.
    sys.setprofile(None)
    prof = cProfile.Profile()
    profilers.append(prof)
    prof.enable()


def _label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    for marker in ("site-packages/", "/lib/python3", "/mqcli/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            if marker == "/mqcli/":
                filename = "mqcli/" + filename
            break
    return f"{name} ({filename}:{line})" if line else name


def main() -> None:
    out, top, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    from mqcli.cli.app import main as mqcli_main

    sys.argv = ["mqcli", *args]
    threading.setprofile(_thread_hook)
    main_prof = cProfile.Profile()
    profilers.append(main_prof)
    code: object = 0
    main_prof.enable()
    try:
        mqcli_main()
    except SystemExit as e:
        code = e.code
    finally:
        main_prof.disable()
        threading.setprofile(None)
    stats = pstats.Stats(main_prof)
    for prof in profilers[1:]:
        try:
            stats.add(prof)
        except (TypeError, ValueError):  # a thread that never ran Python code
            pass
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in raw.values()) or 1.0
    rows = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    result = {
        "exit": code,
        "threads": len(profilers),
        "total_s": total,
        "top": [
            {"function": _label(func), "calls": nc, "self_s": tt, "self_pct": 100 * tt / total, "cum_s": ct}
            for func, (_cc, nc, tt, ct, _callers) in rows
        ],
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f)
    sys.exit(code if isinstance(code, int) else 1)


if __name__ == "__main__":
    main()
