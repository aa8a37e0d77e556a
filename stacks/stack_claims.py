"""What a stack claims in what every stack of the project shares, and the check that no two stack files clash.

All stacks deploy into the same DigitalOcean, AWS, Fastly and Datadog accounts. A stack therefore claims:

- its ``namePrefix``: physical names (buckets, Fastly services, monitors) are ``<prefix>-<parts>``, so a
  prefix equal to another's, or a ``-`` extension of it (``psf`` and ``psf-prod``), would reuse its names;
- DNS zones: its public zones (the real names in prod, ``<domain>.<domainSuffix>`` elsewhere), the
  ``domainSuffix`` zone itself (the delegated top zone outside prod) and its ``internalDomain``;
- ``vpcRanges``: DigitalOcean refuses a VPC range overlapping another network of the account, at apply time.

And stacks depend on each other through DNS delegation: a stack whose ``delegationStack`` names a sibling
needs its ``domainSuffix`` among that sibling's ``delegatedDomains`` (prod's), from either side, so prod
cannot drop a delegation a stack file still relies on.

:func:`check_siblings` compares one stack's values with every other ``Pulumi.<stack>.yaml`` beside it, from
the same raw values for both sides, so the verdict is the same whichever of two clashing stacks is planned.
A sibling file that does not load is skipped: its own plan and preview refuse it.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.cli_yaml import ConfigFileError
from stacks.schema import PROJECT, ConfigKey, SettingsError
from stacks.settings_values import listed_vpc_ranges
from stacks.stack_files import read_stack_file, stack_names


def public_domain(domain: str, suffix: str) -> str:
    """A public domain as a stack with this ``domainSuffix`` names it (see ``Settings.public_domain``)."""
    return f"{domain.replace('.', '-')}.{suffix}" if suffix else domain


def public_domains() -> tuple[str, ...]:
    """The public domains of the estate, by their prod names (``stacks.dns.PUBLIC_DOMAINS``)."""
    # Imported here: stacks.dns builds zones from Settings, whose module imports this one.
    from stacks.dns import PUBLIC_DOMAINS

    return PUBLIC_DOMAINS


@dataclass(frozen=True)
class Claims:
    """What one stack claims in the shared accounts: a name prefix, DNS zones and VPC ranges."""

    stack: str
    name_prefix: str
    internal_domain: str
    domain_suffix: str
    zones: frozenset[str]
    """Public zones, plus the ``domainSuffix`` zone when there is one (not the internal zone)."""
    vpc_ranges: tuple[tuple[str, ipaddress.IPv4Network], ...]
    delegated_domains: frozenset[str] = frozenset()
    """Domains this stack hands to other stacks (``delegatedDomains``, prod)."""
    delegated_by: str = ""
    """The stack of this project that delegates ``domain_suffix`` to this one (from ``delegationStack``)."""


def claims(stack: str, values: Mapping[str, Any], schema: Mapping[str, ConfigKey]) -> Claims:
    """The claims of a stack with these raw values (unnamespaced, as the program receives them)."""

    def value(key: str) -> Any:
        return values.get(key, schema[key].default)

    def text(key: str) -> str:
        found = value(key)
        return found.strip() if isinstance(found, str) else ""

    def items(key: str) -> frozenset[str]:
        found = value(key)
        if isinstance(found, str):
            try:
                found = json.loads(found)
            except json.JSONDecodeError:
                return frozenset()
        return frozenset(i.strip() for i in found if isinstance(i, str)) if isinstance(found, list) else frozenset()

    suffix = text("domainSuffix")
    organization, project, delegator = [*text("delegationStack").split("/"), "", "", ""][:3]
    zones = {public_domain(domain, suffix) for domain in public_domains()} | ({suffix} if suffix else set())
    return Claims(
        stack,
        text("namePrefix"),
        text("internalDomain"),
        suffix,
        frozenset(zones),
        tuple(listed_vpc_ranges(value("vpcRanges"))),
        items("delegatedDomains"),
        delegator if organization and project == PROJECT else "",
    )


def vpc_overlaps(a: Claims, b: Claims) -> list[str]:
    """Every range of ``a`` that overlaps one of ``b``, as ``"<dc> <range> overlaps <stack>'s <dc> <range>"``."""
    return [
        f"{a_dc} {a_net} overlaps {b.stack}'s {b_dc} {b_net}"
        for a_dc, a_net in a.vpc_ranges
        for b_dc, b_net in b.vpc_ranges
        if a_net.overlaps(b_net)
    ]


def _prefixes_collide(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "-") or b.startswith(a + "-")


def clash(mine: Claims, other: Claims) -> SettingsError | None:
    """The first thing ``mine`` claims that ``other`` claims too, as the error to raise; None if nothing."""
    theirs = f"stack {other.stack!r} (Pulumi.{other.stack}.yaml)"
    if _prefixes_collide(mine.name_prefix, other.name_prefix):
        return SettingsError(
            "namePrefix",
            mine.name_prefix,
            f"collides with {other.name_prefix!r} of {theirs}: physical names (buckets, Fastly services, "
            "monitors) share the accounts, so a prefix must be neither equal to nor a '-' extension of another",
        )
    if mine.internal_domain == other.internal_domain:
        return SettingsError(
            "internalDomain",
            mine.internal_domain,
            f"is also the internalDomain of {theirs}: both would create that zone and the same host names",
        )
    if mine.internal_domain in other.zones:
        return SettingsError("internalDomain", mine.internal_domain, f"is a zone of {theirs}")
    shared = sorted(mine.zones & (other.zones | {other.internal_domain}))
    if shared:
        return SettingsError(
            "domainSuffix",
            mine.domain_suffix,
            f"gives this stack zones that {theirs} also creates ({shared[0]}); each stack needs its own",
        )
    if mine.delegated_by == other.stack and mine.domain_suffix not in other.delegated_domains:
        return SettingsError(
            "domainSuffix",
            mine.domain_suffix,
            f"is not among the delegatedDomains of {theirs}, which delegationStack names: nothing would delegate "
            f"this stack's zones; add {mine.domain_suffix} there (and deploy that stack first)",
        )
    if other.delegated_by == mine.stack and other.domain_suffix not in mine.delegated_domains:
        return SettingsError(
            "delegatedDomains",
            sorted(mine.delegated_domains),
            f"must include {other.domain_suffix or '(empty)'}, the domainSuffix of {theirs}, whose delegationStack "
            "names this stack: without it that stack's names stop resolving",
        )
    overlaps = vpc_overlaps(mine, other)
    if overlaps:
        return SettingsError(
            "vpcRanges",
            [f"{dc}={net}" for dc, net in mine.vpc_ranges],
            f"must not overlap another stack's: {overlaps[0]} ({theirs}); DigitalOcean refuses overlapping VPC "
            "ranges in one account",
        )
    return None


def sibling_claims(project_dir: Path, schema: Mapping[str, ConfigKey], *, besides: str) -> Iterable[Claims]:
    """The claims of every stack file in ``project_dir`` but ``besides``'s; files that do not load are skipped."""
    for stack in stack_names(project_dir):
        if stack == besides:
            continue
        try:
            values = read_stack_file(project_dir, stack, schema).project_values()
        except (ConfigFileError, SettingsError):
            continue  # a stack file that does not load claims nothing: its own plan and preview refuse it
        yield claims(stack, values, schema)


def check_siblings(stack: str, values: Mapping[str, Any], project_dir: Path, schema: Mapping[str, ConfigKey]) -> None:
    """Refuse a stack that claims a name, zone or VPC range another stack file of the project claims."""
    mine = claims(stack, values, schema)
    for other in sibling_claims(project_dir, schema, besides=stack):
        error = clash(mine, other)
        if error is not None:
            raise error
