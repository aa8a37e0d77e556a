"""The policy pack's foundations, which every provider module of this package builds on.

The resource view, findings, rules and their registry, the documented exceptions, and small helpers over
engine values (plain dicts or CrossGuard's proxies).
"""

from __future__ import annotations

import fnmatch
import inspect
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

SECRET: Final = "[secret]"
"""How a secret input appears in a recording (``offline.recorder.SECRET``)."""

PROD_STACK: Final = "prod"
HSTS_MIN_MAX_AGE: Final = 31_536_000
"""One year: the shortest HSTS max-age the preload list accepts."""

Enforcement = Literal["mandatory", "advisory"]
ENFORCEMENT_LEVELS: Final[tuple[Enforcement, ...]] = ("mandatory", "advisory")
Status = Literal["violation", "waived", "unverified"]

# Resource type tokens, as the engine (and CrossGuard's ``args.resource_type``) spells them.
STACK: Final = "pulumi:pulumi:Stack"
STACK_REFERENCE: Final = "pulumi:pulumi:StackReference"
DROPLET: Final = "digitalocean:index/droplet:Droplet"
FIREWALL: Final = "digitalocean:index/firewall:Firewall"
VOLUME: Final = "digitalocean:index/volume:Volume"
DB_CLUSTER: Final = "digitalocean:index/databaseCluster:DatabaseCluster"
DB_REPLICA: Final = "digitalocean:index/databaseReplica:DatabaseReplica"
DB_FIREWALL: Final = "digitalocean:index/databaseFirewall:DatabaseFirewall"
SPACES_BUCKET: Final = "digitalocean:index/spacesBucket:SpacesBucket"
ZONE: Final = "aws:route53/zone:Zone"
DNS_RECORD: Final = "aws:route53/record:Record"
ZONE_DNSSEC: Final = "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec"
QUERY_LOG: Final = "aws:route53/queryLog:QueryLog"
FASTLY_SERVICE: Final = "fastly:index/serviceVcl:ServiceVcl"
FASTLY_DICTIONARY_ITEMS: Final = "fastly:index/serviceDictionaryItems:ServiceDictionaryItems"
FASTLY_SNIPPET_CONTENT: Final = "fastly:index/serviceDynamicSnippetContent:ServiceDynamicSnippetContent"
VPC: Final = "digitalocean:index/vpc:Vpc"
DO_PROJECT: Final = "digitalocean:index/project:Project"
PROJECT_RESOURCES: Final = "digitalocean:index/projectResources:ProjectResources"
RESERVED_IP: Final = "digitalocean:index/reservedIp:ReservedIp"
DO_TAG: Final = "digitalocean:index/tag:Tag"
SYNTHETICS_TEST: Final = "datadog:index/syntheticsTest:SyntheticsTest"
TLS_SUBSCRIPTION: Final = "fastly:index/tlsSubscription:TlsSubscription"
TLS_VALIDATION: Final = "fastly:index/tlsSubscriptionValidation:TlsSubscriptionValidation"
TLS_ACTIVATION: Final = "fastly:index/tlsActivation:TlsActivation"
MONITOR: Final = "datadog:index/monitor:Monitor"
GANDI_NAMESERVERS: Final = "gandi:domains/nameservers:Nameservers"
GANDI_DNSSEC_KEY: Final = "gandi:domains/dNSSecKey:DNSSecKey"


def _s3(name: str, *, v2: bool = True) -> tuple[str, ...]:
    # pulumi-aws v7 keeps the deprecated ``...V2`` tokens as aliases of the same resources.
    token = name[0].lower() + name[1:]
    tokens = (f"aws:s3/{token}:{name}",)
    return (*tokens, f"aws:s3/{token}V2:{name}V2") if v2 else tokens


