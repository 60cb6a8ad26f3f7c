"""`groups reset-offsets --to-offsets-file FILE`: the per-partition CSV that
Kafka's own `kafka-consumer-groups.sh --reset-offsets --from-file` reads (and
its `--export` writes): `topic,partition,offset` per line, or
`group,topic,partition,offset` (several groups in one file; the rows of the
group being reset are used).  Every error names `FILE:LINE`."""

from __future__ import annotations

import csv
import re

from mqcli.core.errors import InputError, UsageError
from mqcli.core.kafka.common import OffsetEntry

_NUMBER = re.compile(r"[0-9]+")  # ASCII digits only (str.isdigit() also accepts '²')


def read_offsets_file(path: str, group: str) -> tuple[OffsetEntry, ...]:
    """The entries of `path` for `group`; UsageError when it cannot be read,
    InputError (FILE:LINE: …) when a line is not a valid row."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    return parse_offsets(text, path, group)


def parse_offsets(text: str, name: str, group: str) -> tuple[OffsetEntry, ...]:
    """Parse the CSV `text` (named `name` in messages) for `group`."""
    entries: list[OffsetEntry] = []
    seen: dict[tuple[str, int], str] = {}
    width: int | None = None
    other_groups = False
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{name}:{number}"
        if not line.strip():
            continue
        try:
            (fields,) = csv.reader([line])
        except (csv.Error, ValueError):
            raise InputError(f"{where}: not a CSV row") from None
        fields = [f.strip() for f in fields]
        if len(fields) not in (3, 4):
            raise InputError(
                f"{where}: expected topic,partition,offset (or group,topic,partition,offset), got {len(fields)} field(s)"
            )
        if width is not None and len(fields) != width:
            raise InputError(f"{where}: {len(fields)} fields where the lines above have {width}")
        width = len(fields)
        if width == 4:
            row_group, topic, partition, offset = fields
            if row_group != group:
                other_groups = True
                continue
        else:
            topic, partition, offset = fields
        if not topic:
            raise InputError(f"{where}: empty topic name")
        if not _NUMBER.fullmatch(partition):
            raise InputError(f"{where}: partition {partition!r} is not a number")
        if not _NUMBER.fullmatch(offset):
            raise InputError(f"{where}: offset {offset!r} is not a non-negative number")
        key = (topic, int(partition))
        if key in seen:
            raise InputError(f"{where}: {topic}[{partition}] is already given at {seen[key]}")
        seen[key] = where
        entries.append(OffsetEntry(topic, int(partition), int(offset), where))
    if not entries:
        if other_groups:
            raise InputError(f"{name}: no rows for group {group!r}")
        raise InputError(f"{name}: no offsets (expected lines of topic,partition,offset)")
    return tuple(entries)
