"""What the management API's documents become in mqcli's listings: rows with
the columns users look at, filtered and sorted.  Pure functions over the
API's JSON (core/rabbit/management.py fetches it), so they are tested without a broker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mqcli.core.errors import UsageError

QUEUE_SORTS = ("name", "depth", "rate")

# The queue fields a listing asks for (the API's `columns`: less JSON for 1,000 queues).
QUEUE_COLUMNS = (
    "name",
    "vhost",
    "type",
    "state",
    "messages_ready",
    "messages_unacknowledged",
    "consumers",
    "memory",
    "message_stats.publish_details.rate",
    "message_stats.deliver_get_details.rate",
)


def _get(doc: Mapping[str, Any], *keys: str, default: Any = None) -> Any:
    """doc[k1][k2]... or default when any level is missing."""
    cur: Any = doc
    for key in keys:
        if not isinstance(cur, Mapping) or key not in cur:
            return default
        cur = cur[key]
    return cur


def _int(v: Any) -> int:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0


def _rate(v: Any) -> float:
    return round(float(v), 1) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


def name_filter(pattern: str | None) -> re.Pattern[str] | None:
    """--match REGEX (searched anywhere in the name); a bad one is a usage error."""
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as e:
        raise UsageError(f"invalid --match regex {pattern!r}: {e}") from None


@dataclass(frozen=True)
class QueueRow:
    name: str
    vhost: str
    type: str
    state: str
    ready: int
    unacked: int
    consumers: int
    publish_rate: float  # messages/s in
    deliver_rate: float  # messages/s out (deliver + get)
    memory: int  # bytes

    COLUMNS = ("queue", "vhost", "type", "state", "ready", "unacked", "consumers", "in/s", "out/s", "memory")

    @classmethod
    def from_api(cls, doc: Mapping[str, Any]) -> QueueRow:
        return cls(
            name=str(doc.get("name", "")),
            vhost=str(doc.get("vhost", "")),
            type=str(doc.get("type") or "classic"),
            # A queue without a state yet (just declared, stats not in) is running.
            state=str(doc.get("state") or "running"),
            ready=_int(doc.get("messages_ready")),
            unacked=_int(doc.get("messages_unacknowledged")),
            consumers=_int(doc.get("consumers")),
            publish_rate=_rate(_get(doc, "message_stats", "publish_details", "rate")),
            deliver_rate=_rate(_get(doc, "message_stats", "deliver_get_details", "rate")),
            memory=_int(doc.get("memory")),
        )

    @property
    def depth(self) -> int:
        return self.ready + self.unacked

    def cells(self) -> tuple[Any, ...]:
        return (
            self.name,
            self.vhost,
            self.type,
            self.state,
            self.ready,
            self.unacked,
            self.consumers,
            self.publish_rate,
            self.deliver_rate,
            self.memory,
        )

    def to_dict(self) -> dict[str, Any]:
        # What asdict() gives, without its deep copy (a watch builds 1,000 of these per refresh).
        return {
            "name": self.name,
            "vhost": self.vhost,
            "type": self.type,
            "state": self.state,
            "ready": self.ready,
            "unacked": self.unacked,
            "consumers": self.consumers,
            "publish_rate": self.publish_rate,
            "deliver_rate": self.deliver_rate,
            "memory": self.memory,
        }


class QueueRowCache:
    """QueueRow.from_api that gives back the previous refresh's row for a queue whose
    document did not change (most of them, between two looks at 1,000 queues), so
    a watch can reuse all it built from that row.  Queues gone are forgotten."""

    def __init__(self) -> None:
        self._last: dict[tuple[Any, Any], tuple[Mapping[str, Any], QueueRow]] = {}

    def rows(self, docs: Iterable[Mapping[str, Any]]) -> list[QueueRow]:
        last = self._last
        now: dict[tuple[Any, Any], tuple[Mapping[str, Any], QueueRow]] = {}
        out = []
        for doc in docs:
            key = (doc.get("vhost"), doc.get("name"))
            hit = last.get(key)
            row = hit[1] if hit is not None and hit[0] == doc else QueueRow.from_api(doc)
            now[key] = (doc, row)
            out.append(row)
        self._last = now
        return out


def queue_rows(
    docs: Iterable[Mapping[str, Any]],
    *,
    match: str | None = None,
    sort: str = "name",
    cache: QueueRowCache | None = None,
) -> list[QueueRow]:
    """Queues from /api/queues, those whose name matches, sorted: name (A-Z), depth
    (ready + unacked, deepest first) or rate (in + out messages/s, busiest first).
    `cache`: reuse the rows of unchanged queues (a watch)."""
    if sort not in QUEUE_SORTS:
        raise UsageError(f"invalid sort {sort!r} (use {', '.join(QUEUE_SORTS)})")
    pattern = name_filter(match)
    rows = cache.rows(docs) if cache is not None else [QueueRow.from_api(d) for d in docs]
    if pattern is not None:
        rows = [r for r in rows if pattern.search(r.name)]
    rows.sort(key=lambda r: (r.name, r.vhost))
    if sort == "depth":
        rows.sort(key=lambda r: r.depth, reverse=True)  # stable: ties stay by name
    elif sort == "rate":
        rows.sort(key=lambda r: r.publish_rate + r.deliver_rate, reverse=True)
    return rows


@dataclass(frozen=True)
class ExchangeRow:
    name: str
    vhost: str
    type: str
    durable: bool
    auto_delete: bool
    internal: bool
    publish_in_rate: float
    publish_out_rate: float

    COLUMNS = ("exchange", "vhost", "type", "durable", "auto_delete", "internal", "in/s", "out/s")

    @classmethod
    def from_api(cls, doc: Mapping[str, Any]) -> ExchangeRow:
        return cls(
            name=str(doc.get("name", "")),
            vhost=str(doc.get("vhost", "")),
            type=str(doc.get("type", "")),
            durable=bool(doc.get("durable")),
            auto_delete=bool(doc.get("auto_delete")),
            internal=bool(doc.get("internal")),
            publish_in_rate=_rate(_get(doc, "message_stats", "publish_in_details", "rate")),
            publish_out_rate=_rate(_get(doc, "message_stats", "publish_out_details", "rate")),
        )

    def cells(self) -> tuple[Any, ...]:
        return tuple(asdict(self).values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def exchange_rows(docs: Iterable[Mapping[str, Any]], *, match: str | None = None) -> list[ExchangeRow]:
    pattern = name_filter(match)
    rows = [ExchangeRow.from_api(d) for d in docs]
    if pattern is not None:
        rows = [r for r in rows if pattern.search(r.name)]
    return sorted(rows, key=lambda r: (r.name, r.vhost))


def _arguments(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False) if v else ""


@dataclass(frozen=True)
class BindingRow:
    source: str  # the exchange ('' is the default exchange)
    destination: str
    destination_type: str  # queue or exchange
    routing_key: str
    arguments: dict[str, Any]
    vhost: str

    COLUMNS = ("source", "destination", "destination_type", "routing_key", "arguments", "vhost")

    @classmethod
    def from_api(cls, doc: Mapping[str, Any]) -> BindingRow:
        args = doc.get("arguments")
        return cls(
            source=str(doc.get("source", "")),
            destination=str(doc.get("destination", "")),
            destination_type=str(doc.get("destination_type", "")),
            routing_key=str(doc.get("routing_key", "")),
            arguments=dict(args) if isinstance(args, Mapping) else {},
            vhost=str(doc.get("vhost", "")),
        )

    def cells(self) -> tuple[Any, ...]:
        return (
            self.source,
            self.destination,
            self.destination_type,
            self.routing_key,
            _arguments(self.arguments),
            self.vhost,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def binding_rows(docs: Iterable[Mapping[str, Any]]) -> list[BindingRow]:
    rows = [BindingRow.from_api(d) for d in docs]
    return sorted(rows, key=lambda r: (r.source, r.destination_type, r.destination, r.routing_key))


def _peer(doc: Mapping[str, Any], host_key: str = "peer_host", port_key: str = "peer_port") -> str:
    host, port = doc.get(host_key), doc.get(port_key)
    if host is None:
        return ""
    host = f"[{host}]" if ":" in str(host) else str(host)
    return f"{host}:{port}" if port is not None else host


@dataclass(frozen=True)
class ConnectionRow:
    name: str  # the broker's name for it: what `connections close` takes
    client_name: str  # connection_name the client gave (mqcli, a service's name)
    user: str
    vhost: str
    peer: str
    state: str
    channels: int
    protocol: str
    tls: bool
    recv_rate: float  # bytes/s
    send_rate: float

    COLUMNS = (
        "name",
        "client_name",
        "user",
        "vhost",
        "peer",
        "state",
        "channels",
        "protocol",
        "tls",
        "recv B/s",
        "send B/s",
    )

    @classmethod
    def from_api(cls, doc: Mapping[str, Any]) -> ConnectionRow:
        return cls(
            name=str(doc.get("name", "")),
            client_name=str(_get(doc, "client_properties", "connection_name", default="") or ""),
            user=str(doc.get("user", "")),
            vhost=str(doc.get("vhost", "")),
            peer=_peer(doc),
            # Stats for a brand-new connection may not be in yet.
            state=str(doc.get("state") or "starting"),
            channels=_int(doc.get("channels")),
            protocol=str(doc.get("protocol", "")),
            tls=bool(doc.get("ssl")),
            recv_rate=_rate(_get(doc, "recv_oct_details", "rate")),
            send_rate=_rate(_get(doc, "send_oct_details", "rate")),
        )

    def cells(self) -> tuple[Any, ...]:
        return tuple(asdict(self).values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def connection_rows(docs: Iterable[Mapping[str, Any]], *, match: str | None = None) -> list[ConnectionRow]:
    """Connections, those whose name or client-given name matches."""
    pattern = name_filter(match)
    rows = [ConnectionRow.from_api(d) for d in docs]
    if pattern is not None:
        rows = [r for r in rows if pattern.search(r.name) or pattern.search(r.client_name)]
    return sorted(rows, key=lambda r: r.name)


@dataclass(frozen=True)
class ConsumerRow:
    queue: str
    vhost: str
    consumer_tag: str
    connection: str  # the connection's name
    ack_required: bool
    prefetch: int
    exclusive: bool
    active: bool

    COLUMNS = ("queue", "vhost", "consumer_tag", "connection", "ack", "prefetch", "exclusive", "active")

    @classmethod
    def from_api(cls, doc: Mapping[str, Any]) -> ConsumerRow:
        return cls(
            queue=str(_get(doc, "queue", "name", default="")),
            vhost=str(_get(doc, "queue", "vhost", default="")),
            consumer_tag=str(doc.get("consumer_tag", "")),
            connection=str(_get(doc, "channel_details", "connection_name", default="")),
            ack_required=bool(doc.get("ack_required")),
            prefetch=_int(doc.get("prefetch_count")),
            exclusive=bool(doc.get("exclusive")),
            active=bool(doc.get("active", True)),
        )

    def cells(self) -> tuple[Any, ...]:
        return tuple(asdict(self).values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def consumer_rows(docs: Iterable[Mapping[str, Any]], *, queue: str | None = None) -> list[ConsumerRow]:
    rows = [ConsumerRow.from_api(d) for d in docs]
    if queue is not None:
        rows = [r for r in rows if r.queue == queue]
    return sorted(rows, key=lambda r: (r.queue, r.consumer_tag))


# -- overview ------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeRow:
    name: str
    running: bool
    memory_used: int
    memory_limit: int
    memory_alarm: bool
    disk_free: int
    disk_free_limit: int
    disk_free_alarm: bool
    fd_used: int
    uptime_s: int

    COLUMNS = (
        "node",
        "running",
        "mem_used",
        "mem_limit",
        "mem_alarm",
        "disk_free",
        "disk_limit",
        "disk_alarm",
        "fds",
        "uptime_s",
    )

    @classmethod
    def from_api(cls, doc: Mapping[str, Any]) -> NodeRow:
        return cls(
            name=str(doc.get("name", "")),
            running=bool(doc.get("running")),
            memory_used=_int(doc.get("mem_used")),
            memory_limit=_int(doc.get("mem_limit")),
            memory_alarm=bool(doc.get("mem_alarm")),
            disk_free=_int(doc.get("disk_free")),
            disk_free_limit=_int(doc.get("disk_free_limit")),
            disk_free_alarm=bool(doc.get("disk_free_alarm")),
            fd_used=_int(doc.get("fd_used")),
            uptime_s=_int(doc.get("uptime")) // 1000,
        )

    def alarms(self) -> list[str]:
        out = []
        if self.memory_alarm:
            out.append(f"memory alarm on {self.name}")
        if self.disk_free_alarm:
            out.append(f"disk alarm on {self.name}")
        if not self.running:
            out.append(f"node {self.name} is not running")
        return out

    def cells(self) -> tuple[Any, ...]:
        return tuple(asdict(self).values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Overview:
    cluster_name: str
    rabbitmq_version: str
    erlang_version: str
    node: str  # the node that answered
    totals: dict[str, int]  # connections, channels, exchanges, queues, consumers, messages, ready, unacked
    rates: dict[str, float]  # publish, deliver_get (messages/s)
    nodes: list[NodeRow] | None  # None: the user may not list nodes (monitoring tag)

    @classmethod
    def from_api(cls, overview: Mapping[str, Any], nodes: Sequence[Mapping[str, Any]] | None) -> Overview:
        objects = overview.get("object_totals") or {}
        queued = overview.get("queue_totals") or {}
        totals = {
            key: _int(objects.get(key)) for key in ("connections", "channels", "exchanges", "queues", "consumers")
        }
        totals["messages"] = _int(queued.get("messages"))
        totals["ready"] = _int(queued.get("messages_ready"))
        totals["unacked"] = _int(queued.get("messages_unacknowledged"))
        rates = {
            "publish": _rate(_get(overview, "message_stats", "publish_details", "rate")),
            "deliver_get": _rate(_get(overview, "message_stats", "deliver_get_details", "rate")),
        }
        return cls(
            cluster_name=str(overview.get("cluster_name", "")),
            rabbitmq_version=str(overview.get("rabbitmq_version") or overview.get("product_version") or ""),
            erlang_version=str(overview.get("erlang_version", "")),
            node=str(overview.get("node", "")),
            totals=totals,
            rates=rates,
            nodes=None if nodes is None else sorted((NodeRow.from_api(n) for n in nodes), key=lambda n: n.name),
        )

    def alarms(self) -> list[str]:
        return [a for n in self.nodes or () for a in n.alarms()]

    def summary(self) -> list[tuple[str, Any]]:
        """(field, value) lines of the overview table."""
        rows: list[tuple[str, Any]] = [
            ("cluster", self.cluster_name),
            ("rabbitmq", self.rabbitmq_version),
            ("erlang", self.erlang_version),
            ("node", self.node),
        ]
        rows += [(key, value) for key, value in self.totals.items()]
        rows += [("publish/s", self.rates["publish"]), ("deliver/s", self.rates["deliver_get"])]
        if self.nodes is None:
            rows.append(("alarms", "unknown (listing nodes needs the monitoring tag)"))
        else:
            rows.append(("alarms", "; ".join(self.alarms()) or "none"))
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster_name": self.cluster_name,
            "rabbitmq_version": self.rabbitmq_version,
            "erlang_version": self.erlang_version,
            "node": self.node,
            "totals": self.totals,
            "rates": self.rates,
            "alarms": None if self.nodes is None else self.alarms(),
            "nodes": None if self.nodes is None else [n.to_dict() for n in self.nodes],
        }
