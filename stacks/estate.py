"""The whole estate for one stack: settings in, resources out. ``__main__.py`` and the recorder both call it.

Order matters only where one part feeds another: the Fastly TLS configuration first (read, not created: a
configuration that cannot serve the estate stops the program before any resource), zones next (every host
name goes in one), then sfo1,
whose mirror is the fallback origin for nyc1 and PyPI, then nyc1, whose downloads servers are
www.python.org's /ftp/ origin, then ams1, then the global edge, then what watches the whole estate (its
dashboard and the on-call rotation the monitors page), and last each datacenter's project assignment,
which needs everything in the datacenter to exist.
"""

from __future__ import annotations

import pulumi

from components.vm_service import VmService
from stacks import ams1, nyc1, sfo1
from stacks import global_edge as edge
from stacks.context import STANDBY_SUFFIX, Estate, MirrorOrigin
from stacks.datacenter import DatacenterSite
from stacks.dns import build_dnssec_monitors, build_zones
from stacks.imports import Adoption, ImportMap, load_for
from stacks.observability import build_estate_dashboard, build_on_call
from stacks.providers import Providers, make_providers
from stacks.registrar import build_registrar
from stacks.settings import Settings, load_settings
from stacks.tls import TLS_OUTPUT, EstateTls, build_tls


def build(settings: Settings, import_map: ImportMap | None = None) -> Estate:
    """Create every resource of the estate described by ``settings``, adopting what ``import_map`` names.

    The map (by default the stack's own file) is read and checked before anything is made; the estate is
    then constructed under :class:`~stacks.imports.Adoption`, which registers nothing until the map fits it.
    """
    import_map = import_map if import_map is not None else load_for(settings)
    providers = make_providers(settings)
    tls = build_tls(settings, providers)
    return Adoption(settings, import_map).run(lambda: _build(settings, providers, tls))


def _build(settings: Settings, providers: Providers, tls: EstateTls) -> Estate:
    global_parent = edge.GlobalEdge()
    enabled = {dc.name for dc in settings.datacenters}
    mail_hosts = ams1.mail_hosts(settings) if "ams1" in enabled else ()
    senders = ams1.mail_senders(settings) if "ams1" in enabled else ()
    priorities = ams1.mx_priorities(settings) if "ams1" in enabled else {}
    dns = build_zones(settings, providers, global_parent, mail_hosts, senders, priorities)
    # Nothing, and no registrar provider, unless registrarDomains opts a domain in.
    build_registrar(settings, providers, dns.zones, global_parent)
    logging = edge.build_logging(settings, providers, global_parent)
    estate = Estate(settings, providers, dns.zones, logging, tag_parent=global_parent, edge_tls=tls)
    build_dnssec_monitors(estate, global_parent)

    sites = {dc.name: DatacenterSite(dc, settings, providers) for dc in settings.datacenters}
    # A standby may run in another datacenter than its primary (bugs' in sfo1, the secondary MX).
    estate.sites.update(sites)
    mirror = sfo1.build(sites["sfo1"], estate) if "sfo1" in sites else MirrorOrigin(None)
    downloads = nyc1.build(sites["nyc1"], estate, mirror).downloads if "nyc1" in sites else None
    if "ams1" in sites:
        ams1.build(sites["ams1"], estate)
    edge.build(estate, global_parent, downloads=downloads, mirror=mirror)
    # Once every service's monitors exist: what they page, and the estate's own dashboard.
    build_estate_dashboard(estate, global_parent)
    build_on_call(estate, global_parent)
    # Last, once every droplet, volume, database and address of a datacenter exists.
    for site in sites.values():
        site.assign_to_project()

    pulumi.export("environment", settings.environment.value)
    pulumi.export("vpcs", {name: site.vpc.id for name, site in sites.items()})
    for key, value in dns.outputs().items():
        pulumi.export(key, value)
    pulumi.export("droplets", {key: list(vm.host_names) for key, vm in vm_services(estate).items()})
    # The DNS targets read from Fastly, as deployed: `make verify` expects them, not the recording's mock ones.
    pulumi.export(TLS_OUTPUT, tls.output())
    pulumi.export("droplet_addresses", droplet_addresses(estate))
    pulumi.export("salt_master", settings.salt_master)
    return estate


def vm_services(estate: Estate) -> dict[str, VmService]:
    """Every VmService by name: each role's (``docs``) and each standby's (``bugs-standby``)."""
    return {**estate.services, **{f"{key}-{STANDBY_SUFFIX}": vm for key, vm in estate.standbys.items()}}


def droplet_addresses(estate: Estate) -> dict[str, dict[str, pulumi.Output[str]]]:
    """The real addresses behind the droplets' DNS records and Fastly backends, by host: `make verify` checks them.

    A droplet with a reserved address has it as ``reserved_ipv4``: its public names and edge use that one.
    """
    addresses: dict[str, dict[str, pulumi.Output[str]]] = {}
    for vm in vm_services(estate).values():
        reserved = [r.ip_address for r in vm.reserved_ips]
        for n, (host, droplet) in enumerate(zip(vm.host_names, vm.droplets, strict=True)):
            entry = {"ipv4": droplet.ipv4_address, "ipv6": droplet.ipv6_address}
            if reserved:
                entry["reserved_ipv4"] = reserved[n]
            addresses[host] = entry
    return addresses


def main() -> None:
    """The program: read and validate settings and the import map first, so neither fails halfway."""
    settings = load_settings()
    build(settings, load_for(settings))
