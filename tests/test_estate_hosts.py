"""The hosts as Salt, Datadog and DigitalOcean see them, proved from the recordings of both stacks.

- every name a droplet's bootstrap uses (its Salt master) has a record in its own stack's zones, pointing
  at that stack's master;
- every minion ID falls in its psf-salt role's pattern, and prod's hosts are named as the patterns expect;
- every host monitor selects tags some host of its stack carries, in the vocabulary the synthetics use;
- every droplet, volume, database and reserved address is in its datacenter's DigitalOcean project;
- the two stacks' VPCs never overlap;
- the Salt master admits 4505-4506 from its own stack's droplets only, and keeps its keys on a volume that
  prod protects; mail and pythontest.net keep their addresses when a droplet is replaced.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from components.vm_service import BOOTSTRAP_PATH
from offline.recorder import Record, Recording
from stacks import psf_salt
from stacks.settings import Settings, parse_settings
from tests.test_settings import base

DROPLET = "digitalocean:index/droplet:Droplet"
VOLUME = "digitalocean:index/volume:Volume"
CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster"
RESERVED_IP = "digitalocean:index/reservedIp:ReservedIp"
ASSIGNMENT = "digitalocean:index/reservedIpAssignment:ReservedIpAssignment"
PROJECT = "digitalocean:index/project:Project"
PROJECT_RESOURCES = "digitalocean:index/projectResources:ProjectResources"
FIREWALL = "digitalocean:index/firewall:Firewall"
VPC = "digitalocean:index/vpc:Vpc"
ZONE = "aws:route53/zone:Zone"
RECORD = "aws:route53/record:Record"
MONITOR = "datadog:index/monitor:Monitor"
SYNTHETICS = "datadog:index/syntheticsTest:SyntheticsTest"
# The DigitalOcean URN output of each kind of thing a project holds.
URN_OUTPUT = {DROPLET: "dropletUrn", VOLUME: "volumeUrn", CLUSTER: "clusterUrn", RESERVED_IP: "reservedIpUrn"}
# Roles psf-salt has no states for yet (pillar/prod/roles.sls): their hosts get only the base states. The
# secondary MX is one (psf-salt's mail role is the Mailman host, mail.ams1.psf.io exactly).
WITHOUT_PSF_SALT_ROLE = {"pypy", "mirror", "mail-standby"}


def settings_of(recording: Recording) -> Settings:
    return parse_settings(recording.stack, base(recording.stack))


def service_of(droplet: Record) -> str:
    return next(t.split(":", 1)[1] for t in droplet.inputs["tags"] if t.startswith("service:"))


def cloud_config(droplet: Record) -> dict[str, Any]:
    return yaml.safe_load(droplet.inputs["userData"])


def written(droplet: Record, path: str) -> str:
    return next(f["content"] for f in cloud_config(droplet)["write_files"] if f["path"] == path)


def minion(droplet: Record) -> dict[str, str]:
    return yaml.safe_load(written(droplet, "/etc/salt/minion.d/master.conf"))


def datadog_tags(droplet: Record) -> set[str]:
    return set(yaml.safe_load(written(droplet, "/etc/salt/grains"))["datadog_tags"])


def records_by_name(recording: Recording) -> Iterator[tuple[str, str, Record]]:
    """(name, zone name, record) of every Route 53 record, the zone found by the record's zone ID."""
    zones = {str(z.outputs.get("zoneId")): str(z.inputs["name"]) for z in recording.of_type(ZONE)}
    for record in recording.of_type(RECORD):
        yield record.inputs["name"], zones.get(str(record.inputs["zoneId"]), ""), record


# --- the names the bootstrap uses resolve in the stack's own zones -----------------------------------------


def test_every_name_the_bootstrap_uses_resolves_in_the_stacks_own_zones(stack: Recording) -> None:
    masters = {d.outputs["ipv4Address"] for d in stack.of_type(DROPLET) if service_of(d) == "salt"}
    assert len(masters) == 1, "each stack has its own Salt master"
    for droplet in stack.of_type(DROPLET):
        master = minion(droplet)["master"]
        assert f"-A {master} " in written(droplet, BOOTSTRAP_PATH)
        found = [
            r
            for name, zone, r in records_by_name(stack)
            if name == master and r.inputs["type"] == "A" and (master == zone or master.endswith("." + zone))
        ]
        assert found, f"{droplet.name} bootstraps against {master}, which no zone of {stack.stack} holds"
        # The record is this stack's master, not a name typed by hand.
        assert set(found[0].inputs["records"]) == masters, droplet.name


def test_the_master_record_lives_in_the_internal_zone(stack: Recording) -> None:
    settings = settings_of(stack)
    assert settings.salt_master == f"salt.nyc1.{settings.internal_domain}"
    holders = {zone for name, zone, _ in records_by_name(stack) if name == settings.salt_master}
    # Outside prod, that zone sits inside domainSuffix, which prod delegates (tests/test_estate_dns.py).
    assert holders == {settings.internal_domain}


