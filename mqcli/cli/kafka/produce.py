"""`mqcli kafka produce TOPIC [VALUE...]`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Annotated, Optional

from mqcli.cli import params
from mqcli.cli.context import AppContext, get_app
from mqcli.cli.io import (
    DelimiterOpt,
    FileOpt,
    HeaderOpt,
    InputOpt,
    KeySeparatorOpt,
    SkipInvalidOpt,
    TerminalReport,
    open_input,
    parse_headers,
)
from mqcli.cli.kafka._common import kafka_settings
from mqcli.cli.kafka._schema import SchemaRegistryOpt, encoding, schema_choice, with_registry_url
from mqcli.cli.options import ProfileOpt
from mqcli.cli.output import StatusFormat, output_option
from mqcli.cli.schema import (
    DescriptorSetOpt,
    KeyMessageTypeOpt,
    KeySchemaOpt,
    MessageTypeOpt,
    ProduceKeyFormatOpt,
    ProduceValueFormatOpt,
    ProtoPathOpt,
    ValueSchemaOpt,
)
from mqcli.core.delivery import DeliveryReport, landed_line
from mqcli.core.errors import DeliveryFailed, MqcliError, NotFound, UsageError
from mqcli.core.message import Message
from mqcli.core.readers import InputMode, ReadStats

if TYPE_CHECKING:
    import typer

    from mqcli.core.config import KafkaSettings
    from mqcli.core.kafka.common import ProduceOptions
    from mqcli.core.kafka.transactions import TransactionRules


def produce(
    ctx: typer.Context,
    topic: Annotated[str, params.Argument(metavar="TOPIC", help="Topic to send to.", show_default=False)],
    values: Annotated[
        Optional[list[str]],
        params.Argument(metavar="VALUE", help="Message values (default: read --file or stdin).", show_default=False),
    ] = None,
    files: FileOpt = None,
    input_mode: InputOpt = InputMode.line,
    delimiter: DelimiterOpt = r"\n",
    key_separator: KeySeparatorOpt = None,
    skip_invalid: SkipInvalidOpt = False,
    key: Annotated[
        Optional[str],
        params.Option(
            "--key", "-k", metavar="KEY", help="Key for every message (that has none of its own).", show_default=False
        ),
    ] = None,
    header: HeaderOpt = None,
    partition: Annotated[
        Optional[int],
        params.Option(
            "--partition",
            "-p",
            metavar="N",
            min=0,
            help="Send to partition N (default: by key, or the partitioner).",
            show_default=False,
        ),
    ] = None,
    null: Annotated[
        bool,
        params.Option(
            "--null",
            "--tombstone",
            help="Send null values (tombstones): each input record is a KEY; with --key and no input, one tombstone for that key.",
        ),
    ] = False,
    acks: Annotated[
        Optional[str],
        params.Option(
            "--acks", metavar="0|1|all", help="0, 1 or all (default: the profile's, normally all).", show_default=False
        ),
    ] = None,
    compression: Annotated[
        Optional[str],
        params.Option("--compression", metavar="CODEC", help="none, gzip, snappy, lz4 or zstd.", show_default=False),
    ] = None,
    linger_ms: Annotated[
        Optional[int],
        params.Option("--linger-ms", metavar="MS", min=0, help="Wait up to MS to fill a batch.", show_default=False),
    ] = None,
    batch_size: Annotated[
        Optional[int],
        params.Option(
            "--batch-size",
            metavar="BYTES",
            min=1,
            help="Maximum batch size in bytes per partition.",
            show_default=False,
        ),
    ] = None,
    no_idempotence: Annotated[
        bool,
        params.Option("--no-idempotence", help="Turn off the idempotent producer (on by default with --acks all)."),
    ] = False,
    delivery_timeout: Annotated[
        Optional[str],
        params.Option(
            "--delivery-timeout",
            metavar="DURATION",
            help="Give up on a message not acknowledged within DURATION, retries included (default: the profile's, normally 120s); it is then reported as not delivered.",
            show_default=False,
        ),
    ] = None,
    sync: Annotated[
        bool,
        params.Option(
            "--sync", help="Wait for each message and print PARTITION<TAB>OFFSET on stdout (JSON with --output json)."
        ),
    ] = False,
    output: Annotated[
        StatusFormat,
        output_option(StatusFormat, "With --sync: auto prints PARTITION<TAB>OFFSET per message; json a JSON object."),
    ] = "auto",
    create: Annotated[bool, params.Option("--create", help="Create the topic if it does not exist.")] = False,
    partitions: Annotated[
        Optional[int],
        params.Option(
            "--partitions",
            metavar="N",
            min=1,
            help="Partitions for --create (default: the broker's).",
            show_default=False,
        ),
    ] = None,
    replication_factor: Annotated[
        Optional[int],
        params.Option(
            "--replication-factor",
            metavar="N",
            min=1,
            help="Replication factor for --create (default: the broker's).",
            show_default=False,
        ),
    ] = None,
    value_format: ProduceValueFormatOpt = None,
    value_schema: ValueSchemaOpt = None,
    value_subject: Annotated[
        Optional[str],
        params.Option(
            "--value-subject",
            metavar="SUBJECT",
            help="Encode values with this subject's latest schema (or --value-schema-version).",
            show_default=False,
        ),
    ] = None,
    value_schema_version: Annotated[
        Optional[int],
        params.Option(
            "--value-schema-version",
            metavar="N",
            min=0,
            help="With --value-subject: that version instead of the latest.",
            show_default=False,
        ),
    ] = None,
    value_schema_id: Annotated[
        Optional[int],
        params.Option(
            "--value-schema-id",
            metavar="ID",
            min=0,
            help="Encode values with the registry's schema ID.",
            show_default=False,
        ),
    ] = None,
    key_format: ProduceKeyFormatOpt = None,
    key_schema: KeySchemaOpt = None,
    key_subject: Annotated[
        Optional[str],
        params.Option(
            "--key-subject",
            metavar="SUBJECT",
            help="Encode keys with this subject's latest schema (or --key-schema-version).",
            show_default=False,
        ),
    ] = None,
    key_schema_version: Annotated[
        Optional[int],
        params.Option(
            "--key-schema-version",
            metavar="N",
            min=0,
            help="With --key-subject: that version instead of the latest.",
            show_default=False,
        ),
    ] = None,
    key_schema_id: Annotated[
        Optional[int],
        params.Option(
            "--key-schema-id",
            metavar="ID",
            min=0,
            help="Encode keys with the registry's schema ID.",
            show_default=False,
        ),
    ] = None,
    no_register: Annotated[
        bool,
        params.Option(
            "--no-register", help="With --value-schema/--key-schema: fail (exit 6) if the registry lacks the schema."
        ),
    ] = False,
    subject_strategy: Annotated[
        str,
        params.Option(
            "--subject-strategy",
            metavar="topic|record|topic-record",
            help="Subject of a --*-schema file: TOPIC-value/-key, the record's full name, or TOPIC-RECORDNAME.",
        ),
    ] = "topic",
    message_type: MessageTypeOpt = None,
    key_message_type: KeyMessageTypeOpt = None,
    proto_path: ProtoPathOpt = None,
    descriptor_set: DescriptorSetOpt = None,
    schema_registry: SchemaRegistryOpt = None,
    transactional_id: Annotated[
        Optional[str],
        params.Option(
            "--transactional-id",
            metavar="ID",
            help="Send in transactions under this id (exit 0 only when every one committed; a second producer with the id fences this one: exit 1).",
            show_default=False,
        ),
    ] = None,
    transaction_size: Annotated[
        Optional[int],
        params.Option(
            "--transaction-size",
            metavar="N",
            min=1,
            help="With --transactional-id: N records per transaction (default: the whole input in one).",
            show_default=False,
        ),
    ] = None,
    transaction_time: Annotated[
        Optional[str],
        params.Option(
            "--transaction-time",
            metavar="DURATION",
            help="With --transactional-id: commit the open transaction DURATION after it began (also while the input is quiet).",
            show_default=False,
        ),
    ] = None,
    profile: ProfileOpt = None,
) -> None:
    """Send messages to a topic: from arguments, files or stdin.

    By default sends are pipelined (a bounded window, so memory stays flat);
    every message the broker did not acknowledge is reported on stderr with
    its input line number, and the exit code is 1.  A summary goes to stderr.

    With --transactional-id, records go in transactions, each committed only
    when all its records were acknowledged; a failure or a signal aborts the
    open one and names its first input line as where to resume.

    Example: printf 'k1:v1\\nk2:v2\\n' | mqcli kafka produce orders -K : -H source=ci
    """
    app = get_app(ctx, profile=profile)
    if output == "json" and not sync:
        raise UsageError("--output json describes where each message landed; it needs --sync")
    tx_rules = _transaction_rules(transactional_id, transaction_size, transaction_time, sync, acks, no_idempotence)
    settings, profile_name = kafka_settings(app, ctx)
    settings = with_registry_url(settings, schema_registry)
    schemas = {
        "value": schema_choice(
            "value",
            value_schema,
            value_subject,
            value_schema_version,
            value_schema_id,
            not no_register,
            message_type,
            proto_path,
            descriptor_set,
        ),
        "key": schema_choice(
            "key",
            key_schema,
            key_subject,
            key_schema_version,
            key_schema_id,
            not no_register,
            key_message_type,
            proto_path,
        ),
    }
    defaults = settings.producer

    from mqcli.core.kafka.common import ProduceOptions
    from mqcli.core.kafka.engine import admin as open_admin
    from mqcli.core.kafka.engine import producer as new_producer

    options = ProduceOptions(
        acks=acks if acks is not None else str(defaults.acks),
        compression=compression if compression is not None else (defaults.compression or "none"),
        linger_ms=linger_ms if linger_ms is not None else int(defaults.linger_ms),
        # None unless the profile sets it: each engine's own default (librdkafka's 1 MB is ~1.5x faster).
        batch_size=batch_size if batch_size is not None else defaults.batch_size,
        idempotence=bool(defaults.idempotence) and not no_idempotence,
        delivery_timeout=_positive_duration(delivery_timeout)
        if delivery_timeout is not None
        else float(defaults.delivery_timeout),
        sync=sync,
        partition=partition,
        key=key.encode("utf-8", errors="surrogateescape") if key is not None else None,
        headers=parse_headers(header),
        transactional_id=transactional_id,
        transaction_timeout=float(defaults.transaction_timeout),
    )
    stats = ReadStats()
    with ExitStack() as stack:
        if null and key is not None and not values and not files:
            messages = iter([Message(value=None, key=options.key, line=1)])
        else:
            messages = open_input(
                app,
                stack,
                values=values,
                files=files,
                mode=input_mode,
                delimiter=delimiter,
                key_separator=key_separator,
                skip_invalid=skip_invalid,
                stats=stats,
            )
            if null:
                if input_mode is InputMode.jsonl:
                    raise UsageError('--null does not apply to --input jsonl (use "value": null)')
                messages = (
                    Message(value=None, key=m.key if m.key is not None else m.value, line=m.line) for m in messages
                )

        messages = encoding(
            app,
            settings,
            profile_name,
            topic,
            messages,
            value_format=value_format,
            key_format=key_format,
            choices=schemas,
            strategy=subject_strategy,
            skip_invalid=skip_invalid,
            on_skip=lambda e: _skipped(app, stats, e),
            fixed_key=key is not None,
        )
        if create:
            with open_admin(settings, profile_name) as admin:
                if admin.create_topic(topic, partitions, replication_factor, if_not_exists=True):
                    app.info(f"mqcli: created topic {topic}")
        elif partitions is not None or replication_factor is not None:
            raise UsageError("--partitions/--replication-factor apply only with --create")

        if tx_rules is not None:
            report = _send_in_transactions(
                app, stack, settings, options, profile_name, topic, messages, stats, tx_rules
            )
        else:
            producer = new_producer(settings, options, profile_name, messages)
            stack.callback(producer.close)
            # The topic check reuses the producer's connection (and, with
            # librdkafka, the metadata it fetched to connect): no admin client.
            _check_partition(producer.partitions(topic), topic, partition)
            landed = landed_line(topic, output == "json") if sync else None
            report = DeliveryReport(TerminalReport(app), stats=stats, landed=landed)
            # Ctrl-C, SIGTERM, a bug: not an error that explains itself.  Every
            # message handed to Kafka was reported (send_all reports them first);
            # the report says where a script could resume.
            with report.sending(explained=(MqcliError,)):
                try:
                    producer.send_all(topic, messages, report)
                finally:
                    app.debug_log(f"kafka produce loop: {getattr(producer, 'loop', 'python')}")
    if report.failed:
        total = report.delivered + report.failed
        raise DeliveryFailed(f"{report.failed} of {total} message(s) to {topic} were not acknowledged (see above)")


def _check_partition(existing: list[int], topic: str, partition: int | None) -> None:
    if partition is not None and partition not in existing:
        raise NotFound(f"partition {partition} of topic {topic!r} does not exist (it has {len(existing)})")


def _transaction_rules(
    transactional_id: str | None,
    size: int | None,
    time_text: str | None,
    sync: bool,
    acks: str | None,
    no_idempotence: bool,
) -> TransactionRules | None:
    """The transaction options checked together (None: no --transactional-id)."""
    if transactional_id is None:
        if size is not None or time_text is not None:
            raise UsageError("--transaction-size/--transaction-time apply only with --transactional-id")
        return None
    # Imported only here: a produce without transactions needs neither it nor its queue module.
    from mqcli.core.kafka.transactions import TransactionRules

    if not transactional_id.strip():
        raise UsageError("--transactional-id must not be empty")
    if sync:
        raise UsageError("--sync does not apply with --transactional-id (records are visible only when committed)")
    if (acks is not None and acks != "all") or no_idempotence:
        raise UsageError("transactions need --acks all and idempotence (drop --acks/--no-idempotence)")
    seconds = None
    if time_text is not None:
        from mqcli.core.parse import parse_duration

        seconds = parse_duration(time_text)
        if seconds <= 0:
            raise UsageError(f"invalid --transaction-time {time_text!r} (must be more than 0)")
    return TransactionRules.from_options(size, seconds)


def _send_in_transactions(
    app: AppContext,
    stack: ExitStack,
    settings: KafkaSettings,
    options: ProduceOptions,
    profile_name: str | None,
    topic: str,
    messages: Iterator[Message],
    stats: ReadStats,
    rules: TransactionRules,
) -> DeliveryReport:
    """--transactional-id: the run, through the engine's TransactionalProducer."""
    from mqcli.core.kafka.engine import transactional_producer
    from mqcli.core.kafka.transactions import send_in_transactions

    producer = transactional_producer(settings, options, profile_name)
    stack.callback(producer.close)
    _check_partition(producer.partitions(topic), topic, options.partition)
    producer.init()
    report = DeliveryReport(TerminalReport(app), stats=stats)
    with report.sending(explained=(MqcliError,)):
        send_in_transactions(producer, topic, messages, report, rules)
    return report


def _skipped(app: AppContext, stats: ReadStats, e: MqcliError) -> None:
    """A record --skip-invalid left out, counted with the reader's own."""
    stats.skipped += 1
    app.warn(f"skipped: {e.message}")


def _positive_duration(text: str) -> float:
    from mqcli.core.parse import parse_duration

    seconds = parse_duration(text)
    if seconds <= 0:
        raise UsageError(f"invalid --delivery-timeout {text!r} (must be more than 0)")
    return seconds
