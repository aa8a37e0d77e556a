"""The infrastructure overview, generated from the program so it can never drift from what the program creates.

    python -m offline.docs                       # prod: docs/overview.md, docs/estate.dot, docs/estate.svg
    python -m offline.docs --stack staging       # staging, into build/docs-staging/
    python -m offline.docs --out DIR --require-svg

Every fact comes from the recorder's :class:`~offline.recorder.Recording` of the stack: where each service
runs, its public host names, its Fastly services and their origins, its DNS zones and its monitors. The one
thing read from elsewhere is ``stacks/catalog.py``: titles, summaries, owners and contacts, which are not
resources.

Records are matched to catalog keys by what the program itself tags: ``service:<key>`` on droplets, volumes,
buckets, databases and Datadog tests and monitors. A part with no tag of its own (a Fastly service in front of
Heroku, a static site) takes the key of the uptime check that watches its host names. Logical names are not
used for this: they change whenever a service gains a second edge.

The recording runs on mocked providers, so its addresses and IDs are made up: the documents name hosts, sizes,
regions and zones, never an address or an ID. Registration order varies from run to run (components register
children from callbacks), so everything is put in a canonical order first, and the output is the same bytes
every time; the docs test relies on that.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from offline.certificates import host_certificates, is_challenge
from offline.recorder import PROJECT_ROOT, STACK_TYPE, ProgramFailedError, Record, Recording, record_stack
from stacks import roles
from stacks.catalog import SERVICES, Service
from stacks.cli_yaml import ConfigFileError
from stacks.schema import SettingsError

REGENERATE: Final = "make docs"
DEFAULT_STACK: Final = "prod"
OVERVIEW: Final = "overview.md"
DOT: Final = "estate.dot"
SVG: Final = "estate.svg"

DROPLET: Final = "digitalocean:index/droplet:Droplet"
VOLUME: Final = "digitalocean:index/volume:Volume"
VOLUME_ATTACHMENT: Final = "digitalocean:index/volumeAttachment:VolumeAttachment"
FIREWALL: Final = "digitalocean:index/firewall:Firewall"
VPC: Final = "digitalocean:index/vpc:Vpc"
PROJECT: Final = "digitalocean:index/project:Project"
PROJECT_RESOURCES: Final = "digitalocean:index/projectResources:ProjectResources"
DO_TAG: Final = "digitalocean:index/tag:Tag"
RESERVED_IP: Final = "digitalocean:index/reservedIp:ReservedIp"
RESERVED_IP_ASSIGNMENT: Final = "digitalocean:index/reservedIpAssignment:ReservedIpAssignment"
DB_CLUSTER: Final = "digitalocean:index/databaseCluster:DatabaseCluster"
DB_REPLICA: Final = "digitalocean:index/databaseReplica:DatabaseReplica"
DB_DATABASE: Final = "digitalocean:index/databaseDb:DatabaseDb"
DB_FIREWALL: Final = "digitalocean:index/databaseFirewall:DatabaseFirewall"
ZONE: Final = "aws:route53/zone:Zone"
DNS_RECORD: Final = "aws:route53/record:Record"
DNSSEC: Final = "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec"
DELEGATION_SET: Final = "aws:route53/delegationSet:DelegationSet"
BUCKET_TYPES: Final = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
WEBSITE: Final = "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration"
IAM_ROLE: Final = "aws:iam/role:Role"
IAM_ROLE_POLICY: Final = "aws:iam/rolePolicy:RolePolicy"
FASTLY_SERVICE: Final = "fastly:index/serviceVcl:ServiceVcl"
SYNTHETICS: Final = "datadog:index/syntheticsTest:SyntheticsTest"
MONITOR: Final = "datadog:index/monitor:Monitor"
DASHBOARD: Final = "datadog:index/dashboardJson:DashboardJson"
SLO: Final = "datadog:index/serviceLevelObjective:ServiceLevelObjective"
FASTLY_METRICS: Final = "datadog:fastly/integrationService:IntegrationService"
PD_SCHEDULE: Final = "pagerduty:index/schedule:Schedule"
PD_USER: Final = "pagerduty:index/user:User"
PD_POLICY: Final = "pagerduty:index/escalationPolicy:EscalationPolicy"
PD_SERVICE: Final = "pagerduty:index/service:Service"
SERVICE_OBJECT: Final = "datadog:pagerduty/serviceObject:ServiceObject"
# What watches the estate rather than runs it: shown in "Monitoring and on call", not as a service's part.
WATCHING_TYPES: Final = frozenset(
    {
        SYNTHETICS,
        MONITOR,
        DASHBOARD,
        SLO,
        FASTLY_METRICS,
        "datadog:fastly/integrationAccount:IntegrationAccount",
        SERVICE_OBJECT,
    }
)
GANDI_NAMESERVERS: Final = "gandi:domains/nameservers:Nameservers"
GANDI_DNSSEC_KEY: Final = "gandi:domains/dNSSecKey:DNSSecKey"
ADDRESS_RECORD_TYPES: Final = frozenset({"A", "AAAA", "CNAME"})

# The catalog entry Route 53 zones belong to. Zones carry no tags, so this is the one attribution by kind.
DNS_SERVICE_KEY: Final = "dns"
# How the Fastly component names its conditions: the standby's, the fallback's, one "route <prefix>" per route.
STANDBY_CONDITION: Final = "standby"
FALLBACK_CONDITION: Final = "fallback"
# A standby's droplets carry `service:<key>-standby`: they belong to the role's catalog entry.
STANDBY_TAG_SUFFIX: Final = "-standby"
ROUTE_CONDITION_PREFIX: Final = "route "
HEROKU_SUFFIX: Final = ".herokuapp.com"
# The multiplication sign of "docs x2" in counts, by name: the linter rightly flags a literal one as ambiguous.
TIMES: Final = "\N{MULTIPLICATION SIGN}"

# Provider packages in the order the overview lists them; any other package follows, by name.
PROVIDER_NAMES: Final = {
    "digitalocean": "DigitalOcean",
    "aws": "Amazon Web Services",
    "fastly": "Fastly",
    "datadog": "Datadog",
    "pagerduty": "PagerDuty",
    "gandi": "Gandi",
}
# Where a service runs when it is not in a datacenter, from the `datacenter:` tag on its monitors.
PLACE_NAMES: Final = {"heroku": "Heroku", "aws": "AWS", "osuosl": "OSUOSL"}
# Readable names (singular, plural) of resource types for the providers table. An unknown type shows its own
# name, so a new kind of resource appears in the overview the day the program starts creating it.
TYPE_NOUNS: Final[Mapping[str, tuple[str, str]]] = {
    DROPLET: ("droplet", "droplets"),
    VOLUME: ("volume", "volumes"),
    VOLUME_ATTACHMENT: ("volume attachment", "volume attachments"),
    FIREWALL: ("firewall", "firewalls"),
    VPC: ("VPC", "VPCs"),
    PROJECT: ("project", "projects"),
    PROJECT_RESOURCES: ("project assignment", "project assignments"),
    RESERVED_IP: ("reserved IPv4 address", "reserved IPv4 addresses"),
    RESERVED_IP_ASSIGNMENT: ("reserved address assignment", "reserved address assignments"),
    DO_TAG: ("droplet tag", "droplet tags"),
    DB_CLUSTER: ("PostgreSQL cluster", "PostgreSQL clusters"),
    DB_REPLICA: ("PostgreSQL replica", "PostgreSQL replicas"),
    DB_DATABASE: ("database", "databases"),
    DB_FIREWALL: ("database firewall", "database firewalls"),
    ZONE: ("Route 53 zone", "Route 53 zones"),
    DNS_RECORD: ("DNS record set", "DNS record sets"),
    DNSSEC: ("DNSSEC signing", "DNSSEC signings"),
    "aws:route53/keySigningKey:KeySigningKey": ("DNSSEC key-signing key", "DNSSEC key-signing keys"),
    DELEGATION_SET: ("delegation set", "delegation sets"),
    "aws:kms/key:Key": ("KMS key", "KMS keys"),
    "aws:s3/bucket:Bucket": ("S3 bucket", "S3 buckets"),
    "aws:s3/bucketV2:BucketV2": ("S3 bucket", "S3 buckets"),
    IAM_ROLE: ("IAM role", "IAM roles"),
    IAM_ROLE_POLICY: ("IAM role policy", "IAM role policies"),
    FASTLY_SERVICE: ("VCL service", "VCL services"),
    "fastly:index/serviceDynamicSnippetContent:ServiceDynamicSnippetContent": (
        "dynamic VCL snippet content",
        "dynamic VCL snippet contents",
    ),
    SYNTHETICS: ("synthetics test", "synthetics tests"),
    MONITOR: ("monitor", "monitors"),
    DASHBOARD: ("dashboard", "dashboards"),
    SLO: ("uptime objective", "uptime objectives"),
    FASTLY_METRICS: ("Fastly service registered for metrics", "Fastly services registered for metrics"),
    "datadog:fastly/integrationAccount:IntegrationAccount": (
        "Fastly integration account",
        "Fastly integration accounts",
    ),
    SERVICE_OBJECT: ("PagerDuty service object", "PagerDuty service objects"),
    PD_USER: ("user", "users"),
    PD_SCHEDULE: ("schedule", "schedules"),
    PD_POLICY: ("escalation policy", "escalation policies"),
    PD_SERVICE: ("service", "services"),
    "pagerduty:index/serviceIntegration:ServiceIntegration": ("Datadog integration", "Datadog integrations"),
    "pagerduty:index/userContactMethod:UserContactMethod": ("contact method", "contact methods"),
    "pagerduty:index/userNotificationRule:UserNotificationRule": ("notification rule", "notification rules"),
    GANDI_NAMESERVERS: ("domain's name servers", "domains' name servers"),
    GANDI_DNSSEC_KEY: ("domain's DNSSEC key", "domains' DNSSEC keys"),
}
# Datadog's web app, where a dashboard is found by its title (its ID exists only once it is deployed).
DASHBOARD_SEARCH: Final = "https://app.datadoghq.com/dashboard/lists?q="
# Each S3 bucket setting is its own resource (versioning, encryption, ...); one line says it better than seven.
BUCKET_SETTING_PREFIX: Final = "aws:s3/bucket"
BUCKET_SETTINGS_NOUN: Final = ("bucket setting", "bucket settings")

_PAGERDUTY = re.compile(r"@pagerduty[A-Za-z0-9_.+@-]*")
_LOCATION_LITERAL = re.compile(r'^"(?P<url>[^"]+)"')
_HOST_TEST = re.compile(r'^req\.http\.host == "(?P<host>[^"]+)"$')
_PATH_TEST = re.compile(r'req\.url\.path ~ "(?P<regex>(?:[^"\\]|\\.)*)"')
_NEGATED_TERM = re.compile(r"!\([^()]*\)")


# ----------------------------------------------------------------------------------------------------------------
# Small readers for the plain JSON-like values the recorder keeps.


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in _list(value) if isinstance(v, Mapping)]


def _unique(items: Iterable[str]) -> list[str]:
    """Items in first-seen order, without repeats or blanks."""
    return list(dict.fromkeys(i for i in items if i))


def _plural(count: int, noun: tuple[str, str]) -> str:
    return f"{count} {noun[0] if count == 1 else noun[1]}"


def _id_key(value: Any) -> str:
    # Numbers arrive as floats after the engine's round trip (dropletId 331088119.0); IDs are strings.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _tag_values(record: Record, key: str) -> list[str]:
    """Values of ``key`` tags, whether the provider takes tags as a list (DO, Datadog) or a map (AWS)."""
    tags = record.inputs.get("tags")
    if isinstance(tags, Mapping):
        return [str(tags[key])] if key in tags else []
    prefix = f"{key}:"
    return [t.removeprefix(prefix) for t in _list(tags) if isinstance(t, str) and t.startswith(prefix)]


def _catalog_key(key: str) -> str:
    """The catalog entry a ``service`` tag value names: a standby's (``bugs-standby``) is its role's."""
    role = key.removesuffix(STANDBY_TAG_SUFFIX)
    return role if key not in SERVICES and role in SERVICES else key


def _is_standby(record: Record) -> bool:
    return any(v.endswith(STANDBY_TAG_SUFFIX) and _catalog_key(v) != v for v in _tag_values(record, "service"))


def _service_key(record: Record) -> str | None:
    keys = _tag_values(record, "service")
    return _catalog_key(keys[0]) if keys else None


def _package(type_: str) -> str:
    return type_.split(":", 1)[0]


def _open_to_everyone(sources: Sequence[Any]) -> bool:
    for source in sources:
        try:
            if ipaddress.ip_network(str(source), strict=False).prefixlen == 0:
                return True
        except ValueError:
            continue
    return False


def _checked_url(test: Record) -> str:
    """What a synthetics test checks: its URL, or ``tcp://host:port``."""
    definition = test.inputs.get("requestDefinition")
    definition = definition if isinstance(definition, Mapping) else {}
    if url := _str(definition.get("url")):
        return url
    host, port = _str(definition.get("host")), _id_key(definition.get("port"))
    scheme = _str(test.inputs.get("subtype")) or "tcp"
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def _is_challenge(record: Record) -> bool:
    return is_challenge(_str(record.inputs.get("name")))


