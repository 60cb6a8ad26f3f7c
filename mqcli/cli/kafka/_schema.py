"""The schema options of the Kafka commands (--value-format, --key-format,
--schema-registry, the --*-schema options of produce) and how they plug
into a run.  Nothing here imports fastavro or the registry client until a
schema format or a registry is actually in play, so plain runs pay nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from mqcli.cli.context import AppContext
from mqcli.core.errors import UsageError
from mqcli.core.message import Message

if TYPE_CHECKING:
    from mqcli.core.schema.registry import RegistryClient
    from mqcli.core.stops import Matcher
    from mqcli.core.writers import Writer

INSTALL_HINT = "install it with: pip install 'mqcli[schemas]'"
# --value-format/--key-format: the consumers' (auto is the default with a registry, raw
# without) and `kafka produce`'s (raw/string: the bytes as read, as without the option).
CONSUME_FORMATS = ("auto", "raw", "string", "json", "avro")
PRODUCE_FORMATS = ("raw", "string", "avro")

SchemaRegistryOpt = Annotated[
    Optional[str],
    typer.Option(
        "--schema-registry",
        metavar="URL",
        help="Schema Registry URL (Confluent API), instead of the profile's kafka.schema_registry.url.",
        show_default=False,
    ),
]


def _format_opt(field: str, choices: str, default_doc: str) -> Any:
    return typer.Option(
        f"--{field}-format",
        metavar=choices,
        help=f"How the {field} is encoded: {default_doc}",
        show_default=False,
    )


ValueFormatOpt = Annotated[
    Optional[str],
    _format_opt(
        "value",
        "auto|raw|string|json|avro",
        "auto (default with a registry: wire-format Avro decoded, the rest as is), raw/string (as is), json or avro (strict: exit 7 or --skip-invalid).",
    ),
]
KeyFormatOpt = Annotated[Optional[str], _format_opt("key", "auto|raw|string|json|avro", "as --value-format.")]
ConsumeSkipInvalidOpt = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="With a strict --value-format/--key-format: skip (and report) records that do not decode.",
    ),
]


def with_registry_url(settings: Any, url: Optional[str]) -> Any:
    """KafkaSettings with --schema-registry applied (validated as the profile's url is)."""
    if url is None:
        return settings
    from mqcli.core.config.parsers import Invalid, http_url

    try:
        url = http_url(url)
    except Invalid as e:
        raise UsageError(f"invalid --schema-registry: {e}") from None
    return dataclasses.replace(settings, schema_registry=dataclasses.replace(settings.schema_registry, url=url))


def _has_fastavro() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("fastavro") is not None
    except ValueError:  # in sys.modules as None: blocked
        return False


def _check_fastavro() -> None:
    try:
        import fastavro  # noqa: F401
    except ImportError:
        raise UsageError(f"Avro needs fastavro, which is not installed; {INSTALL_HINT}") from None


def registry_client(settings: Any, profile: str) -> RegistryClient | None:
    from mqcli.core.schema.registry import RegistryClient

    return RegistryClient(settings.schema_registry, profile) if settings.schema_registry.url else None


def _check(fmt: str, choices: tuple[str, ...], option: str) -> str:
    if fmt not in choices:
        raise UsageError(f"invalid {option} {fmt!r} (use {', '.join(choices)})")
    return fmt


def decoding(
    app: AppContext,
    settings: Any,
    profile: str,
    pred: Matcher | None,
    writer: Writer | None,
    value_format: Optional[str],
    key_format: Optional[str],
    skip_invalid: bool,
) -> Matcher | None:
    """The --match predicate of a consume run, decoding keys/values first when a
    format or a registry asks for it; `pred` itself (no cost) otherwise."""
    has_registry = settings.schema_registry.url is not None
    default = "auto" if has_registry else "raw"
    vf = _check(value_format or default, CONSUME_FORMATS, "--value-format")
    kf = _check(key_format or default, CONSUME_FORMATS, "--key-format")
    wanted = [(f, fmt) for f, fmt in (("value", vf), ("key", kf)) if fmt not in ("raw", "string")]
    if not wanted:
        if skip_invalid:
            raise UsageError("--skip-invalid applies only with --value-format/--key-format json or avro")
        return pred
    if any(fmt in ("auto", "avro") for _, fmt in wanted):
        if value_format is None and key_format is None and not _has_fastavro():
            # auto only because a registry is configured: without the extra, plain bytes as before.
            app.debug_log(
                f"schema registry configured but fastavro is not installed ({INSTALL_HINT}): values shown raw"
            )
            return pred
        _check_fastavro()
    from mqcli.core.schema.codec import Decoder, decoding_matcher
    from mqcli.core.writers import RawWriter

    registry = registry_client(settings, profile)
    # Raw output shows the decoded text only: no need to ask the registry for subject and version.
    describe = not isinstance(writer, RawWriter)
    decoders = [Decoder(f, fmt, registry, describe) for f, fmt in wanted if not (fmt == "auto" and registry is None)]
    if not decoders:
        return pred
    return decoding_matcher(
        decoders, pred, skip_invalid=skip_invalid, on_skip=lambda text: app.warn(f"skipped: {text}")
    )


# -- produce ---------------------------------------------------------------------------


def encoding(
    app: AppContext,
    settings: Any,
    profile: str,
    topic: str,
    messages: Iterator[Message],
    *,
    value_format: Optional[str],
    key_format: Optional[str],
    choices: dict[str, Any],
    strategy: str,
    skip_invalid: bool,
    on_skip: Callable[[Any], None],
    fixed_key: bool = False,
) -> Iterator[Message]:
    """`messages` encoded as --value-format/--key-format ask; unchanged (no cost) for raw."""
    given = {f: c for f, c in choices.items() if c is not None}
    formats = {
        "value": _check(value_format or ("avro" if "value" in given else "raw"), PRODUCE_FORMATS, "--value-format"),
        "key": _check(key_format or ("avro" if "key" in given else "raw"), PRODUCE_FORMATS, "--key-format"),
    }
    for f in given:
        if formats[f] != "avro":
            raise UsageError(f"--{f}-schema/--{f}-subject/--{f}-schema-id apply only with --{f}-format avro")
    wanted = [f for f, fmt in formats.items() if fmt == "avro"]
    if not wanted:
        return messages
    if "key" in wanted and fixed_key:
        raise UsageError("--key is sent as given; with --key-format avro give each key in the input (-K or -i jsonl)")
    if strategy not in ("topic", "record", "topic-record"):
        raise UsageError(f"invalid --subject-strategy {strategy!r} (use topic, record or topic-record)")
    _check_fastavro()
    registry = registry_client(settings, profile)
    if registry is None:
        raise UsageError(
            "--value-format/--key-format avro needs a schema registry (kafka.schema_registry.url or --schema-registry)"
        )
    from mqcli.core.schema.codec import Encoder, SchemaChoice, encoded

    encoders = [Encoder(f, choices.get(f) or SchemaChoice(), registry, topic, strategy) for f in wanted]
    return encoded(messages, encoders, skip_invalid=skip_invalid, on_skip=on_skip)


def schema_choice(
    field: str,
    file: Optional[str],
    subject: Optional[str],
    version: Optional[int],
    schema_id: Optional[int],
    register: bool,
) -> Any:
    """The SchemaChoice of --{field}-schema / -subject (+ -schema-version) / -schema-id; None without them."""
    if sum(x is not None for x in (file, subject, schema_id)) > 1:
        raise UsageError(f"--{field}-schema, --{field}-subject and --{field}-schema-id are mutually exclusive")
    if version is not None and subject is None:
        raise UsageError(f"--{field}-schema-version applies only with --{field}-subject")
    if file is None and subject is None and schema_id is None:
        return None
    from mqcli.core.schema.codec import SchemaChoice

    return SchemaChoice(
        file=file, subject=subject, version=version, schema_id=schema_id, register=register if file else True
    )
