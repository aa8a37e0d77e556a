"""A Fastly edge in front of one or more TLS origins, and the Route 53 records that send a host name to it.

One :class:`FastlyEdge` is one ``fastly.ServiceVcl``. It is the only place the estate describes Fastly, so a
VM service, a static site and an app hosted elsewhere all get the same origin TLS checks, health checks,
HSTS, stale-on-error behaviour and fallback logic. Everything is a typed, validated argument: the component
names no host of its own.

Providers: every component in this package takes the provider instances it needs as keyword-only
arguments named after the cloud (``fastly_provider``, ``aws_provider``, ``do_provider``), typed with the
SDK's ``Provider`` class. Default providers are disabled in this project, so nothing here ever falls back
to ambient credentials.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_aws as aws
import pulumi_fastly as fastly

from components.common import HOSTNAME as _HOSTNAME
from components.common import ZoneRef
from components.common import invalid as _fail

EDGE_TYPE: Final = "infra:edge:FastlyEdge"

# Fastly anycast addresses for zone apexes, which cannot carry a CNAME: the set the PSF's pypi/infra
# Terraform gives its apex records (reference/psf-real-infra.md). Fastly assigns apex addresses per TLS
# configuration, so an account on another configuration passes its own set in FastlyDnsTarget.
FASTLY_ANYCAST_IPV4: Final = ("151.101.0.223", "151.101.64.223", "151.101.128.223", "151.101.192.223")
FASTLY_ANYCAST_IPV6: Final = ("2a04:4e42::223", "2a04:4e42:200::223", "2a04:4e42:400::223", "2a04:4e42:600::223")

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

HEALTH_CHECK_METHODS: Final = frozenset({"GET", "HEAD"})
SNIPPET_TYPES: Final = frozenset({"init", "recv", "hash", "hit", "miss", "pass", "fetch", "error", "deliver", "log"})
DATADOG_LOG_REGIONS: Final = frozenset({"US", "EU"})

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_HEADER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_POP = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PREFIX = re.compile(r"^/([A-Za-z0-9._~-]+/)+$")
_REDIRECT = re.compile(r"^https://(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")


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

    Probes do not carry the origin token by default: like the PSF's ``/_haproxy_status``, the probe path
    should be answered before the token is checked. ``send_origin_token=True`` adds it, at the price that the
    whole health-check list is then a secret (hidden from plans and tests).
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


@dataclass(frozen=True, kw_only=True)
class Origin:
    """One server (or load balancer) Fastly fetches from, always over TLS.

    ``tls_hostname`` is checked against the origin's certificate and sent as SNI, so the origin must present
    a certificate for it. ``address`` may be an IP address or a host name (it may be an Output, e.g. a
    droplet's address). ``shield`` is the Fastly POP nearest the origin (e.g. ``iad-va-us``); every request
    then reaches the origin through that one POP, which multiplies the cache hit ratio. Timeouts are in
    milliseconds.
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
      to health checks that ask for it), which the origin requires, so nobody can bypass the CDN. It is kept
      in a write-only edge dictionary, never in the VCL, and is a secret in Pulumi state.
    - ``hsts_max_age`` (None: no header), ``hsts_include_subdomains``, ``hsts_preload``: preload is opt-in
      because leaving the browsers' preload list takes months.
    - ``stale_if_error_ttl``: how long a cached object may stand in for an origin error;
      ``max_stale_age``: the oldest object ever served stale.
    - ``activate`` False uploads a new draft version without activating it, to review risky changes.
    - ``force_destroy`` False: an active service cannot be deleted by accident.
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
    path_routes: tuple[PathRoute, ...] = ()
    snippets: tuple[VclSnippet, ...] = ()
    activate: bool = True
    force_destroy: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.service_name, str) or not re.fullmatch(
            r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,254}", self.service_name
        ):
            raise _fail(
                "EdgeOptions.service_name", self.service_name, "must be 1-255 letters, digits, ' ', '.', '_', '-'"
            )
        if not _HEADER.match(self.origin_token_header):
            raise _fail("EdgeOptions.origin_token_header", self.origin_token_header, "must be an HTTP header name")
        if isinstance(self.origin_token, str) and len(self.origin_token) < 16:
            raise _fail("EdgeOptions.origin_token", "****", "must be at least 16 characters (it is a shared secret)")
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


