"""Carrying out a plan: each change through the broker's own client (Kafka's
Admin; AMQP declares and unbinds through core/rabbit/topology.py; policies
through the management API).  Refusals are checked by the caller before
anything starts: a plan with refusals never gets here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mqcli.core.errors import MqcliError
from mqcli.core.topology.manifest import Binding, Exchange, Policy, Queue, Topic
from mqcli.core.topology.plan import Change, Plan

if TYPE_CHECKING:
    from mqcli.core.kafka.contract import Admin
    from mqcli.core.rabbit.client import RabbitClient
    from mqcli.core.rabbit.management import ManagementClient


class Brokers:
    """The clients a plan needs, opened by the caller on first use (`kafka`, `amqp`, `management`)."""

    def __init__(
        self,
        vhost: str,
        kafka: Callable[[], Admin],
        amqp: Callable[[], RabbitClient],
        management: Callable[[], ManagementClient],
    ) -> None:
        self.vhost = vhost
        self.kafka = kafka
        self.amqp = amqp
        self.management = management


def execute(plan: Plan, brokers: Brokers, done: Callable[[Change], None]) -> None:
    """Apply every change in the plan's order; `done` after each one."""
    if plan.refusals:  # the caller's check; a guard so a refused plan can never half-apply
        raise MqcliError("the plan has refused changes: nothing applied")
    for change in plan.changes:
        if change.broker == "kafka":
            _kafka(change, brokers.kafka())
        elif change.kind == "policy":
            _policy(change, brokers)
        else:
            _rabbit(change, brokers.amqp())
        done(change)


def _kafka(change: Change, admin: Admin) -> None:
    topic: Topic = change.item
    if change.action == "create":
        admin.create_topic(topic.name, topic.partitions, topic.replication_factor, dict(topic.config))
    elif change.action == "delete":
        admin.delete_topic(topic.name, if_exists=True)
    else:
        set_configs: dict[str, str] = {}
        reset: list[str] = []
        for f in change.fields:
            if f.field == "partitions":
                admin.add_partitions(topic.name, int(f.new))
            elif f.field.startswith("config."):
                name = f.field.removeprefix("config.")
                if f.new is None:
                    reset.append(name)
                else:
                    set_configs[name] = str(f.new)
        admin.alter_topic_config(topic.name, set_configs, reset)


def _rabbit(change: Change, client: RabbitClient) -> None:
    from mqcli.core.rabbit import topology as t

    item = change.item
    if isinstance(item, Exchange):
        if change.action == "create":
            t.declare_exchange(
                client,
                item.name,
                item.type,
                durable=item.durable,
                auto_delete=item.auto_delete,
                internal=item.internal,
                arguments=item.arguments,
            )
        else:
            t.delete_exchange(client, item.name)
    elif isinstance(item, Queue):
        if change.action == "create":
            args = dict(item.arguments)
            if item.type != "classic":
                args["x-queue-type"] = item.type
            t.declare_queue(client, item.name, auto_delete=item.auto_delete, arguments=args)
        else:
            t.delete_queue(client, item.name)
    else:
        assert isinstance(item, Binding)
        to_queue = item.destination_type == "queue"
        if change.action == "create":
            bind = t.bind_queue if to_queue else t.bind_exchange
            bind(client, item.destination, item.exchange, item.routing_key, item.arguments)
        else:
            unbind = t.unbind_queue if to_queue else t.unbind_exchange
            unbind(client, item.destination, item.exchange, item.routing_key, item.arguments)


def _policy(change: Change, brokers: Brokers) -> None:
    from mqcli.core.rabbit.management import path

    policy: Policy = change.item
    client = brokers.management()
    where = path("policies", brokers.vhost, policy.name)
    if change.action == "delete":
        client.delete(where, what=f"policy '{policy.name}'")
        return
    body = {
        "pattern": policy.pattern,
        "definition": policy.definition,
        "apply-to": policy.apply_to,
        "priority": policy.priority,
    }
    client.put(where, body, what=f"vhost '{brokers.vhost}'")
