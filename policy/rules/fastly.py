"""Fastly: TLS, HSTS, backends, stale content, shielding, logging, the origin shared secret; provider contracts.

Certificates: every domain of a service is on a TLS subscription (or declared external), every subscription
is validated and has its challenge records, no TlsActivation competes with a managed certificate.

The contract rules (after the security and reliability ones) encode what Fastly or its Terraform provider
refuses at apply time, or never reads back, that a mock accepts: a service with no backend cannot be
activated; a health check the origin refuses marks every backend sick; items on a write-only dictionary
cannot be managed; a dynamic snippet's inline content is never read back; a condition must exist to be
named; an active service cannot be deleted without ``force_destroy``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from policy.rules.base import (
    _S3_WEBSITE_HOST,
    ACME_CHALLENGE_PREFIX,
    CAA_ISSUERS,
    DNS_RECORD,
    EXTERNAL_CERTIFICATE_TAG,
    FASTLY_DICTIONARY_ITEMS,
    FASTLY_SERVICE,
    FASTLY_SNIPPET_CONTENT,
    HSTS_MIN_MAX_AGE,
    MAX_CERTIFICATE_DOMAINS,
    PSF_ORIGIN_DOMAIN,
    S3_WEBSITE_BACKEND,
    STANDBY_WAIVERS,
    SYNTHETICS_TEST,
    TLS_ACTIVATION,
    TLS_SUBSCRIPTION,
    TLS_VALIDATION,
    TOKEN_EXEMPT_PATHS,
    Finding,
    Resource,
    _ident,
    _is_secret,
    _items,
    _map,
    _maps,
    _number,
    _of,
    _str,
    _unverified,
    _violation,
    _waived,
    resource_rule,
    stack_rule,
)

_SECRET_NAME_RE: Final = re.compile(r"token|secret|passw|api[-_]?key|authorization", re.IGNORECASE)
# VCL that sets a secret-named request header to a string literal: `set req.http.Fastly-Token = "...";`.
_VCL_SECRET_LITERAL: Final = re.compile(
    r"set\s+(?:be)?req\.http\.[\w-]*(?:token|secret|passw|api[-_]?key|authorization)[\w-]*\s*=\s*(?:\"|\{\")",
    re.IGNORECASE,
)
# What the Fastly provider documents for logging_datadog.region: "One of US or EU" (pulumi-fastly 10).
DATADOG_LOG_REGIONS: Final = ("US", "EU")
XFF_VALUES: Final = ("clear", "leave", "append", "append_all", "overwrite")


def _headers(service: Resource) -> list[Mapping[str, Any]] | None:
    """The service's headers, or None when the whole list is secret (one secret value hides them all)."""
    headers = service.props.get("headers")
    return None if _is_secret(headers) else _maps(headers)


def _hidden_headers(service: Resource, what: str) -> Finding:
    return _unverified(
        service,
        f"cannot check {what}: `headers` is secret as a whole in the recording (a secret header value makes "
        "the whole list secret); CrossGuard checks it at preview. Set the token from a dynamic snippet whose "
        "content is its own secret resource, so the headers stay visible.",
    )


def _is_secret_header(header: Mapping[str, Any]) -> bool:
    return bool(_SECRET_NAME_RE.search(_str(header.get("name")) + " " + _str(header.get("destination"))))


def _backends(service: Resource) -> list[Mapping[str, Any]]:
    return _maps(service.props.get("backends"))


@resource_rule("fastly-force-tls", anchors=("ours",), enforcement="mandatory", types=(FASTLY_SERVICE,))
def _force_tls(service: Resource) -> Iterable[Finding]:
    """Every Fastly service redirects plain HTTP to HTTPS (a request setting with force_ssl)."""
    if any(s.get("forceSsl") is True for s in _maps(service.props.get("requestSettings"))):
        return
    yield _violation(service, "serves plain HTTP. Fix: request_settings=[{name: 'defaults', force_ssl: True}].")


