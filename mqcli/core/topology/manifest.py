"""The topology manifest: one YAML file naming Kafka topics and RabbitMQ
exchanges, queues, bindings and policies.

    kafka:
      topics:
        orders: {partitions: 6, replication_factor: 3, config: {retention.ms: 604800000}}
    rabbit:
      vhost: /
      exchanges:
        events: {type: topic}
      queues:
        jobs: {type: quorum, arguments: {x-dead-letter-exchange: "", x-dead-letter-routing-key: jobs.dead}}
        jobs.dead: {}
      bindings:
        - {exchange: events, queue: jobs, routing_key: "job.*"}
      policies:
        ttl-dead: {pattern: "^jobs\\\\.dead$", definition: {message-ttl: 86400000}, apply_to: queues}

It is read with the config file's YAML reader (mqcli.core.config.document):
the same `file:line: key.path: message` errors, merge keys, duplicate keys
refused, `x-*` top-level keys for anchors, and `${VAR}`, `${VAR:-default}`
and `$$` in names and values (not in the keys of config, arguments and
definition mappings, which are Kafka's and RabbitMQ's own words).  The model here is also what live.py reads
from the brokers and what `export` writes (`to_yaml`), so a manifest and a
broker's state compare field by field (plan.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mqcli.core.config.document import compose_file, is_null, items, node_kind, scalar, suggest, where
from mqcli.core.config.interpolation import InterpolationError, interpolate
from mqcli.core.config.layers import Origin
from mqcli.core.errors import ConfigError

WHAT = "topology manifest"
QUEUE_TYPES = ("classic", "quorum", "stream")
POLICY_TARGETS = ("all", "queues", "exchanges", "classic_queues", "quorum_queues", "streams")
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")


# -- the model ------------------------------------------------------------------------------


@dataclass
class Topic:
    name: str
    partitions: int | None = None  # None: the broker's default (and not compared)
    replication_factor: int | None = None
    config: dict[str, str] = field(default_factory=dict)  # topic-level overrides, as Kafka's text


@dataclass
class Exchange:
    name: str
    type: str = "direct"
    durable: bool = True
    auto_delete: bool = False
    internal: bool = False
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class Queue:
    name: str
    type: str = "classic"
    durable: bool = True
    auto_delete: bool = False
    arguments: dict[str, Any] = field(default_factory=dict)  # x-queue-type is `type`, not here


@dataclass
class Binding:
    exchange: str  # the source
    destination: str
    destination_type: str = "queue"  # queue | exchange
    routing_key: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)

    def key(self) -> tuple[str, str, str, str, str]:
        """What makes a binding itself: RabbitMQ has no other identity for it."""
        return (
            self.exchange,
            self.destination_type,
            self.destination,
            self.routing_key,
            json.dumps(self.arguments, sort_keys=True),
        )

    def label(self) -> str:
        args = f" {json.dumps(self.arguments, sort_keys=True)}" if self.arguments else ""
        return f"{self.exchange} -> {self.destination_type} {self.destination} [{self.routing_key}]{args}"


@dataclass
class Policy:
    name: str
    pattern: str
    definition: dict[str, Any]
    apply_to: str = "all"
    priority: int = 0


@dataclass
class KafkaTopology:
    topics: dict[str, Topic] = field(default_factory=dict)


@dataclass
class RabbitTopology:
    vhost: str | None = None  # None: the profile's
    exchanges: dict[str, Exchange] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    bindings: list[Binding] = field(default_factory=list)
    policies: dict[str, Policy] = field(default_factory=dict)


@dataclass
class Manifest:
    """A broker's section absent (None): that broker is neither read nor changed."""

    kafka: KafkaTopology | None = None
    rabbit: RabbitTopology | None = None