# --- psf-salt recognises every host ------------------------------------------------------------------------


def test_every_minion_id_falls_in_its_psf_salt_role(stack: Recording) -> None:
    ids = []
    for droplet in stack.of_type(DROPLET):
        minion_id = minion(droplet)["id"]
        ids.append(minion_id)
        assert f"-i {minion_id} " in written(droplet, BOOTSTRAP_PATH)
        role_tags = [t.split(":", 1)[1] for t in droplet.inputs["tags"] if t.startswith("role:")]
        role = psf_salt.ROLES.get(role_tags[0]) if role_tags else None
        if service_of(droplet) in WITHOUT_PSF_SALT_ROLE:
            assert role is None, droplet.name
            continue
        assert role is not None, f"{droplet.name} has no psf-salt role"
        assert role.matches(minion_id), f"{minion_id} is outside {role.name}'s {role.pattern}"
        # And no other role claims it: Salt would apply both roles' states.
        others = [r.name for r in psf_salt.ROLES.values() if r is not role and r.matches(minion_id)]
        assert not others, (minion_id, others)
    assert len(ids) == len(set(ids)), "one master cannot hold two minions under one ID"


def test_prod_hosts_carry_the_names_psf_salt_expects(prod: Recording) -> None:
    for droplet in prod.of_type(DROPLET):
        minion_id, host = minion(droplet)["id"], droplet.inputs["name"]
        if service_of(droplet) == "pythontest":
            # psf-salt names this one after DigitalOcean's region (pythontest*.nyc3.psf.io).
            assert minion_id == host.replace(".nyc1.", ".nyc3.")
        else:
            assert minion_id == host, droplet.name


def test_staging_keeps_its_own_host_names_and_prods_minion_id_shape(staging: Recording) -> None:
    internal = settings_of(staging).internal_domain
    for droplet in staging.of_type(DROPLET):
        assert droplet.inputs["name"].endswith("." + internal)
        assert minion(droplet)["id"].endswith("." + psf_salt.SALT_DOMAIN)
        assert not minion(droplet)["id"].endswith("." + internal)


def test_single_server_roles_have_the_bare_names_of_the_real_hosts(prod: Recording) -> None:
    names = {d.inputs["name"] for d in prod.of_type(DROPLET)}
    # python/psf-salt docs/salt-server-list.rst, and the roundup-tracker.org SPF (a:bugs.nyc1.psf.io).
    assert {"bugs.nyc1.psf.io", "mail.ams1.psf.io", "salt.nyc1.psf.io", "backup.sfo1.psf.io"} <= names
    assert {"codespeed-1.nyc1.psf.io", "codespeed-2.nyc1.psf.io"} <= names


# --- Datadog: one vocabulary, and every host monitor selects a host ---------------------------------------


def host_scope(monitor: Record) -> set[str] | None:
    """The tags a host monitor's query selects (``{service:docs,env:prod}``), None for other monitors."""
    match = re.search(r"\{([^}]*)\}", str(monitor.inputs.get("query", "")))
    if not match or "service:" not in match.group(1):
        return None
    return {t.strip().strip('"') for t in match.group(1).split(",")}


def test_every_host_monitor_selects_a_host_of_its_stack(stack: Recording) -> None:
    hosts = [datadog_tags(d) for d in stack.of_type(DROPLET)]
    scoped = [(m, host_scope(m)) for m in stack.of_type(MONITOR)]
    scoped = [(m, s) for m, s in scoped if s is not None]
    assert len(scoped) >= 4 * 10, "host monitors for every role on droplets"
    for monitor, scope in scoped:
        assert any(scope <= tags for tags in hosts), f"{monitor.name} selects {sorted(scope)}, which no host carries"


def test_hosts_synthetics_and_monitors_speak_one_tag_vocabulary(stack: Recording) -> None:
    environment = settings_of(stack).environment.value
    for droplet in stack.of_type(DROPLET):
        tags = datadog_tags(droplet)
        # A standby's agent reports as its role's service, so the role's host monitors watch it too.
        assert {f"env:{environment}", f"service:{service_of(droplet).removesuffix('-standby')}"} <= tags
        assert not any(t.startswith("environment:") for t in tags)
    for record in stack.of_type(SYNTHETICS) + stack.of_type(MONITOR):
        assert f"env:{environment}" in record.inputs["tags"], record.name
        assert not any(str(t).startswith("environment:") for t in record.inputs["tags"]), record.name


# --- DigitalOcean projects ---------------------------------------------------------------------------------


