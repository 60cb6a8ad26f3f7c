"""Hostile JSON Lines through the whole `mqcli kafka produce --input jsonl`
path (reader, model, engine, error boundary, exit codes) against the real
broker: a mix of faithful records, near-misses and garbage.

The core parsers are fuzzed on their own (tests/fuzz); this checks what a
user sees: only documented exit codes, one `mqcli:` line per problem and
never a traceback, the first invalid line named, and on success exactly the
valid records in the topic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mqcli.core.errors import InputError
from mqcli.core.kafka.common import header_bytes
from mqcli.core.message import Message, from_json, to_json
from tests.kafka.conftest import records

_text = st.text(max_size=12)
_faithful = st.builds(
    lambda value, key, headers: to_json(Message(value=value, key=key, headers=headers)),
    st.binary(max_size=20),
    st.one_of(st.none(), st.binary(max_size=8)),
    st.lists(st.tuples(_text, st.one_of(_text, st.binary(max_size=6))), max_size=3),
)
# Objects with the right field names and the wrong kinds of values.
_near_miss = st.dictionaries(
    st.sampled_from(["value", "key", "headers", "partition", "value_encoding", "key_encoding", "offset", "bogus"]),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 3),
        _text,
        st.lists(_text, max_size=2),
        st.dictionaries(_text, _text, max_size=2),
    ),
    max_size=4,
).map(lambda obj: json.dumps(obj, ensure_ascii=False))
_garbage = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" ").decode("latin-1"))
_lines = st.lists(st.one_of(_faithful, _faithful, _near_miss, _garbage), min_size=1, max_size=6)


def _expected(data: bytes) -> tuple[list[Message], int | None]:
    """What the core makes of `data`: the messages before the first invalid
    line, and that line's number (None: all valid).  Blank lines are skipped."""
    good: list[Message] = []
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            good.append(from_json(line, line=number))
        except InputError:
            return good, number
    return good, None


def _sendable(m: Message, engine: str) -> bool:
    # The topic has one partition; a null value needs a key (a tombstone);
    # librdkafka cannot send a header name with a NUL in it (C strings): nor
    # can the native engine, which is librdkafka too.
    nul_name = any("\0" in k for k, _ in m.headers)
    return (
        m.partition in (None, 0)
        and not (m.value is None and m.key is None)
        and not (nul_name and engine in ("librdkafka", "native"))
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_lines)
@example(lines=[to_json(Message(value=b"", headers=[("\0", "")]))])  # librdkafka once sent it as ""
def test_hostile_jsonl_gets_documented_outcomes(
    cli: Callable[..., Any], make_topic: Callable[..., str], kafka_broker: str, engine: str, lines: list[str]
) -> None:
    topic = make_topic(1)
    data = "\n".join(lines).encode("utf-8", errors="surrogateescape")
    good, bad_line = _expected(data)
    r = cli("kafka", "produce", topic, "--input", "jsonl", input=data)

    assert "Traceback" not in r.stderr
    assert all(line.startswith("mqcli:") for line in r.stderr.splitlines()), r.stderr
    assert r.stdout == ""
    if bad_line is not None:
        assert r.exit_code == 7, r.stderr
        assert f"line {bad_line}" in r.stderr
    elif all(_sendable(m, engine) for m in good):
        assert r.exit_code == 0, r.stderr
    else:
        assert r.exit_code == 1, r.stderr  # each unsendable one is named on stderr
        assert "not delivered: line" in r.stderr
    # Whatever the outcome, the topic holds exactly the sendable records before
    # the first invalid line, in input order.
    want = [(m.key, m.value, [(k, header_bytes(v)) for k, v in m.headers]) for m in good if _sendable(m, engine)]
    got = [(rec.key, rec.value, [(k, v) for k, v in rec.headers]) for rec in records(kafka_broker, topic, timeout=5)]
    assert got == want
