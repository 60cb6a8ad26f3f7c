"""The schema-format options shared by Kafka's and RabbitMQ's message commands
(--value-format, --key-format, --value-schema, --message-type, --proto-path,
--descriptor-set) and how they plug into a run: decoders inside the --match
predicate of a consumer, encoders around a producer's input.  Kafka adds the
registry (cli/kafka/_schema.py); RabbitMQ uses local schema files only.

Nothing here imports a schema library or the registry client until a schema
format is actually in play, so plain runs pay nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Optional

from mqcli.cli import params
from mqcli.cli.context import AppContext
from mqcli.core.errors import UsageError
from mqcli.core.message import Message

if TYPE_CHECKING:
    from mqcli.core.errors import MqcliError
    from mqcli.core.readers import ReadStats
    from mqcli.core.schema.codec import Encoder, SchemaChoice
    from mqcli.core.schema.registry import RegistryClient
    from mqcli.core.stops import Matcher
    from mqcli.core.writers import Writer

INSTALL_HINT = "install it with: pip install 'mqcli[schemas]'"
SCHEMA_FORMATS = ("avro", "protobuf", "json-schema")
# --value-format/--key-format: the consumers' (auto is the default with a registry, raw
# without) and the producers' (raw/string: the bytes as read, as without the option).
CONSUME_FORMATS = ("auto", "raw", "string", "json", *SCHEMA_FORMATS)
PRODUCE_FORMATS = ("raw", "string", *SCHEMA_FORMATS)
_KIND = {"avro": "Avro", "protobuf": "Protobuf", "json-schema": "JSON Schema"}
_TYPE = {"avro": "AVRO", "protobuf": "PROTOBUF", "json-schema": "JSON"}


def _opt(name: str, metavar: str, help: str) -> Any:
    return params.Option(name, metavar=metavar, help=help, show_default=False)


ValueFormatOpt = Annotated[
    Optional[str],
    _opt(
        "--value-format",
        "auto|raw|string|json|avro|protobuf|json-schema",
        "How the value is encoded: auto (default with a registry: wire-format values decoded, the rest as is),"
        " raw/string (as is), json, avro, protobuf or json-schema (strict: exit 7 or --skip-invalid).",
    ),
]
KeyFormatOpt = Annotated[
    Optional[str], _opt("--key-format", "auto|raw|string|json|avro|protobuf|json-schema", "As --value-format.")
]
ProduceValueFormatOpt = Annotated[
    Optional[str],
    _opt(
        "--value-format",
        "raw|string|avro|protobuf|json-schema",
        "Encode each JSON value as avro, protobuf or json-schema (default: as the --value-schema* option's"
        " schema is); raw/string: as read.",
    ),
]
ProduceKeyFormatOpt = Annotated[
    Optional[str], _opt("--key-format", "raw|string|avro|protobuf|json-schema", "As --value-format, for the keys.")
]
ValueSchemaOpt = Annotated[
    Optional[str],
    _opt(
        "--value-schema",
        "FILE",
        "Schema file of the values: .avsc (Avro), .proto (Protobuf) or .json (JSON Schema); with a registry"
        " registered under the subject if missing, without one bare bodies (no wire-format header).",
    ),
]
KeySchemaOpt = Annotated[Optional[str], _opt("--key-schema", "FILE", "Schema file of the keys (as --value-schema).")]
MessageTypeOpt = Annotated[
    Optional[str],
    _opt("--message-type", "PKG.MSG", "Protobuf: the value's message type, when the schema defines several."),
]
KeyMessageTypeOpt = Annotated[
    Optional[str], _opt("--key-message-type", "PKG.MSG", "Protobuf: the key's message type (as --message-type).")
]
ProtoPathOpt = Annotated[
    Optional[list[str]],
    _opt("--proto-path", "DIR", "Protobuf: a directory imports are found in (repeatable; the file's own is last)."),
]
DescriptorSetOpt = Annotated[
    Optional[str],
    _opt(
        "--descriptor-set",
        "FILE",
        "Protobuf: a compiled FileDescriptorSet (protoc -o FILE --include_imports) instead of a .proto file;"
        " bodies are bare.",
    ),
]
RabbitConsumeFormatOpt = Annotated[
    Optional[str],
    _opt(
        "--value-format",
        "auto|raw|string|json|avro|protobuf|json-schema",
        "How bodies are encoded: raw/string (as is; the default without --value-schema), json, avro, protobuf or"
        " json-schema (strict, with --value-schema: exit 7 or --skip-invalid), or auto (bodies whose content_type"
        " is --value-schema's format decoded, the rest as is).",
    ),
]
RabbitPublishFormatOpt = Annotated[
    Optional[str],
    _opt(
        "--value-format",
        "raw|string|avro|protobuf|json-schema",
        "Encode each JSON body with --value-schema as avro, protobuf or json-schema (default: as the file is);"
        " raw/string: as read.",
    ),
]
ConsumeSkipInvalidOpt = Annotated[
    bool,
    params.Option(
        "--skip-invalid",
        help="With a strict --value-format/--key-format: skip (and report) records that do not decode.",
    ),
]


def check_format(fmt: str, choices: tuple[str, ...], option: str) -> str:
    if fmt not in choices:
        raise UsageError(f"invalid {option} {fmt!r} (use {', '.join(choices)})")
    return fmt


def require(fmt: str) -> None:
    """Exit 2 with the install hint when a schema format's libraries are not installed."""
    from mqcli.core.schema.codec import missing

    lib = missing(_TYPE[fmt])
    if lib is not None:
        raise UsageError(f"{_KIND[fmt]} needs {lib}, which is not installed; {INSTALL_HINT}")


