"""Queues, exchanges and bindings: passive checks, declares, purge, delete.

Each operation runs on its own short-lived channel, because a failed passive
declare (or any refused method) closes the channel it ran on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from pika.adapters.blocking_connection import BlockingChannel

from mqcli.core.errors import MqcliError, NotFound, UsageError
from mqcli.core.rabbit.client import RabbitClient, _close_quietly, amqp_errors

T = TypeVar("T")

EXCHANGE_TYPES = ("direct", "fanout", "topic", "headers")
QUEUE_TYPES = ("classic", "quorum", "stream")


@contextmanager
def _channel(client: RabbitClient, what: str | None = None) -> Iterator[BlockingChannel]:
    with amqp_errors(client, what=what):
        ch = client.connection.channel()
        try:
            yield ch
        finally:
            _close_quietly(ch)


def _on_channel(client: RabbitClient, what: str | None, fn: Callable[[BlockingChannel], T]) -> T:
    with _channel(client, what) as ch:
        return fn(ch)


@dataclass
class QueueInfo:
    name: str
    messages: int  # ready
    consumers: int

    def to_dict(self) -> dict[str, Any]:
        return {"queue": self.name, "messages": self.messages, "consumers": self.consumers}


def inspect_queue(client: RabbitClient, name: str) -> QueueInfo:
    messages, consumers = client.queue_info(name)
    return QueueInfo(name, messages, consumers)


def queue_exists(client: RabbitClient, name: str) -> bool:
    try:
        client.queue_info(name)
    except NotFound:
        return False
    return True


def exchange_exists(client: RabbitClient, name: str) -> bool:
    try:
        client.check_exchange(name)
    except NotFound:
        return False
    return True


def queue_arguments(
    *,
    queue_type: str | None = None,
    message_ttl: float | None = None,
    expires: float | None = None,
    dead_letter_exchange: str | None = None,
    dead_letter_routing_key: str | None = None,
    max_length: int | None = None,
    max_length_bytes: int | None = None,
    overflow: str | None = None,
    max_priority: int | None = None,
    extra: list[tuple[str, Any]] | None = None,
    max_age: float | None = None,
    delivery_limit: int | None = None,
    dead_letter_strategy: str | None = None,
) -> dict[str, Any]:
    """x-arguments for queue.declare (durations in seconds -> ms)."""
    args: dict[str, Any] = {}
    if queue_type is not None:
        if queue_type not in QUEUE_TYPES:
            raise UsageError(f"invalid queue type {queue_type!r} (use {', '.join(QUEUE_TYPES)})")
        args["x-queue-type"] = queue_type
    if message_ttl is not None:
        args["x-message-ttl"] = int(message_ttl * 1000)
    if expires is not None:
        args["x-expires"] = max(1, int(expires * 1000))
    if dead_letter_exchange is not None:
        args["x-dead-letter-exchange"] = dead_letter_exchange
    if dead_letter_routing_key is not None:
        args["x-dead-letter-routing-key"] = dead_letter_routing_key
    if max_length is not None:
        args["x-max-length"] = max_length
    if max_length_bytes is not None:
        args["x-max-length-bytes"] = max_length_bytes
    if overflow is not None:
        args["x-overflow"] = overflow
    if max_priority is not None:
        args["x-max-priority"] = max_priority
    if max_age is not None:
        # A stream's retention by age: RabbitMQ takes a number with a unit (Y, M, D, h, m, s).
        args["x-max-age"] = f"{max(1, round(max_age))}s"
    if delivery_limit is not None:
        args["x-delivery-limit"] = delivery_limit
    if dead_letter_strategy is not None:
        args["x-dead-letter-strategy"] = dead_letter_strategy
    args.update(extra or [])
    return args


def declare_queue(
    client: RabbitClient,
    name: str,
    *,
    exclusive: bool = False,
    auto_delete: bool = False,
    arguments: dict[str, Any] | None = None,
) -> QueueInfo:
    """Declare a queue: durable unless exclusive (RabbitMQ 4 refuses transient
    non-exclusive queues).  Returns the (possibly server-generated) name."""
    args = arguments or {}
    qtype = args.get("x-queue-type")
    if qtype in ("quorum", "stream") and (exclusive or auto_delete):
        raise UsageError(f"{qtype} queues cannot be exclusive or auto-delete")

    def run(ch: BlockingChannel) -> QueueInfo:
        ok = ch.queue_declare(
            name, durable=not exclusive, exclusive=exclusive, auto_delete=auto_delete, arguments=args or None
        )
        return QueueInfo(ok.method.queue, ok.method.message_count, ok.method.consumer_count)

    return _on_channel(client, f"queue '{name}'", run)


def declare_exchange(
    client: RabbitClient,
    name: str,
    exchange_type: str,
    *,
    durable: bool = True,
    auto_delete: bool = False,
    internal: bool = False,
    arguments: dict[str, Any] | None = None,
) -> None:
    if not name or name.startswith("amq."):
        raise UsageError(f"cannot declare exchange {name!r}: the default and amq.* exchanges are built in")
    _on_channel(
        client,
        f"exchange '{name}'",
        lambda ch: ch.exchange_declare(
            name,
            exchange_type=exchange_type,
            durable=durable,
            auto_delete=auto_delete,
            internal=internal,
            arguments=arguments or None,
        ),
    )


def bind_queue(
    client: RabbitClient, queue: str, exchange: str, key: str = "", arguments: dict[str, Any] | None = None
) -> None:
    if exchange == "":
        raise UsageError("queues cannot be bound to the default exchange (it routes by queue name already)")
    _on_channel(
        client,
        f"exchange '{exchange}' or queue '{queue}'",
        lambda ch: ch.queue_bind(queue, exchange, routing_key=key, arguments=arguments or None),
    )


def bind_exchange(
    client: RabbitClient, destination: str, source: str, key: str = "", arguments: dict[str, Any] | None = None
) -> None:
    _on_channel(
        client,
        f"exchange '{source}' or '{destination}'",
        lambda ch: ch.exchange_bind(destination, source, routing_key=key, arguments=arguments or None),
    )


def ensure_queue(client: RabbitClient, name: str, *, declare: bool) -> bool:
    """Passive check of `name`; with `declare`, a missing queue is declared durable.
    True when it was declared now.  Never redeclares an existing queue, so
    existing arguments are never fought over (no PRECONDITION_FAILED)."""
    if queue_exists(client, name):
        return False
    if not declare:
        raise NotFound(f"queue '{name}' not found", hint="declare it, or pass --declare")
    declare_queue(client, name)
    return True


def ensure_exchange(client: RabbitClient, name: str, *, declare: bool, exchange_type: str | None) -> bool:
    if exchange_exists(client, name):
        return False
    if not declare:
        raise NotFound(f"exchange '{name}' not found", hint="declare it, or pass --declare (with --exchange-type)")
    declare_exchange(client, name, exchange_type or "direct")
    return True


def purge_queue(client: RabbitClient, name: str) -> int:
    ok = _on_channel(client, f"queue '{name}'", lambda ch: ch.queue_purge(name))
    return int(ok.method.message_count)


def delete_queue(client: RabbitClient, name: str, *, if_empty: bool = False, if_unused: bool = False) -> int:
    """Delete `name`; returns how many messages it held.  NotFound when missing
    (RabbitMQ itself treats deleting a missing queue as success)."""
    info = inspect_queue(client, name)
    try:
        ok = _on_channel(
            client, f"queue '{name}'", lambda ch: ch.queue_delete(name, if_unused=if_unused, if_empty=if_empty)
        )
    except MqcliError as e:
        if "PRECONDITION_FAILED" in e.message:
            why = "it has consumers (--if-unused)" if "in use" in e.message else "it is not empty (--if-empty)"
            raise MqcliError(
                f"queue '{name}' not deleted: {why}; {info.messages} ready, {info.consumers} consumers"
            ) from None
        raise
    return int(ok.method.message_count)


def delete_exchange(client: RabbitClient, name: str, *, if_unused: bool = False) -> None:
    _on_channel(client, f"exchange '{name}'", lambda ch: ch.exchange_delete(name, if_unused=if_unused))


def unbind_queue(
    client: RabbitClient, queue: str, exchange: str, key: str = "", arguments: dict[str, Any] | None = None
) -> None:
    """Remove a queue's binding (RabbitMQ treats a missing one as removed)."""
    _on_channel(
        client,
        f"exchange '{exchange}' or queue '{queue}'",
        lambda ch: ch.queue_unbind(queue, exchange, routing_key=key, arguments=arguments or None),
    )


def unbind_exchange(
    client: RabbitClient, destination: str, source: str, key: str = "", arguments: dict[str, Any] | None = None
) -> None:
    _on_channel(
        client,
        f"exchange '{source}' or '{destination}'",
        lambda ch: ch.exchange_unbind(destination, source, routing_key=key, arguments=arguments or None),
    )
