"""The CLI side of the message I/O layer without a broker: `open_input` turns
VALUE arguments, --file and stdin into messages; `make_writer` picks the
writer for --output/--format."""

from __future__ import annotations

import io
import json
from contextlib import ExitStack
from pathlib import Path

import pytest

from mqcli.cli.context import AppContext
from mqcli.cli.io import HumanWriter, OutputFormat, make_writer, open_input
from mqcli.core.errors import InputError, UsageError
from mqcli.core.message import Message
from mqcli.core.readers import InputMode, ReadStats
from mqcli.core.writers import JsonWriter, RawWriter, TemplateWriter


def _app(stdin: bytes = b"") -> tuple[AppContext, io.BytesIO, io.StringIO]:
    out = io.BytesIO()
    err = io.StringIO()
    app = AppContext.create(stdin=io.BytesIO(stdin), stdout=out, stderr=err, env={"NO_COLOR": "1"})
    return app, out, err


def _read(app: AppContext, **kw: object) -> list[Message]:
    options: dict[str, object] = {
        "values": None,
        "files": None,
        "mode": InputMode.line,
        "delimiter": r"\n",
        "key_separator": None,
        "skip_invalid": False,
        "stats": ReadStats(),
    }
    options.update(kw)
    with ExitStack() as stack:
        return list(open_input(app, stack, **options))  # type: ignore[arg-type]


# -- open_input ------------------------------------------------------------------
def test_values_are_one_message_each_and_split_at_the_key_separator() -> None:
    app, _, _ = _app()
    msgs = _read(app, values=["k1:v1", "k2:v:2"], key_separator=":")
    assert [(m.key, m.value) for m in msgs] == [(b"k1", b"v1"), (b"k2", b"v:2")]
    with pytest.raises(InputError, match="record 2: key separator b':' not found"):
        _read(app, values=["k1:v1", "plain"], key_separator=":")


def test_stdin_is_the_default_and_records_split_at_the_delimiter() -> None:
    app, _, _ = _app(b"a;b;c")
    msgs = _read(app, delimiter=";")
    assert [m.value for m in msgs] == [b"a", b"b", b"c"]
    assert [m.line for m in msgs] == [1, 2, 3]


def test_files_are_read_in_order_and_dash_is_stdin(tmp_path: Path) -> None:
    first = tmp_path / "first.txt"
    first.write_bytes(b"one\ntwo\n")
    app, _, _ = _app(b"three\n")
    msgs = _read(app, files=[str(first), "-"])
    assert [m.value for m in msgs] == [b"one", b"two", b"three"]


def test_whole_mode_reads_all_input_as_one_message() -> None:
    app, _, _ = _app(b"a\nb\n")
    assert [m.value for m in _read(app, mode=InputMode.whole)] == [b"a\nb\n"]


def test_jsonl_mode_reads_keys_and_headers_from_json() -> None:
    app, _, _ = _app(b'{"key": "k", "value": "v", "headers": {"h": "1"}}\n')
    (msg,) = _read(app, mode=InputMode.jsonl)
    assert (msg.key, msg.value, msg.headers) == (b"k", b"v", [("h", "1")])


def test_values_and_files_together_are_a_usage_error(tmp_path: Path) -> None:
    app, _, _ = _app()
    with pytest.raises(UsageError, match="not both"):
        _read(app, values=["x"], files=[str(tmp_path / "f")])


def test_values_with_a_non_line_mode_are_a_usage_error() -> None:
    app, _, _ = _app()
    with pytest.raises(UsageError, match="--input jsonl reads files or stdin"):
        _read(app, values=["x"], mode=InputMode.jsonl)


def test_key_separator_with_jsonl_is_a_usage_error() -> None:
    app, _, _ = _app()
    with pytest.raises(UsageError, match="does not apply to --input jsonl"):
        _read(app, mode=InputMode.jsonl, key_separator=":")


def test_an_unreadable_file_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    app, _, _ = _app()
    missing = tmp_path / "missing.txt"
    with pytest.raises(UsageError, match=f"cannot read {missing}: No such file or directory"):
        _read(app, files=[str(missing)])


def test_invalid_jsonl_stops_or_is_skipped_with_a_warning() -> None:
    data = b'{"value": "ok"}\nnot json\n{"value": "after"}\n'
    app, _, _ = _app(data)
    with pytest.raises(InputError, match="line 2"):
        _read(app, mode=InputMode.jsonl)

    app, _, err = _app(data)
    stats = ReadStats()
    msgs = _read(app, mode=InputMode.jsonl, skip_invalid=True, stats=stats)
    assert [m.value for m in msgs] == [b"ok", b"after"]
    assert stats.skipped == 1
    assert "mqcli: warning: skipped: invalid JSON Lines input: line 2" in err.getvalue()


# -- make_writer -----------------------------------------------------------------
def test_auto_is_raw_in_a_pipe() -> None:
    app, out, _ = _app()
    writer = make_writer(app, OutputFormat.auto, None, r"\n")
    assert isinstance(writer, RawWriter)
    writer.write(Message(value=b"v1"))
    writer.write(Message(value=b"v2"))
    writer.flush()
    assert out.getvalue() == b"v1\nv2\n"


def test_auto_is_the_human_view_on_a_terminal() -> None:
    app, _, _ = _app()
    app.stdout_isatty = True
    assert isinstance(make_writer(app, OutputFormat.auto, None, r"\n"), HumanWriter)


def test_json_writes_one_object_per_line() -> None:
    app, out, _ = _app()
    writer = make_writer(app, OutputFormat.json, None, r"\n")
    assert isinstance(writer, JsonWriter)
    writer.write(Message(value=b"v", key=b"k", topic="t", partition=0, offset=7))
    writer.flush()
    obj = json.loads(out.getvalue())
    assert (obj["key"], obj["value"], obj["topic"], obj["partition"], obj["offset"]) == ("k", "v", "t", 0, 7)


def test_raw_uses_the_delimiter() -> None:
    app, out, _ = _app()
    writer = make_writer(app, OutputFormat.raw, None, r"\0")
    writer.write(Message(value=b"a"))
    writer.flush()
    assert out.getvalue() == b"a\0"


def test_a_template_writes_fields() -> None:
    app, out, _ = _app()
    writer = make_writer(app, OutputFormat.auto, "{key}={value}", r"\n")
    assert isinstance(writer, TemplateWriter)
    writer.write(Message(value=b"v", key=b"k"))
    writer.flush()
    assert out.getvalue() == b"k=v\n"


@pytest.mark.parametrize("output", [OutputFormat.raw, OutputFormat.json, OutputFormat.human])
def test_a_template_with_an_explicit_output_is_a_usage_error(output: OutputFormat) -> None:
    app, _, _ = _app()
    with pytest.raises(UsageError, match="--format and --output are mutually exclusive"):
        make_writer(app, output, "{value}", r"\n")
