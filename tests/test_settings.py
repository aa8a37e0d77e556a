"""Settings: every key accepts its good values and refuses each kind of bad value, naming the key."""

from __future__ import annotations

import datetime
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacks.paging import OPTIONAL_SECRETS, offline_secrets
from stacks.settings import (
    DATACENTERS,
    PROJECT_ROOT,
    Environment,
    Secret,
    Settings,
    SettingsError,
    config_schema,
    parse_settings,
    settings_for_stack,
)
from stacks.stack_claims import Claims, claims, clash, vpc_overlaps
from stacks.stack_files import read_stack_file, stack_names

SCHEMA = config_schema()
SECRET_KEYS = [k for k, spec in SCHEMA.items() if spec.secret and spec.required]
OPTIONAL_SECRET_KEYS = [k for k, spec in SCHEMA.items() if spec.optional_secret]
PSF_CA = read_stack_file(PROJECT_ROOT, "prod").project_values()["psfCaCertificate"]


@cache
def certificate(*, ca: bool = True, days: tuple[int, int] = (-1, 365), key_usage: bool = True) -> str:
    """A self-signed test certificate (PEM): a CA by default, or a host's; valid ``days`` around today."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA" if ca else "docs.psf.io")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=days[0]))
        .not_valid_after(now + datetime.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if key_usage:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def base(stack: str) -> dict[str, Any]:
    """A stack file's values as the program receives them (text), unnamespaced, plus the secrets."""
    raw: dict[str, Any] = dict(read_stack_file(PROJECT_ROOT, stack).project_values())
    raw.update({k: f"value-of-{k}" for k in SECRET_KEYS})
    # The optional secrets the stack's settings make required, as the recorder supplies them.
    namespaced = {f"psf-infra:{k}": v for k, v in raw.items()}
    raw.update({k.split(":", 1)[1]: v for k, v in offline_secrets(namespaced, "psf-infra").items()})
    return raw


BOOLEAN = ([True, False, "true", "false", "True"], ["yes", 1, "", "on"])
HOSTNAME = (
    ["app.herokuapp.com", "a-b.example.org"],
    ["", "x", "http://x.org", "UPPER.org", "a..org", "-a.org", "a" * 64 + ".org", ("a" * 60 + ".") * 5 + "org"],
)
SIZE = (["s-1vcpu-1gb", "s-4vcpu-8gb", "c-4"], ["s-1vcpu-1g", "huge", "", "S-1VCPU-1GB"])

