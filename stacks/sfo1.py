"""sfo1 (DigitalOcean SFO2): the backup host, and the static mirror Fastly falls back to.

Both sit on the other coast from nyc1 on purpose: a failure that takes out nyc1 leaves the backups and the
mirror standing (seed 004: "a static mirror ... in a separate data center").
"""

from __future__ import annotations

import dataclasses

from components.edge import HealthCheck, Origin
from components.vm_service import Volume
from stacks.context import Estate, MirrorOrigin, WebRole
from stacks.datacenter import DatacenterSite

BACKUP = WebRole(
    key="backup",
    weight="large",
    single="rdiff-backup writes one repository per host; the copy that matters is the one off-site from nyc1",
    behind_fastly=False,
    stateful=True,
    ssh_from_estate=True,
    volumes=(Volume("backups", 1000),),
)
MIRROR = WebRole(
    key="mirror",
    weight="medium",
    single="Fastly takes one fallback origin, the last resort behind two primaries in another datacenter",
    behind_fastly=False,
    fastly_origin=True,
    volumes=(Volume("mirror", 500),),
)
# The mirror answers this cheap path with the time of its last sync (reference: PyPI's Mirror backend).
MIRROR_HEALTH = HealthCheck(
    "/last-modified", method="GET", interval_ms=3_000, timeout_ms=2_000, threshold=2, window=4, initial=3
)


def build(site: DatacenterSite, estate: Estate) -> MirrorOrigin:
    """Create sfo1's services; return the mirror as a fallback origin for other datacenters' edges."""
    backup_role = BACKUP
    if not estate.settings.is_prod:
        # Staging backs up nothing that matters; a small disk keeps the copy cheap.
        backup_role = dataclasses.replace(BACKUP, volumes=(Volume("backups", 20),))
    estate.vm_service(site, site.dc, site.vpc.id, backup_role, MirrorOrigin(None))
    mirror = estate.vm_service(site, site.dc, site.vpc.id, MIRROR, MirrorOrigin(None))
    origin = Origin(
        name="mirror",
        address=mirror.ipv4_addresses[0],
        tls_hostname=mirror.host_names[0],
        health_check=MIRROR_HEALTH,
        shield=site.dc.shield_pop,
    )
    return MirrorOrigin(origin)