def has_any_schema_library() -> bool:
    from mqcli.core.schema.codec import installed

    return any(installed(t) for t in _TYPE.values())


def local_choice(
    field: str,
    file: Optional[str],
    message_type: Optional[str],
    proto_paths: Optional[list[str]],
    descriptor_set: Optional[str],
) -> SchemaChoice | None:
    """The local schema of a key or value (a file or a descriptor set); None without one."""
    if file is not None and descriptor_set is not None:
        raise UsageError(f"--{field}-schema and --descriptor-set are mutually exclusive")
    if file is None and descriptor_set is None:
        if message_type is not None or (proto_paths and field == "value"):
            raise UsageError(
                "--message-type/--proto-path apply with a Protobuf --value-schema, --descriptor-set or registry schema"
            )
        return None
    from mqcli.core.schema.codec import SchemaChoice

    return SchemaChoice(
        file=file, message_type=message_type, proto_paths=tuple(proto_paths or ()), descriptor_set=descriptor_set
    )


def _file_format(choice: SchemaChoice, fmt: str | None) -> str:
    """The --*-format a local schema stands for (`fmt`, or what the file is)."""
    from mqcli.core.schema.codec import FORMAT_OF, file_type

    if fmt is not None:
        return fmt
    if choice.descriptor_set is not None:
        return "protobuf"
    assert choice.file is not None
    try:
        with open(choice.file, encoding="utf-8") as f:
            text: str | None = f.read()
    except (OSError, UnicodeDecodeError):
        text = None  # reported (naming the option) when it is read for real
    return FORMAT_OF[file_type(choice.file, text)]


def _registry_or_file(field: str, kafka: bool) -> str:
    if kafka:
        return f"a schema registry (kafka.schema_registry.url or --schema-registry) or a local --{field}-schema FILE"
    return f"a local --{field}-schema FILE (RabbitMQ messages carry no schema id)"


# -- consuming ---------------------------------------------------------------------------


