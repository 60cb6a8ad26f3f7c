"""Delayed delivery: TTL + dead-letter queues, or the delayed-message plugin.

TTL (default): one delay queue per (delay, target), declared on demand:

    mqcli.delay.<ms>ms.q.<queue>          for --queue Q
    mqcli.delay.<ms>ms.x.<exchange>.<key> for --exchange X --routing-key K

with x-message-ttl=<ms>, x-dead-letter-exchange/-routing-key = the target
and x-expires=<ms>+60s (unused delay queues go away; every publish
redeclares, which resets the timer, so a queue never expires before its
last message is due).  All messages of one queue share one TTL, so the
head of the queue is always the first due: a 1s message never waits behind
a 10s one, because they live in different queues.

Plugin (--via plugin): an x-delayed-message exchange and an integer x-delay
header (the plugin ignores a string x-delay).

AMQP cannot list queues, so the delay queues are recorded in the durable
queue `mqcli.delay.registry` (one small message per delay queue created);
`delay status` reads it, drops records of expired queues, and reports how
many messages wait in each.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pika

from mqcli.core.errors import MqcliError, NotFound
from mqcli.core.rabbit.client import RabbitClient, _close_quietly, amqp_errors
from mqcli.core.rabbit.publish import PublishSettings
from mqcli.core.rabbit.topology import bind_exchange, bind_queue, declare_exchange, declare_queue, queue_exists

REGISTRY = "mqcli.delay.registry"
PLUGIN_EXCHANGE = "mqcli.delayed"
EXPIRY_MARGIN_MS = 60_000


@dataclass(frozen=True)
class Target:
    queue: str | None = None
    exchange: str | None = None
    routing_key: str = ""

    def describe(self) -> str:
        if self.queue is not None:
            return f"queue {self.queue}"
        return f"exchange {self.exchange} key {self.routing_key!r}"


def delay_queue_name(delay_ms: int, target: Target) -> str:
    if target.queue is not None:
        name = f"mqcli.delay.{delay_ms}ms.q.{target.queue}"
    else:
        name = f"mqcli.delay.{delay_ms}ms.x.{target.exchange}.{target.routing_key}"
    if len(name.encode()) > 255:  # AMQP short string limit
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        name = name.encode()[:200].decode("utf-8", "ignore") + "." + digest
    return name


def delay_queue_arguments(delay_ms: int, target: Target) -> dict[str, Any]:
    if target.queue is not None:
        dlx, dlk = "", target.queue
    else:
        dlx, dlk = target.exchange or "", target.routing_key
    return {
        "x-message-ttl": delay_ms,
        "x-dead-letter-exchange": dlx,
        "x-dead-letter-routing-key": dlk,
        "x-expires": delay_ms + EXPIRY_MARGIN_MS,
    }


def check_target(client: RabbitClient, target: Target) -> None:
    # Dead-lettering to a missing target drops messages silently: check first.
    if target.queue is not None:
        client.queue_info(target.queue)
    else:
        client.check_exchange(target.exchange or "")


def ensure_delay_queue(client: RabbitClient, delay_ms: int, target: Target) -> str:
    name = delay_queue_name(delay_ms, target)
    existed = queue_exists(client, name)
    # Always (re)declare: same arguments every time, and it resets x-expires.
    declare_queue(client, name, arguments=delay_queue_arguments(delay_ms, target))
    if not existed:
        _register(client, {"queue": name, "delay_ms": delay_ms, "target": target.describe(), "via": "ttl"})
    return name


def _register(client: RabbitClient, record: dict[str, Any]) -> None:
    declare_queue(client, REGISTRY)
    with amqp_errors(client):
        ch = client.connection.channel()
        try:
            ch.basic_publish(
                "",
                REGISTRY,
                json.dumps(record).encode(),
                pika.BasicProperties(delivery_mode=2, content_type="application/json"),
            )
        finally:
            _close_quietly(ch)


def ensure_plugin_exchange(client: RabbitClient, target: Target) -> str:
    """The x-delayed-message exchange for `target`, declared and bound."""
    if target.queue is not None:
        name, kind = PLUGIN_EXCHANGE, "direct"
    else:
        name, kind = f"{PLUGIN_EXCHANGE}.{target.exchange}", "topic"
    try:
        declare_exchange(client, name, "x-delayed-message", arguments={"x-delayed-type": kind})
    except MqcliError as e:
        if "exchange type" in e.message:
            raise MqcliError(
                "RabbitMQ has no x-delayed-message exchange type: the rabbitmq_delayed_message_exchange plugin is not enabled",
                hint="enable it on the broker, or use the default --via ttl",
            ) from None
        raise
    if target.queue is not None:
        bind_queue(client, target.queue, name, target.queue)
    else:
        bind_exchange(client, target.exchange or "", name, "#")
    if not _registered_exchange(client, name):
        _register(client, {"exchange": name, "target": target.describe(), "via": "plugin"})
    return name


def _registered_exchange(client: RabbitClient, name: str) -> bool:
    return any(r.get("exchange") == name for r in _read_registry(client, clean=False))


def prepare_delayed(
    client: RabbitClient, settings: PublishSettings, *, delay_ms: int, target: Target, via: str
) -> None:
    """Check the target, declare the delay queue (or the plugin's exchange)
    and point `settings` at it, for publish_stream(..., settings).

    The same runs again after every reconnect (client.on_reconnect), before
    anything is sent again: the new connection may be to another host of the
    profile, where the delay queue does not exist yet (messages sent to it
    would come back unroutable) or the target is missing (exit 6).  Every
    step is idempotent."""

    def prepare() -> None:
        check_target(client, target)
        if via == "plugin":
            settings.exchange = ensure_plugin_exchange(client, target)
            settings.routing_key = target.queue if target.queue is not None else target.routing_key
            # An integer (the plugin ignores a string x-delay), replacing any -H x-delay.
            settings.headers = [*(h for h in settings.headers if h[0] != "x-delay"), ("x-delay", delay_ms)]
            # The plugin cannot route at publish time, so mandatory would return every message.
            settings.mandatory = False
        else:
            settings.exchange = ""
            settings.routing_key = ensure_delay_queue(client, delay_ms, target)
            settings.mandatory = True

    prepare()
    client.on_reconnect.append(prepare)


@dataclass
class DelayQueueStatus:
    name: str
    via: str
    target: str
    delay_ms: int | None
    waiting: int | None  # messages in the delay queue (None: not countable, plugin)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "via": self.via,
            "target": self.target,
            "delay_ms": self.delay_ms,
            "waiting": self.waiting,
        }


def _read_registry(client: RabbitClient, *, clean: bool) -> list[dict[str, Any]]:
    """Registry records; with `clean`, records of vanished queues and duplicates are removed."""
    if not queue_exists(client, REGISTRY):
        return []
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    with amqp_errors(client):
        ch = client.connection.channel()
        try:
            while True:
                method, _props, body = ch.basic_get(REGISTRY, auto_ack=False)
                if method is None:
                    break
                try:
                    record = json.loads(body)
                    key = record.get("queue") or record.get("exchange")
                except (ValueError, AttributeError):
                    record, key = None, None
                drop = record is None or key in seen
                if not drop and clean and record.get("queue") and not queue_exists(client, record["queue"]):
                    drop = True
                if drop:
                    if clean:
                        ch.basic_ack(method.delivery_tag)
                    continue
                seen.add(key)
                records.append(record)
        finally:
            # The records kept go back to the registry when the channel closes.
            _close_quietly(ch)
    return records


def status(client: RabbitClient) -> list[DelayQueueStatus]:
    out: list[DelayQueueStatus] = []
    for r in _read_registry(client, clean=True):
        if r.get("via") == "plugin":
            out.append(DelayQueueStatus(r["exchange"], "plugin", r.get("target", ""), None, None))
            continue
        try:
            waiting, _consumers = client.queue_info(r["queue"])
        except NotFound:
            continue
        out.append(DelayQueueStatus(r["queue"], "ttl", r.get("target", ""), r.get("delay_ms"), waiting))
    out.sort(key=lambda s: (s.target, s.delay_ms or 0))
    return out
