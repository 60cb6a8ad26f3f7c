"""Per-record schema codecs for the Kafka and RabbitMQ commands.

`Decoder` turns a consumed key or value into its JSON text in place (so the
output writers, --match and --exec all see the decoded text) and records
what it was decoded with in `Message.decoded`; `Encoder` turns a JSON input
record into Avro, Protobuf or JSON Schema: in the Confluent wire format with
a registry, or a bare body with a local schema file and no registry.
Schemas are parsed once per id and the registry is asked once per id (see
registry.RegistryClient).

The three formats share one shape: a schema object with `type` (the
registry's schemaType), `name` (for the record subject strategies) and
`decode(body) -> JSON value` / `encode(JSON value) -> body`.  A Protobuf
schema file holds several messages: `ProtoFile` picks one by name or by the
wire format's message indexes.
"""

from __future__ import annotations

import codecs
import importlib.util
import json
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from dataclasses import field as _field
from typing import Any, Protocol

from mqcli.core.errors import InputError, MqcliError, NotFound, UsageError
from mqcli.core.message import DecodedSchema, Message
from mqcli.core.schema import wire
from mqcli.core.schema.common import Mismatch, SchemaInvalid
from mqcli.core.schema.registry import RegisteredSchema, RegistryClient

# --value-format name -> the registry's schemaType.
TYPES = {"avro": "AVRO", "protobuf": "PROTOBUF", "json-schema": "JSON"}
FORMAT_OF = {t: f for f, t in TYPES.items()}
# What each format needs installed (the `schemas` extra), by module.
_NEEDS = {"AVRO": ("fastavro",), "JSON": ("jsonschema",), "PROTOBUF": ("google.protobuf", "grpc_tools")}
# RabbitMQ's content_type of a bare body in each format.
CONTENT_TYPES = {"AVRO": "application/avro", "PROTOBUF": "application/protobuf", "JSON": "application/json"}
SCHEMA_HEADER = "x-mqcli-schema"  # RabbitMQ: the record/message/title name of the schema a body is in


class Codec(Protocol):
    """One schema that decodes and encodes bodies (an Avro schema, a JSON Schema, a Protobuf message)."""

    type: str
    name: str | None

    def decode(self, body: bytes | memoryview) -> object: ...

    def encode(self, value: object) -> bytes: ...


def installed(schema_type: str) -> bool:
    """Whether the libraries a schema type needs are installed."""
    try:
        return all(importlib.util.find_spec(m) is not None for m in _NEEDS.get(schema_type, ("-",)))
    except (ValueError, ModuleNotFoundError):  # in sys.modules as None (blocked), or a parent missing
        return False


def missing(schema_type: str) -> str | None:
    """The first library a type needs that is not installed (None: all there)."""
    for m in _NEEDS[schema_type]:
        try:
            if importlib.util.find_spec(m) is None:
                return m.split(".")[0] if m != "google.protobuf" else "protobuf"
        except (ValueError, ModuleNotFoundError):
            return m.split(".")[0] if m != "google.protobuf" else "protobuf"
    return None


def _where(msg: Message) -> str:
    if msg.topic is not None:
        return f"{msg.topic}[{msg.partition}]@{msg.offset}"
    mid = msg.properties.get("message_id")
    return f"queue {msg.queue}" + (f" (message_id {mid})" if mid else "")


class Skip(Exception):
    """A record strict decoding refused; with --skip-invalid it is left out and counted."""


# -- schemas: from the registry and from files -----------------------------------------


def parse(schema_type: str, text: str, references: dict[str, str] | None = None) -> Any:
    """A schema text of a registry type: an avro.Schema, a json_schema.JsonSchema or a
    protobuf.ProtoFile (SchemaInvalid when it does not parse)."""
    if schema_type == "AVRO":
        from mqcli.core.schema.avro import Schema

        return Schema(text)
    if schema_type == "JSON":
        from mqcli.core.schema.json_schema import JsonSchema

        return JsonSchema(text)
    if schema_type == "PROTOBUF":
        from mqcli.core.schema.protobuf import from_registry

        return from_registry(text, references or {})
    raise SchemaInvalid(f"schema type {schema_type} is not one mqcli reads")