# key -> (good values, bad values), all tried on the staging stack file's values.
CASES: dict[str, tuple[list[Any], list[Any]]] = {
    "environment": (["staging"], ["production", "", "Staging", "test"]),
    "namePrefix": (["psf-staging", "ab1"], ["", "PSF", "1abc", "ab", "x" * 25, "psf_staging", "psf-"]),
    # nyc1 holds the Salt master; ranges for datacenters a stack does not deploy are allowed.
    "datacenters": (
        [["nyc1"], ["ams1", "nyc1", "sfo1"], '["sfo1", "nyc1"]'],
        [["nyc2"], [], ["nyc1", "nyc1"], "nyc1", [1], ["sfo1"], ["ams1", "sfo1"]],
    ),
    # Outside prod the internal zone is a child of the stack's one delegated zone, domainSuffix.
    "internalDomain": (
        ["int.staging.psf.io", "hosts.staging.psf.io"],
        [
            "",
            "PSF.IO",
            "psf",
            "-a.io",
            "a..io",
            "psf.io",
            "staging.psf.io",
            "python-org.staging.psf.io",
            "pypi-org.staging.psf.io",
        ],
    ),
    "domainSuffix": (["staging.psf.io", "psf.io"], ["", "Staging.psf.io", "nodots"]),
    "dropletImage": (["ubuntu-24-04-x64", "12345", "debian-12-x64"], ["", "Ubuntu 24", "-x", "a_b"]),
    "dropletSizeSmall": SIZE,
    "dropletSizeMedium": SIZE,
    "dropletSizeLarge": SIZE,
    "replicas": ([1, 5, "2"], [0, 6, "two", True, "1.5", -1]),
    "standbys": BOOLEAN,
    "sshKeys": (
        [["123"], ["3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa", "42"]],
        [[], ["not-a-key"], "x", [""], ["3b:16"], ["1", "1"]],
    ),
    "adminCidrs": (
        [["140.211.10.0/24"], ["2605:bc80:3010::/48", "192.0.2.7/32"], ["10.0.0.0/16"], ["2001:db8::/32"]],
        [
            ["0.0.0.0/0"],
            ["::/0"],
            ["10.0.0.1/24"],
            ["banana"],
            [],
            "140.211.10.0/24",
            ["0.0.0.0/1", "128.0.0.0/1"],
            ["16.0.0.0/4"],
            ["10.0.0.0/15"],
            ["2000::/3"],
            ["10.0.0.0/16", "10.2.0.0/16"],
            ["127.0.0.1/32"],
            ["::ffff:0:0/96"],
            ["224.0.0.0/24"],
        ],
    ),
    "saltMaster": (
        ["", "salt.nyc1.int.staging.psf.io", "salt-2.nyc1.int.staging.psf.io"],
        [
            "salt",
            "SALT.psf.io",
            "salt.nyc1.psf.io",
            "master.nyc1.int.staging.psf.io",
            "salt.ams1.int.staging.psf.io",
            "salt.nyc1.int.staging.psf.io.example.org",
        ],
    ),
    "vpcRanges": (
        [
            ["ams1=10.210.0.0/20", "nyc1=10.220.0.0/20", "sfo1=10.230.0.0/20"],
            ["ams1=192.168.0.0/24", "nyc1=172.16.0.0/16", "sfo1=10.10.0.0/20"],
            '["ams1=10.1.0.0/20", "nyc1=10.2.0.0/20", "sfo1=10.3.0.0/20"]',
        ],
        [
            [],
            ["nyc1=10.220.0.0/20"],
            ["ams1=10.210.0.0/20", "nyc1=10.220.0.0/20", "sfo1=8.8.0.0/20"],
            ["ams1=10.210.0.0/20", "nyc1=10.220.0.0/20", "sfo1=10.220.8.0/21"],
            ["ams1=10.210.0.0/20", "nyc1=10.220.0.0/20", "sfo1=10.244.0.0/20"],
            ["ams1=10.210.0.0/20", "nyc1=10.220.0.0/20", "sfo1=10.229.16.0/20"],
            ["ams1=10.210.0.0/20", "nyc1=10.220.0.0/20", "sfo1=10.0.0.0/12"],
            ["ams1=10.210.0.0/20", "nyc1=10.220.0.0/20", "sfo1=10.230.0.0/25"],
            ["ams1=10.210.0.0/20", "nyc1=10.220.0.0/20", "sfo1=10.230.0.1/20"],
            ["ams1=10.210.0.0/20", "nyc1=10.220.0.0/20", "sfo1=fd00::/64"],
            ["ams1=10.210.0.0/20", "nyc1=10.220.0.0/20", "lon1=10.230.0.0/20"],
            ["ams1=10.210.0.0/20", "nyc1=10.220.0.0/20", "nyc1=10.230.0.0/20"],
            ["ams1 10.210.0.0/20", "nyc1=10.220.0.0/20", "sfo1=10.230.0.0/20"],
            "nyc1=10.220.0.0/20",
        ],
    ),
    "saltVersion": (["3006", "3006.9", "3007.1"], ["", "latest", "3006.x", "2019.2", "3006.9.1"]),
    "saltBootstrapVersion": (["v2025.02.24", "v2024.12.12"], ["", "latest", "2025.02.24", "v2025.2.24", "stable"]),
    "saltBootstrapSha256": (
        [
            "a0e3a58fc6358a7c6f708ee4910229e72fbdab7161819514b0696146a2edb62d",
            "A0E3A58FC6358A7C6F708EE4910229E72FBDAB7161819514B0696146A2EDB62D",
        ],
        [
            "",
            "a0e3a58f",
            "a0e3a58fc6358a7c6f708ee4910229e72fbdab7161819514b0696146a2edb62d0",
            "g" * 64,
            "sha256:" + "0" * 64,
        ],
    ),
    "protect": BOOLEAN,
    "backups": BOOLEAN,
    "pageOnCall": ([False, "false"], [True, "true", "maybe"]),
    "pagerdutyHandle": (["@pagerduty-psf", "@pagerduty"], ["pagerduty", "@slack-infra", "", "@pagerduty psf"]),
    "notifyHandles": (
        [["@infrastructure-staff@python.org"], ["@slack-psf-infra", "@a@b.org"]],
        [[], ["no-at"], ["@"], ["@pagerduty-psf-infrastructure"], ["@PagerDuty"]],
    ),
    "fastlyActivate": BOOLEAN,
    "fastlyLogging": (["s3", "datadog"], ["syslog", "", "S3"]),
    "hstsMaxAge": ([31_536_000, 63_072_000, "31536000"], [300, 0, "long", 63_072_001]),
    "staleIfErrorTtl": ([60, 86_400], [0, 10**7, "forever"]),
    "databaseSize": (["db-s-1vcpu-1gb", "db-s-2vcpu-4gb"], ["s-1vcpu-1gb", "", "db-huge"]),
    "databaseReplica": BOOLEAN,
    "postgresVersion": (["16", "14", "17"], ["9.6", "18", "", "sixteen"]),
    "pythonOrgOrigin": HOSTNAME,
    "pyconOrigin": HOSTNAME,
    "pythonOrgStagingOrigin": HOSTNAME,
    "pypiOrigin": HOSTNAME,
    "benchmarkHostAddress": (["140.211.10.71", "8.8.8.8"], ["10.0.0.1", "256.1.1.1", "host.example", "", "127.0.0.1"]),
    "datadogSite": (["datadoghq.com", "datadoghq.eu"], ["datadog.com", ""]),
    "syntheticsLocations": (
        [["aws:us-east-1", "aws:eu-west-1", "aws:ap-south-1"]],
        [["aws:us-east-1"], ["nowhere", "aws:x", "aws:y"], []],
    ),
    "dkimKeys": (
        [[], ["mail=" + "A" * 216], ["2026a=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 3 + "=="]],
        [
            ["mail"],
            ["=abc"],
            ["Mail=" + "A" * 216],
            ["mail=short"],
            "mail=x",
            ["mail=" + "A" * 216, "mail=" + "B" * 216],
        ],
    ),
    "dnssec": BOOLEAN,
    "psfCaCertificate": (
        ["", PSF_CA, certificate(), certificate(key_usage=False), "\n" + certificate() + "\n\n"],
        [
            "PSF_CA",
            certificate(ca=False),
            certificate(ca=False, key_usage=False),
            certificate(days=(-30, -1)),
            certificate(days=(1, 30)),
            certificate() + certificate(key_usage=False),
            private_key_pem(),
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----",
            PSF_CA.replace("-----END CERTIFICATE-----", ""),
        ],
    ),
    "delegatedDomains": ([[]], [["staging.psf.io"], ["Bad..name"]]),
    "delegationStack": (
        ["organization/psf-infra/prod", "psf/psf-infra/prod"],
        ["", "prod", "organization/other/prod", "organization/psf-infra/staging", "a/b", "organization/psf-infra/"],
    ),
    "mailSenders": (
        [
            [],
            ["python.org include:_spf.google.com"],
            ["pypi.org ip4:192.0.2.0/24 ip6:2001:db8::/32 a:relay.example.net", "python.org"],
        ],
        [
            ["python.org ~all"],
            ["python.org -all"],
            ["python.org include:X.org"],
            ["python.org ptr"],
            ["python.org redirect=x.org"],
            ["python.org ip4:2001:db8::1"],
            ["python.org ip4:192.0.2.1/24"],
            ["python.org ip6:192.0.2.0/24"],
            ["Python.org a:x.org"],
            ["python.org a:x.org a:x.org"],
            ["python.org include:a.org", "python.org include:b.org"],
            ["python.org " + " ".join(f"include:s{i}.example.org" for i in range(10))],
            [" "],
            "python.org include:a.org",
        ],
    ),
    "cdnLogRetentionDays": ([1, 30, 3650, "90"], [0, 3651, "month", True]),
    "tlsCertificateAuthority": (["lets-encrypt", "globalsign"], ["letsencrypt", "certainly", "GlobalSign", ""]),
    "fastlyTlsConfiguration": (["", "t7CguUGZzb2W9Euo5FoKa"], ["default", "t7Cgu-UGZzb2W9Euo5FoKa", "x" * 65]),
    # Tried on staging, whose zones are all its own: each entry a part of the estate and an owner it can have.
    "ownership": (
        [
            [],
            ["certificate:python-org=external"],
            ["certificate:pypi=managed", "certificate:docs=external"],
            '["certificate:python-org=external"]',
            ["edge:pypi=external", "zone:pypi.org=external", "storage:pypi-files=external"],
            ["zone:python.org=import", "edge:docs=import", "network:nyc1=import", "service:docs=import"],
            ["monitors:pypi=import", "storage:cdn-logs=import", "zone:delegation=import", "network:tags=import"],
            [
                "registrar:python.org=import",
                "standby:bugs=import",
                "monitors:estate=import",
                "on-call:pagerduty=import",
            ],
        ],
        [
            ["python-org"],
            ["certificate:python-org=imported"],
            ["certificate:salt=external"],
            ["edge:dns=managed"],
            ["edge:pypi=external", "edge:pypi=managed"],
            ["=external"],
            ["cdn:pypi=external"],
            ["zone:example.org=import"],
            ["network:nyc2=import"],
            # External parts something else depends on in a way that cannot work.
            ["zone:pypi.org=external"],
            ["edge:pypi=external"],
            ["edge:pypi=external", "zone:pypi.org=external", "certificate:pypi=managed"],
            ["zone:internal=external"],
            ["zone:delegation=external"],
            ["storage:cdn-logs=external"],
            ["service:docs=external"],
            ["monitors:pypi=external"],
            ["network:nyc1=external"],
            ["registrar:python.org=external"],
            ["standby:bugs=external"],
            ["on-call:pagerduty=external"],
            ["registrar:example.org=managed"],
            ["edge:docs=external"],
            ["zone:python.org=external"],
            ["service:docs=import"],
            "edge:pypi=external",
        ],
    ),
    "importMap": (["", "imports/prod.yaml", "/tmp/test-estate.yml"], ["imports/prod.json", "imports\nx.yaml"]),
    **{key: (["s3cr3t-value-of-16+-chars"], ["", "   "]) for key in SECRET_KEYS},
}
# Optional until registrarDomains lists a domain (tests/test_registrar.py: required then, and prod only).
CASES["gandiToken"] = (["s3cr3t-value-of-16+-chars", ""], [])
CASES["registrarDomains"] = ([[], "[]"], [["python.org"], ["python.org ns-only"], ["python.org soon"], "python.org"])
# The origin token is written into a VCL string by Fastly: no quote, percent escape, backslash or brace.
# Paging and the Fastly metrics, tried on staging, which pages no one: every value is still checked.
CASES |= {
    "onCall": (
        [[], ["employee Ee Durbin"], ["volunteer Marc-André Lemburg", "employee Ee Durbin"]],
        [["boss Ee Durbin"], ["employee"], ["employee a@b.org"], ["employee X Y", "volunteer X Y"], "employee X"],
    ),
    "onCallEscalationMinutes": ([1, 30, 1440, "15"], [0, 1441, "soon", True]),
    "onCallTimeZone": (["UTC", "America/New_York", "Europe/Amsterdam"], ["", "Mars/Olympus", "utc"]),
    "onCallRotationStart": (
        ["2026-01-05T16:00:00Z", "2025-06-02T09:00:00+02:00"],
        ["", "2026-01-05", "tomorrow", "2026-01-05T16:00:00"],
    ),
    # True needs the read-only key: tested below.
    "fastlyMetrics": ([False, "false"], ["yes", 1, ""]),
    "pagerdutyToken": (["", "a-pagerduty-token"], []),
    "onCallEmails": (["", "Ee Durbin <ee@example.org>"], ["ee@example.org", "Ee Durbin <not-an-address>", "Ee <a@b>"]),
    "fastlyReadOnlyApiKey": (["", "A" * 32, "a-b_c" * 6 + "xy"], ["short", "x" * 33, "é" * 32]),
}
CASES["fastlyOriginToken"] = (
    ["s3cr3t-value-of-16+-chars", "0123456789abcdef" * 4, "A~b.c_d+e/f=g-h!i#j$k&l(m)"],
    ["", "short-token", 'with"quote-0123456789', "with%percent-0123456789", "with space-0123456789", "é" * 20],
)

GOOD = [(key, value) for key, (good, _) in CASES.items() for value in good]
BAD = [(key, value) for key, (_, bad) in CASES.items() for value in bad]


def test_every_declared_key_has_cases() -> None:
    assert set(CASES) == set(SCHEMA), "add good and bad values for new config keys to CASES"


def test_schema_declares_type_and_description_for_every_key() -> None:
    for key, spec in SCHEMA.items():
        assert spec.type in {"string", "integer", "boolean", "array"}, key
        assert spec.description, key


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_stack_files_parse(stack: str) -> None:
    parsed = parse_settings(stack, base(stack))
    assert parsed.environment is Environment(stack)
    assert {dc.name for dc in parsed.datacenters} == set(DATACENTERS)


@pytest.mark.parametrize(("key", "value"), GOOD, ids=[f"{k}={v!r}" for k, v in GOOD])
def test_good_value_is_accepted(key: str, value: Any) -> None:
    raw = base("staging") | {key: value}
    assert isinstance(parse_settings("staging", raw), Settings)


@pytest.mark.parametrize(("key", "value"), BAD, ids=[f"{k}={v!r}" for k, v in BAD])
def test_bad_value_is_refused_naming_the_key(key: str, value: Any) -> None:
    raw = base("staging") | {key: value}
    with pytest.raises(SettingsError) as caught:
        parse_settings("staging", raw)
    message = str(caught.value)
    assert caught.value.key == key
    assert f"psf-infra:{key}" in message
    assert "\n" not in message
    assert "is invalid:" in message


@pytest.mark.parametrize("key", [k for k, spec in SCHEMA.items() if spec.required])
def test_missing_required_key_names_it_and_how_to_set_it(key: str) -> None:
    raw = base("staging")
    raw.pop(key, None)
    with pytest.raises(SettingsError, match=f"psf-infra:{key} = \\(not set\\)") as caught:
        parse_settings("staging", raw)
    assert "pulumi config set" in str(caught.value)
    if SCHEMA[key].secret:
        assert "--secret" in str(caught.value)


def test_defaults_come_from_pulumi_yaml() -> None:
    # Prod pages on-call: its roster and the secrets that paging needs are not defaults either.
    needed = {"onCall", *OPTIONAL_SECRETS}
    raw = {k: v for k, v in base("prod").items() if SCHEMA[k].required or k in needed}
    parsed = parse_settings("prod", raw)
    assert parsed.droplet_image == SCHEMA["dropletImage"].default
    assert parsed.replicas == SCHEMA["replicas"].default
    assert parsed.protect is True, "the safe default protects state"
    assert parsed.synthetics_locations == tuple(SCHEMA["syntheticsLocations"].default)


def test_unknown_key_is_refused() -> None:
    with pytest.raises(SettingsError, match="psf-infra:replica ") as caught:
        parse_settings("staging", base("staging") | {"replica": 3})
    assert "typo" in str(caught.value)


def test_prod_refuses_a_domain_suffix_and_staging_needs_one() -> None:
    with pytest.raises(SettingsError, match="domainSuffix"):
        parse_settings("prod", base("prod") | {"domainSuffix": "staging.psf.io"})
    with pytest.raises(SettingsError, match="domainSuffix"):
        parse_settings("staging", base("staging") | {"domainSuffix": ""})


def test_prod_delegates_and_other_stacks_name_their_delegating_stack() -> None:
    prod = parse_settings("prod", base("prod"))
    assert prod.delegated_domains == ("staging.psf.io", "ci.psf.io")
    assert prod.delegation_stack == ""
    staging = parse_settings("staging", base("staging"))
    assert staging.delegated_domains == ()
    assert staging.delegation_stack == "organization/psf-infra/prod"
    with pytest.raises(SettingsError, match=r"delegationStack.*must be empty in prod"):
        parse_settings("prod", base("prod") | {"delegationStack": "organization/psf-infra/staging"})
    # One delegation set cannot carry a parent and its child zone (Route 53: ConflictingDomainExists).
    with pytest.raises(SettingsError, match=r"delegatedDomains = .a\.staging\.psf\.io.*inside staging\.psf\.io"):
        parse_settings("prod", base("prod") | {"delegatedDomains": ["staging.psf.io", "a.staging.psf.io"]})
    with pytest.raises(SettingsError, match=r"internalDomain = .int\.staging\.psf\.io.*inside domainSuffix"):
        parse_settings("staging", base("staging") | {"domainSuffix": "test.example.org"})


def test_mail_senders_default_to_what_the_psf_publishes() -> None:
    senders = {s.domain: s for s in parse_settings("prod", base("prod")).mail_senders}
    assert set(senders) == {"python.org", "pypi.org", "roundup-tracker.org"}
    assert senders["python.org"].includes == ("_spf.google.com", "mailgun.org", "stspg-customer.com")
    assert senders["python.org"].hosts == ("mail.wooz.org",)
    assert senders["pypi.org"].includes == ("_spf.google.com", "amazonses.com", "helpscoutemail.com")
    assert parse_settings("prod", base("prod")).cdn_log_retention_days == SCHEMA["cdnLogRetentionDays"].default


def test_datacenters_map_to_digitalocean_regions() -> None:
    assert {name: dc.region.value for name, dc in DATACENTERS.items()} == {
        "ams1": "ams3",
        "nyc1": "nyc3",
        "sfo1": "sfo2",
    }


def test_secrets_never_show_in_repr() -> None:
    parsed = parse_settings("staging", base("staging"))
    assert "value-of" not in repr(parsed)
    assert repr(Secret("hunter2")) == "Secret(****)"


def test_public_names_differ_between_stacks() -> None:
    prod, staging = parse_settings("prod", base("prod")), parse_settings("staging", base("staging"))
    assert prod.public_domain("python.org") == "python.org"
    assert staging.public_domain("python.org") == "python-org.staging.psf.io"
    assert staging.public_host("docs.python.org", "python.org") == "docs.python-org.staging.psf.io"
    assert prod.physical_name("logs") != staging.physical_name("logs")


def test_prod_needs_the_psf_ca_and_staging_may_wait_for_its_salt_master() -> None:
    with pytest.raises(SettingsError, match="psf-infra:psfCaCertificate = '' is invalid") as caught:
        parse_settings("prod", base("prod") | {"psfCaCertificate": ""})
    assert "required in prod" in str(caught.value)
    assert parse_settings("staging", base("staging")).psf_ca_certificate is None


def test_the_psf_ca_is_kept_as_one_stripped_pem() -> None:
    parsed = parse_settings("prod", base("prod"))
    assert parsed.psf_ca_certificate == PSF_CA.strip()
    assert parsed.psf_ca_certificate is not None and "PSF_CA" not in parsed.psf_ca_certificate  # base64, not text
    staged = parse_settings("staging", base("staging") | {"psfCaCertificate": "\n" + certificate() + "\n"})
    assert staged.psf_ca_certificate == certificate().strip()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (certificate(ca=False), "CA:TRUE"),
        (certificate(days=(-30, -1)), "valid today"),
        (certificate() + certificate(key_usage=False), "exactly one PEM"),
        (private_key_pem(), "exactly one PEM"),
    ],
)
def test_a_bad_ca_is_refused_with_one_line_that_says_why(value: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings("staging", base("staging") | {"psfCaCertificate": value})
    message = str(caught.value)
    assert caught.value.key == "psfCaCertificate" and says in message and "\n" not in message
    assert "PRIVATE KEY" not in message and len(message) < 300


@pytest.mark.parametrize(("site", "region"), [("datadoghq.com", "US"), ("datadoghq.eu", "EU")], ids=["us", "eu"])
def test_fastly_datadog_logging_region_comes_from_the_site(site: str, region: str) -> None:
    parsed = parse_settings("staging", base("staging") | {"fastlyLogging": "datadog", "datadogSite": site})
    assert parsed.fastly_datadog_region == region


@pytest.mark.parametrize("site", ["us3.datadoghq.com", "us5.datadoghq.com", "ap1.datadoghq.com", "ddog-gov.com"])
def test_fastly_cannot_log_to_other_datadog_sites(site: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings("staging", base("staging") | {"fastlyLogging": "datadog", "datadogSite": site})
    assert caught.value.key == "datadogSite" and "fastlyLogging" in str(caught.value)
    # With S3 logging the provider never sees the site, so every Datadog site stays allowed.
    assert parse_settings("staging", base("staging") | {"datadogSite": site}).datadog_site == site


def test_settings_error_is_a_pulumi_run_error() -> None:
    # The Pulumi CLI prints a RunError as its message alone, without a traceback.
    from pulumi.errors import RunError

    assert issubclass(SettingsError, RunError)


config_values = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-10, max_value=10**9),
    st.booleans(),
    st.lists(st.text(max_size=20), max_size=4),
    st.sampled_from(["nyc1", "s-1vcpu-1gb", "140.211.10.0/24", "@pagerduty-x", "true", "16", "aws:us-east-1"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stack=st.sampled_from(["prod", "staging"]),
    changes=st.dictionaries(st.sampled_from(sorted(SCHEMA)), st.one_of(st.none(), config_values), max_size=5),
)
def test_random_config_gives_settings_or_a_settings_error(stack: str, changes: dict[str, Any]) -> None:
    raw = base(stack)
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    try:
        result = parse_settings(stack, raw)
    except SettingsError as exc:
        assert exc.key in SCHEMA
        assert "\n" not in str(exc)
    else:
        assert isinstance(result, Settings)


# --- one source of truth for what a stack is ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "environment", "ok"),
    [
        ("prod", "prod", True),
        ("staging", "staging", True),
        ("alice", "staging", True),
        ("staging", "prod", False),
        ("alice", "prod", False),
        ("prod", "staging", False),
    ],
)
def test_the_stack_name_decides_the_environment(stack: str, environment: str, ok: bool) -> None:
    raw = base("prod" if environment == "prod" else "staging") | {"environment": environment}
    if ok:
        assert parse_settings(stack, raw).environment is Environment(environment)
        return
    with pytest.raises(SettingsError, match="psf-infra:environment") as caught:
        parse_settings(stack, raw)
    assert f"in stack {stack!r}" in str(caught.value)


def test_settings_and_policy_share_the_rule() -> None:
    from policy.rules.base import Resource
    from stacks.environment import PROD_STACK, expected_environment

    for stack in ("prod", "staging", "alice", "prod-eu"):
        is_prod = Resource(
            "aws:route53/zone:Zone", "z", f"urn:pulumi:{stack}::psf-infra::aws:route53/zone:Zone::z"
        ).is_prod
        assert is_prod is (expected_environment(stack) is Environment.PROD), stack
    assert PROD_STACK == "prod"


# --- settings that weaken prod name their key ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("protect", "false"),
        ("backups", "false"),
        ("dnssec", "false"),
        ("databaseReplica", "false"),
        ("pageOnCall", "false"),
        ("replicas", "1"),
        ("datacenters", '["nyc1", "sfo1"]'),
    ],
)
def test_prod_refuses_what_weakens_it_naming_the_key(key: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings("prod", base("prod") | {key: value})
    assert caught.value.key == key
    assert f"psf-infra:{key} = {value!r}" in str(caught.value)
    assert "in prod" in str(caught.value)
    # The same value is fine outside prod.
    assert isinstance(parse_settings("staging", base("staging") | {key: value}), Settings)


def test_empty_secret_is_shown_as_empty_not_as_unset() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings("staging", base("staging") | {"fastlyApiKey": "  "})
    assert "psf-infra:fastlyApiKey = '' is invalid" in str(caught.value)


def test_a_secret_value_never_appears_in_an_error() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings("staging", base("staging") | {"fastlyApiKey": ["hunter2-secret"]})
    assert "hunter2" not in str(caught.value)


def test_long_domain_names_its_length() -> None:
    with pytest.raises(SettingsError, match=r"at most 253 characters.*this has 300"):
        parse_settings("staging", base("staging") | {"saltMaster": ("a" * 59 + ".") * 4 + "b" * 56 + ".org"})


@pytest.mark.parametrize(
    ("cidrs", "message"),
    [
        (["0.0.0.0/1", "128.0.0.0/1"], "no wider than /16"),
        (["10.0.0.0/16", "10.1.0.0/16"], "together span at most a /16"),
        (["2001:db8::/31"], "no wider than /32"),
        (["2001:db8::/32", "2001:db9::/32"], "together span at most a /32"),
    ],
)
def test_admin_networks_are_bounded_alone_and_together(cidrs: list[str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_settings("prod", base("prod") | {"adminCidrs": cidrs})


def test_adjacent_admin_networks_are_judged_merged() -> None:
    # 4,096 /28s that tile a /16 exactly are one /16: allowed; one more address is not.
    tiles = [f"10.0.{i // 16}.{(i % 16) * 16}/28" for i in range(4096)]
    assert len(parse_settings("staging", base("staging") | {"adminCidrs": tiles}).admin_cidrs) == 4096
    with pytest.raises(SettingsError, match="together"):
        parse_settings("staging", base("staging") | {"adminCidrs": [*tiles, "10.9.0.0/32"]})


# --- collisions between the stack files of a project ----------------------------------------------------------


def _project(tmp_path: Path, delegates: str = "alice.psf.io", **stacks: dict[str, str]) -> Path:
    """A directory with the committed stack files plus stacks whose values are staging's with changes.

    A change replaces the key's whole value, a block list included, with the YAML text given. Prod also
    delegates ``delegates``, as it must for a new stack of that domainSuffix.
    """
    for name in ("prod", "staging"):
        (tmp_path / f"Pulumi.{name}.yaml").write_text((PROJECT_ROOT / f"Pulumi.{name}.yaml").read_text())
    if delegates:
        prod = (tmp_path / "Pulumi.prod.yaml").read_text()
        extended = prod.replace("    - staging.psf.io\n", f"    - staging.psf.io\n    - {delegates}\n", 1)
        assert extended != prod
        (tmp_path / "Pulumi.prod.yaml").write_text(extended)
    for name, changes in stacks.items():
        text = (PROJECT_ROOT / "Pulumi.staging.yaml").read_text()
        for key, value in changes.items():
            text, found = re.subn(
                rf"(?m)^  psf-infra:{key}:( .*)?\n(    - .*\n)*", f"  psf-infra:{key}: {value}\n", text
            )
            if not found:
                text += f"  psf-infra:{key}: {value}\n"
        (tmp_path / f"Pulumi.{name}.yaml").write_text(text)
    return tmp_path


def _full(stack: str, root: Path) -> dict[str, Any]:
    from offline.recorder import program_config

    return program_config(stack, root=root)[0]


OWN = {
    "namePrefix": "psf-alice",
    "internalDomain": "int.alice.psf.io",
    "domainSuffix": "alice.psf.io",
    "vpcRanges": "[ams1=10.31.0.0/20, nyc1=10.32.0.0/20, sfo1=10.33.0.0/20]",
}
PROD_RANGES = "[ams1=10.110.0.0/20, nyc1=10.120.0.0/20, sfo1=10.130.0.0/20]"


def test_a_stack_of_its_own_does_not_collide(tmp_path: Path) -> None:
    root = _project(tmp_path, alice=OWN)
    assert settings_for_stack("alice", _full("alice", root), root).name_prefix == "psf-alice"
    # ... and the committed stacks still plan beside it.
    assert settings_for_stack("staging", _full("staging", root), root).stack == "staging"
    assert settings_for_stack("prod", _full("prod", root), root).stack == "prod"


@pytest.mark.parametrize(
    ("changes", "key", "other"),
    [
        ({"namePrefix": "psf-staging"}, "namePrefix", "staging"),
        ({"namePrefix": "psf"}, "namePrefix", "prod"),
        ({"namePrefix": "psf-prod-eu"}, "namePrefix", "prod"),
        # Outside prod the internal domain lies inside domainSuffix, so these take another stack's suffix.
        ({"domainSuffix": "staging.psf.io", "internalDomain": "int.staging.psf.io"}, "internalDomain", "staging"),
        ({"domainSuffix": "staging.psf.io", "internalDomain": "int2.staging.psf.io"}, "domainSuffix", "staging"),
        # psf.io as the delegated top zone would be prod's internal zone.
        ({"domainSuffix": "psf.io", "internalDomain": "int.alice.psf.io"}, "domainSuffix", "prod"),
        ({"vpcRanges": PROD_RANGES}, "vpcRanges", "prod"),
        ({"vpcRanges": "[ams1=10.31.0.0/20, nyc1=10.32.0.0/20, sfo1=10.130.8.0/24]"}, "vpcRanges", "prod"),
        ({"vpcRanges": "[ams1=10.31.0.0/20, nyc1=10.220.0.0/16, sfo1=10.33.0.0/20]"}, "vpcRanges", "staging"),
    ],
)
def test_a_stack_taking_another_stacks_names_is_refused(
    tmp_path: Path, changes: dict[str, str], key: str, other: str
) -> None:
    root = _project(tmp_path, alice=OWN | changes)
    with pytest.raises(SettingsError) as caught:
        settings_for_stack("alice", _full("alice", root), root)
    assert caught.value.key == key
    assert f"stack {other!r} (Pulumi.{other}.yaml)" in str(caught.value)


def test_an_overlapping_vpc_range_names_both_ranges(tmp_path: Path) -> None:
    ranges = "[ams1=10.31.0.0/20, nyc1=10.32.0.0/20, sfo1=10.130.8.0/24]"
    root = _project(tmp_path, alice=OWN | {"vpcRanges": ranges})
    with pytest.raises(SettingsError, match=re.escape("sfo1 10.130.8.0/24 overlaps prod's sfo1 10.130.0.0/20")):
        settings_for_stack("alice", _full("alice", root), root)
    # A datacenter the newcomer does not deploy still holds its range in the account's address plan.
    undeployed = OWN | {"vpcRanges": ranges, "datacenters": "[ams1, nyc1]"}
    root = _project(tmp_path, alice=undeployed)
    with pytest.raises(SettingsError, match="vpcRanges"):
        settings_for_stack("prod", _full("prod", root), root)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"namePrefix": "psf-prod"}, r"psf-infra:namePrefix = 'psf-prod' .*'alice'"),
        ({"domainSuffix": "psf.io", "internalDomain": "int.alice.psf.io"}, r"internalDomain = 'psf.io' .*a zone of"),
        ({"vpcRanges": PROD_RANGES}, r"vpcRanges .*overlaps alice's ams1 10.110.0.0/20"),
    ],
)
def test_the_committed_stack_sees_the_newcomer_too(tmp_path: Path, changes: dict[str, str], message: str) -> None:
    # The collision is refused from both sides: prod cannot plan while a file claims what prod claims.
    root = _project(tmp_path, alice=OWN | changes)
    with pytest.raises(SettingsError, match=message):
        settings_for_stack("prod", _full("prod", root), root)


