r"""A record set as one comparable value, whether Route 53 answered it or the program declares it.

Route 53 and the program write the same record differently: Route 53 answers names with a trailing dot and
its octal escapes (``\052`` for ``*``), TXT values as quoted character-strings (a long one split into
several), target names as stored (any case, often with a trailing dot), alias targets in lower case with a
trailing dot and, for a load balancer, a ``dualstack.`` prefix; the program gives bare names, a TXT value
unquoted (``""`` where the AWS provider splits it), a TTL as a float. Both sides are normalised here, so two
record sets compare equal exactly when a resolver would get the same answer.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from adopt.live import Live, dns_name

# A DNS character-string as Route 53 answers it: double-quoted, with \" and \\ escaped.
_CHARACTER_STRING: Final = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE: Final = re.compile(r"\\(.)")
# Types whose value ends with (or is) a domain name.
_NAME_LAST: Final = frozenset({"CNAME", "NS", "PTR", "MX", "SRV"})


def _text(value: str) -> str:
    """A TXT or SPF value as the bytes a resolver returns: quoted strings joined, escapes undone."""
    stripped = value.strip()
    if stripped.startswith('"'):
        return "".join(_ESCAPE.sub(r"\1", part) for part in _CHARACTER_STRING.findall(stripped))
    # The AWS provider's own convention for a value longer than 255 characters: `""` where it is split.
    return stripped.replace('""', "")


def value(type_: str, raw: str) -> str:
    """One value of a record set of ``type_``, normalised (see the module docstring)."""
    if type_ in ("TXT", "SPF"):
        return _text(raw)
    fields = raw.split()
    if type_ in _NAME_LAST and fields:
        numbers = [str(int(f)) if f.isdigit() else f for f in fields[:-1]]
        return " ".join([*numbers, dns_name(fields[-1])])
    if type_ in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(raw.strip()))
        except ValueError:
            return raw.strip().lower()
    if type_ == "CAA" and len(fields) >= 3:
        flags, tag, rest = fields[0], fields[1], " ".join(fields[2:])
        return f"{int(flags) if flags.isdigit() else flags} {tag.lower()} {_text(rest)}"
    return " ".join(fields)


def alias_target(name: str) -> str:
    """An alias target's name as Route 53 and the AWS provider compare it (no ``dualstack.``, lower, no dot)."""
    return dns_name(name).removeprefix("dualstack.")


def record_name(name: str, zone: str) -> str:
    """A record's fully qualified name: the AWS provider appends the zone to a name that does not end with it."""
    bare = dns_name(name)
    if not bare or bare == "@":
        return zone
    return bare if bare == zone or bare.endswith("." + zone) else f"{bare}.{zone}"


@dataclass(frozen=True)
class RecordSet:
    """A record set's answer: its values (or alias target) as a set, and its TTL (None for an alias)."""

    name: str
    type: str
    values: frozenset[str]
    alias: str | None
    ttl: int | None

    def answer(self) -> str:
        """What a resolver gets, for a listing: the alias target, or the sorted values."""
        if self.alias:
            return f"ALIAS {self.alias}"
        if self.type in ("TXT", "SPF"):
            return " ".join(f'"{v}"' for v in sorted(self.values))
        return ", ".join(sorted(self.values))

    def same_answer(self, other: RecordSet) -> bool:
        """True when both answer the same (the TTL aside: lowering it is a step of the cut-over)."""
        return (self.values, self.alias) == (other.values, other.alias)


def _ttl(raw: Any) -> int | None:
    try:
        return int(float(raw))
    except (TypeError, ValueError):
        return None


def from_live(record: Live) -> RecordSet:
    """A record set as :mod:`adopt.live_aws` read it from Route 53."""
    type_ = str(record.attr("type"))
    alias = record.attr("alias")
    return RecordSet(
        record.name,
        type_,
        frozenset(value(type_, str(v)) for v in record.attr("values") or ()),
        alias_target(str(alias)) if alias else None,
        None if alias else _ttl(record.attr("ttl")),
    )


def from_program(inputs: Mapping[str, Any], zone: str) -> RecordSet:
    """A record set as the program declares it (an ``aws:route53/record:Record``'s inputs)."""
    type_ = str(inputs.get("type", ""))
    aliases: Iterable[Any] = inputs.get("aliases") or ()
    alias = next((a for a in aliases if isinstance(a, Mapping) and a.get("name")), None)
    return RecordSet(
        record_name(str(inputs.get("name", "")), zone),
        type_,
        frozenset(value(type_, str(v)) for v in inputs.get("records") or ()),
        alias_target(str(alias["name"])) if alias else None,
        None if alias else _ttl(inputs.get("ttl")),
    )
