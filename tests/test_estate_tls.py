"""HTTPS at the edge, across both stacks: from the certificate request to the expiry alert.

Every public name served by Fastly has a managed certificate (or one declared external), its challenge record
in the zone holding it, a validation that `pulumi up` waits for, DNS pointing at the TLS configuration's
targets, a CAA that lets the authority issue, and SSL tests that alert before it expires.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from components.edge_tls import CERTIFICATE_AUTHORITIES, challenge_name, subscription_key
from offline.certificates import host_certificates
from offline.recorder import (
    GET_TLS_CONFIGURATION,
    MOCK_TLS_CONFIGURATION_ID,
    MOCK_TLS_DNS_RECORDS,
    Record,
    Recording,
    record_stack,
)
from policy import offline
from policy.rules import RULES_BY_NAME, Resource
from stacks.catalog import EDGE_SERVICES
from stacks.dns import HOST_CERTIFICATE_AUTHORITIES, PUBLIC_DOMAINS
from stacks.settings import TLS_AUTHORITIES, Ownership, SettingsError
from stacks.tls import TLS_OUTPUT

SERVICE = "fastly:index/serviceVcl:ServiceVcl"
SUBSCRIPTION = "fastly:index/tlsSubscription:TlsSubscription"
VALIDATION = "fastly:index/tlsSubscriptionValidation:TlsSubscriptionValidation"
ACTIVATION = "fastly:index/tlsActivation:TlsActivation"
RECORD = "aws:route53/record:Record"
ZONE = "aws:route53/zone:Zone"
SYNTHETICS = "datadog:index/syntheticsTest:SyntheticsTest"
EDGE = "infra:edge:FastlyEdge"
PAGER = "@pagerduty"
AUTHORITY = {"prod": "globalsign", "staging": "lets-encrypt"}
# Names served by an edge owned elsewhere (ownership): prod leaves pypi.org's Fastly service to pypi-infra.
EXTERNAL = {"prod": {"pypi.org"}, "staging": set[str]()}
# The prod stack file's own ownership entries, which a test's override must keep.
PROD_OWNERSHIP = ["edge:pypi=external", "zone:pypi.org=external", "storage:pypi-files=external"]
CERTIFICATE_RULES = (
    "fastly-tls-domains-covered",
    "fastly-tls-subscription-validated",
    "fastly-tls-challenge-records",
    "fastly-no-activation-for-managed-certificates",
    "fastly-tls-subscription-contract",
    "route53-acme-challenge-in-zone",
    "route53-caa-allows-certificate-authority",
    "datadog-certificate-expiry-alert",
)


def domains_of(recording: Recording) -> dict[str, Record]:
    """Every domain of every Fastly service, with its service."""
    return {d["name"]: s for s in recording.of_type(SERVICE) for d in s.inputs["domains"]}


def subscriptions(recording: Recording) -> dict[str, Record]:
    """Each domain's subscription."""
    found: dict[str, Record] = {}
    for subscription in recording.of_type(SUBSCRIPTION):
        for domain in subscription.inputs["domains"]:
            assert domain not in found, f"{domain} is on two subscriptions"
            found[domain] = subscription
    return found


def zone_holding(recording: Recording, name: str) -> Record:
    inside = [z for z in recording.of_type(ZONE) if name == z.inputs["name"] or name.endswith("." + z.inputs["name"])]
    return max(inside, key=lambda z: len(z.inputs["name"]))


def records(recording: Recording, type_: str | None = None) -> list[Record]:
    return [r for r in recording.of_type(RECORD) if type_ is None or r.inputs["type"] == type_]


def violations(recording: Recording | Iterable[Record], *names: str) -> list[offline.Violation]:
    return offline.evaluate(recording, [RULES_BY_NAME[n] for n in names or CERTIFICATE_RULES])


# --- a certificate for every public name --------------------------------------------------------------------