def decoding(
    app: AppContext,
    pred: Matcher | None,
    writer: Writer | None,
    *,
    value_format: Optional[str],
    key_format: Optional[str],
    skip_invalid: bool,
    registry: Callable[[], RegistryClient | None] | None,
    local: dict[str, SchemaChoice | None],
    kafka: bool = True,
) -> Matcher | None:
    """The --match predicate of a consume run, decoding keys/values first when a format, a
    local schema or a registry asks for it; `pred` itself (no cost) otherwise.
    `registry` builds the client (None: the command has none configured)."""
    from mqcli.core.writers import RawWriter

    fields = {"value": value_format, "key": key_format}
    formats: dict[str, str] = {}
    for f, given in fields.items():
        if f not in local:  # RabbitMQ messages have no key
            continue
        choice = local[f]
        if choice is not None:
            fmt = check_format(given, CONSUME_FORMATS, f"--{f}-format") if given is not None else None
            if fmt not in (None, "auto", *SCHEMA_FORMATS):
                raise UsageError(f"--{f}-schema applies with --{f}-format auto, avro, protobuf or json-schema")
            formats[f] = fmt or _file_format(choice, None)
        else:
            formats[f] = check_format(given or ("auto" if registry else "raw"), CONSUME_FORMATS, f"--{f}-format")
    wanted = [(f, fmt) for f, fmt in formats.items() if fmt not in ("raw", "string")]
    if not wanted:
        if skip_invalid:
            raise UsageError("--skip-invalid applies only with a strict --value-format/--key-format")
        return pred
    implicit = all(given is None for given in fields.values()) and not any(local.values())
    if implicit and not has_any_schema_library():
        # auto only because a registry is configured: without the extra, plain bytes as before.
        app.debug_log(f"schema registry configured but no schema library is installed ({INSTALL_HINT}): values raw")
        return pred
    for f, fmt in wanted:
        if fmt in SCHEMA_FORMATS and registry is None and local.get(f) is None:
            raise UsageError(f"--{f}-format {fmt} needs {_registry_or_file(f, kafka)}")
        if fmt in SCHEMA_FORMATS:
            require(fmt)
        elif fmt == "auto" and local.get(f) is not None:
            require(_file_format(local[f], None))  # type: ignore[arg-type]  # checked not None
    from mqcli.core.schema.codec import Decoder, load_local

    client = registry() if registry is not None else None
    # Raw output shows the decoded text only: no need to ask the registry for subject and version.
    describe = not isinstance(writer, RawWriter)
    decoders = []
    for f, fmt in wanted:
        choice = local.get(f)
        loaded = load_local(f, choice, fmt if fmt in SCHEMA_FORMATS else None) if choice is not None else None
        if fmt == "auto" and client is None and loaded is None:
            continue
        decoders.append(Decoder(f, fmt, client, describe, loaded))
    if not decoders:
        return pred
    from mqcli.core.schema.codec import decoding_matcher

    return decoding_matcher(
        decoders, pred, skip_invalid=skip_invalid, on_skip=lambda text: app.warn(f"skipped: {text}")
    )


# -- producing ---------------------------------------------------------------------------


def encoders(
    *,
    topic: str,
    value_format: Optional[str],
    key_format: Optional[str],
    choices: dict[str, SchemaChoice | None],
    strategy: str,
    registry: Callable[[], RegistryClient | None] | None,
    fixed_key: bool = False,
    kafka: bool = True,
) -> list[Encoder]:
    """The encoders --value-format/--key-format and the schema options ask for (none: send as read)."""
    formats: dict[str, str | None] = {}
    for f, given in (("value", value_format), ("key", key_format)):
        if f not in choices:
            continue
        choice = choices[f]
        fmt = check_format(given, PRODUCE_FORMATS, f"--{f}-format") if given is not None else None
        if choice is not None and fmt in ("raw", "string"):
            raise UsageError(
                f"--{f}-schema/--{f}-subject/--{f}-schema-id apply only with --{f}-format avro, protobuf or json-schema"
            )
        if choice is None and fmt in (None, "raw", "string"):
            continue
        formats[f] = fmt
    if not formats:
        return []
    if "key" in formats and fixed_key:
        raise UsageError("--key is sent as given; with --key-format avro give each key in the input (-K or -i jsonl)")
    if strategy not in ("topic", "record", "topic-record"):
        raise UsageError(f"invalid --subject-strategy {strategy!r} (use topic, record or topic-record)")
    from mqcli.core.schema.codec import Encoder, SchemaChoice

    client = registry() if registry is not None else None
    out = []
    for f, fmt in formats.items():
        choice = choices[f] or SchemaChoice()
        bare = choice.file is not None or choice.descriptor_set is not None
        if client is None and not bare:
            what = f"--{f}-format {fmt}" if fmt else f"--{f}-subject/--{f}-schema-id"
            raise UsageError(f"{what} needs {_registry_or_file(f, kafka)}")
        if fmt is not None:
            require(fmt)
        elif bare:
            require(_file_format(choice, None))
        try:
            out.append(Encoder(f, choice, client, topic, strategy, fmt))
        except ImportError as e:  # a registry schema of a type whose library is missing
            raise UsageError(f"{e.name or e} is not installed; {INSTALL_HINT}") from None
    return out


