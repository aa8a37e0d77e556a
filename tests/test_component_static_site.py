"""StaticSite: a private bucket only Fastly can read, served over TLS, under mocks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.common import ZoneRef
from components.edge import EdgeOptions, Fallback, FastlyDnsTarget, HealthCheck, Origin, PathRoute, PublicHost
from components.static_site import STATIC_SITE_TYPE, StaticSite, StaticSiteArgs, check_bucket_name
from offline.recorder import FASTLY_IPV4, FASTLY_IPV6, Record, Recording
from tests.component_helpers import (
    TestProviders,
    assert_every_custom_resource_has_a_provider,
    assert_names_derived_from,
    program_error,
    record,
)

ZONE = ZoneRef("example.org", "ZPUBLIC")
# A TLS configuration's targets, as the estate reads them from Fastly (documentation addresses here).
TARGET = FastlyDnsTarget(cname="dualstack.x.map.fastly.net", apex_ipv4=("192.0.2.10",), apex_ipv6=("2001:db8::10",))
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/test"

SITE = StaticSiteArgs(
    bucket_name="prod-example-site",
    hosts=(PublicHost("www.example.org", ZONE), PublicHost("example.org", ZONE)),
    edge=EdgeOptions(service_name="prod-example-site"),
    dns_target=TARGET,
    shield_pop="iad-va-us",
)
SCRATCH = StaticSiteArgs(
    bucket_name="staging-scratch-site",
    hosts=(PublicHost("scratch.example.org", ZONE),),
    edge=EdgeOptions(service_name="staging-scratch", activate=False),
    dns_target=TARGET,
    encryption="aws:kms",
    kms_key_id=KMS_KEY,
    error_document=None,
    noncurrent_version_days=None,
    protect=False,
    retain_on_delete=True,
    force_destroy=True,
)


def program(p: TestProviders) -> None:
    StaticSite("site", SITE, aws_provider=p.aws, fastly_provider=p.fastly)
    StaticSite("scratch", SCRATCH, aws_provider=p.aws, fastly_provider=p.fastly)


@pytest.fixture(scope="module")
def recording() -> Recording:
    return record(program)


def child(recording: Recording, name: str) -> Record:
    return recording.named(name)


def policy(recording: Recording, site: str) -> dict[str, Any]:
    return json.loads(child(recording, f"{site}-policy").inputs["policy"])


def statements(recording: Recording, site: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy(recording, site)["Statement"]}


# --- bucket -----------------------------------------------------------------------------------------------


def test_bucket(recording: Recording) -> None:
    bucket = child(recording, "site-bucket")
    assert bucket.type == "aws:s3/bucket:Bucket"
    assert bucket.inputs["bucket"] == "prod-example-site"
    assert bucket.inputs["forceDestroy"] is False
    assert child(recording, "scratch-bucket").inputs["forceDestroy"] is True


def test_public_access_block_all_on(recording: Recording) -> None:
    for site in ("site", "scratch"):
        block = child(recording, f"{site}-public-access-block").inputs
        assert block["blockPublicAcls"] is True
        assert block["blockPublicPolicy"] is True
        assert block["ignorePublicAcls"] is True
        assert block["restrictPublicBuckets"] is True


def test_ownership_enforced(recording: Recording) -> None:
    rule = child(recording, "site-ownership").inputs["rule"]
    assert rule == {"objectOwnership": "BucketOwnerEnforced"}


def test_encryption(recording: Recording) -> None:
    (aes,) = child(recording, "site-encryption").inputs["rules"]
    assert aes["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    (kms,) = child(recording, "scratch-encryption").inputs["rules"]
    assert kms["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KMS_KEY}
    assert kms["bucketKeyEnabled"] is True


def test_versioning_enabled(recording: Recording) -> None:
    config = child(recording, "site-versioning").inputs["versioningConfiguration"]
    assert config["status"] == "Enabled"


def test_lifecycle_aborts_incomplete_uploads(recording: Recording) -> None:
    lifecycle = child(recording, "site-lifecycle")
    rules = {r["id"]: r for r in lifecycle.inputs["rules"]}
    abort = rules["abort-incomplete-multipart-uploads"]
    assert abort["status"] == "Enabled"
    assert abort["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert child(recording, "site-versioning").urn in lifecycle.options.dependencies
    scratch = [r["id"] for r in child(recording, "scratch-lifecycle").inputs["rules"]]
    assert scratch == ["abort-incomplete-multipart-uploads"]


def test_website_configuration_declares_documents_but_edge_uses_tls(recording: Recording) -> None:
    # The website endpoint is HTTP only; the edge reads the REST endpoint over TLS instead, while the
    # bucket still declares its index and error documents.
    website = child(recording, "site-website")
    assert website.inputs["indexDocument"] == {"suffix": "index.html"}
    assert website.inputs["errorDocument"] == {"key": "404.html"}
    for service in recording.of_type("fastly:index/serviceVcl:ServiceVcl"):
        assert all(".s3-website" not in b["address"] and b["useSsl"] for b in service.inputs["backends"])


def test_bucket_is_tagged_as_a_static_site(recording: Recording) -> None:
    assert child(recording, "site-bucket").inputs["tags"]["static-site"] == "true"


# --- policy -----------------------------------------------------------------------------------------------


def test_policy_denies_requests_without_tls(recording: Recording) -> None:
    deny = statements(recording, "site")["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Action"] == "s3:*"
    assert deny["Resource"] == ["arn:aws:s3:::prod-example-site", "arn:aws:s3:::prod-example-site/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_policy_lets_only_fastly_read(recording: Recording) -> None:
    allow = statements(recording, "site")["AllowFastlyRead"]
    assert allow["Effect"] == "Allow"
    assert allow["Action"] == "s3:GetObject"
    assert allow["Resource"] == "arn:aws:s3:::prod-example-site/*"
    assert allow["Condition"] == {"IpAddress": {"aws:SourceIp": [*FASTLY_IPV4, *FASTLY_IPV6]}}


def test_every_allow_is_conditional(recording: Recording) -> None:
    for site in ("site", "scratch"):
        for statement in policy(recording, site)["Statement"]:
            if statement["Effect"] == "Allow":
                assert statement["Condition"], statement
                assert statement["Action"] == "s3:GetObject"


def test_policy_waits_for_the_public_access_block(recording: Recording) -> None:
    assert child(recording, "site-public-access-block").urn in child(recording, "site-policy").options.dependencies


# --- protection -------------------------------------------------------------------------------------------

BUCKET_PARTS = ("bucket", "public-access-block", "ownership", "encryption", "versioning", "lifecycle", "policy")


def test_protect_honoured(recording: Recording) -> None:
    for part in BUCKET_PARTS:
        assert child(recording, f"site-{part}").options.protect is True, part
        assert child(recording, f"scratch-{part}").options.protect is False, part


def test_retain_on_delete_honoured(recording: Recording) -> None:
    for part in BUCKET_PARTS:
        assert child(recording, f"site-{part}").options.retain_on_delete is False, part
        assert child(recording, f"scratch-{part}").options.retain_on_delete is True, part


# --- edge and DNS -----------------------------------------------------------------------------------------


def service(recording: Recording, site: str) -> dict[str, Any]:
    return dict(child(recording, f"{site}-edge-vcl").inputs)


def test_edge_reads_the_bucket_over_tls(recording: Recording) -> None:
    bucket = child(recording, "site-bucket")
    (backend,) = service(recording, "site")["backends"]
    regional = bucket.outputs["bucketRegionalDomainName"]
    assert regional == "prod-example-site.s3.us-east-1.amazonaws.com"
    assert backend["address"] == regional
    assert backend["overrideHost"] == regional
    assert backend["sslCertHostname"] == backend["sslSniHostname"] == regional
    assert backend["useSsl"] is True
    assert backend["port"] == 443
    assert backend["shield"] == "iad-va-us"


def test_edge_health_check_reads_the_index(recording: Recording) -> None:
    (check,) = service(recording, "site")["healthchecks"]
    assert check["path"] == "/index.html"
    assert check["host"] == "prod-example-site.s3.us-east-1.amazonaws.com"
    assert check["initial"] == 4


def test_edge_serves_index_and_error_documents(recording: Recording) -> None:
    snippets = {s["name"]: s for s in service(recording, "site")["snippets"]}
    index = snippets["static-index"]
    assert index["type"] == "recv"
    assert "set req.url = req.url.path;" in index["content"]
    assert 'set req.url = req.url + "index.html";' in index["content"]
    assert 'set req.url = "/404.html";' in snippets["static-not-found"]["content"]
    assert "set resp.status = 404;" in snippets["static-not-found-status"]["content"]
    scratch = {s["name"] for s in service(recording, "scratch")["snippets"]}
    assert "static-index" in scratch
    assert "static-not-found" not in scratch


def test_edge_behaviour_defaults(recording: Recording) -> None:
    site = service(recording, "site")
    assert site["requestSettings"][0]["forceSsl"] is True
    assert site["activate"] is True
    assert service(recording, "scratch")["activate"] is False
    assert [d["name"] for d in site["domains"]] == ["www.example.org", "example.org"]


def test_dns_records(recording: Recording) -> None:
    cname = child(recording, "site-edge-dns-www.example.org-cname")
    assert cname.inputs["records"] == ["dualstack.x.map.fastly.net"]
    assert cname.inputs["zoneId"] == "ZPUBLIC"
    assert child(recording, "site-edge-dns-example.org-a").inputs["type"] == "A"
    assert child(recording, "site-edge-dns-example.org-aaaa").inputs["type"] == "AAAA"


def test_fastly_ranges_read_from_the_data_source(recording: Recording) -> None:
    assert "fastly:index/getFastlyIpRanges:getFastlyIpRanges" in recording.calls


# --- structure --------------------------------------------------------------------------------------------


def test_every_custom_resource_has_an_explicit_provider(recording: Recording) -> None:
    assert_every_custom_resource_has_a_provider(recording)


def test_children_are_named_after_their_component(recording: Recording) -> None:
    sites = recording.of_type(STATIC_SITE_TYPE)
    assert [s.name for s in sites] == ["site", "scratch"] or sorted(s.name for s in sites) == ["scratch", "site"]
    for site in sites:
        assert_names_derived_from(recording, site)
    names = [r.name for r in recording.resources]
    assert len(names) == len(set(names))


# --- argument errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("www.example.org", "must not contain dots"),
        ("Example-Site", "3-63 characters"),
        ("ab", "3-63 characters"),
        ("a" * 64, "3-63 characters"),
        ("-site", "3-63 characters"),
        ("xn--site", "reserves"),
        ("site-s3alias", "reserves"),
        ("site--x-s3", "reserves"),
    ],
)
def test_bucket_name_errors(name: str, reason: str) -> None:
    with pytest.raises(ValueError, match=r"StaticSiteArgs\.bucket_name") as raised:
        check_bucket_name(name)
    assert reason in str(raised.value)
    with pytest.raises(ValueError, match=reason):
        StaticSiteArgs(bucket_name=name, hosts=SITE.hosts, edge=SITE.edge, dns_target=TARGET)


def test_good_bucket_name() -> None:
    check_bucket_name("prod-example-site-1")


OTHER = Origin(name="other", address="o.example.net", tls_hostname="o.example.net", health_check=HealthCheck("/"))


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"hosts": ()}, "StaticSiteArgs.hosts"),
        ({"edge": EdgeOptions(service_name="s", fallback=Fallback(OTHER))}, "StaticSiteArgs.edge"),
        ({"edge": EdgeOptions(service_name="s", path_routes=(PathRoute("/x/", (OTHER,)),))}, "StaticSiteArgs.edge"),
        ({"index_document": "/index.html"}, "StaticSiteArgs.index_document"),
        ({"error_document": "errors/../404.html "}, "StaticSiteArgs.error_document"),
        ({"encryption": "SSE-C"}, "StaticSiteArgs.encryption"),
        ({"kms_key_id": KMS_KEY}, "StaticSiteArgs.kms_key_id"),
        ({"noncurrent_version_days": 0}, "StaticSiteArgs.noncurrent_version_days"),
        ({"shield_pop": "IAD VA"}, "shield"),
    ],
)
def test_argument_errors_name_the_argument(overrides: dict[str, Any], named: str) -> None:
    values: dict[str, Any] = {"bucket_name": "site", "hosts": SITE.hosts, "edge": SITE.edge, "dns_target": TARGET}
    values.update(overrides)
    with pytest.raises(ValueError, match="is invalid") as raised:
        StaticSiteArgs(**values)
    assert named in str(raised.value)


def test_wrong_args_type_is_refused() -> None:
    error = program_error(
        lambda p: StaticSite("s", "bucket", aws_provider=p.aws, fastly_provider=p.fastly)  # type: ignore[arg-type]
    )
    assert isinstance(error, ValueError)
    assert "StaticSite args" in str(error)
