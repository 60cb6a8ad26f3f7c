"""The config file as a YAML document: node positions for `file:line:
key.path` errors, merge keys and duplicates, `${VAR}` interpolation, and one
profile's raw values as a Layer (checked against the declared keys; values
are parsed later, by layers.build).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mqcli.core.config.interpolation import InterpolationError, interpolate
from mqcli.core.config.layers import Layer, Origin
from mqcli.core.config.parsers import key_name, key_names
from mqcli.core.config.settings import SCHEMA, SECRET_KEYS, Schema, Setting
from mqcli.core.errors import ConfigError


@dataclass
class Document:
    """A config file's top level: its default profile and each profile's nodes."""

    path: Path
    default: str | None  # effective default (see the package docstring)
    profiles: dict[str, tuple[ScalarNode, Node]]  # name -> (key node, value node), in file order
    literal_secrets: bool


def where(path: Path, node: Node) -> str:
    return f"{path}:{node.start_mark.line + 1}"


def compose_file(path: Path, what: str = "config file", text: str | None = None) -> Node | None:
    """The YAML node tree of `path` (None when empty), every failure a
    ConfigError with `file:line` where YAML knows it.  `what` names the file
    in messages (the topology manifest reads its file through here too);
    `text`, when given, is the file's content already read (e.g. stdin)."""
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} is a directory: {path}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except OSError as e:
        raise ConfigError(f"cannot read {what} {path}: {e.strerror or e}") from None
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: invalid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:  # e.g. a reader error (control characters)
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None


def read_document(path: Path) -> Document:
    """Parse the file and check its top level (profiles are checked one by one later)."""
    root = compose_file(path)
    if root is None or is_null(root):
        raise ConfigError(f"{path}: the file is empty (add a profiles: section; see `mqcli config init -`)")
    if not isinstance(root, MappingNode):
        raise ConfigError(f"{where(path, root)}: expected a mapping with a profiles: section")

    default_node: Node | None = None
    profiles_node: Node | None = None
    for key, value in items(path, root, ""):
        if key.value == "default":
            default_node = value
        elif key.value == "profiles":
            profiles_node = value
        elif not key.value.startswith("x-"):  # x-* keys hold shared YAML anchors
            raise ConfigError(
                f"{where(path, key)}: {key_name(key.value)}: unknown key{suggest(key.value, ['default', 'profiles'])}"
            )

    if profiles_node is None or is_null(profiles_node):
        raise ConfigError(f"{path}: no profiles defined (add a profiles: section; see `mqcli config init -`)")
    if not isinstance(profiles_node, MappingNode):
        raise ConfigError(
            f"{where(path, profiles_node)}: profiles: expected a mapping of profile names, got {node_kind(profiles_node)}"
        )
    profiles = {key.value: (key, value) for key, value in items(path, profiles_node, "profiles.")}
    if not profiles:
        raise ConfigError(f"{where(path, profiles_node)}: profiles: no profiles defined")

    default: str | None = None
    if default_node is not None and not is_null(default_node):
        if not isinstance(default_node, ScalarNode):
            raise ConfigError(
                f"{where(path, default_node)}: default: expected a profile name, got {node_kind(default_node)}"
            )
        default = default_node.value
        if default not in profiles:
            raise ConfigError(
                f"{where(path, default_node)}: default: unknown profile {default!r} (available: {key_names(list(profiles))})"
            )
    elif len(profiles) == 1:
        default = next(iter(profiles))
    elif "default" in profiles:
        default = "default"
    return Document(path, default, profiles, has_literal_secrets(root))


def items(
    path: Path, node: MappingNode, prefix: str, _outer: frozenset[int] = frozenset()
) -> Iterator[tuple[ScalarNode, Node]]:
    """A mapping's (key, value) nodes: merge keys (<<) flattened, duplicates rejected."""
    if id(node) in _outer:  # an alias merging a mapping into itself
        raise ConfigError(f"{where(path, node)}: {prefix}<<: recursive merge")
    explicit: list[tuple[ScalarNode, Node]] = []
    merged: list[tuple[ScalarNode, Node]] = []
    for key, value in node.value:
        if key.tag == "tag:yaml.org,2002:merge":
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for src in sources:
                if not isinstance(src, MappingNode):
                    raise ConfigError(
                        f"{where(path, src)}: {prefix}<<: a merge key needs a mapping (or a list of them)"
                    )
                merged.extend(items(path, src, prefix, _outer | {id(node)}))
            continue
        if not isinstance(key, ScalarNode) or is_null(key):
            raise ConfigError(f"{where(path, key)}: {prefix.rstrip('.') or '(top level)'}: keys must be names")
        explicit.append((key, value))
    seen: dict[str, ScalarNode] = {}
    for key, _ in explicit:
        if key.value in seen:
            raise ConfigError(
                f"{where(path, key)}: {prefix}{key_name(key.value)}: duplicate key (first at line {seen[key.value].start_mark.line + 1})"
            )
        seen[key.value] = key
    # Explicit keys win over merged ones; of merged ones the first wins (YAML's rule).
    out: dict[str, tuple[ScalarNode, Node]] = {}
    for key, value in merged:
        out.setdefault(key.value, (key, value))
    for key, value in explicit:
        out[key.value] = (key, value)
    return iter(out.values())


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def node_kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return "a value"