def _checked_host(test: Record) -> str:
    return re.sub(r"^[a-z]+://", "", _checked_url(test)).split("/", 1)[0].rsplit(":", 1)[0]


# ----------------------------------------------------------------------------------------------------------------
# The facts, as plain values.


@dataclass(frozen=True)
class DropletGroup:
    """Droplets of one service in one datacenter, of one size and with the same volumes."""

    datacenter: str
    size: str
    hosts: tuple[str, ...]
    volumes: tuple[str, ...]
    standby: bool = False

    @property
    def count(self) -> int:
        """How many droplets."""
        return len(self.hosts)


@dataclass(frozen=True)
class Database:
    """A managed database cluster."""

    datacenter: str
    engine: str
    version: str
    name: str
    nodes: int
    size: str
    replicas: int
    databases: tuple[str, ...]
    clients: tuple[str, ...]


@dataclass(frozen=True)
class Origin:
    """A Fastly backend, named by what it is (a droplet's host name, a bucket, an external host), never an IP."""

    label: str
    kind: str  # "droplet", "bucket" or "external"
    service: str | None = None
    datacenter: str | None = None
    place: str | None = None
    standby: bool = False

    @property
    def where(self) -> str:
        """Where the origin is, in a few words: ``docs, nyc1``, ``Heroku``."""
        if self.kind == "droplet":
            return ", ".join(p for p in (self.service, self.datacenter) if p)
        return "S3" if self.kind == "bucket" else self.place or "external"


@dataclass(frozen=True)
class FastlyService:
    """One Fastly VCL service: its domains, its origins by role, and which of its domains redirect where.

    ``redirects`` are ``(domain, status, target URL)``: a domain answered by a redirect, not the origins.
    """

    name: str
    domains: tuple[str, ...]
    zones: tuple[str, ...]
    primaries: tuple[Origin, ...]
    routes: tuple[tuple[str, tuple[Origin, ...]], ...]
    fallback: tuple[Origin, ...]
    fallback_paths: tuple[str, ...]
    redirects: tuple[tuple[str, int, str], ...]
    log_buckets: tuple[str, ...]
    log_roles: tuple[str, ...]
    standby: tuple[Origin, ...] = ()

    @property
    def origins(self) -> tuple[Origin, ...]:
        """Every origin: primaries, path-routed, standby, fallback."""
        return (*self.primaries, *(o for _, route in self.routes for o in route), *self.standby, *self.fallback)


@dataclass(frozen=True)
class MailExchanger:
    """An MX record's target, and the droplet that answers for it (its own name, or its reserved address's)."""

    domain: str
    target: str
    priority: int
    host: str
    datacenter: str
    standby: bool


@dataclass
class ServiceFacts:
    """Everything the recording says about one catalog service."""

    key: str
    entry: Service
    droplets: list[DropletGroup] = field(default_factory=list)
    databases: list[Database] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    direct_hosts: list[str] = field(default_factory=list)
    edges: list[FastlyService] = field(default_factory=list)
    open_ports: list[str] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    synthetics: list[str] = field(default_factory=list)
    host_monitors: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)
    external_names: list[tuple[str, str, str]] = field(default_factory=list)  # (name, record type, zone)
    mx: list[MailExchanger] = field(default_factory=list)
    log_roles: list[str] = field(default_factory=list)
    # Parts its monitors say are owned outside this program (settings ``ownership``): "edge", "zone".
    owned_elsewhere: list[str] = field(default_factory=list)
    dashboard: str | None = None  # the title of its Datadog dashboard

    @property
    def datacenters(self) -> list[str]:
        """The datacenters its droplets and databases are in."""
        return _unique([*(g.datacenter for g in self.droplets), *(d.datacenter for d in self.databases)])

    @property
    def external_origins(self) -> list[Origin]:
        """Origins of its Fastly services outside this program (not droplets, not buckets)."""
        return [o for e in self.edges for o in e.origins if o.kind == "external"]

    @property
    def site_buckets(self) -> list[str]:
        """Its buckets that its own Fastly services serve from (a static site)."""
        served = {o.label for e in self.edges for o in e.origins if o.kind == "bucket"}
        return [b for b in self.buckets if b in served]

    @property
    def storage_buckets(self) -> list[str]:
        """Its buckets that only hold files (PyPI's files, the CDN logs)."""
        return [b for b in self.buckets if b not in self.site_buckets]

    @property
    def external_place(self) -> str | None:
        """Where it runs outside this program, if it does: Heroku, AWS, OSUOSL."""
        places = _unique([*(o.place or "" for o in self.external_origins)])
        if not places and self.external_names:
            places = [p for p in self.places if p in PLACE_NAMES.values()]
        return ", ".join(places) or None


@dataclass(frozen=True)
class DatacenterFacts:
    """A datacenter as its component and VPC record it."""

    name: str
    provider: str
    region: str
    droplets: int
    services: tuple[str, ...]


@dataclass(frozen=True)
class ZoneFacts:
    """A Route 53 zone."""

    name: str
    internal: bool
    dnssec: bool
    delegation_set: str | None
    record_types: tuple[tuple[str, int], ...]
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class OnCallFacts:
    """The PagerDuty rotation: who is on each schedule, and the escalation policy's steps."""

    schedules: tuple[tuple[str, tuple[str, ...]], ...]  # (schedule name, user names in rotation order)
    steps: tuple[tuple[int, str], ...]  # (minutes at the step, what it pages)
    services: tuple[str, ...]  # Datadog service objects: the handles' names


@dataclass(frozen=True)
class ProviderUse:
    """What the program creates with one provider package."""

    package: str
    name: str
    resources: int
    nouns: tuple[str, ...]


