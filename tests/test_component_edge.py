"""FastlyEdge: backends, health checks, fallback, routes, HSTS, stale, secrets, logging and DNS, under mocks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.common import ZoneRef
from components.edge import (
    EDGE_TYPE,
    DatadogLogging,
    DomainRedirect,
    EdgeArgs,
    EdgeDns,
    EdgeOptions,
    Fallback,
    FastlyDnsTarget,
    FastlyEdge,
    HealthCheck,
    MovedRecords,
    Origin,
    OriginTokenGuard,
    PathRoute,
    PublicHost,
    S3Logging,
    VclSnippet,
)
from offline.recorder import Record, Recording, record_program
from tests.component_helpers import (
    SECRET,
    TestProviders,
    assert_every_custom_resource_has_a_provider,
    assert_names_derived_from,
    one,
    program_error,
    record,
)

SERVICE = "fastly:index/serviceVcl:ServiceVcl"
SNIPPET_CONTENT = "fastly:index/serviceDynamicSnippetContent:ServiceDynamicSnippetContent"
RECORD = "aws:route53/record:Record"
TOKEN = "s3cr3t-origin-token-value"
DATADOG_TOKEN = "datadog-api-key-value"
ZONE = ZoneRef("example.org", "ZEXAMPLE")
CNAME = "dualstack.x.map.fastly.net"
# A TLS configuration's targets, as the estate reads them from Fastly (documentation addresses here).
APEX_IPV4 = ("192.0.2.10", "192.0.2.11")
APEX_IPV6 = ("2001:db8::10", "2001:db8::11")
TARGET = FastlyDnsTarget(cname=CNAME, apex_ipv4=APEX_IPV4, apex_ipv6=APEX_IPV6)
HEALTH = HealthCheck("/_health/")
STATUS = "/_haproxy_status"
GUARD = OriginTokenGuard((STATUS,))
# A stand-in private CA certificate: the component checks the PEM's shape only (settings check the X.509).
CA_PEM = "-----BEGIN CERTIFICATE-----\nTUlJQ2Zha2U=\n-----END CERTIFICATE-----\n"


def origin(name: str, *, shield: str | None = "lga-ny-us", check: HealthCheck = HEALTH) -> Origin:
    host = f"{name}.origin.example.net"
    return Origin(name=name, address=host, tls_hostname=host, health_check=check, shield=shield)


FULL_ARGS = EdgeArgs(
    domains=("www.example.org", "example.org"),
    origins=(origin("app-1"), origin("app-2")),
    options=EdgeOptions(
        service_name="test-www",
        origin_token=TOKEN,
        hsts_max_age=63_072_000,
        hsts_preload=True,
        fallback=Fallback(
            origin("mirror", shield="amsterdam-nl"),
            path_prefixes=("/simple/",),
            path_regexes=("^/pypi/[^/]+/json$",),
        ),
        path_routes=(PathRoute("/ftp/", (origin("downloads-1"), origin("downloads-2"))),),
        logging=(
            S3Logging(bucket_name="example-logs", region="us-east-1", role_arn="arn:aws:iam::123456789012:role/fastly"),
            DatadogLogging(token=DATADOG_TOKEN),
        ),
        activate=False,
    ),
)


def full_program(p: TestProviders) -> None:
    FastlyEdge(
        "www",
        FULL_ARGS,
        fastly_provider=p.fastly,
        dns=EdgeDns(hosts=(PublicHost("www.example.org", ZONE), PublicHost("example.org", ZONE)), target=TARGET),
        aws_provider=p.aws,
    )


def small_program(p: TestProviders) -> None:
    # Two edges side by side: their children must not collide.
    FastlyEdge(
        "docs",
        EdgeArgs(
            domains=("docs.example.org",),
            origins=(origin("docs", shield=None),),
            options=EdgeOptions(service_name="t-docs", gzip=False),
        ),
        fastly_provider=p.fastly,
    )
    probing = HealthCheck("/status", send_origin_token=True)
    FastlyEdge(
        "wiki",
        EdgeArgs(
            domains=("wiki.example.org",),
            origins=(origin("wiki", check=probing),),
            options=EdgeOptions(service_name="t-wiki", origin_token=TOKEN, hsts_max_age=None),
        ),
        fastly_provider=p.fastly,
    )


def redirect_program(p: TestProviders) -> None:
    # The apex answers a redirect; www is served by a guarded origin behind a private CA.
    FastlyEdge(
        "apex",
        EdgeArgs(
            domains=("www.example.org", "example.org"),
            origins=(
                Origin(
                    name="lb",
                    address="192.0.2.10",
                    tls_hostname="lb.example.net",
                    ca_certificate=CA_PEM,
                    token_guard=GUARD,
                    health_check=HealthCheck(STATUS),
                    shield="lga-ny-us",
                ),
            ),
            redirects=(
                DomainRedirect(
                    domain="example.org", to="https://www.example.org", hsts_max_age=315_360_000, hsts_preload=True
                ),
            ),
            options=EdgeOptions(service_name="test-apex", origin_token=TOKEN, force_destroy=True),
        ),
        fastly_provider=p.fastly,
        dns=EdgeDns(
            hosts=(PublicHost("example.org", ZONE), PublicHost("www.example.org", ZONE)),
            target=TARGET,
            moved={
                "example.org": MovedRecords("old-apex-dns", "urn:pulumi:test::psf-infra::infra:edge:FastlyEdge::old")
            },
        ),
        aws_provider=p.aws,
    )


@pytest.fixture(scope="module")
def full() -> Recording:
    return record(full_program)


@pytest.fixture(scope="module")
def small() -> Recording:
    return record(small_program)


@pytest.fixture(scope="module")
def redirect() -> Recording:
    return record(redirect_program)


@pytest.fixture(scope="module")
def service(full: Recording) -> dict[str, Any]:
    return dict(one(full, SERVICE).inputs)


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def service_named(recording: Recording, name: str) -> dict[str, Any]:
    return dict(recording.named(name).inputs)


# --- backends and health checks ---------------------------------------------------------------------------


def test_one_backend_per_origin(service: dict[str, Any]) -> None:
    assert sorted(b["name"] for b in service["backends"]) == ["app-1", "app-2", "downloads-1", "downloads-2", "mirror"]


def test_every_backend_has_its_own_health_check_starting_healthy(service: dict[str, Any]) -> None:
    checks = by_name(service["healthchecks"])
    for backend in service["backends"]:
        check = checks[backend["healthcheck"]]
        assert check["initial"] == 4
        assert (check["threshold"], check["window"]) == (3, 5)
        assert (check["checkInterval"], check["timeout"]) == (15_000, 5_000)
        assert check["expectedResponse"] == 200
        assert check["path"] == "/_health/"
        assert check["method"] == "HEAD"
        # The probe asks for the virtual host the origin serves: the service's first domain.
        assert check["host"] == "www.example.org"
    assert len(checks) == len(service["backends"])


def test_backends_use_verified_tls_with_sni(service: dict[str, Any]) -> None:
    for backend in service["backends"]:
        assert backend["useSsl"] is True
        assert backend["sslCheckCert"] is True
        assert backend["port"] == 443
        assert backend["sslCertHostname"] == backend["address"]
        assert backend["sslSniHostname"] == backend["address"]
        assert backend["minTlsVersion"] == "1.2"
        # Public CA origins: Fastly's own bundle, no private CA.
        assert "sslCaCert" not in backend


def test_private_ca_origin_checks_its_certificate_name_against_that_ca(redirect: Recording) -> None:
    (backend,) = one(redirect, SERVICE).inputs["backends"]
    # The name the certificate carries, not the address Fastly connects to, is checked and sent as SNI.
    assert (backend["address"], backend["sslCertHostname"], backend["sslSniHostname"]) == (
        "192.0.2.10",
        "lb.example.net",
        "lb.example.net",
    )
    # As sent by the PSF's live service: the PEM without its final newline, which Fastly keeps as given.
    assert backend["sslCaCert"] == CA_PEM.strip()


def test_backends_have_shield_and_psf_timeouts(service: dict[str, Any]) -> None:
    backends = by_name(service["backends"])
    assert backends["app-1"]["shield"] == "lga-ny-us"
    assert backends["mirror"]["shield"] == "amsterdam-nl"
    for backend in backends.values():
        assert backend["connectTimeout"] == 1_000
        assert backend["firstByteTimeout"] == 15_000
        assert backend["betweenBytesTimeout"] == 10_000
        assert backend["maxConn"] == 200
        assert backend["errorThreshold"] == 5


def test_shield_is_optional(small: Recording) -> None:
    backend = service_named(small, "docs-vcl")["backends"][0]
    assert "shield" not in backend


# --- routing and fallback ---------------------------------------------------------------------------------


def test_primaries_form_the_default_pool(service: dict[str, Any]) -> None:
    backends = by_name(service["backends"])
    for name in ("app-1", "app-2"):
        assert backends[name]["autoLoadbalance"] is True
        assert "requestCondition" not in backends[name]


def test_path_route_origins_balanced_under_their_condition(service: dict[str, Any]) -> None:
    backends = by_name(service["backends"])
    conditions = by_name(service["conditions"])
    for name in ("downloads-1", "downloads-2"):
        assert backends[name]["autoLoadbalance"] is True
        assert backends[name]["requestCondition"] == "route /ftp/"
    assert conditions["route /ftp/"] == {
        "name": "route /ftp/",
        "type": "REQUEST",
        "statement": 'req.url.path ~ "^/ftp/"',
        "priority": 10,
    }


def test_fallback_only_when_primaries_are_down(service: dict[str, Any]) -> None:
    mirror = by_name(service["backends"])["mirror"]
    statement = by_name(service["conditions"])[mirror["requestCondition"]]["statement"]
    assert statement.startswith("(!req.backend.healthy || req.restarts > 0) && ")
    # Limited to the paths the mirror can answer, and never path-routed traffic.
    assert '(req.url.path ~ "^/simple/" || req.url.path ~ "^/pypi/[^/]+/json$")' in statement
    assert '!(req.url.path ~ "^/ftp/")' in statement


def test_fallback_is_not_in_the_balanced_pool(service: dict[str, Any]) -> None:
    mirror = by_name(service["backends"])["mirror"]
    assert mirror["autoLoadbalance"] is False
    assert not service.get("directors")


def test_failed_primary_request_is_retried_once_on_the_fallback(service: dict[str, Any]) -> None:
    snippets = by_name(service["snippets"])
    for name in ("serve-stale-fetch", "serve-stale-error"):
        content = snippets[name]["content"]
        assert "return(deliver_stale);" in content
        assert "req.restarts == 0" in content
        assert "restart;" in content
        assert '!(req.url.path ~ "^/ftp/")' in content


def test_no_retry_without_a_fallback(small: Recording) -> None:
    snippets = by_name(service_named(small, "docs-vcl")["snippets"])
    assert "restart;" not in snippets["serve-stale-fetch"]["content"]
    assert "return(deliver_stale);" in snippets["serve-stale-fetch"]["content"]
    assert "conditions" not in service_named(small, "docs-vcl")


# --- behaviour --------------------------------------------------------------------------------------------


def test_hsts_header(service: dict[str, Any]) -> None:
    hsts = by_name(service["headers"])["hsts"]
    assert hsts["type"] == "response"
    assert hsts["action"] == "set"
    assert hsts["destination"] == "http.Strict-Transport-Security"
    assert hsts["source"] == '"max-age=63072000; includeSubDomains; preload"'


def test_hsts_defaults_and_can_be_left_out(small: Recording) -> None:
    docs = by_name(service_named(small, "docs-vcl")["headers"])
    assert docs["hsts"]["source"] == '"max-age=31536000; includeSubDomains"'
    assert "headers" not in service_named(small, "wiki-vcl")


def test_https_forced_xff_explicit_and_stale_served(service: dict[str, Any]) -> None:
    # xff set explicitly: left out, newer provider versions read Fastly's value back and diff for ever.
    assert service["requestSettings"] == [
        {"name": "defaults", "forceSsl": True, "maxStaleAge": 86_400, "xff": "append"}
    ]
    assert service["staleIfError"] is True
    assert service["staleIfErrorTtl"] == 43_200


def test_text_is_compressed(service: dict[str, Any], small: Recording) -> None:
    (gzip,) = service["gzips"]
    assert {"text/html", "text/css", "application/javascript", "application/json"} <= set(gzip["contentTypes"])
    assert "gzips" not in service_named(small, "docs-vcl")


def test_origin_token_is_set_by_a_dynamic_snippet_not_a_dictionary(service: dict[str, Any]) -> None:
    # No dictionary at all: the provider cannot manage items of a write-only one, and never converges.
    assert "dictionaries" not in service
    assert "origin-token" not in by_name(service["headers"])
    (snippet,) = service["dynamicsnippets"]
    assert (snippet["name"], snippet["type"]) == ("origin-token", "recv")
    # Inline content is never read back by the provider: the value lives in its own resource.
    assert "content" not in snippet


def test_origin_token_content_is_secret_and_managed(full: Recording) -> None:
    content = one(full, SNIPPET_CONTENT)
    assert content.inputs["content"] == SECRET
    # Without manage_snippets the provider ignores content changes: a rotated token would never apply.
    assert content.inputs["manageSnippets"] is True
    service = one(full, SERVICE)
    assert content.inputs["serviceId"] == service.id
    assert service.urn in content.options.dependencies
    assert content.options.provider is not None


def test_origin_token_vcl_sets_the_header_with_the_token() -> None:
    from components.edge_vcl import origin_token_vcl

    def program() -> None:
        origin_token_vcl(TOKEN, "Fastly-Token").apply(seen.append)

    seen: list[str] = []
    record_program(program)
    assert seen == [f'set req.http.Fastly-Token = "{TOKEN}";']


def test_no_secret_appears_in_clear(full: Recording, small: Recording) -> None:
    for recording in (full, small):
        text = json.dumps([r.to_json() for r in recording.records])
        assert TOKEN not in text
        assert DATADOG_TOKEN not in text


def test_health_checks_carry_the_token_only_when_asked(service: dict[str, Any], small: Recording) -> None:
    assert all("headers" not in check for check in service["healthchecks"])
    assert service_named(small, "wiki-vcl")["healthchecks"] == SECRET


def test_activate_flag_is_honoured(service: dict[str, Any], redirect: Recording) -> None:
    assert service["activate"] is False
    assert one(redirect, SERVICE).inputs["activate"] is True


def test_service_is_never_force_destroyed_by_default(service: dict[str, Any], redirect: Recording) -> None:
    assert service["forceDestroy"] is False
    assert one(redirect, SERVICE).inputs["forceDestroy"] is True
    assert service["name"] == "test-www"
    assert [d["name"] for d in service["domains"]] == ["www.example.org", "example.org"]


def test_logging(service: dict[str, Any]) -> None:
    (s3,) = service["loggingS3s"]
    assert s3["bucketName"] == "example-logs"
    assert s3["s3IamRole"] == "arn:aws:iam::123456789012:role/fastly"
    assert s3["path"] == "/www.example.org/%Y/%m/%d/"
    assert s3["period"] == 3_600
    assert s3["compressionCodec"] == "gzip"
    assert s3["domain"] == "s3.us-east-1.amazonaws.com"
    assert service["loggingDatadogs"] == SECRET


# --- redirects -------------------------------------------------------------------------------------------


def test_redirected_domain_answers_301_with_the_path_from_a_service_with_a_backend(redirect: Recording) -> None:
    inputs = one(redirect, SERVICE).inputs
    # Fastly activates no version without a backend: the redirect is a domain of a real service.
    assert inputs["backends"]
    (response,) = inputs["responseObjects"]
    assert (response["status"], response["response"]) == (301, "Moved Permanently")
    conditions = by_name(inputs["conditions"])
    asked = conditions[response["requestCondition"]]
    assert (asked["type"], asked["statement"], asked["priority"]) == ("REQUEST", 'req.http.host == "example.org"', 1)
    location = by_name(inputs["headers"])["redirect-location example.org"]
    assert location["destination"] == "http.Location"
    assert location["source"] == '"https://www.example.org" + req.url'
    answered = conditions[location["responseCondition"]]
    assert (answered["type"], answered["statement"]) == ("RESPONSE", 'req.http.host == "example.org"')
    # HTTPS is forced first on the same host, so the apex's own HSTS reaches browsers.
    assert inputs["requestSettings"][0]["forceSsl"] is True


def test_redirected_domain_sends_its_own_hsts_after_the_service_one(redirect: Recording) -> None:
    headers = by_name(one(redirect, SERVICE).inputs["headers"])
    assert headers["hsts"]["source"] == '"max-age=31536000; includeSubDomains"'
    assert "responseCondition" not in headers["hsts"]
    apex = headers["hsts example.org"]
    assert apex["source"] == '"max-age=315360000; preload"'
    assert apex["responseCondition"] == "redirected example.org"
    assert apex["priority"] > headers["hsts"].get("priority", 100)


def test_probes_and_logs_name_a_served_domain_not_a_redirect(redirect: Recording) -> None:
    (check,) = one(redirect, SERVICE).inputs["healthchecks"]
    assert check["host"] == "www.example.org"


def test_moved_records_carry_their_old_urns(redirect: Recording) -> None:
    records = records_by_name(redirect)
    old = "urn:pulumi:test::psf-infra::infra:edge:FastlyEdge$aws:route53/record:Record::old-apex-dns-example.org"
    assert records["apex-dns-example.org-a"].options.aliases == (f"{old}-a",)
    assert records["apex-dns-example.org-aaaa"].options.aliases == (f"{old}-aaaa",)
    assert records["apex-dns-www.example.org-cname"].options.aliases == ()


# --- DNS --------------------------------------------------------------------------------------------------


def records_by_name(recording: Recording) -> dict[str, Record]:
    return {r.name: r for r in recording.of_type(RECORD)}


def test_subdomain_gets_a_cname_to_fastly(full: Recording) -> None:
    cname = records_by_name(full)["www-dns-www.example.org-cname"]
    assert cname.inputs["type"] == "CNAME"
    assert cname.inputs["name"] == "www.example.org"
    assert cname.inputs["records"] == [CNAME]
    assert cname.inputs["zoneId"] == "ZEXAMPLE"
    assert cname.inputs["ttl"] == 3_600


def test_apex_gets_fastly_anycast_a_and_aaaa(full: Recording) -> None:
    records = records_by_name(full)
    a, aaaa = records["www-dns-example.org-a"], records["www-dns-example.org-aaaa"]
    assert (a.inputs["type"], aaaa.inputs["type"]) == ("A", "AAAA")
    assert a.inputs["records"] == list(APEX_IPV4)
    assert aaaa.inputs["records"] == list(APEX_IPV6)
    assert "www-dns-example.org-cname" not in records


def test_dns_waits_for_the_origin_token(full: Recording) -> None:
    content = one(full, SNIPPET_CONTENT)
    for dns in full.of_type(RECORD):
        assert content.urn in dns.options.dependencies


def test_edge_without_dns_makes_no_records(small: Recording) -> None:
    assert small.of_type(RECORD) == []


# --- structure --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["full", "small", "redirect"])
def test_every_custom_resource_has_an_explicit_provider(scenario: str, request: pytest.FixtureRequest) -> None:
    assert_every_custom_resource_has_a_provider(request.getfixturevalue(scenario))


@pytest.mark.parametrize("scenario", ["full", "small", "redirect"])
def test_children_are_named_after_their_component(scenario: str, request: pytest.FixtureRequest) -> None:
    recording: Recording = request.getfixturevalue(scenario)
    components = recording.of_type(EDGE_TYPE)
    assert components
    for component in components:
        assert_names_derived_from(recording, component)
        assert all(child.parent == component.urn for child in recording.descendants(component))


def test_two_edges_do_not_collide(small: Recording) -> None:
    names = [r.name for r in small.resources]
    assert len(names) == len(set(names))
    assert {"docs-vcl", "wiki-vcl", "wiki-origin-token"} <= set(names)


# --- argument errors --------------------------------------------------------------------------------------


def make_options(**overrides: Any) -> EdgeOptions:
    return EdgeOptions(**{"service_name": "svc", **overrides})


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: HealthCheck("health"), "HealthCheck.path"),
        (lambda: HealthCheck("/", method="POST"), "HealthCheck.method"),
        (lambda: HealthCheck("/", threshold=6), "HealthCheck.threshold"),
        (lambda: HealthCheck("/", initial=9), "HealthCheck.initial"),
        (lambda: HealthCheck("/", timeout_ms=20_000), "HealthCheck.timeout_ms"),
        (lambda: Origin(name="Bad_Name", address="a", tls_hostname="a.example", health_check=HEALTH), "Origin.name"),
        (lambda: Origin(name="o", address="a", tls_hostname="A..example", health_check=HEALTH), "tls_hostname"),
        (lambda: Origin(name="o", address="a", tls_hostname="a.example", health_check=HEALTH, port=0), "port"),
        (lambda: Origin(name="o", address="a", tls_hostname="a.ex", health_check=HEALTH, shield="LGA NY"), "shield"),
        (lambda: PathRoute("ftp", (origin("f"),)), "PathRoute.prefix"),
        (lambda: PathRoute("/ftp/", ()), "origins"),
        (lambda: Fallback(origin("m"), path_regexes=("/simple/",)), "Fallback.path_regexes"),
        (lambda: Fallback(origin("m"), path_regexes=("^/(",)), "Fallback.path_regexes"),
        (lambda: S3Logging(bucket_name="Logs", region="us-east-1", role_arn="arn:aws:iam::1:role/r"), "bucket_name"),
        (lambda: S3Logging(bucket_name="logs", region="mars", role_arn="arn:aws:iam::1:role/r"), "S3Logging.region"),
        (lambda: S3Logging(bucket_name="logs", region="us-east-1", role_arn="role"), "S3Logging.role_arn"),
        (lambda: DatadogLogging(token="t", region="APAC"), "DatadogLogging.region"),
        (lambda: VclSnippet("s", "vcl_recv", "set x = 1;"), "VclSnippet(s).type"),
        (lambda: make_options(service_name=""), "EdgeOptions.service_name"),
        (lambda: make_options(origin_token="short"), "EdgeOptions.origin_token"),
        (lambda: make_options(origin_token='with"quote-0123456789'), "EdgeOptions.origin_token"),
        (lambda: make_options(origin_token="with%escape-0123456789"), "EdgeOptions.origin_token"),
        (lambda: make_options(origin_token_header="Fastly Token"), "origin_token_header"),
        (lambda: make_options(hsts_preload=True, hsts_include_subdomains=False), "EdgeOptions.hsts_preload"),
        (lambda: make_options(hsts_max_age=-1), "EdgeOptions.hsts_max_age"),
        (lambda: make_options(stale_if_error_ttl=-5), "EdgeOptions.stale_if_error_ttl"),
        (
            lambda: make_options(path_routes=(PathRoute("/a/", (origin("x"),)), PathRoute("/a/b/", (origin("y"),)))),
            "EdgeOptions.path_routes",
        ),
        (lambda: EdgeArgs(domains=(), origins=(origin("a"),), options=make_options()), "EdgeArgs.domains"),
        (
            lambda: EdgeArgs(domains=("Example.org",), origins=(origin("a"),), options=make_options()),
            "EdgeArgs.domains",
        ),
        (lambda: EdgeArgs(domains=("a.example",), options=make_options()), "EdgeArgs.origins"),
        (
            lambda: EdgeArgs(domains=("a.example",), origins=(origin("a"), origin("a")), options=make_options()),
            "origin names",
        ),
        (
            lambda: EdgeArgs(
                domains=("a.example",), origins=(origin("a"), origin("b", shield="iad-va-us")), options=make_options()
            ),
            "EdgeArgs.origins",
        ),
        (lambda: DomainRedirect(domain="a.example", to="http://www.a.example"), "DomainRedirect(a.example).to"),
        (lambda: DomainRedirect(domain="a.example", to="https://a.example"), "DomainRedirect(a.example).to"),
        (lambda: DomainRedirect(domain="a.example", to="https://b.example", status=200), "status"),
        (lambda: DomainRedirect(domain="a.example", to="https://b.example", hsts_max_age=10**10), "hsts_max_age"),
        (
            lambda: EdgeArgs(
                domains=("a.example",),
                origins=(origin("a"),),
                options=make_options(),
                redirects=(DomainRedirect(domain="b.example", to="https://a.example"),),
            ),
            "EdgeArgs.redirects",
        ),
        (
            lambda: EdgeArgs(
                domains=("a.example",),
                origins=(origin("a"),),
                options=make_options(),
                redirects=(DomainRedirect(domain="a.example", to="https://b.example"),),
            ),
            "EdgeArgs.redirects",
        ),
        (lambda: OriginTokenGuard(()), "OriginTokenGuard.exempt_paths"),
        (lambda: OriginTokenGuard(("status",)), "OriginTokenGuard.exempt_paths"),
        (
            lambda: Origin(name="o", address="a", tls_hostname="a.example", health_check=HEALTH, ca_certificate="x"),
            "Origin(o).ca_certificate",
        ),
        (
            lambda: Origin(
                name="o", address="a", tls_hostname="a.example", health_check=HEALTH, ca_certificate=CA_PEM * 2
            ),
            "Origin(o).ca_certificate",
        ),
        # A guarded origin probed at a path it refuses without the token: always sick.
        (
            lambda: EdgeArgs(
                domains=("a.example",),
                origins=(
                    Origin(name="o", address="a", tls_hostname="a.example", health_check=HEALTH, token_guard=GUARD),
                ),
                options=make_options(origin_token=TOKEN),
            ),
            "Origin(o).health_check.path",
        ),
        (
            lambda: EdgeArgs(
                domains=("a.example",),
                origins=(
                    Origin(
                        name="o",
                        address="a",
                        tls_hostname="a.example",
                        health_check=HealthCheck(STATUS),
                        token_guard=GUARD,
                    ),
                ),
                options=make_options(),
            ),
            "Origin(o).token_guard",
        ),
        (lambda: FastlyDnsTarget(cname="edge.example.com"), "FastlyDnsTarget.cname"),
        (lambda: FastlyDnsTarget(cname=CNAME, apex_ipv4=("2a04:4e42::223",)), "FastlyDnsTarget.apex_ipv4"),
        (lambda: FastlyDnsTarget(cname=CNAME, ttl=5), "FastlyDnsTarget.ttl"),
        (lambda: FastlyDnsTarget(cname=CNAME, apex_ipv6=("not-an-address",)), "FastlyDnsTarget.apex_ipv6"),
        (lambda: PublicHost("www.example.com", ZONE), "www.example.com"),
    ],
)
def test_argument_errors_name_the_argument(build: Any, named: str) -> None:
    with pytest.raises(ValueError, match=r"is invalid|is not inside") as raised:
        build()
    assert named in str(raised.value)


def test_guarded_origin_may_probe_an_exempt_path_or_carry_the_token() -> None:
    def args(check: HealthCheck) -> EdgeArgs:
        guarded = Origin(name="o", address="a", tls_hostname="a.example", health_check=check, token_guard=GUARD)
        return EdgeArgs(domains=("a.example",), origins=(guarded,), options=make_options(origin_token=TOKEN))

    assert args(HealthCheck(STATUS)).origins[0].health_check.path == STATUS
    assert args(HealthCheck("/_health/", send_origin_token=True)).origins[0].health_check.send_origin_token
    with pytest.raises(ValueError, match="always be sick: probe /_haproxy_status"):
        args(HealthCheck("/"))


def test_dns_host_must_be_a_domain_of_the_service() -> None:
    def program(p: TestProviders) -> None:
        FastlyEdge(
            "x",
            EdgeArgs(domains=("a.example.org",), origins=(origin("a"),), options=make_options()),
            fastly_provider=p.fastly,
            dns=EdgeDns(hosts=(PublicHost("b.example.org", ZONE),), target=TARGET),
            aws_provider=p.aws,
        )

    error = program_error(program)
    assert isinstance(error, ValueError)
    assert "dns.hosts" in str(error) and "b.example.org" in str(error)


def test_dns_needs_the_aws_provider() -> None:
    def program(p: TestProviders) -> None:
        FastlyEdge(
            "x",
            EdgeArgs(domains=("a.example.org",), origins=(origin("a"),), options=make_options()),
            fastly_provider=p.fastly,
            dns=EdgeDns(hosts=(PublicHost("a.example.org", ZONE),), target=TARGET),
        )

    error = program_error(program)
    assert isinstance(error, ValueError)
    assert "aws_provider" in str(error)


# --- a standby before the fallback -------------------------------------------------------------------------


def _tiers(*, fallback: bool) -> Any:
    from components.edge_vcl import service_args

    options = EdgeOptions(
        service_name="t-tracker",
        standby=Fallback(origin("standby", shield="sjc-ca-us")),
        fallback=Fallback(origin("mirror", shield="sjc-ca-us"), path_prefixes=("/static/",)) if fallback else None,
        path_routes=(PathRoute("/ftp/", (origin("downloads-1"),)),),
    )
    return service_args(EdgeArgs(domains=("t.example.org",), origins=(origin("primary"),), options=options))


def test_a_standby_serves_only_when_the_primaries_are_sick_and_before_the_fallback() -> None:
    args = _tiers(fallback=True)
    conditions = {c.name: c for c in args.conditions}
    backends = {b.name: b for b in args.backends}
    assert conditions["standby"].statement == '(!req.backend.healthy || req.restarts > 0) && !(req.url.path ~ "^/ftp/")'
    assert conditions["fallback"].statement == (
        '(!req.backend.healthy || req.restarts > 1) && (req.url.path ~ "^/static/") && !(req.url.path ~ "^/ftp/")'
    )
    # Later conditions win: the fallback's priority is after the standby's.
    assert conditions["standby"].priority < conditions["fallback"].priority
    assert backends["standby"].request_condition == "standby" and backends["standby"].auto_loadbalance is False
    assert backends["standby"].shield == "sjc-ca-us"
    fetch = next(s for s in args.snippets if s.name == "serve-stale-fetch").content
    # Each retry moves one tier on, the second only where the fallback can answer.
    assert (
        '((req.method == "GET" || req.method == "HEAD") && ((req.restarts == 0 && !(req.url.path ~ "^/ftp/")) || '
        '(req.restarts == 1 && (req.url.path ~ "^/static/") && !(req.url.path ~ "^/ftp/"))))'
    ) in fetch
    assert [h.name for h in args.healthchecks] == [
        "primary-health",
        "downloads-1-health",
        "standby-health",
        "mirror-health",
    ]


def test_a_standby_alone_retries_once() -> None:
    args = _tiers(fallback=False)
    assert [c.name for c in args.conditions] == ["route /ftp/", "standby"]
    fetch = next(s for s in args.snippets if s.name == "serve-stale-fetch").content
    assert fetch.count("restart;") == 1 and "req.restarts == 0 &&" in fetch


def test_a_standby_named_like_another_origin_is_refused() -> None:
    with pytest.raises(ValueError, match="every origin"):
        EdgeArgs(
            domains=("t.example.org",),
            origins=(origin("primary"),),
            options=EdgeOptions(service_name="t", standby=Fallback(origin("primary"))),
        )