def test_a_delegation_a_stack_file_relies_on_is_kept_from_both_sides(tmp_path: Path) -> None:
    root = _project(tmp_path, delegates="", alice=OWN)
    message = r"domainSuffix = 'alice.psf.io' is invalid: is not among the delegatedDomains of stack 'prod'"
    with pytest.raises(SettingsError, match=message):
        settings_for_stack("alice", _full("alice", root), root)
    with pytest.raises(
        SettingsError, match=r"delegatedDomains = \['ci.psf.io', 'staging.psf.io'\] is invalid: must include alice"
    ):
        settings_for_stack("prod", _full("prod", root), root)
    # Prod dropping staging's delegation is refused too, while Pulumi.staging.yaml relies on it.
    with pytest.raises(SettingsError, match=re.escape("must include staging.psf.io")):
        settings_for_stack("prod", _full("prod", PROJECT_ROOT) | {"psf-infra:delegatedDomains": "[]"})


def test_a_broken_sibling_claims_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "Pulumi.broken.yaml").write_text("config: [")
    assert settings_for_stack("staging", _full("staging", root), root).stack == "staging"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("psf-infr:replicas", "did you mean psf-infra:replicas"),
        ("aws:region", "default providers are disabled"),
        ("psf-infra:replica", "did you mean psf-infra:replicas"),
        ("other:thing", "would be ignored"),
    ],
)
def test_program_config_of_other_namespaces_is_refused(key: str, message: str) -> None:
    config = _full("staging", PROJECT_ROOT) | {key: "3"}
    with pytest.raises(SettingsError, match=message):
        settings_for_stack("staging", config)


