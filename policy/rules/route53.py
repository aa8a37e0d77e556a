"""Route 53: DNSSEC, query logging, CAA, mail authentication; where certificates' challenges and CAA live."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from policy.rules.base import (
    ACME_CHALLENGE_PREFIX,
    CAA_ISSUERS,
    DNS_RECORD,
    QUERY_LOG,
    TLS_SUBSCRIPTION,
    ZONE,
    ZONE_DNSSEC,
    Finding,
    Resource,
    _items,
    _map,
    _of,
    _str,
    _unverified,
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


def _dmarc_tags(value: str) -> dict[str, str]:
    return {k.strip().lower(): v.strip().lower() for k, _, v in (part.partition("=") for part in value.split(";"))}


def _is_dmarc_enforcing(value: str) -> bool:
    tags = _dmarc_tags(value)
    return tags.get("v") == "dmarc1" and tags.get("p") in ("quarantine", "reject")


def _txt_by_name(records: Sequence[tuple[str, str, list[str]]]) -> dict[str, list[str]]:
    txt: dict[str, list[str]] = {}
    for name, kind, values in records:
        if kind == "TXT":
            txt.setdefault(name, []).extend(values)
    return txt


@stack_rule("route53-mail-spf-dmarc", anchors=("ours",), enforcement="mandatory", types=(ZONE, DNS_RECORD))
def _mail_spf_dmarc(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every name with an MX record publishes SPF ending in -all and an enforcing DMARC policy."""
    for zone in _public_zones(resources):
        records = _records(resources, zone)
        txt = _txt_by_name(records)
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


# The zone tag a zone declares its delegation with, when no zone of its own stack delegates it
# (components.dns_zone.DELEGATED_BY_TAG): "registrar", or the name of the stack that publishes its NS records.
DELEGATED_BY_TAG = "delegated-by"
REGISTRAR = "registrar"
# Tags DMARCbis (RFC 9989) removed: receivers that follow it ignore them, so they promise what is not done.
DMARC_REMOVED_TAGS = ("pct", "rf", "ri")


def _known_names(value: object) -> set[str] | None:
    """A list of name servers as a set, or None while any of them is unknown (a preview of a new zone)."""
    items = _items(value)
    if not items or not all(isinstance(v, str) and v and not v.startswith("[") for v in items):
        return None
    return {str(v).lower().rstrip(".") for v in items}