@dataclass(frozen=True, kw_only=True)
class EdgeArgs:
    """A complete Fastly service: its domains, its primary origins and how it behaves (``options``).

    ``origins`` are the primaries, load-balanced together by Fastly's automatic director; they should share
    one shield POP. ``redirect_to`` (e.g. ``https://www.example.org``) makes a redirect-only service instead:
    every request is answered ``301`` to that URL plus the request path, and it must have no origins.
    """

    domains: tuple[str, ...]
    options: EdgeOptions
    origins: tuple[Origin, ...] = ()
    redirect_to: str | None = None

    def __post_init__(self) -> None:
        if not self.domains:
            raise _fail("EdgeArgs.domains", self.domains, "must list at least one domain")
        for domain in self.domains:
            _check_hostname("EdgeArgs.domains", domain)
        if len(set(self.domains)) != len(self.domains):
            raise _fail("EdgeArgs.domains", self.domains, "must not repeat a domain")
        if not isinstance(self.options, EdgeOptions):
            raise _fail("EdgeArgs.options", self.options, "must be EdgeOptions")
        if self.redirect_to is not None:
            if not _REDIRECT.match(self.redirect_to):
                raise _fail(
                    "EdgeArgs.redirect_to", self.redirect_to, "must be https://<host> with no path or trailing '/'"
                )
            if self.origins or self.options.fallback or self.options.path_routes:
                raise _fail(
                    "EdgeArgs.redirect_to",
                    self.redirect_to,
                    "a redirect service must have no origins, fallback or routes",
                )
        elif not self.origins:
            raise _fail("EdgeArgs.origins", self.origins, "must list at least one origin (or set redirect_to)")
        names = [o.name for o in self.all_origins]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise _fail(
                "EdgeArgs origin names", duplicates, "every origin (primary, route, fallback) needs its own name"
            )
        _check_one_shield("EdgeArgs.origins", self.origins)
        for route in self.options.path_routes:
            _check_one_shield(f"PathRoute({route.prefix}).origins", route.origins)

    @property
    def all_origins(self) -> tuple[Origin, ...]:
        """Primaries, then path-routed origins, then the fallback."""
        routed = tuple(o for route in self.options.path_routes for o in route.origins)
        fallback = (self.options.fallback.origin,) if self.options.fallback else ()
        return (*self.origins, *routed, *fallback)


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
    """Where DNS sends a host name served by Fastly.

    ``cname`` (for subdomains) has no default on purpose: Fastly assigns it per account and TLS
    configuration (e.g. ``dualstack.<x>.map.fastly.net`` or ``dualstack.<x>.sni.global.fastly.net``), and a
    wrong one serves a certificate error. Apexes get ``apex_ipv4``/``apex_ipv6``, Fastly's anycast set.
    ``ttl`` is an hour rather than the PSF's day: moving a name off Fastly in an incident then takes effect
    within the hour, and the price, more queries for a target that rarely changes, is negligible.
    """

    cname: str
    apex_ipv4: tuple[str, ...] = FASTLY_ANYCAST_IPV4
    apex_ipv6: tuple[str, ...] = FASTLY_ANYCAST_IPV6
    ttl: int = 3_600

    def __post_init__(self) -> None:
        _check_hostname("FastlyDnsTarget.cname", self.cname)
        if not self.cname.endswith(".fastly.net"):
            raise _fail("FastlyDnsTarget.cname", self.cname, "must be a Fastly host name ending in .fastly.net")
        for argument, addresses, version in (("apex_ipv4", self.apex_ipv4, 4), ("apex_ipv6", self.apex_ipv6, 6)):
            for address in addresses:
                try:
                    valid = ipaddress.ip_address(address).version == version
                except ValueError:
                    valid = False
                if not valid:
                    raise _fail(f"FastlyDnsTarget.{argument}", address, f"must be IPv{version} addresses")
        if not self.apex_ipv4:
            raise _fail("FastlyDnsTarget.apex_ipv4", self.apex_ipv4, "must list at least one address")
        _check_range("FastlyDnsTarget.ttl", self.ttl, 60, 172_800)


