"""`mqcli kafka groups delete|delete-offsets` and `reset-offsets --shift-by|--to-offsets-file`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.kafka.conftest import committed, start_mqcli
from tests.kafka.test_group_consume import _members_with_partitions, _stop, wait_for


def _consume(cli: Any, group: str, topic: str, *args: str) -> None:
    r = cli("kafka", "group-consume", "--group", group, topic, *args)
    assert r.exit_code == 0, r.stderr


def _group_with_offsets(cli: Any, admin: Any, topic: str, group: str, per_partition: int, partitions: int) -> None:
    """`group` has committed `per_partition` on each partition of `topic`."""
    for p in range(partitions):
        values = [f"p{p}-{i}" for i in range(per_partition)]
        assert cli("kafka", "produce", topic, "-p", str(p), *values).exit_code == 0
    _consume(cli, group, topic, "-e")
    assert committed(admin, group) == dict.fromkeys(range(partitions), per_partition)


@contextmanager
def _active_member(admin: Any, group: str, topic: str) -> Iterator[None]:
    """A running `group-consume` member of `group` with `topic` assigned."""
    proc = start_mqcli(["kafka", "group-consume", "--group", group, topic])
    try:
        wait_for(lambda: _members_with_partitions(admin, group) == [1], what="member assigned")
        yield
    finally:
        _stop(proc)


def _group_ids(admin: Any) -> set[str]:
    return {g["group_id"] for g in admin.list_groups()}


# -- groups delete -----------------------------------------------------------------


def test_delete_groups(cli: Any, admin: Any, topic: str, unique_name: Any) -> None:
    a, b = unique_name("ga"), unique_name("gb")
    _group_with_offsets(cli, admin, topic, a, 2, 1)
    _consume(cli, b, topic, "-e")
    r = cli("kafka", "groups", "delete", a, b)
    assert r.exit_code == 0, r.stderr
    assert f"deleted group {a}" in r.stderr and f"deleted group {b}" in r.stderr and r.stdout == ""
    assert not {a, b} & _group_ids(admin)
    assert committed(admin, a) == {}
    assert cli("kafka", "groups", "describe", a).exit_code == 6


def test_delete_unknown_group_is_not_found(cli: Any, admin: Any, topic: str, unique_name: Any) -> None:
    missing = unique_name("nogroup")
    r = cli("kafka", "groups", "delete", missing)
    assert r.exit_code == 6 and f"consumer group '{missing}' does not exist" in r.stderr
    assert r.stderr.count("\n") == 1  # one line
    ok = cli("kafka", "groups", "delete", missing, "--if-exists")
    assert ok.exit_code == 0 and "did not exist" in ok.stderr

    # One missing among others: the others are deleted, the missing one named, exit 6.
    real = unique_name("g")
    _consume(cli, real, topic, "-e")
    r = cli("kafka", "groups", "delete", real, missing)
    assert r.exit_code == 6 and f"deleted group {real}" in r.stderr and repr(missing) in r.stderr
    assert real not in _group_ids(admin)


def test_delete_group_with_active_members_is_refused(cli: Any, admin: Any, topic: str, unique_name: Any) -> None:
    group, idle, missing = unique_name("g"), unique_name("idle"), unique_name("nogroup")
    _consume(cli, idle, topic, "-e")
    with _active_member(admin, group, topic):
        r = cli("kafka", "groups", "delete", group)
        assert r.exit_code == 1
        assert f"cannot delete consumer group '{group}': it has active members (Kafka: NON_EMPTY_GROUP)" in r.stderr
        assert "stop its consumers first" in r.stderr and "Traceback" not in r.stderr
        assert group in _group_ids(admin)
        # Several refusals: each named; the exit code is the first one's.
        r = cli("kafka", "groups", "delete", group, missing, idle)
        assert r.exit_code == 1 and f"deleted group {idle}" in r.stderr
        assert repr(group) in r.stderr and repr(missing) in r.stderr and "2 of 3 groups not deleted" in r.stderr
    assert idle not in _group_ids(admin)


# -- groups delete-offsets -------------------------------------------------------------


def test_delete_offsets_of_a_topic(cli: Any, admin: Any, make_topic: Any, unique_name: Any) -> None:
    keep, drop = make_topic(1), make_topic(3)
    group = unique_name("g")
    _group_with_offsets(cli, admin, drop, group, 2, 3)
    _consume(cli, group, keep, "-e")  # no messages: nothing committed on keep
    assert cli("kafka", "produce", keep, "k").exit_code == 0
    _consume(cli, group, keep, "-e")

    r = cli("kafka", "groups", "delete-offsets", group, "--topic", drop, "-p", "1", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {
        "group": group,
        "partitions": [{"topic": drop, "partition": 1, "committed_offset": 2}],
    }
    offsets = admin.list_group_offsets(group)[group]
    assert {(tp.topic, tp.partition) for tp in offsets} == {(drop, 0), (drop, 2), (keep, 0)}

    r = cli("kafka", "groups", "delete-offsets", group, "--topic", drop)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == ["TOPIC\tPARTITION\tDELETED", f"{drop}\t0\t2", f"{drop}\t1\t", f"{drop}\t2\t2"]
    assert "on 3 partition(s)" in r.stderr
    assert {tp.topic for tp in admin.list_group_offsets(group)[group]} == {keep}
    # The group is still there; a new member of it starts from auto.offset.reset (earliest).
    assert group in _group_ids(admin)
    r = cli("kafka", "group-consume", "--group", group, drop, "-e")
    assert sorted(r.stdout.split()) == sorted(f"p{p}-{i}" for p in range(3) for i in range(2))


def test_delete_offsets_refusals(cli: Any, admin: Any, topic: str, unique_name: Any) -> None:
    group = unique_name("g")
    missing = cli("kafka", "groups", "delete-offsets", unique_name("nogroup"), "--topic", topic)
    assert missing.exit_code == 6 and "does not exist" in missing.stderr
    no_topic = cli("kafka", "groups", "delete-offsets", group, "--topic", unique_name("notopic"))
    assert no_topic.exit_code == 6 and "does not exist" in no_topic.stderr
    no_partition = cli("kafka", "groups", "delete-offsets", group, "--topic", topic, "-p", "7")
    assert no_partition.exit_code == 6 and "has no partition 7" in no_partition.stderr
    assert cli("kafka", "groups", "delete-offsets", group).exit_code == 2  # --topic is required

    _consume(cli, group, topic, "-e")
    with _active_member(admin, group, topic):
        r = cli("kafka", "groups", "delete-offsets", group, "--topic", topic)
        assert r.exit_code == 1 and "GROUP_SUBSCRIBED_TO_TOPIC" in r.stderr and repr(topic) in r.stderr
        assert "stop its consumers first" in r.stderr


# -- reset-offsets --shift-by ----------------------------------------------------------


def test_reset_shift_by(cli: Any, admin: Any, topic3: str, unique_name: Any) -> None:
    group = unique_name("g")
    _group_with_offsets(cli, admin, topic3, group, 4, 3)
    base = ("kafka", "groups", "reset-offsets", group)

    dry = cli(*base, "--shift-by", "-3", "-o", "json")
    assert dry.exit_code == 0 and "dry run" in dry.stderr, dry.stderr
    assert json.loads(dry.stdout)["partitions"] == [
        {"topic": topic3, "partition": p, "current_offset": 4, "new_offset": 1} for p in range(3)
    ]
    assert committed(admin, group) == {0: 4, 1: 4, 2: 4}

    assert cli(*base, "--shift-by", "-3", "--execute").exit_code == 0
    assert committed(admin, group) == {0: 1, 1: 1, 2: 1}
    # Clamped to each partition's range, as Kafka's tool does.
    assert cli(*base, "--shift-by", "-10", "--execute").exit_code == 0
    assert committed(admin, group) == {0: 0, 1: 0, 2: 0}
    assert cli(*base, "--shift-by", "2", "--execute").exit_code == 0
    assert committed(admin, group) == {0: 2, 1: 2, 2: 2}
    assert cli(*base, "--shift-by", "+99", "--execute").exit_code == 0
    assert committed(admin, group) == {0: 4, 1: 4, 2: 4}


def test_reset_shift_by_leaves_partitions_without_offsets(cli: Any, admin: Any, topic3: str, unique_name: Any) -> None:
    group = unique_name("g")
    assert cli("kafka", "produce", topic3, "-p", "1", "a", "b", "c").exit_code == 0
    _consume(cli, group, topic3, "-e")
    assert committed(admin, group) == {1: 3}
    r = cli("kafka", "groups", "reset-offsets", group, "--shift-by", "-1", "--execute", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert [(p["partition"], p["new_offset"]) for p in json.loads(r.stdout)["partitions"]] == [
        (0, None),
        (1, 2),
        (2, None),
    ]
    assert f"left as they are: {topic3}[0], {topic3}[2]" in r.stderr
    assert committed(admin, group) == {1: 2}

    fresh = unique_name("g")
    r = cli("kafka", "groups", "reset-offsets", fresh, "--topic", topic3, "--shift-by", "1")
    assert r.exit_code == 2 and "no committed offsets" in r.stderr


def test_reset_shift_refused_while_group_active(cli: Any, admin: Any, topic: str, unique_name: Any) -> None:
    group = unique_name("g")
    _group_with_offsets(cli, admin, topic, group, 2, 1)
    with _active_member(admin, group, topic):
        r = cli("kafka", "groups", "reset-offsets", group, "--shift-by", "-1", "--execute")
        assert r.exit_code == 1 and "stop its consumers" in r.stderr
    assert committed(admin, group) == {0: 2}


# -- reset-offsets --to-offsets-file ---------------------------------------------------


def test_reset_to_offsets_file(cli: Any, admin: Any, make_topic: Any, unique_name: Any, tmp_path: Path) -> None:
    a, b = make_topic(2), make_topic(1)
    group = unique_name("g")
    _group_with_offsets(cli, admin, a, group, 5, 2)
    assert cli("kafka", "produce", b, "x", "y").exit_code == 0
    plan = tmp_path / "plan.csv"
    # Kafka's own format; offset 99 is clamped to the end (2), as its tool does.
    plan.write_text(f"{a},0,1\n{a},1,3\n\n{b},0,99\n")
    base = ("kafka", "groups", "reset-offsets", group, "--to-offsets-file", str(plan))

    dry = cli(*base, "-o", "json")
    assert dry.exit_code == 0 and "dry run" in dry.stderr, dry.stderr
    assert json.loads(dry.stdout)["partitions"] == sorted(
        [
            {"topic": a, "partition": 0, "current_offset": 5, "new_offset": 1},
            {"topic": a, "partition": 1, "current_offset": 5, "new_offset": 3},
            {"topic": b, "partition": 0, "current_offset": None, "new_offset": 2},
        ],
        key=lambda r: (r["topic"], r["partition"]),
    )
    assert cli(*base, "--execute").exit_code == 0
    offsets = admin.list_group_offsets(group)[group]
    assert sorted((tp.topic, tp.partition, om.offset) for tp, om in offsets.items()) == sorted(
        [(a, 0, 1), (a, 1, 3), (b, 0, 2)]
    )

    # The multi-group form (kafka-consumer-groups.sh --export --all-groups): only this group's rows.
    plan.write_text(f"other,{a},0,4\n{group},{a},0,0\n")
    assert cli(*base, "--execute").exit_code == 0
    offsets = admin.list_group_offsets(group)[group]
    assert sorted((tp.topic, tp.partition, om.offset) for tp, om in offsets.items()) == sorted(
        [(a, 0, 0), (a, 1, 3), (b, 0, 2)]
    )


def test_reset_to_offsets_file_errors(cli: Any, topic: str, unique_name: Any, tmp_path: Path) -> None:
    group = unique_name("g")
    plan = tmp_path / "plan.csv"

    def run(text: str, *extra: str) -> Any:
        plan.write_text(text)
        return cli("kafka", "groups", "reset-offsets", group, "--to-offsets-file", str(plan), *extra)

    bad = run(f"{topic},0,1\n{topic},x,2\n")
    assert bad.exit_code == 7 and f"{plan}:2: partition 'x' is not a number" in bad.stderr
    missing_topic = run(f"{topic},0,1\n{unique_name('notopic')},0,1\n")
    assert missing_topic.exit_code == 6 and f"{plan}:2: topic" in missing_topic.stderr
    missing_partition = run(f"{topic},3,1\n")
    assert (
        missing_partition.exit_code == 6 and f"{plan}:1: topic '{topic}' has no partition 3" in missing_partition.stderr
    )
    both = run(f"{topic},0,1\n", "--to", "earliest")
    assert both.exit_code == 2 and "not --to and --to-offsets-file together" in both.stderr
    with_topic = run(f"{topic},0,1\n", "--topic", topic)
    assert with_topic.exit_code == 2 and "leave out --topic" in with_topic.stderr
    unreadable = cli("kafka", "groups", "reset-offsets", group, "--to-offsets-file", str(tmp_path / "nope.csv"))
    assert unreadable.exit_code == 2 and "cannot read" in unreadable.stderr
    none = cli("kafka", "groups", "reset-offsets", group)
    assert none.exit_code == 2 and "give one of --to, --shift-by or --to-offsets-file" in none.stderr