@dataclass(frozen=True)
class Estate:
    """Everything the overview and the diagram show, derived from one recording."""

    stack: str
    providers: tuple[ProviderUse, ...]
    datacenters: tuple[DatacenterFacts, ...]
    services: tuple[ServiceFacts, ...]
    unplaced: tuple[str, ...]
    zones: tuple[ZoneFacts, ...]
    name_server_output: str | None
    pagerduty: tuple[str, ...]
    paging_checks: int
    other: tuple[Record, ...]
    on_call: OnCallFacts | None = None
    estate_dashboard: str | None = None
    fastly_metrics: int = 0
    # Domains whose delegation this program writes at the registrar, with whether it publishes their DS key.
    registrar_managed: tuple[tuple[str, bool], ...] = ()

    def service(self, key: str) -> ServiceFacts:
        """The facts of one placed service."""
        for facts in self.services:
            if facts.key == key:
                return facts
        raise KeyError(f"service {key!r} is not placed in stack {self.stack!r}")

    @property
    def registered_zones(self) -> list[str]:
        """Zones that are domains of their own, registered at the registrar (not subdomains of another)."""
        # Two labels is a registrable domain for every TLD the PSF uses (.org, .net, .io).
        return [z.name for z in self.zones if z.name.count(".") == 1]


# ----------------------------------------------------------------------------------------------------------------
# Deriving the facts from the records.


class _Index:
    """Lookups over one recording, with its records in a canonical order (URN order, not registration order)."""

    def __init__(self, recording: Recording) -> None:
        self.records = sorted(recording.records, key=lambda r: r.urn)
        self.children: dict[str, list[Record]] = {}
        for record in self.records:
            if record.parent:
                self.children.setdefault(record.parent, []).append(record)
        self.droplets = [r for r in self.records if r.type == DROPLET]
        self.droplet_by_name = {_str(d.inputs.get("name")): d for d in self.droplets}
        # The recorded addresses are made up, but the program wires the same value into a backend's address
        # as the droplet reports, so they still say which droplet a backend is.
        self.droplet_by_ip = {_str(d.outputs.get("ipv4Address")): d for d in self.droplets}
        self.droplet_by_id = {_id_key(d.id): d for d in self.droplets}
        # A reserved address stands for the droplet it is assigned to.
        for assignment in (r for r in self.records if r.type == RESERVED_IP_ASSIGNMENT):
            droplet = self.droplet_by_id.get(_id_key(assignment.inputs.get("dropletId")))
            if droplet is not None:
                self.droplet_by_ip[_str(assignment.inputs.get("ipAddress"))] = droplet
        self.zone_by_id: dict[str, Record] = {}
        for zone in (r for r in self.records if r.type == ZONE):
            for zone_id in (zone.outputs.get("zoneId"), zone.id):
                if zone_id:
                    self.zone_by_id[str(zone_id)] = zone
        self.bucket_by_endpoint: dict[str, str] = {}
        for bucket in (r for r in self.records if r.type in BUCKET_TYPES):
            for attribute in ("bucketRegionalDomainName", "bucketDomainName"):
                if endpoint := _str(bucket.outputs.get(attribute)):
                    self.bucket_by_endpoint[endpoint] = _str(bucket.inputs.get("bucket")) or bucket.name
        for website in (r for r in self.records if r.type == WEBSITE):
            if endpoint := _str(website.outputs.get("websiteEndpoint")):
                self.bucket_by_endpoint[endpoint] = _str(website.inputs.get("bucket"))
        # Uptime checks name the hosts they watch and their tags name the service: the bridge to the catalog
        # for parts with no tag of their own.
        self.key_by_checked_host: dict[str, str] = {}
        for test in (r for r in self.records if r.type == SYNTHETICS):
            if (key := _service_key(test)) is not None:
                self.key_by_checked_host.setdefault(_checked_host(test), key)
        self.zone_by_host: dict[str, str] = {}
        for record in (r for r in self.records if r.type == DNS_RECORD):
            if _str(record.inputs.get("type")) in ADDRESS_RECORD_TYPES and not _is_challenge(record):
                self.zone_by_host.setdefault(_str(record.inputs.get("name")), self.zone_name(record))
        # The zone that holds the droplets' own names is the internal one.
        self.internal_zones = {self.zone_by_host[name] for name in self.droplet_by_name if name in self.zone_by_host}

    def of_type(self, type_: str) -> list[Record]:
        """Records of one type, in canonical order."""
        return [r for r in self.records if r.type == type_]

    def subtree(self, record: Record) -> list[Record]:
        """``record`` and everything below it, in canonical order."""
        found = [record]
        for child in self.children.get(record.urn, []):
            found += self.subtree(child)
        return sorted(found, key=lambda r: r.urn)

    def zone_name(self, record: Record) -> str:
        """The zone a DNS record is in, by the zone ID the program wired into it."""
        zone = self.zone_by_id.get(_str(record.inputs.get("zoneId")))
        return _str(zone.inputs.get("name")) if zone else ""

    def origin(self, backend: Mapping[str, Any], place: str | None) -> Origin:
        """What a Fastly backend points at: a droplet, a bucket, or a host outside this program."""
        address = _str(backend.get("address"))
        tls_name = _str(backend.get("sslCertHostname")) or _str(backend.get("sslSniHostname"))
        droplet = (
            self.droplet_by_ip.get(address) or self.droplet_by_name.get(address) or self.droplet_by_name.get(tls_name)
        )
        if droplet is not None:
            return Origin(
                _str(droplet.inputs.get("name")),
                "droplet",
                _service_key(droplet),
                droplet.datacenter,
                standby=_is_standby(droplet),
            )
        if bucket := self.bucket_by_endpoint.get(address):
            return Origin(bucket, "bucket")
        return Origin(address, "external", place="Heroku" if address.endswith(HEROKU_SUFFIX) else place)


def _units(index: _Index) -> list[Record]:
    """The parts the estate is built from: what sits directly inside a datacenter or the global component."""
    stacks = {r.urn for r in index.records if r.type == STACK_TYPE}
    grouping = {r.urn for r in index.records if not r.custom and r.parent in stacks}
    return [r for r in index.records if r.parent in grouping and not r.is_provider]


def _unit_key(index: _Index, members: Sequence[Record]) -> str | None:
    """The catalog key a part belongs to: its own ``service`` tags, else the check that watches its names."""
    tagged = _unique(_catalog_key(k) for m in members for k in _tag_values(m, "service"))
    if len(tagged) == 1:
        return tagged[0]
    if any(m.type in (ZONE, DELEGATION_SET) for m in members):
        return DNS_SERVICE_KEY
    hosts = [_str(d.get("name")) for m in members if m.type == FASTLY_SERVICE for d in _dicts(m.inputs.get("domains"))]
    hosts += [_str(m.inputs.get("name")) for m in members if m.type == DNS_RECORD and not _is_challenge(m)]
    keys = _unique(index.key_by_checked_host.get(h, "") for h in hosts)
    return keys[0] if len(keys) == 1 else None


def _fastly_service(index: _Index, vcl: Record, place: str | None) -> FastlyService:
    inputs = vcl.inputs
    conditions = {_str(c.get("name")): _str(c.get("statement")) for c in _dicts(inputs.get("conditions"))}
    primaries: list[Origin] = []
    routes: dict[str, list[Origin]] = {}
    fallback: list[Origin] = []
    standby: list[Origin] = []
    for backend in _dicts(inputs.get("backends")):
        origin = index.origin(backend, place)
        condition = _str(backend.get("requestCondition"))
        if not condition:
            primaries.append(origin)
        elif condition == FALLBACK_CONDITION:
            fallback.append(origin)
        elif condition == STANDBY_CONDITION:
            standby.append(origin)
        else:
            routes.setdefault(condition.removeprefix(ROUTE_CONDITION_PREFIX), []).append(origin)
    fallback_paths: list[str] = []
    if fallback:
        # Only the positive path tests: a "!(...)" term keeps path-routed traffic away from the fallback.
        positive = _NEGATED_TERM.sub("", conditions.get(FALLBACK_CONDITION, ""))
        fallback_paths = [m.group("regex").replace("\\\\", "\\") for m in _PATH_TEST.finditer(positive)]
    # A redirecting domain: a response object under a Host test, and a Location header under the same test.
    location_of: dict[str, str] = {}
    for header in _dicts(inputs.get("headers")):
        host = _HOST_TEST.match(conditions.get(_str(header.get("responseCondition")), ""))
        if host is not None and _str(header.get("destination")) == "http.Location":
            match = _LOCATION_LITERAL.match(_str(header.get("source")))
            location_of[host.group("host")] = match.group("url") if match else _str(header.get("source"))
    redirects: list[tuple[str, int, str]] = []
    for response in _dicts(inputs.get("responseObjects")):
        host = _HOST_TEST.match(conditions.get(_str(response.get("requestCondition")), ""))
        if host is not None and "status" in response and host.group("host") in location_of:
            redirects.append((host.group("host"), int(response["status"]), location_of[host.group("host")]))
    logging = _dicts(inputs.get("loggingS3s"))
    domains = tuple(_unique(_str(d.get("name")) for d in _dicts(inputs.get("domains"))))
    return FastlyService(
        name=_str(inputs.get("name")) or vcl.name,
        domains=domains,
        zones=tuple(_unique(index.zone_by_host.get(d, "") for d in domains)),
        primaries=tuple(primaries),
        routes=tuple((prefix, tuple(origins)) for prefix, origins in routes.items()),
        fallback=tuple(fallback),
        fallback_paths=tuple(fallback_paths),
        redirects=tuple(redirects),
        log_buckets=tuple(_unique(_str(x.get("bucketName")) for x in logging)),
        # The role's ARN carries the (mock) account ID; its name is what people look for.
        log_roles=tuple(_unique(_str(x.get("s3IamRole")).rsplit("role/", 1)[-1] for x in logging)),
        standby=tuple(standby),
    )