@dataclass(frozen=True)
class EdgeDns:
    """Public host names to point at a Fastly service, and where to point them."""

    hosts: tuple[PublicHost, ...]
    target: FastlyDnsTarget


def point_hosts_at_fastly(
    resource_name: str,
    hosts: Sequence[PublicHost],
    target: FastlyDnsTarget,
    *,
    parent: pulumi.Resource,
    aws_provider: aws.Provider,
    depends_on: Sequence[pulumi.Resource] = (),
) -> list[aws.route53.Record]:
    """Create the Route 53 records sending each host to Fastly: a CNAME, or anycast A and AAAA at an apex.

    Records are children of ``parent`` and their logical names start with ``resource_name`` and contain
    the host, so two callers never collide and reordering ``hosts`` changes nothing.
    """
    opts = pulumi.ResourceOptions(parent=parent, provider=aws_provider, depends_on=list(depends_on))
    records: list[aws.route53.Record] = []
    for public in hosts:
        name = public.zone.record_name(public.host)
        if public.zone.is_apex(public.host):
            answers = (("a", "A", target.apex_ipv4), ("aaaa", "AAAA", target.apex_ipv6))
        else:
            answers = (("cname", "CNAME", (target.cname,)),)
        for suffix, kind, values in answers:
            if not values:
                continue
            records.append(
                aws.route53.Record(
                    f"{resource_name}-{public.host}-{suffix}",
                    zone_id=public.zone.zone_id,
                    name=name,
                    type=kind,
                    ttl=target.ttl,
                    records=list(values),
                    opts=opts,
                )
            )
    return records


