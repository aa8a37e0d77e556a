"""Route 53: DNSSEC, query logging, CAA, mail authentication."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from policy.rules.base import (
    DNS_RECORD,
    QUERY_LOG,
    ZONE,
    ZONE_DNSSEC,
    Finding,
    Resource,
    _items,
    _of,
    _str,
    _violation,
    stack_rule,
)


def _zone_ids(zone: Resource) -> set[str]:
    ids = {zone.id, _str(zone.outputs.get("zoneId")), _str(zone.props.get("zoneId"))}
    return {i for i in ids if i}


def _public_zones(resources: Sequence[Resource]) -> list[Resource]:
    return [z for z in _of(resources, ZONE) if not _items(z.props.get("vpcs"))]


def _zone_name(zone: Resource) -> str:
    return _str(zone.props.get("name")).lower().rstrip(".")


def _fqdn(name: str, zone: str) -> str:
    name = name.lower().rstrip(".")
    if name in ("", "@"):
        return zone
    return name if name == zone or name.endswith("." + zone) else f"{name}.{zone}"


def _records(resources: Sequence[Resource], zone: Resource) -> list[tuple[str, str, list[str]]]:
    """(fqdn, type, values) of the zone's records; TXT values unquoted and joined."""
    ids, zone_name = _zone_ids(zone), _zone_name(zone)
    out = []
    for record in _of(resources, DNS_RECORD):
        if _str(record.props.get("zoneId")) not in ids:
            continue
        values = [_str(v).replace('" "', "").strip('"') for v in _items(record.props.get("records"))]
        out.append((_fqdn(_str(record.props.get("name")), zone_name), _str(record.props.get("type")).upper(), values))
    return out


def _zone_companion(
    resources: Sequence[Resource], types: str, key: str, ok: Callable[[Resource], bool]
) -> Callable[[Resource], bool]:
    def has(zone: Resource) -> bool:
        ids = _zone_ids(zone)
        return any(_str(c.props.get(key)) in ids and ok(c) for c in _of(resources, types))

    return has


@stack_rule("route53-dnssec-in-prod", anchors=("CKV2_AWS_38",), enforcement="mandatory", types=(ZONE, ZONE_DNSSEC))
def _dnssec(resources: Sequence[Resource]) -> Iterable[Finding]:
    """In production every public hosted zone is DNSSEC-signed (staging zones are unsigned test delegations)."""
    signed = _zone_companion(
        resources, ZONE_DNSSEC, "hostedZoneId", lambda d: d.props.get("signingStatus") != "NOT_SIGNING"
    )
    for zone in _public_zones(resources):
        if zone.is_prod and not signed(zone):
            yield _violation(
                zone,
                "is not DNSSEC-signed, so its answers can be spoofed. Fix: config psf-infra:dnssec true (the settings "
                "refuse false in prod); in code, a KMS key-signing key and a HostedZoneDnsSec for its zoneId, then "
                "the DS record at the registrar.",
            )


@stack_rule("route53-query-logging", anchors=("CKV2_AWS_39",), enforcement="advisory", types=(ZONE, QUERY_LOG))
def _query_logging(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every public hosted zone logs DNS queries."""
    logged = _zone_companion(resources, QUERY_LOG, "zoneId", lambda _: True)
    for zone in _public_zones(resources):
        if not logged(zone):
            yield _violation(zone, "does not log queries. Fix: add a QueryLog to a CloudWatch log group in us-east-1.")


@stack_rule("route53-caa", anchors=("ours",), enforcement="advisory", types=(ZONE, DNS_RECORD))
def _caa(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every public hosted zone publishes CAA records at its apex, naming the CAs allowed to issue."""
    for zone in _public_zones(resources):
        apex = _zone_name(zone)
        if not any(name == apex and kind == "CAA" for name, kind, _ in _records(resources, zone)):
            yield _violation(
                zone,
                f"has no CAA record at {apex}, so any CA may issue for it. Fix: add CAA '0 issue \"letsencrypt.org\"' "
                "(and the other CAs in use) plus an iodef.",
            )


def _is_dmarc_enforcing(value: str) -> bool:
    tags = {k.strip().lower(): v.strip().lower() for k, _, v in (part.partition("=") for part in value.split(";"))}
    return tags.get("v") == "dmarc1" and tags.get("p") in ("quarantine", "reject")


@stack_rule("route53-mail-spf-dmarc", anchors=("ours",), enforcement="mandatory", types=(ZONE, DNS_RECORD))
def _mail_spf_dmarc(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every name with an MX record publishes SPF ending in -all and an enforcing DMARC policy."""
    for zone in _public_zones(resources):
        records = _records(resources, zone)
        txt: dict[str, list[str]] = {}
        for name, kind, values in records:
            if kind == "TXT":
                txt.setdefault(name, []).extend(values)
        for name in sorted({name for name, kind, _ in records if kind == "MX"}):
            spf = [v for v in txt.get(name, []) if v.lower().startswith("v=spf1")]
            if not spf or not all(v.split()[-1] == "-all" for v in spf):
                yield _violation(
                    zone,
                    f"{name} receives mail but has no SPF record ending in -all, so anyone can send as it. "
                    f"Fix: TXT at {name} 'v=spf1 mx -all' (plus the other senders).",
                )
            dmarc = txt.get(f"_dmarc.{name}", []) + txt.get(f"_dmarc.{_zone_name(zone)}", [])
            if not any(_is_dmarc_enforcing(v) for v in dmarc):
                yield _violation(
                    zone,
                    f"{name} receives mail but has no enforcing DMARC policy. Fix: TXT at _dmarc.{name} "
                    "'v=DMARC1; p=quarantine; pct=100; fo=1; adkim=s; aspf=r'.",
                )
