"""What every part of the estate shares, and the one way the PSF turns a service description into components.

A datacenter module says *what* runs there as :class:`WebRole` values; :class:`Estate` turns each into a
``VmService`` with the PSF's conventions (sizes by weight, replicas unless the software is single-writer,
Salt, the shared Fastly settings and log target, monitors naming the owners) so those conventions live in
one place.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import pulumi
import pulumi_digitalocean as digitalocean

from components.common import ZoneRef
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

Weight = Literal["small", "medium", "large"]


@dataclass(frozen=True)
class Host:
    """A public host name as prod knows it, and the zone (prod domain) that holds it."""

    name: str
    zone: str


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
    _tags: dict[str, digitalocean.Tag] = field(default_factory=dict)

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
        """Build one role's droplets, firewall, DNS and edge, and its monitors.

        The droplets join ``parent``'s DigitalOcean project when ``parent`` is a :class:`DatacenterSite`.
        """
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
        salt_role = psf_salt.role(role.salt_role)
        replicas = self.replicas(role)
        numbered = not role.single
        label = role.host_label or role.key
        first_labels = [f"{label}-{n}" if numbered else label for n in range(1, replicas + 1)]
        edge = None
        if role.behind_fastly:
            edge = VmEdge(
                options=self.edge_options(role.key, fallback=mirror.whole_site() if role.fallback else None),
                health_check=HealthCheck(role.health_path),
                dns_target=self.dns_target,
                shield_pop=dc.shield_pop,
                origin_tls_hostname=self.certificate_name(role),
                origin_ca_certificate=s.psf_ca_certificate,
                origin_token_guard=PSF_TOKEN_GUARD,
            )
        args = VmServiceArgs(
            name=role.key,
            environment=s.environment.value,
            datacenter=dc.name,
            region=dc.region,
            vpc_id=vpc_id,
            image=s.droplet_image,
            size=self.size(role.weight),
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
            backups=role.stateful and s.backups,
            volumes=tuple(dataclasses.replace(v, protect=s.protect) for v in role.volumes),
            private_cidrs=(dc.vpc_cidr,),
            public_ports=tuple(ports),
            public_hosts=tuple(self.public(h) for h in role.hosts),
            edge=edge,
            fastly_origin=role.fastly_origin,
            egress=tuple(egress),
            extra_tags=tuple(extra_tags),
        )
        vm = VmService(
            f"{dc.name}-{role.key}",
            args,
            do_provider=self.providers.digitalocean,
            aws_provider=self.providers.aws,
            fastly_provider=self.providers.fastly,
            tag_resources=[self.tag(t) for t in rule_tags],
            opts=pulumi.ResourceOptions(parent=parent),
        )
        if isinstance(parent, DatacenterSite):
            parent.assign(vm.project_urns)
        self.services[role.key] = vm
        self.origin_certificates[role.key] = self.certificate_name(role)
        self.monitors(
            parent,
            role.key,
            dc.name,
            http=[HttpCheck(h.host) for h in args.public_hosts],
            # A single-server role's host was <key>-1 before psf-salt's names (mail-1.ams1 -> mail.ams1).
            tcp=[
                TcpCheck(
                    # Checked where others reach it: the reserved address's name, if it has one.
                    args.reserved_host_name(1) or args.host_name(1),
                    port,
                    previous_hosts=() if numbered else (f"{role.key}-1.{dc.name}.{self.internal.name}",),
                )
                for _, port in role.tcp_checks
            ],
            tls=self.tls.checks(role.key, (h.host for h in args.public_hosts)) if role.behind_fastly else (),
            on_droplets=True,
        )
        return vm

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
    ) -> ServiceMonitors:
        """Synthetics for a service's public names (and host monitors for droplets), naming its owners.

        ``tls`` are the certificate checks of the names served at the edge (:meth:`EstateTls.checks`).

        ``name`` is the logical name, by default ``<key>-monitors``; give one when a service has several
        edges (python.org and staging.python.org both belong to python-org). ``metrics`` are monitors on
        a provider's metrics, for a service with no URL or host of its own to watch (DNS).
        """
        s = self.settings
        entry = service(key)
        return ServiceMonitors(
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
                host_scope=(f"service:{key}", f"env:{s.environment.value}") if on_droplets else (),
                host_thresholds=HostThresholds() if on_droplets else None,
                extra_tags=(*owner_tags(entry), *self.ownership_tags(key)),
                metric_alerts=tuple(metrics),
            ),
            provider=self.providers.datadog,
            opts=pulumi.ResourceOptions(parent=parent),
        )