def test_every_domain_of_every_fastly_service_has_a_managed_certificate(stack: Recording) -> None:
    assert set(subscriptions(stack)) == set(domains_of(stack))
    assert len(domains_of(stack)) == 19 - len(EXTERNAL[stack.stack])
    for domain, subscription in subscriptions(stack).items():
        service = domains_of(stack)[domain]
        # One subscription per service, a sibling of the service inside its edge.
        assert subscription.parent == service.parent
        assert sorted(d["name"] for d in service.inputs["domains"]) == subscription.inputs["domains"]
        assert subscription.inputs["certificateAuthority"] == AUTHORITY[stack.stack]
        assert subscription.inputs["configurationId"] == MOCK_TLS_CONFIGURATION_ID
        edge = stack.by_urn(subscription.parent or "")
        key = subscription_key(subscription.inputs["domains"], AUTHORITY[stack.stack])
        assert subscription.name == f"{edge.name}-tls-{key}"


def test_prod_never_force_deletes_a_certificate_and_staging_can_be_destroyed(
    prod: Recording, staging: Recording
) -> None:
    assert all(s.inputs["forceDestroy"] is False for s in prod.of_type(SUBSCRIPTION))
    assert all(s.inputs["forceDestroy"] is True for s in staging.of_type(SUBSCRIPTION))


def test_every_subscription_is_validated_after_its_challenges(stack: Recording) -> None:
    validations = {v.inputs["subscriptionId"]: v for v in stack.of_type(VALIDATION)}
    assert len(validations) == len(stack.of_type(SUBSCRIPTION)) == 15 - len(EXTERNAL[stack.stack])
    challenge_urns = {r.inputs["name"]: r.urn for r in records(stack, "CNAME")}
    for subscription in stack.of_type(SUBSCRIPTION):
        validation = validations[subscription.id or ""]
        for domain in subscription.inputs["domains"]:
            assert challenge_urns[challenge_name(domain)] in validation.options.dependencies
    assert stack.of_type(ACTIVATION) == []


def test_every_challenge_record_is_in_the_zone_holding_its_name(stack: Recording) -> None:
    challenges = {r.inputs["name"]: r for r in records(stack) if r.inputs["name"].startswith("_acme-challenge.")}
    assert set(challenges) == {challenge_name(d) for d in domains_of(stack)}
    for domain, subscription in subscriptions(stack).items():
        record = challenges[challenge_name(domain)]
        assert record.inputs["zoneId"] == zone_holding(stack, domain).outputs["zoneId"]
        assert (record.inputs["type"], record.inputs["ttl"], record.inputs["allowOverwrite"]) == ("CNAME", 60, True)
        offered = {c["recordName"]: c["recordValue"] for c in subscription.outputs["managedDnsChallenges"]}
        assert record.inputs["records"] == [offered[challenge_name(domain)]]


def test_names_point_at_the_tls_configuration_only_once_their_certificate_is_issued(stack: Recording) -> None:
    cname = next(v for k, v in MOCK_TLS_DNS_RECORDS if k == "CNAME")
    ipv4 = [v for k, v in MOCK_TLS_DNS_RECORDS if k == "A"]
    ipv6 = [v for k, v in MOCK_TLS_DNS_RECORDS if k == "AAAA"]
    validations = {v.inputs["subscriptionId"]: v.urn for v in stack.of_type(VALIDATION)}
    pointing = [
        r
        for r in records(stack)
        if r.inputs["name"] in domains_of(stack) and r.inputs["type"] in ("A", "AAAA", "CNAME")
    ]
    assert {r.inputs["name"] for r in pointing} == set(domains_of(stack))
    for record in pointing:
        wanted = {"CNAME": [cname], "A": ipv4, "AAAA": ipv6}[record.inputs["type"]]
        assert record.inputs["records"] == wanted, record.name
        validation = validations[subscriptions(stack)[record.inputs["name"]].id or ""]
        assert validation in record.options.dependencies
    # The targets the program read are exported, for `make verify` to expect the deployed ones.
    assert stack.stack_outputs[TLS_OUTPUT]["dns_target"] == {"cname": cname, "apex_ipv4": ipv4, "apex_ipv6": ipv6}
    assert stack.stack_outputs[TLS_OUTPUT]["configuration_id"] == MOCK_TLS_CONFIGURATION_ID


