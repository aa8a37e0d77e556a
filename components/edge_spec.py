"""The arguments of a Fastly edge: origins, health checks, routes, fallback, logging, redirects, DNS.

Every type here is a frozen dataclass validated when it is built, so a mistake fails with one line naming
the argument, the value and what is allowed, before any resource is registered. :mod:`components.edge`
re-exports all of them; import them from there.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi

from components.common import HOSTNAME as _HOSTNAME
from components.common import ZoneRef
from components.common import invalid as _fail
from components.edge_tls import MAX_DOMAINS, ManagedCertificate

HEALTH_CHECK_METHODS: Final = frozenset({"GET", "HEAD"})
SNIPPET_TYPES: Final = frozenset({"init", "recv", "hash", "hit", "miss", "pass", "fetch", "error", "deliver", "log"})
# What the Fastly provider documents for logging_datadog.region ("One of US or EU", pulumi-fastly 10).
DATADOG_LOG_REGIONS: Final = frozenset({"US", "EU"})
REDIRECT_STATUSES: Final = frozenset({301, 302, 307, 308})
# The longest HSTS max-age a redirect may send: ten years, what the live python.org apex sends.
MAX_REDIRECT_HSTS_AGE: Final = 315_360_000

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_HEADER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_POP = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PREFIX = re.compile(r"^/([A-Za-z0-9._~-]+/)+$")
_REDIRECT = re.compile(r"^https://(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
# The origin token is written into a VCL string literal, which cannot hold '"', and where '%' starts an
# escape; visible ASCII without those (and without backslash and braces) is safe in every VCL string form.
_TOKEN = re.compile(r"^[\x21\x23\x24\x26-\x5b\x5d-\x7a\x7c\x7e]{16,1024}$")
_PEM_BEGIN: Final = "-----BEGIN CERTIFICATE-----"
_PEM_END: Final = "-----END CERTIFICATE-----"


def _check_range(argument: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(argument, value, f"must be a whole number from {low} to {high}")


def _check_hostname(argument: str, value: object) -> None:
    if not isinstance(value, str) or not _HOSTNAME.match(value):
        raise _fail(argument, value, "must be a lower-case DNS name such as www.example.org")


def _check_name(argument: str, value: object) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise _fail(argument, value, "must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'")


@dataclass(frozen=True)
class HealthCheck:
    """How Fastly probes one origin. The defaults are the PSF's own (python.org and PyPI Terraform).

    ``initial`` 4 of ``window`` 5 with ``threshold`` 3 means a freshly added backend starts healthy instead
    of sending every request to the fallback until it has passed three probes. ``host`` is the Host header
    of the probe; by default the origin's ``override_host`` or else the service's first domain, which is the
    virtual host the origin actually serves. Point ``path`` at a cheap status page that the origin does not
    rate-limit, or the service flaps.

    Probes do not carry the origin token by default, so for an origin that refuses requests without it
    (``Origin.token_guard``) the path must be one the origin answers first, like HAProxy's monitor URI
    ``/_haproxy_status``; :class:`EdgeArgs` refuses any other. ``send_origin_token=True`` adds the token, at
    the price that the whole health-check list is then a secret (hidden from plans and policy checks).
    """

    path: str
    method: str = "HEAD"
    host: pulumi.Input[str] | None = None
    interval_ms: int = 15_000
    timeout_ms: int = 5_000
    threshold: int = 3
    window: int = 5
    initial: int = 4
    expected_status: int = 200
    send_origin_token: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path.startswith("/") or '"' in self.path or " " in self.path:
            raise _fail("HealthCheck.path", self.path, "must be a URL path starting with '/', such as /_health/")
        if self.method not in HEALTH_CHECK_METHODS:
            raise _fail("HealthCheck.method", self.method, "must be one of " + ", ".join(sorted(HEALTH_CHECK_METHODS)))
        if isinstance(self.host, str):
            _check_hostname("HealthCheck.host", self.host)
        _check_range("HealthCheck.interval_ms", self.interval_ms, 1_000, 3_600_000)
        if not isinstance(self.timeout_ms, int) or not 1 <= self.timeout_ms <= self.interval_ms:
            raise _fail("HealthCheck.timeout_ms", self.timeout_ms, f"must be 1 to interval_ms ({self.interval_ms})")
        _check_range("HealthCheck.window", self.window, 1, 64)
        if not isinstance(self.threshold, int) or not 1 <= self.threshold <= self.window:
            raise _fail("HealthCheck.threshold", self.threshold, f"must be 1 to window ({self.window})")
        if not isinstance(self.initial, int) or not 0 <= self.initial <= self.window:
            raise _fail("HealthCheck.initial", self.initial, f"must be 0 to window ({self.window})")
        _check_range("HealthCheck.expected_status", self.expected_status, 100, 599)


@dataclass(frozen=True)
class OriginTokenGuard:
    """The origin refuses every request without the service's origin token, except ``exempt_paths``.

    That is what the PSF's HAProxy ``frontend fastly`` does (psf-salt ``salt/haproxy``): it denies requests
    without a valid ``Fastly-Token`` and answers only its monitor URI before that check. Declaring the guard
    lets :class:`EdgeArgs` refuse a health check that the origin would always refuse, which would mark the
    backend sick and silently send everything to the fallback.
    """

    exempt_paths: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.exempt_paths, str) or not self.exempt_paths:
            raise _fail("OriginTokenGuard.exempt_paths", self.exempt_paths, "must be a non-empty tuple of URL paths")
        for path in self.exempt_paths:
            if not isinstance(path, str) or not path.startswith("/") or " " in path or '"' in path:
                raise _fail("OriginTokenGuard.exempt_paths", path, "must be URL paths such as /_haproxy_status")


@dataclass(frozen=True, kw_only=True)
class Origin:
    """One server (or load balancer) Fastly fetches from, always over TLS.

    ``tls_hostname`` is checked against the origin's certificate and sent as SNI, so it must be the name the
    certificate the origin presents really carries. ``ca_certificate`` (a PEM) is the CA that certificate
    chains to when it is not a public CA's, such as an organisation's private CA; None trusts Fastly's
    public CA bundle. ``token_guard`` says the origin refuses requests without the origin token.
    ``address`` may be an IP address or a host name (it may be an Output, e.g. a droplet's address).
    ``shield`` is the Fastly POP nearest the origin (e.g. ``iad-va-us``); every request then reaches the
    origin through that one POP, which multiplies the cache hit ratio. Timeouts are in milliseconds.
    """

    name: str
    address: pulumi.Input[str]
    tls_hostname: pulumi.Input[str]
    health_check: HealthCheck
    port: int = 443
    shield: str | None = None
    override_host: pulumi.Input[str] | None = None
    connect_timeout_ms: int = 1_000
    first_byte_timeout_ms: int = 15_000
    between_bytes_timeout_ms: int = 10_000
    max_conn: int = 200
    error_threshold: int = 5
    weight: int = 100
    ca_certificate: str | None = None
    token_guard: OriginTokenGuard | None = None

    def __post_init__(self) -> None:
        _check_name("Origin.name", self.name)
        if isinstance(self.address, str) and not self.address:
            raise _fail(f"Origin({self.name}).address", self.address, "must be an IP address or host name")
        if isinstance(self.tls_hostname, str):
            _check_hostname(f"Origin({self.name}).tls_hostname", self.tls_hostname)
        if isinstance(self.override_host, str):
            _check_hostname(f"Origin({self.name}).override_host", self.override_host)
        if not isinstance(self.health_check, HealthCheck):
            raise _fail(f"Origin({self.name}).health_check", self.health_check, "must be a HealthCheck")
        if self.shield is not None and not _POP.match(self.shield):
            raise _fail(
                f"Origin({self.name}).shield", self.shield, "must be a Fastly POP code such as iad-va-us, or None"
            )
        _check_range(f"Origin({self.name}).port", self.port, 1, 65_535)
        _check_range(f"Origin({self.name}).connect_timeout_ms", self.connect_timeout_ms, 1, 60_000)
        _check_range(f"Origin({self.name}).first_byte_timeout_ms", self.first_byte_timeout_ms, 1, 600_000)
        _check_range(f"Origin({self.name}).between_bytes_timeout_ms", self.between_bytes_timeout_ms, 1, 600_000)
        _check_range(f"Origin({self.name}).max_conn", self.max_conn, 1, 10_000)
        _check_range(f"Origin({self.name}).error_threshold", self.error_threshold, 0, 1_000)
        _check_range(f"Origin({self.name}).weight", self.weight, 1, 100)
        if self.ca_certificate is not None and not _is_one_pem_certificate(self.ca_certificate):
            shown = self.ca_certificate[:40] + "..." if isinstance(self.ca_certificate, str) else self.ca_certificate
            raise _fail(f"Origin({self.name}).ca_certificate", shown, f"must be one PEM certificate ({_PEM_BEGIN} ...)")
        if self.token_guard is not None and not isinstance(self.token_guard, OriginTokenGuard):
            raise _fail(f"Origin({self.name}).token_guard", self.token_guard, "must be an OriginTokenGuard or None")


def _is_one_pem_certificate(text: object) -> bool:
    # The full X.509 check belongs to whoever reads the PEM from configuration; this catches a wrong value.
    if not isinstance(text, str):
        return False
    stripped = text.strip()
    return (
        stripped.startswith(_PEM_BEGIN)
        and stripped.endswith(_PEM_END)
        and stripped.count(_PEM_BEGIN) == 1
        and stripped.count(_PEM_END) == 1
    )


def _check_prefix(argument: str, prefix: object) -> None:
    if not isinstance(prefix, str) or not _PREFIX.match(prefix) or prefix == "/":
        raise _fail(argument, prefix, "must be a URL path prefix that starts and ends with '/', such as /ftp/")


@dataclass(frozen=True)
class PathRoute:
    """Requests whose path starts with ``prefix`` (e.g. ``/ftp/``) go to ``origins`` instead of the primaries.

    Several origins in one route are load-balanced together, like the primaries.
    """

    prefix: str
    origins: tuple[Origin, ...]

    def __post_init__(self) -> None:
        _check_prefix("PathRoute.prefix", self.prefix)
        if not self.origins or not all(isinstance(o, Origin) for o in self.origins):
            raise _fail(f"PathRoute({self.prefix}).origins", self.origins, "must be a non-empty tuple of Origin")


@dataclass(frozen=True)
class Fallback:
    """An origin used only when every primary is unhealthy, or to retry once after a primary failed.

    By default it covers all traffic that goes to the primaries (never path-routed traffic). Limit it with
    ``path_prefixes`` (literal prefixes such as ``/simple/``) and/or ``path_regexes`` (anchored regular
    expressions on the URL path, such as ``^/pypi/[^/]+/json$``) when the fallback, say a static mirror,
    can only answer part of the site.
    """

    origin: Origin
    path_prefixes: tuple[str, ...] = ()
    path_regexes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, Origin):
            raise _fail("Fallback.origin", self.origin, "must be an Origin")
        for prefix in self.path_prefixes:
            _check_prefix("Fallback.path_prefixes", prefix)
        for regex in self.path_regexes:
            try:
                re.compile(regex)
            except (re.error, TypeError):
                raise _fail("Fallback.path_regexes", regex, "must be valid regular expressions") from None
            if not regex.startswith("^") or '"' in regex or "%" in regex:
                raise _fail("Fallback.path_regexes", regex, "must be anchored with '^' and contain no '\"' or '%'")


@dataclass(frozen=True, kw_only=True)
class S3Logging:
    """Fastly access logs to an S3 bucket, written with an IAM role Fastly assumes (no access keys).

    ``path`` defaults to ``/<first domain>/%Y/%m/%d/``; ``period`` is seconds per log file.
    """

    bucket_name: str
    region: str
    role_arn: pulumi.Input[str]
    path: str | None = None
    period: int = 3_600
    gzip: bool = True

    def __post_init__(self) -> None:
        if not _S3_BUCKET.match(self.bucket_name):
            raise _fail(
                "S3Logging.bucket_name", self.bucket_name, "must be an S3 bucket name (3-63 of a-z, 0-9, '.', '-')"
            )
        if not _AWS_REGION.match(self.region):
            raise _fail("S3Logging.region", self.region, "must be an AWS region such as us-east-1")
        if isinstance(self.role_arn, str) and not self.role_arn.startswith("arn:aws:iam::"):
            raise _fail(
                "S3Logging.role_arn", self.role_arn, "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
            )
        if self.path is not None and (not self.path.startswith("/") or not self.path.endswith("/")):
            raise _fail("S3Logging.path", self.path, "must start and end with '/', e.g. /www.example.org/%Y/%m/%d/")
        _check_range("S3Logging.period", self.period, 60, 86_400)


@dataclass(frozen=True, kw_only=True)
class DatadogLogging:
    """Fastly access logs to Datadog. ``token`` is a Datadog API key; it is always stored as a secret."""

    token: pulumi.Input[str]
    region: str = "US"

    def __post_init__(self) -> None:
        if self.region not in DATADOG_LOG_REGIONS:
            raise _fail(
                "DatadogLogging.region", self.region, "must be one of " + ", ".join(sorted(DATADOG_LOG_REGIONS))
            )
        if isinstance(self.token, str) and not self.token:
            raise _fail("DatadogLogging.token", "(empty)", "must be a Datadog API key")


EdgeLogging = S3Logging | DatadogLogging
"""Where a service's access logs go: an S3 bucket or Datadog."""


@dataclass(frozen=True)
class VclSnippet:
    """A piece of custom VCL, for the rare behaviour the provider has no field for. Keep it short."""

    name: str
    type: str
    content: str
    priority: int = 100

    def __post_init__(self) -> None:
        if not self.name or not self.content.strip():
            raise _fail("VclSnippet", (self.name, self.content[:40]), "must have a name and content")
        if self.type not in SNIPPET_TYPES:
            raise _fail(
                f"VclSnippet({self.name}).type", self.type, "must be one of " + ", ".join(sorted(SNIPPET_TYPES))
            )
        _check_range(f"VclSnippet({self.name}).priority", self.priority, 0, 1_000)


@dataclass(frozen=True, kw_only=True)
class EdgeOptions:
    """How a Fastly service behaves, independent of which origins and domains it has.

    The components that build their own origins (VM service, static site) take this; :class:`EdgeArgs`
    adds domains and origins to it.

    - ``service_name``: the service's globally unique physical name; derive it from the environment so
      staging and prod never collide.
    - ``origin_token`` / ``origin_token_header``: a shared secret Fastly adds to every origin request (and
      to health checks that ask for it), which the origin requires, so nobody can bypass the CDN. It lives
      in a dynamic VCL snippet whose content is a resource of its own
      (``ServiceDynamicSnippetContent``), a secret in Pulumi state, plans and recordings, so the rest of
      the service stays visible to reviews and policy checks; rotating it needs no new service version.
    - ``hsts_max_age`` (None: no header), ``hsts_include_subdomains``, ``hsts_preload``: preload is opt-in
      because leaving the browsers' preload list takes months.
    - ``stale_if_error_ttl``: how long a cached object may stand in for an origin error;
      ``max_stale_age``: the oldest object ever served stale.
    - ``standby``: a second server of the same software, used only while the primaries are unhealthy (or
      on the retry after a primary failed); it comes before ``fallback``, the static last resort, which then
      takes over only when the standby is unhealthy too (or on a second retry).
    - ``activate`` False uploads a new draft version without activating it, to review risky changes.
    - ``force_destroy``: let ``pulumi destroy`` delete the service while it is active (Fastly refuses
      otherwise). Set it only in throw-away stacks; False keeps a production service from being deleted by
      accident.
    - ``certificate``: a Fastly-managed certificate for every domain of the service
      (:class:`~components.edge_tls.ManagedCertificate`), with its ACME challenge records in each domain's
      zone; None when the certificate is made outside the component (or the service serves no HTTPS).
    """

    service_name: str
    origin_token: pulumi.Input[str] | None = None
    origin_token_header: str = "Fastly-Token"
    hsts_max_age: int | None = 31_536_000
    hsts_include_subdomains: bool = True
    hsts_preload: bool = False
    stale_if_error_ttl: int = 43_200
    max_stale_age: int = 86_400
    force_https: bool = True
    gzip: bool = True
    logging: tuple[EdgeLogging, ...] = ()
    fallback: Fallback | None = None
    standby: Fallback | None = None
    path_routes: tuple[PathRoute, ...] = ()
    snippets: tuple[VclSnippet, ...] = ()
    activate: bool = True
    force_destroy: bool = False
    certificate: ManagedCertificate | None = None

    def __post_init__(self) -> None:
        if self.certificate is not None and not isinstance(self.certificate, ManagedCertificate):
            raise _fail("EdgeOptions.certificate", self.certificate, "must be a ManagedCertificate or None")
        if not isinstance(self.service_name, str) or not re.fullmatch(
            r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,254}", self.service_name
        ):
            raise _fail(
                "EdgeOptions.service_name", self.service_name, "must be 1-255 letters, digits, ' ', '.', '_', '-'"
            )
        if not _HEADER.match(self.origin_token_header):
            raise _fail("EdgeOptions.origin_token_header", self.origin_token_header, "must be an HTTP header name")
        if isinstance(self.origin_token, str) and not _TOKEN.match(self.origin_token):
            raise _fail(
                "EdgeOptions.origin_token",
                "****",
                "must be 16-1024 visible ASCII characters without '\"', '%', '\\', '{' or '}' (it is a shared "
                "secret written into a VCL string)",
            )
        if self.hsts_max_age is not None:
            _check_range("EdgeOptions.hsts_max_age", self.hsts_max_age, 0, 63_072_000)
        if self.hsts_preload and not (
            self.hsts_max_age is not None and self.hsts_max_age >= 31_536_000 and self.hsts_include_subdomains
        ):
            raise _fail(
                "EdgeOptions.hsts_preload",
                True,
                "needs hsts_max_age >= 31536000 and hsts_include_subdomains=True (the preload list's rules)",
            )
        _check_range("EdgeOptions.stale_if_error_ttl", self.stale_if_error_ttl, 0, 31_536_000)
        _check_range("EdgeOptions.max_stale_age", self.max_stale_age, 0, 31_536_000)
        for entry in self.logging:
            if not isinstance(entry, S3Logging | DatadogLogging):
                raise _fail("EdgeOptions.logging", entry, "must be S3Logging or DatadogLogging entries")
        if sum(isinstance(entry, DatadogLogging) for entry in self.logging) > 1:
            raise _fail("EdgeOptions.logging", self.logging, "may name at most one DatadogLogging")
        prefixes = [route.prefix for route in self.path_routes]
        for prefix in prefixes:
            overlapping = [other for other in prefixes if other != prefix and other.startswith(prefix)]
            if overlapping or prefixes.count(prefix) > 1:
                raise _fail("EdgeOptions.path_routes", prefixes, "must not repeat or nest prefixes")
        names = [snippet.name for snippet in self.snippets]
        if len(set(names)) != len(names):
            raise _fail("EdgeOptions.snippets", names, "must have unique names")
        for argument, tier in (("standby", self.standby), ("fallback", self.fallback)):
            if tier is not None and not isinstance(tier, Fallback):
                raise _fail(f"EdgeOptions.{argument}", tier, "must be a Fallback or None")

    @property
    def fallback_tiers(self) -> tuple[Fallback, ...]:
        """What takes over from the primaries, in order: the standby, then the fallback."""
        return tuple(tier for tier in (self.standby, self.fallback) if tier is not None)

    @property
    def hsts(self) -> str | None:
        """The Strict-Transport-Security value the service sends, or None for none."""
        return _hsts_value(self.hsts_max_age, self.hsts_include_subdomains, self.hsts_preload)