@resource_rule("fastly-hsts", anchors=("ours",), enforcement="mandatory", types=(FASTLY_SERVICE,))
def _hsts(service: Resource) -> Iterable[Finding]:
    """Every Fastly service sends Strict-Transport-Security with a max-age of at least a year."""
    headers = _headers(service)
    if headers is None:
        yield _hidden_headers(service, "HSTS")
        return
    ages = []
    for h in headers:
        if _str(h.get("destination")).lower() == "http.strict-transport-security" and h.get("action") == "set":
            found = re.search(r"max-age=(\d+)", _str(h.get("source")))
            ages.append(int(found.group(1)) if found else 0)
    if not ages or max(ages) < HSTS_MIN_MAX_AGE:
        yield _violation(
            service,
            f"sends no HSTS header with max-age >= {HSTS_MIN_MAX_AGE} (found {ages or 'none'}). Fix: a response "
            "header set http.Strict-Transport-Security to '\"max-age=63072000; includeSubDomains; preload\"'.",
        )


@resource_rule("fastly-backend-healthcheck", anchors=("ours",), enforcement="advisory", types=(FASTLY_SERVICE,))
def _backend_healthcheck(service: Resource) -> Iterable[Finding]:
    """Every Fastly backend names a health check that the service defines."""
    hidden = _is_secret(service.props.get("healthchecks"))
    checks = {_str(h.get("name")) for h in _maps(service.props.get("healthchecks"))}
    unconfirmed = []
    for backend in _backends(service):
        check = _str(backend.get("healthcheck"))
        if check and hidden:
            unconfirmed.append(check)
        elif not check or check not in checks:
            yield _violation(
                service,
                f"backend {backend.get('name')!r} has no defined health check ({check or 'none'}), so Fastly "
                "cannot fail over. Fix: add a healthchecks entry and name it in the backend's healthcheck.",
            )
    if unconfirmed:
        yield _unverified(
            service,
            f"cannot confirm health checks {', '.join(unconfirmed)} exist: `healthchecks` is secret as a whole "
            "(a secret header in one check hides the list)",
        )


@resource_rule("fastly-backend-tls", anchors=("ours",), enforcement="mandatory", types=(FASTLY_SERVICE,))
def _backend_tls(service: Resource) -> Iterable[Finding]:
    """Every Fastly backend is reached over TLS with the certificate hostname checked (S3 website origins excepted)."""
    for backend in _backends(service):
        problems = []
        if backend.get("useSsl") is not True:
            problems.append("use_ssl is off")
        if not _str(backend.get("sslCertHostname")):
            problems.append("no ssl_cert_hostname")
        if backend.get("sslCheckCert") is False:
            problems.append("ssl_check_cert is off")
        if not problems:
            continue
        what = f"backend {backend.get('name')!r}: {', '.join(problems)}"
        if fnmatch.fnmatchcase(_str(backend.get("address")).lower(), _S3_WEBSITE_HOST):
            yield _waived(service, what, S3_WEBSITE_BACKEND)
        else:
            yield _violation(
                service,
                f"{what}. Fix: use_ssl=True, ssl_cert_hostname=<origin host>, ssl_sni_hostname=<origin host>.",
            )


@resource_rule("fastly-serve-stale", anchors=("ours",), enforcement="advisory", types=(FASTLY_SERVICE,))
def _serve_stale(service: Resource) -> Iterable[Finding]:
    """Every Fastly service serves stale content when the origin errors (stale_if_error or VCL)."""
    ttl = _number(service.props.get("staleIfErrorTtl"))
    vcl = " ".join(_str(s.get("content")) for s in _maps(service.props.get("snippets")))
    if not ((service.props.get("staleIfError") is True and (ttl is None or ttl > 0)) or "stale_if_error" in vcl):
        yield _violation(
            service, "shows errors when the origin fails. Fix: stale_if_error=True, stale_if_error_ttl=43200."
        )


@resource_rule("fastly-shielding", anchors=("ours",), enforcement="advisory", types=(FASTLY_SERVICE,))
def _shielding(service: Resource) -> Iterable[Finding]:
    """Every Fastly backend has a shield POP, so the origin sees one cache, not every POP."""
    for backend in _backends(service):
        if not _str(backend.get("shield")):
            yield _violation(
                service, f"backend {backend.get('name')!r} has no shield. Fix: shield=<POP near the origin>."
            )


