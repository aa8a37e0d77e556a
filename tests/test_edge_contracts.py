"""The Fastly edge as the real provider and the PSF's hosts need it, asserted on both stacks' records.

Each test names the contract it holds: what psf-salt's hosts present and accept (certificate names from the
PSF CA, the token-exempt status URI), what the Fastly provider supports or refuses (no write-only dictionary
items, no service without a backend, force_destroy to tear staging down, xff set explicitly), and what the
live python.org service does for its apex.
"""

from __future__ import annotations

import pytest
import yaml

from offline.recorder import PROJECT_ROOT, Record, Recording, record_program
from stacks.context import PSF_STATUS_PATH, STANDBY_SUFFIX
from stacks.settings import parse_settings
from tests.test_settings import base

SERVICE = "fastly:index/serviceVcl:ServiceVcl"
SNIPPET_CONTENT = "fastly:index/serviceDynamicSnippetContent:ServiceDynamicSnippetContent"
DICTIONARY_ITEMS = "fastly:index/serviceDictionaryItems:ServiceDictionaryItems"
DROPLET = "digitalocean:index/droplet:Droplet"
RECORD = "aws:route53/record:Record"
SECRET = "[secret]"
PSF_CA = yaml.safe_load((PROJECT_ROOT / "Pulumi.prod.yaml").read_text())["config"]["psf-infra:psfCaCertificate"]
# psf-salt pillar/base/tls.sls gen_certs: the name each role's certificate carries, where it is not <key>.psf.io.
CERTIFICATE_NAMES = {"buildbot": "buildbot-master.psf.io", "speed": "codespeed.psf.io", "wiki": "moin.psf.io"}


def droplet_services(stack: Recording) -> dict[str, str]:
    """Droplet IPv4 address (its own, or the reserved one assigned to it) -> the service key its tags name.

    A standby (tagged ``service:<key>-standby``) counts as its role's: it presents the role's certificate.
    """
    services = {
        d.outputs["ipv4Address"]: next(
            t.split(":", 1)[1] for t in d.inputs["tags"] if t.startswith("service:")
        ).removesuffix(f"-{STANDBY_SUFFIX}")
        for d in stack.of_type(DROPLET)
    }
    by_id = {d.id: services[d.outputs["ipv4Address"]] for d in stack.of_type(DROPLET)}
    for assignment in stack.of_type("digitalocean:index/reservedIpAssignment:ReservedIpAssignment"):
        services[assignment.inputs["ipAddress"]] = by_id[str(int(assignment.inputs["dropletId"]))]
    return services


def backends(stack: Recording) -> list[tuple[Record, dict[str, object]]]:
    return [(s, b) for s in stack.of_type(SERVICE) for b in s.inputs["backends"]]


# --- 1. origin TLS ----------------------------------------------------------------------------------------


def test_droplet_backends_check_the_role_certificate_against_the_psf_ca(stack: Recording) -> None:
    on_droplets = droplet_services(stack)
    checked = 0
    for service, backend in backends(stack):
        key = on_droplets.get(str(backend["address"]))
        if key is None:
            continue
        checked += 1
        name = CERTIFICATE_NAMES.get(key, f"{key}.psf.io")
        # The name the role's certificate carries, checked and sent as SNI; never the droplet's own host name.
        assert backend["sslCertHostname"] == backend["sslSniHostname"] == name, (service.name, backend["name"])
        if stack.stack == "prod":
            assert backend["sslCaCert"] == PSF_CA.strip(), (service.name, backend["name"])
        else:
            # Staging's Salt master makes its own CA: unknown until it runs, and prod's would not verify it.
            assert "sslCaCert" not in backend
    # Every droplet of a service with its own edge (its standby's included; the secondary MX serves no web),
    # the mirror as docs', wiki's and PyPI's fallback, /ftp/'s downloads.
    names = [s.inputs["name"] for s in stack.of_type(SERVICE)]
    keys = [on_droplets[d.outputs["ipv4Address"]] for d in stack.of_type(DROPLET) if d.name != "sfo1-mail-standby-1"]
    fronted = [k for k in keys if any(n.endswith(f"-{k}") for n in names)]
    fallbacks = sum(b.get("requestCondition") == "fallback" for _, b in backends(stack))
    assert checked == len(fronted) + fallbacks + keys.count("downloads")


def test_external_origins_keep_their_public_ca_checks(stack: Recording) -> None:
    on_droplets = droplet_services(stack)
    external = [(s, b) for s, b in backends(stack) if str(b["address"]) not in on_droplets]
    found = {s.inputs["name"].rsplit("-", 1)[-1] for s, _ in external}
    # Prod's PyPI edge is pypi-infra's (ownership edge:pypi=external), staging's is made here.
    assert found >= {"pycon", "site", "staging", "org"} | ({"pypi"} if stack.stack == "staging" else set())
    assert ("pypi" in found) == (stack.stack == "staging")
    for service, backend in external:
        assert "sslCaCert" not in backend, service.name
        assert backend["sslCertHostname"] == backend["address"], service.name


