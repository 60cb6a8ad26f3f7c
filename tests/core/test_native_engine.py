"""The native engine's pure pieces: settings handed to the extension, the
reader it takes over, and the engine choice when it is missing."""

from __future__ import annotations

import io

import pytest

from mqcli.core.config import KafkaSettings
from mqcli.core.errors import UsageError
from mqcli.core.kafka import engine
from mqcli.core.kafka.native import native_config
from mqcli.core.readers import MessageReader, ReaderOptions, read_messages


def test_settings_become_librdkafka_strings() -> None:
    cfg = {"acks": "all", "linger.ms": 5, "enable.idempotence": False, "error_cb": print, "logger": object()}
    assert native_config(cfg) == [("acks", "all"), ("linger.ms", "5"), ("enable.idempotence", "false")]


def test_a_python_callback_keeps_the_python_loop() -> None:
    assert native_config({"acks": "1", "oauth_cb": lambda _: ("t", 0.0, "p")}) is None


def test_reader_says_where_it_reads_until_started() -> None:
    stream = io.BytesIO(b"a\nb\n")
    reader = read_messages([stream], ReaderOptions())
    assert isinstance(reader, MessageReader)
    assert reader.streams == [stream] and not reader.started
    assert [m.value for m in reader] == [b"a", b"b"]
    assert reader.started


def test_native_asked_for_but_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "native_available", lambda: False)
    with pytest.raises(UsageError, match="--engine native needs"):
        engine.resolve(KafkaSettings(), "native")
    assert engine.resolve(KafkaSettings()).engine in (engine.LIBRDKAFKA, engine.KAFKA_PYTHON)


def test_native_reports_itself_as_librdkafka() -> None:
    assert engine.label(engine.NATIVE) == "librdkafka"
    assert engine.label(engine.KAFKA_PYTHON) == "kafka-python"


def test_consume_output_parts_cover_only_what_renders_byte_for_byte() -> None:
    from mqcli.core.kafka.native.consumer import output_parts
    from mqcli.core.writers import JsonWriter, RawWriter, Template, TemplateWriter

    out = io.BytesIO()
    assert output_parts(RawWriter(out, b"\0")) == ([("value", b"")], b"\0")
    fmt = "{{{key}}}={value}\\t{header.h\u00fc} {time}{message_id}}}"
    parts = output_parts(TemplateWriter(out, Template(fmt), b"\n"))
    assert parts == (
        [
            ("lit", b"{"),
            ("key", b""),
            ("lit", b"}"),
            ("lit", b"="),
            ("value", b""),
            ("lit", b"\t"),
            ("header", "h\u00fc".encode()),
            ("lit", b" "),
            ("time", b""),
            ("empty", b""),
            ("lit", b"}"),
        ],
        b"\n",
    )
    assert output_parts(TemplateWriter(out, Template("{headers}"))) == ([("headers", b"")], b"\n")
    # Python's JSON encoder renders the whole message: the Python loop runs.
    assert output_parts(TemplateWriter(out, Template("{key} {json}"))) is None
    assert output_parts(JsonWriter(out)) is None
    assert output_parts(None) is None
