"""DigitalOcean: droplets, firewalls, managed databases, Spaces."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Literal

from policy.rules.base import (
    DB_CLUSTER,
    DB_FIREWALL,
    DB_REPLICA,
    DROPLET,
    FIREWALL,
    FIREWALL_WAIVERS,
    SPACES_BUCKET,
    Finding,
    Resource,
    _anywhere,
    _ident,
    _is_secret,
    _items,
    _map,
    _maps,
    _number,
    _of,
    _str,
    _violation,
    _waived,
    resource_rule,
    stack_rule,
)


def _firewall_findings(fw: Resource, direction: Literal["inbound", "outbound"]) -> Iterator[Finding]:
    key, addresses = (
        ("inboundRules", "sourceAddresses") if direction == "inbound" else ("outboundRules", "destinationAddresses")
    )
    fw_name = _str(fw.props.get("name"))
    for index, rule in enumerate(_maps(fw.props.get(key))):
        public = _anywhere(_items(rule.get(addresses)))
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
                "VPC; if the port must be public, add a FirewallWaiver with its reason to policy/rules/base.py.",
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
        opened = _anywhere(rule.get("value") for rule in rules if _str(rule.get("type")) == "ip_addr")
        if opened:
            yield _violation(
                cluster,
                f"its DatabaseFirewall admits {', '.join(opened)}, the whole internet. Fix: allow a droplet tag, "
                "droplet or the VPC range instead.",
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
                "has one node and no replica in production, so one failure loses the service. Fix: config "
                "psf-infra:databaseReplica true (the settings refuse false in prod); in code, a DatabaseReplica "
                "with its clusterId, or node_count=2 for a standby.",
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