def test_the_psf_ca_in_prod_is_the_one_the_psf_publishes() -> None:
    # python/psf-salt docs/services/cdn.rst and python/pythondotorg infra/cdn/certs/psf.io.pem.
    settings = parse_settings("prod", base("prod"))
    assert settings.psf_ca_certificate is not None
    assert (
        settings.psf_ca_certificate.splitlines()[1]
        == "MIIEQzCCAyugAwIBAgIUYH38nEb2KLRgscKhjcNpBLRUz+UwDQYJKoZIhvcNAQEL"
    )


# --- 2. health checks -------------------------------------------------------------------------------------


def test_psf_hosts_are_probed_at_the_token_exempt_status_uri(stack: Recording) -> None:
    on_droplets = droplet_services(stack)
    for service, backend in backends(stack):
        checks = {c["name"]: c for c in service.inputs["healthchecks"]}
        check = checks[backend["healthcheck"]]
        if str(backend["address"]) in on_droplets:
            # HAProxy answers its monitor URI before the Fastly-Token check; every other path is refused.
            assert check["path"] == PSF_STATUS_PATH, (service.name, backend["name"])
            assert "headers" not in check


# --- 3. the origin token ----------------------------------------------------------------------------------


def test_no_dictionary_and_one_secret_managed_token_snippet_per_service(stack: Recording) -> None:
    assert stack.of_type(DICTIONARY_ITEMS) == []
    contents = stack.of_type(SNIPPET_CONTENT)
    for service in stack.of_type(SERVICE):
        assert "dictionaries" not in service.inputs, service.name
        assert [d["name"] for d in service.inputs["dynamicsnippets"]] == ["origin-token"], service.name
        (mine,) = [c for c in contents if c.inputs["serviceId"] == service.id]
        assert mine.inputs["content"] == SECRET and mine.inputs["manageSnippets"] is True
    assert len(contents) == len(stack.of_type(SERVICE))


# --- 4. the apex ------------------------------------------------------------------------------------------


def python_org(stack: Recording) -> Record:
    return next(s for s in stack.of_type(SERVICE) if s.inputs["name"].endswith("-python-org"))


def test_every_service_has_a_backend(stack: Recording) -> None:
    for service in stack.of_type(SERVICE):
        assert service.inputs["backends"], service.name


def test_the_apex_redirects_from_the_www_service_with_the_live_hsts(stack: Recording) -> None:
    settings = parse_settings(stack.stack, base(stack.stack))
    apex, www = settings.public_domain("python.org"), settings.public_host("www.python.org", "python.org")
    service = python_org(stack)
    headers = {h["name"]: h for h in service.inputs["headers"]}
    assert headers[f"redirect-location {apex}"]["source"] == f'"https://{www}" + req.url'
    # As python/pythondotorg infra/cdn/main.tf sends them: no includeSubDomains on the apex.
    assert headers[f"hsts {apex}"]["source"] == '"max-age=315360000; preload"'
    assert headers["hsts"]["source"] == f'"max-age={settings.hsts_max_age}; includeSubDomains"'


def test_the_apex_records_move_with_their_urns(stack: Recording) -> None:
    settings = parse_settings(stack.stack, base(stack.stack))
    apex = settings.public_domain("python.org")
    records = {r.name: r for r in stack.of_type(RECORD)}
    for suffix in ("a", "aaaa"):
        moved = records[f"python-org-edge-dns-{apex}-{suffix}"]
        (old,) = moved.options.aliases
        assert old.endswith(f"infra:edge:FastlyEdge$aws:route53/record:Record::python-org-apex-dns-{apex}-{suffix}")
        assert old.startswith(f"urn:pulumi:{stack.stack}::psf-infra::psf:estate:Global$")


# --- 5. teardown ------------------------------------------------------------------------------------------


def test_force_destroy_only_where_nothing_is_protected(stack: Recording) -> None:
    expected = stack.stack != "prod"
    assert {s.inputs["forceDestroy"] for s in stack.of_type(SERVICE)} == {expected}


# --- 6. small mismatches ----------------------------------------------------------------------------------


def test_xff_is_set_on_every_request_setting(stack: Recording) -> None:
    for service in stack.of_type(SERVICE):
        assert [r["xff"] for r in service.inputs["requestSettings"]] == ["append"], service.name


@pytest.mark.parametrize(("site", "region"), [("datadoghq.com", "US"), ("datadoghq.eu", "EU")])
def test_datadog_log_region_follows_the_datadog_site(site: str, region: str) -> None:
    from components.edge import DatadogLogging
    from stacks.global_edge import GlobalEdge, build_logging
    from stacks.providers import make_providers

    settings = parse_settings("staging", base("staging") | {"fastlyLogging": "datadog", "datadogSite": site})
    found: list[str] = []

    def program() -> None:
        (entry,) = build_logging(settings, make_providers(settings), GlobalEdge())
        assert isinstance(entry, DatadogLogging)
        found.append(entry.region)

    record_program(program, stack="staging")
    assert found == [region]


def test_the_log_role_may_do_what_fastly_s_guide_grants(stack: Recording) -> None:
    import json

    (policy,) = stack.of_type("aws:iam/rolePolicy:RolePolicy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload"]
    assert statement["Resource"].endswith("-cdn-logs/*")
