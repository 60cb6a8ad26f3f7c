"""Print mqcli's completion script for a shell: `python -m mqcli.cli.completions bash`.

`make completions` writes them to completions/; a test fails when they are stale.
The scripts call back into mqcli, so profile names complete from the live config.
"""

from __future__ import annotations

import sys

SHELLS = ("bash", "zsh", "fish")


def script(shell: str) -> str:
    # Defined in typer._completion_shared; typer.completion imports it without re-exporting.
    from typer.completion import get_completion_script  # type: ignore[attr-defined]

    return get_completion_script(prog_name="mqcli", complete_var="_MQCLI_COMPLETE", shell=shell).rstrip("\n") + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in SHELLS:
        sys.stderr.write(f"usage: python -m mqcli.cli.completions {{{'|'.join(SHELLS)}}}\n")
        sys.exit(2)
    sys.stdout.write(script(sys.argv[1]))