def suggest(word: str, choices: list[str]) -> str:
    import difflib  # here: needed only for a near miss, and every command imports this module

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else f" (expected one of: {', '.join(choices)})"


_SCALARS = yaml.SafeLoader("")  # only its constructor is used, to type plain scalars


def scalar(node: ScalarNode) -> object:
    try:
        return _SCALARS.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError):
        return node.value  # e.g. an odd timestamp: keep the text and let the leaf judge it
    finally:
        _SCALARS.constructed_objects.clear()  # it caches by node: do not keep documents alive


def has_literal_secrets(root: Node) -> bool:
    """Whether a password (or a URL with one) is written in the file instead of ${VAR}."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if (
                    isinstance(key, ScalarNode)
                    and isinstance(value, ScalarNode)
                    and value.value
                    and "${" not in value.value
                ):
                    # RabbitMQ's well-known guest password is no secret worth a warning.
                    if key.value in SECRET_KEYS and value.value != "guest":
                        return True
                    m = re.search(r"://[^@/\s]*:(?P<pw>[^@/\s]+)@", value.value) if key.value == "url" else None
                    if m and m["pw"] != "guest":
                        return True
                stack.append(value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return False


def profile_layer(doc: Document, name: str, env: Mapping[str, str]) -> Layer:
    """One profile's values from the file: unknown keys and ${VAR}s checked, types not yet."""
    _key_node, node = doc.profiles[name]
    prefix = f"profiles.{key_name(name)}."
    layer = Layer()
    if is_null(node):
        return layer
    if not isinstance(node, MappingNode):
        raise ConfigError(
            f"{where(doc.path, node)}: profiles.{key_name(name)}: expected a mapping with kafka: and/or rabbit:, got {node_kind(node)}"
        )

    def origin(n: Node) -> Origin:
        return Origin(where(doc.path, n), prefix)

    def text(n: ScalarNode, path: tuple[str, ...]) -> str:
        try:
            return interpolate(n.value, env)
        except InterpolationError as e:
            raise origin(n).error(path, str(e)) from None

    def walk(mapping: MappingNode, schema: Schema, path: tuple[str, ...]) -> None:
        for key, value in items(doc.path, mapping, prefix + "".join(key_name(p) + "." for p in path)):
            sub = schema.get(key.value)
            here = path + (key.value,)
            if sub is None:
                raise origin(key).error(here, "unknown key" + suggest(key.value, list(schema)))
            if not isinstance(sub, Setting):  # a section
                if is_null(value):
                    layer.sections.setdefault(here, origin(key))
                    continue
                if not isinstance(value, MappingNode):
                    raise origin(value).error(here, f"expected a mapping, got {node_kind(value)}")
                layer.sections.setdefault(here, origin(key))
                walk(value, sub, here)
            else:
                leaf(value, sub, here)

    def leaf(value: Node, setting: Setting, path: tuple[str, ...]) -> None:
        if isinstance(value, SequenceNode) and setting.listed:
            texts: list[str] = []
            for item in value.value:
                if not isinstance(item, ScalarNode) or is_null(item):
                    raise origin(item).error(path, "expected a list of host:port strings")
                texts.append(text(item, path))
            layer.set(path, texts, origin(value))
            return
        if not isinstance(value, ScalarNode):
            raise origin(value).error(path, f"expected a single value, got {node_kind(value)}")
        if is_null(value):
            return  # `password:` with nothing: unset, the default applies
        typed = scalar(value)
        if setting.keeps_text or isinstance(typed, str):
            # Strings keep their text exactly: `password: 0123` is "0123", not 83.
            layer.set(path, text(value, path), origin(value))
        else:
            layer.set(path, typed, origin(value))

    walk(node, SCHEMA, ())
    return layer
