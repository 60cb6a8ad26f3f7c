"""Which Kafka client library does the work, and the one place that builds
producers, consumers and admin clients for it.

Two engines implement the same classes (Producer, PartitionConsumer,
GroupConsumer, Admin: the Protocols in contract.py, which the factories here
return, so mypy checks both engines against them) with the same behaviour:
  - kafka-python: pure Python, always installed (mqcli's base dependency);
  - librdkafka: confluent-kafka's C client, installed with `mqcli[fast]`;
    much faster at producing and consuming;
  - native: librdkafka as above, with produce for line/whole input and
    values given as arguments (the whole run, without confluent-kafka)
    and the partition consumer for raw/--format output (the whole run,
    without confluent-kafka, but for --offset stored: then the loop only)
    in mqcli's own Rust extension (mqcli-native, native/ in the source tree;
    built by `make install` when cargo is present): mqcli.core.kafka.native.
    Everything it does not cover runs as with librdkafka.

Choice, first that applies: `mqcli kafka --engine NAME`, then
$MQCLI_KAFKA_ENGINE, then the profile's `kafka.engine`, else native when
mqcli-native and confluent-kafka can be imported, else librdkafka when
confluent-kafka can, else kafka-python.  Naming an engine that
is not installed is an error (usage error for the flag, config error for
the environment/profile), never a silent fallback.

Nothing here imports a client library at module level: each factory imports
only its engine's modules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mqcli.core.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from mqcli.core.config import KafkaSettings
    from mqcli.core.kafka.common import ProduceOptions, StartOffset
    from mqcli.core.kafka.contract import Admin, GroupConsumer, PartitionConsumer, Producer, TransactionalProducer
    from mqcli.core.message import Message
    from mqcli.core.stops import StopRules
    from mqcli.core.writers import Writer

KAFKA_PYTHON = "kafka-python"
LIBRDKAFKA = "librdkafka"
NATIVE = "native"
ENGINES = (KAFKA_PYTHON, LIBRDKAFKA, NATIVE)
KAFKA_PYTHON_BATCH_SIZE = 16384  # kafka-python's (and the Java client's) default
_INSTALL_HINT = "install it with: pip install 'mqcli[fast]' (or choose --engine kafka-python)"
_NATIVE_HINT = (
    "build it with `make install` where cargo is present, or `pip install ./native`; or choose --engine librdkafka"
)


def librdkafka_available() -> bool:
    """Whether confluent-kafka (with its bundled librdkafka) imports."""
    import importlib

    try:
        # Imported, not just looked up: a broken or shadowed install must count as missing.
        importlib.import_module("confluent_kafka")
    except ImportError:
        return False
    return True


def native_available() -> bool:
    """Whether the native engine can run: mqcli-native imports and confluent-kafka
    is installed (for what the native engine leaves to it)."""
    from mqcli.core.kafka.native import available

    return available() and _confluent_kafka_installed()


def _confluent_kafka_installed() -> bool:
    """Whether confluent-kafka is installed with its compiled module, without
    importing it: the runs the native engine covers entirely never import it
    (a one-message produce would pay ~190 M instructions, most of its
    start-up, for nothing).  A package without its compiled module (broken,
    or shadowed by a stub) counts as missing, as an import would find."""
    import importlib.machinery
    import importlib.util
    import os

    spec = importlib.util.find_spec("confluent_kafka")
    if spec is None or not spec.submodule_search_locations:
        return False
    compiled = {"cimpl" + suffix for suffix in importlib.machinery.EXTENSION_SUFFIXES}
    for folder in spec.submodule_search_locations:
        try:
            if compiled & set(os.listdir(folder)):
                return True
        except OSError:
            continue
    return False


def _native_missing() -> str:
    if not librdkafka_available():
        return "the confluent-kafka package, which is not installed"
    return "mqcli's native module (mqcli-native), which is not built"


def resolve(settings: KafkaSettings, requested: str | None = None) -> KafkaSettings:
    """`settings` with `engine` set to the engine to use (see the module doc)."""
    if requested is not None:
        name = requested.strip().lower()
        if name not in ENGINES:
            raise UsageError(f"invalid --engine {requested!r} (use {' or '.join(ENGINES)})")
        if name == LIBRDKAFKA and not librdkafka_available():
            raise UsageError(
                "--engine librdkafka needs the confluent-kafka package, which is not installed", hint=_INSTALL_HINT
            )
        if name == NATIVE and not native_available():
            raise UsageError(f"--engine native needs {_native_missing()}", hint=_NATIVE_HINT)
    elif settings.engine:
        name = settings.engine
        if name == LIBRDKAFKA and not librdkafka_available():
            raise ConfigError(
                "kafka.engine is librdkafka (from $MQCLI_KAFKA_ENGINE or the profile) but the confluent-kafka package is not installed",
                hint=_INSTALL_HINT,
            )
        if name == NATIVE and not native_available():
            raise ConfigError(
                f"kafka.engine is native (from $MQCLI_KAFKA_ENGINE or the profile) but it needs {_native_missing()}",
                hint=_NATIVE_HINT,
            )
    elif native_available():
        name = NATIVE
    else:
        name = LIBRDKAFKA if librdkafka_available() else KAFKA_PYTHON
    return dataclasses.replace(settings, engine=name)


def _rd(settings: KafkaSettings) -> bool:
    """Whether librdkafka (through confluent-kafka) does the work: the native
    engine is librdkafka for everything but its own loops."""
    engine = settings.engine or resolve(settings).engine
    return engine in (LIBRDKAFKA, NATIVE)


def label(engine: str | None) -> str:
    """The engine's name for `--debug` (`kafka engine: ...`): the native engine is librdkafka."""
    return LIBRDKAFKA if engine == NATIVE else str(engine)