def test_pulumi_keys_are_left_to_the_cli() -> None:
    config = _full("staging", PROJECT_ROOT) | {"pulumi:tags": "{}"}
    assert settings_for_stack("staging", config).stack == "staging"


def test_cryptography_is_imported_only_to_check_a_ca() -> None:
    # The program's own import path stays light: only parsing a stack that sets psfCaCertificate loads it.
    import subprocess
    import sys

    code = "import sys, stacks.estate; print('cryptography' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


# --- one DigitalOcean account, many stacks ----------------------------------------------------------------


def committed_claims() -> dict[str, Claims]:
    """What every stack file in the repository claims in the shared accounts."""
    return {
        stack: claims(stack, read_stack_file(PROJECT_ROOT, stack).project_values(), SCHEMA)
        for stack in stack_names(PROJECT_ROOT)
    }


def test_no_two_committed_stacks_share_a_name_zone_or_vpc_range() -> None:
    found = committed_claims()
    assert {"prod", "staging"} <= set(found)
    for a in found.values():
        assert a.vpc_ranges, a.stack
        for b in found.values():
            assert a is b or clash(a, b) is None, (a.stack, b.stack)


def test_a_stack_that_copies_anothers_ranges_is_caught() -> None:
    prod = committed_claims()["prod"]
    copied = [f"{dc}={net}" for dc, net in prod.vpc_ranges]
    staging = claims("staging", base("staging") | {"vpcRanges": copied}, SCHEMA)
    assert len(vpc_overlaps(staging, prod)) == 3
    # A range inside another stack's counts too, from either side.
    inside = ["ams1=10.1.0.0/20", "nyc1=10.2.0.0/20", "sfo1=10.130.8.0/24"]
    other = claims("staging", base("staging") | {"vpcRanges": inside}, SCHEMA)
    assert vpc_overlaps(prod, other) == ["sfo1 10.130.0.0/20 overlaps staging's sfo1 10.130.8.0/24"]
    error = clash(other, prod)
    assert error is not None and error.key == "vpcRanges"


