"""The Confluent wire format of a schema-encoded Kafka key or value:

    byte 0      magic byte, always 0
    bytes 1-4   the schema id, a 32-bit big-endian unsigned integer
    bytes 5-    the encoded body (for Avro: the schemaless binary encoding; for JSON
                Schema: the JSON text; for Protobuf: the message indexes, then
                the binary message)

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


# -- Protobuf's message indexes ------------------------------------------------------
#
# For Protobuf the header is followed by the message indexes: which message of the
# schema's .proto file the body is, as the path of indexes through the file's
# top-level messages and their nested ones ([1, 0]: the first message nested in the
# second top-level one).  They are written as zigzag varints: the count, then each
# index; the common [0] (the file's first message) is the single byte 0 (count 0).


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _unzigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def write_varint(n: int) -> bytes:
    """The zigzag varint of a signed 64-bit integer."""
    if not -(2**63) <= n < 2**63:
        raise ValueError(f"{n} does not fit in 64 bits")
    z = _zigzag(n) & 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def read_varint(data: bytes | memoryview, pos: int = 0) -> tuple[int, int]:
    """(the signed integer of the zigzag varint at `pos`, the position after it); NotFramed when cut short."""
    z = shift = 0
    while True:
        if pos >= len(data):
            raise NotFramed("the message indexes are cut short")
        b = data[pos]
        pos += 1
        z |= (b & 0x7F) << shift
        if not b & 0x80:
            return _unzigzag(z), pos
        shift += 7
        if shift >= 70:
            raise NotFramed("a message index is longer than 10 bytes")


def write_indexes(indexes: list[int]) -> bytes:
    """The message-index list as it follows the schema id (`[0]` is the single byte 0)."""
    if indexes == [0]:
        return b"\x00"
    return write_varint(len(indexes)) + b"".join(write_varint(i) for i in indexes)


def read_indexes(body: bytes | memoryview) -> tuple[list[int], memoryview]:
    """(message indexes, the Protobuf body after them) of what follows the header."""
    count, pos = read_varint(body)
    if count == 0:
        return [0], memoryview(body)[pos:]
    if count < 0 or count > len(body):
        raise NotFramed(f"message index count {count} is not plausible")
    indexes = []
    for _ in range(count):
        i, pos = read_varint(body, pos)
        if i < 0:
            raise NotFramed(f"negative message index {i}")
        indexes.append(i)
    return indexes, memoryview(body)[pos:]