def _reference_texts(registry: RegistryClient, reg: RegisteredSchema) -> dict[str, str]:
    """The texts of the schemas `reg` references, theirs included, by import name."""
    out: dict[str, str] = {}
    todo = list(reg.references)
    while todo:
        name, subject, version = todo.pop()
        if name in out:
            continue
        ref = registry.version(subject, version)
        out[name] = ref.text
        todo.extend(ref.references)
    return out


def load_registered(registry: RegistryClient, reg: RegisteredSchema) -> Any:
    """The parsed schema of a registry entry (MqcliError when the registry's text does not parse)."""
    refs = _reference_texts(registry, reg) if reg.references else None
    try:
        return parse(reg.type, reg.text, refs)
    except SchemaInvalid as e:
        raise MqcliError(f"schema {reg.id} from the registry is not valid {reg.type}: {e}") from None


def file_type(path: str, text: str | None) -> str:
    """The schema type of a file: by extension (.avsc, .proto, .desc/.pb), else a .json that is
    an Avro record/enum/fixed/union is Avro and any other is JSON Schema."""
    ext = os.path.splitext(path)[1].lower()
    if ext in (".avsc", ".avro"):
        return "AVRO"
    if ext in (".proto", ".desc", ".pb", ".protoset"):
        return "PROTOBUF"
    try:
        raw = json.loads(text or "")
    except ValueError:
        return "JSON"
    if isinstance(raw, list) or (isinstance(raw, dict) and raw.get("type") in ("record", "enum", "fixed")):
        return "AVRO"
    return "JSON"


@dataclass(frozen=True)
class SchemaChoice:
    """Which schema a key or value is encoded (or, bare, decoded) with: at most one of
    file/subject/id, or a descriptor set."""

    file: str | None = None
    subject: str | None = None
    version: int | None = None  # with subject; None: latest
    schema_id: int | None = None
    register: bool = True  # with file: register under the subject when missing
    message_type: str | None = None  # Protobuf: which message of the file (pkg.Msg)
    proto_paths: tuple[str, ...] = ()  # Protobuf: where imports are found
    descriptor_set: str | None = None  # Protobuf: a compiled FileDescriptorSet instead of a .proto file


@dataclass
class LocalSchema:
    """A schema read from a file: its text (what is registered), type and codec."""

    text: str
    type: str
    codec: Codec
    prefix: bytes = b""  # after the wire header: Protobuf's message indexes
    proto: Any = None  # Protobuf: the ProtoFile, to register the files it imports as references
    include: tuple[str, ...] = ()  # Protobuf: where its imports were found

    def references(
        self, registry: RegistryClient, register: bool, name: str | None = None
    ) -> tuple[tuple[str, str, int], ...]:
        """Protobuf: the files this schema imports, each registered (theirs first) under its import
        name as the subject, as Confluent's serializers do; the (name, subject, version) references."""
        if self.proto is None:
            return ()
        refs = []
        for dep in self.proto.imports(name or self.proto.main):
            path = next((os.path.join(d, dep) for d in self.include if os.path.isfile(os.path.join(d, dep))), None)
            if path is None:
                raise UsageError(f"cannot find {dep} (imported by {name or 'the schema'}) to register it")
            text = _read(path, "import")
            inner = self.references(registry, register, dep)
            reg = registry.lookup(dep, text, "PROTOBUF", register=register, references=inner)
            assert reg.version is not None
            refs.append((dep, dep, reg.version))
        return tuple(refs)


def _read(path: str, option: str, binary: bool = False) -> Any:
    try:
        with open(path, "rb" if binary else "r", encoding=None if binary else "utf-8") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"cannot read {option} {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{option} {path} is not UTF-8 text") from None