def test_vpc_range_errors_say_what_digitalocean_refuses() -> None:
    ranges = ["ams1=10.210.0.0/20", "nyc1=10.220.0.0/20"]
    for value, expected in (
        ("sfo1=10.244.0.0/20", "which DigitalOcean reserves"),
        ("sfo1=10.220.8.0/24", "must not overlap nyc1's 10.220.0.0/20"),
        ("sfo1=8.8.0.0/20", "RFC 1918"),
        ("sfo1=10.0.0.0/12", "from /16 to /24"),
    ):
        with pytest.raises(SettingsError, match=re.escape(expected)):
            parse_settings("staging", base("staging") | {"vpcRanges": [*ranges, value]})
    with pytest.raises(SettingsError, match="missing sfo1"):
        parse_settings("staging", base("staging") | {"vpcRanges": ranges})


def test_the_salt_master_is_named_after_the_internal_domain_unless_set() -> None:
    staging = parse_settings("staging", base("staging"))
    assert staging.salt_master == "salt.nyc1.int.staging.psf.io"
    assert parse_settings("prod", base("prod")).salt_master == "salt.nyc1.psf.io"
    moved = base("staging") | {"internalDomain": "hosts.staging.psf.io"}
    assert parse_settings("staging", moved).salt_master == "salt.nyc1.hosts.staging.psf.io"


