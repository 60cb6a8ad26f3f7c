"""Protobuf with Google's `protobuf` runtime, its .proto text compiled by the
`protoc` that grpcio-tools bundles (protobuf itself parses no .proto text).

A schema is one .proto file (with what it imports): `ProtoFile` holds its
descriptors in a pool of its own and gives one `ProtoMessage` per message
type, found by full name (`--message-type shop.Order`) or by the message
indexes of the wire format.  The registry's text of a Protobuf schema is
either .proto text or (as Confluent's own serializer registers it) the base64
of a serialized FileDescriptorProto; both are read.

JSON mapping: Protobuf's canonical one (`google.protobuf.json_format`):
field names in lowerCamelCase (producing takes the .proto names too), 64-bit
integers as strings, bytes as base64, enums by name, the well-known types in
their JSON forms (Timestamp as RFC 3339 text, Duration as "1.5s", wrappers as
their value, Struct/Value as JSON, Any with "@type"), and fields that have no
presence written with their default values.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from mqcli.core.schema.common import Mismatch, SchemaInvalid

if TYPE_CHECKING:
    from google.protobuf.descriptor import Descriptor
    from google.protobuf.descriptor_pb2 import FileDescriptorProto

_B64 = re.compile(r"[A-Za-z0-9+/=\s]+")
_FAILED = re.compile(r"Failed to parse (\S+) field: ")
_PROTOC_TIMEOUT = 60.0


class ProtoMessage:
    """One message type: decodes and encodes its binary form to and from canonical JSON."""

    type = "PROTOBUF"

    def __init__(self, descriptor: Descriptor, indexes: list[int]) -> None:
        from google.protobuf import json_format, message_factory

        self.descriptor = descriptor
        self.name: str | None = descriptor.full_name
        self.indexes = indexes
        self._cls: Any = message_factory.GetMessageClass(descriptor)
        self._json = json_format

    def decode(self, body: bytes | memoryview) -> object:
        """The canonical JSON value of a binary message (raises on bytes that do not parse)."""
        msg = self._cls.FromString(bytes(body))
        return self._json.MessageToDict(msg, always_print_fields_with_no_presence=True)

    def encode(self, value: object) -> bytes:
        """The binary form of a JSON value (Mismatch naming the field when it does not fit)."""
        if not isinstance(value, dict):
            raise Mismatch(".", f"an object (message {self.name})")
        try:
            msg = self._json.ParseDict(value, self._cls())
        except self._json.ParseError as e:
            raise _mismatch(str(e)) from None
        data: bytes = msg.SerializeToString()
        return data


def _mismatch(text: str) -> Mismatch:
    """A json_format.ParseError as a Mismatch: its "Failed to parse a field: Failed to
    parse b field: why" chain is the path .a.b."""
    path = ""
    while m := _FAILED.match(text):
        path += "." + m.group(1)
        text = text[m.end() :]
    if m := re.match(r'Message type "[^"]+" has no field named "([^"]+)"', text):
        path, text = f"{path}.{m.group(1)}", "no such field"
    reason = re.sub(r"\.? at [\w.\[\]]+\.?$", "", " ".join(text.split())).rstrip(".")
    return Mismatch(path, reason, reason=reason)


class ProtoFile:
    """The message types of a schema: the messages of its main file (or, for a descriptor
    set, of every file in it), in a descriptor pool of their own."""

    def __init__(self, files: Iterable[FileDescriptorProto], main: str | None) -> None:
        from google.protobuf import descriptor_pool

        self._pool = descriptor_pool.DescriptorPool()
        by_name = self._protos = {f.name: f for f in files}
        self.main = main
        added: set[str] = set()

        def add(name: str) -> None:
            if name in added:
                return
            added.add(name)
            proto = by_name.get(name) or _well_known(name)
            for dep in proto.dependency:
                add(dep)
            self._pool.Add(proto)

        for name in by_name:
            add(name)
        names = [main] if main is not None else [n for n in by_name if not n.startswith("google/protobuf/")]
        self._files = [self._pool.FindFileByName(n) for n in names]
        self._messages: dict[str, ProtoMessage] = {}

    def imports(self, name: str) -> list[str]:
        """The files `name` imports, other than the well-known types."""
        proto = self._protos.get(name)
        return [d for d in proto.dependency if not d.startswith("google/protobuf/")] if proto is not None else []

    @property
    def top_level(self) -> list[str]:
        """The full names of the top-level messages, in declaration order."""
        return [d.full_name for f in self._files for d in f.message_types_by_name.values()]

    def message(self, name: str | None, what: str) -> ProtoMessage:
        """The message named `name`; without a name the only top-level one (UsageError-worthy
        SchemaInvalid when there are several: `what` names the option to give)."""
        if name is None:
            top = self.top_level
            if len(top) != 1:
                raise SchemaInvalid(
                    f"defines {len(top)} messages ({', '.join(top) or 'none'}): give {what}"
                    if top
                    else "defines no message"
                )
            name = top[0]
        found = self._messages.get(name)
        if found is None:
            try:
                d = self._pool.FindMessageTypeByName(name.lstrip("."))
            except KeyError:
                raise SchemaInvalid(f"has no message {name} (it has {', '.join(self.top_level)})") from None
            found = self._messages[name] = ProtoMessage(d, _indexes(d))
        return found

    def at(self, indexes: list[int]) -> ProtoMessage:
        """The message at the wire format's message indexes (of the main file)."""
        try:
            d: Any = list(self._files[0].message_types_by_name.values())[indexes[0]]
            for i in indexes[1:]:
                d = d.nested_types[i]
        except IndexError:
            raise ValueError(f"no message at indexes {indexes}") from None
        return self.message(d.full_name, "")