@dataclass(frozen=True, kw_only=True)
class DomainRedirect:
    """One domain of a service that answers every request with a redirect instead of reaching an origin.

    E.g. the apex ``example.org`` answering ``301`` to ``https://www.example.org`` plus the request path, the
    way the live python.org service treats its apex (python/pythondotorg ``infra/cdn/main.tf``). A redirect
    is a domain of a service with origins, never a service of its own: Fastly does not activate a version
    that has no backend. HTTPS is forced first, on the same host, so the domain's own HSTS header is sent.

    ``hsts_max_age`` (None: the header is removed), ``hsts_include_subdomains``, ``hsts_preload``: the
    Strict-Transport-Security header on this domain's answers, replacing the service's. An apex usually
    must not claim ``includeSubDomains`` for names that are not all served over HTTPS.
    """

    domain: str
    to: str
    status: int = 301
    hsts_max_age: int | None = 31_536_000
    hsts_include_subdomains: bool = False
    hsts_preload: bool = False

    def __post_init__(self) -> None:
        _check_hostname("DomainRedirect.domain", self.domain)
        if not isinstance(self.to, str) or not _REDIRECT.match(self.to):
            raise _fail(f"DomainRedirect({self.domain}).to", self.to, "must be https://<host> with no path or '/'")
        if self.to == f"https://{self.domain}":
            raise _fail(f"DomainRedirect({self.domain}).to", self.to, "must not redirect a domain to itself")
        if self.status not in REDIRECT_STATUSES:
            allowed = ", ".join(str(s) for s in sorted(REDIRECT_STATUSES))
            raise _fail(f"DomainRedirect({self.domain}).status", self.status, f"must be one of {allowed}")
        if self.hsts_max_age is not None:
            _check_range(f"DomainRedirect({self.domain}).hsts_max_age", self.hsts_max_age, 0, MAX_REDIRECT_HSTS_AGE)

    @property
    def hsts(self) -> str | None:
        """The Strict-Transport-Security value this domain sends, or None for none."""
        return _hsts_value(self.hsts_max_age, self.hsts_include_subdomains, self.hsts_preload)


