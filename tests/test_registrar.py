"""The registrar (Gandi): nothing by default; with a domain opted in, its name servers and DS key from its zone.

The default recordings prove today's plans change nothing at Gandi; a recording of prod with python.org
(and psf.io, name servers only) opted in proves the wiring from the Route 53 zone and its key-signing key.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumiverse_gandi as gandi
import pytest

from components.registrar import (
    DelegationSigner,
    RegistrarDelegation,
    RegistrarDelegationArgs,
    key_type,
    name_server_list,
    public_key,
)
from offline.recorder import SECRET, ProgramFailedError, Recording, record_stack
from policy import offline as policy_offline
from stacks.settings import RegistrarDomain, SettingsError, parse_settings
from tests.component_helpers import program_error, record
from tests.test_settings import base

NAMESERVERS = "gandi:domains/nameservers:Nameservers"
DNSSEC_KEY = "gandi:domains/dNSSecKey:DNSSecKey"
ZONE = "aws:route53/zone:Zone"
KSK = "aws:route53/keySigningKey:KeySigningKey"
SIGNING = "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec"
OPTED_IN = {"registrarDomains": ["python.org", "psf.io ns-only"], "gandiToken": "gandi-pat-value"}


@pytest.fixture(scope="module")
def opted_in() -> Recording:
    return record_stack("prod", OPTED_IN)


def test_no_registrar_resource_or_provider_unless_a_domain_opts_in(stack: Recording) -> None:
    assert not [r for r in stack.records if r.type.startswith("gandi:") or r.type == "pulumi:providers:gandi"]


def test_the_name_servers_at_gandi_are_the_zones(opted_in: Recording) -> None:
    zones = {z.inputs["name"]: z for z in opted_in.of_type(ZONE)}
    servers = {r.inputs["domain"]: r for r in opted_in.of_type(NAMESERVERS)}
    assert set(servers) == {"python.org", "psf.io"}
    for domain, resource in servers.items():
        expected = sorted(s.rstrip(".").lower() for s in zones[domain].outputs["nameServers"])
        assert resource.inputs["nameservers"] == expected, domain
        # Deleting it would re-enable Gandi's LiveDNS: protected in prod, and always retained.
        assert resource.options.protect and resource.options.retain_on_delete
        assert resource.options.provider is not None and "pulumi:providers:gandi" in resource.options.provider


def test_the_ds_key_of_a_signed_zone_is_its_key_signing_key(opted_in: Recording) -> None:
    (key,) = opted_in.of_type(DNSSEC_KEY)  # psf.io is ns-only
    ksk = opted_in.named("python-org-ksk")
    assert key.inputs["domain"] == "python.org"
    assert key.inputs["algorithm"] == ksk.outputs["signingAlgorithmType"] == 13
    assert key.inputs["type"] == "ksk" and ksk.outputs["flag"] == 257
    assert key.inputs["publicKey"] == ksk.outputs["publicKey"]
    # Published only once the zone signs, and after the name servers.
    assert opted_in.named("python-org-dnssec").urn in key.options.dependencies
    assert opted_in.named("python-org-registration-name-servers").urn in key.options.dependencies
    assert key.options.protect and not key.options.retain_on_delete


def test_the_token_is_a_secret_and_the_policy_pack_passes(opted_in: Recording) -> None:
    (provider,) = [r for r in opted_in.records if r.type == "pulumi:providers:gandi"]
    assert provider.inputs["personalAccessToken"] == SECRET
    violations, _ = policy_offline.check(opted_in)
    assert policy_offline.blocking(violations) == []
    assert not [v for v in violations if v.rule == "registrar-delegation-kept"]


# --- settings ------------------------------------------------------------------------------------------------


def test_registrar_domains_parse_with_their_ds_choice() -> None:
    settings = parse_settings("prod", base("prod") | OPTED_IN)
    assert settings.registrar_domains == (RegistrarDomain("python.org"), RegistrarDomain("psf.io", ds=False))
    assert settings.secrets.gandi_token is not None and settings.secrets.gandi_token.value == "gandi-pat-value"
    assert parse_settings("prod", base("prod")).registrar_domains == ()


@pytest.mark.parametrize(
    ("stack", "overrides", "key", "says"),
    [
        ("prod", {"registrarDomains": ["python.org"], "gandiToken": ""}, "gandiToken", "required while"),
        ("staging", {"registrarDomains": ["python.org"], "gandiToken": "x" * 20}, "registrarDomains", "outside prod"),
        ("prod", {"registrarDomains": ["python.org ds"], "gandiToken": "t"}, "registrarDomains", "ns-only"),
        (
            "prod",
            {"registrarDomains": ["python.org", "python.org ns-only"], "gandiToken": "t"},
            "registrarDomains",
            "twice",
        ),
        ("prod", {"registrarDomains": ["Python.org"], "gandiToken": "t"}, "registrarDomains", "lower-case"),
    ],
)
def test_bad_registrar_settings_name_the_key(stack: str, overrides: dict[str, Any], key: str, says: str) -> None:
    with pytest.raises(SettingsError, match=says) as caught:
        parse_settings(stack, base(stack) | overrides)
    assert caught.value.key == key and "\n" not in str(caught.value)


def test_a_domain_the_estate_has_no_zone_for_is_refused() -> None:
    with pytest.raises(ProgramFailedError, match=r"psf-infra:registrarDomains = 'python\.com' is invalid"):
        record_stack("prod", {"registrarDomains": ["python.com"], "gandiToken": "t"})


# --- the component ---------------------------------------------------------------------------------------------


def test_name_servers_are_written_as_the_provider_reads_them_back() -> None:
    given = ["NS-2.awsdns-02.org.", "ns-1.awsdns-01.com", "ns-1.awsdns-01.com"]
    assert name_server_list(given) == ["ns-1.awsdns-01.com", "ns-2.awsdns-02.org"]
    with pytest.raises(ValueError, match="at least two"):
        name_server_list(["ns-1.awsdns-01.com"])
    with pytest.raises(ValueError, match="host names"):
        name_server_list(["ns-1.awsdns-01.com", "not a name"])


def test_key_material_is_checked() -> None:
    assert key_type(257) == "ksk" and key_type(256) == "zsk"
    with pytest.raises(ValueError, match="257"):
        key_type(385)
    assert public_key("abc+/\n def=") == "abc+/def="
    with pytest.raises(ValueError, match="base64"):
        public_key("not base64!")


def test_the_component_needs_an_explicit_gandi_provider() -> None:
    def program(p: Any) -> None:
        RegistrarDelegation(
            "example",
            RegistrarDelegationArgs(domain="example.org", name_servers=["a.example.net", "b.example.net"]),
            provider=p.aws,
        )

    assert "must be an explicit gandi provider" in str(program_error(program))


def test_the_component_refuses_an_algorithm_registries_do_not_take() -> None:
    def program(_: Any) -> None:
        provider = gandi.Provider("gandi", personal_access_token="t")
        signer = DelegationSigner(algorithm=5, flags=257, public_key="QUJD")
        RegistrarDelegation(
            "example",
            RegistrarDelegationArgs(
                domain="example.org", name_servers=["a.example.net", "b.example.net"], signer=signer
            ),
            provider=provider,
        )

    assert "DelegationSigner.algorithm" in str(program_error(program))


def test_the_component_without_a_signer_writes_name_servers_only() -> None:
    def program(_: Any) -> None:
        provider = gandi.Provider("gandi", personal_access_token=pulumi.Output.secret("t"))
        RegistrarDelegation(
            "example",
            RegistrarDelegationArgs(
                domain="example.org", name_servers=["b.example.net", "a.example.net"], protect=False
            ),
            provider=provider,
        )

    recording = record(program)
    (servers,) = recording.of_type(NAMESERVERS)
    assert servers.inputs == {"domain": "example.org", "nameservers": ["a.example.net", "b.example.net"]}
    assert not servers.options.protect and servers.options.retain_on_delete
    assert recording.of_type(DNSSEC_KEY) == []


def test_the_overview_says_which_registrations_the_program_writes(opted_in: Recording) -> None:
    from offline.docs import render_overview

    overview = render_overview(opted_in)
    assert "this program writes psf.io (name servers), python.org (name servers and DS key)" in overview
    assert "| Gandi (`gandi`) | 3 |" in overview
    assert "## Other resources" not in overview
