"""`mqcli kafka schemas list|versions|show|register|check|delete`: the
subjects and schemas of the profile's schema registry (Confluent API)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from mqcli.cli.context import AppContext, get_app
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.kafka._schema import SchemaRegistryOpt, with_registry_url
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import Table, TableOutputOpt, emit
from mqcli.core.errors import MqcliError, UsageError

if TYPE_CHECKING:
    from mqcli.core.schema.registry import RegistryClient

app = typer.Typer(
    help="Subjects and schemas of the schema registry.\n\nExample: mqcli kafka schemas check orders-value order.avsc",
    no_args_is_help=True,
    rich_markup_mode=None,
)

SubjectArg = Annotated[str, typer.Argument(metavar="SUBJECT", help="Subject, e.g. orders-value.", show_default=False)]
FileArg = Annotated[
    str, typer.Argument(metavar="FILE", help="Schema file (.avsc, .proto or .json).", show_default=False)
]
TypeOpt = Annotated[
    Optional[str],
    typer.Option(
        "--type",
        metavar="AVRO|PROTOBUF|JSON",
        help="Schema type of FILE (the registry checks it); default: by its extension (.avsc, .proto; a .json"
        " Avro record/enum/fixed is Avro, else JSON Schema).",
        show_default=False,
    ),
]


def _client(ctx: typer.Context, profile: Optional[str], url: Optional[str]) -> tuple[AppContext, RegistryClient]:
    app_ = get_app(ctx, profile=profile)
    settings, profile_name = kafka_settings(app_, ctx)
    settings = with_registry_url(settings, url)
    if settings.schema_registry.url is None:
        raise UsageError("no schema registry: set kafka.schema_registry.url in the profile or give --schema-registry")
    from mqcli.core.schema.registry import RegistryClient

    return app_, RegistryClient(settings.schema_registry, profile_name)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None


def _type(value: Optional[str], path: str, text: str) -> str:
    if value is None:
        from mqcli.core.schema.codec import file_type

        return file_type(path, text)
    t = value.upper()
    if t not in ("AVRO", "PROTOBUF", "JSON"):
        raise UsageError(f"invalid --type {value!r} (use AVRO, PROTOBUF or JSON)")
    return t


@app.command("list")
def list_subjects(
    ctx: typer.Context,
    output: TableOutputOpt = "auto",
    schema_registry: SchemaRegistryOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """List the registry's subjects.

    Example: mqcli kafka schemas list -o json
    """
    app_, client = _client(ctx, profile, schema_registry)
    subjects = client.subjects()
    emit(app_, output, subjects, Table(("subject",), [(s,) for s in subjects]))


@app.command("versions")
def versions(
    ctx: typer.Context,
    subject: SubjectArg,
    output: TableOutputOpt = "auto",
    schema_registry: SchemaRegistryOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """List a subject's version numbers (unknown subject: exit 6).

    Example: mqcli kafka schemas versions orders-value
    """
    app_, client = _client(ctx, profile, schema_registry)
    found = client.versions(subject)
    emit(app_, output, found, Table(("version",), [(v,) for v in found]))


@app.command("show")
def show(
    ctx: typer.Context,
    subject: SubjectArg,
    version: Annotated[
        str, typer.Option("--version", metavar="N|latest", help="Which version (default: latest).")
    ] = "latest",
    output: TableOutputOpt = "auto",
    schema_registry: SchemaRegistryOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Show one version of a subject: id, version, type and the schema itself.

    Example: mqcli kafka schemas show orders-value --version 2 -o json
    """
    if version != "latest" and not version.isdigit():
        raise UsageError(f"invalid --version {version!r} (a number or latest)")
    app_, client = _client(ctx, profile, schema_registry)
    reg = client.version(subject, version)
    schema: Any = reg.text
    try:
        schema = json.loads(reg.text)  # Avro and JSON Schema: a JSON document; Protobuf: text
    except ValueError:
        pass
    doc = {"subject": reg.subject, "version": reg.version, "id": reg.id, "type": reg.type, "schema": schema}
    text = reg.text if isinstance(schema, str) else json.dumps(schema, separators=(",", ":"))
    emit(
        app_,
        output,
        doc,
        Table(("subject", "version", "id", "type", "schema"), [(reg.subject, reg.version, reg.id, reg.type, text)]),
    )