def load_local(field_: str, choice: SchemaChoice, fmt: str | None) -> LocalSchema:
    """The schema of --{field}-schema FILE or --descriptor-set FILE, as `fmt` (a --*-format name)
    or, without one, as the file says; UsageError naming the option when it does not parse."""
    option = f"--{field_}-schema"
    mt_option = "--message-type" if field_ == "value" else "--key-message-type"
    if choice.descriptor_set is not None:
        if fmt not in (None, "protobuf"):
            raise UsageError(f"--descriptor-set is Protobuf; it does not apply with --{field_}-format {fmt}")
        from mqcli.core.schema.protobuf import from_descriptor_set

        data = _read(choice.descriptor_set, "--descriptor-set", binary=True)
        try:
            message = from_descriptor_set(data).message(choice.message_type, mt_option)
        except SchemaInvalid as e:
            raise UsageError(f"--descriptor-set {choice.descriptor_set}: {e}") from None
        return LocalSchema("", "PROTOBUF", message, wire.write_indexes(message.indexes))
    assert choice.file is not None
    ext = os.path.splitext(choice.file)[1].lower()
    binary = ext in (".desc", ".pb", ".protoset")
    text = "" if binary else _read(choice.file, option)
    schema_type = TYPES[fmt] if fmt is not None else file_type(choice.file, text)
    if choice.message_type is not None and schema_type != "PROTOBUF":
        raise UsageError(f"{mt_option} applies only to Protobuf schemas")
    try:
        if schema_type == "PROTOBUF":
            from mqcli.core.schema import protobuf

            if binary:
                pfile = protobuf.from_descriptor_set(_read(choice.file, option, binary=True))
            else:
                pfile = protobuf.from_file(choice.file, list(choice.proto_paths))
            message = pfile.message(choice.message_type, mt_option)
            include = (*choice.proto_paths, os.path.dirname(os.path.abspath(choice.file)))
            return LocalSchema(text, schema_type, message, wire.write_indexes(message.indexes), pfile, include)
        return LocalSchema(text, schema_type, parse(schema_type, text))
    except SchemaInvalid as e:
        kind = FORMAT_OF[schema_type].replace("json-schema", "JSON Schema").replace("avro", "Avro")
        raise UsageError(f"{option} {choice.file} is not a valid {kind.capitalize()} schema: {e}") from None


# -- consuming -------------------------------------------------------------------------


