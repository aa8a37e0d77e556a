"""Parsers for the mail-authentication records a zone publishes: SPF (RFC 7208) and DMARC (RFC 7489).

Each returns the list of problems it found (empty: the record parses and says something coherent), so a
check can print exactly what is wrong with the published text.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

# RFC 7208 4.6.4: at most 10 mechanisms and modifiers that cause DNS lookups.
SPF_LOOKUP_LIMIT: Final = 10
_DOMAIN_SPEC: Final = re.compile(r"^[A-Za-z0-9._%{}\-+=/]+$")
_SPF_TERM: Final = re.compile(r"^(?P<q>[+\-~?]?)(?P<name>[A-Za-z][A-Za-z0-9_.-]*)(?P<rest>[:/=].*)?$")
_CIDR: Final = re.compile(r"^(/\d{1,2})?(//\d{1,3})?$")
DMARC_POLICIES: Final = frozenset({"none", "quarantine", "reject"})


def spf_problems(text: str) -> list[str]:
    """What is wrong with an SPF record (``v=spf1 ...``); empty when it parses and ends in a policy."""
    terms = text.split()
    if not terms or terms[0].lower() != "v=spf1":
        return [f"does not start with v=spf1: {text[:40]!r}"]
    problems: list[str] = []
    lookups = 0
    ends = False
    for term in terms[1:]:
        match = _SPF_TERM.match(term)
        if match is None:
            problems.append(f"term {term!r} does not parse")
            continue
        name, rest = match.group("name").lower(), match.group("rest") or ""
        if rest.startswith("="):
            if match.group("q"):
                problems.append(f"modifier {term!r} cannot have a qualifier")
            if name == "redirect":
                lookups += 1
                ends = True
            if not _DOMAIN_SPEC.match(rest[1:]):
                problems.append(f"modifier {term!r} has no valid domain")
            continue
        if name == "all":
            if rest:
                problems.append(f"'all' takes no argument: {term!r}")
            ends = True
        elif name in ("ip4", "ip6"):
            problems += _ip_problems(name, term, rest)
        elif name in ("a", "mx"):
            lookups += 1
            domain, _, cidr = rest.removeprefix(":").partition("/")
            if rest.startswith(":") and not _DOMAIN_SPEC.match(domain):
                problems.append(f"{term!r} has an invalid domain")
            if cidr and not _CIDR.match("/" + cidr):
                problems.append(f"{term!r} has an invalid prefix length")
        elif name in ("include", "exists", "ptr"):
            lookups += 1
            if name != "ptr" and (not rest.startswith(":") or not _DOMAIN_SPEC.match(rest[1:])):
                problems.append(f"{term!r} needs ':<domain>'")
        else:
            problems.append(f"unknown mechanism {term!r}")
    if lookups > SPF_LOOKUP_LIMIT:
        problems.append(f"{lookups} DNS-lookup terms; RFC 7208 allows at most {SPF_LOOKUP_LIMIT}")
    if not ends:
        problems.append("ends in neither an 'all' mechanism nor a redirect, so the policy is neutral")
    return problems


def _ip_problems(name: str, term: str, rest: str) -> list[str]:
    if not rest.startswith(":"):
        return [f"{term!r} needs ':<address>'"]
    try:
        network = ipaddress.ip_network(rest[1:], strict=False)
    except ValueError:
        return [f"{term!r} has an invalid address"]
    if network.version != (4 if name == "ip4" else 6):
        return [f"{term!r}: {name} with an IPv{network.version} address"]
    return []


def dmarc_problems(text: str) -> list[str]:
    """What is wrong with a DMARC record (``v=DMARC1; p=...``); empty when it parses."""
    tags: list[tuple[str, str]] = []
    problems: list[str] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            problems.append(f"tag {part!r} is not key=value")
            continue
        tags.append((key.strip().lower(), value.strip()))
    if not tags or tags[0] != ("v", "DMARC1"):
        return [f"does not start with v=DMARC1: {text[:40]!r}", *problems]
    if len(tags) < 2 or tags[1][0] != "p":
        problems.append("the second tag must be p= (RFC 7489 6.3)")
    values = dict(tags)
    for key in ("p", "sp"):
        if key in values and values[key].lower() not in DMARC_POLICIES:
            problems.append(f"{key}={values[key]} is not one of none, quarantine, reject")
    if "pct" in values and not (values["pct"].isdigit() and 0 <= int(values["pct"]) <= 100):
        problems.append(f"pct={values['pct']} is not 0 to 100")
    for key in ("adkim", "aspf"):
        if key in values and values[key] not in ("r", "s"):
            problems.append(f"{key}={values[key]} is not r or s")
    for key in ("rua", "ruf"):
        for uri in filter(None, (u.strip() for u in values.get(key, "").split(","))):
            if not uri.lower().startswith("mailto:") or "@" not in uri:
                problems.append(f"{key} URI {uri!r} is not a mailto: address")
    if "fo" in values and not all(o in ("0", "1", "d", "s") for o in values["fo"].split(":")):
        problems.append(f"fo={values['fo']} is not a list of 0, 1, d, s")
    if "ri" in values and not values["ri"].isdigit():
        problems.append(f"ri={values['ri']} is not a number of seconds")
    return problems