def test_every_droplet_volume_database_and_address_is_in_its_datacenters_project(stack: Recording) -> None:
    projects = {p.datacenter: p.id for p in stack.of_type(PROJECT)}
    claimed: dict[str, set[str]] = {}
    for assignment in stack.of_type(PROJECT_RESOURCES):
        assert assignment.inputs["project"] == projects[assignment.datacenter], assignment.name
        claimed.setdefault(str(assignment.datacenter), set()).update(assignment.inputs["resources"])
    members = [r for r in stack.resources if r.type in URN_OUTPUT]
    assert {r.type for r in members} == set(URN_OUTPUT)
    for record in members:
        urn = record.outputs[URN_OUTPUT[record.type]]
        assert urn in claimed.get(str(record.datacenter), set()), f"{record.name} ({urn}) is in no project"


# --- VPCs --------------------------------------------------------------------------------------------------


def test_no_two_stacks_vpcs_overlap(prod: Recording, staging: Recording) -> None:
    networks = [
        (recording.stack, vpc.name, ipaddress.ip_network(vpc.inputs["ipRange"]))
        for recording in (prod, staging)
        for vpc in recording.of_type(VPC)
    ]
    assert len(networks) == 6
    for i, (stack_a, name_a, a) in enumerate(networks):
        for stack_b, name_b, b in networks[i + 1 :]:
            assert not a.overlaps(b), f"{stack_a} {name_a} {a} overlaps {stack_b} {name_b} {b}"


# --- the Salt master ---------------------------------------------------------------------------------------


def test_the_master_admits_4505_4506_only_from_its_own_stacks_droplets(stack: Recording) -> None:
    prefix = settings_of(stack).name_prefix
    minion_tag, master_tag = f"salt-minion:{prefix}", f"salt-master:{prefix}"
    salt_rules = [
        r for r in stack.named("nyc1-salt-fw").inputs["inboundRules"] if r.get("portRange") in ("4505", "4506")
    ]
    assert sorted(r["portRange"] for r in salt_rules) == ["4505", "4506"]
    assert all(r["sourceTags"] == [minion_tag] and not r.get("sourceAddresses") for r in salt_rules)
    for droplet in stack.of_type(DROPLET):
        assert minion_tag in droplet.inputs["tags"], droplet.name
    for firewall in stack.of_type(FIREWALL):
        outbound = [r for r in firewall.inputs["outboundRules"] if r.get("portRange") in ("4505", "4506")]
        assert outbound and all(r["destinationTags"] == [master_tag] for r in outbound), firewall.name
        assert not any("0.0.0.0/0" in r.get("destinationAddresses", []) for r in outbound), firewall.name


def test_the_masters_keys_are_on_a_volume_prod_protects(stack: Recording) -> None:
    volume = stack.named("nyc1-salt-1-pki")
    protected = settings_of(stack).protect
    assert volume.options.protect is protected and volume.options.retain_on_delete is protected
    master = stack.named("nyc1-salt-1")
    assert cloud_config(master)["mounts"][0][1] == "/etc/salt/pki"
    assert " -M stable " in written(master, BOOTSTRAP_PATH)


# --- addresses that survive a droplet's replacement --------------------------------------------------------


def test_mx_and_pythontest_net_point_at_reserved_addresses(stack: Recording) -> None:
    reserved = {r.outputs["ipAddress"] for r in stack.of_type(RESERVED_IP)}
    assigned = {a.inputs["ipAddress"] for a in stack.of_type(ASSIGNMENT)}
    assert reserved == assigned
    addresses = {(name, r.inputs["type"]): set(r.inputs["records"]) for name, _, r in records_by_name(stack)}
    settings = settings_of(stack)
    mx = next(
        v for (name, kind), v in addresses.items() if kind == "MX" and name == settings.public_domain("python.org")
    )
    for target in {value.split()[1] for value in mx}:
        assert addresses[(target, "A")] <= reserved, target
    # The mail host's own name keeps its own address, which mail leaves from and reverse DNS names.
    mail = stack.named("ams1-mail-1")
    assert addresses[(mail.inputs["name"], "A")] == {mail.outputs["ipv4Address"]}
    pythontest = settings.public_domain("pythontest.net")
    assert addresses[(pythontest, "A")] and addresses[(pythontest, "A")] <= reserved
    assert all(a.options.protect is settings.protect for a in stack.of_type(RESERVED_IP))


@pytest.mark.parametrize("name", ["nyc1-pythontest-1-ipv4-assignment", "ams1-mail-1-ipv4-assignment"])
def test_a_replaced_droplet_only_replaces_the_assignment(stack: Recording, name: str) -> None:
    # The address is its own resource; only the assignment names the droplet.
    assignment = stack.named(name)
    address = stack.by_urn(
        next(d for d in assignment.options.dependencies if d.endswith(name.removesuffix("-assignment")))
    )
    assert "dropletId" not in address.inputs