@dataclass
class Decoder:
    """Decodes the `field` ("value" or "key") of consumed messages in `fmt`: auto, json, or a
    schema format (avro, protobuf, json-schema) through the registry or, with `local`, bare."""

    field: str
    fmt: str
    registry: RegistryClient | None
    describe: bool = True  # name subject and version in Message.decoded (one more request per id)
    local: LocalSchema | None = None
    _schemas: dict[int, Any] = _field(default_factory=dict, init=False, repr=False)
    _types: dict[int, str] = _field(default_factory=dict, init=False, repr=False)
    _info: dict[tuple[int, str | None, str | None], dict[str, Any]] = _field(
        default_factory=dict, init=False, repr=False
    )
    # schema id -> its body -> (JSON text, Protobuf message name) function, built once per id
    _readers: dict[int, TextReader] = _field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.fmt in TYPES and self.registry is None and self.local is None:
            raise UsageError(
                f"--{self.field}-format {self.fmt} needs a schema registry (kafka.schema_registry.url or"
                f" --schema-registry) or a local schema (--{self.field}-schema FILE)"
            )

    def _schema(self, schema_id: int) -> Any:
        """The parsed schema of an id; None when mqcli cannot read its type here. NotFound when unknown."""
        if schema_id not in self._schemas:
            assert self.registry is not None
            reg = self.registry.by_id(schema_id)
            self._types[schema_id] = reg.type
            # auto: any type whose library is installed; strict: only the type asked for (the
            # others are refused without parsing them).
            readable = reg.type in _NEEDS and (
                installed(reg.type) if self.fmt == "auto" else TYPES[self.fmt] == reg.type
            )
            self._schemas[schema_id] = load_registered(self.registry, reg) if readable else None
        return self._schemas[schema_id]

    def info(self, schema_id: int, topic: str | None, message: str | None = None) -> dict[str, Any]:
        """{"id", "subject", "version", "type"} of a schema as read from `topic` (and the
        Protobuf `message`): of the subjects that share the schema, the topic's own first."""
        key = (schema_id, topic, message)
        found = self._info.get(key)
        if found is None:
            found = DecodedSchema(id=schema_id)
            if self.describe and self.registry is not None:
                names = self.registry.names(schema_id)
                # TopicNameStrategy's subject, else TopicRecordNameStrategy's (TOPIC-Record), else the first.
                own = [n for n in names if n[0] == f"{topic}-{self.field}"]
                own = own or [n for n in names if topic and n[0].startswith(f"{topic}-")]
                if own or names:
                    found["subject"], found["version"] = (own or names)[0]
            found["type"] = self._types[schema_id]
            if message is not None:
                found["message"] = message
            self._info[key] = found
        return found

    def _reader(self, schema_id: int) -> TextReader | None:
        """The text reader of a schema id (None: a schema mqcli cannot read here); NotFound when unknown."""
        found = self._readers.get(schema_id)
        if found is None:
            schema = self._schema(schema_id)
            if schema is None:
                return None
            found = self._readers[schema_id] = text_reader(schema)
        return found

    def __call__(self, msg: Message) -> None:
        """Decode in place; raises Skip (strict formats) for a record that does not decode."""
        data: bytes | None = getattr(msg, self.field)
        if data is None or (msg.decoded is not None and self.field in msg.decoded):
            return
        if self.fmt == "auto" and self.local is None:
            # The common case, once per record: written out (is_framed and unframe inline).
            if len(data) < wire.HEADER_SIZE or data[0] != wire.MAGIC:
                return
            schema_id = _schema_id(data, 1)[0]
            read = self._readers.get(schema_id)
            if read is None:
                try:
                    read = self._reader(schema_id)
                except NotFound:
                    return  # auto: an id the registry does not know is plain bytes that happen to start with 0
                if read is None:
                    return
            try:
                text, message = read(memoryview(data)[wire.HEADER_SIZE :])
            except Exception:  # any failure of a decoder on foreign bytes: auto never fails a record
                return
            self._set(msg, text, self.info(schema_id, msg.topic, message))
        elif self.fmt == "json":
            try:
                json.loads(data)
            except ValueError:
                raise Skip(f"{_where(msg)}: {self.field} is not JSON") from None
            self._set(msg, data, None)
        elif self.local is not None:
            self._bare(msg, data)
        else:
            self._strict(msg, data)

    def _strict(self, msg: Message, data: bytes) -> None:
        kind = self.fmt.replace("json-schema", "JSON Schema").replace("avro", "Avro").replace("protobuf", "Protobuf")
        try:
            schema_id, body = wire.unframe(data)
        except wire.NotFramed as e:
            raise Skip(f"{_where(msg)}: {self.field} is not {kind} in the wire format ({e})") from None
        try:
            read = self._reader(schema_id)
        except NotFound as e:
            raise NotFound(f"{_where(msg)}: {self.field} schema id {schema_id}: {e.message}") from None
        if read is None or self._types[schema_id] != TYPES[self.fmt]:
            raise Skip(f"{_where(msg)}: {self.field} schema {schema_id} is {self._types[schema_id]}, not {kind}")
        try:
            text, message = read(body)
        except Exception as e:
            raise Skip(f"{_where(msg)}: {self.field} does not decode with schema {schema_id}: {e}") from None
        self._set(msg, text, self.info(schema_id, msg.topic, message))

    def _bare(self, msg: Message, data: bytes) -> None:
        """A body without the wire header, in the local schema."""
        assert self.local is not None
        if self.fmt == "auto" and not self._looks_local(msg):
            return
        try:
            value = self.local.codec.decode(data)
        except Exception as e:
            if self.fmt == "auto":
                return
            raise Skip(f"{_where(msg)}: {self.field} does not decode with the {self.field} schema: {e}") from None
        self._set(msg, _text(value), None)

    def _looks_local(self, msg: Message) -> bool:
        """auto: on RabbitMQ a message whose content_type is the local schema's format and whose
        schema header (when present) names it; on Kafka (no content type) any record."""
        assert self.local is not None
        if msg.topic is not None:
            return True
        if msg.properties.get("content_type") != CONTENT_TYPES[self.local.type]:
            return False
        named = dict(msg.headers).get(SCHEMA_HEADER)
        if isinstance(named, bytes):
            named = named.decode("utf-8", "replace")
        return named is None or self.local.codec.name is None or named == self.local.codec.name

    def _set(self, msg: Message, text: bytes, info: dict[str, Any] | None) -> None:
        setattr(msg, self.field, text)
        if msg.decoded is None:
            msg.decoded = {}
        msg.decoded[self.field] = info