def config_text(value: object) -> str:
    """A topic config value as Kafka writes it: true/false, numbers and lists as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(config_text(v) for v in value)
    return str(value)


def is_builtin_exchange(name: str) -> bool:
    """The default exchange and the amq.* ones: they exist on every vhost and cannot be declared."""
    return name == "" or name.startswith("amq.")


# -- reading --------------------------------------------------------------------------------


def read_manifest(path: Path, env: Mapping[str, str], text: str | None = None) -> Manifest:
    """Parse and validate a manifest file (`text`: its content, already read, e.g. from stdin).

    Raises ConfigError (exit 3) with `file:line: key.path: message`.
    """
    root = compose_file(path, WHAT, text)
    if root is None or is_null(root):
        raise ConfigError(f"{path}: the {WHAT} is empty (add a kafka: and/or rabbit: section)")
    return _Reader(path, env).manifest(root)


class _Reader:
    def __init__(self, path: Path, env: Mapping[str, str]) -> None:
        self.path = path
        self.env = env

    # -- helpers -----------------------------------------------------------------------------
    def fail(self, node: Node, keys: tuple[str, ...], message: str) -> ConfigError:
        if not keys:  # the top level has no key path to name
            return ConfigError(f"{where(self.path, node)}: {message}")
        error = Origin(where(self.path, node)).error(keys, message)
        assert isinstance(error, ConfigError)  # an Origin without flag or $ makes ConfigErrors
        return error

    def mapping(
        self, node: Node, keys: tuple[str, ...], allowed: tuple[str, ...] | None = None
    ) -> list[tuple[ScalarNode, Node]]:
        """A mapping's entries (null: none); with `allowed`, unknown keys are errors."""
        if is_null(node):
            return []
        if not isinstance(node, MappingNode):
            raise self.fail(node, keys, f"expected a mapping, got {node_kind(node)}")
        prefix = "".join(k + "." for k in keys)
        entries = list(items(self.path, node, prefix))
        if allowed is not None:
            for key, _ in entries:
                if key.value not in allowed:
                    raise self.fail(key, keys + (key.value,), "unknown key" + suggest(key.value, list(allowed)))
        return entries

    def text(self, node: ScalarNode, keys: tuple[str, ...]) -> str:
        try:
            return interpolate(node.value, self.env)
        except InterpolationError as e:
            raise self.fail(node, keys, str(e)) from None

    def value(self, node: Node, keys: tuple[str, ...]) -> Any:
        """Any YAML value as plain data (strings interpolated), for arguments and definitions."""
        if isinstance(node, MappingNode):
            return {k.value: self.value(v, keys + (k.value,)) for k, v in self.mapping(node, keys)}
        if isinstance(node, SequenceNode):
            return [self.value(item, keys) for item in node.value]
        assert isinstance(node, ScalarNode)
        typed = scalar(node)
        if isinstance(typed, str):
            return self.text(node, keys)
        if typed is None or isinstance(typed, (bool, int, float)):
            return typed
        return node.value  # a date or the like: its text, as RabbitMQ would get it in JSON

    def string(self, node: Node, keys: tuple[str, ...], *, empty: bool = True) -> str:
        if not isinstance(node, ScalarNode) or is_null(node):
            raise self.fail(node, keys, f"expected a string, got {'nothing' if is_null(node) else node_kind(node)}")
        typed = scalar(node)
        if isinstance(typed, bool):
            raise self.fail(node, keys, "expected a string, got a boolean (quote it)")
        text = self.text(node, keys) if isinstance(typed, str) else node.value
        if not text and not empty:
            raise self.fail(node, keys, "expected a name, got an empty string")
        return text

    def whole(self, node: Node, keys: tuple[str, ...], minimum: int) -> int:
        if isinstance(node, ScalarNode) and not is_null(node):
            typed = scalar(node)
            if isinstance(typed, str):
                typed = self.text(node, keys).strip()
                if re.fullmatch(r"[0-9]+", typed):
                    typed = int(typed)
            if isinstance(typed, int) and not isinstance(typed, bool) and typed >= minimum:
                return typed
        raise self.fail(node, keys, f"expected a whole number of at least {minimum}")

    def boolean(self, node: Node, keys: tuple[str, ...]) -> bool:
        if isinstance(node, ScalarNode):
            typed = scalar(node)
            if isinstance(typed, str):
                typed = {"true": True, "false": False}.get(self.text(node, keys).strip().lower(), typed)
            if isinstance(typed, bool):
                return typed
        raise self.fail(node, keys, "expected true or false")

    def choice(self, node: Node, keys: tuple[str, ...], choices: tuple[str, ...]) -> str:
        text = self.string(node, keys)
        if text not in choices:
            raise self.fail(node, keys, f"expected one of {', '.join(choices)}, got {text!r}")
        return text

    def fields(
        self, node: Node, keys: tuple[str, ...], readers: Mapping[str, Callable[[Node, tuple[str, ...]], Any]]
    ) -> dict[str, Any]:
        """An item's mapping, each key read by its reader; unknown keys are errors."""
        out: dict[str, Any] = {}
        for key, value in self.mapping(node, keys, tuple(readers)):
            out[key.value] = readers[key.value](value, keys + (key.value,))
        return out

    def dict_of(self, node: Node, keys: tuple[str, ...]) -> dict[str, Any]:
        """arguments: / definition: a mapping of names to any values."""
        if not is_null(node) and not isinstance(node, MappingNode):
            raise self.fail(node, keys, f"expected a mapping, got {node_kind(node)}")
        value = self.value(node, keys)
        return value if isinstance(value, dict) else {}

    # -- sections ------------------------------------------------------------------------------
    def manifest(self, root: Node) -> Manifest:
        if not isinstance(root, MappingNode):
            raise self.fail(root, (), f"expected a mapping with kafka: and/or rabbit:, got {node_kind(root)}")
        manifest = Manifest()
        for key, value in items(self.path, root, ""):
            if key.value == "kafka":
                manifest.kafka = self.kafka(value)
            elif key.value == "rabbit":
                manifest.rabbit = self.rabbit(value)
            elif not key.value.startswith("x-"):  # x-* keys hold shared YAML anchors, as in the config file
                raise self.fail(key, (key.value,), "unknown key" + suggest(key.value, ["kafka", "rabbit"]))
        if manifest.kafka is None and manifest.rabbit is None:
            raise self.fail(root, (), "nothing to manage: add a kafka: and/or rabbit: section")
        return manifest

    def kafka(self, node: Node) -> KafkaTopology:
        out = KafkaTopology()
        for _key, value in self.mapping(node, ("kafka",), ("topics",)):
            for name_node, spec in self.mapping(value, ("kafka", "topics")):
                name = self.text(name_node, ("kafka", "topics", name_node.value))
                keys = ("kafka", "topics", name)
                if not _TOPIC_NAME.fullmatch(name) or name in (".", ".."):
                    raise self.fail(
                        name_node, keys, "invalid topic name (use 1-249 of the characters a-z A-Z 0-9 . _ -)"
                    )
                f = self.fields(
                    spec,
                    keys,
                    {
                        "partitions": lambda n, k: self.whole(n, k, 1),
                        "replication_factor": lambda n, k: self.whole(n, k, 1),
                        "config": self.topic_config,
                    },
                )
                if name in out.topics:
                    raise self.fail(name_node, keys, "the same topic as another key (after ${VAR} expansion)")
                out.topics[name] = Topic(name, f.get("partitions"), f.get("replication_factor"), f.get("config", {}))
        return out

    def topic_config(self, node: Node, keys: tuple[str, ...]) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in self.mapping(node, keys):
            here = keys + (key.value,)
            if isinstance(value, MappingNode) or is_null(value):
                raise self.fail(
                    value,
                    here,
                    "expected a value (leave the key out to keep the broker's default)"
                    if is_null(value)
                    else "expected a value, got a mapping",
                )
            out[key.value] = config_text(self.value(value, here))
        return out

    def rabbit(self, node: Node) -> RabbitTopology:
        out = RabbitTopology()
        sections = ("vhost", "exchanges", "queues", "bindings", "policies")
        for key, value in self.mapping(node, ("rabbit",), sections):
            keys = ("rabbit", key.value)
            if key.value == "vhost":
                out.vhost = self.string(value, keys, empty=False)
            elif key.value == "exchanges":
                for name_node, spec in self.mapping(value, keys):
                    x = self.exchange(self.name(name_node, keys, out.exchanges), name_node, spec, keys)
                    out.exchanges[x.name] = x
            elif key.value == "queues":
                for name_node, spec in self.mapping(value, keys):
                    q = self.queue(self.name(name_node, keys, out.queues), name_node, spec, keys)
                    out.queues[q.name] = q
            elif key.value == "bindings":
                out.bindings = self.bindings(value, keys)
            else:
                for name_node, spec in self.mapping(value, keys):
                    p = self.policy(self.name(name_node, keys, out.policies), name_node, spec, keys)
                    out.policies[p.name] = p
        return out

    def name(self, node: ScalarNode, section: tuple[str, ...], seen: Mapping[str, object]) -> str:
        """An object's name: its key, ${VAR}s expanded."""
        name = self.text(node, section + (node.value,))
        if name in seen:
            raise self.fail(node, section + (name,), "the same name as another key (after ${VAR} expansion)")
        return name

    def exchange(self, name: str, name_node: ScalarNode, spec: Node, section: tuple[str, ...]) -> Exchange:
        keys = section + (name,)
        if is_builtin_exchange(name):
            raise self.fail(name_node, keys, "the default and amq.* exchanges are built in and cannot be declared")
        f = self.fields(
            spec,
            keys,
            {
                "type": lambda n, k: self.string(n, k, empty=False),
                "durable": self.boolean,
                "auto_delete": self.boolean,
                "internal": self.boolean,
                "arguments": self.dict_of,
            },
        )
        return Exchange(name, **f)

    def queue(self, name: str, name_node: ScalarNode, spec: Node, section: tuple[str, ...]) -> Queue:
        keys = section + (name,)
        if not name or name.startswith("amq."):
            raise self.fail(name_node, keys, "queue names starting with amq. (or empty) are reserved by RabbitMQ")
        if len(name.encode("utf-8")) > 255:
            raise self.fail(name_node, keys, "a queue name is at most 255 bytes")
        f = self.fields(
            spec,
            keys,
            {
                "type": lambda n, k: self.choice(n, k, QUEUE_TYPES),
                "durable": self.boolean,
                "auto_delete": self.boolean,
                "arguments": self.dict_of,
            },
        )
        args = f.get("arguments", {})
        if "x-queue-type" in args:
            raise self.fail(spec, keys + ("arguments", "x-queue-type"), "write the queue type as type: instead")
        q = Queue(name, **f)
        if not q.durable:
            # RabbitMQ 4 refuses transient queues that are not exclusive, and an
            # exclusive queue belongs to one connection: neither fits a manifest.
            raise self.fail(spec, keys + ("durable",), "queues in a manifest are durable (remove durable: false)")
        if q.type != "classic" and q.auto_delete:
            raise self.fail(spec, keys + ("auto_delete",), f"{q.type} queues cannot be auto-delete")
        return q

    def bindings(self, node: Node, keys: tuple[str, ...]) -> list[Binding]:
        if is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            raise self.fail(node, keys, f"expected a list of bindings, got {node_kind(node)}")
        out: list[Binding] = []
        seen: dict[tuple[str, str, str, str, str], int] = {}
        for i, item in enumerate(node.value):
            here = keys + (str(i),)
            f = self.fields(
                item,
                here,
                {
                    "exchange": lambda n, k: self.string(n, k, empty=False),
                    "queue": lambda n, k: self.string(n, k, empty=False),
                    "to_exchange": lambda n, k: self.string(n, k, empty=False),
                    "routing_key": self.string,
                    "arguments": self.dict_of,
                },
            )
            if "exchange" not in f:
                raise self.fail(item, here, "a binding needs exchange: (its source)")
            if f["exchange"] == "":
                raise self.fail(item, here, "queues cannot be bound to the default exchange")
            if ("queue" in f) == ("to_exchange" in f):
                raise self.fail(item, here, "a binding needs either queue: or to_exchange: (its destination)")
            binding = Binding(
                f["exchange"],
                f.get("queue") or f["to_exchange"],
                "queue" if "queue" in f else "exchange",
                f.get("routing_key", ""),
                f.get("arguments", {}),
            )
            if binding.key() in seen:
                raise self.fail(item, here, f"the same binding as rabbit.bindings.{seen[binding.key()]}")
            seen[binding.key()] = i
            out.append(binding)
        return out

    def policy(self, name: str, name_node: ScalarNode, spec: Node, section: tuple[str, ...]) -> Policy:
        keys = section + (name,)
        f = self.fields(
            spec,
            keys,
            {
                "pattern": self.string,
                "definition": self.dict_of,
                "apply_to": lambda n, k: self.choice(n, k, POLICY_TARGETS),
                "priority": lambda n, k: self.whole(n, k, 0),
            },
        )
        for required in ("pattern", "definition"):
            if required not in f:
                raise self.fail(spec, keys, f"a policy needs {required}:")
        try:
            re.compile(f["pattern"])
        except re.error as e:
            raise self.fail(spec, keys + ("pattern",), f"invalid regular expression: {e}") from None
        if not f["definition"]:
            raise self.fail(spec, keys + ("definition",), "a policy needs at least one key in its definition")
        return Policy(name, **f)


