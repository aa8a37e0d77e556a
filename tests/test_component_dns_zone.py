"""DnsZone and DelegationSet under the recording mocks: one evaluation, many assertions on its records."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_datadog as datadog
import pytest

from components.common import ZoneRef
from components.dns_zone import (
    DEFAULT_CAA_ISSUERS,
    DELEGATION_SET_TYPE,
    DNS_ZONE_TYPE,
    CaaPolicy,
    DelegationSet,
    DmarcPolicy,
    DnsZone,
    DnsZoneArgs,
    MailSettings,
    MxHost,
    RecordSpec,
    txt_value,
)
from offline.recorder import ProgramFailedError, Record, Recording, record_program

RECORD = "aws:route53/record:Record"
ZONE = "aws:route53/zone:Zone"
KMS_KEY = "aws:kms/key:Key"
KSK = "aws:route53/keySigningKey:KeySigningKey"
DNSSEC = "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec"

DKIM_KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x" * 340 + "IDAQAB"
VERIFICATION = "site-verification=abc123"
LONG_TXT = "k=" + "y" * 600

FULL = DnsZoneArgs(
    domain="example.org",
    records=(
        RecordSpec("@", "A", ("192.0.2.10", "192.0.2.11"), ttl=86400),
        RecordSpec("@", "AAAA", ("2001:db8::10",), ttl=86400),
        RecordSpec("www", "CNAME", ("edge.example.net",)),
        RecordSpec("relay", "MX", ("10 mx1.example.org", "20 mx2.example.org"), ttl=300),
        RecordSpec("@", "TXT", (VERIFICATION,)),
        RecordSpec("long", "txt", (LONG_TXT,)),
        RecordSpec("_sip._tcp", "SRV", ("10 5 5060 sip.example.org",)),
        RecordSpec("sub", "NS", ("ns1.example.net", "ns2.example.net"), ttl=172800),
    ),
    caa=CaaPolicy(iodef="security@example.org"),
    mail=MailSettings(
        mx=(MxHost("mx2.example.org", 20), MxHost("mx1.example.org", 10)),
        spf_includes=("_spf.mailer.example.net",),
        spf_ip4=("192.0.2.25",),
        spf_ip6=("2001:db8::25",),
        dkim={"sel2024": DKIM_KEY},
        dmarc=DmarcPolicy(rua=("dmarc-reports@example.org",), ruf=("mailto:dmarc-forensic@example.org",)),
    ),
    dnssec=True,
    protect=True,
    tags={"service": "dns"},
    delegated_by="registrar",
)
PLAIN = DnsZoneArgs(domain="example.net", create_delegation_set=True)
# A child of FULL on no delegation set, delegated from FULL by an NS record made from its name servers.
CHILD = DnsZoneArgs(domain="child.example.org", mail=MailSettings.no_mail())
KEPT: dict[str, Any] = {}


def _program() -> None:
    provider = aws.Provider("aws", region="us-east-1")
    shared = DelegationSet("shared", provider=provider, reference_name="estate", protect=True)
    full = DnsZone("full", dataclasses.replace(FULL, delegation_set_id=shared.delegation_set_id), provider=provider)
    plain = DnsZone("plain", PLAIN, provider=provider)
    child = DnsZone("child", CHILD, provider=provider)
    full.delegate("child", child.name_servers, ttl=300)
    KEPT.update(full=full, plain=plain, child=child)
    pulumi.export("zone_id", full.zone_id)
    pulumi.export("name_servers", full.name_servers)
    pulumi.export("ref_zone_id", full.ref.zone_id)
    pulumi.export("ds_record", full.ds_record)
    pulumi.export("shared_name_servers", shared.name_servers)


@pytest.fixture(scope="module")
def rec() -> Recording:
    return record_program(_program)


def _zone_records(rec: Recording, component: str) -> dict[tuple[str, str], Record]:
    parent = rec.named(component)
    return {(r.inputs["name"], r.inputs["type"]): r for r in rec.children(parent) if r.type == RECORD}


# --- resource tree, providers, names ---------------------------------------------------------------------


def test_components_have_the_agreed_type_tokens(rec: Recording) -> None:
    assert rec.named("full").type == DNS_ZONE_TYPE
    assert rec.named("plain").type == DNS_ZONE_TYPE
    assert rec.named("shared").type == DELEGATION_SET_TYPE


def test_every_custom_resource_has_an_explicit_provider(rec: Recording) -> None:
    aws_provider = rec.named("aws").urn
    customs = [r for r in rec.resources if r.custom]
    assert customs
    for record in customs:
        assert record.options.provider is not None, record.urn
        assert record.options.provider == aws_provider, record.urn


def test_children_are_parented_and_named_after_their_component(rec: Recording) -> None:
    for component in ("full", "plain", "shared"):
        parent = rec.named(component)
        children = rec.children(parent)
        assert children
        for child in children:
            assert child.name.startswith(f"{component}-"), child.name
            assert f"{parent.type}$" in child.urn


def test_two_zones_do_not_collide(rec: Recording) -> None:
    urns = [r.urn for r in rec.records]
    assert len(urns) == len(set(urns))


# --- zone, protection, delegation set ----------------------------------------------------------------------


def test_zone_inputs(rec: Recording) -> None:
    zone = rec.named("full-zone")
    assert zone.type == ZONE
    assert zone.inputs["name"] == "example.org"
    assert zone.inputs["forceDestroy"] is False
    assert zone.inputs["tags"] == {"service": "dns", "delegated-by": "registrar"}
    assert rec.named("plain-zone").inputs["forceDestroy"] is False
    assert "tags" not in rec.named("child-zone").inputs


def test_zone_and_dnssec_key_protected_and_retained_when_asked(rec: Recording) -> None:
    for name in ("full-zone", "full-dnssec-key", "shared-set"):
        options = rec.named(name).options
        assert options.protect is True, name
        assert options.retain_on_delete is True, name
    # Signing is protected too, so it can only be turned off deliberately.
    assert rec.named("full-ksk").options.protect is True
    assert rec.named("full-dnssec").options.protect is True


def test_zone_not_protected_unless_asked(rec: Recording) -> None:
    for name in ("plain-zone", "plain-delegation-set"):
        options = rec.named(name).options
        assert options.protect is False, name
        assert options.retain_on_delete is False, name


def test_records_are_never_protected(rec: Recording) -> None:
    for record in rec.of_type(RECORD):
        assert record.options.protect is False
        assert record.options.retain_on_delete is False


def test_zone_uses_the_callers_delegation_set(rec: Recording) -> None:
    shared = rec.named("shared-set")
    assert shared.type == "aws:route53/delegationSet:DelegationSet"
    assert shared.inputs["referenceName"] == "estate"
    assert shared.id
    assert rec.named("full-zone").inputs["delegationSetId"] == shared.id


def test_zone_can_create_its_own_delegation_set(rec: Recording) -> None:
    created = rec.named("plain-delegation-set")
    assert created.parent == rec.named("plain").urn
    assert rec.named("plain-zone").inputs["delegationSetId"] == created.id


def test_zone_on_a_delegation_set_answers_with_its_name_servers(rec: Recording) -> None:
    shared = rec.named("shared-set").outputs["nameServers"]
    assert rec.named("full-zone").outputs["nameServers"] == sorted(shared)
    assert rec.named("plain-zone").outputs["nameServers"] == sorted(
        rec.named("plain-delegation-set").outputs["nameServers"]
    )
    assert not set(rec.named("child-zone").outputs["nameServers"]) & set(shared)


def test_zone_on_a_delegation_set_is_replaced_delete_first(rec: Recording) -> None:
    # Route 53 refuses a second zone of the same name on the same set (ConflictingDomainExists).
    assert rec.named("full-zone").options.delete_before_replace is True
    assert rec.named("plain-zone").options.delete_before_replace is True
    assert rec.named("child-zone").options.delete_before_replace is False


def test_delegation_names_the_child_zones_name_servers(rec: Recording) -> None:
    record = rec.named("full-child-ns")
    assert record.parent == rec.named("full").urn
    assert record.inputs["name"] == "child.example.org"
    assert record.inputs["type"] == "NS"
    assert record.inputs["ttl"] == 300
    assert record.inputs["zoneId"] == rec.named("full-zone").outputs["zoneId"]
    assert record.inputs["records"] == rec.named("child-zone").outputs["nameServers"]
    assert set(KEPT["full"].delegations) == {"child"}


def test_zone_that_sends_no_mail_says_so(rec: Recording) -> None:
    records = _zone_records(rec, "child")
    assert records[("child.example.org", "TXT")].inputs["records"] == ["v=spf1 -all"]
    assert records[("_dmarc.child.example.org", "TXT")].inputs["records"] == [
        "v=DMARC1; p=reject; np=reject; fo=1; adkim=s; aspf=r"
    ]
    assert ("child.example.org", "MX") not in records


# --- records -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "type_", "ttl", "values"),
    [
        ("example.org", "A", 86400, ["192.0.2.10", "192.0.2.11"]),
        ("example.org", "AAAA", 86400, ["2001:db8::10"]),
        ("www.example.org", "CNAME", 3600, ["edge.example.net"]),
        ("relay.example.org", "MX", 300, ["10 mx1.example.org", "20 mx2.example.org"]),
        ("_sip._tcp.example.org", "SRV", 3600, ["10 5 5060 sip.example.org"]),
        ("sub.example.org", "NS", 172800, ["ns1.example.net", "ns2.example.net"]),
        ("example.org", "MX", 3600, ["10 mx1.example.org", "20 mx2.example.org"]),
    ],
)
def test_record_renders(rec: Recording, name: str, type_: str, ttl: int, values: list[str]) -> None:
    record = _zone_records(rec, "full")[(name, type_)]
    assert record.inputs["type"] == type_
    assert record.inputs["ttl"] == ttl
    assert record.inputs["records"] == values
    assert record.inputs["zoneId"] == rec.named("full-zone").outputs["zoneId"]


def test_record_logical_names_are_stable_and_readable(rec: Recording) -> None:
    names = {r.name for r in rec.children(rec.named("full")) if r.type == RECORD}
    assert {"full-apex-a", "full-apex-aaaa", "full-www-cname", "full-_sip._tcp-srv", "full-apex-caa"} <= names


def test_long_txt_is_split_into_255_character_strings(rec: Recording) -> None:
    record = _zone_records(rec, "full")[("long.example.org", "TXT")]
    (value,) = record.inputs["records"]
    # The provider adds the outermost quotes; Route 53 then sees "<255>" "<255>" "<rest>".
    chunks = value.split('" "')
    assert [len(c) for c in chunks] == [255, 255, len(LONG_TXT) - 510]
    assert "".join(chunks) == LONG_TXT
    assert value == txt_value(LONG_TXT)


def test_short_txt_is_left_whole() -> None:
    assert txt_value("v=spf1 -all") == "v=spf1 -all"
    assert txt_value("a" * 255) == "a" * 255
    assert txt_value("a" * 256) == "a" * 255 + '" "a'


def test_caa_default_issuers_and_iodef(rec: Recording) -> None:
    record = _zone_records(rec, "full")[("example.org", "CAA")]
    assert record.inputs["records"] == [
        '0 issue "amazon.com"',
        '0 issue "letsencrypt.org"',
        '0 issue "globalsign.com"',
        '0 iodef "mailto:security@example.org"',
    ]


def test_caa_without_iodef_writes_only_issue(rec: Recording) -> None:
    record = _zone_records(rec, "plain")[("example.net", "CAA")]
    assert record.inputs["records"] == [f'0 issue "{ca}"' for ca in DEFAULT_CAA_ISSUERS]


def test_plain_zone_holds_only_caa(rec: Recording) -> None:
    assert set(_zone_records(rec, "plain")) == {("example.net", "CAA")}


def test_caa_is_off_only_when_asked() -> None:
    assert ("@", "CAA") in {(r.name, r.type) for r in DnsZoneArgs(domain="example.com").record_sets()}
    assert not [r for r in DnsZoneArgs(domain="example.com", caa=None).record_sets() if r.type == "CAA"]
    own = DnsZoneArgs(domain="example.com", caa=None, records=(RecordSpec("@", "CAA", ('0 issue "pki.example"',)),))
    assert [r.values for r in own.record_sets()] == [('0 issue "pki.example"',)]


# --- mail --------------------------------------------------------------------------------------------------


def test_mail_mx_sorted_by_priority(rec: Recording) -> None:
    record = _zone_records(rec, "full")[("example.org", "MX")]
    assert record.inputs["records"] == ["10 mx1.example.org", "20 mx2.example.org"]


def test_spf_ends_with_hard_fail_and_merges_with_other_apex_txt(rec: Recording) -> None:
    record = _zone_records(rec, "full")[("example.org", "TXT")]
    values = record.inputs["records"]
    assert VERIFICATION in values
    (spf,) = [v for v in values if v.startswith("v=spf1")]
    assert spf == "v=spf1 mx ip4:192.0.2.25 ip6:2001:db8::25 include:_spf.mailer.example.net -all"
    assert spf.endswith(" -all")


def test_dkim_at_selector_domainkey(rec: Recording) -> None:
    record = _zone_records(rec, "full")[("sel2024._domainkey.example.org", "TXT")]
    (value,) = record.inputs["records"]
    text = "v=DKIM1; k=rsa; p=" + DKIM_KEY
    assert value == txt_value(text)
    assert all(len(chunk) <= 255 for chunk in value.split('" "'))


def test_dmarc_policy(rec: Recording) -> None:
    record = _zone_records(rec, "full")[("_dmarc.example.org", "TXT")]
    assert record.inputs["records"] == [
        "v=DMARC1; p=quarantine; fo=1; adkim=s; aspf=r; "
        "rua=mailto:dmarc-reports@example.org; ruf=mailto:dmarc-forensic@example.org"
    ]


def test_dmarc_policy_has_no_tag_dmarcbis_removed() -> None:
    for policy in (DmarcPolicy(), DmarcPolicy(policy="reject", subdomain_policy="none", testing=True)):
        tags = {part.split("=", 1)[0].strip() for part in policy.text().split(";")}
        assert not tags & {"pct", "rf", "ri"}, policy.text()
    with pytest.raises(TypeError):
        DmarcPolicy(pct=100)  # pyright: ignore[reportCallIssue]


def test_dmarc_policy_writes_dmarcbis_tags() -> None:
    policy = DmarcPolicy(policy="reject", subdomain_policy="none", non_existent_policy="reject", testing=True)
    assert policy.text() == "v=DMARC1; p=reject; sp=none; np=reject; fo=1; adkim=s; aspf=r; t=y"
    assert not policy.enforcing
    assert DmarcPolicy(policy="quarantine").enforcing
    assert not DmarcPolicy(policy="none").enforcing


def test_no_mail_settings() -> None:
    mail = MailSettings.no_mail(subdomain_policy="none")
    assert not mail.sends_mail
    assert mail.spf() == "v=spf1 -all"
    assert mail.dmarc.text() == "v=DMARC1; p=reject; sp=none; np=reject; fo=1; adkim=s; aspf=r"
    assert MailSettings(spf_a=("relay.example.net",), spf_mx=False).sends_mail


def test_spf_names_single_hosts_and_counts_their_lookups() -> None:
    mail = MailSettings(
        mx=(MxHost("mx.example.org"),), spf_a=("relay.example.net",), spf_includes=("_spf.example.net",)
    )
    assert mail.spf() == "v=spf1 mx a:relay.example.net include:_spf.example.net -all"
    with pytest.raises(ValueError, match="needs 11 DNS lookups"):
        MailSettings(
            mx=(MxHost("mx.example.org"),),
            spf_a=tuple(f"h{i}.example.net" for i in range(5)),
            spf_includes=tuple(f"s{i}.example.net" for i in range(5)),
        )


def test_mail_settings_for_a_subdomain() -> None:
    mail = MailSettings(mx=(MxHost("mx.example.org"),), dkim={"s1": "QUJD"}, domain="lists")
    assert {(r.name, r.type) for r in mail.records()} == {
        ("lists", "MX"),
        ("lists", "TXT"),
        ("s1._domainkey.lists", "TXT"),
        ("_dmarc.lists", "TXT"),
    }


def test_send_nothing_domain_gets_bare_hard_fail() -> None:
    assert MailSettings().spf() == "v=spf1 -all"


# --- DNSSEC ------------------------------------------------------------------------------------------------


def test_dnssec_kms_key(rec: Recording) -> None:
    key = rec.named("full-dnssec-key")
    assert key.type == KMS_KEY
    assert key.inputs["customerMasterKeySpec"] == "ECC_NIST_P256"
    assert key.inputs["keyUsage"] == "SIGN_VERIFY"
    assert key.inputs["region"] == "us-east-1"
    assert key.inputs["deletionWindowInDays"] == 30


def test_dnssec_key_policy_lets_route53_sign_for_this_zone_only(rec: Recording) -> None:
    policy = json.loads(rec.named("full-dnssec-key").inputs["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    admin = statements["EnableAccountAdministration"]
    assert admin["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    service = statements["AllowRoute53DnssecService"]
    assert service["Principal"] == {"Service": "dnssec-route53.amazonaws.com"}
    assert sorted(service["Action"]) == ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"]
    assert service["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert service["Condition"]["ArnLike"] == {"aws:SourceArn": rec.named("full-zone").outputs["arn"]}
    grant = statements["AllowRoute53DnssecToCreateGrant"]
    assert grant["Action"] == "kms:CreateGrant"
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_dnssec_reads_the_account_through_the_explicit_provider(rec: Recording) -> None:
    assert "aws:index/getCallerIdentity:getCallerIdentity" in rec.calls


def test_key_signing_key_and_signing(rec: Recording) -> None:
    zone_id = rec.named("full-zone").outputs["zoneId"]
    ksk = rec.named("full-ksk")
    assert ksk.type == KSK
    assert ksk.inputs["hostedZoneId"] == zone_id
    assert ksk.inputs["keyManagementServiceArn"] == rec.named("full-dnssec-key").outputs["arn"]
    assert ksk.inputs["name"] == "example_org_ksk"
    assert ksk.inputs["status"] == "ACTIVE"
    signing = rec.named("full-dnssec")
    assert signing.type == DNSSEC
    assert signing.inputs == {"hostedZoneId": zone_id, "signingStatus": "SIGNING"}
    assert ksk.urn in signing.options.dependencies


def test_no_dnssec_unless_asked(rec: Recording) -> None:
    below = {r.type for r in rec.descendants(rec.named("plain"))}
    assert not below & {KMS_KEY, KSK, DNSSEC}


# --- outputs -----------------------------------------------------------------------------------------------


def test_outputs_zone_id_and_name_servers(rec: Recording) -> None:
    zone = rec.named("full-zone")
    assert rec.stack_outputs["zone_id"] == zone.outputs["zoneId"]
    assert rec.stack_outputs["ref_zone_id"] == zone.outputs["zoneId"]
    assert rec.stack_outputs["name_servers"] == zone.outputs["nameServers"]
    assert len(rec.stack_outputs["name_servers"]) == 4
    assert len(rec.stack_outputs["shared_name_servers"]) == 4


def test_ref_and_name(rec: Recording) -> None:
    full = KEPT["full"]
    assert full.name == "example.org"
    assert isinstance(full.ref, ZoneRef)
    assert full.ref.name == "example.org"
    assert full.ref.record_name("www.example.org") == "www.example.org"
    assert KEPT["plain"].ds_record is None


# --- argument errors ---------------------------------------------------------------------------------------

ERRORS: list[tuple[str, Callable[[], object], tuple[str, ...]]] = [
    ("soft-fail SPF", lambda: MailSettings(spf_all="~all"), ("MailSettings.spf_all", "'~all'", "-all")),
    ("pass-all SPF", lambda: MailSettings(spf_all="+all"), ("MailSettings.spf_all", "'+all'")),
    (
        "raw soft-fail SPF",
        lambda: RecordSpec("@", "TXT", ("v=spf1 mx ~all",)),
        ("RecordSpec", "v=spf1 mx ~all", "-all"),
    ),
    ("bad record type", lambda: RecordSpec("@", "SOA", ("x",)), ("RecordSpec('@', 'SOA').type", "'SOA'", "one of")),
    ("TTL zero", lambda: RecordSpec("@", "A", ("192.0.2.1",), ttl=0), (".ttl", "0", "seconds from 30 to 604800")),
    ("TTL huge", lambda: RecordSpec("@", "A", ("192.0.2.1",), ttl=10**7), (".ttl", "10000000")),
    ("TTL bool", lambda: RecordSpec("@", "A", ("192.0.2.1",), ttl=True), (".ttl", "True")),
    ("empty values", lambda: RecordSpec("www", "A", ()), (".values", "()", "at least one value")),
    ("values as a string", lambda: RecordSpec("www", "A", "192.0.2.1"), (".values", "'192.0.2.1'", "list or tuple")),
    ("repeated value", lambda: RecordSpec("www", "A", ("192.0.2.1", "192.0.2.1")), (".values", "repeat")),
    ("bad IPv4", lambda: RecordSpec("www", "A", ("192.0.2.300",)), ("192.0.2.300", "IPv4")),
    ("bad IPv6", lambda: RecordSpec("www", "AAAA", ("192.0.2.1",)), ("192.0.2.1", "IPv6")),
    ("MX without priority", lambda: RecordSpec("@", "MX", ("mx.example.org",)), ("mx.example.org", "<priority")),
    ("SRV short", lambda: RecordSpec("_x._tcp", "SRV", ("10 5 sip.example.org",)), ("SRV record value",)),
    ("CAA unquoted", lambda: RecordSpec("@", "CAA", ("0 issue letsencrypt.org",)), ("CAA record value",)),
    ("CNAME at apex", lambda: RecordSpec("@", "CNAME", ("x.example.net",)), (".name", "apex")),
    ("two CNAME targets", lambda: RecordSpec("a", "CNAME", ("x.example.net", "y.example.net")), ("exactly one",)),
    ("TXT with quotes", lambda: RecordSpec("@", "TXT", ('say "hi"',)), ("double quotes",)),
    ("bad record name", lambda: RecordSpec("Www", "A", ("192.0.2.1",)), ("RecordSpec.name", "'Www'", "relative")),
    (
        "upper-case domain",
        lambda: DnsZoneArgs(domain="Example.org"),
        ("DnsZoneArgs.domain", "'Example.org'", "lower-case"),
    ),
    ("single-label domain", lambda: DnsZoneArgs(domain="localhost"), ("DnsZoneArgs.domain", "'localhost'")),
    ("trailing dot", lambda: DnsZoneArgs(domain="example.org."), ("DnsZoneArgs.domain", "trailing dot")),
    ("underscore domain", lambda: DnsZoneArgs(domain="exa_mple.org"), ("DnsZoneArgs.domain", "'exa_mple.org'")),
    (
        "absolute record name",
        lambda: DnsZoneArgs(domain="example.org", records=(RecordSpec("www.example.org", "A", ("192.0.2.1",)),)),
        ("DnsZoneArgs.records", "www.example.org", "relative to the zone"),
    ),
    (
        "duplicate record set",
        lambda: DnsZoneArgs(
            domain="example.org",
            records=(RecordSpec("a", "A", ("192.0.2.1",)), RecordSpec("a", "A", ("192.0.2.2",))),
        ),
        ("DnsZoneArgs.records", "a A", "declared twice"),
    ),
    (
        "own CAA beside the default",
        lambda: DnsZoneArgs(domain="example.org", records=(RecordSpec("@", "CAA", ('0 issue "x.example"',)),)),
        ("@ CAA", "caa=None"),
    ),
    (
        "CNAME beside another type",
        lambda: DnsZoneArgs(
            domain="example.org",
            records=(RecordSpec("a", "CNAME", ("x.example.net",)), RecordSpec("a", "TXT", ("hello",))),
        ),
        ("a CNAME", "cannot share"),
    ),
    (
        "two SPF records",
        lambda: DnsZoneArgs(
            domain="example.org", records=(RecordSpec("@", "TXT", ("v=spf1 ip4:192.0.2.1 -all",)),), mail=MailSettings()
        ),
        ("two SPF records",),
    ),
    (
        "merged TXT with different TTLs",
        lambda: DnsZoneArgs(
            domain="example.org", records=(RecordSpec("@", "TXT", ("x",), ttl=60),), mail=MailSettings()
        ),
        ("one TTL",),
    ),
    (
        "both delegation set options",
        lambda: DnsZoneArgs(domain="example.org", delegation_set_id="N123", create_delegation_set=True),
        ("DnsZoneArgs.create_delegation_set", "not both"),
    ),
    ("no CAA issuers", lambda: CaaPolicy(issuers=()), ("CaaPolicy.issuers", "caa=None")),
    ("bad iodef", lambda: CaaPolicy(iodef="not-an-address"), ("CaaPolicy.iodef", "'not-an-address'", "e-mail")),
    ("bad DMARC policy", lambda: DmarcPolicy(policy="strict"), ("DmarcPolicy.policy", "'strict'", "quarantine")),
    ("bad DMARC address", lambda: DmarcPolicy(rua=("reports",)), ("DmarcPolicy.rua", "'reports'")),
    ("bad DKIM key", lambda: MailSettings(dkim={"s1": "not base64!"}), ("MailSettings.dkim['s1']", "base64")),
    ("bad SPF network", lambda: MailSettings(spf_ip4=("2001:db8::1",)), ("MailSettings.spf_ip4", "IPv4")),
    (
        "too many SPF lookups",
        lambda: MailSettings(spf_includes=tuple(f"s{i}.example.net" for i in range(11))),
        ("MailSettings.spf_includes", "at most 10"),
    ),
    ("bad SPF host", lambda: MailSettings(spf_a=("Relay.example.net",)), ("MailSettings.spf_a", "'Relay.example.net'")),
    (
        "bad np",
        lambda: DmarcPolicy(non_existent_policy="drop"),
        ("DmarcPolicy.non_existent_policy", "'drop'", "None or"),
    ),
    ("bad sp", lambda: DmarcPolicy(subdomain_policy="drop"), ("DmarcPolicy.subdomain_policy", "'drop'")),
    ("testing not a bool", lambda: DmarcPolicy(testing="yes"), ("DmarcPolicy.testing", "'yes'")),  # pyright: ignore[reportArgumentType]
    (
        "bad delegated_by",
        lambda: DnsZoneArgs(domain="example.org", delegated_by="who?"),
        ("DnsZoneArgs.delegated_by", "'who?'", "registrar"),
    ),
    (
        "delegated-by written as a tag",
        lambda: DnsZoneArgs(domain="example.org", tags={"delegated-by": "registrar"}),
        ("DnsZoneArgs.tags", "delegated_by"),
    ),
    ("bad MX host", lambda: MxHost("MX.example.org"), ("MxHost.host", "'MX.example.org'")),
    ("bad MX priority", lambda: MxHost("mx.example.org", -1), ("MxHost.priority", "-1", "0 to 65535")),
]


@pytest.mark.parametrize(("build", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_argument_errors_are_clear(build: Callable[[], object], expected: tuple[str, ...]) -> None:
    with pytest.raises(ValueError) as caught:
        build()
    message = str(caught.value)
    assert "is invalid:" in message
    for fragment in expected:
        assert fragment in message, message


WWW = RecordSpec("www", "A", ("192.0.2.1",))
SIP = RecordSpec("_sip._tcp", "SRV", ("10 5 5060 sip.example.org",))
DELEGATION_ERRORS: list[tuple[str, RecordSpec, str, tuple[str, ...]]] = [
    ("apex", WWW, "@", ("delegate(name=...) = '@'", "subdomain")),
    ("wildcard", WWW, "*", ("delegate(name=...) = '*'",)),
    ("name with records", WWW, "www", ("'www'", "collides with 'www'")),
    ("name above records", SIP, "_tcp", ("collides with '_sip._tcp'",)),
    ("twice", WWW, "child", ("collides with 'child'",)),
    ("below a delegation", WWW, "x.child", ("collides with 'child'",)),
]


@pytest.mark.parametrize(
    ("record", "name", "expected"), [e[1:] for e in DELEGATION_ERRORS], ids=[e[0] for e in DELEGATION_ERRORS]
)
def test_delegation_errors_are_clear(record: RecordSpec, name: str, expected: tuple[str, ...]) -> None:
    def program() -> None:
        zone = DnsZone("z", DnsZoneArgs(domain="example.org", records=(record,)), provider=aws.Provider("aws"))
        zone.delegate("child", ["ns1.example.net"])
        zone.delegate(name, ["ns2.example.net"])

    with pytest.raises(ProgramFailedError) as caught:
        record_program(program)
    message = str(caught.value.cause)
    assert "is invalid:" in message
    for fragment in expected:
        assert fragment in message, message


def test_provider_is_required() -> None:
    with pytest.raises(ValueError, match=r"DnsZone\(provider=\.\.\.\) = None .*explicit aws provider"):
        DnsZone("x", DnsZoneArgs(domain="example.org"), provider=None)  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match=r"DelegationSet\(provider=\.\.\.\)"):
        DelegationSet("x", provider=None)  # pyright: ignore[reportArgumentType]


def test_provider_of_another_cloud_is_refused() -> None:
    def program() -> None:
        DnsZone("x", DnsZoneArgs(domain="example.org"), provider=datadog.Provider("dd"))

    with pytest.raises(ProgramFailedError) as caught:
        record_program(program)
    assert isinstance(caught.value.cause, ValueError)
    assert "DnsZone(provider=...) = 'datadog provider' is invalid: must be an explicit aws provider" in str(
        caught.value.cause
    )
    assert not [r for r in caught.value.records if r.type == ZONE]
