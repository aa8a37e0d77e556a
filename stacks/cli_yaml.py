"""YAML files read the way the Pulumi CLI reads them, so the offline plan sees the values a real preview sees.

The CLI parses Pulumi.yaml and Pulumi.<stack>.yaml with Go's ``gopkg.in/yaml.v3`` (pulumi/pulumi
``sdk/go/common/encoding/marshal.go``), which follows YAML 1.2's core schema, while PyYAML's ``safe_load``
follows YAML 1.1. They disagree on plain scalars that matter in config files: to the CLI ``no``, ``on`` and
``y`` are strings (to PyYAML, booleans), ``0o17`` is an integer and ``1:30`` a string (PyYAML: a string and
90). yaml.v3 also refuses a mapping key written twice ("mapping key already defined"), where PyYAML keeps
the last value. :func:`load_yaml` resolves plain scalars as yaml.v3's ``resolve.go`` does and refuses
duplicates, and every failure (malformed YAML, bad encoding, an unknown tag, nesting too deep) is one
:class:`ConfigFileError` line naming the file and the line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from pulumi.errors import RunError
from yaml.nodes import MappingNode, Node, ScalarNode

MAX_FILE_BYTES: Final = 1 << 20
"""Config files are a few kilobytes; a megabyte is a mistake (or an attack), not a stack file."""

_TRUE: Final = frozenset({"true", "True", "TRUE"})
_FALSE: Final = frozenset({"false", "False", "FALSE"})
_NULL: Final = frozenset({"", "~", "null", "Null", "NULL"})
_FLOAT_SPECIAL: Final = {
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
YAML11_BOOLEANS: Final = frozenset(
    word for base in ("y", "yes", "n", "no", "on", "off") for word in (base, base.capitalize(), base.upper())
)
"""Plain words YAML 1.1 (PyYAML) reads as booleans and YAML 1.2 (the Pulumi CLI) reads as strings."""

# yaml.v3's yamlStyleFloat, and the start of its timestamp formats (a four-digit year and a dash).
_YAML_FLOAT: Final = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_TIMESTAMP: Final = re.compile(
    r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]+)?(Z|[-+][0-9]{2}:[0-9]{2})?)?$"
)

STR: Final = "tag:yaml.org,2002:str"
INT: Final = "tag:yaml.org,2002:int"
FLOAT: Final = "tag:yaml.org,2002:float"
BOOL: Final = "tag:yaml.org,2002:bool"
NULL: Final = "tag:yaml.org,2002:null"
TIMESTAMP: Final = "tag:yaml.org,2002:timestamp"
MERGE: Final = "tag:yaml.org,2002:merge"


class ConfigFileError(RunError, ValueError):
    """A config file (Pulumi.yaml, Pulumi.<stack>.yaml) cannot be read. The message is one line.

    It is a :class:`pulumi.RunError`, which the Pulumi CLI reports as its message alone, without a traceback.
    """

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.problem = message
        where = f"{file} line {line}" if line is not None else file
        super().__init__(f"{where}: {message}")


def go_int(text: str) -> int | None:
    """``text`` as Go's ``strconv.ParseInt(text, 0, 64)`` (or ``ParseUint``) reads it, or None.

    Base prefixes 0x, 0o, 0b and a leading 0 (octal) are honoured, as yaml.v3 does for plain scalars.
    """
    sign, digits = (text[0], text[1:]) if text[:1] in ("+", "-") else ("", text)
    lower = digits.lower()
    if lower[:2] in ("0x", "0o", "0b"):
        base, digits = {"0x": 16, "0o": 8, "0b": 2}[lower[:2]], digits[2:]
    elif len(digits) > 1 and digits[0] == "0":
        base, digits = 8, digits[1:]
    else:
        base = 10
    if not digits or any(ch not in "0123456789abcdef"[:base] for ch in digits.lower()):
        return None
    value = int(digits, base) * (-1 if sign == "-" else 1)
    if -(2**63) <= value < 2**63 or (not sign and value < 2**64):
        return value
    return None


def plain_scalar_tag(text: str) -> str:
    """The tag yaml.v3 resolves an untagged, unquoted scalar to (``resolve.go``), as a YAML tag URI."""
    if text in _TRUE or text in _FALSE:
        return BOOL
    if text in _NULL:
        return NULL
    if text in _FLOAT_SPECIAL:
        return FLOAT
    if text == "<<":
        return MERGE
    first = text[0]
    if first == ".":
        return FLOAT if _YAML_FLOAT.match(text) else STR
    if first in "+-0123456789":
        if _TIMESTAMP.match(text):
            return TIMESTAMP
        plain = text.replace("_", "")
        if go_int(plain) is not None:
            return INT
        if _YAML_FLOAT.match(plain):
            return FLOAT
    return STR


class _Problem(yaml.MarkedYAMLError):
    """A value yaml.v3 would refuse or read differently, with the node's position."""


class _ValueProblem(_Problem):
    """A :class:`_Problem` of one scalar's value, whose error names the key it is the value of."""


class _CliLoader(yaml.SafeLoader):
    """PyYAML's safe loader with yaml.v3's scalar resolution, duplicate keys refused, and no exotic types."""

    # PyYAML's class-level registry of constructors, replaced (not extended): only the types config files use.
    yaml_constructors: dict[Any, Any] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:
            return plain_scalar_tag(value)
        return super().resolve(kind, value, implicit)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Hashable, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == MERGE:
                    continue
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, Hashable) and key in seen:
                    raise _Problem(
                        None,
                        None,
                        f"mapping key {key!r} is written twice (first at line {seen[key]}); the Pulumi CLI refuses "
                        "duplicate keys, and PyYAML would silently keep the last",
                        key_node.start_mark,
                    )
                if isinstance(key, Hashable):
                    seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _construct_int(loader: _CliLoader, node: Node) -> int:
    value = go_int(str(node.value).replace("_", ""))
    if value is None:
        raise _ValueProblem(None, None, f"{node.value!r} is not an integer", node.start_mark)
    return value


