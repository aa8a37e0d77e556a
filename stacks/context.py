"""What every part of the estate shares, and the one way the PSF turns a service description into components.

A datacenter module says *what* runs there as :class:`WebRole` values; :class:`Estate` turns each into a
``VmService`` with the PSF's conventions (sizes by weight, replicas unless the software is single-writer,
Salt, the shared Fastly settings and log target, monitors naming the owners) so those conventions live in
one place.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import pulumi
import pulumi_datadog as datadog
import pulumi_digitalocean as digitalocean

from components.common import ZoneRef, invalid
from components.dashboards import ServiceDashboardArgs, dashboard
from components.dns_zone import DnsZone
from components.edge import (
    EdgeLogging,
    EdgeOptions,
    Fallback,
    FastlyDnsTarget,
    HealthCheck,
    Origin,
    OriginTokenGuard,
    PathRoute,
    PublicHost,
)
from components.monitors import (
    CompositeAlert,
    HostThresholds,
    HttpCheck,
    MetricAlert,
    ServiceMonitors,
    ServiceMonitorsArgs,
    TcpCheck,
    TlsCheck,
)
from components.vm_service import PublicPort, SaltBootstrap, VmEdge, VmService, VmServiceArgs, Volume
from stacks import psf_salt
from stacks.catalog import Service as CatalogService
from stacks.catalog import service
from stacks.datacenter import DatacenterSite
from stacks.ownership import Kind, Ownership, Part
from stacks.providers import Providers
from stacks.settings import Datacenter, Settings, SettingsError
from stacks.tls import EstateTls, build_tls

# What droplets may reach anywhere beyond their own datacenter's network: package mirrors, ACME and the
# Datadog intake (HTTP/S), DNS and NTP. The Salt master's publish and return ports (4505-4506) and SSH (to
# the sfo1 backup host) are open only towards the stack's own droplets, by tag; mail hosts also deliver SMTP.
EGRESS: Final = (
    PublicPort(80),
    PublicPort(443),
    PublicPort(53, "udp"),
    PublicPort(53),
    PublicPort(123, "udp"),
)
# The ports a Salt minion opens to its master: publish (4505) and return (4506).
SALT_PORTS: Final = (4505, 4506)
# Where Fastly shields origins outside DigitalOcean: AWS us-east and Heroku's US region sit in Virginia.
SHIELD_US_EAST: Final = "iad-va-us"
# How the PSF's hosts meet Fastly (psf-salt). Their certificates come from the Salt master's private CA
# (PSF_CA), issued per role for <name>.psf.io (pillar/base/tls.sls gen_certs, the same pillar in every
# environment, so a staging master issues the same names from its own CA). Their Fastly frontend refuses
# requests without the Fastly-Token except HAProxy's monitor URI (salt/haproxy: `monitor-uri
# /_haproxy_status`, answered before any http-request rule), which is what the live health checks probe.
PSF_CERT_DOMAIN: Final = "psf.io"
PSF_STATUS_PATH: Final = "/_haproxy_status"
PSF_TOKEN_GUARD: Final = OriginTokenGuard((PSF_STATUS_PATH,))
# The share of a 30-day window each public service's uptime checks must pass (its uptime objective); the
# warning sits halfway to 100 %.
UPTIME_TARGET: Final = 99.9
# The tag key Datadog's Fastly integration reports each service's metrics with (this program sets it on
# every registered service), beside env:.
CDN_TAG: Final = "cdn_service"

Weight = Literal["small", "medium", "large"]
# The Datadog agent's tags name a standby's droplets like the primary's (service:<key>), so the role's host
# monitors watch both; the DigitalOcean tags and physical names add this, so nothing of the two collides.
STANDBY_SUFFIX: Final = "standby"


@dataclass(frozen=True)
class Host:
    """A public host name as prod knows it, and the zone (prod domain) that holds it."""

    name: str
    zone: str


@dataclass(frozen=True, kw_only=True)
class Standby:
    """A single-server role's second server, which takes over only while the primary is unhealthy.

    ``datacenter`` is where it runs and ``placement`` says why there; ``host_label`` starts its host name,
    which psf-salt's pattern for the role must match when ``psf_salt_role`` (the standby runs the role's
    software; False: a host of another kind, such as a secondary MX that psf-salt has no role for).
    ``sync`` names the mechanism that keeps its data in step, which the hosts' configuration runs: this
    program provides the server, its volumes (``volumes``; None: the primary's layout), its firewall, its
    Fastly backend and its monitors. ``psf_salt`` records what python/psf-salt has for that today and what
    it still lacks. ``weight`` sizes it (None: as the primary). ``serves_web``: Fastly uses it as the role's
    standby backend (False for a server that takes over something else, the secondary MX). ``title`` is what
    people call it.
    """

    datacenter: str
    host_label: str
    placement: str
    sync: str
    psf_salt: str
    serves_web: bool = True
    psf_salt_role: bool = True
    volumes: tuple[Volume, ...] | None = None
    weight: Weight | None = None
    title: str = "standby"

    def __post_init__(self) -> None:
        for name in ("placement", "sync", "psf_salt"):
            if not getattr(self, name).strip():
                raise invalid(f"Standby.{name}", getattr(self, name), "must say it in a sentence")


@dataclass(frozen=True, kw_only=True)
class WebRole:
    """One PSF service on droplets, as a datacenter module describes it.

    ``single`` says why the role runs on one server: the bar (seed 004) is two servers wherever the
    software allows it, so a single server needs a reason in the code. ``database`` tags the droplets so
    the PostgreSQL firewall admits them. ``fallback`` lets Fastly use the static mirror when every primary is
    unhealthy. ``certificate_name`` is the name on the certificate its hosts present to Fastly, where
    psf-salt's tls.sls names it differently from the key (Buildbot's is ``buildbot-master.psf.io``);
    ``health_path`` is what Fastly probes, a path the hosts answer without the origin token.

    ``salt_role`` is the psf-salt role (:mod:`stacks.psf_salt`) whose states configure the hosts, None where
    psf-salt has none; ``host_label`` starts the host names (by default ``key``), chosen so the role's
    pattern matches. Single-server roles are named without a number (``bugs.nyc1.psf.io``), as the PSF names
    them and as some patterns require. ``reserved_ip`` gives each host an address that survives its
    replacement, for names others write down (the test suite's host, the MX target, which ``reserved_name``
    names in the internal zone: the host name itself keeps the droplet's own address, which its outgoing
    traffic comes from and reverse DNS names). ``salt_master`` makes the
    hosts this stack's Salt master: minions may reach 4505-4506 on them.

    A single-server role has a ``standby`` (seed 004: "at least in a Master/Slave configuration"), which
    Fastly uses only while the primary is unhealthy, or says in ``no_standby`` why the software cannot run
    one (a role whose standby does not serve its web face says why not as well). Anything else is refused.
    """

    key: str
    hosts: tuple[Host, ...] = ()
    weight: Weight = "medium"
    single: str | None = None
    behind_fastly: bool = True
    fastly_origin: bool = False
    public_ports: tuple[PublicPort, ...] = ()
    volumes: tuple[Volume, ...] = ()
    stateful: bool = False
    database: bool = False
    fallback: bool = False
    health_path: str = PSF_STATUS_PATH
    certificate_name: str | None = None
    tcp_checks: tuple[tuple[str, int], ...] = ()
    ssh_from_estate: bool = False
    salt_role: str | None = None
    host_label: str | None = None
    reserved_ip: bool = False
    reserved_name: str | None = None
    salt_master: bool = False
    standby: Standby | None = None
    no_standby: str | None = None

    def __post_init__(self) -> None:
        if self.standby is not None and not self.single:
            raise invalid(
                f"WebRole({self.key}).standby",
                self.standby.host_label,
                "is for single-server roles; this one has replicas",
            )
        if self.no_standby is not None and not self.no_standby.strip():
            raise invalid(f"WebRole({self.key}).no_standby", self.no_standby, "must give the reason in a sentence")
        web_standby = self.standby is not None and self.standby.serves_web
        uncovered = self.standby is None or (self.behind_fastly and not web_standby)
        if self.single and uncovered and self.no_standby is None:
            raise invalid(
                f"WebRole({self.key}).standby",
                None,
                "a single-server role needs a standby Fastly can use, or no_standby saying why the software "
                "cannot run even a read-only one (seed 004: two servers per role)",
            )
        if web_standby and not self.behind_fastly:
            raise invalid(
                f"WebRole({self.key}).standby.serves_web", True, "needs a role behind Fastly, whose edge uses it"
            )

    @property
    def standby_key(self) -> str:
        """The standby's name in logical names, DigitalOcean tags and physical names: ``<key>-standby``."""
        return f"{self.key}-{STANDBY_SUFFIX}"