@resource_rule("fastly-logging", anchors=("ours",), enforcement="advisory", types=(FASTLY_SERVICE,))
def _logging(service: Resource) -> Iterable[Finding]:
    """Every Fastly service ships request logs somewhere (S3, Datadog, syslog...)."""
    if not any(
        key.startswith("logging") and (_is_secret(value) or _items(value)) for key, value in service.props.items()
    ):
        yield _violation(
            service, "keeps no request logs. Fix: add logging_s3s (the CDN log bucket) or logging_datadogs."
        )


def _token_snippets(service: Resource) -> list[Mapping[str, Any]]:
    return [d for d in _maps(service.props.get("dynamicsnippets")) if _SECRET_NAME_RE.search(_str(d.get("name")))]


@resource_rule("fastly-origin-shared-secret", anchors=("ours",), enforcement="mandatory", types=(FASTLY_SERVICE,))
def _origin_shared_secret(service: Resource) -> Iterable[Finding]:
    """Every Fastly service with backends sends them a shared-secret request header, so they refuse direct traffic.

    The header is set by a request header whose name says token/secret, or by a dynamic snippet so named
    (whose content, a resource of its own, ``fastly-dynamic-snippet-managed`` checks).
    """
    if not _backends(service) or _token_snippets(service):
        return
    headers = _headers(service)
    if headers is None:
        yield _hidden_headers(service, "the origin shared-secret header")
        return
    if not any(h.get("type") == "request" and h.get("action") == "set" and _is_secret_header(h) for h in headers):
        yield _violation(
            service,
            "sends no shared-secret header, so its origins cannot tell Fastly from anyone. Fix: a dynamic "
            "snippet (recv) setting req.http.Fastly-Token, its content a ServiceDynamicSnippetContent holding "
            "the fastlyOriginToken secret.",
        )


@resource_rule(
    "no-plaintext-secrets",
    anchors=("ours",),
    enforcement="mandatory",
    types=(FASTLY_SERVICE, SYNTHETICS_TEST, FASTLY_SNIPPET_CONTENT),
)
def _no_plaintext_secrets(resource: Resource) -> Iterable[Finding]:
    """Header values named like a token, secret, password or key are Pulumi secrets, never plaintext."""
    pairs: list[tuple[str, Any]] = []
    if resource.type == FASTLY_SERVICE:
        pairs = [
            (_str(h.get("destination")) or _str(h.get("name")), h.get("source"))
            for h in (_headers(resource) or [])
            if _is_secret_header(h)
        ]
        # A snippet (regular or dynamic, inline) that writes a secret-named header from a literal.
        for key in ("snippets", "dynamicsnippets"):
            for snippet in _maps(resource.props.get(key)):
                if _VCL_SECRET_LITERAL.search(_str(snippet.get("content"))):
                    pairs.append((f"{key} {snippet.get('name')!r}", snippet.get("content")))
    elif resource.type == FASTLY_SNIPPET_CONTENT:
        content = resource.props.get("content")
        if _is_secret(content) or _VCL_SECRET_LITERAL.search(_str(content)):
            pairs = [("set by the dynamic snippet content", content)]
    else:
        headers = resource.props.get("requestHeaders")
        pairs = [(str(k), v) for k, v in _map(headers).items() if _SECRET_NAME_RE.search(str(k))]
    for name, value in pairs:
        if _is_secret(value) or "table.lookup(" in _str(value):
            continue
        if not resource.secrets_marked:
            yield _unverified(resource, f"cannot tell whether header {name} is a secret (policies see plaintext)")
            continue
        yield _violation(
            resource,
            f"header {name} holds a plaintext value that would land in the state file and previews. Fix: pass "
            "it as pulumi.Output.secret(...) from secret config.",
        )


# --- provider contracts ------------------------------------------------------------------------------------


@resource_rule("fastly-service-has-backend", anchors=("ours",), enforcement="mandatory", types=(FASTLY_SERVICE,))
def _service_has_backend(service: Resource) -> Iterable[Finding]:
    """Every Fastly service defines a backend: Fastly refuses to activate a service version without one."""
    if _is_secret(service.props.get("backends")) or _backends(service):
        return
    yield _violation(
        service,
        "has no backend, so Fastly refuses to activate any version of it (and `pulumi up` fails). Fix: serve a "
        "redirect-only domain from a service that has origins (EdgeArgs.redirects), as python.org's apex is.",
    )


