"""How :class:`~components.edge_spec.EdgeArgs` become the provider's ``ServiceVclArgs``: the VCL side of an edge.

Kept apart from :mod:`components.edge` so the translation, the part that has to match what Fastly and its
Terraform provider accept and read back, can be read in one place. Two provider behaviours shape it:

- A dynamic snippet's ``content`` given on the service is never read back (the provider's flatten skips
  it), which would show a diff on every preview; the content is a ``ServiceDynamicSnippetContent`` of its
  own instead, built from :func:`origin_token_vcl`.
- A request setting without ``xff`` is read back with whatever Fastly holds, so newer provider versions
  show a diff for ever (fastly/terraform-provider-fastly#1078); it is always set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import pulumi
import pulumi_fastly as fastly

from components.edge_spec import DatadogLogging, DomainRedirect, EdgeArgs, EdgeOptions, Fallback, Origin, S3Logging

# Text types worth compressing at the edge; images and archives are compressed already.
GZIP_CONTENT_TYPES: Final = (
    "text/html",
    "text/css",
    "text/plain",
    "text/xml",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/xml",
    "application/rss+xml",
    "application/atom+xml",
    "image/svg+xml",
)
GZIP_EXTENSIONS: Final = ("html", "css", "js", "json", "txt", "xml", "svg")

FALLBACK_CONDITION: Final = "fallback"
STANDBY_CONDITION: Final = "standby"
ORIGIN_TOKEN_SNIPPET: Final = "origin-token"
# What Fastly's request settings do with X-Forwarded-For: append the client, as the PSF's services do.
XFF: Final = "append"
# After the service-wide HSTS header (the provider's default priority is 100), so a redirect's own wins.
REDIRECT_HSTS_PRIORITY: Final = 110
_REASONS: Final = {301: "Moved Permanently", 302: "Found", 307: "Temporary Redirect", 308: "Permanent Redirect"}


def origin_token_vcl(token: pulumi.Input[str], header: str) -> pulumi.Output[str]:
    """The dynamic snippet that sets the origin token on every request; a secret, whatever ``token`` is."""
    return pulumi.Output.secret(token).apply(lambda value: f'set req.http.{header} = "{value}";')


def origin_token_snippet_id(snippets: Sequence[fastly.outputs.ServiceVclDynamicsnippet] | None) -> str:
    """The ID Fastly gave the origin-token dynamic snippet (empty before the service exists: mocks only)."""
    found = [s.snippet_id for s in snippets or () if s.name == ORIGIN_TOKEN_SNIPPET]
    return found[0] if found and found[0] else ""


def _regex_for_prefix(prefix: str) -> str:
    # VCL "..." strings have no backslash escapes, so the regex reaches PCRE exactly as written here.
    return "^" + re.escape(prefix)


def _path_match(regexes: Sequence[str]) -> str:
    return " || ".join(f'req.url.path ~ "{regex}"' for regex in regexes)


def _fallback_scope(options: EdgeOptions, tier: Fallback | None = None) -> str | None:
    """The VCL test for requests ``tier`` (by default the fallback) may serve; None: every primary request."""
    tier = tier if tier is not None else options.fallback
    assert tier is not None
    terms: list[str] = []
    wanted = [_regex_for_prefix(p) for p in tier.path_prefixes] + list(tier.path_regexes)
    if wanted:
        terms.append(f"({_path_match(wanted)})")
    routed = [_regex_for_prefix(route.prefix) for route in options.path_routes]
    if routed:
        # Path-routed traffic has origins of its own; the fallback mirrors the primaries only.
        terms.append(f"!({_path_match(routed)})")
    return " && ".join(terms) or None


def _tier_condition(options: EdgeOptions, index: int) -> str:
    """When tier ``index`` (0: the first to take over) serves: the backend chosen so far is sick, or the retry.

    Fastly runs request conditions in priority order, each setting the backend when it holds, so the last
    one that holds wins, and ``req.backend`` inside a condition is whatever the earlier ones chose: the
    fallback's test of it reads the standby's health once the standby has been picked. Each retry moves
    one tier on.
    """
    tier = options.fallback_tiers[index]
    scope = _fallback_scope(options, tier)
    return f"(!req.backend.healthy || req.restarts > {index})" + (f" && {scope}" if scope else "")


def _retry(options: EdgeOptions) -> str:
    """The restart that hands a failed GET or HEAD to the next tier; empty without one."""
    tiers = options.fallback_tiers
    if not tiers:
        return ""
    if len(tiers) == 1:
        scope = _fallback_scope(options, tiers[0])
        scoped = f" && {scope}" if scope else ""
        return (
            "\n  # No stale copy: retry once; req.restarts > 0 makes the fallback condition pick the fallback.\n"
            f'  if (req.restarts == 0 && (req.method == "GET" || req.method == "HEAD"){scoped}) {{\n'
            "    restart;\n"
            "  }"
        )
    steps = []
    for index, tier in enumerate(tiers):
        scope = _fallback_scope(options, tier)
        steps.append(f"(req.restarts == {index} && {scope})" if scope else f"req.restarts == {index}")
    return (
        "\n  # No stale copy: retry on the next tier (standby, then fallback) while one may serve the request.\n"
        f'  if ((req.method == "GET" || req.method == "HEAD") && ({" || ".join(steps)})) {{\n'
        "    restart;\n"
        "  }"
    )


def _health_check(origin: Origin, args: EdgeArgs) -> fastly.ServiceVclHealthcheckArgs:
    check = origin.health_check
    headers: list[pulumi.Input[str]] | None = None
    if check.send_origin_token and args.options.origin_token is not None:
        header = args.options.origin_token_header
        headers = [pulumi.Output.secret(args.options.origin_token).apply(lambda token: f"{header}: {token}")]
    return fastly.ServiceVclHealthcheckArgs(
        name=f"{origin.name}-health",
        host=check.host or origin.override_host or args.served_domains[0],
        path=check.path,
        method=check.method,
        check_interval=check.interval_ms,
        timeout=check.timeout_ms,
        threshold=check.threshold,
        window=check.window,
        initial=check.initial,
        expected_response=check.expected_status,
        headers=headers,
    )


def _backend(
    origin: Origin, *, auto_loadbalance: bool, request_condition: str | None = None
) -> fastly.ServiceVclBackendArgs:
    return fastly.ServiceVclBackendArgs(
        name=origin.name,
        address=origin.address,
        port=origin.port,
        use_ssl=True,
        ssl_check_cert=True,
        ssl_cert_hostname=origin.tls_hostname,
        ssl_sni_hostname=origin.tls_hostname,
        # Stripped: Fastly keeps the PEM as sent, and the PSF's live service sends it without a final newline.
        ssl_ca_cert=origin.ca_certificate.strip() if origin.ca_certificate else None,
        min_tls_version="1.2",
        override_host=origin.override_host,
        shield=origin.shield,
        healthcheck=f"{origin.name}-health",
        connect_timeout=origin.connect_timeout_ms,
        first_byte_timeout=origin.first_byte_timeout_ms,
        between_bytes_timeout=origin.between_bytes_timeout_ms,
        max_conn=origin.max_conn,
        error_threshold=origin.error_threshold,
        weight=origin.weight,
        auto_loadbalance=auto_loadbalance,
        request_condition=request_condition,
    )


def _stale_snippets(options: EdgeOptions) -> list[fastly.ServiceVclSnippetArgs]:
    # stale_if_error on the service only covers an unreachable origin; these also cover a 5xx answer.
    retry = _retry(options)
    fetch = (
        "# Serve the last good copy instead of an origin's 5xx answer.\n"
        "if (beresp.status >= 500 && beresp.status < 600) {\n"
        "  if (stale.exists) {\n"
        "    return(deliver_stale);\n"
        f"  }}{retry}\n"
        "}"
    )
    error = (
        "# Same for errors Fastly raises itself (origin unreachable, timed out).\n"
        "if (obj.status >= 500 && obj.status < 600) {\n"
        "  if (stale.exists) {\n"
        "    return(deliver_stale);\n"
        f"  }}{retry}\n"
        "}"
    )
    return [
        fastly.ServiceVclSnippetArgs(name="serve-stale-fetch", type="fetch", content=fetch, priority=50),
        fastly.ServiceVclSnippetArgs(name="serve-stale-error", type="error", content=error, priority=50),
    ]


def _hsts_header(name: str, value: str | None, condition: str | None = None) -> fastly.ServiceVclHeaderArgs:
    return fastly.ServiceVclHeaderArgs(
        name=name,
        type="response",
        action="set" if value is not None else "delete",
        destination="http.Strict-Transport-Security",
        source=f'"{value}"' if value is not None else None,
        response_condition=condition,
        priority=REDIRECT_HSTS_PRIORITY if condition else None,
    )


def _redirect(
    redirect: DomainRedirect,
) -> tuple[
    list[fastly.ServiceVclConditionArgs], fastly.ServiceVclResponseObjectArgs, list[fastly.ServiceVclHeaderArgs]
]:
    """One domain's redirect, as the live python.org service does its apex.

    A request condition on the Host answers with a synthetic response object; response headers under a
    response condition on the same Host add its Location (with the request path) and its own HSTS.
    """
    host = f'req.http.host == "{redirect.domain}"'
    asked, answered = f"redirect {redirect.domain}", f"redirected {redirect.domain}"
    conditions = [
        # Priority 1: decided before any routing condition, so a redirected domain never reaches a backend.
        fastly.ServiceVclConditionArgs(name=asked, type="REQUEST", statement=host, priority=1),
        fastly.ServiceVclConditionArgs(name=answered, type="RESPONSE", statement=host, priority=10),
    ]
    response = fastly.ServiceVclResponseObjectArgs(
        name=asked, status=redirect.status, response=_REASONS[redirect.status], request_condition=asked
    )
    headers = [
        fastly.ServiceVclHeaderArgs(
            name=f"redirect-location {redirect.domain}",
            type="response",
            action="set",
            destination="http.Location",
            source=f'"{redirect.to}" + req.url',
            response_condition=answered,
        ),
        _hsts_header(f"hsts {redirect.domain}", redirect.hsts, answered),
    ]
    return conditions, response, headers


def service_args(args: EdgeArgs) -> fastly.ServiceVclArgs:
    """Translate EdgeArgs into the provider's arguments (everything but the origin token's value)."""
    options = args.options
    backends: list[fastly.ServiceVclBackendArgs] = []
    conditions: list[fastly.ServiceVclConditionArgs] = []
    headers: list[fastly.ServiceVclHeaderArgs] = []
    response_objects: list[fastly.ServiceVclResponseObjectArgs] = []

    # Primaries carry no condition, so Fastly's automatic director balances them and uses them by default.
    backends += [_backend(o, auto_loadbalance=True) for o in args.origins]
    for route in options.path_routes:
        condition = f"route {route.prefix}"
        conditions.append(
            fastly.ServiceVclConditionArgs(
                name=condition, type="REQUEST", statement=_path_match([_regex_for_prefix(route.prefix)]), priority=10
            )
        )
        # Backends sharing a condition form their own automatic director.
        backends += [_backend(o, auto_loadbalance=True, request_condition=condition) for o in route.origins]
    named = ((STANDBY_CONDITION, options.standby), (FALLBACK_CONDITION, options.fallback))
    for index, (name, tier) in enumerate((name, tier) for name, tier in named if tier is not None):
        conditions.append(
            fastly.ServiceVclConditionArgs(
                name=name, type="REQUEST", statement=_tier_condition(options, index), priority=20 + index
            )
        )
        # Not auto-balanced: it must never join the primaries' pool, only win when its condition holds.
        backends.append(_backend(tier.origin, auto_loadbalance=False, request_condition=name))

    if options.hsts is not None:
        headers.append(_hsts_header("hsts", options.hsts))
    for redirect in args.redirects:
        redirect_conditions, response, redirect_headers = _redirect(redirect)
        conditions += redirect_conditions
        response_objects.append(response)
        headers += redirect_headers

    snippets = _stale_snippets(options)
    snippets += [
        fastly.ServiceVclSnippetArgs(name=s.name, type=s.type, content=s.content, priority=s.priority)
        for s in options.snippets
    ]
    # The token's value is not here: FastlyEdge gives this snippet its content (see the module docstring).
    dynamic_snippets = (
        [fastly.ServiceVclDynamicsnippetArgs(name=ORIGIN_TOKEN_SNIPPET, type="recv", priority=100)]
        if options.origin_token is not None
        else None
    )
    request_settings = [
        fastly.ServiceVclRequestSettingArgs(
            name="defaults", force_ssl=options.force_https, max_stale_age=options.max_stale_age, xff=XFF
        )
    ]
    gzips = (
        [
            fastly.ServiceVclGzipArgs(
                name="text", content_types=list(GZIP_CONTENT_TYPES), extensions=list(GZIP_EXTENSIONS)
            )
        ]
        if options.gzip
        else None
    )
    logging_s3s = [
        fastly.ServiceVclLoggingS3Args(
            name=f"s3-{entry.bucket_name}",
            bucket_name=entry.bucket_name,
            domain=f"s3.{entry.region}.amazonaws.com",
            s3_iam_role=entry.role_arn,
            path=entry.path or f"/{args.served_domains[0]}/%Y/%m/%d/",
            period=entry.period,
            compression_codec="gzip" if entry.gzip else None,
            server_side_encryption="AES256",
        )
        for entry in options.logging
        if isinstance(entry, S3Logging)
    ]
    logging_datadogs = [
        fastly.ServiceVclLoggingDatadogArgs(
            name="datadog", token=pulumi.Output.secret(entry.token), region=entry.region
        )
        for entry in options.logging
        if isinstance(entry, DatadogLogging)
    ]
    return fastly.ServiceVclArgs(
        name=options.service_name,
        comment="Managed by Pulumi: changes made in the Fastly UI are overwritten on the next deploy.",
        domains=[fastly.ServiceVclDomainArgs(name=d) for d in args.domains],
        backends=backends,
        healthchecks=[_health_check(o, args) for o in args.all_origins],
        conditions=conditions or None,
        headers=headers or None,
        snippets=snippets,
        dynamicsnippets=dynamic_snippets,
        response_objects=response_objects or None,
        request_settings=request_settings,
        gzips=gzips,
        logging_s3s=logging_s3s or None,
        logging_datadogs=logging_datadogs or None,
        stale_if_error=True,
        stale_if_error_ttl=options.stale_if_error_ttl,
        activate=options.activate,
        force_destroy=options.force_destroy,
    )