@dataclass(frozen=True)
class MirrorOrigin:
    """The static mirror, as other services' edges reach it when their primaries are down (None: no mirror).

    It holds a copy of PyPI's simple index and JSON API, and of static sites such as docs.python.org.
    """

    origin: Origin | None

    def whole_site(self) -> Fallback | None:
        """Fallback for every path of a static site the mirror copies."""
        return Fallback(self.origin) if self.origin else None

    def pypi_paths(self) -> Fallback | None:
        """Fallback for only what the mirror holds of PyPI: the simple index and the JSON API (seed 004)."""
        if self.origin is None:
            return None
        return Fallback(self.origin, path_prefixes=("/simple/",), path_regexes=(r"^/pypi/[^/]+/json",))


def synthetics_networks(by_location: Sequence[Mapping[str, str] | None], locations: Sequence[str]) -> list[str]:
    """The IPv4 and IPv6 networks of ``locations`` from the data source's per-location maps, sorted.

    Each map value is a comma-separated list of prefixes (the provider's ``synthetics_ipv4_by_location``);
    a bare address becomes a /32 or /128, as a firewall rule takes it either way.
    """
    found: set[str] = set()
    for mapping in by_location:
        for location in locations:
            for item in (mapping or {}).get(location, "").split(","):
                if item.strip():
                    found.add(str(ipaddress.ip_network(item.strip(), strict=False)))
    return sorted(found, key=lambda n: (ipaddress.ip_network(n).version, ipaddress.ip_network(n)))


