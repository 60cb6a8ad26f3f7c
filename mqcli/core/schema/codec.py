"""Per-record schema codecs for the Kafka commands.

`Decoder` turns a consumed key or value into its JSON text in place (so the
output writers, --match and --exec all see the decoded text) and records
what it was decoded with in `Message.decoded`; `Encoder` turns a JSON input
record into Avro in the Confluent wire format.  Schemas are parsed once per
id and the registry is asked once per id (see registry.RegistryClient).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mqcli.core.errors import InputError, MqcliError, NotFound, UsageError
from mqcli.core.message import Message
from mqcli.core.schema import wire
from mqcli.core.schema.avro import Mismatch, Schema, SchemaInvalid
from mqcli.core.schema.registry import RegisteredSchema, RegistryClient


def _where(msg: Message) -> str:
    return f"{msg.topic}[{msg.partition}]@{msg.offset}"


class Skip(Exception):
    """A record strict decoding refused; with --skip-invalid it is left out and counted."""


@dataclass
class Decoder:
    """Decodes the `field` ("value" or "key") of consumed messages in `fmt`."""

    field: str
    fmt: str
    registry: RegistryClient | None
    describe: bool = True  # name subject and version in Message.decoded (one more request per id)

    def __post_init__(self) -> None:
        if self.fmt == "avro" and self.registry is None:
            raise UsageError(
                f"--{self.field}-format avro needs a schema registry (kafka.schema_registry.url or --schema-registry)"
            )
        self._schemas: dict[int, Schema | None] = {}
        self._types: dict[int, str] = {}
        self._info: dict[tuple[int, str | None], dict[str, Any]] = {}

    def _schema(self, schema_id: int) -> Schema | None:
        """The parsed Avro schema of an id; None when it is not Avro. NotFound when unknown."""
        if schema_id not in self._schemas:
            assert self.registry is not None
            reg = self.registry.by_id(schema_id)
            parsed = None
            if reg.type == "AVRO":
                try:
                    parsed = Schema(reg.text)
                except SchemaInvalid as e:
                    raise MqcliError(f"schema {schema_id} from the registry is not valid Avro: {e}") from None
            self._schemas[schema_id] = parsed
            self._types[schema_id] = reg.type
        return self._schemas[schema_id]

    def info(self, schema_id: int, topic: str | None) -> dict[str, Any]:
        """{"id", "subject", "version", "type"} of a schema as read from `topic`: of the
        subjects that share the schema, the topic's own first."""
        key = (schema_id, topic)
        found = self._info.get(key)
        if found is None:
            found = {"id": schema_id}
            if self.describe and self.registry is not None:
                names = self.registry.names(schema_id)
                # TopicNameStrategy's subject, else TopicRecordNameStrategy's (TOPIC-Record), else the first.
                own = [n for n in names if n[0] == f"{topic}-{self.field}"]
                own = own or [n for n in names if topic and n[0].startswith(f"{topic}-")]
                if own or names:
                    found["subject"], found["version"] = (own or names)[0]
            found["type"] = self._types[schema_id]
            self._info[key] = found
        return found

    def __call__(self, msg: Message) -> None:
        """Decode in place; raises Skip (strict formats) for a record that does not decode."""
        data: bytes | None = getattr(msg, self.field)
        if data is None or (msg.decoded is not None and self.field in msg.decoded):
            return
        if self.fmt == "json":
            try:
                json.loads(data)
            except ValueError:
                raise Skip(f"{_where(msg)}: {self.field} is not JSON") from None
            self._set(msg, data, None)
        elif self.fmt == "auto":
            if not wire.is_framed(data):
                return
            schema_id, body = wire.unframe(data)
            try:
                schema = self._schema(schema_id)
            except NotFound:
                return  # auto: an id the registry does not know is plain bytes that happen to start with 0
            if schema is None:
                return
            try:
                value = schema.decode(body)
            except Exception:  # any failure of fastavro on foreign bytes: auto never fails a record
                return
            self._set(msg, _text(value), self.info(schema_id, msg.topic))
        elif self.fmt == "avro":
            try:
                schema_id, body = wire.unframe(data)
            except wire.NotFramed as e:
                raise Skip(f"{_where(msg)}: {self.field} is not Avro in the wire format ({e})") from None
            try:
                schema = self._schema(schema_id)
            except NotFound as e:
                raise NotFound(f"{_where(msg)}: {self.field} schema id {schema_id}: {e.message}") from None
            if schema is None:
                raise Skip(f"{_where(msg)}: {self.field} schema {schema_id} is {self._types[schema_id]}, not Avro")
            try:
                value = schema.decode(body)
            except Exception as e:
                raise Skip(f"{_where(msg)}: {self.field} does not decode with schema {schema_id}: {e}") from None
            self._set(msg, _text(value), self.info(schema_id, msg.topic))

    def _set(self, msg: Message, text: bytes, info: dict[str, Any] | None) -> None:
        setattr(msg, self.field, text)
        if msg.decoded is None:
            msg.decoded = {}
        msg.decoded[self.field] = info


