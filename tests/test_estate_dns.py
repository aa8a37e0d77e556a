"""The estate's DNS across both stacks: delegation from prod to staging, mail authentication, DNSSEC outputs
and alerts, and the CDN log retention. Every test reads the session's two recordings (tests/conftest.py).
"""

from __future__ import annotations

import pytest

from offline.recorder import ProgramFailedError, Record, Recording, record_stack
from stacks.dns import DELEGATED_OUTPUT, PUBLIC_DOMAINS, UNAUTHENTICATED_SENDERS, DelegationError
from stacks.settings import SettingsError, parse_settings
from tests.test_settings import base

ZONE = "aws:route53/zone:Zone"
RECORD = "aws:route53/record:Record"
DELEGATION_SET = "aws:route53/delegationSet:DelegationSet"
KSK = "aws:route53/keySigningKey:KeySigningKey"
MONITOR = "datadog:index/monitor:Monitor"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
STACK_REFERENCE = "pulumi:pulumi:StackReference"


def zones(recording: Recording) -> dict[str, Record]:
    return {z.inputs["name"]: z for z in recording.of_type(ZONE)}


def ns_records(recording: Recording) -> list[tuple[str, str, frozenset[str]]]:
    """(zone ID, delegated name, name servers) of every NS record."""
    return [
        (r.inputs["zoneId"], r.inputs["name"], frozenset(r.inputs["records"]))
        for r in recording.of_type(RECORD)
        if r.inputs["type"] == "NS"
    ]


def txt(recording: Recording) -> dict[str, list[str]]:
    return {r.inputs["name"]: r.inputs["records"] for r in recording.of_type(RECORD) if r.inputs["type"] == "TXT"}


def resolve(target: str, prod: Recording, staging: Recording) -> list[str]:
    """Follow referrals from prod's registrar-delegated zones down to the zone named ``target``.

    The way a resolver does: start at the deepest prod apex containing the name, and at each zone take the NS
    record for the longest name that contains the target; the next zone is the one, in either stack, with that
    name and exactly those name servers. Returns the chain of zone names; fails when a referral leads nowhere.
    """
    every = [*prod.of_type(ZONE), *staging.of_type(ZONE)]
    apexes = [z for z in prod.of_type(ZONE) if z.inputs.get("tags", {}).get("delegated-by") == "registrar"]
    current = max(
        (z for z in apexes if target == z.inputs["name"] or target.endswith("." + z.inputs["name"])),
        key=lambda z: len(z.inputs["name"]),
    )
    chain = [current.inputs["name"]]
    while current.inputs["name"] != target:
        referrals = [
            (name, servers)
            for zone_id, name, servers in ns_records(prod) + ns_records(staging)
            if zone_id == current.outputs["zoneId"] and (target == name or target.endswith("." + name))
        ]
        assert referrals, f"{current.inputs['name']} has no NS record on the way to {target} (chain {chain})"
        name, servers = max(referrals, key=lambda r: len(r[0]))
        matches = [z for z in every if z.inputs["name"] == name and frozenset(z.outputs["nameServers"]) == servers]
        assert len(matches) == 1, f"the NS record for {name} in {current.inputs['name']} names no zone of {name}"
        current = matches[0]
        chain.append(name)
    return chain


# --- delegation ----------------------------------------------------------------------------------------------


def test_every_staging_zone_is_delegated_from_a_prod_zone(prod: Recording, staging: Recording) -> None:
    staging_zones = zones(staging)
    assert len(staging_zones) == len(PUBLIC_DOMAINS) + 2  # the public zones, the internal one and the top one
    for name in staging_zones:
        chain = resolve(name, prod, staging)
        assert chain[0] == "psf.io" and chain[1] == "staging.psf.io", chain


def test_prods_ns_records_name_the_servers_staging_will_have(prod: Recording, staging: Recording) -> None:
    (delegated_set,) = [s for s in prod.of_type(DELEGATION_SET) if s.name == "delegated-domains-set"]
    ns = {r.inputs["name"]: r for r in prod.of_type(RECORD) if r.inputs["type"] == "NS"}
    # Staging's, and the integration workflow's throw-away stack's (tests/integration).
    assert sorted(ns) == ["ci.psf.io", "staging.psf.io"]
    for delegation in ns.values():
        assert delegation.inputs["zoneId"] == zones(prod)["psf.io"].outputs["zoneId"]
        assert sorted(delegation.inputs["records"]) == sorted(delegated_set.outputs["nameServers"])
        # Known from prod's own resource, before any delegated zone exists: the record waits for the set only.
        assert delegated_set.urn in delegation.options.dependencies
    record = ns["staging.psf.io"]
    assert not prod.of_type(STACK_REFERENCE)
    top = zones(staging)["staging.psf.io"]
    assert top.inputs["delegationSetId"] == delegated_set.id
    assert sorted(top.outputs["nameServers"]) == sorted(record.inputs["records"])