class FastlyEdge(pulumi.ComponentResource):
    """One Fastly VCL service in front of TLS origins, optionally with the DNS records that point at it.

    Behaviour, from :class:`EdgeArgs`: one backend per origin (TLS with certificate check and SNI, shield,
    timeouts, connection cap and its own health check); the primaries load-balanced; path routes; a fallback
    origin used only when the primaries are down (or on the single retry after a primary failed); HSTS;
    HTTPS forced; stale content served instead of origin errors; text compressed; access logs; and the
    origin shared-secret header, kept secret.

    Attributes: ``service`` (the ServiceVcl), ``service_id``, ``active_version``, ``domains``,
    ``dns_records`` (empty without ``dns``), ``origin_token_items`` (the write-only dictionary items holding
    the origin token, or None).
    """

    service: fastly.ServiceVcl
    service_id: pulumi.Output[str]
    active_version: pulumi.Output[int]
    domains: tuple[str, ...]
    dns_records: list[aws.route53.Record]
    origin_token_items: fastly.ServiceDictionaryItems | None

    def __init__(
        self,
        name: str,
        args: EdgeArgs,
        *,
        fastly_provider: fastly.Provider,
        dns: EdgeDns | None = None,
        aws_provider: aws.Provider | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(args, EdgeArgs):
            raise _fail("FastlyEdge args", args, "must be EdgeArgs")
        if dns is not None:
            if aws_provider is None:
                raise _fail("FastlyEdge aws_provider", None, "is required when dns is given (records live in Route 53)")
            strays = [h.host for h in dns.hosts if h.host not in args.domains]
            if strays:
                raise _fail(
                    "FastlyEdge dns.hosts", strays, f"must be domains of the service ({', '.join(args.domains)})"
                )
        super().__init__(EDGE_TYPE, name, None, opts)
        fastly_opts = pulumi.ResourceOptions(parent=self, provider=fastly_provider)
        self.domains = args.domains
        self.service = fastly.ServiceVcl(f"{name}-vcl", _service_args(args), opts=fastly_opts)
        self.service_id = self.service.id
        self.active_version = self.service.active_version
        self.origin_token_items = None
        if args.options.origin_token is not None:
            self.origin_token_items = fastly.ServiceDictionaryItems(
                f"{name}-origin-token",
                service_id=self.service.id,
                dictionary_id=self.service.dictionaries.apply(_origin_secrets_id),
                items={ORIGIN_TOKEN_KEY: pulumi.Output.secret(args.options.origin_token)},
                manage_items=True,
                opts=fastly_opts,
            )
        self.dns_records = []
        if dns is not None and aws_provider is not None:
            # Traffic arrives only once DNS points here, so wait until the origin token is in place.
            ready = [self.origin_token_items] if self.origin_token_items is not None else []
            self.dns_records = point_hosts_at_fastly(
                f"{name}-dns", dns.hosts, dns.target, parent=self, aws_provider=aws_provider, depends_on=ready
            )
        self.register_outputs(
            {"service_id": self.service_id, "active_version": self.active_version, "domains": list(self.domains)}
        )


def _origin_secrets_id(dictionaries: Sequence[fastly.outputs.ServiceVclDictionary] | None) -> str:
    # Fastly assigns the id when the service version is created; an empty id only ever reaches the mocks.
    found = [d.dictionary_id for d in dictionaries or () if d.name == ORIGIN_SECRETS]
    return found[0] if found and found[0] else ""


def _regex_for_prefix(prefix: str) -> str:
    # VCL "..." strings have no backslash escapes, so the regex reaches PCRE exactly as written here.
    return "^" + re.escape(prefix)


def _path_match(regexes: Sequence[str]) -> str:
    return " || ".join(f'req.url.path ~ "{regex}"' for regex in regexes)


def _fallback_scope(options: EdgeOptions) -> str | None:
    """The VCL test for requests the fallback may serve, or None when it may serve every primary request."""
    assert options.fallback is not None
    terms: list[str] = []
    wanted = [_regex_for_prefix(p) for p in options.fallback.path_prefixes] + list(options.fallback.path_regexes)
    if wanted:
        terms.append(f"({_path_match(wanted)})")
    routed = [_regex_for_prefix(route.prefix) for route in options.path_routes]
    if routed:
        # Path-routed traffic has origins of its own; the fallback mirrors the primaries only.
        terms.append(f"!({_path_match(routed)})")
    return " && ".join(terms) or None


def _health_check(origin: Origin, args: EdgeArgs) -> fastly.ServiceVclHealthcheckArgs:
    check = origin.health_check
    headers: list[pulumi.Input[str]] | None = None
    if check.send_origin_token and args.options.origin_token is not None:
        header = args.options.origin_token_header
        headers = [pulumi.Output.secret(args.options.origin_token).apply(lambda token: f"{header}: {token}")]
    return fastly.ServiceVclHealthcheckArgs(
        name=f"{origin.name}-health",
        host=check.host or origin.override_host or args.domains[0],
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


FALLBACK_CONDITION: Final = "fallback"
ORIGIN_SECRETS: Final = "origin_secrets"
ORIGIN_TOKEN_KEY: Final = "token"


def _stale_snippets(options: EdgeOptions) -> list[fastly.ServiceVclSnippetArgs]:
    # stale_if_error on the service only covers an unreachable origin; these also cover a 5xx answer.
    retry = ""
    if options.fallback is not None:
        scope = _fallback_scope(options)
        scoped = f" && {scope}" if scope else ""
        retry = (
            "\n  # No stale copy: retry once; req.restarts > 0 makes the fallback condition pick the fallback.\n"
            f'  if (req.restarts == 0 && (req.method == "GET" || req.method == "HEAD"){scoped}) {{\n'
            "    restart;\n"
            "  }"
        )
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


def _service_args(args: EdgeArgs) -> fastly.ServiceVclArgs:
    """Translate EdgeArgs into the provider's arguments."""
    options = args.options
    backends: list[fastly.ServiceVclBackendArgs] = []
    conditions: list[fastly.ServiceVclConditionArgs] = []
    headers: list[fastly.ServiceVclHeaderArgs] = []
    snippets: list[fastly.ServiceVclSnippetArgs] = []
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
    if options.fallback is not None:
        scope = _fallback_scope(options)
        statement = "(!req.backend.healthy || req.restarts > 0)" + (f" && {scope}" if scope else "")
        conditions.append(
            fastly.ServiceVclConditionArgs(name=FALLBACK_CONDITION, type="REQUEST", statement=statement, priority=20)
        )
        # Not auto-balanced: it must never join the primaries' pool, only win when its condition holds.
        backends.append(_backend(options.fallback.origin, auto_loadbalance=False, request_condition=FALLBACK_CONDITION))

    if options.hsts_max_age is not None:
        hsts = f"max-age={options.hsts_max_age}"
        hsts += "; includeSubDomains" if options.hsts_include_subdomains else ""
        hsts += "; preload" if options.hsts_preload else ""
        headers.append(
            fastly.ServiceVclHeaderArgs(
                name="hsts",
                type="response",
                action="set",
                destination="http.Strict-Transport-Security",
                source=f'"{hsts}"',
            )
        )
    if options.origin_token is not None:
        # The value lives in a write-only edge dictionary (FastlyEdge adds it), not in the VCL: it never shows
        # in the Fastly UI or a VCL download, and rotating it needs no new service version.
        headers.append(
            fastly.ServiceVclHeaderArgs(
                name="origin-token",
                type="request",
                action="set",
                destination=f"http.{options.origin_token_header}",
                source=f'table.lookup({ORIGIN_SECRETS}, "{ORIGIN_TOKEN_KEY}", "")',
            )
        )

    if args.redirect_to is not None:
        conditions.append(
            fastly.ServiceVclConditionArgs(name="redirect", type="REQUEST", statement='req.url ~ "^/"', priority=10)
        )
        response_objects.append(
            fastly.ServiceVclResponseObjectArgs(
                name="redirect", status=301, response="Moved Permanently", request_condition="redirect"
            )
        )
        headers.append(
            fastly.ServiceVclHeaderArgs(
                name="redirect-location",
                type="response",
                action="set",
                destination="http.Location",
                source=f'"{args.redirect_to}" + req.url',
            )
        )
    else:
        snippets += _stale_snippets(options)

    snippets += [
        fastly.ServiceVclSnippetArgs(name=s.name, type=s.type, content=s.content, priority=s.priority)
        for s in options.snippets
    ]
    # A redirect service answers plain HTTP with its 301 directly: one hop instead of two.
    force_ssl = options.force_https and args.redirect_to is None
    request_settings = [
        fastly.ServiceVclRequestSettingArgs(name="defaults", force_ssl=force_ssl, max_stale_age=options.max_stale_age)
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
            path=entry.path or f"/{args.domains[0]}/%Y/%m/%d/",
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
        backends=backends or None,
        healthchecks=[_health_check(o, args) for o in args.all_origins] or None,
        conditions=conditions or None,
        headers=headers or None,
        snippets=snippets or None,
        response_objects=response_objects or None,
        request_settings=request_settings,
        gzips=gzips,
        logging_s3s=logging_s3s or None,
        logging_datadogs=logging_datadogs or None,
        stale_if_error=True,
        stale_if_error_ttl=options.stale_if_error_ttl,
        dictionaries=(
            [fastly.ServiceVclDictionaryArgs(name=ORIGIN_SECRETS, write_only=True)]
            if options.origin_token is not None
            else None
        ),
        activate=options.activate,
        force_destroy=options.force_destroy,
    )
