"""Fastly: TLS, HSTS, backends, stale content, shielding, logging, the origin shared secret."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from policy.rules.base import (
    _S3_WEBSITE_HOST,
    FASTLY_SERVICE,
    HSTS_MIN_MAX_AGE,
    S3_WEBSITE_BACKEND,
    SYNTHETICS_TEST,
    Finding,
    Resource,
    _is_secret,
    _items,
    _map,
    _maps,
    _number,
    _str,
    _unverified,
    _violation,
    _waived,
    resource_rule,
)

_SECRET_NAME_RE: Final = re.compile(r"token|secret|passw|api[-_]?key|authorization", re.IGNORECASE)


def _headers(service: Resource) -> list[Mapping[str, Any]] | None:
    """The service's headers, or None when the whole list is secret (one secret value hides them all)."""
    headers = service.props.get("headers")
    return None if _is_secret(headers) else _maps(headers)


def _hidden_headers(service: Resource, what: str) -> Finding:
    return _unverified(
        service,
        f"cannot check {what}: `headers` is secret as a whole in the recording (a secret header value makes "
        "the whole list secret); CrossGuard checks it at preview. Keep the token in an edge dictionary "
        "(source table.lookup(...)) so the headers stay visible.",
    )


def _is_secret_header(header: Mapping[str, Any]) -> bool:
    return bool(_SECRET_NAME_RE.search(_str(header.get("name")) + " " + _str(header.get("destination"))))


def _backends(service: Resource) -> list[Mapping[str, Any]]:
    return _maps(service.props.get("backends"))


@resource_rule("fastly-force-tls", anchors=("ours",), enforcement="mandatory", types=(FASTLY_SERVICE,))
def _force_tls(service: Resource) -> Iterable[Finding]:
    """Every Fastly service redirects plain HTTP to HTTPS: force_ssl, or (redirect-only) a 3xx to an https:// URL."""
    if any(s.get("forceSsl") is True for s in _maps(service.props.get("requestSettings"))):
        return
    if _redirects_to_https(service):
        return
    yield _violation(service, "serves plain HTTP. Fix: request_settings=[{name: 'defaults', force_ssl: True}].")


def _redirects_to_https(service: Resource) -> bool:
    """A redirect-only service (no backends) answering with a 3xx whose Location is an https:// URL."""
    if _backends(service):
        return False
    statuses = {_number(o.get("status")) for o in _maps(service.props.get("responseObjects"))}
    if not statuses & {301.0, 302.0, 307.0, 308.0}:
        return False
    return any(
        _str(h.get("destination")).lower() == "http.location" and _str(h.get("source")).startswith('"https://')
        for h in _headers(service) or []
    )


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


@resource_rule("fastly-origin-shared-secret", anchors=("ours",), enforcement="mandatory", types=(FASTLY_SERVICE,))
def _origin_shared_secret(service: Resource) -> Iterable[Finding]:
    """Every Fastly service with backends sends them a shared-secret request header, so they refuse direct traffic."""
    if not _backends(service):
        return
    headers = _headers(service)
    if headers is None:
        yield _hidden_headers(service, "the origin shared-secret header")
        return
    if not any(h.get("type") == "request" and h.get("action") == "set" and _is_secret_header(h) for h in headers):
        yield _violation(
            service,
            "sends no shared-secret header, so its origins cannot tell Fastly from anyone. Fix: a request header "
            "setting http.Fastly-Token from the fastlyOriginToken secret.",
        )


@resource_rule(
    "no-plaintext-secrets", anchors=("ours",), enforcement="mandatory", types=(FASTLY_SERVICE, SYNTHETICS_TEST)
)
def _no_plaintext_secrets(resource: Resource) -> Iterable[Finding]:
    """Header values named like a token, secret, password or key are Pulumi secrets, never plaintext."""
    if resource.type == FASTLY_SERVICE:
        pairs = [
            (_str(h.get("destination")) or _str(h.get("name")), h.get("source"))
            for h in (_headers(resource) or [])
            if _is_secret_header(h)
        ]
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
            "it as pulumi.Output.secret(...) from secret config (or an edge-dictionary lookup).",
        )