def _indexes(d: Descriptor) -> list[int]:
    """The message indexes of a message: its path through its file's messages."""
    path = []
    node: Any = d
    while node.containing_type is not None:
        path.append(list(node.containing_type.nested_types).index(node))
        node = node.containing_type
    path.append(list(node.file.message_types_by_name.values()).index(node))
    return path[::-1]


def _well_known(name: str) -> FileDescriptorProto:
    """A google/protobuf/*.proto file the protobuf package ships (a well-known type)."""
    from google.protobuf import descriptor_pb2, descriptor_pool

    if not name.startswith("google/protobuf/"):
        raise SchemaInvalid(f"imports {name}, which is not given")
    try:
        importlib.import_module("google.protobuf." + name.rsplit("/", 1)[1].removesuffix(".proto") + "_pb2")
        found = descriptor_pool.Default().FindFileByName(name)
    except (ImportError, KeyError):
        raise SchemaInvalid(f"imports {name}, which is not a well-known type") from None
    proto = descriptor_pb2.FileDescriptorProto()
    found.CopyToProto(proto)
    return proto


# -- reading schemas ----------------------------------------------------------------


def _protoc(
    name: str, include: list[str], descriptor_in: str | None = None, hide: str | None = None
) -> list[FileDescriptorProto]:
    """Compile `name` (found under the `include` directories) with grpcio-tools' protoc,
    imports included; SchemaInvalid with protoc's own message (file:line: why)."""
    from google.protobuf import descriptor_pb2

    try:
        import grpc_tools  # noqa: F401  (only to say it is missing before running it)
    except ImportError:
        raise ImportError("grpcio-tools") from None
    with tempfile.TemporaryDirectory(prefix="mqcli-protoc-") as tmp:
        out = os.path.join(tmp, "set.pb")
        args = [sys.executable, "-m", "grpc_tools.protoc", *(f"-I{d}" for d in include)]
        if descriptor_in:
            args.append(f"--descriptor_set_in={descriptor_in}")
        args += ["--include_imports", f"--descriptor_set_out={out}", name]
        # A process of its own: protoc writes its errors to the C-level stderr, which this captures.
        proc = subprocess.run(args, capture_output=True, text=True, timeout=_PROTOC_TIMEOUT, check=False)
        if proc.returncode != 0:
            text = proc.stderr.replace(hide + os.sep, "") if hide else proc.stderr  # a temporary directory
            lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("Traceback")]
            raise SchemaInvalid("; ".join(lines[:3]) or f"protoc exited with {proc.returncode}")
        with open(out, "rb") as f:
            return list(descriptor_pb2.FileDescriptorSet.FromString(f.read()).file)


def from_file(path: str, proto_paths: list[str]) -> ProtoFile:
    """A local .proto file, its imports resolved against `proto_paths` (then its own directory)."""
    full = os.path.abspath(path)
    files = _protoc(full, [*proto_paths, os.path.dirname(full)])
    return ProtoFile(files, files[-1].name)  # protoc lists the file it was given last


def from_descriptor_set(data: bytes) -> ProtoFile:
    """A compiled FileDescriptorSet (`protoc -o FILE --include_imports`)."""
    from google.protobuf import descriptor_pb2
    from google.protobuf.message import DecodeError

    try:
        files = list(descriptor_pb2.FileDescriptorSet.FromString(data).file)
    except DecodeError as e:
        raise SchemaInvalid(f"not a FileDescriptorSet: {e}") from None
    if not files:
        raise SchemaInvalid("an empty FileDescriptorSet")
    return ProtoFile(files, None)


def _as_descriptor(text: str) -> FileDescriptorProto | None:
    """The FileDescriptorProto of base64 text (Confluent's serializer registers that form), else None."""
    if not _B64.fullmatch(text):  # .proto text always has characters base64 has not (quotes, braces, ";")
        return None
    from google.protobuf import descriptor_pb2
    from google.protobuf.message import DecodeError

    try:
        return descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(text, validate=False))
    except (binascii.Error, DecodeError, ValueError):
        return None


def from_registry(text: str, references: Mapping[str, str], name: str = "schema.proto") -> ProtoFile:
    """A schema as the registry holds it: `text` (.proto text or base64 descriptor) and the
    texts of the schemas it references, by the names it imports them under."""
    from google.protobuf import descriptor_pb2

    texts = {name: text, **references}
    protos: dict[str, FileDescriptorProto] = {}
    plain: dict[str, str] = {}
    for n, t in texts.items():
        d = _as_descriptor(t)
        if d is not None:
            d.name = n
            protos[n] = d
        else:
            plain[n] = t
    if plain:
        with tempfile.TemporaryDirectory(prefix="mqcli-proto-") as tmp:
            for n, t in plain.items():
                target = os.path.join(tmp, n)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "w", encoding="utf-8") as f:
                    f.write(t)
            given = None
            if protos:
                given = os.path.join(tmp, "given.pb")
                with open(given, "wb") as f:
                    f.write(descriptor_pb2.FileDescriptorSet(file=list(protos.values())).SerializeToString())
            for n in plain:
                for p in _protoc(n, [tmp], given, hide=tmp):
                    protos.setdefault(p.name, p)
    return ProtoFile(protos.values(), name)