def _text(value: object) -> bytes:
    from mqcli.core.schema.avro import json_text

    return json_text(value)


_schema_id = struct.Struct(">I").unpack_from  # the wire header's schema id, at offset 1

# A schema's body -> (its value's compact JSON text, the Protobuf message's name or None).
TextReader = Callable[[memoryview], tuple[bytes, "str | None"]]


def text_reader(schema: Any) -> TextReader:
    """The function that turns a body after the wire header into its JSON text, for a schema
    as `parse` gives it; built once per schema id, with what it needs bound."""
    from mqcli.core.schema.avro import json_text
    from mqcli.core.schema.protobuf import ProtoFile

    if isinstance(schema, ProtoFile):

        def read_protobuf(body: memoryview) -> tuple[bytes, str | None]:
            indexes, rest = wire.read_indexes(body)
            message = schema.at(indexes)
            return json_text(message.decode(rest)), message.name

        return read_protobuf
    text_decoder = getattr(schema, "text_decoder", None)
    if text_decoder is not None:  # Avro: fastavro straight to text
        decode_text: Callable[[memoryview], bytes] = text_decoder()
        return lambda body: (decode_text(body), None)
    decode = schema.decode
    return lambda body: (json_text(decode(body)), None)


def decoding_matcher(
    decoders: list[Decoder],
    matcher: Callable[[Message], bool] | None,
    *,
    skip_invalid: bool,
    on_skip: Callable[[str], None],
) -> Callable[[Message], bool]:
    """A --match predicate that decodes first (so --match, the output and --exec
    see the decoded text); a record strict decoding refuses is an InputError
    (exit 7), or with `skip_invalid` reported through `on_skip` and left out."""

    def match(msg: Message) -> bool:
        try:
            for d in decoders:
                d(msg)
        except Skip as e:
            if not skip_invalid:
                raise InputError(str(e)) from None
            on_skip(str(e))
            return False
        return matcher is None or matcher(msg)

    return match


# -- producing -------------------------------------------------------------------------


def subject_name(strategy: str, topic: str, field: str, record_name: str | None) -> str:
    """The subject of a key or value schema: Confluent's TopicNameStrategy, RecordNameStrategy
    or TopicRecordNameStrategy."""
    if strategy == "topic":
        return f"{topic}-{field}"
    if record_name is None:
        raise UsageError(
            f"--subject-strategy {strategy} needs a named schema (an Avro record, enum or fixed; a Protobuf"
            " message; a JSON Schema with a title)"
        )
    return record_name if strategy == "record" else f"{topic}-{record_name}"


@dataclass
class _Target:
    schema_id: int | None  # None: a bare body (no registry)
    codec: Codec
    prefix: bytes = b""
    # JSON value -> the bytes sent: the wire header (id, then `prefix`) and the body, or a bare body
    write: Callable[[object], bytes] = _field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.schema_id is None:
            self.write = self.codec.encode
            return
        header = wire.frame(self.schema_id, self.prefix)
        framed = getattr(self.codec, "encode_framed", None)  # Avro: header and body written into one buffer
        if framed is not None:
            self.write = lambda value: framed(value, header)
        else:
            encode = self.codec.encode
            self.write = lambda value: header + encode(value)