def _is_psf_host(backend: Mapping[str, Any]) -> bool:
    name = _str(backend.get("sslCertHostname")).lower()
    return name == PSF_ORIGIN_DOMAIN or name.endswith("." + PSF_ORIGIN_DOMAIN)


def _carries_token(check: Mapping[str, Any]) -> bool:
    headers = check.get("headers")
    if _is_secret(headers):
        return True
    return any(_SECRET_NAME_RE.search(str(h).split(":", 1)[0]) for h in _items(headers))


@resource_rule("fastly-healthcheck-token-exempt", anchors=("ours",), enforcement="mandatory", types=(FASTLY_SERVICE,))
def _healthcheck_token_exempt(service: Resource) -> Iterable[Finding]:
    """A PSF host's health check probes a path its origin guard answers without the token, or carries the token.

    PSF hosts (certificate names under psf.io) refuse requests without the Fastly-Token except HAProxy's
    monitor URI; a probe of any other path without the token marks every backend sick.
    """
    checks = service.props.get("healthchecks")
    by_name = {_str(c.get("name")): c for c in _maps(checks)}
    for backend in _backends(service):
        name = _str(backend.get("healthcheck"))
        if not name or not _is_psf_host(backend):
            continue
        if _is_secret(checks):
            yield _unverified(service, f"cannot see backend {backend.get('name')!r}'s health check: the list is secret")
            continue
        check = by_name.get(name)
        if check is None or _carries_token(check) or _str(check.get("path")) in TOKEN_EXEMPT_PATHS:
            continue
        yield _violation(
            service,
            f"backend {backend.get('name')!r} ({backend.get('sslCertHostname')}) is probed at {check.get('path')!r} "
            "without the origin token, which the PSF's HAProxy refuses, so the backend is always sick and traffic "
            f"silently goes to the fallback. Fix: path {' or '.join(TOKEN_EXEMPT_PATHS)} (the monitor URI).",
        )


@resource_rule("fastly-private-origin-ca", anchors=("ours",), enforcement="advisory", types=(FASTLY_SERVICE,))
def _private_origin_ca(service: Resource) -> Iterable[Finding]:
    """A backend checking a PSF host's certificate trusts the PSF CA (ssl_ca_cert); public CAs never issued it."""
    for backend in _backends(service):
        if not _is_psf_host(backend) or "BEGIN CERTIFICATE" in _str(backend.get("sslCaCert")):
            continue
        yield _violation(
            service,
            f"backend {backend.get('name')!r} checks {backend.get('sslCertHostname')}, a certificate from the "
            "PSF's private CA, against Fastly's public CAs: the check fails and Fastly answers 503. Fix: set "
            "psfCaCertificate to the PEM of the CA the stack's Salt master uses (ssl_ca_cert).",
        )


# What a condition that hands a request to a standby or fallback tests: the backend picked so far is sick.
_TAKE_OVER: Final = "!req.backend.healthy"


@resource_rule("fastly-psf-origin-standby", anchors=("ours",), enforcement="mandatory", types=(FASTLY_SERVICE,))
def _psf_origin_standby(service: Resource) -> Iterable[Finding]:
    """In production a service with one PSF origin has a standby of the same role, used only while it is sick.

    Seed 004's bar: two servers per role, at least master/slave. The standby presents the primary's
    certificate name (it runs the same role), is outside the balanced pool (it has a request condition, no
    auto-load-balancing) and its condition tests ``!req.backend.healthy``; a static mirror, which presents
    its own name, is the last resort and does not count. A role whose software cannot run even a read-only
    standby is waived by name, with the role's reason.
    """
    if not service.is_prod:
        return
    if _is_secret(service.props.get("backends")) or _is_secret(service.props.get("conditions")):
        yield _unverified(service, "cannot see its backends or conditions: the list is secret")
        return
    backends = _backends(service)
    primaries = [b for b in backends if not _str(b.get("requestCondition"))]
    if len(primaries) != 1 or not _is_psf_host(primaries[0]):
        return
    role = _str(primaries[0].get("sslCertHostname"))
    conditions = {_str(c.get("name")): _str(c.get("statement")) for c in _maps(service.props.get("conditions"))}
    standbys = [
        b
        for b in backends
        if b is not primaries[0]
        and _str(b.get("sslCertHostname")) == role
        and b.get("autoLoadbalance") is not True
        and _TAKE_OVER in conditions.get(_str(b.get("requestCondition")), "")
    ]
    if standbys:
        return
    what = f"has one PSF origin ({primaries[0].get('name')!r}, {role}) and no standby of that role"
    name = _str(service.props.get("name"))
    waiver = next((w for w in STANDBY_WAIVERS if w.matches(name)), None)
    if waiver is not None:
        yield _waived(service, what, waiver)
        return
    yield _violation(
        service,
        f"{what}, so one sick host takes the service down (seed 004: at least master/slave). Fix: config "
        "psf-infra:standbys true (the settings refuse false in prod); in code, give the role a Standby "
        "(stacks/), which adds a backend under a condition on !req.backend.healthy; if the "
        "software cannot run even a read-only one, state it in the role's no_standby and add a StandbyWaiver.",
    )