def encoding(
    messages: Iterator[Message],
    encoders: list[Encoder],
    *,
    skip_invalid: bool,
    on_skip: Callable[[Any], None],
) -> Iterator[Message]:
    """`messages` encoded by `encoders`; unchanged (no cost) without any."""
    if not encoders:
        return messages
    from mqcli.core.schema.codec import encoded

    return encoded(messages, encoders, skip_invalid=skip_invalid, on_skip=on_skip)


# -- RabbitMQ ----------------------------------------------------------------------------


def rabbit_decoding(
    app: AppContext,
    *,
    value_format: Optional[str],
    value_schema: Optional[str],
    message_type: Optional[str],
    proto_paths: Optional[list[str]],
    descriptor_set: Optional[str],
    skip_invalid: bool,
) -> Callable[[Matcher | None, Writer | None], Matcher | None] | None:
    """How `rabbit consume`/`subscribe` decode bodies (None: as they are, at no cost)."""
    if value_format is None and value_schema is None and descriptor_set is None and not skip_invalid:
        if message_type is not None or proto_paths:
            raise UsageError("--message-type/--proto-path apply with a Protobuf --value-schema or --descriptor-set")
        return None
    local = {"value": local_choice("value", value_schema, message_type, proto_paths, descriptor_set)}

    def wrap(pred: Matcher | None, writer: Writer | None) -> Matcher | None:
        return decoding(
            app,
            pred,
            writer,
            value_format=value_format,
            key_format=None,
            skip_invalid=skip_invalid,
            registry=None,
            local=local,
            kafka=False,
        )

    return wrap


def rabbit_encoder(
    *,
    value_format: Optional[str],
    value_schema: Optional[str],
    message_type: Optional[str],
    proto_paths: Optional[list[str]],
    descriptor_set: Optional[str],
) -> Encoder | None:
    """The encoder of `rabbit publish` bodies (None: sent as read)."""
    choice = local_choice("value", value_schema, message_type, proto_paths, descriptor_set)
    found = encoders(
        topic="",
        value_format=value_format,
        key_format=None,
        choices={"value": choice},
        strategy="topic",
        registry=None,
        kafka=False,
    )
    return found[0] if found else None


def schema_properties(encoder: Encoder, content_type: Optional[str]) -> tuple[str, list[tuple[str, str]]]:
    """The content type (--content-type, else the format's: application/avro, application/protobuf,
    application/json) and the x-mqcli-schema header (the schema's record, message or title name)
    of bodies `encoder` writes."""
    from mqcli.core.schema.codec import CONTENT_TYPES, SCHEMA_HEADER

    assert encoder.local is not None
    name = encoder.local.codec.name
    return content_type or CONTENT_TYPES[encoder.local.type], [(SCHEMA_HEADER, name)] if name else []


def count_skipped(app: AppContext, stats: ReadStats) -> Callable[[MqcliError], None]:
    """on_skip for --skip-invalid: counted with the reader's own skips, reported on stderr."""

    def skipped(e: MqcliError) -> None:
        stats.skipped += 1
        app.warn(f"skipped: {e.message}")

    return skipped
