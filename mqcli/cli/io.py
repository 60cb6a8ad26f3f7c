"""CLI side of the shared message I/O layer: option aliases and the builders
that turn them into core readers and writers, plus the Rich human view and
the producer progress/summary shared by `kafka produce` and `rabbit publish`."""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Annotated, BinaryIO, Optional

from mqcli.cli import params
from mqcli.cli.context import AppContext
from mqcli.core.errors import InputError, UsageError
from mqcli.core.message import Message, header_text, text_or_none
from mqcli.core.parse import parse_delimiter, parse_duration
from mqcli.core.readers import InputMode, ReaderOptions, ReadStats, messages_from_values, read_messages

if TYPE_CHECKING:
    # Imported by the consumers' helpers below when they run: a producer
    # (`kafka produce`, `rabbit publish`) never loads the filters and writers.
    from mqcli.core.stops import Matcher
    from mqcli.core.writers import Writer


class OutputFormat(str, enum.Enum):
    auto = "auto"
    raw = "raw"
    json = "json"
    human = "human"


def _duration(value: Optional[str]) -> Optional[float]:
    return None if value is None else parse_duration(value)


# -- input options -------------------------------------------------------------
FileOpt = Annotated[
    Optional[list[str]],
    params.Option(
        "--file",
        metavar="PATH",
        help="Read messages from FILE ('-' is stdin; repeatable). Default: stdin.",
        show_default=False,
    ),
]
InputOpt = Annotated[
    InputMode,
    params.Option(
        "--input",
        "-i",
        metavar="|".join(m.value for m in InputMode),
        help="line: one message per delimited record; whole: all input is one message; jsonl: JSON Lines as written by consume --output json.",
    ),
]
DelimiterOpt = Annotated[
    str,
    params.Option(
        "--delimiter",
        "-D",
        metavar="SEP",
        help=r"Record delimiter for input and raw/template output (escapes: \n \t \0 \xHH).",
    ),
]
KeySeparatorOpt = Annotated[
    Optional[str],
    params.Option(
        "--key-separator",
        "-K",
        metavar="SEP",
        help="Split each input record into key and value at the first SEP.",
        show_default=False,
    ),
]
SkipInvalidOpt = Annotated[
    bool, params.Option("--skip-invalid", help="Skip invalid input records (reported, counted) instead of stopping.")
]
HeaderOpt = Annotated[
    Optional[list[str]],
    params.Option("--header", "-H", metavar="NAME=VALUE", help="Header name=value (repeatable).", show_default=False),
]

# -- output options ------------------------------------------------------------
OutputOpt = Annotated[
    OutputFormat,
    params.Option(
        "--output",
        "-o",
        metavar="|".join(f.value for f in OutputFormat),
        help="auto: human on a terminal, raw otherwise; raw: value + delimiter; json: one object per line with all metadata; human: readable view.",
    ),
]
FormatOpt = Annotated[
    Optional[str],
    params.Option(
        "--format",
        "-f",
        metavar="TEMPLATE",
        help="Template per message, e.g. '{key}={value}' (placeholders in the README).",
        show_default=False,
    ),
]
CountOpt = Annotated[
    Optional[int], params.Option("--count", "-c", min=1, metavar="N", help="Stop after N messages.", show_default=False)
]
TimeoutOpt = Annotated[
    Optional[str],
    params.Option(
        "--timeout",
        "-t",
        metavar="DURATION",
        help="Stop with exit code 5 when no (matching) message arrives for DURATION (e.g. 30s).",
        show_default=False,
    ),
]
MatchOpt = Annotated[
    Optional[list[str]],
    params.Option(
        "--match",
        "-m",
        metavar="REGEX",
        help="Only messages whose key, value or a header matches REGEX (repeatable; all must match).",
        show_default=False,
    ),
]
MatchKeyOpt = Annotated[
    Optional[list[str]],
    params.Option("--match-key", metavar="REGEX", help="Only messages whose key matches REGEX.", show_default=False),
]
MatchValueOpt = Annotated[
    Optional[list[str]],
    params.Option(
        "--match-value", metavar="REGEX", help="Only messages whose value matches REGEX.", show_default=False
    ),
]
MatchHeaderOpt = Annotated[
    Optional[list[str]],
    params.Option(
        "--match-header",
        metavar="NAME=REGEX",
        help="Only messages whose header NAME matches: NAME=REGEX.",
        show_default=False,
    ),
]
ExecOpt = Annotated[
    Optional[str],
    params.Option(
        "--exec",
        "-x",
        metavar="CMD",
        help="Run CMD (via the shell) per message: value on stdin, metadata in MQCLI_* variables; ack/commit only when it exits 0.",
        show_default=False,
    ),
]


def timeout_seconds(value: Optional[str]) -> Optional[float]:
    return _duration(value)


def matcher(
    match: Optional[list[str]], key: Optional[list[str]], value: Optional[list[str]], header: Optional[list[str]]
) -> Matcher | None:
    from mqcli.core.filters import build_matcher

    return build_matcher(match or (), key or (), value or (), header or ())