def _droplet_groups(index: _Index, members: Sequence[Record]) -> list[DropletGroup]:
    volumes = {_id_key(v.id): v for v in members if v.type == VOLUME}
    volumes_of: dict[str, list[str]] = {}
    for attachment in (m for m in members if m.type == VOLUME_ATTACHMENT):
        droplet = index.droplet_by_id.get(_id_key(attachment.inputs.get("dropletId")))
        volume = volumes.get(_id_key(attachment.inputs.get("volumeId")))
        if droplet is not None and volume is not None:
            # A volume's logical name is its droplet's plus a label (nyc1-hg-1-repos): the label says what it holds.
            label = volume.name.removeprefix(f"{droplet.name}-")
            volumes_of.setdefault(droplet.urn, []).append(f"`{label}` ({_id_key(volume.inputs.get('size'))} GiB)")
    groups: dict[tuple[str, str, tuple[str, ...], bool], list[str]] = {}
    for droplet in sorted((m for m in members if m.type == DROPLET), key=lambda d: _str(d.inputs.get("name"))):
        key = (
            droplet.datacenter or "",
            _str(droplet.inputs.get("size")),
            tuple(sorted(volumes_of.get(droplet.urn, []))),
            _is_standby(droplet),
        )
        groups.setdefault(key, []).append(_str(droplet.inputs.get("name")))
    return [
        DropletGroup(dc, size, tuple(hosts), volumes, standby) for (dc, size, volumes, standby), hosts in groups.items()
    ]


def _open_ports(members: Sequence[Record]) -> list[str]:
    """Ports a firewall opens to the whole internet: what is reachable without Fastly in between."""
    ports: list[str] = []
    for firewall in (m for m in members if m.type == FIREWALL):
        for rule in _dicts(firewall.inputs.get("inboundRules")):
            protocol = _str(rule.get("protocol"))
            if protocol != "icmp" and _open_to_everyone(_list(rule.get("sourceAddresses"))):
                ports.append(f"{protocol}/{_str(rule.get('portRange'))}")
    return _unique(ports)


def _databases(members: Sequence[Record], clients_by_tag: Mapping[str, list[str]]) -> list[Database]:
    found: list[Database] = []
    for cluster in (m for m in members if m.type == DB_CLUSTER):
        tags = [
            _str(rule.get("value"))
            for fw in members
            if fw.type == DB_FIREWALL
            for rule in _dicts(fw.inputs.get("rules"))
            if _str(rule.get("type")) == "tag"
        ]
        engine = _str(cluster.inputs.get("engine"))
        found.append(
            Database(
                datacenter=cluster.datacenter or "",
                engine={"pg": "PostgreSQL", "mysql": "MySQL", "redis": "Redis"}.get(engine, engine),
                version=_str(cluster.inputs.get("version")),
                name=_str(cluster.inputs.get("name")),
                nodes=int(cluster.inputs.get("nodeCount") or 1),
                size=_str(cluster.inputs.get("size")),
                replicas=sum(1 for m in members if m.type == DB_REPLICA),
                databases=tuple(sorted(_str(m.inputs.get("name")) for m in members if m.type == DB_DATABASE)),
                clients=tuple(sorted({k for tag in tags for k in clients_by_tag.get(tag, [])})),
            )
        )
    return found


def describe(recording: Recording) -> Estate:
    """Every fact the overview shows, derived from ``recording`` (and the catalog for people)."""
    index = _Index(recording)
    facts: dict[str, ServiceFacts] = {}

    # Monitors first: their `datacenter` tag says where a service runs when it is not on droplets.
    datacenters = {r.name for r in index.records if r.datacenter == r.name}
    for record in (r for r in index.records if r.type in (SYNTHETICS, MONITOR)):
        key = _service_key(record)
        if key is None or key not in SERVICES:
            continue
        s = _facts_of(facts, key)
        if record.type == SYNTHETICS and _str(record.inputs.get("subtype")) == "ssl":
            pass  # certificate checks: the certificates table shows them
        elif record.type == SYNTHETICS:
            s.synthetics = sorted({*s.synthetics, _checked_url(record)})
        else:
            s.host_monitors = sorted({*s.host_monitors, _str(record.inputs.get("name"))})
        for kind in ("edge", "zone"):
            if "external" in _tag_values(record, kind):
                s.owned_elsewhere = _unique([*s.owned_elsewhere, kind])
        for place in _tag_values(record, "datacenter"):
            if place not in datacenters:
                s.places = _unique([*s.places, PLACE_NAMES.get(place, place)])

    # Which services carry a droplet tag, to say who a database firewall admits.
    clients_by_tag: dict[str, list[str]] = {}
    for droplet in index.droplets:
        if (key := _service_key(droplet)) is not None:
            for tag in _list(droplet.inputs.get("tags")):
                clients_by_tag.setdefault(str(tag), []).append(key)

    other: list[Record] = []
    for unit in _units(index):
        members = index.subtree(unit)
        if unit.type in (VPC, PROJECT, PROJECT_RESOURCES) and unit.datacenter:
            continue  # a datacenter's own network and project: the datacenters table shows them
        if unit.type == DO_TAG:
            continue  # the stack's droplet tags, which firewall rules name: no service's own
        if all(m.type in WATCHING_TYPES for m in members if m.custom):
            continue  # monitors, dashboards and their kind: attributed above, by their own tags
        if any(m.type.startswith("pagerduty:") for m in members):
            continue  # the on-call rotation: a section of its own
        if any(m.type == GANDI_NAMESERVERS for m in members):
            continue  # a domain's delegation at the registrar: the providers table says which
        key = _unit_key(index, members)
        if key is None or key not in SERVICES:
            other.append(unit)
            continue
        s = _facts_of(facts, key)
        if key == DNS_SERVICE_KEY:
            continue  # zones have a section of their own
        place = s.places[0] if s.places else None
        s.droplets += _droplet_groups(index, members)
        s.databases += _databases(members, clients_by_tag)
        s.open_ports = _unique([*s.open_ports, *_open_ports(members)])
        s.buckets = _unique([*s.buckets, *(_str(m.inputs.get("bucket")) for m in members if m.type in BUCKET_TYPES)])
        for vcl in (m for m in members if m.type == FASTLY_SERVICE):
            edge = _fastly_service(index, vcl, place)
            s.edges.append(edge)
            s.hosts = _unique([*s.hosts, *edge.domains])
            s.zones = _unique([*s.zones, *edge.zones])
        for record in (m for m in members if m.type == DNS_RECORD):
            name, kind, zone = _str(record.inputs.get("name")), _str(record.inputs.get("type")), index.zone_name(record)
            if kind not in ADDRESS_RECORD_TYPES or _is_challenge(record):
                continue  # a certificate's ACME challenge is no host: the certificates table shows it
            s.zones = _unique([*s.zones, zone])
            if name in index.droplet_by_name or name in s.hosts:
                continue
            if record is unit:
                # A bare record outside any component: the name of a machine this program does not provision.
                s.external_names.append((name, kind, zone))
            else:
                s.hosts.append(name)
                s.direct_hosts.append(name)

    _attach_log_roles(index, facts, other)
    _attach_mail(index, facts)
    estate_dashboard = None
    for board in index.records:
        if board.type != DASHBOARD:
            continue
        document = json.loads(_str(board.inputs.get("dashboard")) or "{}")
        keys = _unique(re.findall(r'tag:\\?"service:([^"\\]+)', _str(board.inputs.get("dashboard"))))
        if len(keys) == 1 and keys[0] in facts:
            facts[keys[0]].dashboard = _str(document.get("title"))
        elif not keys:
            estate_dashboard = _str(document.get("title"))
    return Estate(
        stack=recording.stack,
        providers=_providers(index),
        datacenters=_datacenters(index, facts),
        services=tuple(facts[k] for k in SERVICES if k in facts),
        unplaced=tuple(k for k in SERVICES if k not in facts),
        zones=_zones(index, facts),
        name_server_output=_name_server_output(recording),
        pagerduty=tuple(
            sorted(
                {h for r in index.records if r.type in (MONITOR, SYNTHETICS) for h in _PAGERDUTY.findall(_message(r))}
            )
        ),
        paging_checks=sum(
            1 for r in index.records if r.type in (MONITOR, SYNTHETICS) and _PAGERDUTY.search(_message(r))
        ),
        other=tuple(other),
        on_call=_on_call(index),
        estate_dashboard=estate_dashboard,
        fastly_metrics=sum(1 for r in index.records if r.type == FASTLY_METRICS),
        registrar_managed=tuple(
            (domain, domain in {_str(k.inputs.get("domain")) for k in index.of_type(GANDI_DNSSEC_KEY)})
            for domain in sorted(_str(n.inputs.get("domain")) for n in index.of_type(GANDI_NAMESERVERS))
        ),
    )