def _hsts_value(max_age: int | None, include_subdomains: bool, preload: bool) -> str | None:
    if max_age is None:
        return None
    value = f"max-age={max_age}"
    value += "; includeSubDomains" if include_subdomains else ""
    return value + ("; preload" if preload else "")


@dataclass(frozen=True, kw_only=True)
class EdgeArgs:
    """A complete Fastly service: its domains, its primary origins and how it behaves (``options``).

    ``origins`` are the primaries, load-balanced together by Fastly's automatic director; they should share
    one shield POP. Every service has at least one: Fastly activates no version without a backend.
    ``redirects`` turn some of the ``domains`` (an apex, an old name) into redirects to another host; at
    least one domain must still be served by the origins.
    """

    domains: tuple[str, ...]
    options: EdgeOptions
    origins: tuple[Origin, ...] = ()
    redirects: tuple[DomainRedirect, ...] = ()

    def __post_init__(self) -> None:
        if not self.domains:
            raise _fail("EdgeArgs.domains", self.domains, "must list at least one domain")
        for domain in self.domains:
            _check_hostname("EdgeArgs.domains", domain)
        if len(set(self.domains)) != len(self.domains):
            raise _fail("EdgeArgs.domains", self.domains, "must not repeat a domain")
        if not isinstance(self.options, EdgeOptions):
            raise _fail("EdgeArgs.options", self.options, "must be EdgeOptions")
        if not self.origins:
            raise _fail("EdgeArgs.origins", self.origins, "must list at least one origin (Fastly needs a backend)")
        if self.options.certificate is not None and len(self.domains) > MAX_DOMAINS:
            raise _fail(
                "EdgeArgs.domains",
                f"{len(self.domains)} domains",
                f"one managed certificate holds at most {MAX_DOMAINS} names; split the service",
            )
        self._check_redirects()
        names = [o.name for o in self.all_origins]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise _fail(
                "EdgeArgs origin names", duplicates, "every origin (primary, route, fallback) needs its own name"
            )
        _check_one_shield("EdgeArgs.origins", self.origins)
        for route in self.options.path_routes:
            _check_one_shield(f"PathRoute({route.prefix}).origins", route.origins)
        for origin in self.all_origins:
            self._check_token_guard(origin)

    def _check_redirects(self) -> None:
        redirected = [r.domain for r in self.redirects if isinstance(r, DomainRedirect)]
        if len(redirected) != len(self.redirects):
            raise _fail("EdgeArgs.redirects", self.redirects, "must be DomainRedirect entries")
        if len(set(redirected)) != len(redirected):
            raise _fail("EdgeArgs.redirects", redirected, "must not redirect a domain twice")
        strays = [d for d in redirected if d not in self.domains]
        if strays:
            raise _fail("EdgeArgs.redirects", strays, f"must be domains of the service ({', '.join(self.domains)})")
        if set(redirected) == set(self.domains):
            raise _fail("EdgeArgs.redirects", redirected, "must leave at least one domain served by the origins")

    def _check_token_guard(self, origin: Origin) -> None:
        guard = origin.token_guard
        if guard is None:
            return
        if self.options.origin_token is None:
            raise _fail(
                f"Origin({origin.name}).token_guard",
                guard.exempt_paths,
                "the origin refuses requests without the origin token, but EdgeOptions.origin_token is not set",
            )
        check = origin.health_check
        if not check.send_origin_token and check.path not in guard.exempt_paths:
            raise _fail(
                f"Origin({origin.name}).health_check.path",
                check.path,
                "the origin refuses it without the origin token, so the backend would always be sick: probe "
                f"{' or '.join(guard.exempt_paths)}, or set send_origin_token=True",
            )

    @property
    def served_domains(self) -> tuple[str, ...]:
        """The domains the origins serve (every domain that is not a redirect), in order."""
        redirected = {r.domain for r in self.redirects}
        return tuple(d for d in self.domains if d not in redirected)

    @property
    def all_origins(self) -> tuple[Origin, ...]:
        """Primaries, then path-routed origins, then the standby and the fallback."""
        routed = tuple(o for route in self.options.path_routes for o in route.origins)
        tiers = tuple(tier.origin for tier in self.options.fallback_tiers)
        return (*self.origins, *routed, *tiers)