def test_staging_reads_the_delegation_set_from_prods_outputs(prod: Recording, staging: Recording) -> None:
    (reference,) = staging.of_type(STACK_REFERENCE)
    assert reference.inputs["name"] == "organization/psf-infra/prod"
    exported = prod.stack_outputs[DELEGATED_OUTPUT]["staging.psf.io"]
    assert exported["delegation_set_id"] == zones(staging)["staging.psf.io"].inputs["delegationSetId"]
    assert staging.stack_outputs[DELEGATED_OUTPUT] == {}


def test_a_replaced_staging_zone_keeps_its_delegation(prod: Recording, staging: Recording) -> None:
    top = zones(staging)["staging.psf.io"]
    # The top zone's name servers are the set's: a new zone on the set answers with the same ones. Route 53
    # refuses two zones of one name on one set, so the old one goes first.
    assert top.options.delete_before_replace
    # Children are delegated inside staging from their own name servers, so their NS records follow a
    # replacement in the same update, and they are replaced create-first.
    for name, zone in zones(staging).items():
        if name == "staging.psf.io":
            continue
        assert "delegationSetId" not in zone.inputs, name
        assert not zone.options.delete_before_replace, name
        (record,) = [r for r in staging.of_type(RECORD) if r.inputs["type"] == "NS" and r.inputs["name"] == name]
        assert zone.urn in record.options.dependencies
        assert record.inputs["ttl"] == 300


def test_prods_two_delegation_sets_share_no_name_server(prod: Recording) -> None:
    sets = [frozenset(s.outputs["nameServers"]) for s in prod.of_type(DELEGATION_SET)]
    assert len(sets) == 2 and not sets[0] & sets[1]


def test_staging_fails_clearly_when_prod_does_not_delegate_its_suffix() -> None:
    with pytest.raises(ProgramFailedError) as caught:
        record_stack("staging", {"domainSuffix": "other.psf.io", "internalDomain": "int.other.psf.io"})
    cause = caught.value.cause
    assert isinstance(cause, DelegationError) and cause.key == "domainSuffix"
    assert not isinstance(cause, ValueError), "the SDK would wrap it in a multi-line input error"
    assert "not delegated by organization/psf-infra/prod (it delegates: ci.psf.io, staging.psf.io)" in str(cause)
    assert "\n" not in str(cause)


def test_delegated_domain_outside_prods_zones_is_refused() -> None:
    with pytest.raises(ProgramFailedError) as caught:
        record_stack("prod", {"delegatedDomains": ["staging.example.com"]})
    cause = caught.value.cause
    assert isinstance(cause, SettingsError) and cause.key == "delegatedDomains"
    assert "must lie inside one of this stack's zones" in str(cause)


def test_committed_stack_files_delegate_each_other() -> None:
    prod = parse_settings("prod", base("prod"))
    staging = parse_settings("staging", base("staging"))
    assert staging.delegation_stack.rsplit("/", 1)[1] == "prod"
    assert staging.domain_suffix in prod.delegated_domains


# --- mail authentication -------------------------------------------------------------------------------------


def test_every_zone_publishes_spf_and_dmarc(stack: Recording) -> None:
    records = txt(stack)
    for name in zones(stack):
        spf = [v for v in records.get(name, []) if v.startswith("v=spf1")]
        assert len(spf) == 1 and spf[0].endswith(" -all"), name
        dmarc = records[f"_dmarc.{name}"]
        assert len(dmarc) == 1 and dmarc[0].split("; ")[1] in ("p=quarantine", "p=reject"), name
        assert "np=reject" in dmarc[0], name


def test_zones_that_send_no_mail_refuse_all_of_it(stack: Recording) -> None:
    settings = parse_settings(stack.stack, base(stack.stack))
    senders = {s.domain for s in settings.mail_senders}
    records = txt(stack)
    quiet = [settings.public_domain(d) for d in PUBLIC_DOMAINS if d not in senders]
    assert len(quiet) == 5
    for name in quiet:
        assert records[name] == ["v=spf1 -all"], name
        assert records[f"_dmarc.{name}"] == ["v=DMARC1; p=reject; np=reject; fo=1; adkim=s; aspf=r"], name


def test_python_org_spf_names_every_configured_sender(stack: Recording) -> None:
    settings = parse_settings(stack.stack, base(stack.stack))
    (spf,) = [v for v in txt(stack)[settings.public_domain("python.org")] if v.startswith("v=spf1")]
    # The MX names reserved addresses, which send nothing; the mail host's own name is the sender (a:).
    sender = f"mail.ams1.{settings.internal_domain}"
    # The secondary MX relays mail to the primary from its own address, python.org's senders' included.
    secondary = f" a:mail-secondary.sfo1.{settings.internal_domain}" if settings.standbys else ""
    assert spf == (
        f"v=spf1 mx a:mail.wooz.org a:{sender}{secondary} include:_spf.google.com include:mailgun.org "
        "include:stspg-customer.com -all"
    )