def _on_call(index: _Index) -> OnCallFacts | None:
    """The rotation as the recording holds it: schedules by user name, the policy's steps, the service objects."""
    users = {r.id: _str(r.inputs.get("name")) for r in index.records if r.type == PD_USER}
    schedules = {r.id: r for r in index.records if r.type == PD_SCHEDULE}
    policies = [r for r in index.records if r.type == PD_POLICY]
    if not policies:
        return None
    steps: list[tuple[int, str]] = []
    for rule in _dicts(policies[0].inputs.get("rules")):
        targets = []
        for target in _dicts(rule.get("targets")):
            ident = _str(target.get("id"))
            if ident in schedules:
                targets.append(f"schedule {_str(schedules[ident].inputs.get('name'))}")
            else:
                email = _str(next((r.inputs.get("email") for r in index.records if r.id == ident), ""))
                targets.append(f"{users.get(ident, ident)} ({email})" if "@" in email else users.get(ident, ident))
        steps.append((int(rule.get("escalationDelayInMinutes") or 0), ", ".join(targets)))
    order = [_str(t.get("id")) for rule in _dicts(policies[0].inputs.get("rules")) for t in _dicts(rule.get("targets"))]
    paged = sorted(schedules, key=lambda ident: order.index(ident) if ident in order else len(order))
    return OnCallFacts(
        schedules=tuple(
            (
                _str(schedules[ident].inputs.get("name")),
                tuple(
                    users.get(_str(u), _str(u))
                    for layer in _dicts(schedules[ident].inputs.get("layers"))
                    for u in _list(layer.get("users"))
                ),
            )
            for ident in paged
        ),
        steps=tuple(steps),
        services=tuple(sorted(_str(r.inputs.get("serviceName")) for r in index.records if r.type == SERVICE_OBJECT)),
    )


def _dashboard_link(title: str) -> str:
    return f"[{title}]({DASHBOARD_SEARCH}{quote(title)})"


def _monitoring_section(estate: Estate) -> list[str]:
    lines = ["## Monitoring and on call", ""]
    if estate.estate_dashboard:
        lines.append(
            f"Datadog dashboard of the whole estate: {_dashboard_link(estate.estate_dashboard)} (every public "
            "service's uptime, host health per datacenter"
            + (", the CDN" if estate.fastly_metrics else "")
            + "). Every service has its own, linked from its section below and from every message of its monitors."
        )
    if estate.fastly_metrics:
        lines.append(
            "Datadog's Fastly integration reads "
            + _plural(estate.fastly_metrics, ("Fastly service", "Fastly services"))
            + " (requests, hit ratio, 5xx, time to the origin on a miss)."
        )
    lines.append("")
    if estate.on_call is None:
        lines += ["This stack pages no one: no alert names a PagerDuty handle and nothing exists in PagerDuty.", ""]
        return lines
    on_call = estate.on_call
    lines.append(
        f"{estate.paging_checks} Datadog monitors and uptime checks page {_code(estate.pagerduty)}; Datadog's "
        f"PagerDuty service object{'s' if len(on_call.services) > 1 else ''} {_code(on_call.services)} hold"
        f"{'' if len(on_call.services) > 1 else 's'} the key of a PagerDuty service on this escalation policy:"
    )
    lines.append("")
    lines += [f"{n}. {target}, for {minutes} minutes" for n, (minutes, target) in enumerate(on_call.steps, 1)]
    lines.append("")
    lines += ["| Weekly schedule | In rotation order |", "|---|---|"]
    lines += [f"| {name} | {_cell(', '.join(people))} |" for name, people in on_call.schedules]
    lines.append("")
    return lines


def _message(record: Record) -> str:
    return _str(record.inputs.get("message"))


def _attach_log_roles(index: _Index, facts: Mapping[str, ServiceFacts], other: list[Record]) -> None:
    """The IAM role Fastly assumes to write logs belongs with the bucket it writes to, and so does its policy."""
    bucket_owner = {b: s for s in facts.values() for b in s.buckets}
    for edge in (e for s in facts.values() for e in s.edges):
        owners = [bucket_owner[b] for b in edge.log_buckets if b in bucket_owner]
        for role_name in edge.log_roles:
            roles = [r for r in other if r.type == IAM_ROLE and _str(r.inputs.get("name")) == role_name]
            if not owners or not roles:
                continue
            owners[0].log_roles = _unique([*owners[0].log_roles, role_name])
            role_ids = {_id_key(r.id) for r in roles}
            attached = [r for r in other if r.type == IAM_ROLE_POLICY and _id_key(r.inputs.get("role")) in role_ids]
            other[:] = [r for r in other if r not in roles and r not in attached]


def _facts_of(facts: dict[str, ServiceFacts], key: str) -> ServiceFacts:
    """The facts gathered so far for a catalog key, started empty on first use."""
    if key not in facts:
        facts[key] = ServiceFacts(key, SERVICES[key])
    return facts[key]


def _attach_mail(index: _Index, facts: dict[str, ServiceFacts]) -> None:
    """MX records name the droplets that receive a domain's mail: that is the mail service's.

    A target is a droplet's own name, or the name of a reserved address assigned to one (mx.ams1).
    """
    addresses = {
        _str(r.inputs.get("name")): [_str(v) for v in _list(r.inputs.get("records"))]
        for r in index.of_type(DNS_RECORD)
        if _str(r.inputs.get("type")) == "A"
    }
    for mx in (r for r in index.records if r.type == DNS_RECORD and _str(r.inputs.get("type")) == "MX"):
        for value in _list(mx.inputs.get("records")):
            parts = _str(value).split()
            if len(parts) != 2 or not parts[0].isdigit():
                continue
            target = parts[1].rstrip(".")
            droplet = index.droplet_by_name.get(target) or next(
                (index.droplet_by_ip[a] for a in addresses.get(target, []) if a in index.droplet_by_ip), None
            )
            key = _service_key(droplet) if droplet is not None else None
            if droplet is None or key is None or key not in SERVICES:
                continue
            s = _facts_of(facts, key)
            exchanger = MailExchanger(
                _str(mx.inputs.get("name")),
                target,
                int(parts[0]),
                _str(droplet.inputs.get("name")),
                droplet.datacenter or "",
                _is_standby(droplet),
            )
            s.mx = sorted({*s.mx, exchanger}, key=lambda m: (m.domain, m.priority, m.target))
            s.zones = _unique([*s.zones, index.zone_name(mx)])


def _providers(index: _Index) -> tuple[ProviderUse, ...]:
    counts: dict[str, Counter[tuple[str, str]]] = {}
    for record in index.records:
        if not record.custom or record.is_provider or record.type == STACK_TYPE:
            continue
        noun = TYPE_NOUNS.get(record.type)
        if noun is None:
            is_setting = record.type.startswith(BUCKET_SETTING_PREFIX)
            noun = BUCKET_SETTINGS_NOUN if is_setting else (record.type, record.type)
        counts.setdefault(_package(record.type), Counter())[noun] += 1
    packages = [p for p in PROVIDER_NAMES if p in counts] + sorted(p for p in counts if p not in PROVIDER_NAMES)
    return tuple(
        ProviderUse(
            package=p,
            name=PROVIDER_NAMES.get(p, p),
            resources=sum(counts[p].values()),
            nouns=tuple(_plural(n, noun) for noun, n in sorted(counts[p].items(), key=lambda kv: (-kv[1], kv[0]))),
        )
        for p in packages
    )


def _datacenters(index: _Index, facts: Mapping[str, ServiceFacts]) -> tuple[DatacenterFacts, ...]:
    found: list[DatacenterFacts] = []
    for dc in sorted((r for r in index.records if not r.custom and r.datacenter == r.name), key=lambda r: r.name):
        vpcs = [r for r in index.of_type(VPC) if r.datacenter == dc.name]
        found.append(
            DatacenterFacts(
                name=dc.name,
                provider=PROVIDER_NAMES.get(_package(vpcs[0].type), "") if vpcs else "",
                region=_str(vpcs[0].inputs.get("region")).upper() if vpcs else "",
                droplets=sum(1 for d in index.droplets if d.datacenter == dc.name),
                services=tuple(k for k in SERVICES if k in facts and dc.name in facts[k].datacenters),
            )
        )
    return tuple(found)


def _zones(index: _Index, facts: Mapping[str, ServiceFacts]) -> tuple[ZoneFacts, ...]:
    signed = {_str(r.inputs.get("hostedZoneId")) for r in index.of_type(DNSSEC)}
    delegation = {
        _id_key(r.outputs.get("id") or r.id): _str(r.inputs.get("referenceName")) or r.name
        for r in index.of_type(DELEGATION_SET)
    }
    public_hosts = {h for s in facts.values() for h in s.hosts}
    hosts: dict[str, set[str]] = {}
    kinds: dict[str, Counter[str]] = {}
    for record in index.of_type(DNS_RECORD):
        zone, name = index.zone_name(record), _str(record.inputs.get("name"))
        kinds.setdefault(zone, Counter())[_str(record.inputs.get("type"))] += 1
        if name in public_hosts:
            hosts.setdefault(zone, set()).add(name)
    zones: list[ZoneFacts] = []
    for zone in index.of_type(ZONE):
        name = _str(zone.inputs.get("name"))
        zones.append(
            ZoneFacts(
                name=name,
                internal=name in index.internal_zones,
                dnssec=bool({_id_key(zone.outputs.get("zoneId")), _id_key(zone.id)} & signed),
                delegation_set=delegation.get(_str(zone.inputs.get("delegationSetId"))),
                record_types=tuple(sorted(kinds.get(name, Counter()).items())),
                hosts=tuple(sorted(hosts.get(name, set()))),
            )
        )
    return tuple(sorted(zones, key=lambda z: (z.internal, z.name)))