def test_the_bootstrap_is_pinned_to_a_release_and_its_checksum() -> None:
    settings = parse_settings("staging", base("staging"))
    assert settings.salt_bootstrap_url == (
        "https://github.com/saltstack/salt-bootstrap/releases/download/v2025.02.24/bootstrap-salt.sh"
    )
    assert "latest" not in settings.salt_bootstrap_url
    with pytest.raises(SettingsError, match="psf-infra:saltBootstrapSha256 = 'abc' is invalid: must be the 64"):
        parse_settings("staging", base("staging") | {"saltBootstrapSha256": "abc"})


# --- paging and the Fastly metrics --------------------------------------------------------------------------


def test_prod_pages_the_roster_and_staging_pages_no_one() -> None:
    prod = parse_settings("prod", base("prod"))
    assert prod.paging is not None
    tiers = {r.name: r.tier for r in prod.paging.responders}
    assert tiers["Ee Durbin"] == "employee", "the PSF Director of Infrastructure is the front line"
    assert set(tiers.values()) == {"employee", "volunteer"}
    assert "Alex Gaynor" not in tiers, 'the overview says he "has no responsibilities"'
    assert all("example.org" in r.email.value for r in prod.paging.responders)
    assert parse_settings("staging", base("staging")).paging is None


def test_staging_parses_with_no_optional_secret_at_all() -> None:
    raw = {k: v for k, v in base("staging").items() if k not in OPTIONAL_SECRETS}
    parsed = parse_settings("staging", raw)
    assert parsed.paging is None and parsed.fastly_metrics_key is None