def test_the_tls_configuration_is_read_once_per_stack(stack: Recording) -> None:
    assert stack.calls.count(GET_TLS_CONFIGURATION) == 1


# --- CAA: the authority, the hosts' own, nothing more -------------------------------------------------------


def caa(recording: Recording) -> dict[str, set[str]]:
    zone_names = {z.outputs["zoneId"]: z.inputs["name"] for z in recording.of_type(ZONE)}
    return {
        zone_names[r.inputs["zoneId"]]: {v for v in r.inputs["records"] if " issue " in v}
        for r in records(recording, "CAA")
    }


def test_prod_caa_allows_fastlys_authority_and_the_hosts_own_and_nothing_more(prod: Recording) -> None:
    found = caa(prod)
    # pypi.org's zone is pypi-infra's: its CAA is theirs to publish.
    assert set(found) == {*PUBLIC_DOMAINS, "psf.io"} - {"pypi.org"}
    for zone, issuers in found.items():
        wanted = {"globalsign.com", *HOST_CERTIFICATE_AUTHORITIES.get(zone, ())}
        assert issuers == {f'0 issue "{i}"' for i in wanted}, zone
    # Let's Encrypt stays where psf-salt's hosts still get certificates from it; nothing uses Amazon's.
    assert '0 issue "letsencrypt.org"' in found["python.org"]
    assert found["pythontest.net"] == {'0 issue "globalsign.com"'}
    assert not any("amazon.com" in v for values in found.values() for v in values)


def test_staging_caa_allows_only_fastlys_authority(staging: Recording) -> None:
    assert set(map(frozenset, caa(staging).values())) == {frozenset({'0 issue "letsencrypt.org"'})}


def test_the_authorities_agree_everywhere() -> None:
    from policy.rules.base import CAA_ISSUERS

    assert set(TLS_AUTHORITIES) == set(CERTIFICATE_AUTHORITIES)
    assert {a: CAA_ISSUERS[a] for a in TLS_AUTHORITIES} == dict(CERTIFICATE_AUTHORITIES)


def _with_caa(recording: Recording, zone: str, values: list[str]) -> list[Resource]:
    zone_id = next(z.outputs["zoneId"] for z in recording.of_type(ZONE) if z.inputs["name"] == zone)
    out = []
    for record in recording.resources:
        view = offline.resource_view(record)
        if record.type == RECORD and record.inputs["type"] == "CAA" and record.inputs["zoneId"] == zone_id:
            view = Resource(**{**view.__dict__, "props": {**record.inputs, "records": values}})
        out.append(view)
    return out


def test_a_caa_that_would_block_the_authority_fails(stack: Recording) -> None:
    rule = RULES_BY_NAME["route53-caa-allows-certificate-authority"]
    assert rule.violations([offline.resource_view(r) for r in stack.resources]) == []
    www = next(d for d in domains_of(stack) if d.startswith("www.python"))
    zone = zone_holding(stack, www).inputs["name"]
    blocked = rule.violations(_with_caa(stack, zone, ['0 issue "amazon.com"', '0 iodef "mailto:x@example.org"']))
    # Every subscription with a name in that zone is refused: www.python.org's, docs', mail's, ...
    assert len(blocked) >= 8 and all("does not allow" in f.message for f in blocked)


@pytest.fixture(scope="module")
def staging_on_globalsign() -> Recording:
    return record_stack(
        "staging", {"tlsCertificateAuthority": "globalsign", "fastlyTlsConfiguration": "t7CguUGZzb2W9Euo5FoKa"}
    )