BUCKET: Final = _s3("Bucket")
PUBLIC_ACCESS_BLOCK: Final = _s3("BucketPublicAccessBlock", v2=False)
OWNERSHIP_CONTROLS: Final = _s3("BucketOwnershipControls", v2=False)
BUCKET_ACL: Final = _s3("BucketAcl")
BUCKET_POLICY: Final = _s3("BucketPolicy", v2=False)
BUCKET_SSE: Final = _s3("BucketServerSideEncryptionConfiguration")
BUCKET_VERSIONING: Final = _s3("BucketVersioning")
BUCKET_LIFECYCLE: Final = _s3("BucketLifecycleConfiguration")
BUCKET_LOGGING: Final = _s3("BucketLogging")
BUCKET_WEBSITE: Final = _s3("BucketWebsiteConfiguration")

# Where the PSF's hosts meet Fastly (psf-salt): certificates for <role>.psf.io from the Salt master's private
# CA (pillar/base/tls.sls), and a Fastly frontend that refuses requests without the Fastly-Token except
# HAProxy's monitor URI (salt/haproxy). A backend checking a psf.io name is such a host.
PSF_ORIGIN_DOMAIN: Final = "psf.io"
TOKEN_EXEMPT_PATHS: Final = ("/_haproxy_status",)

# Certificates at the edge (components.edge_tls, stacks/tls.py): a DNS-01 challenge lives at this name, a
# Fastly authority is allowed by the CAA issuer domain mapped here, and a Datadog SSL test says who owns the
# certificate it watches with a `certificate:` tag (`certificate:external`: made outside the program).
ACME_CHALLENGE_PREFIX: Final = "_acme-challenge."
CAA_ISSUERS: Final = {"lets-encrypt": "letsencrypt.org", "globalsign": "globalsign.com", "certainly": "certainly.com"}
EXTERNAL_CERTIFICATE_TAG: Final = "certificate:external"
CERTIFICATE_WARNING_TAG: Final = "certificate-check:warning"
MAX_CERTIFICATE_DOMAINS: Final = 100

STATEFUL_TYPES: Final = (ZONE, VOLUME, DB_CLUSTER, DB_REPLICA, RESERVED_IP)
"""Always stateful. Buckets are stateful when tagged (:data:`STATEFUL_TAG`)."""
STATEFUL_TAG: Final = ("stateful", "true")
STATIC_SITE_TAG: Final = ("static-site", "true")


