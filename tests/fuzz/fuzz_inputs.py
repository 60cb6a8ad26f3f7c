"""Coverage-guided fuzzing (atheris) of everything that parses user input.

Run: python -m tests.fuzz.fuzz_inputs -runs=20000 [-max_len=512]

Each input is split by its first byte into a target; the target may raise
only mqcli's documented errors (MqcliError subclasses: one line, an exit
code).  Anything else is a crash, which atheris reports with the input.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from mqcli.core import config, filters, message, parse, readers, writers
    from mqcli.core.errors import MqcliError
    from mqcli.core.kafka.common import StartOffset

_TMP = Path(tempfile.mkdtemp(prefix="mqcli-fuzz-"))
_CFG = _TMP / "mqcli.yaml"
_ENV = {"HOME": str(_TMP), "SECRET": "s3cret"}
_MSG = message.Message(value=b"v", key=b"k", headers=[("h", b"1")], topic="t", partition=0, offset=1, timestamp=1)


def _text(fdp: atheris.FuzzedDataProvider) -> str:
    return fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())


def _records(data: bytes, mode: readers.InputMode, delimiter: bytes, key_sep: bytes | None) -> None:
    opts = readers.ReaderOptions(mode=mode, delimiter=delimiter, key_separator=key_sep)
    for _ in readers.read_messages([io.BytesIO(data)], opts):
        pass


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    target = fdp.ConsumeIntInRange(0, 9)
    try:
        if target == 0:
            message.from_json(fdp.ConsumeBytes(fdp.remaining_bytes()), line=1)
        elif target == 1:
            delim = fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 3)) or b"\n"
            key_sep = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 2)) or None
            mode = readers.InputMode(["line", "whole", "jsonl"][fdp.ConsumeIntInRange(0, 2)])
            _records(
                fdp.ConsumeBytes(fdp.remaining_bytes()),
                mode,
                delim,
                None if mode is readers.InputMode.jsonl else key_sep,
            )
        elif target == 2:
            writers.Template(_text(fdp)).render(_MSG)
        elif target == 3:
            parse.parse_duration(_text(fdp))
        elif target == 4:
            parse.parse_time(_text(fdp), now=1_000_000.0)
        elif target == 5:
            parse.parse_header(_text(fdp))
            parse.parse_delimiter(_text(fdp) or "x")
        elif target == 6:
            StartOffset.parse(_text(fdp))
        elif target == 7:
            filters.build_matcher(match_header=[_text(fdp)])
        elif target == 8:
            parse.typed_header_value(_text(fdp))
        else:
            _CFG.write_bytes(fdp.ConsumeBytes(fdp.remaining_bytes()))
            config.load_config(_CFG, _ENV)
            config.resolve_profile(config_path=str(_CFG), env=_ENV)
    except MqcliError:
        pass


def main() -> None:
    os.environ.setdefault("HOME", str(_TMP))
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