def _check_one_shield(argument: str, origins: Sequence[Origin]) -> None:
    # Fastly groups load-balanced backends into one director, and a director has a single shield.
    shields = {o.shield for o in origins}
    if len(shields) > 1:
        raise _fail(argument, sorted(str(s) for s in shields), "origins balanced together must share one shield POP")


@dataclass(frozen=True)
class PublicHost:
    """A public host name and the Route 53 zone that holds its record."""

    host: str
    zone: ZoneRef

    def __post_init__(self) -> None:
        _check_hostname("PublicHost.host", self.host)
        self.zone.record_name(self.host)


@dataclass(frozen=True, kw_only=True)
class FastlyDnsTarget:
    """Where DNS sends a host name served by Fastly: the targets of the TLS configuration its certificate is on.

    Fastly assigns them per TLS configuration, so nothing here has a default: build one with
    :meth:`from_tls_configuration` from the configuration's ``dns_records`` (the provider's
    ``get_tls_configuration``). ``cname`` is for subdomains; apexes, which cannot carry a CNAME, get
    ``apex_ipv4`` and ``apex_ipv6``. A name pointed elsewhere than its certificate's configuration serves a
    certificate error. ``ttl`` is an hour rather than the PSF's day: moving a name off Fastly in an incident
    then takes effect within the hour, and the price, more queries for a target that rarely changes, is
    negligible.
    """

    cname: str
    apex_ipv4: tuple[str, ...] = ()
    apex_ipv6: tuple[str, ...] = ()
    ttl: int = 3_600

    def __post_init__(self) -> None:
        _check_hostname("FastlyDnsTarget.cname", self.cname)
        if not self.cname.endswith(".fastly.net"):
            raise _fail("FastlyDnsTarget.cname", self.cname, "must be a Fastly host name ending in .fastly.net")
        for argument, addresses, version in (("apex_ipv4", self.apex_ipv4, 4), ("apex_ipv6", self.apex_ipv6, 6)):
            if isinstance(addresses, str):
                raise _fail(f"FastlyDnsTarget.{argument}", addresses, "must be a tuple of addresses")
            for address in addresses:
                try:
                    valid = ipaddress.ip_address(address).version == version
                except ValueError:
                    valid = False
                if not valid:
                    raise _fail(f"FastlyDnsTarget.{argument}", address, f"must be IPv{version} addresses")
        if self.apex_ipv6 and not self.apex_ipv4:
            raise _fail("FastlyDnsTarget.apex_ipv4", self.apex_ipv4, "must list addresses when apex_ipv6 does")
        _check_range("FastlyDnsTarget.ttl", self.ttl, 60, 172_800)

    @classmethod
    def from_tls_configuration(
        cls, configuration: str, records: Sequence[tuple[str, str, str]], *, region: str = "global", ttl: int = 3_600
    ) -> FastlyDnsTarget:
        """The targets of one region of a TLS configuration, from its ``(record_type, record_value, region)`` records.

        ``configuration`` names it in errors. A CNAME record set holds one value, so the region must offer
        exactly one CNAME; A records are required (apexes), AAAA ones used when offered.
        """
        mine = [(kind.upper(), value.strip().rstrip(".").lower()) for kind, value, where in records if where == region]
        cnames = sorted({value for kind, value in mine if kind == "CNAME"})
        regions = ", ".join(sorted({where for _, _, where in records})) or "none"
        if len(cnames) != 1:
            raise _fail(
                f"TLS configuration {configuration} dns_records",
                cnames,
                f"must offer exactly one CNAME target in region {region!r} (its regions: {regions})",
            )
        ipv4 = tuple(sorted({v for k, v in mine if k == "A"}, key=ipaddress.ip_address))
        ipv6 = tuple(sorted({v for k, v in mine if k == "AAAA"}, key=ipaddress.ip_address))
        if not ipv4:
            raise _fail(
                f"TLS configuration {configuration} dns_records",
                [k for k, _ in mine],
                f"must offer A records in region {region!r} for the zone apexes",
            )
        return cls(cname=cnames[0], apex_ipv4=ipv4, apex_ipv6=ipv6, ttl=ttl)


@dataclass(frozen=True)
class MovedRecords:
    """Where a host's DNS records were registered before: their logical-name prefix and their parent's URN.

    Route 53 refuses to create a record that already exists, and Pulumi creates before it deletes, so the
    records of a host that moves to another edge must carry their old URNs over as aliases, never be
    replaced. Build ``parent_urn`` with ``pulumi.resource.create_urn`` from the old parent's name and type.
    """

    resource_name: str
    parent_urn: pulumi.Input[str]


@dataclass(frozen=True)
class EdgeDns:
    """Public host names to point at a Fastly service, where to point them, and which records moved here."""

    hosts: tuple[PublicHost, ...]
    target: FastlyDnsTarget
    moved: Mapping[str, MovedRecords] = field(default_factory=dict)