# --- the resource view ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """One resource as a rule sees it, whichever adapter built it.

    ``props`` are the inputs as the engine received them (camelCase wire names); ``outputs`` the state the
    provider returned, when known (IDs for cross-resource matching). ``retain_on_delete`` and ``custom`` are
    None where the adapter cannot see them (CrossGuard passes neither); ``ignore_changes`` lists the input
    names (as the engine spells them) whose changes the program tells Pulumi to ignore; ``dependencies`` the
    URNs of the resources it depends on (known at preview, when computed values are not).
    ``secrets_marked`` is True when secret values appear as ``"[secret]"`` (recordings); CrossGuard hands
    policies plaintext with no mark of secretness (pulumi/pulumi-policy#241), so secret checks report
    ``unverified`` there.
    """

    type: str
    name: str
    urn: str
    props: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None
    protect: bool = False
    retain_on_delete: bool | None = False
    provider: str | None = None
    custom: bool | None = True
    secrets_marked: bool = True
    ignore_changes: tuple[str, ...] | None = ()
    dependencies: tuple[str, ...] = ()

    @property
    def stack(self) -> str:
        """The stack name from the URN (``urn:pulumi:<stack>::<project>::<type>::<name>``)."""
        return self.urn.split("::", 1)[0].removeprefix("urn:pulumi:")

    @property
    def is_prod(self) -> bool:
        """True in the production stack; every other stack (staging, test) is non-prod."""
        return self.stack == PROD_STACK

    @property
    def label(self) -> str:
        """``Firewall 'web-fw'``: how messages name the resource."""
        return f"{self.type.rsplit(':', 1)[-1]} '{self.name}'"


@dataclass(frozen=True)
class Finding:
    """What a check found on one resource: a violation, a waived one (with the waiver's id) or unverifiable."""

    urn: str
    message: str
    status: Status = "violation"
    waiver: str | None = None


Check = Callable[[Resource], Iterable[Finding]]
StackCheck = Callable[[Sequence[Resource]], Iterable[Finding]]

_NAME_RE: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Rule:
    """A policy: name (kebab-case, unique), anchors, enforcement, the types it reads and one check.

    Exactly one of ``check`` (per resource, called only for ``resource_types``; empty means every type)
    and ``stack_check`` (the whole list of resources) is set.
    """

    name: str
    description: str
    anchors: tuple[str, ...]
    enforcement: Enforcement
    resource_types: tuple[str, ...]
    check: Check | None = None
    stack_check: StackCheck | None = None

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"rule name {self.name!r} is not kebab-case")
        if not self.anchors:
            raise ValueError(f"rule {self.name} has no anchor; use ('ours',) when no scanner has one")
        if self.enforcement not in ENFORCEMENT_LEVELS:
            raise ValueError(f"rule {self.name}: enforcement {self.enforcement!r} not in {ENFORCEMENT_LEVELS}")
        if (self.check is None) == (self.stack_check is None):
            raise ValueError(f"rule {self.name} needs exactly one of check and stack_check")

    @property
    def is_stack_rule(self) -> bool:
        """True when the rule needs every resource at once."""
        return self.stack_check is not None

    def applies_to(self, resource_type: str) -> bool:
        """Whether the per-resource check reads this type (never the stack or provider instances)."""
        if resource_type == STACK or resource_type.startswith("pulumi:providers:"):
            return False
        return not self.resource_types or resource_type in self.resource_types

    def findings(self, resources: Sequence[Resource]) -> list[Finding]:
        """Every finding of this rule over ``resources`` (one resource or a whole stack)."""
        if self.stack_check is not None:
            return list(self.stack_check(resources))
        assert self.check is not None
        return [f for r in resources if self.applies_to(r.type) for f in self.check(r)]

    def violations(self, resources: Sequence[Resource]) -> list[Finding]:
        """Only the findings that are violations (not waived, not unverifiable)."""
        return [f for f in self.findings(resources) if f.status == "violation"]


# --- exceptions: data, each with its reason -----------------------------------------------------------


@dataclass(frozen=True)
class FirewallWaiver:
    """A DigitalOcean firewall rule open to the whole internet on purpose.

    Matches a rule of ``direction`` whose ``protocol`` is one of ``protocols``, whose ``portRange`` is
    exactly one of ``ports`` (``""`` for ICMP, which has none), on a firewall whose ``name`` matches the
    glob ``firewall_name`` (case-insensitive).
    """

    id: str
    direction: Literal["inbound", "outbound"]
    protocols: tuple[str, ...]
    ports: tuple[str, ...]
    firewall_name: str
    reason: str

    @property
    def rule(self) -> str:
        """The rule this waiver relaxes."""
        return "do-firewall-no-public-inbound" if self.direction == "inbound" else "do-firewall-no-open-egress"

    def matches(self, direction: str, firewall_name: str, protocol: str, port: str) -> bool:
        """True when this waiver covers that firewall rule."""
        return (
            direction == self.direction
            and protocol in self.protocols
            and port in self.ports
            and fnmatch.fnmatchcase(firewall_name.lower(), self.firewall_name.lower())
        )


@dataclass(frozen=True)
class StandbyWaiver:
    """A Fastly service whose one PSF origin has no standby on purpose: the role says why the software cannot.

    Matches a service whose ``name`` matches the glob ``service_name`` (case-insensitive).
    """

    id: str
    service_name: str
    reason: str

    @property
    def rule(self) -> str:
        """The rule this waiver relaxes."""
        return "fastly-psf-origin-standby"

    def matches(self, service_name: str) -> bool:
        """True when this waiver covers that Fastly service."""
        return fnmatch.fnmatchcase(service_name.lower(), self.service_name.lower())


@dataclass(frozen=True)
class Waiver:
    """Any other documented exception: which rule, to what it applies (in words), and why."""

    id: str
    rule: str
    applies_to: str
    reason: str


FIREWALL_WAIVERS: Final = (
    FirewallWaiver(
        "public-smtp", "inbound", ("tcp",), ("25",), "*mail*",
        "mail.python.org's Postfix receives list mail from every mail server on the internet; SMTP cannot be "
        "put behind Fastly.",
    ),
    FirewallWaiver(
        "pythontest-direct-web", "inbound", ("tcp",), ("80", "443"), "*pythontest*",
        "CPython's test suite talks to pythontest.net directly (raw host, its own certificates and odd "
        "responses); it must not sit behind Fastly.",
    ),
    FirewallWaiver(
        "buildbot-worker-port", "inbound", ("tcp",), ("9020",), "*buildbot*",
        "volunteer Buildbot workers connect from arbitrary addresses to the master's worker port (Perspective "
        "Broker, not HTTP), which Fastly cannot front.",
    ),
    FirewallWaiver(
        "icmp-in", "inbound", ("icmp",), ("",), "*",
        "ICMP carries path-MTU discovery (IPv6 needs Packet Too Big) and ping diagnostics; no service listens.",
    ),
    FirewallWaiver(
        "egress-web", "outbound", ("tcp",), ("80", "443"), "*",
        "Ubuntu mirrors, PyPI, ACME certificate renewal and the Datadog agent's intake are public HTTP(S) "
        "endpoints with no stable address list.",
    ),
    FirewallWaiver(
        "egress-dns", "outbound", ("udp", "tcp"), ("53",), "*",
        "recursive DNS resolution (DigitalOcean's resolvers and the root servers).",
    ),
    FirewallWaiver(
        "egress-ntp", "outbound", ("udp",), ("123",), "*",
        "time synchronisation; TLS, DNSSEC and Kerberos-style tokens fail on skewed clocks.",
    ),
    FirewallWaiver(
        "egress-smtp", "outbound", ("tcp",), ("25",), "*mail*",
        "Postfix delivers list mail to the recipients' mail servers anywhere on the internet.",
    ),
    FirewallWaiver(
        "icmp-out", "outbound", ("icmp",), ("",), "*",
        "ICMP replies and path-MTU discovery.",
    ),
)  # fmt: skip

STATIC_SITE_WEBSITE: Final = Waiver(
    "static-site-website",
    "s3-website-static-sites-only",
    'buckets tagged static-site: "true"',
    "www.jython.org and the static mirrors are served from the S3 website endpoint behind Fastly; website "
    "hosting is what those buckets are for.",
)
STATIC_SITE_HTTP_ORIGIN: Final = Waiver(
    "static-site-http-origin",
    "s3-policy-deny-insecure-transport",
    'buckets tagged static-site: "true"',
    "S3 website endpoints speak HTTP only; Fastly terminates TLS for visitors, and a deny-non-TLS statement "
    "would refuse Fastly's origin fetches. Their policy admits reads from Fastly's ranges only.",
)
S3_WEBSITE_BACKEND: Final = Waiver(
    "s3-website-backend-http",
    "fastly-backend-tls",
    "Fastly backends whose address is an S3 website endpoint (*.s3-website*.amazonaws.com)",
    "S3 website endpoints have no HTTPS; the content is public static files, and visitors still get TLS from Fastly.",
)
LOG_BUCKET_NOT_LOGGED: Final = Waiver(
    "log-bucket-not-logged",
    "s3-access-logging",
    "buckets that receive S3 access logs or Fastly logs",
    "logging access to a log bucket would log the log deliveries themselves (a loop, or twice the storage); "
    "log buckets are write-only targets.",
)

CERTIFICATE_WARNING_NO_PAGE: Final = Waiver(
    "certificate-warning-no-page",
    "datadog-prod-pages-on-call",
    f'synthetics tests tagged "{CERTIFICATE_WARNING_TAG}"',
    "a Datadog synthetic test has no warning state, so a certificate's 30-day warning is a test of its own; "
    "warnings never page, the 14-day alert test of the same name does.",
)

STANDBY_WAIVERS: Final = (
    StandbyWaiver(
        "mailman-web-single",
        "*-mail",
        "Mailman's web interface (mail.python.org) runs in the one Mailman that holds the lists, queues and "
        "archives; a copy would offer subscription and moderation forms whose changes the primary never sees. "
        "Receiving mail has its second server, the secondary MX (stacks/ams1.py).",
    ),
)

EXCEPTIONS: Final[tuple[FirewallWaiver | StandbyWaiver | Waiver, ...]] = (
    *FIREWALL_WAIVERS,
    *STANDBY_WAIVERS,
    STATIC_SITE_WEBSITE,
    STATIC_SITE_HTTP_ORIGIN,
    S3_WEBSITE_BACKEND,
    LOG_BUCKET_NOT_LOGGED,
    CERTIFICATE_WARNING_NO_PAGE,
)
"""Every documented exception in the pack."""

_S3_WEBSITE_HOST: Final = "*.s3-website*.amazonaws.com"


# --- small helpers over engine values (plain dicts or CrossGuard's proxies) ---------------------------


def _is_secret(value: Any) -> bool:
    return isinstance(value, str) and value == SECRET


def _items(value: Any) -> list[Any]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return []


def _maps(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in _items(value) if isinstance(v, Mapping)]


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _ident(value: Any) -> str | None:
    # Numbers travel as floats (droplet IDs arrive as 319005782.0).
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, str)) and str(value):
        return str(value)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _has_tag(resource: Resource, tag: tuple[str, str]) -> bool:
    value = _map(resource.props.get("tags")).get(tag[0])
    return str(value).lower() == tag[1]


