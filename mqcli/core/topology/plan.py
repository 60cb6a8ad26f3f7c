"""The plan between a manifest and the live state: what to create, change and
(with prune) delete, and the changes a broker cannot make in place, refused
with the reason and what to do instead.  Pure logic over the manifest model,
so it is tested without brokers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mqcli.core.topology.manifest import (
    Binding,
    Exchange,
    KafkaTopology,
    Manifest,
    Policy,
    Queue,
    RabbitTopology,
    Topic,
    is_builtin_exchange,
)

ACTIONS = {"create": "+", "change": "~", "delete": "-"}


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any  # None: not set (a create)
    new: Any  # None: removed (a config reset with prune)

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "from": self.old, "to": self.new}


@dataclass
class Change:
    action: str  # create | change | delete
    broker: str  # kafka | rabbit
    kind: str  # topic | exchange | queue | binding | policy
    name: str
    item: Any  # the desired object (create, change) or the live one (delete)
    fields: list[FieldChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "broker": self.broker,
            "kind": self.kind,
            "name": self.name,
            "fields": [f.to_dict() for f in self.fields],
        }

    def line(self) -> str:
        """One readable line: `+ kafka topic orders (partitions=6)`, `~ … a -> b`, `- …`."""
        head = f"{ACTIONS[self.action]} {self.broker} {self.kind} {self.name}"
        if self.action == "create" and self.fields:
            return head + " (" + ", ".join(f"{f.field}={show(f.new)}" for f in self.fields) + ")"
        if self.action == "change":
            return head + ": " + ", ".join(f"{f.field} {show(f.old)} -> {show(f.new)}" for f in self.fields)
        return head


@dataclass(frozen=True)
class Refusal:
    """A change the broker cannot make in place: none of the plan is applied while there is one."""

    broker: str
    kind: str
    name: str
    field: str
    old: Any
    new: Any
    reason: str
    instead: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "broker": self.broker,
            "kind": self.kind,
            "name": self.name,
            "field": self.field,
            "from": self.old,
            "to": self.new,
            "reason": self.reason,
            "instead": self.instead,
        }

    def line(self) -> str:
        change = f"{self.field} {show(self.old)} -> {show(self.new)}" if self.field else "refused"
        return f"! {self.broker} {self.kind} {self.name}: {change}: {self.reason}; instead: {self.instead}"


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        return not self.changes and not self.refusals

    @property
    def deletions(self) -> list[Change]:
        return [c for c in self.changes if c.action == "delete"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "in_sync": self.in_sync,
            "changes": [c.to_dict() for c in self.changes],
            "refused": [r.to_dict() for r in self.refusals],
        }

    def lines(self) -> list[str]:
        return [r.line() for r in self.refusals] + [c.line() for c in self.changes]

    def summary(self, *, done: bool = False) -> str:
        """`1 to create, 2 to change, 0 to delete` (done: `1 created, 2 changed, 0 deleted`)."""
        counts = {a: sum(1 for c in self.changes if c.action == a) for a in ACTIONS}
        words = ("created", "changed", "deleted") if done else ("to create", "to change", "to delete")
        text = ", ".join(f"{counts[a]} {w}" for a, w in zip(ACTIONS, words, strict=True))
        return text + (f", {len(self.refusals)} refused" if self.refusals else "")


def show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return value if value and value.isprintable() and value.strip() == value else json.dumps(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


Scope = Callable[[str], bool]


def _everything(name: str) -> bool:
    return True


def match_scope(pattern: str | None) -> Scope:
    """--match REGEX (searched anywhere in a name) as a scope; None: everything."""
    if pattern is None:
        return _everything
    regex = re.compile(pattern)
    return lambda name: regex.search(name) is not None


# -- planning ----------------------------------------------------------------------------------


def make_plan(desired: Manifest, live: Manifest, *, prune: bool = False, scope: Scope = _everything) -> Plan:
    """desired vs live -> the plan.  `scope` says which live objects that the
    manifest does not name `prune` may delete (everything by default)."""
    plan = Plan()
    if desired.kafka is not None:
        _kafka(plan, desired.kafka, live.kafka or KafkaTopology(), prune, scope)
    if desired.rabbit is not None:
        _rabbit(plan, desired.rabbit, live.rabbit or RabbitTopology(), prune, scope)
    # Creates and changes first, in dependency order (exchanges and queues before
    # their bindings), then deletions in the reverse order (bindings first).
    order = {"topic": 0, "exchange": 1, "queue": 2, "binding": 3, "policy": 4}
    undo = {"binding": 0, "queue": 1, "exchange": 2, "policy": 3, "topic": 4}
    ahead = [c for c in plan.changes if c.action != "delete"]
    gone = [c for c in plan.changes if c.action == "delete"]
    ahead.sort(key=lambda c: order[c.kind])
    gone.sort(key=lambda c: undo[c.kind])
    plan.changes = ahead + gone
    return plan


def _topic_fields(t: Topic) -> list[FieldChange]:
    out = []
    if t.partitions is not None:
        out.append(FieldChange("partitions", None, t.partitions))
    if t.replication_factor is not None:
        out.append(FieldChange("replication_factor", None, t.replication_factor))
    out += [FieldChange(f"config.{k}", None, v) for k, v in sorted(t.config.items())]
    return out


def _kafka(plan: Plan, desired: KafkaTopology, live: KafkaTopology, prune: bool, scope: Scope) -> None:
    for name, want in desired.topics.items():
        have = live.topics.get(name)
        if have is None:
            plan.changes.append(Change("create", "kafka", "topic", name, want, _topic_fields(want)))
            continue
        fields: list[FieldChange] = []
        if want.partitions is not None and have.partitions is not None and want.partitions != have.partitions:
            if want.partitions < have.partitions:
                plan.refusals.append(
                    Refusal(
                        "kafka",
                        "topic",
                        name,
                        "partitions",
                        have.partitions,
                        want.partitions,
                        "Kafka cannot remove partitions from a topic",
                        f"keep partitions: {have.partitions}, or create a new topic with {want.partitions} "
                        "and copy the records to it (mqcli copy)",
                    )
                )
            else:
                fields.append(FieldChange("partitions", have.partitions, want.partitions))
        if (
            want.replication_factor is not None
            and have.replication_factor is not None
            and want.replication_factor != have.replication_factor
        ):
            plan.refusals.append(
                Refusal(
                    "kafka",
                    "topic",
                    name,
                    "replication_factor",
                    have.replication_factor,
                    want.replication_factor,
                    "a topic's replication factor changes only by reassigning its partitions",
                    "reassign them with Kafka's kafka-reassign-partitions.sh, "
                    f"or write replication_factor: {have.replication_factor}",
                )
            )
        for key, value in sorted(want.config.items()):
            if have.config.get(key) != value:
                fields.append(FieldChange(f"config.{key}", have.config.get(key), value))
        if prune:
            fields += [
                FieldChange(f"config.{key}", value, None)
                for key, value in sorted(have.config.items())
                if key not in want.config
            ]
        if fields:
            plan.changes.append(Change("change", "kafka", "topic", name, want, fields))
    if prune:
        for name, have in sorted(live.topics.items()):
            if name not in desired.topics and scope(name):
                plan.changes.append(Change("delete", "kafka", "topic", name, have))


_EXCHANGE_FIELDS = ("type", "durable", "auto_delete", "internal", "arguments")
_QUEUE_FIELDS = ("type", "durable", "auto_delete", "arguments")
_POLICY_FIELDS = ("pattern", "definition", "apply_to", "priority")
_DEFAULTS: dict[str, Any] = {
    "durable": True,
    "auto_delete": False,
    "internal": False,
    "arguments": {},
    "apply_to": "all",
    "priority": 0,
}


def _created(item: Exchange | Queue | Policy, names: tuple[str, ...]) -> list[FieldChange]:
    """The fields worth showing for a new object: those not at their defaults."""
    out = []
    for n in names:
        value = getattr(item, n)
        if n in _DEFAULTS and value == _DEFAULTS[n]:
            continue
        if n == "type" and value == "classic":
            continue
        out.append(FieldChange(n, None, value))
    return out


def _rabbit(plan: Plan, desired: RabbitTopology, live: RabbitTopology, prune: bool, scope: Scope) -> None:
    for name, want_x in desired.exchanges.items():
        have_x = live.exchanges.get(name)
        if have_x is None:
            plan.changes.append(
                Change("create", "rabbit", "exchange", name, want_x, _created(want_x, _EXCHANGE_FIELDS))
            )
            continue
        for n in _EXCHANGE_FIELDS:
            if getattr(want_x, n) != getattr(have_x, n):
                plan.refusals.append(
                    Refusal(
                        "rabbit",
                        "exchange",
                        name,
                        n,
                        getattr(have_x, n),
                        getattr(want_x, n),
                        "RabbitMQ fixes an exchange's type, flags and arguments when it is declared",
                        "delete the exchange (its bindings go with it) and apply again, "
                        "or declare the new one under another name",
                    )
                )
    for name, want_q in desired.queues.items():
        have_q = live.queues.get(name)
        if have_q is None:
            plan.changes.append(Change("create", "rabbit", "queue", name, want_q, _created(want_q, _QUEUE_FIELDS)))
            continue
        for n in _QUEUE_FIELDS:
            if getattr(want_q, n) != getattr(have_q, n):
                plan.refusals.append(
                    Refusal(
                        "rabbit",
                        "queue",
                        name,
                        n,
                        getattr(have_q, n),
                        getattr(want_q, n),
                        "RabbitMQ fixes a queue's type, flags and arguments when it is declared",
                        "set what a policy can set (TTL, length limits, dead-lettering) in rabbit.policies, "
                        "or create a new queue, move the messages to it (mqcli move) and delete this one",
                    )
                )

    def pruned(kind: str, name: str) -> bool:
        return prune and scope(name) and name not in (desired.exchanges if kind == "exchange" else desired.queues)

    live_bindings = {b.key(): b for b in live.bindings}
    for b in desired.bindings:
        problem = None
        if not (is_builtin_exchange(b.exchange) or b.exchange in desired.exchanges or b.exchange in live.exchanges):
            problem = (
                f"exchange {b.exchange!r} is neither in the manifest nor on the broker",
                "add it to rabbit.exchanges",
            )
        elif b.exchange in live.exchanges and pruned("exchange", b.exchange):
            problem = f"exchange {b.exchange!r} would be deleted by --prune", "add it to rabbit.exchanges"
        else:
            where = desired.queues if b.destination_type == "queue" else desired.exchanges
            there = live.queues if b.destination_type == "queue" else live.exchanges
            section = "rabbit.queues" if b.destination_type == "queue" else "rabbit.exchanges"
            if b.destination not in where and b.destination not in there:
                problem = (
                    f"{b.destination_type} {b.destination!r} is neither in the manifest nor on the broker",
                    f"add it to {section}",
                )
            elif b.destination not in where and pruned(b.destination_type, b.destination):
                problem = f"{b.destination_type} {b.destination!r} would be deleted by --prune", f"add it to {section}"
        if problem is not None:
            plan.refusals.append(Refusal("rabbit", "binding", b.label(), "", None, None, problem[0], problem[1]))
        elif b.key() not in live_bindings:
            plan.changes.append(Change("create", "rabbit", "binding", b.label(), b))
    for name, want_p in desired.policies.items():
        have_p = live.policies.get(name)
        if have_p is None:
            plan.changes.append(Change("create", "rabbit", "policy", name, want_p, _created(want_p, _POLICY_FIELDS)))
            continue
        fields = [
            FieldChange(n, getattr(have_p, n), getattr(want_p, n))
            for n in _POLICY_FIELDS
            if getattr(have_p, n) != getattr(want_p, n)
        ]
        if fields:  # a policy is replaced in place (PUT)
            plan.changes.append(Change("change", "rabbit", "policy", name, want_p, fields))

    if not prune:
        return
    wanted = {b.key() for b in desired.bindings}
    for key, have_b in sorted(live_bindings.items()):
        if key not in wanted and _binding_in_scope(have_b, scope):
            plan.changes.append(Change("delete", "rabbit", "binding", have_b.label(), have_b))
    for name, have_q in sorted(live.queues.items()):
        if name not in desired.queues and scope(name):
            plan.changes.append(Change("delete", "rabbit", "queue", name, have_q))
    for name, have_x in sorted(live.exchanges.items()):
        if name not in desired.exchanges and scope(name):
            plan.changes.append(Change("delete", "rabbit", "exchange", name, have_x))
    for name, have_p in sorted(live.policies.items()):
        if name not in desired.policies and scope(name):
            plan.changes.append(Change("delete", "rabbit", "policy", name, have_p))


def _binding_in_scope(b: Binding, scope: Scope) -> bool:
    """A binding is in scope when its destination is, and its source is too or is
    built in: what `export --match` writes is then a manifest that applies on its own."""
    return scope(b.destination) and (is_builtin_exchange(b.exchange) or scope(b.exchange))


def select(live: Manifest, scope: Scope) -> Manifest:
    """The live objects in `scope` (for export): bindings as _binding_in_scope."""
    out = Manifest()
    if live.kafka is not None:
        out.kafka = KafkaTopology({n: t for n, t in live.kafka.topics.items() if scope(n)})
    if live.rabbit is not None:
        r = live.rabbit
        out.rabbit = RabbitTopology(
            r.vhost,
            {n: x for n, x in r.exchanges.items() if scope(n)},
            {n: q for n, q in r.queues.items() if scope(n)},
            [b for b in r.bindings if _binding_in_scope(b, scope)],
            {n: p for n, p in r.policies.items() if scope(n)},
        )
    return out