class Encoder:
    """Encodes the `field` of produced messages (JSON text) in a schema format: in the wire
    format through `registry`, or (no registry, a local schema) as bare bodies.

    `fmt` is the --*-format asked for (None: as the schema file or the registry says)."""

    def __init__(
        self,
        field: str,
        choice: SchemaChoice,
        registry: RegistryClient | None,
        topic: str,
        strategy: str = "topic",
        fmt: str | None = None,
    ) -> None:
        self.field = field
        self.fmt = fmt
        self._choice = choice
        self._registry = registry
        self._fixed: _Target | None = None
        self._by_id: dict[int, Any] = {}
        self.local: LocalSchema | None = None
        if choice.file is not None or choice.descriptor_set is not None:
            local = self.local = load_local(field, choice, fmt)
            if registry is None or choice.descriptor_set is not None:
                self._fixed = _Target(None, local.codec)
            else:
                subject = subject_name(strategy, topic, field, local.codec.name)
                refs = local.references(registry, choice.register)
                reg = registry.lookup(subject, local.text, local.type, register=choice.register, references=refs)
                self._fixed = _Target(reg.id, local.codec, local.prefix)
        elif choice.subject is not None:
            assert registry is not None
            self._fixed = self._load(registry.version(choice.subject, choice.version or "latest"), None)
        elif choice.schema_id is not None:
            assert registry is not None
            self._fixed = self._load(registry.by_id(choice.schema_id), None)

    @property
    def schema_type(self) -> str | None:
        """The registry type this encoder writes (None: each record's own)."""
        return self._fixed.codec.type if self._fixed is not None else None

    def _load(self, reg: RegisteredSchema, message: str | None) -> _Target:
        assert self._registry is not None
        if self.fmt is not None and reg.type != TYPES[self.fmt]:
            raise UsageError(f"schema {reg.id} is {reg.type}, not {self.fmt} (--{self.field}-format {self.fmt})")
        if reg.type not in _NEEDS:
            raise UsageError(f"schema {reg.id} is {reg.type}, which mqcli does not encode")
        if reg.id not in self._by_id:
            self._by_id[reg.id] = load_registered(self._registry, reg)
        schema = self._by_id[reg.id]
        if reg.type == "PROTOBUF":
            option = "--message-type" if self.field == "value" else "--key-message-type"
            try:
                m = schema.message(message or self._choice.message_type, option)
            except SchemaInvalid as e:
                raise UsageError(f"schema {reg.id} {e}") from None
            return _Target(reg.id, m, wire.write_indexes(m.indexes))
        return _Target(reg.id, schema)

    def encode(self, msg: Message) -> None:
        """Replace the JSON text of the field with its encoded form; InputError naming the input line."""
        data: bytes | None = getattr(msg, self.field)
        if data is None:
            return
        target = self._fixed
        if target is None:
            # No schema option: a record read back from `consume -o json` names its own.
            info = (msg.decoded or {}).get(self.field)
            if not info or "id" not in info:
                raise InputError(
                    f"{_line(msg)}{self.field}: no schema (give --{self.field}-schema, -subject or -schema-id)"
                )
            assert self._registry is not None
            try:
                target = self._load(self._registry.by_id(int(info["id"])), info.get("message"))
            except UsageError as e:
                raise InputError(f"{_line(msg)}{self.field}: {e.message}") from None
        try:
            value = _loads(data)
        except ValueError as e:
            raise InputError(f"{_line(msg)}{self.field} is not JSON: {e}") from None
        try:
            setattr(msg, self.field, target.write(value))
        except Mismatch as e:
            raise InputError(f"{_line(msg)}{self.field}{e.path if e.path != '.' else ''}: {e.reason}") from None


def _line(msg: Message) -> str:
    """ "line N: " naming a record's input line in a message (empty when it has none)."""
    return f"line {msg.line}: " if msg.line is not None else ""


_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)  # the UTF-32 BOMs start with these
_parse_text = json.JSONDecoder().decode