# -- reading -------------------------------------------------------------------
def open_input(
    app: AppContext,
    stack: ExitStack,
    *,
    values: Optional[list[str]],
    files: Optional[list[str]],
    mode: InputMode,
    delimiter: str,
    key_separator: Optional[str],
    skip_invalid: bool,
    stats: ReadStats,
) -> Iterator[Message]:
    """Messages from VALUE arguments, or from --file/stdin through the shared readers."""
    sep = parse_delimiter(key_separator) if key_separator is not None else None
    if values:
        if files:
            raise UsageError("give message values as arguments or --file, not both")
        if mode is not InputMode.line:
            raise UsageError(f"--input {mode.value} reads files or stdin; do not give values as arguments")
        return messages_from_values(values, sep)
    if mode is InputMode.jsonl and sep is not None:
        raise UsageError("--key-separator does not apply to --input jsonl (keys come from the JSON)")
    streams: list[BinaryIO] = []
    for path in files or ["-"]:
        if path == "-":
            if app.stdin_isatty:
                app.info("reading messages from the terminal; end with Ctrl-D")
            streams.append(app.stdin)
        else:
            try:
                streams.append(stack.enter_context(open(path, "rb")))
            except OSError as e:
                raise UsageError(f"cannot read {path}: {e.strerror}") from None

    def on_skip(e: InputError) -> None:
        app.warn(f"skipped: {e.message}")

    options = ReaderOptions(
        mode=mode, delimiter=parse_delimiter(delimiter), key_separator=sep, skip_invalid=skip_invalid, on_skip=on_skip
    )
    return read_messages(streams, options, stats)


def parse_headers(headers: Optional[list[str]]) -> list[tuple[str, str]]:
    from mqcli.core.parse import parse_header

    return [parse_header(h) for h in headers or ()]


# -- writing -------------------------------------------------------------------
class HumanWriter:
    """A readable view for terminals: a dim metadata line, then the value."""

    def __init__(self, app: AppContext) -> None:
        self._app = app

    def write(self, msg: Message) -> None:
        console = self._app.out
        meta: list[str] = []
        if msg.topic is not None:
            meta.append(f"{msg.topic}[{msg.partition}]@{msg.offset}")
        if msg.queue or msg.exchange or msg.routing_key:
            where = msg.queue or f"{msg.exchange or '(default)'} {msg.routing_key or ''}".strip()
            meta.append(where)
        if msg.timestamp is not None:
            from mqcli.core.writers import FIELDS

            meta.append(FIELDS["time"](msg).decode())
        if msg.key is not None:
            meta.append(f"key={text_or_none(msg.key)}")
        for k, v in msg.headers:
            meta.append(f"{k}={header_text(v)}")
        if msg.redelivered:
            meta.append("redelivered")
        for k, v in msg.properties.items():
            if k not in ("headers",) and v is not None:
                meta.append(f"{k}={v}")
        console.print("  ".join(meta), style="dim cyan" if self._app.color else None, soft_wrap=True)
        console.print("(null)" if msg.value is None else text_or_none(msg.value), soft_wrap=True)

    def flush(self) -> None:
        self._app.out.file.flush()


def make_writer(app: AppContext, output: OutputFormat, template: Optional[str], delimiter: str) -> Writer:
    """The writer for --output/--format; `auto` is human on a terminal and raw otherwise."""
    from mqcli.core.writers import JsonWriter, RawWriter, Template, TemplateWriter

    delim = parse_delimiter(delimiter)
    if template is not None:
        if output not in (OutputFormat.auto,):
            raise UsageError("--format and --output are mutually exclusive")
        return TemplateWriter(app.stdout, Template(template), delim)
    if output is OutputFormat.auto:
        output = OutputFormat.human if app.stdout_isatty else OutputFormat.raw
    if output is OutputFormat.json:
        return JsonWriter(app.stdout)
    if output is OutputFormat.human:
        return HumanWriter(app)
    return RawWriter(app.stdout, delim)


# -- producer progress and summary ---------------------------------------------
class TerminalReport:
    """How a producer run's report (mqcli.core.delivery.DeliveryReport) reaches
    the terminal: problems and the summary on stderr, the live line drawn on
    a terminal, --sync results on stdout."""

    def __init__(self, app: AppContext) -> None:
        self.app = app

    @property
    def live(self) -> bool:
        return self.app.live

    def problem(self, text: str) -> None:
        self.app.error(text)

    def warn(self, text: str) -> None:
        self.app.warn(text)

    def info(self, text: str) -> None:
        self.app.info(f"mqcli: {text}")

    def summary(self, text: str) -> None:
        self.app.note(text)

    def draw(self, text: str) -> None:
        sys.stderr.write(f"\r\x1b[K{text}")
        sys.stderr.flush()

    def result(self, line: str) -> None:
        self.app.stdout.write(line.encode() + b"\n")
        self.app.stdout.flush()