def _service_ids(service: Resource) -> set[str]:
    ids = {service.id, _ident(service.outputs.get("id")), _ident(service.props.get("id"))}
    return {i for i in ids if i}


def _ids_of(value: Any) -> set[str]:
    ident = _ident(value)
    return {ident} if ident else set()


@stack_rule(
    "fastly-no-write-only-dictionary-items",
    anchors=("ours",),
    enforcement="mandatory",
    types=(FASTLY_SERVICE, FASTLY_DICTIONARY_ITEMS),
)
def _no_write_only_dictionary_items(resources: Sequence[Resource]) -> Iterable[Finding]:
    """No ServiceDictionaryItems manages a write-only dictionary: the provider does not support it (never converges)."""
    services = _of(resources, FASTLY_SERVICE)
    for items in _of(resources, FASTLY_DICTIONARY_ITEMS):
        service = next((s for s in services if _service_ids(s) & _ids_of(items.props.get("serviceId"))), None)
        if service is None:
            continue
        dictionaries = _maps(service.outputs.get("dictionaries")) or _maps(service.props.get("dictionaries"))
        private = [d for d in dictionaries if d.get("writeOnly") is True]
        if not private:
            continue
        wanted = _ident(items.props.get("dictionaryId"))
        target = next((d for d in dictionaries if wanted and _ident(d.get("dictionaryId")) == wanted), None)
        if target is None and len(private) != len(dictionaries):
            yield _unverified(items, "cannot tell which dictionary of its service it fills before the IDs are known")
            continue
        if target is None or target.get("writeOnly") is True:
            name = (target or private[0]).get("name")
            yield _violation(
                items,
                f"fills the write-only dictionary {name!r}, which the provider cannot read back, so every preview "
                "shows a change (service_dictionary_items.md, Limitations). Fix: put the value in a dynamic "
                "snippet's content (ServiceDynamicSnippetContent), or make the dictionary readable.",
            )