def _text(value: object) -> bytes:
    from mqcli.core.schema.avro import to_json_text

    return to_json_text(value).encode("utf-8")


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


@dataclass(frozen=True)
class SchemaChoice:
    """Which schema `kafka produce` encodes a key or value with (at most one of file/subject/id)."""

    file: str | None = None
    subject: str | None = None
    version: int | None = None  # with subject; None: latest
    schema_id: int | None = None
    register: bool = True  # with file: register under the subject when missing


def subject_name(strategy: str, topic: str, field: str, record_name: str | None) -> str:
    """The subject of a key or value schema: Confluent's TopicNameStrategy, RecordNameStrategy
    or TopicRecordNameStrategy."""
    if strategy == "topic":
        return f"{topic}-{field}"
    if record_name is None:
        raise UsageError(f"--subject-strategy {strategy} needs a named schema (a record, enum or fixed)")
    return record_name if strategy == "record" else f"{topic}-{record_name}"


class Encoder:
    """Encodes the `field` of produced messages (JSON text) as Avro in the wire format."""

    def __init__(
        self, field: str, choice: SchemaChoice, registry: RegistryClient, topic: str, strategy: str = "topic"
    ) -> None:
        self.field = field
        self._registry = registry
        self._fixed: tuple[int, Schema] | None = None
        self._by_id: dict[int, Schema] = {}
        if choice.file is not None:
            try:
                with open(choice.file, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                raise UsageError(f"cannot read --{field}-schema {choice.file}: {e.strerror}") from None
            try:
                schema = Schema(text)
            except SchemaInvalid as e:
                raise UsageError(f"--{field}-schema {choice.file} is not a valid Avro schema: {e}") from None
            subject = subject_name(strategy, topic, field, schema.name)
            reg = registry.lookup(subject, text, register=choice.register)
            self._fixed = (reg.id, schema)
        elif choice.subject is not None:
            self._fixed = self._load(registry.version(choice.subject, choice.version or "latest"))
        elif choice.schema_id is not None:
            self._fixed = self._load(registry.by_id(choice.schema_id))

    def _load(self, reg: RegisteredSchema) -> tuple[int, Schema]:
        if reg.type != "AVRO":
            raise UsageError(f"schema {reg.id} is {reg.type}; this mqcli encodes Avro only")
        if reg.id not in self._by_id:
            try:
                self._by_id[reg.id] = Schema(reg.text)
            except SchemaInvalid as e:
                raise MqcliError(f"schema {reg.id} from the registry is not valid Avro: {e}") from None
        return reg.id, self._by_id[reg.id]

    def encode(self, msg: Message) -> None:
        """Replace the JSON text of the field with its wire form; InputError naming the input line."""
        data: bytes | None = getattr(msg, self.field)
        if data is None:
            return
        where = f"line {msg.line}: " if msg.line is not None else ""
        target = self._fixed
        if target is None:
            # No schema option: a record read back from `consume -o json` names its own.
            info = (msg.decoded or {}).get(self.field)
            if not info or "id" not in info:
                raise InputError(f"{where}{self.field}: no schema (give --{self.field}-schema, -subject or -schema-id)")
            target = self._load(self._registry.by_id(int(info["id"])))
        schema_id, schema = target
        try:
            value = json.loads(data)
        except ValueError as e:
            raise InputError(f"{where}{self.field} is not JSON: {e}") from None
        try:
            body = schema.encode(value)
        except Mismatch as e:
            raise InputError(f"{where}{self.field}{e.path if e.path != '.' else ''}: expected {e.expected}") from None
        setattr(msg, self.field, wire.frame(schema_id, body))


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