@pytest.mark.parametrize(
    ("change", "key", "says"),
    [
        ({"pagerdutyToken": None}, "pagerdutyToken", "required when pageOnCall is true"),
        ({"onCallEmails": None}, "onCallEmails", "has no address for"),
        ({"onCall": ["employee Ee Durbin"]}, "onCall", "at least one volunteer"),
        ({"onCall": ["volunteer Donald Stufft"]}, "onCall", "at least one employee"),
        (
            {
                "onCall": ["employee Ee Durbin", "volunteer Donald Stufft"],
                "onCallEmails": "Ee Durbin <e@example.org>, Donald Stufft <d@example.org>, Guido <g@example.org>",
            },
            "onCallEmails",
            "names Guido, who is not in onCall",
        ),
        ({"fastlyReadOnlyApiKey": None}, "fastlyReadOnlyApiKey", "global:read"),
    ],
)
def test_prod_refuses_paging_without_what_it_needs(change: dict[str, Any], key: str, says: str) -> None:
    raw = base("prod")
    for name, value in change.items():
        if value is None:
            raw.pop(name)
        else:
            raw[name] = value
    with pytest.raises(SettingsError, match=says) as caught:
        parse_settings("prod", raw)
    assert caught.value.key == key
    assert "@example.org" not in str(caught.value), "an address is personal: never echoed"


