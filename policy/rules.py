"""The psf-infra policy rules: plain data and pure functions, usable without the Pulumi engine.

Each :class:`Rule` names its anchors (Checkov ``CKV_*``, Trivy ``AVD``/``DIG-``/``AWS-`` and KICS IDs from
``reference/security-rules.md``, or ``"ours"`` where no public scanner has one), its enforcement level and a
pure check. A *resource* rule looks at one :class:`Resource`; a *stack* rule looks at all of them (every
droplet behind a firewall, every bucket with its public access block, ...). Two adapters run the same rules:
``policy/__main__.py`` as a CrossGuard policy pack under the Pulumi CLI, and ``policy/offline.py`` over the
recorder's :class:`~offline.recorder.Recording`.

Enforcement: **mandatory** for what can leak data, expose a service or lose state; **advisory** for hygiene
and reliability (logging, health checks, paging in prod).

Where the estate legitimately differs from a rule, the difference is an explicit entry of :data:`EXCEPTIONS`
with its reason. A check that applies one yields a ``waived`` :class:`Finding` naming the waiver, which the
offline report lists, so no exception is ever silent.

Conventions the program must follow for these rules to pass:

- a bucket is *stateful* (protected and retained in prod, never ``forceDestroy``) when its ``tags`` contain
  ``stateful: "true"``; it is a *static site* (website hosting allowed, plain-HTTP origin allowed) when they
  contain ``static-site: "true"``;
- S3 settings live in the separate resources (public access block, ownership controls, SSE, versioning,
  lifecycle, logging, policy, website) whose ``bucket`` input is the bucket's ``bucket`` (physical) name;
- firewall waivers are keyed on the firewall's ``name`` (``psf-prod-mail`` matches ``*mail*``), protocol and
  the exact ``portRange``;
- the Fastly origin token goes in a request header whose name says ``token``/``secret`` and whose value is a
  secret (or an edge-dictionary lookup, ``table.lookup(...)``), never a literal.
"""

from __future__ import annotations

import fnmatch
import inspect
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlsplit

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
SYNTHETICS_TEST: Final = "datadog:index/syntheticsTest:SyntheticsTest"
MONITOR: Final = "datadog:index/monitor:Monitor"


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

STATEFUL_TYPES: Final = (ZONE, VOLUME, DB_CLUSTER, DB_REPLICA)
"""Always stateful. Buckets are stateful when tagged (:data:`STATEFUL_TAG`)."""
STATEFUL_TAG: Final = ("stateful", "true")
STATIC_SITE_TAG: Final = ("static-site", "true")