@stack_rule("route53-zone-delegated", anchors=("ours",), enforcement="mandatory", types=(ZONE, DNS_RECORD))
def _zone_delegated(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every public zone is delegated: by an NS record in its parent zone of the same stack, or as declared.

    A zone whose parent zone is in the stack needs an NS record there for its name, naming its own name
    servers. A zone with no parent in the stack declares who delegates it in its ``delegated-by`` tag: the
    registrar, or another stack; a zone delegated by another stack must sit on a reusable delegation set,
    the only way that stack's NS records can name its servers before it exists and after it is replaced.
    """
    zones = _public_zones(resources)
    for zone in zones:
        name = _zone_name(zone)
        parents = [p for p in zones if name.endswith("." + _zone_name(p))]
        if parents:
            parent = max(parents, key=lambda p: len(_zone_name(p)))
            ns = [values for fqdn, kind, values in _records(resources, parent) if fqdn == name and kind == "NS"]
            if not ns:
                yield _violation(
                    zone,
                    f"is not delegated: its parent zone {_zone_name(parent)} has no NS record for {name}, so nothing "
                    "in it resolves. Fix: DnsZone.delegate() in the parent with this zone's name_servers.",
                )
                continue
            declared, actual = _known_names(ns[0]), _known_names(zone.outputs.get("nameServers"))
            if declared is not None and actual is not None and declared != actual:
                yield _violation(
                    zone,
                    f"is delegated to {sorted(declared)} by {_zone_name(parent)}, but its name servers are "
                    f"{sorted(actual)}. Fix: build the NS record from the zone's name_servers.",
                )
            continue
        by = _str(_map(zone.props.get("tags")).get(DELEGATED_BY_TAG))
        if not by:
            yield _violation(
                zone,
                f"is delegated by no zone of this stack and declares no {DELEGATED_BY_TAG} tag, so nothing says "
                "who publishes its NS records. Fix: delegate it from its parent zone, or set delegated_by to "
                f"'{REGISTRAR}' or the delegating stack.",
            )
        elif by != REGISTRAR and not _str(zone.props.get("delegationSetId")):
            yield _violation(
                zone,
                f"is delegated by stack {by} but is not on a reusable delegation set, so that stack's NS records "
                "cannot name its servers before it exists or after it is replaced. Fix: use the delegation set "
                "that stack exports.",
            )


@stack_rule("route53-zone-spf-dmarc", anchors=("ours",), enforcement="mandatory", types=(ZONE, DNS_RECORD))
def _zone_spf_dmarc(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every public zone publishes SPF ending in -all at its apex and an enforcing DMARC policy.

    A zone that sends no mail says so (``v=spf1 -all``, DMARC ``p=reject``); one that does names its
    senders. Without either, anyone can send mail in the domain's name and receivers accept it.
    """
    for zone in _public_zones(resources):
        apex = _zone_name(zone)
        txt = _txt_by_name(_records(resources, zone))
        spf = [v for v in txt.get(apex, []) if v.lower().startswith("v=spf1")]
        if len(spf) != 1 or spf[0].split()[-1] != "-all":
            yield _violation(
                zone,
                f"has {'no' if not spf else 'no single'} SPF record ending in -all at {apex}, so receivers cannot "
                "refuse mail forged in its name. Fix: MailSettings with its senders, or MailSettings.no_mail() "
                "('v=spf1 -all').",
            )
        dmarc = [v for v in txt.get(f"_dmarc.{apex}", []) if _dmarc_tags(v).get("v") == "dmarc1"]
        if not any(_is_dmarc_enforcing(v) and _dmarc_tags(v).get("t") != "y" for v in dmarc):
            yield _violation(
                zone,
                f"has no enforcing DMARC policy at _dmarc.{apex} (p=quarantine or p=reject, not in test mode). "
                "Fix: DmarcPolicy(policy='reject') for a domain that sends no mail.",
            )


@stack_rule("route53-dmarc-current-tags", anchors=("ours",), enforcement="advisory", types=(ZONE, DNS_RECORD))
def _dmarc_current_tags(resources: Sequence[Resource]) -> Iterable[Finding]:
    """DMARC records use no tag DMARCbis removed (pct, rf, ri): receivers following it ignore them."""
    for zone in _public_zones(resources):
        for fqdn, kind, values in _records(resources, zone):
            if kind != "TXT" or not fqdn.startswith("_dmarc."):
                continue
            for value in values:
                removed = [t for t in DMARC_REMOVED_TAGS if t in _dmarc_tags(value)]
                if removed:
                    yield _violation(
                        zone,
                        f"{fqdn} uses {', '.join(removed)}, which DMARCbis (RFC 9989) removed. Fix: drop them; "
                        "t=y replaces pct=0 for testing a policy.",
                    )


def _holder(zones: Sequence[Resource], name: str) -> Resource | None:
    """The stack's zone that answers for ``name``: the longest zone name it lies in (a child zone hides its parent)."""
    inside = [z for z in zones if name == _zone_name(z) or name.endswith("." + _zone_name(z))]
    return max(inside, key=lambda z: len(_zone_name(z)), default=None)


@stack_rule(
    "route53-acme-challenge-in-zone",
    anchors=("ours",),
    enforcement="mandatory",
    types=(ZONE, DNS_RECORD),
)
def _acme_challenge_in_zone(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every ACME challenge record sits in the zone of this stack that answers for its name.

    A challenge record in another zone (a parent whose child zone is delegated, a zone of another stack) is
    never seen by the CA: the certificate is not issued, nor renewed.
    """
    zones = _of(resources, ZONE)
    for record in _of(resources, DNS_RECORD):
        name = _str(record.props.get("name")).lower().rstrip(".")
        if not name.startswith(ACME_CHALLENGE_PREFIX):
            continue
        zone_id = _str(record.props.get("zoneId"))
        if not zone_id or zone_id == "[unknown]":
            yield _unverified(record, "cannot tell its zone before the zone's ID is known")
            continue
        holder = _holder(zones, name)
        if holder is None:
            yield _violation(record, f"{name} lies in no zone of this stack, so no CA can see it.")
        elif zone_id not in _zone_ids(holder):
            yield _violation(
                record,
                f"{name} is not in {_zone_name(holder)}, the zone of this stack that answers for it, so the CA "
                f"never sees it. Fix: zone_id of {_zone_name(holder)}.",
            )


def _caa_values(resources: Sequence[Resource], zones: Sequence[Resource], name: str) -> tuple[str, list[str]] | None:
    """The CAA record set a CA finds for ``name`` among this stack's records: the closest at or above it."""
    labels = name.split(".")
    for start in range(len(labels) - 1):
        candidate = ".".join(labels[start:])
        zone = _holder(zones, candidate)
        if zone is None:
            return None
        for fqdn, kind, values in _records(resources, zone):
            if fqdn == candidate and kind == "CAA":
                return candidate, values
    return None


def _caa_allows(values: Sequence[str], issuer: str, wildcard: bool) -> bool:
    """Whether CAA ``values`` let ``issuer`` issue (RFC 8659: issuewild, when present, governs wildcards)."""
    properties = []
    for value in values:
        parts = value.split(None, 2)
        if len(parts) == 3:
            properties.append((parts[1].lower(), parts[2].strip('"').split(";", 1)[0].strip().lower()))
    tag = "issuewild" if wildcard and any(t == "issuewild" for t, _ in properties) else "issue"
    return any(t == tag and v == issuer for t, v in properties)


@stack_rule(
    "route53-caa-allows-certificate-authority",
    anchors=("ours",),
    enforcement="mandatory",
    types=(ZONE, DNS_RECORD, TLS_SUBSCRIPTION),
)
def _caa_allows_authority(resources: Sequence[Resource]) -> Iterable[Finding]:
    """The CAA a CA finds for every domain of every TLS subscription allows the subscription's authority.

    Otherwise the authority refuses to issue (or to renew) and the subscription stays pending; the
    validation times out and the names lose their certificate when the current one expires.
    """
    zones = _of(resources, ZONE)
    for subscription in _of(resources, TLS_SUBSCRIPTION):
        authority = _str(subscription.props.get("certificateAuthority"))
        issuer = CAA_ISSUERS.get(authority)
        if issuer is None:
            continue  # an unknown authority: fastly-tls-subscription-contract says so
        for raw in _items(subscription.props.get("domains")):
            domain = _str(raw).lower().rstrip(".")
            found = _caa_values(resources, zones, domain.removeprefix("*."))
            if found is None:
                continue  # no CAA at or above it in this stack: any CA may issue
            where, values = found
            if not _caa_allows(values, issuer, domain.startswith("*.")):
                yield _violation(
                    subscription,
                    f"asks {authority} for {domain}, but the CAA of {where} ({', '.join(values)}) does not allow "
                    f"{issuer}: it will not issue. Fix: add '0 issue \"{issuer}\"' to that zone's CAA.",
                )
