"""DigitalOcean: droplets, firewalls, managed databases, Spaces; and the provider's limits and contracts.

The contract rules encode what DigitalOcean refuses at apply time, or what its Terraform provider turns into
a replacement, that a mock accepts: a cloud firewall's limits (Networking > Firewalls > Limits, and the
provider's firewall docs), VPC ranges (provider's vpc docs), and inputs that force a new droplet or volume.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from typing import Final, Literal

from policy.rules.base import (
    DB_CLUSTER,
    DB_FIREWALL,
    DB_REPLICA,
    DO_PROJECT,
    DO_TAG,
    DROPLET,
    FIREWALL,
    FIREWALL_WAIVERS,
    PROJECT_RESOURCES,
    RESERVED_IP,
    SPACES_BUCKET,
    VOLUME,
    VPC,
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
    urn = _str(droplet.outputs.get("dropletUrn") or droplet.props.get("dropletUrn"))
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
    for key in ("clusterUrn",):
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


# --- provider contracts ------------------------------------------------------------------------------------

# DigitalOcean's cloud firewall limits: "a maximum of 10 Droplets per firewall and 5 tags per firewall",
# "up to 50 total incoming and outgoing rules", "limited to 1000 entries in the Sources or Destinations field".
FIREWALL_MAX_DROPLETS: Final = 10
FIREWALL_MAX_TAGS: Final = 5
FIREWALL_MAX_RULES: Final = 50
FIREWALL_MAX_SOURCES: Final = 1000
_ENDPOINT_FIELDS: Final = {
    "inbound": ("sourceAddresses", "sourceDropletIds", "sourceTags", "sourceLoadBalancerUids", "sourceKubernetesIds"),
    "outbound": (
        "destinationAddresses",
        "destinationDropletIds",
        "destinationTags",
        "destinationLoadBalancerUids",
        "destinationKubernetesIds",
    ),
}


@resource_rule("do-firewall-limits", anchors=("ours",), enforcement="mandatory", types=(FIREWALL,))
def _firewall_limits(fw: Resource) -> Iterable[Finding]:
    """A DigitalOcean firewall stays within its limits: 10 droplets, 5 tags, 50 rules, 1000 sources per rule."""
    droplets, tags = _items(fw.props.get("dropletIds")), _items(fw.props.get("tags"))
    if len(droplets) > FIREWALL_MAX_DROPLETS:
        yield _violation(
            fw,
            f"names {len(droplets)} droplets; DigitalOcean allows {FIREWALL_MAX_DROPLETS} per firewall and refuses "
            "the rest. Fix: tag the droplets and name the tag (tags), or split the service.",
        )
    if len(tags) > FIREWALL_MAX_TAGS:
        yield _violation(
            fw, f"names {len(tags)} tags; DigitalOcean allows {FIREWALL_MAX_TAGS}. Fix: fewer, broader tags."
        )
    rules = {d: _maps(fw.props.get(f"{d}Rules")) for d in ("inbound", "outbound")}
    total = sum(len(r) for r in rules.values())
    if total > FIREWALL_MAX_RULES:
        yield _violation(
            fw, f"has {total} rules; DigitalOcean allows {FIREWALL_MAX_RULES} in and out together. Fix: merge rules."
        )
    for direction, direction_rules in rules.items():
        for index, rule in enumerate(direction_rules):
            count = sum(len(_items(rule.get(key))) for key in _ENDPOINT_FIELDS[direction])
            if count > FIREWALL_MAX_SOURCES:
                yield _violation(
                    fw,
                    f"{direction} rule #{index} lists {count} sources/destinations; DigitalOcean allows "
                    f"{FIREWALL_MAX_SOURCES}. Fix: use network ranges or tags instead of single addresses.",
                )


_PRIVATE_RANGES: Final = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
# The provider's vpc docs: "may not be larger than /16 or smaller than /24" (the product docs offer /28 too).
VPC_PREFIXES: Final = (16, 24)


@stack_rule("do-vpc-ranges", anchors=("ours",), enforcement="mandatory", types=(VPC,))
def _vpc_ranges(resources: Sequence[Resource]) -> Iterable[Finding]:
    """DigitalOcean VPC ranges are RFC 1918 networks of /16 to /24 that do not overlap each other."""
    seen: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Resource]] = []
    low, high = VPC_PREFIXES
    for vpc in _of(resources, VPC):
        text = _str(vpc.props.get("ipRange"))
        if not text:
            continue
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError:
            yield _violation(vpc, f"ip_range {text!r} is not a network in CIDR notation. Fix: e.g. 10.120.0.0/20.")
            continue
        private = isinstance(network, ipaddress.IPv4Network) and any(network.subnet_of(r) for r in _PRIVATE_RANGES)
        if not private or not low <= network.prefixlen <= high:
            yield _violation(
                vpc,
                f"ip_range {text} must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 and from /{low} to "
                f"/{high}; DigitalOcean refuses it. Fix: a private /20 such as 10.120.0.0/20.",
            )
            continue
        for other, owner in seen:
            if network.overlaps(other):
                yield _violation(
                    vpc,
                    f"ip_range {text} overlaps {other} of {owner.label}; DigitalOcean refuses overlapping networks "
                    "in one account (staging and prod share it). Fix: give each VPC its own range.",
                )
        seen.append((network, vpc))


# Inputs the DigitalOcean provider replaces the resource for when they change (ForceNew), which the program
# must not let a later edit trigger: user data and SSH keys only apply at boot, and a volume's description
# names its droplet, so a host rename would recreate the disk empty.
FORCE_NEW_IGNORED: Final = {DROPLET: ("userData", "sshKeys"), VOLUME: ("description",)}


@resource_rule("do-forcenew-inputs-ignored", anchors=("ours",), enforcement="mandatory", types=(DROPLET, VOLUME))
def _forcenew_inputs_ignored(resource: Resource) -> Iterable[Finding]:
    """Droplets ignore changes to userData and sshKeys and volumes to description: the provider would replace them."""
    if resource.ignore_changes is None:
        return
    missing = [name for name in FORCE_NEW_IGNORED[resource.type] if name not in resource.ignore_changes]
    if missing:
        yield _violation(
            resource,
            f"does not ignore changes to {', '.join(missing)}, which the provider answers with a replacement "
            f"(a new empty {'disk' if resource.type == VOLUME else 'droplet'}). Fix: "
            f"ResourceOptions(ignore_changes={list(FORCE_NEW_IGNORED[resource.type])!r}).",
        )


# What a DigitalOcean project holds of the estate, and the output carrying each one's DigitalOcean URN
# (the provider's `urn`, renamed by the bridge: do:droplet:<id>, do:volume:<id>, do:dbaas:<id>,
# do:reservedip:<address>).
PROJECT_MEMBERS: Final = {
    DROPLET: "dropletUrn",
    VOLUME: "volumeUrn",
    DB_CLUSTER: "clusterUrn",
    RESERVED_IP: "reservedIpUrn",
}


@stack_rule(
    "do-resource-in-project",
    anchors=("ours",),
    enforcement="mandatory",
    types=(*PROJECT_MEMBERS, DO_PROJECT, PROJECT_RESOURCES),
)
def _resource_in_project(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every droplet, volume, database cluster and reserved IP is assigned to a DigitalOcean project.

    Assigned means its URN is in a ProjectResources' (or Project's) ``resources``, or, at preview, when
    those URNs are not yet known, that the ProjectResources depends on it.
    """
    claims = _of(resources, (DO_PROJECT, PROJECT_RESOURCES))
    listed = {str(urn) for claim in claims for urn in _items(claim.props.get("resources"))}
    depended = {urn for claim in claims for urn in claim.dependencies}
    for resource in resources:
        key = PROJECT_MEMBERS.get(resource.type)
        if key is None:
            continue
        do_urn = _str(resource.outputs.get(key) or resource.props.get(key))
        if (do_urn and do_urn in listed) or resource.urn in depended:
            continue
        yield _violation(
            resource,
            "is in no DigitalOcean project, so it lands in the account's default project, mixed with the other "
            f"stack's resources. Fix: add its {key} to its datacenter's ProjectResources (DatacenterSite.assign).",
        )


