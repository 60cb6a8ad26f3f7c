"""Pure logic of the Kafka admin plans both engines share: reset-offsets targets
(--shift-by, --to-offsets-file and its CSV), delete-records cuts, group refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mqcli.core.errors import ConnectionFailed, ExitCode, InputError, MqcliError, NotFound, UsageError
from mqcli.core.kafka.common import (
    OffsetEntry,
    RecordsBefore,
    ResetTarget,
    cut_row,
    group_refusal,
    offset_partitions,
    record_partitions,
)
from mqcli.core.kafka.offsets_file import parse_offsets, read_offsets_file

# -- --shift-by ------------------------------------------------------------------------


@given(
    lo=st.integers(0, 1000),
    span=st.integers(0, 1000),
    committed=st.integers(0, 3000),
    shift=st.integers(-5000, 5000),
)
def test_shift_is_clamped_to_the_log(lo: int, span: int, committed: int, shift: int) -> None:
    hi = lo + span
    new = ResetTarget("shift", offset=shift).resolve("t", 0, lo, hi, committed=committed)
    assert new == min(max(committed + shift, lo), hi)
    assert new is not None and lo <= new <= hi


def test_shift_leaves_a_partition_without_committed_offset() -> None:
    target = ResetTarget("shift", offset=-1)
    assert target.resolve("t", 0, 0, 10, committed=None) is None
    plan = [{"topic": "t", "partition": 0, "current_offset": None, "new_offset": None}]
    with pytest.raises(UsageError, match="no committed offsets"):
        target.check("g", plan)
    plan.append({"topic": "t", "partition": 1, "current_offset": 5, "new_offset": 4})
    target.check("g", plan)  # something to shift: fine


@pytest.mark.parametrize(
    "target, expected",
    [
        (ResetTarget("earliest"), 3),
        (ResetTarget("latest"), 9),
        (ResetTarget("offset", offset=1), 3),
        (ResetTarget("offset", offset=7), 7),
        (ResetTarget("offset", offset=70), 9),
        (ResetTarget("time", timestamp_ms=1), 9),  # found nothing that late: the end
    ],
)
def test_existing_targets_resolve_as_before(target: ResetTarget, expected: int) -> None:
    assert target.resolve("t", 0, 3, 9, committed=5) == expected


def test_time_target_uses_the_found_offset() -> None:
    assert ResetTarget("time", timestamp_ms=1).resolve("t", 0, 3, 9, committed=None, found=6) == 6
    assert ResetTarget("time", timestamp_ms=1).resolve("t", 0, 3, 9, committed=None, found=-1) == 9


# -- select ----------------------------------------------------------------------------


def _partitions(topic: str) -> list[int]:
    if topic == "gone":
        raise NotFound(f"topic {topic!r} does not exist")
    return [0, 1, 2]


def test_select_topics_or_the_committed_ones() -> None:
    target = ResetTarget("earliest")
    assert target.select("g", ["a"], [], _partitions) == [("a", 0), ("a", 1), ("a", 2)]
    assert target.select("g", [], [("b", 1), ("a", 0)], _partitions)[:4] == [("a", 0), ("a", 1), ("a", 2), ("b", 0)]
    with pytest.raises(UsageError, match="no committed offsets; name the topic"):
        target.select("g", [], [], _partitions)


def test_select_file_entries_are_checked_with_their_line() -> None:
    ok = ResetTarget("offsets", entries=(OffsetEntry("b", 2, 5, "f:1"), OffsetEntry("a", 0, 1, "f:2")))
    assert ok.select("g", [], [], _partitions) == [("a", 0), ("b", 2)]
    assert ok.resolve("b", 2, 0, 4, committed=None) == 4  # clamped to the end
    assert ok.resolve("a", 0, 3, 9, committed=None) == 3  # and to the start
    gone = ResetTarget("offsets", entries=(OffsetEntry("a", 0, 1, "f:1"), OffsetEntry("gone", 0, 1, "f:2")))
    with pytest.raises(NotFound, match=r"^f:2: topic 'gone' does not exist$"):
        gone.select("g", [], [], _partitions)
    no_partition = ResetTarget("offsets", entries=(OffsetEntry("a", 3, 1, "f:7"),))
    with pytest.raises(NotFound, match=r"^f:7: topic 'a' has no partition 3$"):
        no_partition.select("g", [], [], _partitions)


# -- the offsets file ------------------------------------------------------------------


def test_parse_kafka_tool_csv() -> None:
    assert parse_offsets("orders,0,12\norders,1,7\n\nusers,0,0\n", "plan.csv", "g") == (
        OffsetEntry("orders", 0, 12, "plan.csv:1"),
        OffsetEntry("orders", 1, 7, "plan.csv:2"),
        OffsetEntry("users", 0, 0, "plan.csv:4"),
    )


def test_parse_group_column_keeps_this_groups_rows() -> None:
    text = 'other,orders,0,1\ng,orders,0,5\n"g",orders,1,6\r\n'
    assert parse_offsets(text, "f", "g") == (OffsetEntry("orders", 0, 5, "f:2"), OffsetEntry("orders", 1, 6, "f:3"))
    with pytest.raises(InputError, match=r"^f: no rows for group 'x'$"):
        parse_offsets(text, "f", "x")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"^f: no offsets"),
        ("a,0\n", r"^f:1: expected topic,partition,offset .* got 2 field"),
        ("a,0,1,2,3\n", r"^f:1: expected .* got 5 field"),
        ("a,0,1\ng,a,1,1\n", r"^f:2: 4 fields where the lines above have 3$"),
        ("a,x,1\n", r"^f:1: partition 'x' is not a number$"),
        ("a,0,-1\n", r"^f:1: offset '-1' is not a non-negative number$"),
        ("a,0,²\n", r"^f:1: offset '²' is not"),
        (",0,1\n", r"^f:1: empty topic name$"),
        ("a,0,1\n\na,0,2\n", r"^f:3: a\[0\] is already given at f:1$"),
    ],
)
def test_parse_errors_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as e:
        parse_offsets(text, "f", "g")
    assert e.value.exit_code == ExitCode.INPUT


def test_read_offsets_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("t,0,1\n")
    assert read_offsets_file(str(path), "g") == (OffsetEntry("t", 0, 1, f"{path}:1"),)
    with pytest.raises(UsageError, match="cannot read"):
        read_offsets_file(str(tmp_path / "missing.csv"), "g")
    path.write_bytes(b"t,0,\xff\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_offsets_file(str(path), "g")


@given(
    st.lists(
        st.tuples(st.from_regex(r"[a-zA-Z0-9._-]{1,20}", fullmatch=True), st.integers(0, 999), st.integers(0, 2**62)),
        min_size=1,
        unique_by=lambda r: (r[0], r[1]),
    )
)
def test_parse_round_trips_what_kafka_exports(rows: list[tuple[str, int, int]]) -> None:
    text = "".join(f"{t},{p},{o}\n" for t, p, o in rows)
    assert [(e.topic, e.partition, e.offset) for e in parse_offsets(text, "f", "g")] == rows


# -- delete-records --------------------------------------------------------------------


@given(lo=st.integers(0, 100), span=st.integers(0, 100), value=st.integers(0, 300))
def test_records_before_offset_is_clamped(lo: int, span: int, value: int) -> None:
    hi = lo + span
    row = cut_row("t", 0, lo, hi, RecordsBefore("offset", value), None)
    assert row["delete_before"] == min(max(value, lo), hi)
    assert 0 <= row["records"] == row["delete_before"] - lo <= span


def test_records_before_time() -> None:
    before = RecordsBefore("time", 1_700_000_000_000)
    assert before.resolve(2, 10, found=5) == 5  # the first record at/after the time stays
    assert before.resolve(2, 10, found=None) == 10  # every record is older: all go
    assert before.resolve(2, 10, found=-1) == 10
    assert cut_row("t", 1, 2, 10, before, 5) == {
        "topic": "t",
        "partition": 1,
        "earliest_offset": 2,
        "latest_offset": 10,
        "delete_before": 5,
        "records": 3,
    }


def test_record_partitions() -> None:
    assert record_partitions("t", None, [0, 1, 2]) == [0, 1, 2]
    assert record_partitions("t", [2, 0, 2], [0, 1, 2]) == [0, 2]
    with pytest.raises(NotFound, match="topic 't' has no partition 3 \\(it has 3\\)"):
        record_partitions("t", [3], [0, 1, 2])


def test_offset_partitions_include_a_deleted_topics_offsets() -> None:
    assert offset_partitions("t", None, [4], [0, 1]) == [0, 1, 4]
    assert offset_partitions("t", None, [0, 1], []) == [0, 1]  # the topic is gone, its offsets are not
    assert offset_partitions("t", [1], [], [0, 1]) == [1]
    with pytest.raises(NotFound, match="has no partition 5"):
        offset_partitions("t", [5], [0], [0, 1])
    with pytest.raises(NotFound, match="does not exist and the group has no offsets on it"):
        offset_partitions("t", None, [], [])


# -- group refusals --------------------------------------------------------------------


def test_group_refusals_have_the_documented_exit_codes() -> None:
    assert isinstance(group_refusal("g", "delete", 69, "GROUP_ID_NOT_FOUND"), NotFound)
    busy = group_refusal("g", "delete", 68, "NON_EMPTY_GROUP")
    assert busy.exit_code == ExitCode.FAILURE and "it has active members" in busy.message
    subscribed = group_refusal("g", "delete offsets of", 86, "GroupSubscribedToTopicError", topic="t")
    assert subscribed.exit_code == ExitCode.FAILURE and "subscribed to topic 't'" in subscribed.message
    assert isinstance(group_refusal("g", "delete", 30, "GROUP_AUTHORIZATION_FAILED"), ConnectionFailed)
    other = group_refusal("g", "delete", 15, "COORDINATOR_NOT_AVAILABLE")
    assert type(other) is MqcliError and "COORDINATOR_NOT_AVAILABLE" in other.message