# -- writing (export) -----------------------------------------------------------------------


def _name(name: str) -> str:
    return name.replace("$", "$$")


def _escape(value: Any) -> Any:
    """`$` -> `$$` in string values, so reading the file back does not interpolate them."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def to_document(manifest: Manifest) -> dict[str, Any]:
    """The manifest as plain data in the file's layout, defaults left out."""
    doc: dict[str, Any] = {}
    if manifest.kafka is not None:
        topics: dict[str, Any] = {}
        for name, t in sorted(manifest.kafka.topics.items()):
            spec: dict[str, Any] = {}
            if t.partitions is not None:
                spec["partitions"] = t.partitions
            if t.replication_factor is not None:
                spec["replication_factor"] = t.replication_factor
            if t.config:
                spec["config"] = dict(sorted(t.config.items()))
            topics[_name(name)] = spec
        doc["kafka"] = {"topics": topics}
    if manifest.rabbit is not None:
        r = manifest.rabbit
        rabbit: dict[str, Any] = {}
        if r.vhost is not None:
            rabbit["vhost"] = r.vhost
        exchanges = {}
        for name, x in sorted(r.exchanges.items()):
            spec = {"type": x.type}
            if not x.durable:
                spec["durable"] = False
            if x.auto_delete:
                spec["auto_delete"] = True
            if x.internal:
                spec["internal"] = True
            if x.arguments:
                spec["arguments"] = x.arguments
            exchanges[_name(name)] = spec
        queues = {}
        for name, q in sorted(r.queues.items()):
            qspec: dict[str, Any] = {}
            if q.type != "classic":
                qspec["type"] = q.type
            if q.auto_delete:
                qspec["auto_delete"] = True
            if q.arguments:
                qspec["arguments"] = dict(sorted(q.arguments.items()))
            queues[_name(name)] = qspec
        bindings = []
        for b in sorted(r.bindings, key=Binding.key):
            bspec: dict[str, Any] = {"exchange": b.exchange}
            bspec["queue" if b.destination_type == "queue" else "to_exchange"] = b.destination
            if b.routing_key:
                bspec["routing_key"] = b.routing_key
            if b.arguments:
                bspec["arguments"] = b.arguments
            bindings.append(bspec)
        policies = {}
        for name, p in sorted(r.policies.items()):
            pspec: dict[str, Any] = {"pattern": p.pattern, "definition": p.definition}
            if p.apply_to != "all":
                pspec["apply_to"] = p.apply_to
            if p.priority:
                pspec["priority"] = p.priority
            policies[_name(name)] = pspec
        rabbit.update(exchanges=exchanges, queues=queues, bindings=bindings, policies=policies)
        doc["rabbit"] = rabbit
    return doc


def to_yaml(manifest: Manifest) -> str:
    """The manifest as a file that read_manifest reads back to the same model."""
    import yaml

    doc = _escape(to_document(manifest))
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, allow_unicode=True, width=120)
    if yaml.safe_load(text) != doc:
        # PyYAML writes some line-break characters (U+0085, U+2028) in names
        # unescaped, and reads them back as spaces: escaped text is exact.
        text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, allow_unicode=False, width=120)
    return text