def _named_tags(fw: Resource) -> set[str]:
    """The droplet tags a cloud or database firewall names: whom it covers and whom its rules admit."""
    if fw.type == DB_FIREWALL:
        return {_str(r.get("value")) for r in _maps(fw.props.get("rules")) if _str(r.get("type")) == "tag"} - {""}
    names = {str(t) for t in _items(fw.props.get("tags"))}
    for rule in _maps(fw.props.get("inboundRules")):
        names |= {str(t) for t in _items(rule.get("sourceTags"))}
    for rule in _maps(fw.props.get("outboundRules")):
        names |= {str(t) for t in _items(rule.get("destinationTags"))}
    return names


@stack_rule(
    "do-firewall-tags-declared", anchors=("ours",), enforcement="mandatory", types=(FIREWALL, DB_FIREWALL, DO_TAG)
)
def _firewall_tags_declared(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every tag a DigitalOcean firewall names is a Tag resource of the stack, which the firewall depends on.

    DigitalOcean resolves a tag when it writes the rule; a tag that only a droplet creates races the firewall
    (poseidon/typhoon#709), and the rule fails or silently admits nobody.
    """
    tags = {_str(tag.props.get("name")): tag for tag in _of(resources, DO_TAG)}
    for fw in _of(resources, (FIREWALL, DB_FIREWALL)):
        for name in sorted(_named_tags(fw)):
            tag = tags.get(name)
            if tag is None:
                yield _violation(
                    fw,
                    f"names tag {name!r}, which no digitalocean.Tag in the stack creates, so the rule races the "
                    f"first droplet that carries it. Fix: digitalocean.Tag(name={name!r}), and make the firewall "
                    "depend on it (VmService tag_resources).",
                )
            elif tag.urn not in fw.dependencies:
                yield _violation(
                    fw,
                    f"names tag {name!r} but does not depend on its {tag.label}, so it may be written first. "
                    "Fix: depends_on the Tag (VmService / ManagedPostgres tag_resources).",
                )
