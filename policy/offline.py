"""Run the policy pack's rules over a recording, where no Pulumi CLI or CrossGuard is available.

The same :data:`policy.rules.RULES` as the CrossGuard pack, fed from :class:`offline.recorder.Recording`
records instead of the analyzer. A recording sees more than CrossGuard does (``retain_on_delete``, whether a
resource is custom, which values are secret), so nothing is left unverified here except checks inside a
Fastly list that one secret value hides as a whole (``headers``, ``healthchecks``, ``loggingDatadogs``).

Public API: :func:`resource_view`, :func:`evaluate` (violations), :func:`exemptions` (waived and unverified
findings, so no exception is silent), :func:`check` (both in one pass), :func:`blocking` and
:func:`format_report`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from offline.recorder import Record, Recording
from policy.rules import RULES, Enforcement, Resource, Rule, Status


@dataclass(frozen=True)
class Violation:
    """A rule broken by one resource (or by the stack, for cross-resource rules)."""

    rule: str
    enforcement: Enforcement
    urn: str
    message: str


@dataclass(frozen=True)
class Exemption:
    """A finding that did not count: waived by a documented exception, or not verifiable from the record."""

    rule: str
    status: Status
    urn: str
    message: str
    waiver: str | None = None


def resource_view(record: Record) -> Resource:
    """The rules' view of one recorded resource."""
    return Resource(
        type=record.type,
        name=record.name,
        urn=record.urn,
        props=record.inputs,
        outputs=record.outputs,
        id=record.id,
        protect=record.options.protect,
        retain_on_delete=record.options.retain_on_delete,
        provider=record.options.provider,
        custom=record.custom,
        secrets_marked=True,
        ignore_changes=record.options.ignore_changes,
        dependencies=record.options.dependencies,
    )


def _records(recording: Recording | Iterable[Record]) -> tuple[Record, ...]:
    if isinstance(recording, Recording):
        return recording.resources
    return tuple(r for r in recording if r.type != "pulumi:pulumi:Stack" and not r.is_provider)


def _findings(
    recording: Recording | Iterable[Record], rules: Sequence[Rule]
) -> list[tuple[Rule, Status, str, str, str | None]]:
    # The stack and provider instances are not resources to judge; the explicit-provider rule reads each
    # record's own `custom` flag and provider reference instead.
    resources = [resource_view(r) for r in _records(recording)]
    return [
        (rule, finding.status, finding.urn, finding.message, finding.waiver)
        for rule in rules
        for finding in rule.findings(resources)
    ]


def evaluate(recording: Recording | Iterable[Record], rules: Sequence[Rule] = RULES) -> list[Violation]:
    """Every violation of ``rules`` in the recording, in rule order."""
    return [
        Violation(rule.name, rule.enforcement, urn, message)
        for rule, status, urn, message, _ in _findings(recording, rules)
        if status == "violation"
    ]


def exemptions(recording: Recording | Iterable[Record], rules: Sequence[Rule] = RULES) -> list[Exemption]:
    """Every waived or unverifiable finding, so the report can show each exception that was used."""
    return [
        Exemption(rule.name, status, urn, message, waiver)
        for rule, status, urn, message, waiver in _findings(recording, rules)
        if status != "violation"
    ]


def check(
    recording: Recording | Iterable[Record], rules: Sequence[Rule] = RULES
) -> tuple[list[Violation], list[Exemption]]:
    """:func:`evaluate` and :func:`exemptions` together, from one pass of the rules over the records."""
    violations: list[Violation] = []
    exempted: list[Exemption] = []
    for rule, status, urn, message, waiver in _findings(recording, rules):
        if status == "violation":
            violations.append(Violation(rule.name, rule.enforcement, urn, message))
        else:
            exempted.append(Exemption(rule.name, status, urn, message, waiver))
    return violations, exempted


def blocking(violations: Iterable[Violation]) -> list[Violation]:
    """The mandatory violations: the ones that stop a deployment."""
    return [v for v in violations if v.enforcement == "mandatory"]


def format_report(violations: Sequence[Violation], exempted: Sequence[Exemption] = ()) -> str:
    """A plain-text report: violations grouped by rule, mandatory first, then the exemptions used."""
    mandatory = len(blocking(violations))
    lines = [
        f"policy check: {len(violations)} violation(s), {mandatory} mandatory, {len(violations) - mandatory} advisory"
        if violations
        else f"policy check: no violations ({len(RULES)} rules)"
    ]
    ordered = sorted(violations, key=lambda v: (v.enforcement != "mandatory", v.rule, v.urn))
    current = None
    for v in ordered:
        if v.rule != current:
            current = v.rule
            lines.append(f"{v.enforcement.upper()} {v.rule}")
        lines.append(f"  - {v.message}")
        lines.append(f"    {v.urn}")
    if exempted:
        lines.append(f"exemptions: {len(exempted)}")
        for e in sorted(exempted, key=lambda e: (e.status, e.rule, e.urn)):
            lines.append(f"  {e.status} {e.rule}: {e.message}")
    return "\n".join(lines)