@app.command("register")
def register(
    ctx: typer.Context,
    subject: SubjectArg,
    file: FileArg,
    schema_type: TypeOpt = None,
    output: TableOutputOpt = "auto",
    schema_registry: SchemaRegistryOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Register FILE under SUBJECT (already there: its id again); an incompatible schema is exit 1.

    Example: mqcli kafka schemas register orders-value order.avsc
    """
    text = _read(file)
    t = _type(schema_type, file, text)
    app_, client = _client(ctx, profile, schema_registry)
    schema_id = client.register(subject, text, t)
    emit(app_, output, {"subject": subject, "id": schema_id}, Table(("subject", "id"), [(subject, schema_id)]))


class Incompatible(MqcliError):
    """`schemas check` found FILE incompatible (exit 1, the registry's reasons on stderr)."""


@app.command("check")
def check(
    ctx: typer.Context,
    subject: SubjectArg,
    file: FileArg,
    schema_type: TypeOpt = None,
    schema_registry: SchemaRegistryOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Check FILE against SUBJECT's latest version under its compatibility level: exit 0
    when compatible, 1 with the registry's reasons when not (a CI gate).

    Example: mqcli kafka schemas check orders-value order.avsc
    """
    text = _read(file)
    t = _type(schema_type, file, text)
    app_, client = _client(ctx, profile, schema_registry)
    ok, reasons = client.check(subject, text, t)
    if not ok:
        for reason in reasons:
            app_.warn(reason)
        raise Incompatible(f"{file} is not compatible with {subject}")
    app_.info(f"mqcli: {file} is compatible with {subject}")


@app.command("delete")
def delete(
    ctx: typer.Context,
    subject: SubjectArg,
    permanent: Annotated[bool, typer.Option("--permanent", help="Also delete it for good (a hard delete).")] = False,
    schema_registry: SchemaRegistryOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Delete a subject and its versions (unknown subject: exit 6).

    Example: mqcli kafka schemas delete orders-value --permanent
    """
    app_, client = _client(ctx, profile, schema_registry)
    gone = client.delete(subject, permanent=permanent)
    app_.info(f"mqcli: deleted subject {subject} (versions {', '.join(map(str, gone)) or 'none'})")


LEVELS = ("BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE", "NONE")
compat = typer.Typer(
    help="Get or set a compatibility level (a subject's, or the global one).\n\nExample: mqcli kafka schemas compat set orders-value BACKWARD",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(compat, name="compat")


@compat.command("get")
def compat_get(
    ctx: typer.Context,
    subject: Annotated[
        Optional[str],
        typer.Argument(metavar="SUBJECT", help="Subject (default: the global level).", show_default=False),
    ] = None,
    output: TableOutputOpt = "auto",
    schema_registry: SchemaRegistryOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Show a subject's compatibility level (as the registry answers: its own, else the global one), or the global level.

    Example: mqcli kafka schemas compat get orders-value
    """
    app_, client = _client(ctx, profile, schema_registry)
    level = client.compatibility(subject)
    emit(
        app_,
        output,
        {"subject": subject, "level": level},
        Table(("subject", "level"), [(subject or "(global)", level)]),
    )


@compat.command("set")
def compat_set(
    ctx: typer.Context,
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="LEVEL",
            help=f"SUBJECT LEVEL, or LEVEL alone for the global level; LEVEL: {', '.join(LEVELS)}.",
            show_default=False,
        ),
    ],
    schema_registry: SchemaRegistryOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Set a subject's compatibility level, or the global one.

    Example: mqcli kafka schemas compat set orders-value FULL
    """
    if len(args) not in (1, 2):
        raise UsageError("expected [SUBJECT] LEVEL")
    subject, level = (None, args[0]) if len(args) == 1 else (args[0], args[1])
    level = level.upper()
    if level not in LEVELS:
        raise UsageError(f"invalid LEVEL {level!r} (use {', '.join(LEVELS)})")
    app_, client = _client(ctx, profile, schema_registry)
    client.set_compatibility(subject, level)
    app_.info(f"mqcli: compatibility of {subject or 'the registry (global)'} set to {level}")