def test_changing_the_authority_moves_caa_and_makes_new_certificates_before_the_old_go(
    staging: Recording, staging_on_globalsign: Recording
) -> None:
    changed = staging_on_globalsign
    assert set(map(frozenset, caa(changed).values())) == {frozenset({'0 issue "globalsign.com"'})}
    assert {s.inputs["certificateAuthority"] for s in changed.of_type(SUBSCRIPTION)} == {"globalsign"}
    # New logical names: Pulumi creates them (and waits for their validations) before it deletes the old.
    old = {r.urn for r in staging.of_type(SUBSCRIPTION) + staging.of_type(VALIDATION)}
    new = {r.urn for r in changed.of_type(SUBSCRIPTION) + changed.of_type(VALIDATION)}
    assert old.isdisjoint(new) and len(new) == len(old)
    # The challenge records and the names' own records keep their URNs and are updated in place.
    assert {r.urn for r in records(changed)} == {r.urn for r in records(staging)}
    assert violations(changed) == []


def test_a_configured_tls_configuration_is_the_one_read_and_used(staging_on_globalsign: Recording) -> None:
    wanted = "t7CguUGZzb2W9Euo5FoKa"
    assert {s.inputs["configurationId"] for s in staging_on_globalsign.of_type(SUBSCRIPTION)} == {wanted}
    assert staging_on_globalsign.stack_outputs[TLS_OUTPUT]["configuration_id"] == wanted


# --- adoption: certificates made outside the program ------------------------------------------------------------


@pytest.fixture(scope="module")
def prod_external() -> Recording:
    return record_stack("prod", {"ownership": [*PROD_OWNERSHIP, "certificate:python-org=external"]})


def test_an_external_certificate_is_not_duplicated_but_still_watched(prod: Recording, prod_external: Recording) -> None:
    external = {"www.python.org", "python.org", "staging.python.org"}
    assert external.isdisjoint(subscriptions(prod_external))
    assert set(subscriptions(prod_external)) == set(domains_of(prod_external)) - external
    challenge_names = {r.inputs["name"] for r in records(prod_external)}
    assert not {challenge_name(d) for d in external} & challenge_names
    certificates = host_certificates(prod_external)
    for host in external:
        assert certificates[host].owner == "external" and certificates[host].subscription is None
        assert (certificates[host].alert_days, certificates[host].warning_days) == (14, 30)
    # Nothing else changes, and nothing is renamed: the other services keep their certificates' URNs.
    kept = {r.urn for r in prod.of_type(SUBSCRIPTION)} - {r.urn for r in prod_external.of_type(SUBSCRIPTION)}
    assert len(kept) == 2  # python.org's and staging.python.org's, no longer created
    assert offline.blocking(violations(prod_external)) == []


def test_an_uncovered_name_fails_unless_declared_external(prod_external: Recording) -> None:
    # Drop the external tag from the SSL tests of www.python.org: the rule sees a name without a certificate.
    untagged = []
    for record in prod_external.resources:
        view = offline.resource_view(record)
        if record.type == SYNTHETICS and "certificate:external" in record.inputs.get("tags", []):
            tags = [t for t in record.inputs["tags"] if t != "certificate:external"]
            view = Resource(**{**view.__dict__, "props": {**record.inputs, "tags": tags}})
        untagged.append(view)
    found = RULES_BY_NAME["fastly-tls-domains-covered"].violations(untagged)
    assert sorted(f.message.split("serves ")[1].split(" ")[0] for f in found) == [
        "python.org",
        "staging.python.org",
        "www.python.org",
    ]


def test_certificate_owners_are_the_services_with_an_edge(stack: Recording) -> None:
    services = {
        t.removeprefix("service:")
        for test in stack.of_type(SYNTHETICS)
        if test.inputs.get("subtype") == "ssl"
        for t in test.inputs["tags"]
        if t.startswith("service:")
    }
    assert services == EDGE_SERVICES


# --- expiry: SSL tests per name ----------------------------------------------------------------------------


