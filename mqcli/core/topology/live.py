"""The live topology, read into the manifest model: Kafka through the engine's
Admin, RabbitMQ through the management API (the one place that lists
exchanges, queues with their arguments, bindings and policies).

Left out, as they are not the user's to manage: Kafka's internal topics
(`__*`), RabbitMQ's built-in exchanges (the default one and `amq.*`),
server-named (`amq.gen-*`) and exclusive queues, and the default exchange's
implicit bindings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mqcli.core.topology.manifest import (
    Binding,
    Exchange,
    KafkaTopology,
    Policy,
    Queue,
    RabbitTopology,
    Topic,
    is_builtin_exchange,
)

if TYPE_CHECKING:
    from mqcli.core.kafka.contract import Admin
    from mqcli.core.rabbit.management import ManagementClient


def is_internal_topic(name: str) -> bool:
    return name.startswith("__")


def read_kafka(admin: Admin, wanted: Callable[[str], bool]) -> KafkaTopology:
    """The topics `wanted` names (internal ones never), with their own config overrides."""
    topics = [
        t
        for t in admin.list_topics(include_internal=False)
        if not t.get("internal") and not is_internal_topic(t["name"]) and wanted(t["name"])
    ]
    configs = admin.topic_configs([t["name"] for t in topics])
    out = KafkaTopology()
    for t in topics:
        if t["name"] not in configs:  # deleted between the two requests
            continue
        out.topics[t["name"]] = Topic(t["name"], t["partitions"], t["replication_factor"], configs[t["name"]])
    return out


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def is_server_named(queue: str) -> bool:
    return queue.startswith("amq.")  # amq.gen-* (and amq.* is reserved for the server anyway)


def read_rabbit(client: ManagementClient, vhost: str) -> RabbitTopology:
    """Exchanges, queues, bindings and policies of `vhost` (NotFound when it does not exist)."""
    from mqcli.core.rabbit.management import path

    what = f"vhost '{vhost}'"
    out = RabbitTopology(vhost)
    for x in client.get(
        path("exchanges", vhost), {"columns": "name,type,durable,auto_delete,internal,arguments"}, what=what
    ):
        if is_builtin_exchange(x["name"]):
            continue
        out.exchanges[x["name"]] = Exchange(
            x["name"],
            str(x.get("type", "direct")),
            bool(x.get("durable", True)),
            bool(x.get("auto_delete", False)),
            bool(x.get("internal", False)),
            _dict(x.get("arguments")),
        )
    skipped: set[str] = set()
    for q in client.get(
        path("queues", vhost), {"columns": "name,type,durable,auto_delete,exclusive,arguments"}, what=what
    ):
        if q.get("exclusive") or is_server_named(q["name"]):
            skipped.add(q["name"])
            continue
        args = _dict(q.get("arguments"))
        qtype = str(q.get("type") or args.get("x-queue-type") or "classic")
        args.pop("x-queue-type", None)  # it is `type`
        out.queues[q["name"]] = Queue(
            q["name"], qtype, bool(q.get("durable", True)), bool(q.get("auto_delete", False)), args
        )
    for b in client.get(path("bindings", vhost), what=what):
        if b.get("source", "") == "" or (b.get("destination_type") == "queue" and b["destination"] in skipped):
            continue
        out.bindings.append(
            Binding(
                b["source"],
                b["destination"],
                str(b.get("destination_type", "queue")),
                str(b.get("routing_key", "")),
                _dict(b.get("arguments")),
            )
        )
    for p in client.get(path("policies", vhost), what=what):
        out.policies[p["name"]] = Policy(
            p["name"],
            str(p.get("pattern", "")),
            _dict(p.get("definition")),
            str(p.get("apply-to", "all")),
            int(p.get("priority") or 0),
        )
    return out