def test_optional_secrets_are_declared_with_an_empty_default_and_required_by_another_key() -> None:
    assert sorted(OPTIONAL_SECRETS) == sorted(OPTIONAL_SECRET_KEYS)
    for key, gate in OPTIONAL_SECRETS.items():
        assert SCHEMA[key].default == "" and SCHEMA[key].type == "string", key
        assert SCHEMA[gate].type in ("boolean", "array"), gate


def test_fastly_metrics_need_the_read_only_key() -> None:
    with pytest.raises(SettingsError, match="global:read") as caught:
        parse_settings("staging", base("staging") | {"fastlyMetrics": True})
    assert caught.value.key == "fastlyReadOnlyApiKey"
    assert parse_settings("staging", base("staging") | {"fastlyMetrics": True, "fastlyReadOnlyApiKey": "k" * 32})


def test_the_program_refuses_an_optional_secret_set_without_secret() -> None:
    # Under the CLI: Pulumi.yaml cannot declare these keys secret, so load_settings checks how each was set.
    from offline.recorder import ProgramFailedError, program_config, record_program
    from stacks.estate import main

    config, secret_keys = program_config("prod")
    assert "psf-infra:pagerdutyToken" in config
    with pytest.raises(ProgramFailedError) as caught:
        record_program(
            main,
            stack="prod",
            config=config,
            secret_keys=[k for k in secret_keys if k != "psf-infra:pagerdutyToken"],
        )
    cause = caught.value.cause
    assert isinstance(cause, SettingsError) and cause.key == "pagerdutyToken"
    assert "pulumi config set --secret pagerdutyToken" in str(cause)
    assert config["psf-infra:pagerdutyToken"] not in str(cause)


def test_an_encrypted_optional_secret_in_a_stack_file_plans_with_a_mock_of_its_shape(tmp_path: Path) -> None:
    # `pulumi config set --secret` writes the ciphertext into the stack file; the offline plan cannot read it.
    from offline.recorder import stack_config

    for stack in ("prod", "staging"):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
    with (tmp_path / "Pulumi.prod.yaml").open("a") as f:
        f.write("  psf-infra:onCallEmails:\n    secure: v1:abcdef\n")
        f.write("  psf-infra:fastlyReadOnlyApiKey:\n    secure: v1:abcdef\n")
    config = stack_config("prod", tmp_path)
    raw = base("prod") | {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("psf-infra:")}
    parsed = parse_settings("prod", raw)
    assert parsed.paging is not None and len(parsed.paging.responders) == 5
    assert parsed.fastly_metrics_key is not None
