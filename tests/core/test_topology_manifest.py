"""mqcli.core.topology.manifest: parsing, validation with file:line errors,
interpolation, and the export form reading back to the same model."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqcli.core.errors import ConfigError, ExitCode
from mqcli.core.topology.manifest import (
    Binding,
    Exchange,
    KafkaTopology,
    Manifest,
    Policy,
    Queue,
    RabbitTopology,
    Topic,
    read_manifest,
    to_yaml,
)

ISSUE_EXAMPLE = r"""
kafka:
  topics:
    orders: {partitions: 6, replication_factor: 3, config: {retention.ms: 604800000, cleanup.policy: delete}}
rabbit:
  vhost: /
  exchanges:
    events: {type: topic}
  queues:
    jobs: {type: quorum, arguments: {x-dead-letter-exchange: "", x-dead-letter-routing-key: jobs.dead}}
    jobs.dead: {}
  bindings:
    - {exchange: events, queue: jobs, routing_key: "job.*"}
  policies:            # when the management API is available
    ttl-dead: {pattern: "^jobs\\.dead$", definition: {message-ttl: 86400000}, apply_to: queues}
"""


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Manifest:
    path = tmp_path / "topology.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return read_manifest(path, env or {})


def error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, env)
    assert info.value.exit_code == ExitCode.CONFIG
    return info.value.message


def test_the_issue_example(tmp_path: Path) -> None:
    m = load(tmp_path, ISSUE_EXAMPLE)
    assert m.kafka is not None and m.rabbit is not None
    assert m.kafka.topics == {
        "orders": Topic("orders", 6, 3, {"retention.ms": "604800000", "cleanup.policy": "delete"}),
    }
    r = m.rabbit
    assert r.vhost == "/"
    assert r.exchanges == {"events": Exchange("events", "topic")}
    assert r.queues == {
        "jobs": Queue(
            "jobs", "quorum", arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "jobs.dead"}
        ),
        "jobs.dead": Queue("jobs.dead"),
    }
    assert r.bindings == [Binding("events", "jobs", "queue", "job.*")]
    assert r.policies == {"ttl-dead": Policy("ttl-dead", r"^jobs\.dead$", {"message-ttl": 86400000}, "queues")}


def test_a_broker_section_left_out_is_none(tmp_path: Path) -> None:
    m = load(tmp_path, "kafka:\n  topics:\n    a:\n")
    assert m.rabbit is None
    assert m.kafka == KafkaTopology({"a": Topic("a")})


def test_config_values_are_kafka_text(tmp_path: Path) -> None:
    m = load(
        tmp_path,
        """
        kafka:
          topics:
            t: {config: {preallocate: true, min.cleanable.dirty.ratio: 0.5, cleanup.policy: [compact, delete]}}
        """,
    )
    assert m.kafka is not None
    assert m.kafka.topics["t"].config == {
        "preallocate": "true",
        "min.cleanable.dirty.ratio": "0.5",
        "cleanup.policy": "compact,delete",
    }


def test_interpolation_in_names_and_values_not_in_config_keys(tmp_path: Path) -> None:
    m = load(
        tmp_path,
        """
        kafka:
          topics:
            ${ENV}-orders: {partitions: "${PARTS}", config: {retention.ms: "${RET:-1000}"}}
        rabbit:
          vhost: ${VHOST}
          queues:
            ${ENV}-jobs: {arguments: {"${ENV}": "${ENV}"}}
            cost-$$5: {}
          bindings:
            - {exchange: "${X}", queue: "cost-$$5"}
        """,
        {"PARTS": "4", "VHOST": "orders", "X": "events", "ENV": "ci"},
    )
    assert m.kafka is not None and m.rabbit is not None
    assert m.kafka.topics == {"ci-orders": Topic("ci-orders", 4, None, {"retention.ms": "1000"})}
    assert m.rabbit.vhost == "orders"
    assert m.rabbit.queues == {"ci-jobs": Queue("ci-jobs", arguments={"${ENV}": "ci"}), "cost-$5": Queue("cost-$5")}
    assert m.rabbit.bindings == [Binding("events", "cost-$5")]


def test_names_equal_after_expansion_are_duplicates(tmp_path: Path) -> None:
    message = error(tmp_path, "rabbit:\n  queues:\n    ${A}: {}\n    b: {}\n", {"A": "b"})
    assert ":4: rabbit.queues.b: the same name as another key" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "kafka:\n  topics:\n    t: {partitions: 0}\n",
            ":3: kafka.topics.t.partitions: expected a whole number of at least 1",
        ),
        (
            "kafka:\n  topics:\n    t: {partitons: 3}\n",
            ":3: kafka.topics.t.partitons: unknown key (did you mean partitions?)",
        ),
        ("kafka:\n  topics:\n    'a b': {}\n", ":3: kafka.topics.a b: invalid topic name"),
        ("kafka:\n  topicz: {}\n", ":2: kafka.topicz: unknown key (did you mean topics?)"),
        (
            "kafka:\n  topics:\n    t:\n      config:\n        retention.ms:\n",
            ":5: kafka.topics.t.config.retention.ms: expected a value",
        ),
        (
            "rabbit:\n  queues:\n    q: {type: lazy}\n",
            ":3: rabbit.queues.q.type: expected one of classic, quorum, stream, got 'lazy'",
        ),
        ("rabbit:\n  queues:\n    q: {durable: false}\n", "rabbit.queues.q.durable: queues in a manifest are durable"),
        (
            "rabbit:\n  queues:\n    q: {arguments: {x-queue-type: quorum}}\n",
            "rabbit.queues.q.arguments.x-queue-type: write the queue type as type:",
        ),
        ("rabbit:\n  queues:\n    amq.q: {}\n", ":3: rabbit.queues.amq.q: queue names starting with amq."),
        (
            "rabbit:\n  exchanges:\n    amq.topic: {type: topic}\n",
            ":3: rabbit.exchanges.amq.topic: the default and amq.* exchanges are built in",
        ),
        ("rabbit:\n  bindings:\n    - {queue: q}\n", ":3: rabbit.bindings.0: a binding needs exchange:"),
        (
            "rabbit:\n  bindings:\n    - {exchange: x}\n",
            ":3: rabbit.bindings.0: a binding needs either queue: or to_exchange:",
        ),
        (
            "rabbit:\n  bindings:\n    - {exchange: x, queue: q}\n    - {exchange: x, queue: q}\n",
            ":4: rabbit.bindings.1: the same binding as rabbit.bindings.0",
        ),
        ("rabbit:\n  bindings: {exchange: x}\n", ":2: rabbit.bindings: expected a list of bindings, got a mapping"),
        (
            "rabbit:\n  policies:\n    p: {pattern: '(', definition: {a: 1}}\n",
            "rabbit.policies.p.pattern: invalid regular expression",
        ),
        ("rabbit:\n  policies:\n    p: {pattern: x}\n", ":3: rabbit.policies.p: a policy needs definition:"),
        ("rabbit:\n  vhost: ''\n", ":2: rabbit.vhost: expected a name, got an empty string"),
        ("rabbit:\n  exchanges:\n    x: {durable: maybe}\n", ":3: rabbit.exchanges.x.durable: expected true or false"),
        ("kafka:\n  topics:\n    t: {}\n    t: {}\n", ":4: kafka.topics.t: duplicate key (first at line 3)"),
        (
            "rabbit:\n  bindings:\n    - {exchange: x, queue: '${NOPE}'}\n",
            ":3: rabbit.bindings.0.queue: environment variable NOPE is not set",
        ),
        ("kafka: [1]\n", ":1: kafka: expected a mapping, got a list"),
        ("karfka: {}\n", ":1: karfka: unknown key (did you mean kafka?)"),
        ("x-anchors: {}\n", ":1: nothing to manage: add a kafka: and/or rabbit: section"),
        ("- 1\n", ":1: expected a mapping with kafka: and/or rabbit:, got a list"),
        ("kafka: {topics: {t: {partitions: 1}\n", "invalid YAML"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    message = error(tmp_path, text)
    assert message.startswith(str(tmp_path / "topology.yaml"))
    assert expected in message


def test_empty_and_missing_files(tmp_path: Path) -> None:
    assert "is empty" in error(tmp_path, "")
    with pytest.raises(ConfigError, match="topology manifest not found"):
        read_manifest(tmp_path / "nope.yaml", {})


def test_text_given_is_read_instead_of_the_file() -> None:
    m = read_manifest(Path("<stdin>"), {}, "kafka:\n  topics:\n    t: {partitions: 2}\n")
    assert m.kafka == KafkaTopology({"t": Topic("t", 2)})


def test_anchors_and_merge_keys(tmp_path: Path) -> None:
    m = load(
        tmp_path,
        """
        x-topic: &compacted {partitions: 3, config: {cleanup.policy: compact}}
        kafka:
          topics:
            a: *compacted
            b: {<<: *compacted, partitions: 1}
        """,
    )
    assert m.kafka is not None
    assert m.kafka.topics["a"] == Topic("a", 3, None, {"cleanup.policy": "compact"})
    assert m.kafka.topics["b"] == Topic("b", 1, None, {"cleanup.policy": "compact"})


def test_export_form_reads_back(tmp_path: Path) -> None:
    original = load(tmp_path, ISSUE_EXAMPLE)
    path = tmp_path / "again.yaml"
    path.write_text(to_yaml(original))
    assert read_manifest(path, {}) == original


# -- round trip of random manifests through to_yaml and read_manifest ---------------------------

_names = st.text(st.sampled_from("abcXYZ019._-"), min_size=1, max_size=12).filter(lambda n: n not in (".", ".."))
_rabbit_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12).filter(
    lambda n: not n.startswith("amq.")
)
_scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=10),
)
_args = st.dictionaries(st.text("xabc-", min_size=1, max_size=6), _scalars, max_size=3)
_topics = st.builds(
    Topic,
    _names,
    st.none() | st.integers(1, 100),
    st.none() | st.integers(1, 5),
    st.dictionaries(st.text("abc.", min_size=1, max_size=8), st.text("0123ab$,", max_size=8), max_size=3),
)
_queues = st.builds(
    Queue, _rabbit_names, st.sampled_from(["classic", "quorum", "stream"]), st.just(True), st.just(False), _args
)
_exchanges = st.builds(
    Exchange,
    _rabbit_names,
    st.sampled_from(["direct", "topic", "fanout", "headers"]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    _args,
)


@st.composite
def _manifests(draw: st.DrawFn) -> Manifest:
    topics = draw(st.lists(_topics, max_size=4, unique_by=lambda t: t.name))
    queues = draw(st.lists(_queues, max_size=4, unique_by=lambda q: q.name))
    exchanges = draw(st.lists(_exchanges, max_size=3, unique_by=lambda x: x.name))
    bindings: list[Binding] = []
    if exchanges and queues:
        for _ in range(draw(st.integers(0, 3))):
            b = Binding(
                draw(st.sampled_from(exchanges)).name,
                draw(st.sampled_from(queues)).name,
                "queue",
                draw(st.text("ab.*#$", max_size=5)),
                draw(_args),
            )
            if b.key() not in {x.key() for x in bindings}:
                bindings.append(b)
    return Manifest(
        KafkaTopology({t.name: t for t in topics}),
        RabbitTopology(
            draw(st.none() | st.sampled_from(["/", "orders", "$weird"])),
            {x.name: x for x in exchanges},
            {q.name: q for q in queues},
            bindings,
            {},
        ),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_manifests())
def test_random_manifests_round_trip(tmp_path: Path, manifest: Manifest) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(to_yaml(manifest), encoding="utf-8")
    back = read_manifest(path, {})
    assert back.kafka == manifest.kafka
    assert back.rabbit is not None and manifest.rabbit is not None
    assert back.rabbit.exchanges == manifest.rabbit.exchanges
    assert back.rabbit.queues == manifest.rabbit.queues
    assert sorted(b.key() for b in back.rabbit.bindings) == sorted(b.key() for b in manifest.rabbit.bindings)
    assert back.rabbit.vhost == manifest.rabbit.vhost


def test_the_readme_example_is_valid() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\n# topology.yaml\n", 1)[1].split("```", 1)[0]
    m = read_manifest(Path("README.md"), {"ENV": "ci"}, block)
    assert m.kafka is not None and sorted(m.kafka.topics) == ["ci-audit", "orders"]
    assert m.rabbit is not None
    assert m.rabbit.policies["ttl-dead"].pattern == r"^jobs\.dead$"
    assert m.rabbit.queues["jobs"].type == "quorum"
