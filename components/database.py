"""A DigitalOcean managed PostgreSQL cluster: databases, a read replica, and a firewall that admits only its users."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_digitalocean as digitalocean

MANAGED_POSTGRES_TYPE: Final = "infra:database:ManagedPostgres"
_NAME = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_TAG = re.compile(r"^[A-Za-z0-9:_\-]{1,255}$")


def _fail(argument: str, value: object, allowed: str) -> ValueError:
    return ValueError(f"ManagedPostgres: {argument}={value!r} is invalid: {allowed}")


@dataclass(frozen=True, kw_only=True)
class ManagedPostgresArgs:
    """What the cluster holds and who may reach it.

    ``client_tags`` are droplet tags: the database firewall admits droplets carrying any of them and nothing
    else, so a new client must be tagged to connect. ``clients`` are the resources that carry those tags:
    the firewall waits for them, because DigitalOcean creates a tag with its first resource and a rule may
    not name a tag that does not exist yet (its cloud firewalls fail that way: poseidon/typhoon#709). The
    replica is a read-only standby in the same region that can be promoted if the primary is lost; ask for
    it in production.
    """

    cluster_name: str
    region: str
    vpc_id: pulumi.Input[str]
    size: str = "db-s-2vcpu-4gb"
    version: str = "16"
    node_count: int = 1
    databases: Sequence[str] = ()
    client_tags: Sequence[str] = ()
    clients: Sequence[pulumi.Resource] = ()
    replica: bool = False
    replica_size: str | None = None
    tags: Sequence[str] = ()
    protect: bool = False
    # Sunday 06:00 UTC: the quietest hour for the PSF's users across Europe and the Americas.
    maintenance_day: str = "sunday"
    maintenance_hour: str = "06:00:00"
    extra_firewall_ips: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not _NAME.match(self.cluster_name):
            raise _fail(
                "cluster_name", self.cluster_name, "3-63 characters of a-z, 0-9 and '-', starting with a letter"
            )
        if not re.fullmatch(r"db-[a-z0-9]+-[0-9]+vcpu-[0-9]+gb", self.size):
            raise _fail("size", self.size, "a managed database size slug such as db-s-2vcpu-4gb")
        if self.version not in {"14", "15", "16", "17"}:
            raise _fail("version", self.version, "one of 14, 15, 16, 17")
        if not 1 <= self.node_count <= 3:
            raise _fail("node_count", self.node_count, "1 to 3 nodes")
        for name in self.databases:
            if not _DB_NAME.match(name):
                raise _fail("databases", name, "PostgreSQL identifiers of a-z, 0-9 and '_'")
        if len(set(self.databases)) != len(self.databases):
            raise _fail("databases", list(self.databases), "no database may be listed twice")
        if not self.client_tags:
            raise _fail(
                "client_tags", list(self.client_tags), "at least one droplet tag; an empty firewall admits no one"
            )
        for tag in (*self.client_tags, *self.tags):
            if not _TAG.match(tag):
                raise _fail("client_tags/tags", tag, "DigitalOcean tags of letters, digits, ':', '_' and '-'")


class ManagedPostgres(pulumi.ComponentResource):
    """The cluster, its databases, an optional read replica, and a database firewall limited to its clients.

    Pass the DigitalOcean provider in ``opts``. With ``protect`` the cluster and replica are protected and
    retained on delete, so neither ``pulumi destroy`` nor a rename can drop the data. The firewall names its
    clients by tag: pass those tags' ``digitalocean.Tag`` resources as ``tag_resources`` so it is written
    after they exist. ``project_urns`` holds the cluster's DigitalOcean URN, for a project to claim it.
    """

    cluster: digitalocean.DatabaseCluster
    replica: digitalocean.DatabaseReplica | None
    firewall: digitalocean.DatabaseFirewall
    databases: dict[str, digitalocean.DatabaseDb]
    host: pulumi.Output[str]
    private_host: pulumi.Output[str]
    port: pulumi.Output[int]
    project_urns: list[pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        args: ManagedPostgresArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        tag_resources: Sequence[digitalocean.Tag] = (),
    ) -> None:
        super().__init__(MANAGED_POSTGRES_TYPE, name, None, opts)
        if opts is None or (opts.provider is None and not opts.providers):
            raise _fail("opts", opts, "must carry the DigitalOcean provider (default providers are disabled)")
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)

        self.cluster = digitalocean.DatabaseCluster(
            f"{name}-cluster",
            name=args.cluster_name,
            engine="pg",
            version=args.version,
            size=args.size,
            region=args.region,
            node_count=args.node_count,
            private_network_uuid=args.vpc_id,
            tags=list(args.tags),
            maintenance_windows=[
                digitalocean.DatabaseClusterMaintenanceWindowArgs(day=args.maintenance_day, hour=args.maintenance_hour)
            ],
            opts=stateful,
        )
        self.replica = None
        if args.replica:
            self.replica = digitalocean.DatabaseReplica(
                f"{name}-replica",
                cluster_id=self.cluster.id,
                name=f"{args.cluster_name}-replica",
                region=args.region,
                size=args.replica_size or args.size,
                private_network_uuid=args.vpc_id,
                tags=list(args.tags),
                opts=stateful,
            )
        rules = [digitalocean.DatabaseFirewallRuleArgs(type="tag", value=tag) for tag in args.client_tags]
        rules += [digitalocean.DatabaseFirewallRuleArgs(type="ip_addr", value=ip) for ip in args.extra_firewall_ips]
        self.firewall = digitalocean.DatabaseFirewall(
            f"{name}-firewall",
            cluster_id=self.cluster.id,
            rules=rules,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.clients, *tag_resources]),
        )
        # Databases go with the cluster: deleting the cluster deletes them, so they need no protection of
        # their own, and marking them deleted_with avoids a failing delete of each one first.
        self.databases = {
            db: digitalocean.DatabaseDb(
                f"{name}-db-{db}",
                cluster_id=self.cluster.id,
                name=db,
                opts=pulumi.ResourceOptions(parent=self, deleted_with=self.cluster),
            )
            for db in args.databases
        }
        self.host = self.cluster.host
        self.private_host = self.cluster.private_host
        self.port = self.cluster.port
        self.project_urns = [self.cluster.cluster_urn]
        self.register_outputs(
            {
                "cluster_id": self.cluster.id,
                "private_host": self.private_host,
                "port": self.port,
                "replica_id": self.replica.id if self.replica else None,
                "databases": list(self.databases),
            }
        )