def _is_bucket(resource: Resource) -> bool:
    return resource.type in BUCKET


def _is_stateful(resource: Resource) -> bool:
    return resource.type in STATEFUL_TYPES or (_is_bucket(resource) and _has_tag(resource, STATEFUL_TAG))


def _is_static_site(resource: Resource) -> bool:
    return _is_bucket(resource) and _has_tag(resource, STATIC_SITE_TAG)


def _of(resources: Sequence[Resource], types: str | tuple[str, ...]) -> list[Resource]:
    wanted = (types,) if isinstance(types, str) else types
    return [r for r in resources if r.type in wanted]


def _is_anywhere(address: Any) -> bool:
    try:
        return ipaddress.ip_network(str(address), strict=False).prefixlen == 0
    except ValueError:
        return False


def _violation(resource: Resource, message: str) -> Finding:
    return Finding(resource.urn, f"{resource.label}: {message}")


def _waived(resource: Resource, message: str, waiver: FirewallWaiver | StandbyWaiver | Waiver) -> Finding:
    return Finding(
        resource.urn, f"{resource.label}: {message} (waived: {waiver.id}: {waiver.reason})", "waived", waiver.id
    )


def _unverified(resource: Resource, message: str) -> Finding:
    return Finding(resource.urn, f"{resource.label}: {message}", "unverified")


# --- registry ------------------------------------------------------------------------------------------

_RULES: list[Rule] = []


def _describe(fn: Callable[..., Any]) -> str:
    doc = inspect.getdoc(fn)
    if not doc:
        raise ValueError(f"rule function {fn.__name__} needs a docstring: it is the rule's description")
    return doc


def resource_rule(
    name: str, *, anchors: tuple[str, ...], enforcement: Enforcement, types: tuple[str, ...]
) -> Callable[[Check], Check]:
    """Register a per-resource rule; the decorated function's docstring is its description."""

    def register(fn: Check) -> Check:
        _RULES.append(Rule(name, _describe(fn), anchors, enforcement, types, check=fn))
        return fn

    return register


def stack_rule(
    name: str, *, anchors: tuple[str, ...], enforcement: Enforcement, types: tuple[str, ...]
) -> Callable[[StackCheck], StackCheck]:
    """Register a whole-stack rule; ``types`` lists the resource types it reads, for the docs."""

    def register(fn: StackCheck) -> StackCheck:
        _RULES.append(Rule(name, _describe(fn), anchors, enforcement, types, stack_check=fn))
        return fn

    return register
