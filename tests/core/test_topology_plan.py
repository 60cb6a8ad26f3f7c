"""mqcli.core.topology.plan: desired vs live -> changes and refusals (no brokers)."""

from __future__ import annotations

from mqcli.core.topology.manifest import (
    Binding,
    Exchange,
    KafkaTopology,
    Manifest,
    Policy,
    Queue,
    RabbitTopology,
    Topic,
)
from mqcli.core.topology.plan import FieldChange, make_plan, match_scope, select


def kafka(*topics: Topic) -> Manifest:
    return Manifest(kafka=KafkaTopology({t.name: t for t in topics}))


def rabbit(
    exchanges: tuple[Exchange, ...] = (),
    queues: tuple[Queue, ...] = (),
    bindings: tuple[Binding, ...] = (),
    policies: tuple[Policy, ...] = (),
) -> Manifest:
    return Manifest(
        rabbit=RabbitTopology(
            "/",
            {x.name: x for x in exchanges},
            {q.name: q for q in queues},
            list(bindings),
            {p.name: p for p in policies},
        )
    )


def test_equal_state_is_in_sync() -> None:
    desired = kafka(Topic("a", 3, 1, {"retention.ms": "1000"}))
    plan = make_plan(desired, kafka(Topic("a", 3, 1, {"retention.ms": "1000"})), prune=True)
    assert plan.in_sync and plan.lines() == [] and plan.to_dict() == {"in_sync": True, "changes": [], "refused": []}


def test_missing_topic_is_created_with_its_fields() -> None:
    plan = make_plan(kafka(Topic("a", 3, 1, {"retention.ms": "1000"})), kafka())
    assert plan.lines() == ["+ kafka topic a (partitions=3, replication_factor=1, config.retention.ms=1000)"]
    assert plan.to_dict()["changes"][0]["fields"][0] == {"field": "partitions", "from": None, "to": 3}


def test_more_partitions_and_config_drift_are_changes() -> None:
    desired = kafka(Topic("a", 6, None, {"retention.ms": "1000", "cleanup.policy": "compact"}))
    live = kafka(Topic("a", 3, 1, {"retention.ms": "5", "segment.ms": "10"}))
    plan = make_plan(desired, live)
    (change,) = plan.changes
    assert change.fields == [
        FieldChange("partitions", 3, 6),
        FieldChange("config.cleanup.policy", None, "compact"),
        FieldChange("config.retention.ms", "5", "1000"),
    ]
    # segment.ms, which the manifest does not name, is reset only with prune.
    pruned = make_plan(desired, live, prune=True)
    assert pruned.changes[0].fields[-1] == FieldChange("config.segment.ms", "10", None)
    assert pruned.lines() == [
        "~ kafka topic a: partitions 3 -> 6, config.cleanup.policy (unset) -> compact, "
        "config.retention.ms 5 -> 1000, config.segment.ms 10 -> (unset)"
    ]


def test_unset_partitions_and_replication_factor_are_not_compared() -> None:
    assert make_plan(kafka(Topic("a")), kafka(Topic("a", 12, 3))).in_sync


def test_fewer_partitions_and_a_new_replication_factor_are_refused() -> None:
    plan = make_plan(kafka(Topic("a", 2, 3)), kafka(Topic("a", 4, 1)))
    assert plan.changes == []
    assert [(r.field, r.old, r.new) for r in plan.refusals] == [("partitions", 4, 2), ("replication_factor", 1, 3)]
    assert "Kafka cannot remove partitions" in plan.refusals[0].reason
    assert "mqcli copy" in plan.refusals[0].instead
    assert "kafka-reassign-partitions" in plan.refusals[1].instead
    assert plan.lines()[0].startswith("! kafka topic a: partitions 4 -> 2: Kafka cannot remove partitions")
    assert not plan.in_sync


def test_prune_deletes_only_in_scope_topics() -> None:
    live = kafka(Topic("a"), Topic("mine-b"), Topic("other"))
    assert make_plan(kafka(Topic("a")), live).in_sync
    plan = make_plan(kafka(Topic("a")), live, prune=True, scope=match_scope("^mine-"))
    assert plan.lines() == ["- kafka topic mine-b"]
    everything = make_plan(kafka(Topic("a")), live, prune=True)
    assert [c.name for c in everything.deletions] == ["mine-b", "other"]


def test_queue_and_exchange_changes_are_refused() -> None:
    desired = rabbit(
        exchanges=(Exchange("x", "topic"),),
        queues=(Queue("q", "quorum", arguments={"x-max-length": 10}),),
    )
    live = rabbit(exchanges=(Exchange("x", "direct"),), queues=(Queue("q", "classic"),))
    plan = make_plan(desired, live)
    assert plan.changes == []
    assert [(r.kind, r.field) for r in plan.refusals] == [
        ("exchange", "type"),
        ("queue", "type"),
        ("queue", "arguments"),
    ]
    assert "rabbit.policies" in plan.refusals[2].instead