# --- the resource view ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """One resource as a rule sees it, whichever adapter built it.

    ``props`` are the inputs as the engine received them (camelCase wire names); ``outputs`` the state the
    provider returned, when known (IDs for cross-resource matching). ``retain_on_delete`` and ``custom`` are
    None where the adapter cannot see them (CrossGuard passes neither). ``secrets_marked`` is True when
    secret values appear as ``"[secret]"`` (recordings); CrossGuard hands policies plaintext with no mark of
    secretness (pulumi/pulumi-policy#241), so secret checks report ``unverified`` there.
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
        "egress-salt", "outbound", ("tcp",), ("4505", "4506"), "*",
        "Salt minions connect to the master's publish and return ports; the master is not provisioned by this "
        "program, so its address cannot be named in the firewall.",
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

EXCEPTIONS: Final[tuple[FirewallWaiver | Waiver, ...]] = (
    *FIREWALL_WAIVERS,
    STATIC_SITE_WEBSITE,
    STATIC_SITE_HTTP_ORIGIN,
    S3_WEBSITE_BACKEND,
    LOG_BUCKET_NOT_LOGGED,
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


def _waived(resource: Resource, message: str, waiver: FirewallWaiver | Waiver) -> Finding:
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


# === DigitalOcean =======================================================================================


def _firewall_findings(fw: Resource, direction: Literal["inbound", "outbound"]) -> Iterator[Finding]:
    key, addresses = (
        ("inboundRules", "sourceAddresses") if direction == "inbound" else ("outboundRules", "destinationAddresses")
    )
    fw_name = _str(fw.props.get("name"))
    for index, rule in enumerate(_maps(fw.props.get(key))):
        public = [str(a) for a in _items(rule.get(addresses)) if _is_anywhere(a)]
        if not public:
            continue
        protocol = _str(rule.get("protocol")).lower()
        port = _str(rule.get("portRange")).strip()
        what = f"{direction} rule #{index} ({protocol} {port or 'all ports'}) is open to {', '.join(public)}"
        waiver = next((w for w in FIREWALL_WAIVERS if w.matches(direction, fw_name, protocol, port)), None)
        if waiver is not None:
            yield _waived(fw, what, waiver)
        elif direction == "inbound":
            yield _violation(
                fw,
                f"{what}. Fix: limit {addresses} to Fastly's ranges (web ports), the admin CIDRs (SSH) or the "
                "VPC; if the port must be public, add a FirewallWaiver with its reason to policy/rules.py.",
            )
        else:
            yield _violation(
                fw,
                f"{what}. Fix: limit {addresses} to the VPC or known hosts, or record a FirewallWaiver with "
                "the reason egress must stay open.",
            )


@resource_rule(
    "do-firewall-no-public-inbound", anchors=("CKV_DIO_4", "DIG-0001"), enforcement="mandatory", types=(FIREWALL,)
)
def _firewall_no_public_inbound(fw: Resource) -> Iterable[Finding]:
    """No DigitalOcean firewall admits traffic from 0.0.0.0/0 or ::/0, except documented waivers."""
    return _firewall_findings(fw, "inbound")


@resource_rule("do-firewall-no-open-egress", anchors=("DIG-0003",), enforcement="advisory", types=(FIREWALL,))
def _firewall_no_open_egress(fw: Resource) -> Iterable[Finding]:
    """No DigitalOcean firewall lets traffic out to the whole internet, except documented waivers."""
    return _firewall_findings(fw, "outbound")


@resource_rule("do-droplet-ssh-keys", anchors=("CKV_DIO_2", "DIG-0004"), enforcement="mandatory", types=(DROPLET,))
def _droplet_ssh_keys(droplet: Resource) -> Iterable[Finding]:
    """Every droplet installs SSH keys (otherwise DigitalOcean mails a root password)."""
    keys = droplet.props.get("sshKeys")
    if not (_is_secret(keys) or _items(keys)):
        yield _violation(droplet, "sets no sshKeys, so DigitalOcean e-mails a root password. Fix: pass ssh_keys.")


def _droplet_ids(droplet: Resource) -> set[str]:
    ids = {droplet.id, _ident(droplet.outputs.get("id")), _ident(droplet.props.get("id"))}
    urn = _str(droplet.outputs.get("urn") or droplet.props.get("urn"))
    if urn.startswith("do:droplet:"):
        ids.add(urn.removeprefix("do:droplet:"))
    return {i for i in ids if i}


@stack_rule("do-droplet-firewalled", anchors=("ours",), enforcement="mandatory", types=(DROPLET, FIREWALL))
def _droplet_firewalled(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every droplet is covered by a DigitalOcean firewall, by droplet ID or by tag."""
    firewalls = _of(resources, FIREWALL)
    covered_ids = {_ident(i) for fw in firewalls for i in _items(fw.props.get("dropletIds"))}
    covered_tags = {str(t) for fw in firewalls for t in _items(fw.props.get("tags"))}
    for droplet in _of(resources, DROPLET):
        tags = {str(t) for t in _items(droplet.props.get("tags"))}
        if not (_droplet_ids(droplet) & covered_ids or tags & covered_tags):
            yield _violation(
                droplet,
                f"no firewall covers it (its tags: {sorted(tags) or 'none'}). Fix: add one of its tags to a "
                "Firewall's tags (known at preview) or its ID to dropletIds.",
            )


def _cluster_ids(cluster: Resource) -> set[str]:
    ids = {cluster.id, _ident(cluster.outputs.get("id")), _ident(cluster.props.get("id"))}
    for key in ("urn", "clusterUrn"):
        urn = _str(cluster.outputs.get(key) or cluster.props.get(key))
        if urn.startswith("do:dbaas:"):
            ids.add(urn.removeprefix("do:dbaas:"))
    return {i for i in ids if i}


@stack_rule("do-database-firewall", anchors=("ours",), enforcement="mandatory", types=(DB_CLUSTER, DB_FIREWALL))
def _database_firewall(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every managed database has a database firewall with trusted sources only (never the whole internet)."""
    firewalls = _of(resources, DB_FIREWALL)
    for cluster in _of(resources, DB_CLUSTER):
        ids = _cluster_ids(cluster)
        mine = [fw for fw in firewalls if _ident(fw.props.get("clusterId")) in ids]
        rules = [rule for fw in mine for rule in _maps(fw.props.get("rules"))]
        if not rules:
            yield _violation(
                cluster,
                "accepts connections from anywhere: no DatabaseFirewall rule names its clusterId. Fix: add a "
                "DatabaseFirewall allowing the client droplets' tag (or the VPC) only.",
            )
        for rule in rules:
            if _str(rule.get("type")) == "ip_addr" and _is_anywhere(rule.get("value")):
                yield _violation(
                    cluster,
                    f"its DatabaseFirewall admits {rule.get('value')}. Fix: allow a droplet tag, droplet or the "
                    "VPC range instead.",
                )


@stack_rule("do-database-standby-in-prod", anchors=("ours",), enforcement="mandatory", types=(DB_CLUSTER, DB_REPLICA))
def _database_standby(resources: Sequence[Resource]) -> Iterable[Finding]:
    """In production every managed database keeps a standby node (nodeCount >= 2) or a read replica."""
    replicas = {_ident(r.props.get("clusterId")) for r in _of(resources, DB_REPLICA)}
    for cluster in _of(resources, DB_CLUSTER):
        if not cluster.is_prod:
            continue
        nodes = _number(cluster.props.get("nodeCount")) or 1
        if nodes < 2 and not _cluster_ids(cluster) & replicas:
            yield _violation(
                cluster,
                "has one node and no replica in production, so one failure loses the service. Fix: add a "
                "DatabaseReplica with its clusterId, or set node_count=2 for a standby.",
            )


@resource_rule(
    "do-spaces-versioning", anchors=("CKV_DIO_1", "DIG-0007"), enforcement="mandatory", types=(SPACES_BUCKET,)
)
def _spaces_versioning(bucket: Resource) -> Iterable[Finding]:
    """Spaces buckets keep object versions."""
    if _map(bucket.props.get("versioning")).get("enabled") is not True:
        yield _violation(bucket, "is not versioned. Fix: versioning={'enabled': True}.")


@resource_rule(
    "do-spaces-no-public-acl", anchors=("CKV_DIO_3", "DIG-0006"), enforcement="mandatory", types=(SPACES_BUCKET,)
)
def _spaces_acl(bucket: Resource) -> Iterable[Finding]:
    """Spaces buckets are never public-read."""
    if _str(bucket.props.get("acl")) == "public-read":
        yield _violation(bucket, "has acl public-read, so anyone can list and read it. Fix: acl='private'.")


@resource_rule("do-spaces-no-force-destroy", anchors=("DIG-0009",), enforcement="mandatory", types=(SPACES_BUCKET,))
def _spaces_force_destroy(bucket: Resource) -> Iterable[Finding]:
    """Spaces buckets cannot be deleted with their contents (force_destroy off)."""
    if bucket.props.get("forceDestroy") is True:
        yield _violation(bucket, "has forceDestroy, so a delete wipes its objects. Fix: force_destroy=False.")


# === S3 =================================================================================================


def _bucket_names(bucket: Resource) -> set[str]:
    names = {_str(bucket.props.get("bucket")), _str(bucket.outputs.get("bucket")), bucket.id or ""}
    return {n for n in names if n}


def _companions(resources: Sequence[Resource], bucket: Resource, types: tuple[str, ...]) -> list[Resource]:
    names = _bucket_names(bucket)
    return [r for r in _of(resources, types) if _str(r.props.get("bucket")) in names]


def _missing_companion(
    resources: Sequence[Resource], types: tuple[str, ...], ok: Callable[[Resource], bool], problem: str, fix: str
) -> Iterator[Finding]:
    for bucket in _of(resources, BUCKET):
        if not any(ok(c) for c in _companions(resources, bucket, types)):
            name = _str(bucket.props.get("bucket")) or bucket.name
            yield _violation(bucket, f"{problem}. Fix: {fix} with bucket={name!r}.")


_PAB_SETTINGS: Final = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


@resource_rule(
    "s3-public-access-block-settings",
    anchors=("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "AWS-0086", "AWS-0087", "AWS-0091", "AWS-0093"),
    enforcement="mandatory",
    types=PUBLIC_ACCESS_BLOCK,
)
def _public_access_block_settings(pab: Resource) -> Iterable[Finding]:
    """Every S3 public access block blocks and ignores public ACLs and blocks and restricts public policies."""
    off = [key for key in _PAB_SETTINGS if pab.props.get(key) is not True]
    if off:
        yield _violation(
            pab,
            f"leaves {', '.join(off)} off. Fix: set all four to True; a static site admits Fastly with an "
            "aws:SourceIp condition, which S3 does not count as public.",
        )


@stack_rule(
    "s3-bucket-has-public-access-block",
    anchors=("CKV2_AWS_6", "AWS-0094"),
    enforcement="mandatory",
    types=(*BUCKET, *PUBLIC_ACCESS_BLOCK),
)
def _bucket_has_public_access_block(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket has its own public access block."""
    return _missing_companion(
        resources,
        PUBLIC_ACCESS_BLOCK,
        lambda _: True,
        "has no BucketPublicAccessBlock",
        "add a BucketPublicAccessBlock",
    )


@stack_rule("s3-acls-disabled", anchors=("CKV2_AWS_65",), enforcement="mandatory", types=(*BUCKET, *OWNERSHIP_CONTROLS))
def _acls_disabled(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket disables ACLs: ownership controls with BucketOwnerEnforced."""
    return _missing_companion(
        resources,
        OWNERSHIP_CONTROLS,
        lambda c: _map(c.props.get("rule")).get("objectOwnership") == "BucketOwnerEnforced",
        "still honours ACLs (no BucketOwnershipControls with objectOwnership BucketOwnerEnforced)",
        "add BucketOwnershipControls(rule={'object_ownership': 'BucketOwnerEnforced'})",
    )


_PUBLIC_CANNED_ACLS: Final = ("public-read", "public-read-write", "authenticated-read")
_PUBLIC_GRANTEES: Final = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


@resource_rule(
    "s3-no-public-acl",
    anchors=("CKV_AWS_20", "CKV_AWS_57", "AWS-0092"),
    enforcement="mandatory",
    types=(*BUCKET, *BUCKET_ACL),
)
def _no_public_acl(resource: Resource) -> Iterable[Finding]:
    """No S3 bucket or bucket ACL grants access to everyone or to all AWS users."""
    acl = _str(resource.props.get("acl"))
    if acl in _PUBLIC_CANNED_ACLS:
        yield _violation(resource, f"sets the canned ACL {acl}. Fix: drop the ACL; ownership controls disable ACLs.")
    grants = _maps(resource.props.get("grants"))
    grants += _maps(_map(resource.props.get("accessControlPolicy")).get("grants"))
    for grant in grants:
        uri = _str(_map(grant.get("grantee")).get("uri") or grant.get("uri"))
        if uri in _PUBLIC_GRANTEES:
            yield _violation(resource, f"grants {uri.rsplit('/', 1)[-1]} access. Fix: remove the grant.")


def _statements(policy: Any) -> list[Mapping[str, Any]] | None:
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return None
    if not isinstance(policy, Mapping):
        return None
    statement = policy.get("Statement")
    return [statement] if isinstance(statement, Mapping) else _maps(statement)


def _is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return any(p == "*" for p in [_map(principal).get("AWS"), *_items(_map(principal).get("AWS"))])


@resource_rule("s3-policy-no-public-grant", anchors=("CKV_AWS_70",), enforcement="mandatory", types=BUCKET_POLICY)
def _policy_no_public_grant(policy: Resource) -> Iterable[Finding]:
    """No S3 bucket policy allows everyone ('*') without a condition narrowing who."""
    document = policy.props.get("policy")
    if _is_secret(document) or document is None:
        return
    statements = _statements(document)
    if statements is None:
        yield _violation(policy, "has a policy that is not a JSON policy document. Fix: build it with json.dumps.")
        return
    for index, st in enumerate(statements):
        if st.get("Effect") == "Allow" and _is_everyone(st.get("Principal")) and not st.get("Condition"):
            yield _violation(
                policy,
                f"statement #{index} allows {st.get('Action')} to everyone with no Condition. Fix: name the "
                "principal, or add a condition (aws:SourceIp with Fastly's ranges for a static site).",
            )


def _denies_plain_http(policy: Resource) -> bool:
    for st in _statements(policy.props.get("policy")) or []:
        if st.get("Effect") != "Deny":
            continue
        secure = _map(_map(st.get("Condition")).get("Bool")).get("aws:SecureTransport")
        if str(secure).lower() == "false":
            return True
    return False


@stack_rule(
    "s3-policy-deny-insecure-transport",
    anchors=("CKV_AWS_379",),
    enforcement="advisory",
    types=(*BUCKET, *BUCKET_POLICY),
)
def _deny_insecure_transport(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket policy denies requests without TLS (aws:SecureTransport false), static sites excepted."""
    for bucket in _of(resources, BUCKET):
        if any(_denies_plain_http(p) for p in _companions(resources, bucket, BUCKET_POLICY)):
            continue
        if _is_static_site(bucket):
            yield _waived(bucket, "has no deny-non-TLS statement", STATIC_SITE_HTTP_ORIGIN)
            continue
        yield _violation(
            bucket,
            "accepts plain-HTTP requests. Fix: a BucketPolicy statement Effect Deny, Principal '*', Action 's3:*', "
            "Condition {'Bool': {'aws:SecureTransport': 'false'}}.",
        )


@stack_rule(
    "s3-versioning", anchors=("CKV_AWS_21", "AWS-0090"), enforcement="mandatory", types=(*BUCKET, *BUCKET_VERSIONING)
)
def _versioning(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket keeps object versions."""
    return _missing_companion(
        resources,
        BUCKET_VERSIONING,
        lambda c: _map(c.props.get("versioningConfiguration")).get("status") == "Enabled",
        "is not versioned, so an overwrite or delete loses data",
        "add BucketVersioning(versioning_configuration={'status': 'Enabled'})",
    )


_SSE_ALGORITHMS: Final = ("AES256", "aws:kms", "aws:kms:dsse")


def _encrypts(sse: Resource) -> bool:
    return any(
        _map(rule.get("applyServerSideEncryptionByDefault")).get("sseAlgorithm") in _SSE_ALGORITHMS
        for rule in _maps(sse.props.get("rules"))
    )


@stack_rule(
    "s3-encryption-at-rest", anchors=("CKV_AWS_19", "AWS-0088"), enforcement="mandatory", types=(*BUCKET, *BUCKET_SSE)
)
def _encryption(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket declares default server-side encryption."""
    return _missing_companion(
        resources,
        BUCKET_SSE,
        _encrypts,
        "declares no default encryption",
        "add BucketServerSideEncryptionConfiguration with sse_algorithm 'AES256' or 'aws:kms'",
    )


def _log_targets(resources: Sequence[Resource]) -> set[str]:
    targets = {_str(r.props.get("targetBucket")) for r in _of(resources, BUCKET_LOGGING)}
    for service in _of(resources, FASTLY_SERVICE):
        targets |= {_str(s3.get("bucketName")) for s3 in _maps(service.props.get("loggingS3s"))}
    return targets - {""}


@stack_rule(
    "s3-access-logging",
    anchors=("CKV_AWS_18", "AWS-0089"),
    enforcement="advisory",
    types=(*BUCKET, *BUCKET_LOGGING, FASTLY_SERVICE),
)
def _access_logging(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket logs access to a log bucket, except the log buckets themselves."""
    targets = _log_targets(resources)
    for bucket in _of(resources, BUCKET):
        if any(_str(c.props.get("targetBucket")) for c in _companions(resources, bucket, BUCKET_LOGGING)):
            continue
        if _bucket_names(bucket) & targets:
            yield _waived(bucket, "does not log its own access", LOG_BUCKET_NOT_LOGGED)
            continue
        yield _violation(bucket, "does not log access. Fix: add BucketLogging with target_bucket the log bucket.")


def _aborts_uploads(lifecycle: Resource) -> bool:
    for rule in _maps(lifecycle.props.get("rules")):
        days = _number(_map(rule.get("abortIncompleteMultipartUpload")).get("daysAfterInitiation"))
        if rule.get("status") == "Enabled" and days is not None and days > 0:
            return True
    return False


@stack_rule(
    "s3-lifecycle-abort-multipart",
    anchors=("CKV2_AWS_61", "CKV_AWS_300"),
    enforcement="advisory",
    types=(*BUCKET, *BUCKET_LIFECYCLE),
)
def _lifecycle(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket has a lifecycle configuration that aborts incomplete multipart uploads."""
    return _missing_companion(
        resources,
        BUCKET_LIFECYCLE,
        _aborts_uploads,
        "keeps incomplete multipart uploads forever (no enabled lifecycle rule aborting them)",
        "add BucketLifecycleConfiguration with an Enabled rule whose abort_incomplete_multipart_upload has "
        "days_after_initiation=7",
    )


@stack_rule(
    "s3-website-static-sites-only",
    anchors=("KICS-42bb6b7f",),
    enforcement="mandatory",
    types=(*BUCKET, *BUCKET_WEBSITE),
)
def _website_static_sites_only(resources: Sequence[Resource]) -> Iterable[Finding]:
    """S3 static website hosting is enabled only on buckets declared as static sites (tag static-site)."""
    buckets = _of(resources, BUCKET)
    for bucket in buckets:
        if bucket.props.get("website") is not None:
            if _is_static_site(bucket):
                yield _waived(bucket, "enables website hosting", STATIC_SITE_WEBSITE)
            else:
                yield _violation(bucket, "enables website hosting but is not tagged static-site. Fix: drop `website`.")
    for website in _of(resources, BUCKET_WEBSITE):
        target = _str(website.props.get("bucket"))
        owner = next((b for b in buckets if target in _bucket_names(b)), None)
        if owner is not None and _is_static_site(owner):
            yield _waived(website, f"serves bucket {target} as a website", STATIC_SITE_WEBSITE)
        else:
            yield _violation(
                website,
                f"serves bucket {target!r} as a website, but that bucket is not a declared static site in this "
                "stack. Fix: tag the bucket static-site: 'true' if it is one, otherwise remove the website "
                "configuration.",
            )


@resource_rule("s3-bucket-name-no-dots", anchors=("AWS-0320",), enforcement="advisory", types=BUCKET)
def _bucket_name_no_dots(bucket: Resource) -> Iterable[Finding]:
    """S3 bucket names have no dots (they break TLS on virtual-hosted URLs)."""
    for key in ("bucket", "bucketPrefix"):
        name = _str(bucket.props.get(key))
        if "." in name:
            yield _violation(
                bucket, f"{key} {name!r} has dots, which break TLS to {name}.s3.amazonaws.com. Fix: use dashes."
            )


# === Route 53 ===========================================================================================


def _zone_ids(zone: Resource) -> set[str]:
    ids = {zone.id, _str(zone.outputs.get("zoneId")), _str(zone.props.get("zoneId"))}
    return {i for i in ids if i}


def _public_zones(resources: Sequence[Resource]) -> list[Resource]:
    return [z for z in _of(resources, ZONE) if not _items(z.props.get("vpcs"))]


def _zone_name(zone: Resource) -> str:
    return _str(zone.props.get("name")).lower().rstrip(".")


def _fqdn(name: str, zone: str) -> str:
    name = name.lower().rstrip(".")
    if name in ("", "@"):
        return zone
    return name if name == zone or name.endswith("." + zone) else f"{name}.{zone}"


def _records(resources: Sequence[Resource], zone: Resource) -> list[tuple[str, str, list[str]]]:
    """(fqdn, type, values) of the zone's records; TXT values unquoted and joined."""
    ids, zone_name = _zone_ids(zone), _zone_name(zone)
    out = []
    for record in _of(resources, DNS_RECORD):
        if _str(record.props.get("zoneId")) not in ids:
            continue
        values = [_str(v).replace('" "', "").strip('"') for v in _items(record.props.get("records"))]
        out.append((_fqdn(_str(record.props.get("name")), zone_name), _str(record.props.get("type")).upper(), values))
    return out


def _zone_companion(
    resources: Sequence[Resource], types: str, key: str, ok: Callable[[Resource], bool]
) -> Callable[[Resource], bool]:
    def has(zone: Resource) -> bool:
        ids = _zone_ids(zone)
        return any(_str(c.props.get(key)) in ids and ok(c) for c in _of(resources, types))

    return has


@stack_rule("route53-dnssec-in-prod", anchors=("CKV2_AWS_38",), enforcement="mandatory", types=(ZONE, ZONE_DNSSEC))
def _dnssec(resources: Sequence[Resource]) -> Iterable[Finding]:
    """In production every public hosted zone is DNSSEC-signed (staging zones are unsigned test delegations)."""
    signed = _zone_companion(
        resources, ZONE_DNSSEC, "hostedZoneId", lambda d: d.props.get("signingStatus") != "NOT_SIGNING"
    )
    for zone in _public_zones(resources):
        if zone.is_prod and not signed(zone):
            yield _violation(
                zone,
                "is not DNSSEC-signed, so its answers can be spoofed. Fix: add a KMS key-signing key and a "
                "HostedZoneDnsSec for its zoneId, then publish the DS record at the registrar.",
            )


@stack_rule("route53-query-logging", anchors=("CKV2_AWS_39",), enforcement="advisory", types=(ZONE, QUERY_LOG))
def _query_logging(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every public hosted zone logs DNS queries."""
    logged = _zone_companion(resources, QUERY_LOG, "zoneId", lambda _: True)
    for zone in _public_zones(resources):
        if not logged(zone):
            yield _violation(zone, "does not log queries. Fix: add a QueryLog to a CloudWatch log group in us-east-1.")


@stack_rule("route53-caa", anchors=("ours",), enforcement="advisory", types=(ZONE, DNS_RECORD))
def _caa(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every public hosted zone publishes CAA records at its apex, naming the CAs allowed to issue."""
    for zone in _public_zones(resources):
        apex = _zone_name(zone)
        if not any(name == apex and kind == "CAA" for name, kind, _ in _records(resources, zone)):
            yield _violation(
                zone,
                f"has no CAA record at {apex}, so any CA may issue for it. Fix: add CAA '0 issue \"letsencrypt.org\"' "
                "(and the other CAs in use) plus an iodef.",
            )


def _is_dmarc_enforcing(value: str) -> bool:
    tags = {k.strip().lower(): v.strip().lower() for k, _, v in (part.partition("=") for part in value.split(";"))}
    return tags.get("v") == "dmarc1" and tags.get("p") in ("quarantine", "reject")


@stack_rule("route53-mail-spf-dmarc", anchors=("ours",), enforcement="mandatory", types=(ZONE, DNS_RECORD))
def _mail_spf_dmarc(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every name with an MX record publishes SPF ending in -all and an enforcing DMARC policy."""
    for zone in _public_zones(resources):
        records = _records(resources, zone)
        txt: dict[str, list[str]] = {}
        for name, kind, values in records:
            if kind == "TXT":
                txt.setdefault(name, []).extend(values)
        for name in sorted({name for name, kind, _ in records if kind == "MX"}):
            spf = [v for v in txt.get(name, []) if v.lower().startswith("v=spf1")]
            if not spf or not all(v.split()[-1] == "-all" for v in spf):
                yield _violation(
                    zone,
                    f"{name} receives mail but has no SPF record ending in -all, so anyone can send as it. "
                    f"Fix: TXT at {name} 'v=spf1 mx -all' (plus the other senders).",
                )
            dmarc = txt.get(f"_dmarc.{name}", []) + txt.get(f"_dmarc.{_zone_name(zone)}", [])
            if not any(_is_dmarc_enforcing(v) for v in dmarc):
                yield _violation(
                    zone,
                    f"{name} receives mail but has no enforcing DMARC policy. Fix: TXT at _dmarc.{name} "
                    "'v=DMARC1; p=quarantine; pct=100; fo=1; adkim=s; aspf=r'.",
                )


# === Fastly =============================================================================================

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


# === Datadog ============================================================================================


def _test_hosts(test: Resource) -> set[str]:
    request = _map(test.props.get("requestDefinition"))
    hosts = {(urlsplit(_str(request.get("url"))).hostname or ""), _str(request.get("host"))}
    return {h.lower().rstrip(".") for h in hosts if h}


@stack_rule(
    "datadog-synthetics-cover-public-hosts",
    anchors=("ours",),
    enforcement="advisory",
    types=(FASTLY_SERVICE, SYNTHETICS_TEST),
)
def _synthetics_cover_hosts(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every public hostname a Fastly service answers for has a Datadog synthetics test."""
    tested = {h for t in _of(resources, SYNTHETICS_TEST) for h in _test_hosts(t)}
    for service in _of(resources, FASTLY_SERVICE):
        for domain in _maps(service.props.get("domains")):
            host = _str(domain.get("name")).lower().rstrip(".")
            if host and not host.startswith("*.") and host not in tested:
                yield _violation(
                    service,
                    f"public host {host} has no synthetics test, so nobody hears when it is down. Fix: add a "
                    f"SyntheticsTest with request_definition url https://{host}/.",
                )


_ALERTS: Final = (MONITOR, SYNTHETICS_TEST)
_HANDLE_RE: Final = re.compile(r"@[\w.+-]+")
_PAGER_RE: Final = re.compile(r"@pagerduty\b", re.IGNORECASE)


def _notifications(alert: Resource) -> str:
    return f"{_str(alert.props.get('message'))} {_str(alert.props.get('escalationMessage'))}"


@resource_rule("datadog-alerts-notify-team", anchors=("ours",), enforcement="advisory", types=_ALERTS)
def _alerts_notify_team(alert: Resource) -> Iterable[Finding]:
    """Every Datadog monitor and synthetics test notifies someone (an @handle in its message)."""
    if not _HANDLE_RE.search(_notifications(alert)):
        yield _violation(alert, "notifies nobody. Fix: put the team's @handle (notifyHandles) in its message.")


@resource_rule("datadog-staging-never-pages", anchors=("ours",), enforcement="mandatory", types=_ALERTS)
def _staging_never_pages(alert: Resource) -> Iterable[Finding]:
    """Outside production no alert pages on-call (no @pagerduty handle)."""
    if not alert.is_prod and _PAGER_RE.search(_notifications(alert)):
        yield _violation(
            alert,
            f"would page on-call from the {alert.stack} stack. Fix: set pageOnCall false for this stack so the "
            "@pagerduty handle is left out.",
        )


@resource_rule("datadog-prod-pages-on-call", anchors=("ours",), enforcement="advisory", types=_ALERTS)
def _prod_pages(alert: Resource) -> Iterable[Finding]:
    """In production every alert pages on-call (an @pagerduty handle in its message)."""
    if alert.is_prod and not _PAGER_RE.search(_notifications(alert)):
        yield _violation(alert, "does not page on-call in production. Fix: add the pagerdutyHandle to its message.")


# === deployment safety ==================================================================================


@resource_rule(
    "stateful-protected-in-prod",
    anchors=("ours",),
    enforcement="mandatory",
    types=(*STATEFUL_TYPES, *BUCKET),
)
def _stateful_protected(resource: Resource) -> Iterable[Finding]:
    """In production stateful resources (zones, volumes, databases, stateful buckets) are protected and retained."""
    if not (resource.is_prod and _is_stateful(resource)):
        return
    missing = [] if resource.protect else ["protect"]
    if resource.retain_on_delete is False:
        missing.append("retain_on_delete")
    if missing:
        yield _violation(
            resource,
            f"holds state but lacks {' and '.join(missing)} in production, so a code change could delete it. "
            "Fix: ResourceOptions(protect=True, retain_on_delete=True) from settings.protect.",
        )
    if resource.retain_on_delete is None:
        yield _unverified(resource, "retain_on_delete is not visible to CrossGuard; the offline check verifies it")


@resource_rule("stateful-no-force-destroy-in-prod", anchors=("ours",), enforcement="mandatory", types=(ZONE, *BUCKET))
def _stateful_no_force_destroy(resource: Resource) -> Iterable[Finding]:
    """In production stateful zones and buckets cannot be deleted with their contents (forceDestroy off)."""
    if resource.is_prod and _is_stateful(resource) and resource.props.get("forceDestroy") is True:
        yield _violation(resource, "sets forceDestroy in production, so deleting it wipes its contents. Fix: drop it.")


@resource_rule("staging-nothing-protected", anchors=("ours",), enforcement="advisory", types=())
def _staging_nothing_protected(resource: Resource) -> Iterable[Finding]:
    """Outside production nothing is protected or retained, so `pulumi destroy` removes the whole stack."""
    if resource.is_prod:
        return
    options = [o for o, on in (("protect", resource.protect), ("retain_on_delete", resource.retain_on_delete)) if on]
    if options:
        yield _violation(
            resource,
            f"sets {' and '.join(options)} in the {resource.stack} stack, so `pulumi destroy` would stop or leave "
            "it behind. Fix: derive these options from settings.protect (false outside prod).",
        )


@resource_rule("explicit-provider", anchors=("ours",), enforcement="mandatory", types=())
def _explicit_provider(resource: Resource) -> Iterable[Finding]:
    """Every custom resource names an explicit provider instance; default providers are never used."""
    if resource.custom is False:
        return
    if resource.provider is None:
        if resource.custom:
            yield _violation(resource, "uses the default provider (ambient credentials). Fix: pass opts provider=.")
        return
    provider_name = resource.provider.rsplit("::", 1)[-1]
    if provider_name.startswith("default"):
        yield _violation(
            resource,
            f"uses the default provider {provider_name} (ambient credentials). Fix: pass the explicit provider.",
        )


RULES: Final[tuple[Rule, ...]] = tuple(_RULES)
"""Every rule of the pack, in a stable order."""

RULES_BY_NAME: Final[Mapping[str, Rule]] = {rule.name: rule for rule in RULES}


def evaluate(resources: Sequence[Resource], rules: Sequence[Rule] = RULES) -> list[tuple[Rule, Finding]]:
    """Run ``rules`` over ``resources`` (one stack); every finding with the rule that made it."""
    return [(rule, finding) for rule in rules for finding in rule.findings(resources)]