def _loads(data: bytes) -> Any:
    """json.loads(data), without its guess at the encoding when the bytes are plainly UTF-8
    (no BOM, no NUL among the first four bytes: what json.loads itself then reads as UTF-8)."""
    if b"\x00" in data[:4] or data.startswith(_BOMS):
        return json.loads(data)
    return _parse_text(data.decode("utf-8", "surrogatepass"))


def encoded(
    messages: Iterator[Message],
    encoders: list[Encoder],
    *,
    skip_invalid: bool,
    on_skip: Callable[[InputError], None],
) -> Iterator[Message]:
    """`messages` with their keys/values encoded; a record that does not fit
    stops the run (InputError) before it is sent, or is skipped and reported."""
    for msg in messages:
        try:
            for e in encoders:
                e.encode(msg)
        except InputError as err:
            if not skip_invalid:
                raise
            on_skip(err)
            continue
        yield msg


# -- moving ----------------------------------------------------------------------------


class Recoder:
    """Re-encodes the `field` of the messages a move carries (move/copy --value-format,
    --key-format) in `fmt` for the target.

    "json": the JSON text, decoded with what the source has (its registry for values in
    the wire format, `local`, a schema file, for bare bodies).  A schema format: a value in
    the wire format of a source schema keeps its body, undecoded, under the id the same
    schema has in `target`'s registry (registered there under the target's subject), or
    bare without a registry there; a JSON value, or a bare body `local` decodes, is
    encoded with `local`.

    `__call__` gives the re-encoded copy, or why it cannot be (the move then treats the
    message as refused by the target).  For a RabbitMQ target (`rabbit`) the content type
    and the x-mqcli-schema header say what the body now is, as `rabbit publish` writes them."""

    def __init__(
        self,
        field: str,
        fmt: str,
        *,
        source: RegistryClient | None,
        target: RegistryClient | None,
        topic: str,
        local: SchemaChoice | None = None,
        rabbit: bool = False,
        strategy: str = "topic",
    ) -> None:
        if fmt not in ("json", *TYPES):
            raise UsageError(f"invalid --{field}-format {fmt!r} (use json, {', '.join(TYPES)})")
        self.field = field
        self.fmt = fmt
        self._source = source
        self._target = target
        self._topic = topic
        self._rabbit = rabbit
        self._strategy = strategy
        loaded = load_local(field, local, fmt if fmt in TYPES else None) if local is not None else None
        # The wire format first (a value it decodes is left alone by the next one), then bare bodies.
        self._decoders = [Decoder(field, "auto", source, describe=False)] if source is not None else []
        if loaded is not None:
            self._decoders.append(Decoder(field, "auto", None, describe=False, local=loaded))
        # JSON values encoded with the local schema, as `kafka produce --value-schema` does.
        self._encoder = Encoder(field, local, target, topic, strategy, fmt) if local and fmt in TYPES else None
        self._translated: dict[tuple[int, str | None], int] = {}  # (source id, message) -> target id
        self._schemas: dict[int, Any] = {}  # source schema id -> parsed

    def __call__(self, msg: Message) -> Message | str:
        field = self.field
        # (line: the source names the message in a refusal, not "line N" of an input)
        out = replace(msg, decoded=_without(msg.decoded, field), line=None)
        data = getattr(out, field)
        if data is None:
            return out
        try:
            swapped = self._swap(data) if self.fmt != "json" and self._source is not None else None
            if swapped is not None:
                # In the wire format of a source schema of this format: only the header changes.
                setattr(out, field, swapped[0])
                return self._described(out, msg, swapped[1], swapped[2])
            for decode in self._decoders:
                decode(out)  # (a bare body is recognised by its content type: still there)
            decoded = out.decoded or {}
            if self.fmt == "json":
                if field not in decoded:
                    _loads(getattr(out, field))  # ValueError: refused
                kind, name = "JSON", None
            elif self._encoder is not None:
                self._encoder.encode(out)
                assert self._encoder.local is not None
                kind, name = self._encoder.local.type, self._encoder.local.codec.name
            else:
                hint = " (give --value-schema FILE to encode JSON values)" if field == "value" else ""
                return f"the {field} is not in the wire format of a schema in the source's registry{hint}"
        except (ValueError, Mismatch, InputError, SchemaInvalid, UsageError) as e:
            why = e.message if isinstance(e, MqcliError) else str(e)
            return f"the {field} cannot be re-encoded as {self.fmt}: {why}"
        if self.fmt != "json":
            out.decoded = _without(out.decoded, field)  # (json: kept, so that JSON Lines carry it as JSON)
        return self._described(out, msg, kind, name)

    def _described(self, out: Message, msg: Message, kind: str, name: str | None) -> Message:
        """`out` with what says how its value is encoded (content type, schema header) made true."""
        if self.field == "value":
            # What said how the body was encoded no longer does.
            out.headers = [h for h in msg.headers if h[0] != SCHEMA_HEADER]
            out.properties = {k: v for k, v in msg.properties.items() if k != "content_type"}
            if self._rabbit:
                out.properties["content_type"] = CONTENT_TYPES[kind]
                if name:
                    out.headers.append((SCHEMA_HEADER, name))
        return out

    def _swap(self, data: bytes) -> tuple[bytes, str, str | None] | None:
        """A wire-format value of a source schema in this format, as the target takes it without
        decoding it: the same body (Protobuf: and message indexes) under the target's schema id,
        or bare; with the type and name of its schema.  None when it is not one (it is decoded)."""
        if len(data) < wire.HEADER_SIZE or data[0] != wire.MAGIC:
            return None
        assert self._source is not None
        schema_id = _schema_id(data, 1)[0]
        try:
            reg = self._source.by_id(schema_id)
        except NotFound:
            return None  # plain bytes that happen to start with 0
        if reg.type != TYPES[self.fmt]:
            raise UsageError(f"schema {schema_id} of the source is {reg.type}, not {self.fmt}")
        body = memoryview(data)[wire.HEADER_SIZE :]
        name = None
        if reg.type == "PROTOBUF":
            indexes, rest = wire.read_indexes(body)
            name = self._parsed(reg).at(indexes).name
        target_id = self._translate(reg, name)
        if target_id is not None:
            return wire.frame(target_id, bytes(body)), reg.type, name or self._parsed(reg).name
        return bytes(rest if name is not None else body), reg.type, name or self._parsed(reg).name

    def _parsed(self, reg: RegisteredSchema) -> Any:
        """The parsed schema of a source registry entry (once per id)."""
        found = self._schemas.get(reg.id)
        if found is None:
            assert self._source is not None
            found = self._schemas[reg.id] = load_registered(self._source, reg)
        return found

    def _translate(self, reg: RegisteredSchema, message: str | None) -> int | None:
        """The target registry's id of source schema `reg`, registered there under the target's
        subject when missing (once per schema and Protobuf message); None without a registry."""
        if self._target is None:
            return None
        key = (reg.id, message)
        found = self._translated.get(key)
        if found is None:
            record = message or self._parsed(reg).name  # (the record subject strategies)
            subject = subject_name(self._strategy, self._topic, self.field, record)
            there = self._target.lookup(subject, reg.text, reg.type, register=True, references=self._references(reg))
            found = self._translated[key] = there.id
        return found

    def _references(self, reg: RegisteredSchema) -> tuple[tuple[str, str, int], ...]:
        """`reg`'s references, each registered in the target under its own subject (theirs first)."""
        assert self._source is not None and self._target is not None
        out = []
        for name, subject, version in reg.references:
            ref = self._source.version(subject, version)
            there = self._target.lookup(subject, ref.text, ref.type, register=True, references=self._references(ref))
            assert there.version is not None
            out.append((name, subject, there.version))
        return tuple(out)


def _without(decoded: dict[str, Any] | None, field_: str) -> dict[str, Any] | None:
    """Message.decoded without `field_`'s entry (None when nothing is left)."""
    return {k: v for k, v in decoded.items() if k != field_} or None if decoded else None