def test_no_dmarc_record_uses_a_tag_dmarcbis_removed(stack: Recording) -> None:
    for name, values in txt(stack).items():
        if name.startswith("_dmarc."):
            for value in values:
                tags = {part.split("=", 1)[0] for part in value.split("; ")}
                assert not tags & {"pct", "rf", "ri"}, (name, value)


def test_hosts_that_send_unauthenticated_mail_are_spared(stack: Recording) -> None:
    settings = parse_settings(stack.stack, base(stack.stack))
    records = txt(stack)
    for domain, hosts in UNAUTHENTICATED_SENDERS.items():
        for host in hosts:
            assert records[f"_dmarc.{host}.{settings.public_domain(domain)}"][0].startswith("v=DMARC1; p=none")
    internal = records[f"_dmarc.{settings.internal_domain}"][0]
    assert internal.startswith("v=DMARC1; p=reject; sp=none; np=reject")


def test_mail_senders_for_an_unknown_domain_are_refused() -> None:
    with pytest.raises(ProgramFailedError) as caught:
        record_stack("staging", {"mailSenders": ["python.com include:_spf.google.com"]})
    cause = caught.value.cause
    assert isinstance(cause, SettingsError) and cause.key == "mailSenders"
    assert "python.com" in str(cause) and "python.org" in str(cause)


# --- DNSSEC --------------------------------------------------------------------------------------------------


def test_prod_exports_every_signed_zones_ds_record(prod: Recording) -> None:
    exported = prod.stack_outputs["ds_records"]
    by_zone_id = {k.inputs["hostedZoneId"]: k.outputs["dsRecord"] for k in prod.of_type(KSK)}
    assert set(exported) == set(zones(prod))
    for name, zone in zones(prod).items():
        assert exported[name] == by_zone_id[zone.outputs["zoneId"]]
        key_tag, algorithm, digest_type, digest = exported[name].split()
        assert (algorithm, digest_type) == ("13", "2") and key_tag.isdigit() and len(digest) == 64


def test_staging_signs_and_exports_nothing(staging: Recording) -> None:
    assert staging.stack_outputs["ds_records"] == {}
    assert not staging.of_type(KSK)


def test_dnssec_failures_page_on_call_in_prod(prod: Recording) -> None:
    monitors = [m for m in prod.of_type(MONITOR) if "dnssec" in m.name]
    assert {m.name for m in monitors} == {
        "dns-monitors-dnssec-ksk-action-needed",
        "dns-monitors-dnssec-internal-failure",
    }
    zone_ids = sorted(z.outputs["zoneId"].lower() for z in zones(prod).values())
    scope = " OR ".join(f"hostedzoneid:{zone_id}" for zone_id in zone_ids)
    metrics = set()
    for monitor in monitors:
        query = monitor.inputs["query"]
        metric = query.split(":", 2)[2].split("{", 1)[0]
        metrics.add(metric)
        assert query == f"max(last_15m):max:{metric}{{{scope}}} by {{hostedzoneid}} >= 1"
        assert monitor.inputs["type"] == "metric alert"
        assert monitor.inputs["evaluationDelay"] == 900
        assert monitor.inputs["notifyNoData"] is True and monitor.inputs["noDataTimeframe"] == 120
        assert "{{#is_alert}}@pagerduty-psf-infrastructure{{/is_alert}}" in monitor.inputs["message"]
        assert "service:dns" in monitor.inputs["tags"]
    assert metrics == {
        "aws.route53.dnssec_key_signing_keys_needing_action",
        "aws.route53.dnssec_internal_failure",
    }


def test_staging_has_no_dnssec_alerts(staging: Recording) -> None:
    assert not [m for m in staging.of_type(MONITOR) if "dnssec" in m.name]


def test_signed_staging_would_alert_without_paging() -> None:
    recording = record_stack("staging", {"dnssec": True})
    monitors = [m for m in recording.of_type(MONITOR) if "dnssec" in m.name]
    assert len(monitors) == 2
    assert all("@pagerduty" not in m.inputs["message"] for m in monitors)
    assert set(recording.stack_outputs["ds_records"]) == set(zones(recording))


# --- CDN log retention ---------------------------------------------------------------------------------------


def _log_expiration(recording: Recording) -> int:
    (lifecycle,) = [r for r in recording.of_type(LIFECYCLE) if r.name == "cdn-logs-lifecycle"]
    (rule,) = [r for r in lifecycle.inputs["rules"] if r["id"] == "expire-objects"]
    assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""}
    return rule["expiration"]["days"]


def test_cdn_logs_expire_after_the_configured_retention(stack: Recording) -> None:
    assert _log_expiration(stack) == 30


def test_cdn_log_retention_is_configurable() -> None:
    assert _log_expiration(record_stack("staging", {"cdnLogRetentionDays": 7})) == 7


def test_other_buckets_keep_their_objects(prod: Recording) -> None:
    for lifecycle in prod.of_type(LIFECYCLE):
        if lifecycle.name != "cdn-logs-lifecycle":
            assert all("expiration" not in rule for rule in lifecycle.inputs["rules"]), lifecycle.name