def _construct_float(loader: _CliLoader, node: Node) -> float:
    text = str(node.value)
    if text in _FLOAT_SPECIAL:
        return _FLOAT_SPECIAL[text]
    try:
        return float(text.replace("_", ""))
    except ValueError:
        raise _ValueProblem(None, None, f"{text!r} is not a number", node.start_mark) from None


def _construct_bool(loader: _CliLoader, node: Node) -> bool:
    text = str(node.value)
    if text not in _TRUE and text not in _FALSE:
        raise _ValueProblem(None, None, f"{text!r} is not a boolean to the Pulumi CLI (true or false)", node.start_mark)
    return text in _TRUE


def _construct_null(loader: _CliLoader, node: Node) -> None:
    return None


def _construct_str(loader: _CliLoader, node: Node) -> str:
    return str(loader.construct_scalar(node))  # pyright: ignore[reportArgumentType]


def _refuse_timestamp(loader: _CliLoader, node: Node) -> None:
    raise _ValueProblem(
        None,
        None,
        f"{node.value} is a YAML timestamp, which the Pulumi CLI turns into Go's time text (2026-01-05 becomes "
        "'2026-01-05 00:00:00 +0000 UTC'); quote it if you mean the text",
        node.start_mark,
    )


def _refuse_tag(loader: _CliLoader, node: Node) -> None:
    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!", 1)
    raise _ValueProblem(
        None,
        None,
        f"the tag {tag} has no place in a Pulumi config file (the CLI would drop or reinterpret it); "
        "write the value without a tag",
        node.start_mark,
    )


for _tag, _constructor in (
    (STR, _construct_str),
    (INT, _construct_int),
    (FLOAT, _construct_float),
    (BOOL, _construct_bool),
    (NULL, _construct_null),
    (TIMESTAMP, _refuse_timestamp),
    ("tag:yaml.org,2002:seq", yaml.SafeLoader.construct_yaml_seq),
    ("tag:yaml.org,2002:map", yaml.SafeLoader.construct_yaml_map),
    (None, _refuse_tag),
):
    _CliLoader.add_constructor(_tag, _constructor)  # pyright: ignore[reportArgumentType]


@dataclass(frozen=True)
class YamlDocument:
    """A parsed file: its data and its node tree (for line numbers)."""

    data: Any
    node: Node | None

    def pairs(self, *path: str) -> dict[str, tuple[Node, Node]]:
        """(key node, value node) of each text key of the mapping at ``path`` (``()`` for the top level)."""
        node = self.node
        for step in path:
            if not isinstance(node, MappingNode):
                return {}
            node = next((v for k, v in node.value if isinstance(k, ScalarNode) and k.value == step), None)
        if not isinstance(node, MappingNode):
            return {}
        return {str(k.value): (k, v) for k, v in node.value if isinstance(k, ScalarNode)}

    def key_lines(self, *path: str) -> dict[str, int]:
        """Line (1-based) of each key of the mapping at ``path`` (``()`` for the top level, ``("config",)``)."""
        return {key: k.start_mark.line + 1 for key, (k, _) in self.pairs(*path).items()}

    def line_of(self, *path: str) -> int | None:
        """Line of the key at ``path`` (the last element is the key), or None."""
        return self.key_lines(*path[:-1]).get(path[-1]) if path else None


def read_text(path: Path) -> str:
    """A config file's text: UTF-8 (a BOM is dropped, as the CLI does), at most :data:`MAX_FILE_BYTES`."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigFileError(path.name, f"is {size} bytes; a config file of over {MAX_FILE_BYTES} is refused")
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigFileError(path.name, f"cannot be read: {exc.strerror or exc}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigFileError(
            path.name,
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8",
            line,
        ) from None


_KEY_LINE = re.compile(r"^(\s*)(?:-\s+)?([^\s#'\"\[{-][^#]*?):(?:\s|$)")


def _key_at(text: str, line: int) -> str | None:
    """The mapping key a value on ``line`` (1-based) belongs to, so that an error about a value can name it.

    The key on that line, or the nearest one above it indented less (for an item of a block sequence).
    """
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    found = _KEY_LINE.match(lines[line - 1])
    if found:
        return found.group(2)
    indent = len(lines[line - 1]) - len(lines[line - 1].lstrip())
    for above in reversed(lines[: line - 1]):
        found = _KEY_LINE.match(above)
        if found and len(found.group(1)) < indent:
            return found.group(2)
    return None


def load_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document as the Pulumi CLI would, or raise one :class:`ConfigFileError` line."""
    loader: _CliLoader | None = None
    try:
        loader = _CliLoader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        line = mark.line + 1 if mark else None
        key = _key_at(text, line) if isinstance(exc, _ValueProblem) and line else None
        of = f"the value of {key}: " if key else ""
        raise ConfigFileError(file, f"invalid YAML: {of}{' '.join(problem.split())}", line) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        what = f"the control character U+{exc.character:04X} is not allowed in YAML"
        raise ConfigFileError(file, f"invalid YAML: {what}", line) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(file, f"invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise ConfigFileError(file, "invalid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return YamlDocument(data, node)


def load_yaml_file(path: Path) -> YamlDocument:
    """:func:`read_text` then :func:`load_yaml`."""
    return load_yaml(read_text(path), path.name)
