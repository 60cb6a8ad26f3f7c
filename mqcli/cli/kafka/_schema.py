"""The Kafka side of the schema options: the registry (--schema-registry, the
profile's kafka.schema_registry) and the --*-schema/-subject/-schema-id options
of produce.  The format options themselves and the decode/encode plumbing are
shared with RabbitMQ (cli/schema.py).  Nothing here imports a schema library
or the registry client until a schema format or a registry is actually in play.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Optional

from mqcli.cli import params
from mqcli.cli import schema as shared
from mqcli.cli.context import AppContext
from mqcli.cli.schema import (  # the option aliases, re-exported for the Kafka verbs
    INSTALL_HINT,
    ConsumeSkipInvalidOpt,
    DescriptorSetOpt,
    KeyFormatOpt,
    KeyMessageTypeOpt,
    KeySchemaOpt,
    MessageTypeOpt,
    ProtoPathOpt,
    ValueFormatOpt,
    ValueSchemaOpt,
)
from mqcli.core.errors import UsageError
from mqcli.core.message import Message

__all__ = [
    "INSTALL_HINT",
    "ConsumeSkipInvalidOpt",
    "DescriptorSetOpt",
    "KeyFormatOpt",
    "KeyMessageTypeOpt",
    "KeySchemaOpt",
    "MessageTypeOpt",
    "ProtoPathOpt",
    "SchemaRegistryOpt",
    "ValueFormatOpt",
    "ValueSchemaOpt",
    "decoding",
    "encoding",
    "local_schemas",
    "registry_client",
    "schema_choice",
    "with_registry_url",
]

if TYPE_CHECKING:
    from mqcli.core.schema.codec import SchemaChoice
    from mqcli.core.schema.registry import RegistryClient
    from mqcli.core.stops import Matcher
    from mqcli.core.writers import Writer

SchemaRegistryOpt = Annotated[
    Optional[str],
    params.Option(
        "--schema-registry",
        metavar="URL",
        help="Schema Registry URL (Confluent API), instead of the profile's kafka.schema_registry.url.",
        show_default=False,
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


def registry_client(settings: Any, profile: str) -> RegistryClient | None:
    from mqcli.core.schema.registry import RegistryClient

    return RegistryClient(settings.schema_registry, profile) if settings.schema_registry.url else None


def _registry(settings: Any, profile: str) -> Callable[[], RegistryClient | None] | None:
    """How to build the registry client (None: no registry configured)."""
    if settings.schema_registry.url is None:
        return None
    return lambda: registry_client(settings, profile)


def decoding(
    app: AppContext,
    settings: Any,
    profile: str,
    pred: Matcher | None,
    writer: Writer | None,
    value_format: Optional[str],
    key_format: Optional[str],
    skip_invalid: bool,
    local: Optional[dict[str, SchemaChoice | None]] = None,
) -> Matcher | None:
    """The --match predicate of a consume run, decoding keys/values first when a
    format, a local schema or a registry asks for it; `pred` itself (no cost) otherwise."""
    return shared.decoding(
        app,
        pred,
        writer,
        value_format=value_format,
        key_format=key_format,
        skip_invalid=skip_invalid,
        registry=_registry(settings, profile),
        local=local or {"value": None, "key": None},
    )


def local_schemas(
    value_schema: Optional[str],
    key_schema: Optional[str],
    message_type: Optional[str],
    key_message_type: Optional[str],
    proto_paths: Optional[list[str]],
    descriptor_set: Optional[str],
) -> dict[str, SchemaChoice | None]:
    """The local schemas of a consume run (--value-schema/--key-schema, --descriptor-set for values)."""
    return {
        "value": shared.local_choice("value", value_schema, message_type, proto_paths, descriptor_set),
        "key": shared.local_choice("key", key_schema, key_message_type, proto_paths, None),
    }


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
    found = shared.encoders(
        topic=topic,
        value_format=value_format,
        key_format=key_format,
        choices=choices,
        strategy=strategy,
        registry=_registry(settings, profile),
        fixed_key=fixed_key,
    )
    return shared.encoding(messages, found, skip_invalid=skip_invalid, on_skip=on_skip)


def schema_choice(
    field: str,
    file: Optional[str],
    subject: Optional[str],
    version: Optional[int],
    schema_id: Optional[int],
    register: bool,
    message_type: Optional[str] = None,
    proto_paths: Optional[list[str]] = None,
    descriptor_set: Optional[str] = None,
) -> Any:
    """The SchemaChoice of --{field}-schema / -subject (+ -schema-version) / -schema-id (and the
    Protobuf options); None without them."""
    if sum(x is not None for x in (file, subject, schema_id, descriptor_set)) > 1:
        raise UsageError(
            f"--{field}-schema, --{field}-subject and --{field}-schema-id"
            + (" and --descriptor-set" if field == "value" else "")
            + " are mutually exclusive"
        )
    if version is not None and subject is None:
        raise UsageError(f"--{field}-schema-version applies only with --{field}-subject")
    if file is None and subject is None and schema_id is None and descriptor_set is None:
        if message_type is not None:
            # A record's own value_schema (consume -o json) may still name a Protobuf schema.
            from mqcli.core.schema.codec import SchemaChoice

            return SchemaChoice(message_type=message_type, proto_paths=tuple(proto_paths or ()))
        return None
    from mqcli.core.schema.codec import SchemaChoice

    return SchemaChoice(
        file=file,
        subject=subject,
        version=version,
        schema_id=schema_id,
        register=register if file else True,
        message_type=message_type,
        proto_paths=tuple(proto_paths or ()),
        descriptor_set=descriptor_set,
    )