@stack_rule(
    "fastly-dynamic-snippet-managed",
    anchors=("ours",),
    enforcement="mandatory",
    types=(FASTLY_SERVICE, FASTLY_SNIPPET_CONTENT),
)
def _dynamic_snippet_managed(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every dynamic snippet gets its content from a ServiceDynamicSnippetContent that manages it, never inline.

    The provider never reads a dynamic snippet's inline content back (a diff on every preview), and ignores
    content changes unless manage_snippets is set, so a rotated secret would never reach Fastly.
    """
    contents = _of(resources, FASTLY_SNIPPET_CONTENT)
    for content in contents:
        if content.props.get("manageSnippets") is not True:
            yield _violation(
                content,
                "does not set manage_snippets, so the provider ignores every later change of its content (a "
                "rotated token never reaches Fastly). Fix: manage_snippets=True.",
            )
    for service in _of(resources, FASTLY_SERVICE):
        snippets = _maps(service.props.get("dynamicsnippets"))
        for snippet in snippets:
            if _str(snippet.get("content")):
                yield _violation(
                    service,
                    f"dynamic snippet {snippet.get('name')!r} has inline content, which the provider never reads "
                    "back (a change on every preview). Fix: give it a ServiceDynamicSnippetContent instead.",
                )
        if not snippets:
            continue
        ids = _service_ids(service)
        if not ids:
            yield _unverified(service, "cannot match its dynamic snippets to their content before its ID is known")
            continue
        mine = [c for c in contents if _ids_of(c.props.get("serviceId")) & ids]
        if len(mine) < len(snippets):
            names = ", ".join(repr(_str(s.get("name"))) for s in snippets)
            yield _violation(
                service,
                f"declares dynamic snippet(s) {names} but only {len(mine)} ServiceDynamicSnippetContent fill them; "
                "an empty snippet does nothing (an origin token that is never sent). Fix: one content resource "
                "per dynamic snippet, with the service's id and the snippet's snippet_id.",
            )


# Which condition type each referencing field needs (Fastly refuses a version naming an unknown condition).
_CONDITION_FIELDS: Final = {
    "requestCondition": "REQUEST",
    "responseCondition": "RESPONSE",
    "cacheCondition": "CACHE",
}
_CONDITION_USERS: Final = (
    "backends",
    "headers",
    "responseObjects",
    "requestSettings",
    "cacheSettings",
    "gzips",
    "loggingS3s",
    "loggingDatadogs",
    "loggingSyslogs",
)


@resource_rule("fastly-conditions-defined", anchors=("ours",), enforcement="mandatory", types=(FASTLY_SERVICE,))
def _conditions_defined(service: Resource) -> Iterable[Finding]:
    """Every condition a Fastly service names is defined on it, with the type that field needs."""
    if _is_secret(service.props.get("conditions")):
        return
    defined = {_str(c.get("name")): _str(c.get("type")).upper() for c in _maps(service.props.get("conditions"))}
    for key in _CONDITION_USERS:
        for entry in _maps(service.props.get(key)):
            for field_name, wanted in _CONDITION_FIELDS.items():
                name = _str(entry.get(field_name))
                if not name:
                    continue
                if name not in defined:
                    problem = "is not defined"
                elif defined[name] != wanted:
                    problem = f"is a {defined[name]} condition, not {wanted}"
                else:
                    continue
                yield _violation(
                    service,
                    f"{key} {entry.get('name')!r} names {field_name} {name!r}, which {problem}: Fastly refuses the "
                    f"version. Fix: add a conditions entry {{name: {name!r}, type: {wanted!r}}} or drop the reference.",
                )


@resource_rule("fastly-request-setting-xff", anchors=("ours",), enforcement="advisory", types=(FASTLY_SERVICE,))
def _request_setting_xff(service: Resource) -> Iterable[Finding]:
    """Every Fastly request setting sets xff: newer provider versions show a diff for ever when it is left out."""
    for setting in _maps(service.props.get("requestSettings")):
        if _str(setting.get("xff")) not in XFF_VALUES:
            yield _violation(
                service,
                f"request setting {setting.get('name')!r} leaves xff unset, so the provider reads back Fastly's "
                "value and shows a change on every preview (fastly/terraform-provider-fastly#1078). Fix: "
                "xff='append'.",
            )


@resource_rule("fastly-datadog-log-region", anchors=("ours",), enforcement="mandatory", types=(FASTLY_SERVICE,))
def _datadog_log_region(service: Resource) -> Iterable[Finding]:
    """Fastly's Datadog logging endpoints name a region the provider documents (US or EU)."""
    endpoints = service.props.get("loggingDatadogs")
    if _is_secret(endpoints):
        yield _unverified(service, "cannot see the Datadog logging region: `loggingDatadogs` is secret (its token)")
        return
    for endpoint in _maps(endpoints):
        region = _str(endpoint.get("region")) or "US"
        if region not in DATADOG_LOG_REGIONS:
            yield _violation(
                service,
                f"Datadog logging endpoint {endpoint.get('name')!r} has region {region!r}; the provider documents "
                f"{' and '.join(DATADOG_LOG_REGIONS)} only. Fix: derive it from datadogSite (datadoghq.com: US, "
                "datadoghq.eu: EU).",
            )


@resource_rule(
    "fastly-no-force-destroy-in-prod",
    anchors=("ours",),
    enforcement="mandatory",
    types=(FASTLY_SERVICE, TLS_SUBSCRIPTION),
)
def _no_force_destroy_in_prod(service: Resource) -> Iterable[Finding]:
    """In production no Fastly service or TLS subscription sets force_destroy: nothing active is deleted by accident.

    Without it Fastly refuses to delete a service that is active, or a subscription whose domains are active.
    """
    if service.is_prod and service.props.get("forceDestroy") is True:
        yield _violation(
            service,
            "sets forceDestroy in production, so removing it from the program deletes it while it serves (a "
            "live service, or the certificate of live names). Fix: force_destroy from settings.protect (off in "
            "prod).",
        )


@resource_rule(
    "fastly-force-destroy-outside-prod",
    anchors=("ours",),
    enforcement="advisory",
    types=(FASTLY_SERVICE, TLS_SUBSCRIPTION),
)
def _force_destroy_outside_prod(service: Resource) -> Iterable[Finding]:
    """Outside production every Fastly service and TLS subscription sets force_destroy, so `pulumi destroy` works."""
    if not service.is_prod and service.props.get("forceDestroy") is not True:
        yield _violation(
            service,
            f"leaves forceDestroy off in the {service.stack} stack, so `pulumi destroy` stops at it while it is "
            "active. Fix: force_destroy from settings.protect (on where nothing is protected).",
        )


# --- certificates at the edge (Fastly TLS subscriptions) ---------------------------------------------------


def _domains(subscription: Resource) -> list[str]:
    return [_str(d).lower().rstrip(".") for d in _items(subscription.props.get("domains")) if _str(d)]


def _covers(domains: Iterable[str], host: str) -> bool:
    """True when a certificate for ``domains`` is valid for ``host`` (a wildcard covers one label)."""
    parent = host.split(".", 1)[1] if "." in host else ""
    return any(d == host or (d.startswith("*.") and d[2:] == parent) for d in domains)


def _external_hosts(resources: Sequence[Resource]) -> set[str]:
    hosts: set[str] = set()
    for test in _of(resources, SYNTHETICS_TEST):
        request = _map(test.props.get("requestDefinition"))
        if test.props.get("subtype") == "ssl" and EXTERNAL_CERTIFICATE_TAG in _items(test.props.get("tags")):
            hosts.add(_str(request.get("host")).lower().rstrip("."))
    return hosts


@stack_rule(
    "fastly-tls-domains-covered",
    anchors=("ours",),
    enforcement="mandatory",
    types=(FASTLY_SERVICE, TLS_SUBSCRIPTION, SYNTHETICS_TEST),
)
def _tls_domains_covered(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every domain of every Fastly service has a certificate: a TLS subscription lists it, or it is declared external.

    A service that forces HTTPS for a name Fastly holds no certificate for answers every visitor with a
    certificate error. External means an SSL test of the name tagged ``certificate:external``.
    """
    subscriptions = _of(resources, TLS_SUBSCRIPTION)
    if any(_is_secret(s.props.get("domains")) for s in subscriptions):
        return
    covered = [d for s in subscriptions for d in _domains(s)]
    external = _external_hosts(resources)
    for service in _of(resources, FASTLY_SERVICE):
        for domain in _maps(service.props.get("domains")):
            host = _str(domain.get("name")).lower().rstrip(".")
            if host and not _covers(covered, host) and host not in external:
                yield _violation(
                    service,
                    f"serves {host} but no TLS subscription lists it, and no SSL test declares its certificate "
                    "external: Fastly has no certificate to present. Fix: give the service a ManagedCertificate "
                    "(EdgeOptions.certificate), or set ownership certificate:<service>=external.",
                )


def _subscription_ids(subscription: Resource) -> set[str]:
    ids = {subscription.id, _ident(subscription.outputs.get("id"))}
    return {i for i in ids if i and i != "[unknown]"}


@stack_rule(
    "fastly-tls-subscription-validated",
    anchors=("ours",),
    enforcement="mandatory",
    types=(TLS_SUBSCRIPTION, TLS_VALIDATION),
)
def _tls_subscription_validated(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every TLS subscription has a TlsSubscriptionValidation, so `pulumi up` waits until its certificate is issued.

    Without one, an up finishes while the certificate is still pending, and the names that DNS points at
    Fastly meanwhile serve certificate errors; a failed issuance goes unnoticed.
    """
    validations = _of(resources, TLS_VALIDATION)
    for subscription in _of(resources, TLS_SUBSCRIPTION):
        ids = _subscription_ids(subscription)
        by_id = [v for v in validations if _ident(v.props.get("subscriptionId")) in ids]
        by_name = [v for v in validations if v.name == f"{subscription.name}-validation"]
        if by_id or (not ids and by_name):
            continue
        if not ids:
            yield _unverified(subscription, "cannot match a validation to it before its ID is known")
            continue
        yield _violation(
            subscription,
            "has no TlsSubscriptionValidation, so `pulumi up` does not wait for its certificate. Fix: add "
            "fastly.TlsSubscriptionValidation(subscription_id=<subscription>.id), after its challenge records.",
        )


@stack_rule(
    "fastly-tls-challenge-records",
    anchors=("ours",),
    enforcement="mandatory",
    types=(TLS_SUBSCRIPTION, DNS_RECORD),
)
def _tls_challenge_records(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every domain of every TLS subscription has its ACME DNS-01 challenge: a CNAME at _acme-challenge.<domain>.

    Fastly validates (and every renewal revalidates) through that record; without it the subscription
    stays pending and its validation times out after 45 minutes.
    """
    answered = {
        _str(r.props.get("name")).lower().rstrip(".")
        for r in _of(resources, DNS_RECORD)
        if _str(r.props.get("type")).upper() == "CNAME"
    }
    for subscription in _of(resources, TLS_SUBSCRIPTION):
        for domain in _domains(subscription):
            name = ACME_CHALLENGE_PREFIX + domain.removeprefix("*.")
            if name not in answered:
                yield _violation(
                    subscription,
                    f"lists {domain} but the stack has no CNAME record {name}, so Fastly cannot validate it. Fix: "
                    "a record from the subscription's managed_dns_challenges in the zone holding the name.",
                )


@stack_rule(
    "fastly-no-activation-for-managed-certificates",
    anchors=("ours",),
    enforcement="mandatory",
    types=(TLS_SUBSCRIPTION, TLS_ACTIVATION),
)
def _no_activation_for_managed(resources: Sequence[Resource]) -> Iterable[Finding]:
    """No TlsActivation names a domain of a TLS subscription: Fastly activates managed certificates itself.

    A manual activation of such a domain fails with ``400 domain_id has already been taken``
    (tls_subscription.md; fastly/terraform-provider-fastly#1345).
    """
    managed = [d for s in _of(resources, TLS_SUBSCRIPTION) for d in _domains(s)]
    for activation in _of(resources, TLS_ACTIVATION):
        domain = _str(activation.props.get("domain")).lower().rstrip(".")
        if domain and domain in managed:
            yield _violation(
                activation,
                f"activates {domain}, whose certificate is a managed subscription that Fastly activates itself; "
                "the API refuses it (domain_id has already been taken). Fix: remove the TlsActivation.",
            )


@resource_rule(
    "fastly-tls-subscription-contract", anchors=("ours",), enforcement="mandatory", types=(TLS_SUBSCRIPTION,)
)
def _tls_subscription_contract(subscription: Resource) -> Iterable[Finding]:
    """A TLS subscription holds 1 to 100 lower-case domains, its common name among them, from a known authority.

    The provider refuses upper-case domains (Fastly would lower them and the plan would never converge);
    Let's Encrypt issues at most 100 names on a certificate; a common name outside the domains is refused.
    """
    raw = [_str(d) for d in _items(subscription.props.get("domains"))]
    if _is_secret(subscription.props.get("domains")):
        return
    authority = _str(subscription.props.get("certificateAuthority"))
    if authority not in CAA_ISSUERS:
        yield _violation(subscription, f"asks authority {authority!r}; Fastly offers {', '.join(CAA_ISSUERS)}.")
    if not raw or len(raw) > MAX_CERTIFICATE_DOMAINS:
        yield _violation(
            subscription,
            f"lists {len(raw)} domains; a certificate holds 1 to {MAX_CERTIFICATE_DOMAINS}. Fix: split the service.",
        )
    upper = [d for d in raw if d != d.lower()]
    if upper:
        yield _violation(
            subscription, f"lists upper-case domains {upper}, which the provider refuses. Fix: lower-case."
        )
    common = _str(subscription.props.get("commonName"))
    if common and common not in raw:
        yield _violation(subscription, f"names common name {common}, which is not one of its domains {raw}.")
