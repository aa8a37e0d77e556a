"""Services on DigitalOcean droplets, behind Fastly or direct; and a Fastly edge for an origin elsewhere.

:class:`VmService` makes ``replicas`` droplets configured by Salt, one firewall covering all of them, an A
and AAAA record per droplet in an internal zone, and then either a :class:`~components.edge.FastlyEdge` with
one backend per droplet (``edge`` given) or public A/AAAA records straight at the droplets (``edge`` None:
the direct variant, for a test host that must be the raw server, or SMTP).

:class:`ExternalOriginService` is the same edge and DNS in front of an origin outside DigitalOcean (an app on
Heroku, an AWS load balancer).

Providers are keyword-only arguments named after the cloud (see :mod:`components.edge`).
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_aws as aws
import pulumi_digitalocean as digitalocean
import pulumi_fastly as fastly
import yaml

from components.common import HOSTNAME as _HOSTNAME
from components.common import ZoneRef
from components.common import invalid as _fail
from components.edge import (
    DomainRedirect,
    EdgeArgs,
    EdgeDns,
    EdgeOptions,
    FastlyDnsTarget,
    FastlyEdge,
    HealthCheck,
    MovedRecords,
    Origin,
    OriginTokenGuard,
    PublicHost,
)

VM_SERVICE_TYPE: Final = "infra:vm:VmService"
EXTERNAL_ORIGIN_TYPE: Final = "infra:edge:ExternalOriginService"

DROPLET_SIZES: Final = frozenset(slug.value for slug in digitalocean.DropletSlug)
# Where cloud-init writes the script that installs Salt; runcmd runs it once, at first boot.
BOOTSTRAP_PATH: Final = "/usr/local/sbin/salt-bootstrap-verified"
# How long the bootstrap waits for a volume it must mount first (attachment follows the droplet's creation).
VOLUME_WAIT_SECONDS: Final = 600
# DigitalOcean's recommended options for a volume in /etc/fstab ("How to Mount Volumes"): nofail lets the
# droplet boot while the volume is not attached yet.
VOLUME_MOUNT_OPTIONS: Final = "defaults,nofail,discard,noatime"
EVERYWHERE: Final = ("0.0.0.0/0", "::/0")
PROTOCOLS: Final = frozenset({"tcp", "udp"})
# Ports that only Fastly may reach on a service behind the edge.
WEB_PORTS: Final = frozenset({80, 443})
# DigitalOcean: "a maximum of 10 Droplets per firewall" (Networking > Firewalls > Limits); the service's one
# firewall names its droplets by ID, so a service has at most that many.
MAX_DROPLETS_PER_FIREWALL: Final = 10

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$")
_TAG = re.compile(r"^[a-zA-Z0-9:_-]{1,255}$")
_IMAGE = re.compile(r"^([a-z0-9][a-z0-9.-]*[a-z0-9]|[0-9]+)$")
_SSH_KEY = re.compile(r"^([0-9]+|([0-9a-f]{2}:){15}[0-9a-f]{2})$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SALT_VERSION = re.compile(r"^[0-9]{4}(\.[0-9]{1,2})?$")
_MOUNT_POINT = re.compile(r"^(/[a-z0-9_.-]+)+$")


def _check_cidrs(argument: str, cidrs: tuple[str, ...], *, allow_everywhere: bool) -> None:
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=True)
        except (ValueError, TypeError):
            raise _fail(
                argument, cidr, "must be networks in CIDR notation with no host bits set, e.g. 192.0.2.0/24"
            ) from None
        if network.prefixlen == 0 and not allow_everywhere:
            raise _fail(argument, cidr, "must not be the whole internet (0.0.0.0/0 or ::/0)")


@dataclass(frozen=True)
class Volume:
    """A block-storage volume, one per droplet of the service.

    A DigitalOcean volume attaches to one droplet only, so each replica gets its own and keeps the same
    layout. ``protect`` (default on) makes Pulumi refuse to delete it; turn it off only for throw-away stacks.
    With ``mount_point`` the droplet mounts it there (an fstab entry) and installs Salt only once it is
    mounted, so what Salt writes there (a master's keys) never lands on the droplet's own disk.
    """

    name: str
    size_gib: int
    protect: bool = True
    filesystem: str = "ext4"
    mount_point: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise _fail("Volume.name", self.name, "must be 1-32 characters of a-z, 0-9 and '-', starting with a letter")
        if self.mount_point is not None and not _MOUNT_POINT.match(self.mount_point):
            raise _fail(
                f"Volume({self.name}).mount_point", self.mount_point, "must be an absolute path such as /srv/data"
            )
        if isinstance(self.size_gib, bool) or not isinstance(self.size_gib, int) or not 1 <= self.size_gib <= 16_384:
            raise _fail(f"Volume({self.name}).size_gib", self.size_gib, "must be a whole number of GiB from 1 to 16384")
        if self.filesystem not in ("ext4", "xfs"):
            raise _fail(f"Volume({self.name}).filesystem", self.filesystem, "must be ext4 or xfs")


@dataclass(frozen=True)
class PublicPort:
    """A port opened on the public interface.

    E.g. ``PublicPort(25)`` for SMTP or ``PublicPort(9020)`` for Buildbot workers. ``sources`` defaults to
    everyone; narrow it where the clients are known. ``source_tags`` admits droplets carrying any of those
    DigitalOcean tags, in any region (the backup host takes SSH only from the estate's own droplets); when
    tags are given and ``sources`` is not, only the tagged droplets are admitted.
    """

    port: int
    protocol: str = "tcp"
    sources: tuple[str, ...] | None = None
    source_tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 1 <= self.port <= 65_535:
            raise _fail("PublicPort.port", self.port, "must be a port number from 1 to 65535")
        if self.protocol not in PROTOCOLS:
            raise _fail(f"PublicPort({self.port}).protocol", self.protocol, "must be tcp or udp")
        for tag in self.source_tags:
            if not _TAG.match(tag):
                raise _fail(f"PublicPort({self.port}).source_tags", tag, "must be DigitalOcean tags ([a-zA-Z0-9:_-])")
        if self.sources is None:
            # Frozen dataclass: settle the default once, so every reader sees the same networks.
            object.__setattr__(self, "sources", () if self.source_tags else EVERYWHERE)
        if not self.sources and not self.source_tags:
            raise _fail(f"PublicPort({self.port}).sources", self.sources, "must list at least one network or tag")
        _check_cidrs(f"PublicPort({self.port}).sources", self.networks, allow_everywhere=True)

    @property
    def networks(self) -> tuple[str, ...]:
        """The source networks, after the default is applied."""
        return self.sources or ()


@dataclass(frozen=True, kw_only=True)
class VmEdge:
    """Put a VM service behind Fastly: how the edge behaves and how it reaches the droplets.

    Each droplet becomes one origin at its public IPv4 address, reached over TLS on ``origin_port``. The
    certificate it presents must be valid for ``origin_tls_hostname``, the name Fastly checks and sends as
    SNI: give the name the hosts' certificates really carry (an organisation usually issues one per role);
    None checks each droplet's own internal host name (``<name>-<n>.<dc>.<internal zone>``).
    ``origin_ca_certificate`` (PEM) is the private CA those certificates chain to (None: Fastly's public
    CA bundle). ``origin_token_guard`` says the droplets refuse requests without the origin token except on
    its exempt paths; the health check must then probe one of them. Only Fastly's address ranges may reach
    the origin port.
    """

    options: EdgeOptions
    health_check: HealthCheck
    dns_target: FastlyDnsTarget
    shield_pop: str | None = None
    origin_tls_hostname: str | None = None
    origin_ca_certificate: str | None = None
    origin_token_guard: OriginTokenGuard | None = None
    origin_port: int = 443
    first_byte_timeout_ms: int = 15_000

    def __post_init__(self) -> None:
        if not isinstance(self.options, EdgeOptions):
            raise _fail("VmEdge.options", self.options, "must be EdgeOptions")
        if self.origin_tls_hostname is not None and not _HOSTNAME.match(self.origin_tls_hostname):
            raise _fail("VmEdge.origin_tls_hostname", self.origin_tls_hostname, "must be a lower-case DNS name or None")
        if isinstance(self.origin_port, bool) or not 1 <= self.origin_port <= 65_535:
            raise _fail("VmEdge.origin_port", self.origin_port, "must be a port number from 1 to 65535")


@dataclass(frozen=True, kw_only=True)
class SaltBootstrap:
    """How a droplet installs Salt: a pinned salt-bootstrap release, checked against its SHA-256, and a Salt version.

    The droplet downloads ``script_url`` and runs it only if its SHA-256 is ``script_sha256``; the script then
    installs Salt ``salt_version`` (``stable <version>``). A changed checksum upstream stops the bootstrap.
    """

    script_url: str
    script_sha256: str
    salt_version: str

    def __post_init__(self) -> None:
        if not self.script_url.startswith("https://") or any(c.isspace() for c in self.script_url):
            raise _fail("SaltBootstrap.script_url", self.script_url, "must be an https:// URL")
        if not _SHA256.match(self.script_sha256):
            raise _fail(
                "SaltBootstrap.script_sha256", self.script_sha256, "must be 64 lower-case hexadecimal digits (SHA-256)"
            )
        if not _SALT_VERSION.match(self.salt_version):
            raise _fail(
                "SaltBootstrap.salt_version", self.salt_version, "must be a Salt release such as 3006 or 3006.9"
            )


@dataclass(frozen=True, kw_only=True)
class VmServiceArgs:
    """What a VM service is: where it runs, on what, how many, who may reach it and under which names.

    - ``name``: the service's short name (``docs``), in tags, firewall and volume names.
    - ``host_label``: the first label of the droplets' host names, by default ``name``; droplets are
      ``<label>-<n>.<datacenter>.<internal zone>``, or ``<label>.<datacenter>.<internal zone>`` when not
      ``numbered`` (one droplet only).
    - ``role``: the ``role:`` droplet tag, by default ``name``.
    - ``salt_master`` / ``salt_bootstrap``: the master the minions connect to, and how Salt is installed;
      ``minion_ids`` (one per droplet, by default the host names) and ``datadog_tags`` (the ``datadog_tags``
      grain the Datadog agent's host tags come from) are what the droplet tells Salt about itself;
      ``runs_salt_master`` installs the master on these droplets as well.
    - ``reserved_ipv4``: give each droplet a reserved IPv4 address that outlives it (protected and retained
      with ``reserved_ipv4_protect``); the public names and the edge use it instead of the droplet's own
      address. The host name keeps the droplet's own address: that is where the droplet's own traffic comes
      from, and DigitalOcean gives reserved addresses no reverse DNS, so a name whose forward and reverse
      lookups agree (a mail server's) must name the droplet's address. ``reserved_ipv4_label`` names the
      reserved addresses in the internal zone (``<label>[-<n>].<datacenter>.<zone>``), for names others
      write down, such as an MX target.
    - ``environment`` / ``datacenter``: go into tags, grains and physical names (``prod``, ``nyc1``).
    - ``size``: a ``pulumi_digitalocean.DropletSlug`` (or its value).
    - ``backups``: DigitalOcean's weekly droplet backups, for stateful roles.
    - ``admin_cidrs``: the only networks allowed to SSH in.
    - ``private_cidrs``: networks trusted with every port (the datacenter's VPC range); DigitalOcean cloud
      firewalls filter the private interface too, so app ports between hosts need this.
    - ``public_ports``: extra ports opened on the public interface.
    - ``public_hosts``: the service's public names, each with the zone that holds it.
    - ``edge``: put the service behind Fastly; None is the direct variant.
    - ``egress``: the only outbound ports, each to its ``sources`` (read as destinations) or ``source_tags``;
      the private network and ICMP are always allowed. None leaves egress open (a DIG-0003 waiver the
      caller takes on: simplest for hosts whose peers are not known in advance).
    - ``extra_tags``: more droplet tags, e.g. one a database firewall admits.
    - ``fastly_origin``: open the origin port (443) to Fastly's ranges without a service of its own, for
      origins that other services' edges use, such as a static mirror serving as a fallback.
    - ``origin_probe_sources``: networks admitted to the origin port besides Fastly's, for uptime probes
      that check an origin directly (a monitoring service's published ranges); only with an edge or
      ``fastly_origin``.
    """

    name: str
    environment: str
    datacenter: str
    region: digitalocean.Region
    vpc_id: pulumi.Input[str]
    image: str
    size: digitalocean.DropletSlug | str
    ssh_keys: tuple[str, ...]
    admin_cidrs: tuple[str, ...]
    internal_zone: ZoneRef
    salt_master: str
    salt_bootstrap: SaltBootstrap
    replicas: int = 1
    host_label: str | None = None
    numbered: bool = True
    role: str | None = None
    minion_ids: tuple[str, ...] = ()
    datadog_tags: tuple[str, ...] = ()
    runs_salt_master: bool = False
    reserved_ipv4: bool = False
    reserved_ipv4_protect: bool = True
    reserved_ipv4_label: str | None = None
    backups: bool = False
    volumes: tuple[Volume, ...] = ()
    private_cidrs: tuple[str, ...] = ()
    public_ports: tuple[PublicPort, ...] = ()
    public_hosts: tuple[PublicHost, ...] = ()
    edge: VmEdge | None = None
    fastly_origin: bool = False
    origin_probe_sources: pulumi.Input[Sequence[str]] | None = None
    egress: tuple[PublicPort, ...] | None = None
    extra_tags: tuple[str, ...] = ()
    dns_ttl: int = 3_600

    def __post_init__(self) -> None:
        for argument, value in (
            ("name", self.name),
            ("environment", self.environment),
            ("datacenter", self.datacenter),
        ):
            if not isinstance(value, str) or not _NAME.match(value):
                raise _fail(
                    f"VmServiceArgs.{argument}",
                    value,
                    "must be 1-32 characters of a-z, 0-9 and '-', starting with a letter",
                )
        if self.host_label is not None and not _NAME.match(self.host_label):
            raise _fail(
                "VmServiceArgs.host_label",
                self.host_label,
                "must be 1-32 characters of a-z, 0-9 and '-', starting with a letter",
            )
        if self.reserved_ipv4_label is not None and (
            not self.reserved_ipv4 or not _NAME.match(self.reserved_ipv4_label)
        ):
            raise _fail(
                "VmServiceArgs.reserved_ipv4_label",
                self.reserved_ipv4_label,
                "needs reserved_ipv4=True and 1-32 characters of a-z, 0-9 and '-', starting with a letter",
            )
        if not self.numbered and self.replicas != 1:
            raise _fail(
                "VmServiceArgs.numbered", False, f"needs replicas=1 (got {self.replicas}): unnumbered names repeat"
            )
        if self.role is not None and not _NAME.match(self.role):
            raise _fail(
                "VmServiceArgs.role", self.role, "must be 1-32 characters of a-z, 0-9 and '-', starting with a letter"
            )
        if not isinstance(self.region, digitalocean.Region):
            raise _fail("VmServiceArgs.region", self.region, "must be a pulumi_digitalocean.Region, e.g. Region.NYC3")
        if not _IMAGE.match(self.image):
            raise _fail(
                "VmServiceArgs.image",
                self.image,
                "must be an image slug such as ubuntu-24-04-x64, or a numeric image ID",
            )
        size = self.size.value if isinstance(self.size, digitalocean.DropletSlug) else self.size
        if size not in DROPLET_SIZES:
            raise _fail(
                "VmServiceArgs.size", self.size, "must be a pulumi_digitalocean.DropletSlug value, e.g. s-1vcpu-2gb"
            )
        if (
            isinstance(self.replicas, bool)
            or not isinstance(self.replicas, int)
            or not 1 <= self.replicas <= MAX_DROPLETS_PER_FIREWALL
        ):
            raise _fail(
                "VmServiceArgs.replicas",
                self.replicas,
                f"must be a whole number from 1 to {MAX_DROPLETS_PER_FIREWALL} (a DigitalOcean firewall covers at "
                f"most {MAX_DROPLETS_PER_FIREWALL} droplets)",
            )
        if not self.ssh_keys:
            raise _fail("VmServiceArgs.ssh_keys", self.ssh_keys, "must list at least one SSH key, or nobody can log in")
        for key in self.ssh_keys:
            if not _SSH_KEY.match(key):
                raise _fail(
                    "VmServiceArgs.ssh_keys", key, "must be DigitalOcean SSH key IDs (digits) or MD5 fingerprints"
                )
        if not self.admin_cidrs:
            raise _fail(
                "VmServiceArgs.admin_cidrs", self.admin_cidrs, "must list at least one network allowed to SSH in"
            )
        _check_cidrs("VmServiceArgs.admin_cidrs", self.admin_cidrs, allow_everywhere=False)
        _check_cidrs("VmServiceArgs.private_cidrs", self.private_cidrs, allow_everywhere=False)
        if not _HOSTNAME.match(self.salt_master):
            raise _fail("VmServiceArgs.salt_master", self.salt_master, "must be the Salt master's DNS name")
        if not isinstance(self.salt_bootstrap, SaltBootstrap):
            raise _fail("VmServiceArgs.salt_bootstrap", self.salt_bootstrap, "must be SaltBootstrap")
        if self.minion_ids:
            if len(self.minion_ids) != self.replicas or len(set(self.minion_ids)) != len(self.minion_ids):
                raise _fail(
                    "VmServiceArgs.minion_ids",
                    list(self.minion_ids),
                    f"must give {self.replicas} distinct IDs, one per droplet",
                )
            for minion in self.minion_ids:
                if not _HOSTNAME.match(minion):
                    raise _fail("VmServiceArgs.minion_ids", minion, "must be lower-case DNS names")
        for tag in self.datadog_tags:
            if not re.fullmatch(r"[a-z][a-z0-9_.:/-]*", tag) or len(tag) > 200:
                raise _fail("VmServiceArgs.datadog_tags", tag, "must be lower-case Datadog tags in key:value form")
        if len({v.name for v in self.volumes}) != len(self.volumes):
            raise _fail("VmServiceArgs.volumes", [v.name for v in self.volumes], "must have unique names")
        for volume in self.volumes:
            if len(self.volume_name(self.replicas, volume)) > 64:
                raise _fail(
                    "VmServiceArgs.volumes",
                    self.volume_name(self.replicas, volume),
                    "environment, datacenter, name and volume name together must fit DigitalOcean's 64 characters",
                )
        ports = [(p.port, p.protocol) for p in self.public_ports]
        if len(set(ports)) != len(ports):
            raise _fail("VmServiceArgs.public_ports", ports, "must not repeat a port")
        hosts = [h.host for h in self.public_hosts]
        if len(set(hosts)) != len(hosts):
            raise _fail("VmServiceArgs.public_hosts", hosts, "must not repeat a host")
        if self.origin_probe_sources is not None and self.edge is None and not self.fastly_origin:
            raise _fail(
                "VmServiceArgs.origin_probe_sources",
                "(networks)",
                "needs an edge or fastly_origin: only an origin port is opened to probes",
            )
        if isinstance(self.origin_probe_sources, (list, tuple)):
            _check_cidrs("VmServiceArgs.origin_probe_sources", tuple(self.origin_probe_sources), allow_everywhere=False)
        if isinstance(self.dns_ttl, bool) or not 60 <= self.dns_ttl <= 172_800:
            raise _fail("VmServiceArgs.dns_ttl", self.dns_ttl, "must be a whole number of seconds from 60 to 172800")
        for tag in self.tags:
            if not _TAG.match(tag):
                raise _fail("VmServiceArgs tags", tag, "DigitalOcean tags must match ^[a-zA-Z0-9:_-]+$")
        if self.edge is not None:
            if not self.public_hosts:
                raise _fail(
                    "VmServiceArgs.public_hosts", (), "must list at least one host when the service is behind Fastly"
                )
            web = sorted(
                p.port
                for p in self.public_ports
                if p.port in WEB_PORTS | {self.edge.origin_port} and p.protocol == "tcp"
            )
            if web:
                raise _fail(
                    "VmServiceArgs.public_ports",
                    web,
                    "must not open web ports on a service behind Fastly (only Fastly's ranges may reach them); "
                    "use edge=None for a direct service",
                )
            # Build the edge's arguments once with stand-in addresses, so a clash (say, a fallback origin
            # named like a droplet) fails here, before any droplet exists.
            self.edge_args(["192.0.2.1"] * self.replicas)

    @property
    def role_name(self) -> str:
        """The ``role:`` tag's value."""
        return self.role or self.name

    @property
    def tags(self) -> tuple[str, ...]:
        """DigitalOcean tags: readable ``key:value`` pairs so the control panel and do-agent can filter by them."""
        return (
            f"environment:{self.environment}",
            f"datacenter:{self.datacenter}",
            f"service:{self.name}",
            f"role:{self.role_name}",
            *self.extra_tags,
        )

    def host_name(self, index: int) -> str:
        """The internal host name of droplet ``index`` (1-based)."""
        label = self.host_label or self.name
        first = f"{label}-{index}" if self.numbered else label
        return f"{first}.{self.datacenter}.{self.internal_zone.name}"

    def reserved_host_name(self, index: int) -> str | None:
        """The internal name of droplet ``index``'s reserved address, when ``reserved_ipv4_label`` is set."""
        if self.reserved_ipv4_label is None:
            return None
        label = self.reserved_ipv4_label
        first = f"{label}-{index}" if self.numbered else label
        return f"{first}.{self.datacenter}.{self.internal_zone.name}"

    def minion_id(self, index: int) -> str:
        """The Salt minion ID of droplet ``index`` (1-based): the one given, or its host name."""
        return self.minion_ids[index - 1] if self.minion_ids else self.host_name(index)

    def volume_name(self, index: int, volume: Volume) -> str:
        """The physical name of ``volume`` on droplet ``index``.

        Volume names must be unique per region and account, which staging and prod may share, hence the
        environment in front.
        """
        return f"{self.environment}-{self.datacenter}-{self.name}-{index}-{volume.name}"

    def edge_args(self, addresses: Sequence[pulumi.Input[str]]) -> EdgeArgs:
        """The Fastly service for droplets at ``addresses``: one origin per droplet, named ``<name>-<n>``."""
        if self.edge is None:
            raise _fail("VmServiceArgs.edge", None, "is not set: this is a direct service without an edge")
        edge = self.edge
        origins = tuple(
            Origin(
                name=f"{self.name}-{n}",
                address=address,
                tls_hostname=edge.origin_tls_hostname or self.host_name(n),
                ca_certificate=edge.origin_ca_certificate,
                token_guard=edge.origin_token_guard,
                health_check=edge.health_check,
                port=edge.origin_port,
                shield=edge.shield_pop,
                first_byte_timeout_ms=edge.first_byte_timeout_ms,
            )
            for n, address in enumerate(addresses, start=1)
        )
        return EdgeArgs(domains=tuple(h.host for h in self.public_hosts), origins=origins, options=edge.options)


class _CloudConfigDumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks, so the user data reads like the files it writes."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_CloudConfigDumper.add_representer(str, _represent_str)


def volume_device(volume_name: str) -> str:
    """Where a DigitalOcean volume appears on its droplet (DigitalOcean's stable by-id path)."""
    return f"/dev/disk/by-id/scsi-0DO_Volume_{volume_name}"


def bootstrap_script(args: VmServiceArgs, index: int) -> str:
    """The shell script that installs Salt on droplet ``index``, and nothing else unless the download verifies.

    It stops at the first failure (``set -eu``): a download that fails, or whose SHA-256 is not the pinned
    one, ends the script before anything it fetched runs. Volumes with a mount point are mounted first.
    """
    q = shlex.quote
    bootstrap = args.salt_bootstrap
    lines = [
        "#!/bin/sh",
        "# Installs Salt with the pinned salt-bootstrap release, and only if it is byte for byte the one pinned.",
        "set -eu",
    ]
    for volume in args.volumes:
        if volume.mount_point is None:
            continue
        device = volume_device(args.volume_name(index, volume))
        lines += [
            f"# {volume.name}: attached after the droplet is created; wait for it, so nothing lands on the root disk.",
            f"waited=0; until [ -e {q(device)} ]; do",
            f'  [ "$waited" -lt {VOLUME_WAIT_SECONDS} ] || {{ echo "no volume {volume.name}" >&2; exit 1; }}',
            "  sleep 5; waited=$((waited + 5))",
            "done",
            f"mkdir -p {q(volume.mount_point)}",
            f"mountpoint -q {q(volume.mount_point)} || mount {q(volume.mount_point)}",
        ]
    command = ["sh", '"$script"', "-A", q(args.salt_master), "-i", q(args.minion_id(index))]
    if args.runs_salt_master:
        command.append("-M")
    command += ["stable", q(bootstrap.salt_version)]
    lines += [
        'script="$(mktemp)"',
        "trap 'rm -f \"$script\"' EXIT",
        f'curl --fail --silent --show-error --location --proto =https --retry 5 -o "$script" {q(bootstrap.script_url)}',
        f'echo "{bootstrap.script_sha256}  $script" | sha256sum --check --strict --quiet -',
        " ".join(command),
    ]
    return "\n".join(lines) + "\n"


def cloud_init(args: VmServiceArgs, index: int) -> str:
    """Droplet ``index``'s user data (cloud-init): just enough to hand the host over to Salt.

    It names the host, points a Salt minion at the master under its minion ID, gives it the ``datadog_tags``
    grain, mounts its volumes, and runs :func:`bootstrap_script`. Everything else is Salt's job.
    """
    host_name = args.host_name(index)
    write_files: list[dict[str, str]] = [
        {
            "path": "/etc/salt/minion.d/master.conf",
            "permissions": "0644",
            "content": yaml.safe_dump({"master": args.salt_master, "id": args.minion_id(index)}, sort_keys=False),
        },
    ]
    if args.datadog_tags:
        grains = {"datadog_tags": list(args.datadog_tags)}
        write_files.append(
            {"path": "/etc/salt/grains", "permissions": "0644", "content": yaml.safe_dump(grains, sort_keys=False)}
        )
    write_files.append({"path": BOOTSTRAP_PATH, "permissions": "0700", "content": bootstrap_script(args, index)})
    document: dict[str, object] = {"fqdn": host_name, "prefer_fqdn_over_hostname": True, "write_files": write_files}
    mounts = [
        [volume_device(args.volume_name(index, v)), v.mount_point, v.filesystem, VOLUME_MOUNT_OPTIONS, "0", "2"]
        for v in args.volumes
        if v.mount_point is not None
    ]
    if mounts:
        document["mounts"] = mounts
    # One command, so nothing runs after a failed check: runcmd's lines do not stop at a failure.
    document["runcmd"] = [[BOOTSTRAP_PATH]]
    return "#cloud-config\n" + yaml.dump(document, Dumper=_CloudConfigDumper, sort_keys=False)


def _int_id(droplet: digitalocean.Droplet) -> pulumi.Output[int]:
    return droplet.id.apply(int)


class VmService(pulumi.ComponentResource):
    """``replicas`` droplets for one service, its firewall, its DNS, and its Fastly edge when it has one.

    Droplets have monitoring (do-agent), IPv6, readable tags and Salt-driven configuration. A change to user
    data or SSH keys never replaces a running droplet: both are ignored after creation (Salt manages keys
    and configuration from then on).

    The single firewall covers every droplet: SSH from ``admin_cidrs`` only; with an edge, the origin port
    from Fastly's published ranges only (read from the Fastly data source, never written down); without
    one, the named ``public_ports`` to their sources; every port from ``private_cidrs``; ICMP from
    anywhere (path-MTU discovery breaks without it). Egress is limited to ``egress``, or open when it is
    None (a waiver of the restricted-egress rule, DIG-0003, the caller takes on).

    Firewall rules may name droplet tags; DigitalOcean resolves a tag when the rule is written, so pass the
    ``digitalocean.Tag`` resources of those tags as ``tag_resources``: the droplets, volumes and firewall are
    created after them.

    Attributes: ``droplets``, ``droplet_ids``, ``ipv4_addresses`` (the reserved addresses with
    ``reserved_ipv4``), ``ipv6_addresses``, ``host_names`` (internal), ``public_host_names``, ``volumes``,
    ``reserved_ips``, ``firewall``, ``internal_records``, ``public_records`` (direct variant only), ``edge``
    (a FastlyEdge or None), and ``project_urns``: the DigitalOcean URNs of everything a project can hold.
    """

    droplets: list[digitalocean.Droplet]
    droplet_ids: list[pulumi.Output[str]]
    ipv4_addresses: list[pulumi.Output[str]]
    ipv6_addresses: list[pulumi.Output[str]]
    host_names: tuple[str, ...]
    public_host_names: tuple[str, ...]
    volumes: list[digitalocean.Volume]
    reserved_ips: list[digitalocean.ReservedIp]
    project_urns: list[pulumi.Output[str]]
    firewall: digitalocean.Firewall
    internal_records: list[aws.route53.Record]
    public_records: list[aws.route53.Record]
    edge: FastlyEdge | None

    def __init__(
        self,
        name: str,
        args: VmServiceArgs,
        *,
        do_provider: digitalocean.Provider,
        aws_provider: aws.Provider,
        fastly_provider: fastly.Provider | None = None,
        tag_resources: Sequence[digitalocean.Tag] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(args, VmServiceArgs):
            raise _fail("VmService args", args, "must be VmServiceArgs")
        if (args.edge is not None or args.fastly_origin) and fastly_provider is None:
            raise _fail(
                "VmService fastly_provider",
                None,
                "is required when the service is behind Fastly (edge or fastly_origin is set)",
            )
        super().__init__(VM_SERVICE_TYPE, name, None, opts)
        do_opts = pulumi.ResourceOptions(parent=self, provider=do_provider)
        aws_opts = pulumi.ResourceOptions(parent=self, provider=aws_provider)
        tagged_opts = pulumi.ResourceOptions.merge(do_opts, pulumi.ResourceOptions(depends_on=list(tag_resources)))

        self.host_names = tuple(args.host_name(n) for n in range(1, args.replicas + 1))
        self.public_host_names = tuple(h.host for h in args.public_hosts)
        self.droplets = []
        self.volumes = []
        self.reserved_ips = []
        self.internal_records = []
        ipv4_addresses: list[pulumi.Output[str]] = []
        for n, host in enumerate(self.host_names, start=1):
            droplet = digitalocean.Droplet(
                f"{name}-{n}",
                name=host,
                image=args.image,
                size=args.size,
                region=args.region,
                vpc_uuid=args.vpc_id,
                ssh_keys=list(args.ssh_keys),
                backups=args.backups,
                # Without a policy DigitalOcean backs up daily (provider docs), not the weekly this promises.
                backup_policy=(
                    digitalocean.DropletBackupPolicyArgs(plan="weekly", weekday="SUN", hour=4) if args.backups else None
                ),
                monitoring=True,
                ipv6=True,
                tags=list(args.tags),
                user_data=cloud_init(args, n),
                # Wire names. The provider replaces a droplet when any of these changes; a new key, bootstrap
                # script or image applies to new droplets only, and Salt keeps the running ones current. A
                # rename (name) is an in-place droplet action.
                opts=pulumi.ResourceOptions.merge(
                    tagged_opts, pulumi.ResourceOptions(ignore_changes=["userData", "sshKeys", "image"])
                ),
            )
            self.droplets.append(droplet)
            for volume in args.volumes:
                self.volumes.append(self._volume(name, n, volume, droplet, args, tagged_opts))
            ipv4 = droplet.ipv4_address
            if args.reserved_ipv4:
                ipv4 = self._reserved_ip(name, n, droplet, args, do_opts)
                reserved_host = args.reserved_host_name(n)
                if reserved_host is not None:
                    self.internal_records.append(
                        aws.route53.Record(
                            f"{name}-{n}-ipv4-a",
                            zone_id=args.internal_zone.zone_id,
                            name=args.internal_zone.record_name(reserved_host),
                            type="A",
                            ttl=args.dns_ttl,
                            records=[ipv4],
                            opts=aws_opts,
                        )
                    )
            ipv4_addresses.append(ipv4)
            own = (("a", "A", droplet.ipv4_address), ("aaaa", "AAAA", droplet.ipv6_address))
            for suffix, kind, address in own:
                self.internal_records.append(
                    aws.route53.Record(
                        f"{name}-{n}-{suffix}",
                        zone_id=args.internal_zone.zone_id,
                        name=args.internal_zone.record_name(host),
                        type=kind,
                        ttl=args.dns_ttl,
                        records=[address],
                        opts=aws_opts,
                    )
                )
        self.droplet_ids = [d.id for d in self.droplets]
        self.ipv4_addresses = ipv4_addresses
        self.ipv6_addresses = [d.ipv6_address for d in self.droplets]
        self.project_urns = [
            *(d.droplet_urn for d in self.droplets),
            *(v.volume_urn for v in self.volumes),
            *(r.reserved_ip_urn for r in self.reserved_ips),
        ]

        self.firewall = digitalocean.Firewall(
            f"{name}-fw",
            name=f"{args.environment}-{args.datacenter}-{args.name}",
            droplet_ids=[_int_id(d) for d in self.droplets],
            inbound_rules=self._inbound_rules(args, fastly_provider),
            outbound_rules=self._outbound_rules(args),
            opts=tagged_opts,
        )

        self.edge = None
        self.public_records = []
        if args.edge is not None and fastly_provider is not None:
            self.edge = self._edge(name, args, args.edge, fastly_provider, aws_provider)
        else:
            self.public_records = self._direct_records(name, args, aws_opts)

        self.register_outputs(
            {
                "droplet_ids": self.droplet_ids,
                "ipv4_addresses": self.ipv4_addresses,
                "ipv6_addresses": self.ipv6_addresses,
                "host_names": list(self.host_names),
                "public_host_names": list(self.public_host_names),
                "firewall_id": self.firewall.id,
                "service_id": self.edge.service_id if self.edge is not None else None,
            }
        )

    def _volume(
        self,
        name: str,
        n: int,
        volume: Volume,
        droplet: digitalocean.Droplet,
        args: VmServiceArgs,
        do_opts: pulumi.ResourceOptions,
    ) -> digitalocean.Volume:
        resource = digitalocean.Volume(
            f"{name}-{n}-{volume.name}",
            name=args.volume_name(n, volume),
            region=args.region,
            size=volume.size_gib,
            initial_filesystem_type=volume.filesystem,
            description=f"{volume.name} for {self.host_names[n - 1]}",
            tags=list(args.tags),
            # Retained as well as protected: a protected volume can still be lost to a rename or a stack
            # removal; retain_on_delete keeps the disk in DigitalOcean whatever happens to the state. The
            # provider replaces a volume whose description changes (ForceNew), and the description names the
            # droplet, so a host rename must not touch it.
            opts=pulumi.ResourceOptions.merge(
                do_opts,
                pulumi.ResourceOptions(
                    protect=volume.protect, retain_on_delete=volume.protect, ignore_changes=["description"]
                ),
            ),
        )
        digitalocean.VolumeAttachment(
            f"{name}-{n}-{volume.name}-attachment",
            droplet_id=_int_id(droplet),
            volume_id=resource.id,
            opts=do_opts,
        )
        return resource

    def _reserved_ip(
        self, name: str, n: int, droplet: digitalocean.Droplet, args: VmServiceArgs, do_opts: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        # Separate from its assignment (the provider allows one or the other): replacing the droplet only
        # replaces the assignment, and the address stays with the service.
        protect = args.reserved_ipv4_protect
        address = digitalocean.ReservedIp(
            f"{name}-{n}-ipv4",
            region=args.region,
            opts=pulumi.ResourceOptions.merge(
                do_opts, pulumi.ResourceOptions(protect=protect, retain_on_delete=protect)
            ),
        )
        digitalocean.ReservedIpAssignment(
            f"{name}-{n}-ipv4-assignment",
            ip_address=address.ip_address,
            droplet_id=_int_id(droplet),
            opts=do_opts,
        )
        self.reserved_ips.append(address)
        return address.ip_address

    def _outbound_rules(self, args: VmServiceArgs) -> list[digitalocean.FirewallOutboundRuleArgs]:
        if args.egress is None:
            return [
                digitalocean.FirewallOutboundRuleArgs(
                    protocol=protocol, port_range=ports, destination_addresses=list(EVERYWHERE)
                )
                for protocol, ports in (("tcp", "1-65535"), ("udp", "1-65535"), ("icmp", None))
            ]
        rules = [digitalocean.FirewallOutboundRuleArgs(protocol="icmp", destination_addresses=list(EVERYWHERE))]
        rules += [
            digitalocean.FirewallOutboundRuleArgs(
                protocol=protocol, port_range="1-65535", destination_addresses=list(args.private_cidrs)
            )
            for protocol in ("tcp", "udp")
            if args.private_cidrs
        ]
        rules += [
            digitalocean.FirewallOutboundRuleArgs(
                protocol=p.protocol,
                port_range=str(p.port),
                destination_addresses=list(p.networks) or None,
                destination_tags=list(p.source_tags) or None,
            )
            for p in args.egress
        ]
        return rules

    def _inbound_rules(
        self, args: VmServiceArgs, fastly_provider: fastly.Provider | None
    ) -> list[digitalocean.FirewallInboundRuleArgs]:
        rules = [
            digitalocean.FirewallInboundRuleArgs(
                protocol="tcp", port_range="22", source_addresses=list(args.admin_cidrs)
            ),
            digitalocean.FirewallInboundRuleArgs(protocol="icmp", source_addresses=list(EVERYWHERE)),
        ]
        origin_port = args.edge.origin_port if args.edge is not None else 443
        if (args.edge is not None or args.fastly_origin) and fastly_provider is not None:
            ranges = fastly.get_fastly_ip_ranges_output(
                opts=pulumi.InvokeOutputOptions(parent=self, provider=fastly_provider)
            )
            fastly_sources = pulumi.Output.all(ranges.cidr_blocks, ranges.ipv6_cidr_blocks).apply(
                lambda blocks: [*blocks[0], *blocks[1]]
            )
            rules.append(
                digitalocean.FirewallInboundRuleArgs(
                    protocol="tcp", port_range=str(origin_port), source_addresses=fastly_sources
                )
            )
            if args.origin_probe_sources is not None:
                rules.append(
                    digitalocean.FirewallInboundRuleArgs(
                        protocol="tcp", port_range=str(origin_port), source_addresses=args.origin_probe_sources
                    )
                )
        rules += [
            digitalocean.FirewallInboundRuleArgs(
                protocol=p.protocol,
                port_range=str(p.port),
                source_addresses=list(p.networks) or None,
                source_tags=list(p.source_tags) or None,
            )
            for p in args.public_ports
        ]
        if args.private_cidrs:
            rules += [
                digitalocean.FirewallInboundRuleArgs(
                    protocol=protocol, port_range=ports, source_addresses=list(args.private_cidrs)
                )
                for protocol, ports in (("tcp", "1-65535"), ("udp", "1-65535"))
            ]
        return rules

    def _edge(
        self,
        name: str,
        args: VmServiceArgs,
        edge: VmEdge,
        fastly_provider: fastly.Provider,
        aws_provider: aws.Provider,
    ) -> FastlyEdge:
        return FastlyEdge(
            f"{name}-edge",
            args.edge_args(self.ipv4_addresses),
            fastly_provider=fastly_provider,
            dns=EdgeDns(hosts=args.public_hosts, target=edge.dns_target),
            aws_provider=aws_provider,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _direct_records(
        self, name: str, args: VmServiceArgs, aws_opts: pulumi.ResourceOptions
    ) -> list[aws.route53.Record]:
        records: list[aws.route53.Record] = []
        for public in args.public_hosts:
            for suffix, kind, addresses in (("a", "A", self.ipv4_addresses), ("aaaa", "AAAA", self.ipv6_addresses)):
                records.append(
                    aws.route53.Record(
                        f"{name}-{public.host}-{suffix}",
                        zone_id=public.zone.zone_id,
                        name=public.zone.record_name(public.host),
                        type=kind,
                        ttl=args.dns_ttl,
                        records=list(addresses),
                        opts=aws_opts,
                    )
                )
        return records


@dataclass(frozen=True, kw_only=True)
class ExternalOriginArgs:
    """A Fastly edge for an origin outside DigitalOcean (a Heroku app, an AWS load balancer).

    ``origin_host`` is both the address Fastly connects to and, unless ``tls_hostname`` says otherwise,
    the name checked on its certificate and sent as SNI (``example.herokuapp.com``). ``override_host`` sets
    the Host header the origin sees, for platforms that route on it. ``redirects`` make some of the public
    hosts (an apex) redirect instead; ``moved_dns`` names where a host's records were registered before.
    """

    origin_host: str
    health_check: HealthCheck
    public_hosts: tuple[PublicHost, ...]
    options: EdgeOptions
    dns_target: FastlyDnsTarget
    tls_hostname: str | None = None
    override_host: str | None = None
    port: int = 443
    shield_pop: str | None = None
    first_byte_timeout_ms: int = 15_000
    extra_domains: tuple[str, ...] = ()
    redirects: tuple[DomainRedirect, ...] = ()
    moved_dns: Mapping[str, MovedRecords] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _HOSTNAME.match(self.origin_host):
            raise _fail("ExternalOriginArgs.origin_host", self.origin_host, "must be the origin's DNS name")
        if not self.public_hosts:
            raise _fail("ExternalOriginArgs.public_hosts", (), "must list at least one public host")

    @property
    def origin(self) -> Origin:
        """The one primary origin."""
        return Origin(
            name="origin",
            address=self.origin_host,
            tls_hostname=self.tls_hostname or self.origin_host,
            override_host=self.override_host,
            health_check=self.health_check,
            port=self.port,
            shield=self.shield_pop,
            first_byte_timeout_ms=self.first_byte_timeout_ms,
        )


class ExternalOriginService(pulumi.ComponentResource):
    """A :class:`FastlyEdge` and its DNS records in front of one origin hosted outside DigitalOcean.

    ``extra_domains`` are served by the same service without DNS records here (their zone is managed
    elsewhere). Attribute: ``edge``; also ``service_id`` and ``public_host_names``.
    """

    edge: FastlyEdge
    service_id: pulumi.Output[str]
    public_host_names: tuple[str, ...]

    def __init__(
        self,
        name: str,
        args: ExternalOriginArgs,
        *,
        fastly_provider: fastly.Provider,
        aws_provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(args, ExternalOriginArgs):
            raise _fail("ExternalOriginService args", args, "must be ExternalOriginArgs")
        edge_args = EdgeArgs(
            domains=(*(h.host for h in args.public_hosts), *args.extra_domains),
            origins=(args.origin,),
            options=args.options,
            redirects=args.redirects,
        )
        super().__init__(EXTERNAL_ORIGIN_TYPE, name, None, opts)
        self.public_host_names = tuple(h.host for h in args.public_hosts)
        self.edge = FastlyEdge(
            f"{name}-edge",
            edge_args,
            fastly_provider=fastly_provider,
            dns=EdgeDns(hosts=args.public_hosts, target=args.dns_target, moved=args.moved_dns),
            aws_provider=aws_provider,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.service_id = self.edge.service_id
        self.register_outputs({"service_id": self.service_id, "public_host_names": list(self.public_host_names)})