def owner_tags(entry: CatalogService) -> tuple[str, ...]:
    """Datadog tags naming a service's contact and owners, so alerts can be routed and searched by them.

    Datadog tags allow no '@' or spaces: ``contact:postmaster_at_python.org``, ``owner:julien-palard``.
    """
    contact = entry.contact.lower().replace("@", "_at_")
    owners = tuple(
        re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", o).encode("ascii", "ignore").decode().lower()).strip(
            "-"
        )
        for o in entry.owners
    )
    return (f"contact:{contact}", *(f"owner:{o}" for o in owners if o))


@dataclass
class Estate:
    """The shared parts every datacenter module and the global edge build on."""

    settings: Settings
    providers: Providers
    zones: Mapping[str, DnsZone]
    logging: tuple[EdgeLogging, ...]
    services: dict[str, VmService] = field(default_factory=dict)
    # Per role key, the name on its hosts' certificates, for edges that reach them outside their own service.
    origin_certificates: dict[str, str] = field(default_factory=dict)
    # Where the stack's droplet tags live in the resource tree (the global component); None: the stack.
    tag_parent: pulumi.Resource | None = None
    # Per catalog service key, its Datadog dashboard (made with its first monitors) and what it watches.
    dashboards: dict[str, datadog.DashboardJson] = field(default_factory=dict)
    watched: dict[str, list[ServiceMonitors]] = field(default_factory=dict)
    # The Datadog PagerDuty handles the monitors page; stacks.observability gives each a PagerDuty service.
    paging_handles: set[str] = field(default_factory=set)
    # The stack's datacenters, for a standby that runs in another one than its primary.
    sites: dict[str, DatacenterSite] = field(default_factory=dict)
    # Per role key, its standby's VmService.
    standbys: dict[str, VmService] = field(default_factory=dict)
    _tags: dict[str, digitalocean.Tag] = field(default_factory=dict)
    _fastly_account: datadog.fastly.IntegrationAccount | None = None
    _synthetics: pulumi.Output[list[str]] | None = None

    # The TLS configuration and certificate owners; read from Fastly on first use unless given.
    edge_tls: EstateTls | None = None

    @property
    def tls(self) -> EstateTls:
        """The stack's TLS configuration, authority and certificate owners (read from Fastly once)."""
        if self.edge_tls is None:
            self.edge_tls = build_tls(self.settings, self.providers)
        return self.edge_tls

    @property
    def internal(self) -> ZoneRef:
        """The zone droplets' host names live in (psf.io in prod)."""
        return self.zones[self.settings.internal_domain].ref

    @property
    def dns_target(self) -> FastlyDnsTarget:
        """How public names point at Fastly: the targets of the TLS configuration their certificates are on."""
        return self.tls.dns_target

    @property
    def database_client_tag(self) -> str:
        """The droplet tag the database firewall admits; per stack, as every stack shares one account."""
        return f"postgres-client:{self.settings.name_prefix}"

    @property
    def minion_tag(self) -> str:
        """The tag on every droplet of this stack: its Salt master and the backup host admit it."""
        return f"salt-minion:{self.settings.name_prefix}"

    @property
    def master_tag(self) -> str:
        """The tag on this stack's Salt master: every droplet's egress to 4505-4506 names it."""
        return f"salt-master:{self.settings.name_prefix}"

    def tag(self, name: str) -> digitalocean.Tag:
        """The ``digitalocean.Tag`` resource of a tag firewall rules name, created once per stack.

        DigitalOcean resolves a tag when a firewall rule naming it is written, so the tag must exist first
        (a tag that only droplets create races the rule). Every such tag is named after this stack
        (``namePrefix``): deleting a tag untags everything carrying it, so no two stacks may share one.
        """
        if name not in self._tags:
            self._tags[name] = digitalocean.Tag(
                f"tag-{re.sub(r'[^a-z0-9]+', '-', name.split(':', 1)[0])}",
                name=name,
                opts=pulumi.ResourceOptions(parent=self.tag_parent, provider=self.providers.digitalocean),
            )
        return self._tags[name]

    @property
    def salt_bootstrap(self) -> SaltBootstrap:
        """How every droplet installs Salt: the pinned, checksummed bootstrap and Salt version of the settings."""
        s = self.settings
        return SaltBootstrap(
            script_url=s.salt_bootstrap_url, script_sha256=s.salt_bootstrap_sha256, salt_version=s.salt_version
        )

    def public(self, host: Host) -> PublicHost:
        """A prod host name as this stack names it, in this stack's copy of its zone."""
        if host.zone not in self.zones:
            # Settings refuse an external zone that a part of the estate writes in (catalog ZONES_WRITTEN); a
            # name in one nonetheless means that table missed a writer.
            raise SettingsError(
                "ownership",
                f"zone:{host.zone}={self.settings.owners.zone(host.zone).value}",
                f"the program writes {host.name}'s records in {host.zone}; add its part to catalog ZONES_WRITTEN",
            )
        return PublicHost(self.settings.public_host(host.name, host.zone), self.zones[host.zone].ref)

    def owner(self, kind: Kind, key: str) -> Ownership:
        """Who owns part ``kind:key`` in this stack (settings ``ownership``)."""
        return self.settings.owner(Part(kind, key))

    def ownership_tags(self, key: str) -> tuple[str, ...]:
        """Tags saying a service's edge and its names' zones are owned elsewhere (``edge:external``, ``zone:external``).

        An external edge's names are still watched here; the tags let the policy pack refuse a Fastly service or
        a zone of this stack for a name its owner serves (``ownership-external-not-made``).
        """
        if self.owner(Kind.EDGE, key) is not Ownership.EXTERNAL:
            return ()
        return (f"{Kind.EDGE.value}:{Ownership.EXTERNAL.value}", f"{Kind.ZONE.value}:{Ownership.EXTERNAL.value}")

    def certificate_name(self, role: WebRole) -> str:
        """The name on the certificate a role's hosts present: psf-salt's ``<role>.psf.io`` unless it says otherwise."""
        return role.certificate_name or f"{role.key}.{PSF_CERT_DOMAIN}"

    def psf_origin(
        self, name: str, address: pulumi.Input[str], certificate_name: str, health: HealthCheck, shield: str
    ) -> Origin:
        """A PSF host as a Fastly origin outside its own service's edge (a fallback, a path route).

        Checked like every PSF host: the role's certificate name, the PSF CA, and the origin token guard.
        """
        return Origin(
            name=name,
            address=address,
            tls_hostname=certificate_name,
            ca_certificate=self.settings.psf_ca_certificate,
            token_guard=PSF_TOKEN_GUARD,
            health_check=health,
            shield=shield,
        )

    def edge_options(
        self,
        key: str,
        *,
        fallback: Fallback | None = None,
        standby: Fallback | None = None,
        path_routes: tuple[PathRoute, ...] = (),
        service: str | None = None,
    ) -> EdgeOptions:
        """Fastly settings every PSF service shares: origin token, HSTS, stale, logging, activation, teardown.

        And its certificate: managed for ``service`` (the catalog key, by default ``key``) unless its owner
        is external.
        """
        s = self.settings
        return EdgeOptions(
            service_name=s.physical_name(key),
            origin_token=pulumi.Output.secret(s.secrets.fastly_origin_token.value),
            hsts_max_age=s.hsts_max_age,
            stale_if_error_ttl=s.stale_if_error_ttl,
            logging=self.logging,
            fallback=fallback,
            standby=standby,
            path_routes=path_routes,
            activate=s.fastly_activate,
            # Fastly refuses to delete an active service without it: on in throw-away stacks only.
            force_destroy=not s.protect,
            certificate=self.tls.certificate(service or key),
        )

    def size(self, weight: Weight) -> str:
        """The droplet size for a weight class in this stack."""
        return getattr(self.settings.droplet_sizes, weight)

    def replicas(self, role: WebRole) -> int:
        """Servers for a role: the stack's replica count, or one where the software is single-writer."""
        return 1 if role.single else self.settings.replicas

    def vm_service(
        self, parent: pulumi.Resource, dc: Datacenter, vpc_id: pulumi.Input[str], role: WebRole, mirror: MirrorOrigin
    ) -> VmService:
        """Build one role's droplets, firewall, DNS and edge, its standby when it has one, and its monitors.

        The droplets join ``parent``'s DigitalOcean project when ``parent`` is a :class:`DatacenterSite`; a
        standby joins its own datacenter's. The standby exists before the primary's edge, which names it.
        """
        s = self.settings
        spec = role.standby if s.standbys else None
        standby, standby_args = self._standby(role, spec) if spec is not None else (None, None)
        web_standby = standby if spec is not None and spec.serves_web else None
        edge = None
        if role.behind_fastly:
            tier = None
            if web_standby is not None and spec is not None:
                tier = Fallback(
                    self.psf_origin(
                        role.standby_key,
                        web_standby.ipv4_addresses[0],
                        self.certificate_name(role),
                        HealthCheck(role.health_path),
                        self.sites[spec.datacenter].dc.shield_pop,
                    )
                )
            edge = VmEdge(
                options=self.edge_options(
                    role.key, fallback=mirror.whole_site() if role.fallback else None, standby=tier
                ),
                health_check=HealthCheck(role.health_path),
                dns_target=self.dns_target,
                shield_pop=dc.shield_pop,
                origin_tls_hostname=self.certificate_name(role),
                origin_ca_certificate=s.psf_ca_certificate,
                origin_token_guard=PSF_TOKEN_GUARD,
            )
        label = role.host_label or role.key
        vm, args = self._droplets(
            parent,
            dc,
            vpc_id,
            role,
            name=role.key,
            label=label,
            numbered=not role.single,
            replicas=self.replicas(role),
            edge=edge,
            fastly_origin=role.fastly_origin,
            # Datadog probes the primary and its standby directly, to tell which one Fastly is using.
            probes=self.synthetics_sources if web_standby is not None else None,
            volumes=role.volumes,
            salt_role=psf_salt.role(role.salt_role),
            backups=role.stateful and s.backups,
        )
        self.services[role.key] = vm
        self.origin_certificates[role.key] = self.certificate_name(role)

        http = [HttpCheck(h.host) for h in args.public_hosts]
        # A single-server role's host was <key>-1 before psf-salt's names (mail-1.ams1 -> mail.ams1).
        previous = () if not role.single else (f"{role.key}-1.{dc.name}.{self.internal.name}",)
        tcp = [
            # Checked where others reach it: the reserved address's name, if it has one.
            TcpCheck(args.reserved_host_name(1) or args.host_name(1), port, previous_hosts=previous)
            for _, port in role.tcp_checks
        ]
        composites: list[CompositeAlert] = []
        if standby is not None and standby_args is not None and spec is not None:
            composites = self._standby_checks(role, spec, vm, standby, standby_args, http, tcp)
        self.monitors(
            parent,
            role.key,
            dc.name,
            http=http,
            tcp=tcp,
            tls=self.tls.checks(role.key, (h.host for h in args.public_hosts)) if role.behind_fastly else (),
            on_droplets=True,
            fastly_service_ids=(vm.edge.service_id,) if vm.edge is not None else (),
            composites=composites,
        )
        return vm

    def _standby(self, role: WebRole, spec: Standby) -> tuple[VmService, VmServiceArgs]:
        """The standby's droplet, volumes and firewall, in its own datacenter; no edge and no public names."""
        site = self.sites.get(spec.datacenter)
        if site is None:
            raise SettingsError(
                "datacenters",
                [dc.name for dc in self.settings.datacenters],
                f"must include {spec.datacenter}, where the {role.key} standby runs (or set standbys to false)",
            )
        vm, args = self._droplets(
            site,
            site.dc,
            site.vpc.id,
            role,
            name=role.standby_key,
            label=spec.host_label,
            numbered=False,
            replicas=1,
            edge=None,
            fastly_origin=spec.serves_web,
            probes=self.synthetics_sources if spec.serves_web else None,
            volumes=spec.volumes if spec.volumes is not None else role.volumes,
            salt_role=psf_salt.role(role.salt_role) if spec.psf_salt_role else None,
            # Its data is a copy of the primary's, whose backups are the ones that count.
            backups=False,
            public=False,
            weight=spec.weight,
        )
        self.standbys[role.key] = vm
        return vm, args

    def _standby_checks(
        self,
        role: WebRole,
        spec: Standby,
        primary: VmService,
        standby: VmService,
        standby_args: VmServiceArgs,
        http: list[HttpCheck],
        tcp: list[TcpCheck],
    ) -> list[CompositeAlert]:
        """Add the checks that tell the primary and the standby apart; return the "standby serving" alert.

        The public checks go through Fastly, so they fail only when nothing can serve: the service is down.
        A web role's primary and standby are also probed directly on the status path Fastly's health check
        uses (their firewalls admit Datadog's synthetics ranges there; the certificate is the PSF CA's, which
        Datadog does not trust, hence allow_insecure), so a failing primary while the public checks pass is
        the standby serving. A server that takes over something else (a secondary MX) is checked on the
        role's own ports; the primary's ports failing while the standby's answer is the standby at work.
        """
        public = tuple(check.url for check in http)
        if spec.serves_web:
            on_primary = HttpCheck(primary.host_names[0], path=role.health_path, allow_insecure=True)
            on_standby = HttpCheck(standby.host_names[0], path=role.health_path, allow_insecure=True)
            http += [on_primary, on_standby]
            return [
                CompositeAlert(
                    key="standby-serving",
                    title=f"primary {primary.host_names[0]} down, standby {standby.host_names[0]} serving",
                    headline=(
                        f"{primary.host_names[0]} fails the health check Fastly uses, so Fastly sends "
                        f"{', '.join(primary.public_host_names)} to the standby {standby.host_names[0]}, which "
                        f"is answering. Users are served; the data the standby shows is as recent as its "
                        f"sync ({spec.sync}). Bring the primary back."
                    ),
                    failing=(on_primary.url,),
                    passing=public,
                )
            ]
        # Checked where other servers reach it, as the primary is: the reserved address's name, if any.
        where = standby_args.reserved_host_name(1) or standby_args.host_name(1)
        backup_checks = [TcpCheck(where, port) for _, port in role.tcp_checks]
        tcp += backup_checks
        if not backup_checks:
            return []
        return [
            CompositeAlert(
                key="standby-serving",
                title=f"primary {tcp[0].host} down, {backup_checks[0].host} taking over",
                headline=(
                    f"{tcp[0].host} refuses connections on port {tcp[0].port} while {backup_checks[0].host} "
                    f"accepts them: {spec.sync}. Nothing is lost while the primary comes back within the "
                    "standby's queue lifetime."
                ),
                failing=tuple(c.url for c in tcp if c not in backup_checks),
                passing=tuple(c.url for c in backup_checks),
            )
        ]

    def _droplets(
        self,
        parent: pulumi.Resource,
        dc: Datacenter,
        vpc_id: pulumi.Input[str],
        role: WebRole,
        *,
        name: str,
        label: str,
        numbered: bool,
        replicas: int,
        edge: VmEdge | None,
        fastly_origin: bool,
        probes: pulumi.Input[Sequence[str]] | None,
        volumes: tuple[Volume, ...],
        salt_role: psf_salt.SaltRole | None,
        backups: bool,
        public: bool = True,
        weight: Weight | None = None,
    ) -> tuple[VmService, VmServiceArgs]:
        """One VmService of ``role`` under ``name``: the primary's droplets, or its standby's (``public`` False)."""
        s = self.settings
        minion, master = self.minion_tag, self.master_tag
        ports = list(role.public_ports)
        if role.ssh_from_estate:
            ports.append(PublicPort(22, source_tags=(minion,)))
        if role.salt_master:
            ports += [PublicPort(port, source_tags=(minion,)) for port in SALT_PORTS]
        # SSH out only to the estate's own droplets: that is how backups reach the sfo1 backup host.
        egress = [
            *EGRESS,
            *(PublicPort(port, source_tags=(master,)) for port in SALT_PORTS),
            PublicPort(22, source_tags=(minion,)),
        ]
        if any(p.port == 25 for p in role.public_ports):
            egress.append(PublicPort(25))
        rule_tags = [minion, master]
        extra_tags = [minion]
        if role.salt_master:
            extra_tags.append(master)
        if role.database:
            extra_tags.append(self.database_client_tag)
            rule_tags.append(self.database_client_tag)
        first_labels = [f"{label}-{n}" if numbered else label for n in range(1, replicas + 1)]
        args = VmServiceArgs(
            name=name,
            environment=s.environment.value,
            datacenter=dc.name,
            region=dc.region,
            vpc_id=vpc_id,
            image=s.droplet_image,
            size=self.size(weight or role.weight),
            ssh_keys=s.ssh_keys,
            admin_cidrs=s.admin_cidrs,
            internal_zone=self.internal,
            salt_master=s.salt_master,
            salt_bootstrap=self.salt_bootstrap,
            replicas=replicas,
            host_label=label,
            numbered=numbered,
            role=salt_role.name if salt_role is not None else None,
            minion_ids=tuple(psf_salt.minion_id(first, dc.name, salt_role) for first in first_labels),
            datadog_tags=psf_salt.datadog_tags(s.environment.value, role.key, dc.name, salt_role),
            runs_salt_master=role.salt_master,
            reserved_ipv4=role.reserved_ip,
            reserved_ipv4_protect=s.protect,
            reserved_ipv4_label=role.reserved_name,
            backups=backups,
            volumes=tuple(dataclasses.replace(v, protect=s.protect) for v in volumes),
            private_cidrs=(dc.vpc_cidr,),
            public_ports=tuple(ports),
            public_hosts=tuple(self.public(h) for h in role.hosts) if public else (),
            edge=edge,
            fastly_origin=fastly_origin,
            origin_probe_sources=probes,
            egress=tuple(egress),
            extra_tags=tuple(extra_tags),
        )
        vm = VmService(
            f"{dc.name}-{name}",
            args,
            do_provider=self.providers.digitalocean,
            aws_provider=self.providers.aws,
            fastly_provider=self.providers.fastly,
            tag_resources=[self.tag(t) for t in rule_tags],
            opts=pulumi.ResourceOptions(parent=parent),
        )
        if isinstance(parent, DatacenterSite):
            parent.assign(vm.project_urns)
        return vm, args

    def droplets_of(self, key: str) -> list[digitalocean.Droplet]:
        """Every droplet of role ``key``: its primaries and its standby."""
        found = list(self.services[key].droplets) if key in self.services else []
        if key in self.standbys:
            found += self.standbys[key].droplets
        return found

    @property
    def synthetics_sources(self) -> pulumi.Output[list[str]]:
        """The networks Datadog's synthetics probes come from, for this stack's locations (read once per stack).

        From the Datadog provider's ``datadog_ip_ranges`` data source (Datadog's published ip-ranges), never
        written down: the ranges change as Datadog adds probes.
        """
        if self._synthetics is None:
            ranges = datadog.get_ip_ranges_output(opts=pulumi.InvokeOutputOptions(provider=self.providers.datadog))
            locations = self.settings.synthetics_locations
            self._synthetics = pulumi.Output.all(
                ranges.synthetics_ipv4_by_location, ranges.synthetics_ipv6_by_location
            ).apply(lambda maps: synthetics_networks(maps, locations))
        return self._synthetics

    def monitors(
        self,
        parent: pulumi.Resource,
        key: str,
        datacenter: str,
        *,
        http: Sequence[HttpCheck] = (),
        tcp: Sequence[TcpCheck] = (),
        tls: Sequence[TlsCheck] = (),
        on_droplets: bool = False,
        name: str | None = None,
        metrics: Sequence[MetricAlert] = (),
        fastly_service_ids: Sequence[pulumi.Input[str]] = (),
        composites: Sequence[CompositeAlert] = (),
    ) -> ServiceMonitors:
        """Synthetics for a service's public names (and host monitors for droplets), naming its owners.

        ``tls`` are the certificate checks of the names served at the edge (:meth:`EstateTls.checks`).

        ``name`` is the logical name, by default ``<key>-monitors``; give one when a service has several
        edges (python.org and staging.python.org both belong to python-org). ``metrics`` are monitors on
        a provider's metrics, for a service with no URL or host of its own to watch (DNS).
        ``fastly_service_ids`` are the service's Fastly services, registered with Datadog's Fastly
        integration where the stack has one, so its dashboard shows the CDN.

        The same description makes the service's dashboard (the first call for a key does, before the
        monitors, whose messages link to it) and its uptime objective over the synthetics.
        """
        s = self.settings
        entry = service(key)
        host_scope = (f"service:{key}", f"env:{s.environment.value}") if on_droplets else ()
        cdn = bool(fastly_service_ids) and s.fastly_metrics_key is not None
        for n, service_id in enumerate(fastly_service_ids, 1):
            self._register_fastly(
                parent, f"{name or key}-{n}" if len(fastly_service_ids) > 1 else name or key, key, service_id
            )
        board = self._dashboard(key, entry, host_scope, cdn, [c.url for c in (*http, *tcp)])
        if s.page_on_call:
            self.paging_handles.add(s.pagerduty_handle)
        monitors = ServiceMonitors(
            name or f"{key}-monitors",
            ServiceMonitorsArgs(
                service=key,
                environment=s.environment.value,
                datacenter=datacenter,
                http_checks=tuple(http),
                tcp_checks=tuple(tcp),
                tls_checks=tuple(tls),
                locations=s.synthetics_locations,
                owners=entry.owners,
                contact=entry.contact,
                notify_handles=s.notify_handles,
                page_on_call=s.page_on_call,
                pagerduty_handle=s.pagerduty_handle if s.page_on_call else None,
                # The tags psf-salt's Datadog state gives the agent (psf_salt.datadog_tags, the droplets' grain).
                host_scope=host_scope,
                host_thresholds=HostThresholds() if on_droplets else None,
                extra_tags=(*owner_tags(entry), *self.ownership_tags(key)),
                metric_alerts=tuple(metrics),
                dashboard_url=self.dashboard_url(board),
                uptime_target=UPTIME_TARGET,
                composites=tuple(composites),
            ),
            provider=self.providers.datadog,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        self.watched.setdefault(key, []).append(monitors)
        return monitors

    def dashboard_url(self, board: datadog.DashboardJson) -> pulumi.Output[str]:
        """The dashboard's address in Datadog's web app (``url`` is the path the API returns)."""
        site = self.settings.datadog_site
        # The web app is app.<site> on the two-label sites (datadoghq.com, datadoghq.eu, ddog-gov.com).
        host = f"app.{site}" if site.count(".") == 1 else site
        return pulumi.Output.concat("https://", host, board.url)

    def _dashboard(
        self,
        key: str,
        entry: CatalogService,
        host_scope: tuple[str, ...],
        cdn: bool,
        checked: Sequence[str],
    ) -> datadog.DashboardJson:
        """The service's dashboard, made once per catalog key from the same description as its monitors."""
        if key in self.dashboards:
            return self.dashboards[key]
        env = self.settings.environment.value
        args = ServiceDashboardArgs(
            title=f"[{env}] {entry.title}",
            description=f"{entry.summary} Generated by psf-infra from the service's monitors; edits are overwritten.",
            tags=(f"env:{env}", f"service:{key}"),
            host_tags=host_scope,
            cdn_tags=(f"env:{env}", f"{CDN_TAG}:{key}") if cdn else (),
            facts=(
                f"**{entry.title}**: {entry.summary}",
                "",
                f"Owners: {', '.join(entry.owners)}. Contact: {entry.contact}.",
                *(["", "Checked: " + ", ".join(checked)] if checked else []),
            ),
            uptime=bool(checked),
        )
        # Beside the stack's global parts, not in a datacenter: one per service, wherever it runs.
        self.dashboards[key] = dashboard(
            f"{key}-dashboard",
            args.title,
            args.description,
            args.widgets(),
            provider=self.providers.datadog,
            parent=self.tag_parent,
        )
        return self.dashboards[key]

    def _register_fastly(self, parent: pulumi.Resource, name: str, key: str, service_id: pulumi.Input[str]) -> None:
        """Hand one Fastly service to Datadog's Fastly integration, tagged so dashboards find its metrics."""
        secret = self.settings.fastly_metrics_key
        if secret is None:
            return
        datadog_opts = pulumi.ResourceOptions(parent=self.tag_parent, provider=self.providers.datadog)
        if self._fastly_account is None:
            # One entry per Fastly account in the Datadog account (which every stack shares): only the stack
            # with fastlyMetrics makes it. Its token may read, never write (global:read).
            self._fastly_account = datadog.fastly.IntegrationAccount(
                "datadog-fastly-account",
                name=self.settings.physical_name("fastly"),
                api_key=pulumi.Output.secret(secret.value),
                opts=datadog_opts,
            )
        datadog.fastly.IntegrationService(
            f"{name}-fastly-metrics",
            account_id=self._fastly_account.id,
            service_id=service_id,
            tags=[f"env:{self.settings.environment.value}", f"{CDN_TAG}:{key}"],
            opts=pulumi.ResourceOptions(parent=parent, provider=self.providers.datadog),
        )
