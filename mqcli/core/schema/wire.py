"""The Confluent wire format of a schema-encoded Kafka key or value:

    byte 0      magic byte, always 0
    bytes 1-4   the schema id, a 32-bit big-endian unsigned integer
    bytes 5-    the encoded body (for Avro: the schemaless binary encoding)

Pure functions, no I/O.
"""

from __future__ import annotations

import struct

MAGIC = 0
HEADER_SIZE = 5
_HEADER = struct.Struct(">bI")


class NotFramed(ValueError):
    """The bytes are not in the wire format (too short, or a magic byte other than 0)."""


def frame(schema_id: int, body: bytes) -> bytes:
    """The wire form of `body` encoded with schema `schema_id`."""
    if not 0 <= schema_id <= 0xFFFFFFFF:
        raise ValueError(f"schema id {schema_id} does not fit in 4 bytes")
    return _HEADER.pack(MAGIC, schema_id) + body


def is_framed(data: bytes | None) -> bool:
    """Whether `data` looks like the wire format (magic byte 0 and a whole header)."""
    return data is not None and len(data) >= HEADER_SIZE and data[0] == MAGIC


def unframe(data: bytes) -> tuple[int, memoryview]:
    """(schema id, body) of wire-format bytes; NotFramed when they are not."""
    if len(data) < HEADER_SIZE:
        raise NotFramed(f"{len(data)} byte(s), shorter than the 5-byte header")
    if data[0] != MAGIC:
        raise NotFramed(f"magic byte {data[0]}, not 0")
    return _HEADER.unpack_from(data)[1], memoryview(data)[HEADER_SIZE:]