def admin(settings: KafkaSettings, profile: str | None = None) -> Admin:
    """A connected Admin (a context manager) for the settings' engine."""
    if _rd(settings):
        from mqcli.core.kafka.librdkafka.admin import Admin as RdAdmin

        return RdAdmin(settings, profile)
    from mqcli.core.kafka.kafka_python.admin import Admin as KpAdmin

    return KpAdmin(settings, profile)


def ping(settings: KafkaSettings, profile: str | None = None) -> str:
    """Describe the cluster behind `settings` through its engine, e.g.
    '127.0.0.1:9092 cluster abc, 1 broker'; ConnectionFailed within
    settings.connect_timeout when it does not answer."""
    with admin(settings, profile) as client:
        cluster = client.cluster()
    n = len(cluster["brokers"])
    return f"{','.join(settings.bootstrap_servers)} cluster {cluster['cluster_id']}, {n} broker{'s' if n != 1 else ''}"


def producer(
    settings: KafkaSettings,
    options: ProduceOptions,
    profile: str | None = None,
    messages: Iterable[Message] | None = None,
) -> Producer:
    """A connected Producer: send_all(topic, messages, report), close().
    `messages`: what send_all will send, when known up front (the native
    engine covers some inputs entirely, without confluent-kafka)."""
    if (settings.engine or resolve(settings).engine) == NATIVE:
        from mqcli.core.kafka.native.producer import open_producer

        return open_producer(settings, options, profile, messages)
    if _rd(settings):
        from mqcli.core.kafka.librdkafka.producer import Producer as RdProducer

        return RdProducer(settings, options, profile)
    from mqcli.core.kafka.kafka_python.producer import Producer as KpProducer

    options.check()
    if options.batch_size is None:
        options = dataclasses.replace(options, batch_size=KAFKA_PYTHON_BATCH_SIZE)
    return KpProducer(settings, options, profile)


def partition_consumer(
    settings: KafkaSettings,
    topic: str,
    *,
    partitions: Iterable[int] | None = None,
    profile: str | None = None,
    group: str | None = None,
    start: StartOffset | None = None,
    rules: StopRules | None = None,
    writer: Writer | None = None,
) -> PartitionConsumer:
    """A PartitionConsumer: seek(StartOffset), run(rules, handle, flush), close().
    `start`, `rules`, `writer`: what seek and run will be given, when known up
    front (the native engine covers some runs entirely, without confluent-kafka)."""
    if (settings.engine or resolve(settings).engine) == NATIVE:
        from mqcli.core.kafka.native.consumer import open_partition_consumer

        return open_partition_consumer(
            settings,
            topic,
            partitions=partitions,
            profile=profile,
            group=group,
            start=start,
            rules=rules,
            writer=writer,
        )
    if _rd(settings):
        from mqcli.core.kafka.librdkafka.consumer import PartitionConsumer as RdPartitionConsumer

        return RdPartitionConsumer(settings, topic, partitions=partitions, profile=profile, group=group)
    from mqcli.core.kafka.kafka_python.consumer import PartitionConsumer as KpPartitionConsumer

    return KpPartitionConsumer(settings, topic, partitions=partitions, profile=profile, group=group)


def group_consumer(
    settings: KafkaSettings,
    group: str,
    topics: list[str],
    *,
    assignor: str = "range",
    start: str = "earliest",
    profile: str | None = None,
    on_event: Callable[[str], None] | None = None,
) -> GroupConsumer:
    """A GroupConsumer: run(rules, handle, flush), mark(msg), close(commit=True)."""
    if _rd(settings):
        from mqcli.core.kafka.librdkafka.consumer import GroupConsumer as RdGroupConsumer

        return RdGroupConsumer(
            settings, group, topics, assignor=assignor, start=start, profile=profile, on_event=on_event
        )
    from mqcli.core.kafka.kafka_python.consumer import GroupConsumer as KpGroupConsumer

    return KpGroupConsumer(settings, group, topics, assignor=assignor, start=start, profile=profile, on_event=on_event)


def enable_library_logs(settings: KafkaSettings, stream: Any, secrets: list[str]) -> Callable[[], None]:
    """--debug: the engine's own log lines on `stream`, secrets masked; returns
    the function that turns them off again."""
    if _rd(settings):
        from mqcli.core.kafka.librdkafka.client import enable_library_logs as rd_logs

        return rd_logs(stream, secrets)
    from mqcli.core.kafka.kafka_python.client import enable_library_logs as kp_logs

    return kp_logs(stream, secrets)


def transactional_producer(
    settings: KafkaSettings, options: ProduceOptions, profile: str | None = None
) -> TransactionalProducer:
    """A connected TransactionalProducer for options.transactional_id (see mqcli.core.kafka.transactions)."""
    options.check()
    if _rd(settings):
        from mqcli.core.kafka.librdkafka.transactions import TransactionalProducer as RdTransactional

        return RdTransactional(settings, options, profile)
    from mqcli.core.kafka.kafka_python.transactions import TransactionalProducer as KpTransactional

    if options.batch_size is None:
        options = dataclasses.replace(options, batch_size=KAFKA_PYTHON_BATCH_SIZE)
    return KpTransactional(settings, options, profile)
