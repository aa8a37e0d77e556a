"""The import map file, ``imports/<stack>.yaml`` (the format is /work's IMPORT_MAP_SPEC: ``imports:`` and ``dropped:``).

Discovery writes it: ``imports:`` from what it matched, grouped by type for review; ``dropped:`` and the
comment lines at the top of an existing file are kept as they were. The cut-over check reads ``dropped:``:
live DNS records nobody declares that may vanish, each with the reason. The program's own loader (stacks/)
reads ``imports:``; this module checks only what discovery and the cut-over need, each problem in one line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from offline.recorder import PROJECT_ROOT

DIRECTORY: Final = "imports"
TOP_KEYS: Final = frozenset({"imports", "dropped"})
DROPPED_KEYS: Final = ("zone", "name", "type", "reason")
# Record types Route 53 holds (its API reference, RRType).
RECORD_TYPES: Final = frozenset(
    {
        "A",
        "AAAA",
        "CAA",
        "CNAME",
        "DS",
        "HTTPS",
        "MX",
        "NAPTR",
        "NS",
        "PTR",
        "SOA",
        "SPF",
        "SRV",
        "SSHFP",
        "SVCB",
        "TLSA",
        "TXT",
    }
)
# Plain scalars that no YAML version retypes: a letter first, no number or timestamp shape possible.
_PLAIN: Final = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$")
_RETYPED: Final = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"})
DEFAULT_HEADER: Final = (
    "# Import map of stack {stack}, written by `make discover STACK={stack}` and reviewed before it is committed.",
    "# Each entry under imports: adopts a live resource on the next `pulumi up`; remove it once adopted.",
    "# dropped: lists live DNS records the program does not declare that may vanish at the cut-over, with a reason.",
)


class ImportMapError(Exception):
    """The import map file is malformed; the message is one line naming the file, the entry and what is allowed."""


@dataclass(frozen=True)
class Dropped:
    """A live DNS record that may vanish at a zone's cut-over, and why that is intended."""

    zone: str
    name: str
    type: str
    reason: str

    def matches(self, zone: str, name: str, type_: str) -> bool:
        """True when this entry names that record (``zone`` may be the prod domain or the stack's own)."""
        return self.name == name and self.type == type_ and self.zone == zone


@dataclass(frozen=True)
class ImportMap:
    """One stack's import map, as read."""

    imports: Mapping[str, str]
    dropped: tuple[Dropped, ...]
    header: tuple[str, ...] = ()


def path_for(stack: str, root: Path = PROJECT_ROOT) -> Path:
    """Where stack ``stack``'s import map lives."""
    return root / DIRECTORY / f"{stack}.yaml"


def _header(text: str) -> tuple[str, ...]:
    lines: list[str] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return tuple(lines)


def _dropped(path: Path, index: int, entry: Any) -> Dropped:
    where = f"{path.name}: dropped[{index}]"
    if not isinstance(entry, Mapping):
        raise ImportMapError(f"{where} = {entry!r} is invalid: a mapping with keys {', '.join(DROPPED_KEYS)}")
    unknown = sorted(set(map(str, entry)) - set(DROPPED_KEYS))
    if unknown:
        raise ImportMapError(f"{where} has unknown keys {unknown}: allowed are {', '.join(DROPPED_KEYS)}")
    values: dict[str, str] = {}
    for key in DROPPED_KEYS:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ImportMapError(f"{where}.{key} = {value!r} is invalid: a non-empty string")
        values[key] = value.strip()
    zone, name, type_ = values["zone"].lower().rstrip("."), values["name"].lower().rstrip("."), values["type"].upper()
    if type_ not in RECORD_TYPES:
        raise ImportMapError(f"{where}.type = {values['type']!r} is invalid: one of {', '.join(sorted(RECORD_TYPES))}")
    return Dropped(zone, name, type_, values["reason"])


def load(path: Path) -> ImportMap:
    """The import map at ``path``; an empty one when the file does not exist (nothing to import)."""
    if not path.exists():
        return ImportMap({}, ())
    text = path.read_text(encoding="utf-8")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ImportMapError(f"{path.name}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        raise ImportMapError(
            f"{path.name}: must be a mapping with keys imports and dropped, not {type(document).__name__}"
        )
    unknown = sorted(set(map(str, document)) - TOP_KEYS)
    if unknown:
        raise ImportMapError(f"{path.name}: unknown top-level keys {unknown}: allowed are imports, dropped")
    imports = document.get("imports") or {}
    if not isinstance(imports, Mapping):
        raise ImportMapError(f"{path.name}: imports must map logical names to live IDs")
    dropped = document.get("dropped") or []
    if not isinstance(dropped, list):
        raise ImportMapError(f"{path.name}: dropped must be a list of records (zone, name, type, reason)")
    return ImportMap(
        {str(k): str(v) for k, v in imports.items()},
        tuple(_dropped(path, i, entry) for i, entry in enumerate(dropped)),
        _header(text),
    )


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar that YAML 1.1 and 1.2 both read back as this string.

    A logical name (lower case, digits, dashes, dots) stays plain unless a YAML version would read it as a
    boolean or null; anything else (a URN, ``301234567``, ``1e5``) is a JSON string, which is valid
    double-quoted YAML in both versions. Live IDs are always written as JSON strings.
    """
    if _PLAIN.match(value) and value.lower() not in _RETYPED:
        return value
    return json.dumps(value, ensure_ascii=False)


def render(stack: str, groups: Sequence[tuple[str, Sequence[tuple[str, str]]]], previous: ImportMap) -> str:
    """The file's text: the header, ``imports:`` (one commented group per type) and ``dropped:`` as kept."""
    header = previous.header or tuple(line.format(stack=stack) for line in DEFAULT_HEADER)
    lines = [*header]
    if any(entries for _, entries in groups):
        lines.append("imports:")
        for title, entries in groups:
            if not entries:
                continue
            lines.append(f"  # {title}")
            lines += [f"  {_scalar(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in entries]
    else:
        lines.append("imports: {}")
    if previous.dropped:
        lines.append("dropped:")
        for entry in previous.dropped:
            lines.append(f"  - zone: {_scalar(entry.zone)}")
            for key in ("name", "type", "reason"):
                lines.append(f"    {key}: {_scalar(getattr(entry, key))}")
    return "\n".join(lines) + "\n"