def test_rabbit_creates_in_dependency_order_and_deletes_in_reverse() -> None:
    desired = rabbit(
        exchanges=(Exchange("x", "topic"),),
        queues=(Queue("q"),),
        bindings=(Binding("x", "q", "queue", "a.*"),),
        policies=(Policy("p", "^q$", {"max-length": 5}, "queues"),),
    )
    live = rabbit(
        exchanges=(Exchange("old-x"),),
        queues=(Queue("old-q"),),
        bindings=(Binding("old-x", "old-q"), Binding("amq.topic", "old-q", "queue", "k")),
        policies=(Policy("old-p", ".*", {"a": 1}),),
    )
    plan = make_plan(desired, live, prune=True)
    assert plan.lines() == [
        "+ rabbit exchange x (type=topic)",
        "+ rabbit queue q",
        "+ rabbit binding x -> queue q [a.*]",
        '+ rabbit policy p (pattern=^q$, definition={"max-length": 5}, apply_to=queues)',
        "- rabbit binding amq.topic -> queue old-q [k]",
        "- rabbit binding old-x -> queue old-q []",
        "- rabbit queue old-q",
        "- rabbit exchange old-x",
        "- rabbit policy old-p",
    ]
    assert (
        make_plan(desired, live).lines()[-1]
        == '+ rabbit policy p (pattern=^q$, definition={"max-length": 5}, apply_to=queues)'
    )


def test_policy_changes_in_place() -> None:
    desired = rabbit(policies=(Policy("p", "^q$", {"max-length": 5}, "queues", 1),))
    live = rabbit(policies=(Policy("p", "^q$", {"max-length": 9}, "all", 1),))
    (change,) = make_plan(desired, live).changes
    assert change.action == "change"
    assert change.fields == [
        FieldChange("definition", {"max-length": 9}, {"max-length": 5}),
        FieldChange("apply_to", "all", "queues"),
    ]


def test_bindings_are_compared_by_all_their_parts() -> None:
    b = Binding("x", "q", "queue", "k", {"x-match": "any"})
    desired = rabbit(exchanges=(Exchange("x", "headers"),), queues=(Queue("q"),), bindings=(b,))
    assert make_plan(desired, desired).in_sync
    other = Binding("x", "q", "queue", "k", {"x-match": "all"})
    live = rabbit(exchanges=(Exchange("x", "headers"),), queues=(Queue("q"),), bindings=(other,))
    plan = make_plan(desired, live, prune=True)
    assert [c.line() for c in plan.changes] == [
        '+ rabbit binding x -> queue q [k] {"x-match": "any"}',
        '- rabbit binding x -> queue q [k] {"x-match": "all"}',
    ]


def test_bindings_to_unknown_or_pruned_objects_are_refused() -> None:
    desired = rabbit(queues=(Queue("q"),), bindings=(Binding("nowhere", "q"), Binding("amq.direct", "gone")))
    plan = make_plan(desired, rabbit())
    assert [r.reason for r in plan.refusals] == [
        "exchange 'nowhere' is neither in the manifest nor on the broker",
        "queue 'gone' is neither in the manifest nor on the broker",
    ]
    # An exchange only on the broker is fine, unless --prune would delete it.
    desired = rabbit(queues=(Queue("q"),), bindings=(Binding("live-x", "q"),))
    live = rabbit(exchanges=(Exchange("live-x"),))
    assert [c.kind for c in make_plan(desired, live).changes] == ["queue", "binding"]
    refused = make_plan(desired, live, prune=True).refusals
    assert [r.reason for r in refused] == ["exchange 'live-x' would be deleted by --prune"]
    assert make_plan(desired, live, prune=True, scope=match_scope("^q")).refusals == []


def test_binding_scope_needs_destination_and_source_unless_built_in() -> None:
    live = rabbit(
        exchanges=(Exchange("mine-x"), Exchange("their-x")),
        queues=(Queue("mine-q"), Queue("their-q")),
        bindings=(
            Binding("mine-x", "mine-q"),
            Binding("amq.topic", "mine-q", "queue", "k"),
            Binding("their-x", "mine-q"),
            Binding("mine-x", "their-q"),
        ),
    )
    scope = match_scope("^mine-")
    exported = select(live, scope).rabbit
    assert exported is not None
    assert sorted(exported.exchanges) == ["mine-x"]
    assert [b.label() for b in exported.bindings] == ["mine-x -> queue mine-q []", "amq.topic -> queue mine-q [k]"]
    plan = make_plan(rabbit(), live, prune=True, scope=scope)
    assert [c.name for c in plan.deletions] == [
        "amq.topic -> queue mine-q [k]",
        "mine-x -> queue mine-q []",
        "mine-q",
        "mine-x",
    ]


def test_a_broker_not_in_the_manifest_is_left_alone() -> None:
    live = Manifest(kafka=KafkaTopology({"a": Topic("a")}), rabbit=RabbitTopology("/", queues={"q": Queue("q")}))
    assert make_plan(kafka(), live, prune=True).lines() == ["- kafka topic a"]


def test_summary_and_json_shape() -> None:
    plan = make_plan(kafka(Topic("a", 1), Topic("b", 1)), kafka(Topic("b", 3), Topic("c")), prune=True)
    assert plan.summary() == "1 to create, 0 to change, 1 to delete, 1 refused"
    assert plan.summary(done=True) == "1 created, 0 changed, 1 deleted, 1 refused"
    doc = plan.to_dict()
    assert doc["in_sync"] is False
    assert doc["refused"][0] == {
        "broker": "kafka",
        "kind": "topic",
        "name": "b",
        "field": "partitions",
        "from": 3,
        "to": 1,
        "reason": "Kafka cannot remove partitions from a topic",
        "instead": "keep partitions: 3, or create a new topic with 1 and copy the records to it (mqcli copy)",
    }
    assert [c["action"] for c in doc["changes"]] == ["create", "delete"]