def _name_server_output(recording: Recording) -> str | None:
    """The stack output that maps every zone to its name servers: the values to hand to the registrar."""
    zones = {_str(z.inputs.get("name")) for z in recording.of_type(ZONE)}
    for key, value in sorted(recording.stack_outputs.items()):
        # Name servers are lists; other per-zone outputs (the DS records) are not.
        if (
            zones
            and isinstance(value, Mapping)
            and zones <= set(value)
            and all(isinstance(v, list) for v in value.values())
        ):
            return key
    return None


# ----------------------------------------------------------------------------------------------------------------
# Markdown.


def _code(items: Iterable[str]) -> str:
    return ", ".join(f"`{i}`" for i in items)


def _cell(text: str) -> str:
    # A table cell can hold neither a pipe nor a line break.
    return text.replace("|", "\\|").replace("\n", " ")


def _anchor(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _command(stack: str) -> str:
    return "python -m offline.docs" if stack == DEFAULT_STACK else f"python -m offline.docs --stack {stack}"


def _runs_on_short(s: ServiceFacts, estate: Estate) -> str:
    """Where a service runs, in a few words, for the summary table."""
    parts = [f"{g.datacenter}: {g.count} {TIMES} {g.size}" for g in s.droplets]
    parts += [f"{d.datacenter}: {d.engine} {d.size}" + (" + replica" if d.replicas else "") for d in s.databases]
    if s.site_buckets:
        parts.append("S3")
    if s.external_place:
        parts.append(s.external_place)
    if not parts and s.storage_buckets:
        parts.append("S3")
    if s.key == DNS_SERVICE_KEY and estate.zones:
        parts.append("Route 53")
    return "; ".join(_unique(parts)) or "—"


def _origins_text(origins: Sequence[Origin]) -> str:
    by_where: dict[str, list[str]] = {}
    for origin in origins:
        label = f"S3 bucket `{origin.label}`" if origin.kind == "bucket" else f"`{origin.label}`"
        by_where.setdefault(origin.where, []).append(label)
    return "; ".join(", ".join(labels) + ("" if where == "S3" else f" ({where})") for where, labels in by_where.items())


def _edge_lines(edge: FastlyService) -> list[str]:
    """One line for a Fastly service, and one more per path route and fallback."""
    head = f"`{edge.name}` for {', '.join(edge.domains)}"
    lines = [f"{head}: origin{'s' if len(edge.primaries) > 1 else ''} {_origins_text(edge.primaries)}"]
    lines += [
        f"{domain} answers every request with a {status} redirect to {url}" for domain, status, url in edge.redirects
    ]
    lines += [f"`{prefix}` goes to {_origins_text(origins)}" for prefix, origins in edge.routes]
    if edge.standby:
        lines.append(f"standby, used only while the primary is unhealthy: {_origins_text(edge.standby)}")
    if edge.fallback:
        scope = f", for paths matching {_code(edge.fallback_paths)} only" if edge.fallback_paths else ""
        when = "the primary and the standby are" if edge.standby else "every origin is"
        lines.append(f"fallback when {when} down: {_origins_text(edge.fallback)}{scope}")
    return lines


def _host_monitors_text(names: Sequence[str]) -> str:
    # The names share a "[prod] docs: " prefix; say it once.
    prefix = names[0].split(": ", 1)[0] + ": " if names and all(": " in n for n in names) else ""
    # Host monitors alert per host; others (DNSSEC, per hosted zone) watch a provider's metrics.
    kind = "host monitors" if all("{{host.name}}" in n for n in names) else "monitors"
    if prefix and all(n.startswith(prefix) for n in names):
        return f"{kind} named `{prefix}…`: " + "; ".join(n.removeprefix(prefix) for n in names)
    return f"{kind} {_code(names)}"


def _service_section(s: ServiceFacts, estate: Estate) -> list[str]:
    entry = s.entry
    zones = {z.name: z for z in estate.zones}
    lines = [f"### {entry.title}", "", f"{entry.summary} Catalog key: `{s.key}`.", ""]
    where: list[str] = []
    for g in s.droplets:
        text = f"{g.datacenter}, {_plural(g.count, ('droplet', 'droplets'))} of size `{g.size}`: {', '.join(g.hosts)}"
        if g.standby:
            text = f"{_standby_title(s.key)} in {text}"
        if g.volumes:
            noun = "volume" if len(g.volumes) == 1 else "volumes"
            text += f", {'each with' if g.count > 1 else 'with'} {noun} {', '.join(g.volumes)}"
        where.append(text)
    for d in s.databases:
        text = f"{d.datacenter}, managed {d.engine} {d.version} `{d.name}`: {d.nodes} {TIMES} `{d.size}`"
        if d.replicas:
            text += f" and {_plural(d.replicas, ('read replica', 'read replicas'))}"
        if d.databases:
            text += f"; databases {', '.join(d.databases)}"
        if d.clients:
            text += f"; its firewall admits {', '.join(d.clients)}"
        where.append(text)
    where += [f"S3 bucket `{b}`, served through Fastly" for b in s.site_buckets]
    if s.external_place:
        names = _unique(
            [*(o.label for o in s.external_origins), *(f"{n} ({k} record in {z})" for n, k, z in s.external_names)]
        )
        where.append(f"{s.external_place}, not provisioned here: {', '.join(names)}")
    if s.key == DNS_SERVICE_KEY:
        where.append(f"Amazon Route 53, {len(estate.zones)} zones (see [DNS zones](#dns-zones))")
    if s.owned_elsewhere:
        parts = {"edge": "its Fastly service", "zone": "its DNS zone"}
        owned = " and ".join(parts[k] for k in s.owned_elsewhere)
        where.append(f"owned outside this program (settings `ownership`): {owned}, not provisioned here; watched here")
    storage = [f"S3 bucket `{b}`" for b in s.storage_buckets]
    if not where:
        where, storage = storage, []
    lines.append("- **Runs on:** " + ("; ".join(where) if where else "—"))
    if storage:
        lines.append(f"- **Storage:** {'; '.join(storage)}")
    if s.log_roles:
        writers = [e for o in estate.services for e in o.edges if set(e.log_buckets) & set(s.buckets)]
        services = _plural(len(writers), ("Fastly service", "Fastly services"))
        lines.append(f"- **Written by:** the request logs of {services}, through IAM role {_code(s.log_roles)}")
    if s.hosts:
        lines.append(f"- **Public hosts:** {', '.join(s.hosts)}")
    if serves := _origin_for(estate, s.key):
        lines.append(f"- **Origin for:** {'; '.join(serves)}")
    if s.edges:
        lines.append("- **Fastly:**")
        for edge in s.edges:
            first, *rest = _edge_lines(edge)
            lines.append(f"  - {first}")
            lines += [f"    - {line}" for line in rest]
    elif s.direct_hosts:
        lines.append("- **Fastly:** no: the public names point straight at the droplets")
    if s.open_ports:
        lines.append(f"- **Open to the internet directly:** {', '.join(s.open_ports)}")
    lines += _role_lines(s)
    if s.mx:
        exchangers = [
            f"{m.target} (priority {m.priority}, {_standby_title(s.key) + ' ' if m.standby else ''}{m.host}, "
            f"{m.datacenter})"
            for m in s.mx
        ]
        domains = ", ".join(_unique(m.domain for m in s.mx))
        lines.append(f"- **Receives mail:** MX of {domains}: {'; '.join(exchangers)}")
    public = [z for z in s.zones if z in zones and not zones[z].internal]
    internal = [z for z in s.zones if z in zones and zones[z].internal]
    if s.droplets and internal:
        zone_text = ", ".join(public) + ("; " if public else "") + f"droplet names in {', '.join(internal)}"
    else:
        zone_text = ", ".join([*public, *internal])
    if zone_text:
        lines.append(f"- **DNS zones:** {zone_text}")
    checks = [f"uptime checks {_code(s.synthetics)}"] if s.synthetics else []
    if s.host_monitors:
        checks.append(_host_monitors_text(s.host_monitors))
    lines.append(f"- **Monitors:** {'; '.join(checks) if checks else 'none'}")
    if s.dashboard:
        lines.append(f"- **Dashboard:** {_dashboard_link(s.dashboard)}")
    lines.append(f"- **Owners:** {', '.join(entry.owners)}")
    lines.append(f"- **Contact:** {entry.contact}")
    lines.append("")
    return lines


def _standby_title(key: str) -> str:
    role = roles.role(key)
    return role.standby.title if role is not None and role.standby is not None else "standby"


def _role_lines(s: ServiceFacts) -> list[str]:
    """Why a role runs on one server, and its standby or the reason it has none (from the role in stacks/)."""
    role = roles.role(s.key)
    if role is None or role.single is None:
        return []
    lines = [f"- **One server:** {role.single}"]
    standby = next((g for g in s.droplets if g.standby), None)
    if role.standby is not None and standby is not None:
        title = role.standby.title[:1].upper() + role.standby.title[1:]
        lines.append(f"- **{title}:** {', '.join(standby.hosts)} in {standby.datacenter} ({role.standby.placement})")
        lines.append(f"  - keeps up by: {role.standby.sync}")
        lines.append(f"  - psf-salt: {role.standby.psf_salt}")
    if role.no_standby is not None:
        lines.append(f"- **No standby{' for the web' if standby is not None else ''}:** {role.no_standby}")
    return lines


def _origin_for(estate: Estate, key: str) -> list[str]:
    """Other services' Fastly services that use this service's droplets: a path route, a fallback."""
    uses: list[str] = []
    for other in (s for s in estate.services if s.key != key):
        for edge in other.edges:
            where = f"{edge.domains[0]} (`{edge.name}`)"
            if any(o.service == key for o in edge.primaries):
                uses.append(f"origin of {where}")
            uses += [f"`{prefix}` of {where}" for prefix, route in edge.routes if any(o.service == key for o in route)]
            if any(o.service == key for o in edge.fallback):
                uses.append(f"fallback of {where}")
    return _unique(uses)


def _external_providers(estate: Estate) -> list[tuple[str, str]]:
    """Providers this program does not provision, with what the estate uses them for."""
    uses: dict[str, list[str]] = {}
    for s in estate.services:
        origins: dict[Origin, list[str]] = {}
        for edge in s.edges:
            for origin in (o for o in edge.origins if o.kind == "external"):
                origins.setdefault(origin, []).append(edge.domains[0])
        for origin, domains in origins.items():
            uses.setdefault(origin.place or "external", []).append(
                f"{origin.label}, Fastly origin of {', '.join(_unique(domains))} (`{s.key}`)"
            )
        for name, kind, _ in s.external_names:
            place = next((p for p in s.places if p in PLACE_NAMES.values()), "external")
            uses.setdefault(place, []).append(f"{name}, {kind} record and uptime check (`{s.key}`)")
    rows = [(place, "; ".join(_unique(uses[place]))) for place in sorted(uses)]
    if estate.registered_zones:
        output = f"`pulumi stack output {estate.name_server_output}`" if estate.name_server_output else "Route 53"
        managed = [f"{d} (name servers{' and DS key' if ds else ''})" for d, ds in estate.registrar_managed]
        how = (
            f"this program writes {', '.join(managed)} (`registrarDomains`), the others by hand"
            if managed
            else "set by hand: `registrarDomains` opts a domain in"
        )
        rows.append(
            (
                "Gandi",
                f"registrar of {', '.join(estate.registered_zones)}: each registration carries the name servers "
                f"from {output}, {how}; `make registration` watches every registration's expiry (RDAP)",
            )
        )
    return rows


def _zone_intro(estate: Estate) -> str:
    text = f"{len(estate.zones)} Route 53 zones."
    sets = _unique(z.delegation_set or "" for z in estate.zones)
    if sets:
        text += (
            f" They share the reusable delegation set {_code(sets)}, so their name servers survive replacing a zone."
        )
    delegated = [z.name for z in estate.zones if z.name not in estate.registered_zones]
    if delegated:
        text += f" Subdomain zones ({', '.join(delegated)}) need NS records in their parent domain."
    if estate.name_server_output:
        text += (
            f" The name servers are known once the stack is deployed: `pulumi stack output {estate.name_server_output}`"
            " (the offline recording's are made up, so they are not shown here)."
        )
    return text


def render_overview(recording: Recording) -> str:
    """The overview page of ``recording``'s stack, as Markdown."""
    estate = describe(recording)
    regenerate = REGENERATE if estate.stack == DEFAULT_STACK else _command(estate.stack)
    lines = [
        f"<!-- Generated by `{_command(estate.stack)}` from the program: do not edit. Run `{regenerate}`. -->",
        "",
        f"# The PSF estate ({estate.stack})",
        "",
        f"Generated from the Pulumi program by `{_command(estate.stack)}`"
        + (f" (`{regenerate}`)" if regenerate != _command(estate.stack) else "")
        + ": do not edit it by hand.",
        f"It shows what the program creates for the `{estate.stack}` stack, as the offline recording of the program",
        "(mocked providers) sees it, with owners and contacts from `stacks/catalog.py`. Addresses and IDs exist only",
        "once the stack is deployed, so it names hosts, sizes, regions and zones instead.",
        "",
        f"![The PSF estate]({SVG})",
        "",
        "## Services at a glance",
        "",
        "| Service | Public hosts | Runs on | Fastly services | Contact |",
        "|---|---|---|---:|---|",
    ]
    for s in estate.services:
        lines.append(
            f"| [{_cell(s.entry.title)}](#{_anchor(s.entry.title)}) | {_cell(', '.join(s.hosts) or '—')} "
            f"| {_cell(_runs_on_short(s, estate))} | {len(s.edges) or '—'} | {_cell(s.entry.contact)} |"
        )
    lines += ["", "## Providers", "", "Provisioned by this program, each through one explicit provider instance:", ""]
    lines += ["| Provider | Resources | What |", "|---|---:|---|"]
    for p in estate.providers:
        lines.append(f"| {p.name} (`{p.package}`) | {p.resources} | {_cell(', '.join(p.nouns))} |")
    lines += ["", "Not provisioned here; they appear as origins, addresses and name-server hand-offs:", ""]
    lines += ["| Provider | What for |", "|---|---|"]
    lines += [f"| {place} | {_cell(text)} |" for place, text in _external_providers(estate)]
    lines += ["", "## Datacenters", ""]
    lines += ["| Datacenter | Provider | Region | Droplets | Services |", "|---|---|---|---:|---|"]
    for dc in estate.datacenters:
        names = ", ".join(estate.service(k).entry.title for k in dc.services) or "—"
        lines.append(f"| {dc.name} | {dc.provider} | {dc.region} | {dc.droplets} | {_cell(names)} |")
    lines += ["", "## DNS zones", "", _zone_intro(estate), ""]
    lines += ["| Zone | DNSSEC | Record sets | Public hosts |", "|---|---|---|---|"]
    for z in estate.zones:
        kinds = ", ".join(f"{n} {t}" for t, n in z.record_types) or "—"
        hosts = "droplet host names" if z.internal else ", ".join(z.hosts) or "—"
        lines.append(f"| {z.name} | {'yes' if z.dnssec else 'no'} | {kinds} | {_cell(hosts)} |")
    lines += ["", *_monitoring_section(estate)]
    lines += ["## Certificates", "", *_certificates_table(recording), "", "## Services", ""]
    for s in estate.services:
        lines += _service_section(s, estate)
    if estate.unplaced:
        titles = ", ".join(f"{SERVICES[k].title} (`{k}`)" for k in estate.unplaced)
        lines += [f"In the catalog but not placed in this stack: {titles}.", ""]
    if estate.other:
        lines += ["## Other resources", "", "Parts no catalog service claims (no `service` tag, no uptime check):", ""]
        lines += [f"- `{r.name}` ({r.type})" for r in estate.other]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _certificates_table(recording: Recording) -> list[str]:
    """Every host's certificate: who makes it, the authority, the subscription, and what watches it."""
    lines = [
        "The certificate Fastly presents for each public name. *Managed*: a Fastly TLS subscription of this",
        "program, answered by an `_acme-challenge` CNAME in the zone shown and validated (`pulumi up` waits for",
        "the certificate). *External*: made outside this program, watched all the same. Two Datadog SSL tests",
        "per name: one alerts below the first number of days left (or on an invalid certificate), one warns",
        "below the second.",
        "",
        "| Host | Certificate | Authority | Subscription | Challenge record in | Expiry checks (days) |",
        "|---|---|---|---|---|---|",
    ]
    for c in host_certificates(recording).values():
        subscription = f"`{c.subscription}`" + (" (validated)" if c.validated else " (not validated)")
        days = "/".join(str(d) for d in (c.alert_days, c.warning_days) if d is not None) or "—"
        lines.append(
            f"| {c.host} | {c.owner} | {c.authority_name or '—'} | {subscription if c.subscription else '—'} "
            f"| {c.challenge_zone or '—'} | {days} |"
        )
    return lines


# ----------------------------------------------------------------------------------------------------------------
# Graphviz.

# Colours: one light fill per kind of place, so the picture reads at a glance.
_DNS_FILL: Final = "#eef1f5"
_FASTLY_FILL: Final = "#fde8e4"
_DC_FILL: Final = "#e3eefb"
_AWS_FILL: Final = "#fdf1dc"
_EXTERNAL_FILL: Final = "#f1eaf7"


def _q(text: str) -> str:
    """A quoted DOT ID or label; line breaks become DOT's centred line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _node(node_id: str, label: str, **attributes: str) -> str:
    extra = "".join(f", {k}={_q(v)}" for k, v in attributes.items())
    return f"    {_q(node_id)} [label={_q(label)}{extra}];"


def _cluster(name: str, label: str, fill: str, body: Sequence[str]) -> list[str]:
    style = "rounded,filled"
    return [
        f"  subgraph {_q('cluster_' + name)} {{",
        f"    label={_q(label)}; style={_q(style)}; fillcolor={_q(fill)}; color={_q('#9aa5b1')};",
        *body,
        "  }",
    ]


def _droplet_node(key: str, datacenter: str, standby: bool = False) -> str:
    return f"svc:{datacenter}:{key}" + (":standby" if standby else "")


def _origin_node(origin: Origin) -> str:
    if origin.kind == "droplet":
        return _droplet_node(origin.service or origin.label, origin.datacenter or "", origin.standby)
    return f"{origin.kind}:{origin.label}"


def _wrap(host: str, width: int = 22) -> str:
    """A long host name split in two at the dot nearest its middle, so a node stays narrow at README width."""
    if len(host) <= width or "." not in host:
        return host
    cuts = [i + 1 for i, char in enumerate(host[:-1]) if char == "."]
    cut = min(cuts, key=lambda i: abs(len(host) / 2 - i))
    return f"{host[:cut]}\n{host[cut:]}"


def render_dot(recording: Recording) -> str:
    """The estate diagram of ``recording``'s stack, as Graphviz source.

    Three columns, left to right: DNS zones, the Fastly services their names point at, and the origins behind
    those, grouped by where they run. One node per service and datacenter (droplets counted, not drawn one by
    one) keeps the picture legible at README width; a standby is a node of its own. Standby and fallback origins
    are dashed edges (the standby's labelled); the one path route carries its prefix; DNS names that skip Fastly
    (direct A records, MX) are dotted.
    """
    estate = describe(recording)
    edges: dict[tuple[str, str], dict[str, str]] = {}

    def link(source: str, target: str, **attributes: str) -> None:
        edges.setdefault((source, target), attributes)

    fastly: list[str] = []
    for s in estate.services:
        for edge in s.edges:
            node = f"fastly:{edge.name}"
            redirected = {domain: url for domain, _, url in edge.redirects}
            label = "\n".join(
                f"{d} → {redirected[d].removeprefix('https://')}" if d in redirected else d for d in edge.domains
            )
            fastly.append(_node(node, label))
            for zone in edge.zones:
                link(f"zone:{zone}", node)
            for origin in edge.primaries:
                link(node, _origin_node(origin))
            for prefix, origins in edge.routes:
                for origin in origins:
                    link(node, _origin_node(origin), label=prefix)
            for origin in edge.standby:
                link(node, _origin_node(origin), style="dashed", label="standby")
            for origin in edge.fallback:
                link(node, _origin_node(origin), style="dashed")
        # DNS straight to a host skips the Fastly column: minlen=2 keeps the host in the origins' column.
        for host in s.direct_hosts:
            zone = next((z.name for z in estate.zones if host in z.hosts), None)
            for group in s.droplets if zone else ():
                link(f"zone:{zone}", _droplet_node(s.key, group.datacenter, group.standby), style="dotted", minlen="2")
        for m in s.mx:
            link(f"zone:{m.domain}", _droplet_node(s.key, m.datacenter, m.standby), style="dotted", minlen="2")
        for name, _, zone in s.external_names:
            link(f"zone:{zone}", f"external:{name}", style="dotted", minlen="2")

    clusters: list[tuple[str, str, str, list[tuple[str, str, dict[str, str]]]]] = []
    for dc in estate.datacenters:
        nodes: list[tuple[str, str, dict[str, str]]] = []
        for key in dc.services:
            s = estate.service(key)
            for group in (g for g in s.droplets if g.datacenter == dc.name):
                label = f"{key} {_standby_title(key)}" if group.standby else f"{key} {TIMES}{group.count}"
                nodes.append((_droplet_node(key, dc.name, group.standby), f"{label}\n{group.size}", {}))
            for d in (d for d in s.databases if d.datacenter == dc.name):
                label = f"{d.engine} {d.version}\n{d.size}"
                if d.replicas:
                    label += f"\n+ {_plural(d.replicas, ('replica', 'replicas'))}"
                nodes.append((f"db:{d.name}", label, {"shape": "cylinder"}))
        clusters.append((f"dc_{dc.name}", f"{dc.name} · {dc.provider} {dc.region}", _DC_FILL, nodes))
    # Outside the datacenters: buckets that serve sites, then origins and machines this program does not run.
    places: dict[str, dict[str, str]] = {}
    for s in estate.services:
        for origin in (o for e in s.edges for o in e.origins if o.kind == "bucket"):
            places.setdefault("AWS", {})[_origin_node(origin)] = f"S3 bucket\n{_wrap(origin.label)}"
        for origin in s.external_origins:
            label = origin.label.removesuffix(HEROKU_SUFFIX) if origin.place == "Heroku" else _wrap(origin.label)
            places.setdefault(origin.place or "external", {})[_origin_node(origin)] = f"{s.key}\n{label}"
        for name, _, _ in s.external_names:
            places.setdefault(s.external_place or "external", {})[f"external:{name}"] = f"{s.key}\n{_wrap(name)}"
    for place, labels in sorted(places.items()):
        provisioned = any(node.startswith("bucket:") for node in labels)
        title = place if provisioned else f"{place} (not provisioned here)"
        fill = _AWS_FILL if place == "AWS" else _EXTERNAL_FILL
        clusters.append((f"place_{place.lower()}", title, fill, [(n, label, {}) for n, label in labels.items()]))

    # A host nothing points at (the backup host, the database) would sit in the first column: an invisible
    # edge from a Fastly service that reaches the same cluster puts it with its neighbours instead.
    targets = {target for _, target in edges}
    for _, _, _, nodes in clusters:
        members = {node for node, _, _ in nodes}
        anchors = [source for source, target in edges if target in members and source.startswith("fastly:")]
        anchors = anchors or [source for source, _ in edges if source.startswith("fastly:")]
        for node, _, _ in nodes:
            if node not in targets and anchors:
                link(anchors[0], node, style="invis")

    zones = [_node(f"zone:{z.name}", z.name) for z in estate.zones if any(s == f"zone:{z.name}" for s, _ in edges)]
    title = (
        f"The PSF estate ({estate.stack}): DNS zone → Fastly service → origin\n"
        "dashed: standby or fallback origin · dotted: DNS record straight to a host (A, MX)"
    )
    lines = [
        f"// Generated by `{_command(estate.stack)}` from the program: do not edit. Rendered with `dot -Tsvg`.",
        "digraph estate {",
        "  graph [rankdir=LR, nodesep=0.1, ranksep=0.5, pad=0.1, fontname=Helvetica, fontsize=16, labelloc=t,"
        f" label={_q(title)}];",
        '  node [shape=box, style="rounded,filled", fillcolor=white, color="#5f6b7a", fontname=Helvetica,'
        ' fontsize=12, margin="0.08,0.03", height=0.3];',
        '  edge [color="#5f6b7a", arrowsize=0.6, fontname=Helvetica, fontsize=12];',
        "",
        *_cluster("dns", "Route 53", _DNS_FILL, zones),
        *_cluster("fastly", "Fastly", _FASTLY_FILL, fastly),
    ]
    for name, title, fill, nodes in clusters:
        lines += _cluster(name, title, fill, [_node(node, label, **extra) for node, label, extra in nodes])
    lines += _watch_cluster(recording, estate, edges)
    lines.append("")
    for (source, target), attributes in edges.items():
        extra = " [" + ", ".join(f"{k}={_q(v)}" for k, v in attributes.items()) + "]" if attributes else ""
        lines.append(f"  {_q(source)} -> {_q(target)}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _watch_cluster(recording: Recording, estate: Estate, edges: dict[tuple[str, str], dict[str, str]]) -> list[str]:
    """Datadog (what watches) and, where the stack pages, the PagerDuty rotation its alerts reach."""
    count = Counter(r.type for r in recording.records)
    datadog = (
        f"Datadog\n{count[SYNTHETICS]} uptime checks · {count[MONITOR]} monitors\n"
        f"{count[DASHBOARD]} dashboards · {count[SLO]} uptime objectives"
    )
    nodes = [_node("watch:datadog", datadog)]
    if estate.on_call is not None:
        # Schedules are named "<prefix> <tier>": the tier is what the picture needs.
        people = " → ".join(name.split(" ", 1)[-1] for name, _ in estate.on_call.schedules)
        nodes.append(_node("watch:pagerduty", f"PagerDuty on call\n{people} → the team's list"))
        edges.setdefault(("watch:datadog", "watch:pagerduty"), {"label": " ".join(estate.pagerduty)})
    return _cluster("watch", "Monitoring and on call", _EXTERNAL_FILL, nodes)


# ----------------------------------------------------------------------------------------------------------------
# Command line.


def write_docs(recording: Recording, out: Path) -> list[Path]:
    """Write the overview and the Graphviz source into ``out``; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, text in ((OVERVIEW, render_overview(recording)), (DOT, render_dot(recording))):
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def render_svg(dot_file: Path) -> Path | None:
    """Render ``dot_file`` to SVG next to it with Graphviz's ``dot``; None when ``dot`` is not on PATH."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    svg = dot_file.with_suffix(".svg")
    subprocess.run([dot, "-Tsvg", "-o", str(svg), str(dot_file)], check=True)
    return svg


def default_out(stack: str) -> Path:
    """Where a stack's docs go by default: prod's in docs/ (committed), the others' under build/ (ignored)."""
    return PROJECT_ROOT / "docs" if stack == DEFAULT_STACK else PROJECT_ROOT / "build" / f"docs-{stack}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m offline.docs", description="Generate the estate overview.")
    parser.add_argument("--stack", default=DEFAULT_STACK, help="stack to document (default: prod)")
    parser.add_argument(
        "--out", type=Path, help="output directory (default: docs/ for prod, build/docs-<stack>/ for other stacks)"
    )
    parser.add_argument("--require-svg", action="store_true", help="exit 1 when Graphviz `dot` is not installed")
    args = parser.parse_args(argv)
    try:
        recording = record_stack(args.stack)
    except (ConfigFileError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ProgramFailedError as failed:
        print(f"error: the program failed for stack {args.stack!r}: {failed.cause}", file=sys.stderr)
        return 2
    out: Path = args.out if args.out is not None else default_out(args.stack)
    for path in write_docs(recording, out):
        print(f"wrote {path}")
    svg = render_svg(out / DOT)
    if svg is None:
        stale = f"; the {SVG} there is now out of date" if (out / SVG).exists() else ""
        print(
            f"warning: Graphviz `dot` is not on PATH, so {out / SVG} was not rendered{stale}. "
            "Install Graphviz (Debian: apt-get install graphviz) and run this again.",
            file=sys.stderr,
        )
        return 1 if args.require_svg else 0
    print(f"wrote {svg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