def test_every_public_name_has_an_expiry_alert_and_warning(stack: Recording) -> None:
    certificates = host_certificates(stack)
    external = EXTERNAL[stack.stack]
    assert set(certificates) == set(domains_of(stack)) | external
    for c in certificates.values():
        assert (c.alert_days, c.warning_days) == (14, 30)
        if c.host in external:
            # Watched, not made: no subscription, no challenge, no authority of this program's.
            assert (c.owner, c.subscription, c.challenge_zone) == ("external", None, None)
            continue
        assert (c.owner, c.authority, c.validated) == ("managed", AUTHORITY[stack.stack], True)
        assert c.challenge_zone == zone_holding(stack, c.host).inputs["name"]


def test_certificate_alerts_page_on_call_in_prod_only_and_warnings_never(prod: Recording, staging: Recording) -> None:
    def tests(recording: Recording, kind: str) -> list[Mapping[str, Any]]:
        return [
            t.inputs
            for t in recording.of_type(SYNTHETICS)
            if t.inputs.get("subtype") == "ssl" and f"certificate-check:{kind}" in t.inputs["tags"]
        ]

    assert len(tests(prod, "alert")) == len(tests(prod, "warning")) == 19
    assert all(PAGER in t["message"] for t in tests(prod, "alert"))
    assert not any(PAGER in t["message"] for t in tests(prod, "warning") + tests(staging, "alert"))
    managed = [t for t in tests(prod, "alert") if "certificate:managed" in t["tags"]]
    external = [t for t in tests(prod, "alert") if "certificate:external" in t["tags"]]
    assert (len(managed), len(external)) == (18, 1)


def test_every_certificate_rule_holds_on_both_stacks(stack: Recording) -> None:
    assert violations(stack) == []


# --- settings ----------------------------------------------------------------------------------------------


def test_certificate_settings() -> None:
    from stacks.settings import parse_settings
    from tests.test_settings import base

    settings = parse_settings("prod", base("prod"))
    assert settings.tls_certificate_authority == "globalsign"
    assert settings.certificate_owner("python-org") is Ownership.MANAGED
    # A certificate follows its edge unless it is given an owner of its own.
    assert settings.certificate_owner("pypi") is Ownership.EXTERNAL
    raw = base("prod") | {"ownership": [*PROD_OWNERSHIP, "certificate:python-org=external"]}
    assert parse_settings("prod", raw).certificate_owner("python-org") is Ownership.EXTERNAL
    with pytest.raises(SettingsError, match="names no certificate; certificate parts: bugs") as raised:
        parse_settings("prod", base("prod") | {"ownership": ["certificate:salt=external"]})
    assert raised.value.key == "ownership"
    with pytest.raises(SettingsError, match="edge:pypi is external, so is its certificate"):
        parse_settings("prod", base("prod") | {"ownership": [*PROD_OWNERSHIP, "certificate:pypi=managed"]})
    with pytest.raises(SettingsError, match="must be one of globalsign, lets-encrypt"):
        parse_settings("prod", base("prod") | {"tlsCertificateAuthority": "letsencrypt"})


def test_a_tls_configuration_without_usable_targets_stops_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi_fastly as fastly

    from stacks import tls
    from stacks.settings import parse_settings
    from tests.test_settings import base

    class Found:
        id = "t7CguUGZzb2W9Euo5FoKa"
        name = "Legacy"
        dns_records = [
            fastly.outputs.GetTlsConfigurationDnsRecordResult(
                record_type="A", record_value="151.101.2.132", region="global"
            )
        ]

    monkeypatch.setattr(tls.fastly, "get_tls_configuration", lambda **_: Found())
    settings = parse_settings("staging", base("staging") | {"fastlyTlsConfiguration": Found.id})
    with pytest.raises(SettingsError) as raised:
        tls.build_tls(settings, SimpleNamespace(fastly=None))  # type: ignore[arg-type]  # the stub reads none
    assert raised.value.key == "fastlyTlsConfiguration"
    assert "exactly one CNAME" in str(raised.value) and "\n" not in str(raised.value)
