"""Managed certificates at the edge: subscription, ACME challenge records, validation, replacement order."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_fastly as fastly
import pytest

from components.common import ZoneRef
from components.edge import (
    EdgeArgs,
    EdgeDns,
    EdgeOptions,
    FastlyDnsTarget,
    FastlyEdge,
    HealthCheck,
    ManagedCertificate,
    Origin,
    PublicHost,
    challenge_name,
)
from components.edge_tls import (
    MAX_DOMAINS,
    VALIDATION_DOMAIN,
    _challenge_value,
    request_certificate,
    subscription_key,
)
from offline.recorder import Record, Recording
from tests.component_helpers import (
    TestProviders,
    assert_every_custom_resource_has_a_provider,
    assert_names_derived_from,
    one,
    program_error,
    record,
)

SERVICE = "fastly:index/serviceVcl:ServiceVcl"
SUBSCRIPTION = "fastly:index/tlsSubscription:TlsSubscription"
VALIDATION = "fastly:index/tlsSubscriptionValidation:TlsSubscriptionValidation"
ACTIVATION = "fastly:index/tlsActivation:TlsActivation"
RECORD = "aws:route53/record:Record"
ORG = ZoneRef("example.org", "ZORG")
NET = ZoneRef("example.net", "ZNET")
TARGET = FastlyDnsTarget(cname="dualstack.x.map.fastly.net", apex_ipv4=("192.0.2.10",), apex_ipv6=("2001:db8::10",))
CERTIFICATE = ManagedCertificate(authority="lets-encrypt", configuration_id="t7CguUGZzb2W9Euo5FoKa")
DOMAINS = ("www.example.org", "example.org", "www.example.net")
HOSTS = (PublicHost("www.example.org", ORG), PublicHost("example.org", ORG), PublicHost("www.example.net", NET))


def origin() -> Origin:
    return Origin(name="app", address="app.example.com", tls_hostname="app.example.com", health_check=HealthCheck("/"))


def edge_args(domains: tuple[str, ...] = DOMAINS, certificate: ManagedCertificate | None = CERTIFICATE) -> EdgeArgs:
    return EdgeArgs(
        domains=domains,
        origins=(origin(),),
        options=EdgeOptions(service_name="t-www", certificate=certificate),
    )


def edge_program(
    domains: tuple[str, ...] = DOMAINS,
    hosts: tuple[PublicHost, ...] = HOSTS,
    certificate: ManagedCertificate = CERTIFICATE,
) -> Any:
    def program(p: TestProviders) -> None:
        FastlyEdge(
            "www",
            edge_args(domains, certificate),
            fastly_provider=p.fastly,
            dns=EdgeDns(hosts=hosts, target=TARGET),
            aws_provider=p.aws,
        )

    return program


@pytest.fixture(scope="module")
def edge() -> Recording:
    return record(edge_program())


def challenges(recording: Recording) -> dict[str, Record]:
    return {r.inputs["name"]: r for r in recording.of_type(RECORD) if r.inputs["name"].startswith("_acme-challenge.")}


# --- the subscription --------------------------------------------------------------------------------------------


def test_one_subscription_for_every_domain_of_the_service(edge: Recording) -> None:
    subscription = one(edge, SUBSCRIPTION)
    assert subscription.inputs["domains"] == sorted(DOMAINS)
    assert subscription.inputs["certificateAuthority"] == "lets-encrypt"
    assert subscription.inputs["configurationId"] == "t7CguUGZzb2W9Euo5FoKa"
    # Named explicitly: Fastly's default is "the first domain" of what the provider sends as a set.
    assert subscription.inputs["commonName"] == "www.example.org"
    assert subscription.inputs["forceDestroy"] is False
    assert "forceUpdate" not in subscription.inputs
    # Fastly issues only for domains a service carries: the service first.
    assert one(edge, SERVICE).urn in subscription.options.dependencies


def test_the_common_name_is_a_served_domain_not_a_redirect() -> None:
    from components.edge import DomainRedirect

    def program(p: TestProviders) -> None:
        args = EdgeArgs(
            domains=("example.org", "www.example.org"),
            origins=(origin(),),
            redirects=(DomainRedirect(domain="example.org", to="https://www.example.org"),),
            options=EdgeOptions(service_name="t-apex", certificate=CERTIFICATE),
        )
        hosts = (PublicHost("example.org", ORG), PublicHost("www.example.org", ORG))
        FastlyEdge("apex", args, fastly_provider=p.fastly, dns=EdgeDns(hosts, TARGET), aws_provider=p.aws)

    assert one(record(program), SUBSCRIPTION).inputs["commonName"] == "www.example.org"


def test_the_subscription_is_named_after_its_domain_set_and_authority(edge: Recording) -> None:
    subscription = one(edge, SUBSCRIPTION)
    assert subscription.name == f"www-tls-{subscription_key(DOMAINS, 'lets-encrypt')}"
    assert one(edge, VALIDATION).name == f"{subscription.name}-validation"


def test_subscription_key_ignores_order_and_follows_the_set_and_the_authority() -> None:
    key = subscription_key(DOMAINS, "lets-encrypt")
    assert key == subscription_key(tuple(reversed(DOMAINS)), "lets-encrypt")
    assert len(key) == 8 and int(key, 16) >= 0
    assert key != subscription_key(DOMAINS[:2], "lets-encrypt")
    assert key != subscription_key(DOMAINS, "globalsign")


def test_a_domain_or_authority_change_creates_a_new_subscription_and_keeps_the_challenge_records(
    edge: Recording,
) -> None:
    # Pulumi registers the new subscription and validation and deletes the old pair only after every create
    # and update: the names keep a certificate until the new one is issued. The challenge records stay.
    fewer = record(edge_program(DOMAINS[:2], HOSTS[:2]))
    other_ca = record(edge_program(certificate=ManagedCertificate(authority="globalsign")))
    for changed in (fewer, other_ca):
        before = {r.urn for r in edge.of_type(SUBSCRIPTION) + edge.of_type(VALIDATION)}
        after = {r.urn for r in changed.of_type(SUBSCRIPTION) + changed.of_type(VALIDATION)}
        assert before.isdisjoint(after)
    kept = {r.urn for r in fewer.of_type(RECORD) if r.inputs["name"].startswith("_acme")}
    assert kept < {r.urn for r in edge.of_type(RECORD) if r.inputs["name"].startswith("_acme")}
    assert {r.urn for r in other_ca.of_type(RECORD)} == {r.urn for r in edge.of_type(RECORD)}


def test_replacement_creates_before_it_deletes(edge: Recording) -> None:
    # Pulumi's default, stated: a configuration change during a renewal replaces, create first.
    assert one(edge, SUBSCRIPTION).options.delete_before_replace is False


def test_no_tls_activation_for_a_managed_certificate(edge: Recording) -> None:
    # Fastly activates managed certificates itself; an activation fails (fastly/terraform-provider-fastly#1345).
    assert edge.of_type(ACTIVATION) == []


# --- the ACME challenge records -------------------------------------------------------------------------------


def test_one_challenge_cname_per_domain_in_the_zone_holding_it(edge: Recording) -> None:
    found = challenges(edge)
    assert set(found) == {challenge_name(d) for d in DOMAINS}
    zone_of = {h.host: h.zone.zone_id for h in HOSTS}
    subscription = one(edge, SUBSCRIPTION)
    offered = {c["recordName"]: c["recordValue"] for c in subscription.outputs["managedDnsChallenges"]}
    for domain in DOMAINS:
        challenge = found[challenge_name(domain)]
        assert challenge.inputs["zoneId"] == zone_of[domain]
        assert challenge.inputs["type"] == "CNAME"
        assert challenge.inputs["ttl"] == 60
        assert challenge.inputs["allowOverwrite"] is True
        assert challenge.inputs["records"] == [offered[challenge_name(domain)]]
        assert challenge.inputs["records"][0].endswith("." + VALIDATION_DOMAIN)
        assert challenge.name == f"www-acme-{domain}"
        assert subscription.urn in challenge.options.dependencies


def test_a_domain_and_its_wildcard_share_one_challenge_record() -> None:
    def program(p: TestProviders) -> None:
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        request_certificate(
            "wild",
            CERTIFICATE,
            ("example.org", "*.example.org"),
            common_name="example.org",
            zones={"example.org": ORG, "*.example.org": ORG},
            parent=parent,
            fastly_provider=p.fastly,
            aws_provider=p.aws,
        )

    recording = record(program)
    assert list(challenges(recording)) == ["_acme-challenge.example.org"]
    assert challenge_name("*.example.org") == challenge_name("example.org")


# --- the validation and what waits for it ---------------------------------------------------------------------


def test_the_validation_waits_for_every_challenge_record(edge: Recording) -> None:
    validation = one(edge, VALIDATION)
    assert validation.inputs["subscriptionId"] == one(edge, SUBSCRIPTION).id
    assert {r.urn for r in challenges(edge).values()} <= set(validation.options.dependencies)


def test_names_point_at_fastly_only_once_the_certificate_is_issued(edge: Recording) -> None:
    validation = one(edge, VALIDATION)
    pointing = [r for r in edge.of_type(RECORD) if not r.inputs["name"].startswith("_acme")]
    assert len(pointing) == 4  # www CNAME x 2, apex A and AAAA
    assert all(validation.urn in r.options.dependencies for r in pointing)


def test_every_child_has_a_provider_and_the_edge_name(edge: Recording) -> None:
    assert_every_custom_resource_has_a_provider(edge)
    assert_names_derived_from(edge, edge.named("www"))


def test_no_certificate_no_subscription() -> None:
    def program(p: TestProviders) -> None:
        FastlyEdge(
            "www",
            edge_args(certificate=None),
            fastly_provider=p.fastly,
            dns=EdgeDns(hosts=HOSTS, target=TARGET),
            aws_provider=p.aws,
        )

    recording = record(program)
    assert recording.of_type(SUBSCRIPTION) == [] and recording.of_type(VALIDATION) == []
    assert challenges(recording) == {}


# --- what Fastly must answer, and refusals -------------------------------------------------------------------


def test_the_challenge_value_is_the_one_fastly_offers_for_that_name() -> None:
    offered = [
        fastly.outputs.TlsSubscriptionManagedDnsChallenge(
            record_name="_acme-challenge.a.example.org.",
            record_type="CNAME",
            record_value="abc.fastly-validations.com.",
        )
    ]
    assert _challenge_value(offered, "_acme-challenge.a.example.org") == "abc.fastly-validations.com"
    with pytest.raises(ValueError, match=r"no DNS challenge for _acme-challenge\.b\.example\.org"):
        _challenge_value(offered, "_acme-challenge.b.example.org")
    txt = [
        fastly.outputs.TlsSubscriptionManagedDnsChallenge(
            record_name="_acme-challenge.a.example.org", record_type="TXT", record_value="token"
        )
    ]
    with pytest.raises(ValueError, match="is a TXT record"):
        _challenge_value(txt, "_acme-challenge.a.example.org")


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: ManagedCertificate(authority="letsencrypt"), "ManagedCertificate.authority"),
        (lambda: ManagedCertificate(authority="certainly"), "ManagedCertificate.authority"),
        (lambda: ManagedCertificate(authority="globalsign", configuration_id="bad id"), "configuration_id"),
        (lambda: ManagedCertificate(authority="globalsign", challenge_ttl=5), "challenge_ttl"),
        (lambda: ManagedCertificate(authority="globalsign", force_destroy="yes"), "force_destroy"),  # type: ignore[arg-type]
        (
            lambda: edge_args(tuple(f"h{n}.example.org" for n in range(MAX_DOMAINS + 1))),
            "EdgeArgs.domains",
        ),
        (
            lambda: EdgeOptions(service_name="t", certificate="lets-encrypt"),  # type: ignore[arg-type]
            "EdgeOptions.certificate",
        ),
    ],
)
def test_bad_certificate_arguments_fail_in_one_line(make: Any, argument: str) -> None:
    with pytest.raises(ValueError, match=argument) as raised:
        make()
    assert "\n" not in str(raised.value)


def test_a_certificate_needs_the_zone_of_every_domain() -> None:
    error = program_error(edge_program(hosts=HOSTS[:2]))
    assert "FastlyEdge dns.hosts" in str(error) and "www.example.net" in str(error)

    def without_dns(p: TestProviders) -> None:
        FastlyEdge("www", edge_args(), fastly_provider=p.fastly)

    assert "ACME challenge record" in str(program_error(without_dns))


# --- DNS targets from a TLS configuration ---------------------------------------------------------------------

RECORDS = [
    ("CNAME", "j.sni.global.fastly.net.", "global"),
    ("A", "151.101.66.132", "global"),
    ("A", "151.101.2.132", "global"),
    ("AAAA", "2a04:4e42::132", "global"),
    # Made-up records of another region, only to show they are left out.
    ("CNAME", "n.sni.example-region.fastly.net", "us-eu"),
    ("A", "192.0.2.99", "us-eu"),
]


def test_targets_come_from_one_region_of_the_configuration() -> None:
    target = FastlyDnsTarget.from_tls_configuration("'TLS v1.3' (x)", RECORDS)
    assert target.cname == "j.sni.global.fastly.net"
    assert target.apex_ipv4 == ("151.101.2.132", "151.101.66.132")
    assert target.apex_ipv6 == ("2a04:4e42::132",)
    other = FastlyDnsTarget.from_tls_configuration("x", RECORDS, region="us-eu")
    assert other.cname == "n.sni.example-region.fastly.net" and other.apex_ipv6 == ()


@pytest.mark.parametrize(
    ("records", "words"),
    [
        ([("A", "151.101.2.132", "global")], "exactly one CNAME"),
        ([("CNAME", "a.fastly.net", "global"), ("CNAME", "b.fastly.net", "global")], "exactly one CNAME"),
        ([("CNAME", "j.sni.global.fastly.net", "global")], "A records"),
        ([("CNAME", "example.com", "global"), ("A", "151.101.2.132", "global")], "ending in .fastly.net"),
    ],
)
def test_a_configuration_that_cannot_serve_the_names_is_refused(records: list[Any], words: str) -> None:
    with pytest.raises(ValueError, match=words) as raised:
        FastlyDnsTarget.from_tls_configuration("'x' (y)", records)
    assert "\n" not in str(raised.value)


def test_an_apex_needs_addresses() -> None:
    def program(p: TestProviders) -> None:
        FastlyEdge(
            "apex",
            EdgeArgs(domains=("example.org",), origins=(origin(),), options=EdgeOptions(service_name="t")),
            fastly_provider=p.fastly,
            dns=EdgeDns(hosts=(PublicHost("example.org", ORG),), target=FastlyDnsTarget(cname="x.fastly.net")),
            aws_provider=p.aws,
        )

    assert "is a zone apex" in str(program_error(program))
