"""sfo1 (DigitalOcean SFO2): the backup host, and the static mirror Fastly falls back to.

Both sit on the other coast from nyc1 on purpose: a failure that takes out nyc1 leaves the backups and the
mirror standing (seed 004: "a static mirror ... in a separate data center").
"""

from __future__ import annotations

import dataclasses

from components.edge import HealthCheck
from components.vm_service import Volume
from stacks.context import PSF_STATUS_PATH, Estate, MirrorOrigin, WebRole
from stacks.datacenter import DatacenterSite

BACKUP = WebRole(
    key="backup",
    weight="large",
    single="rdiff-backup writes one repository per host; the copy that matters is the one off-site from nyc1",
    behind_fastly=False,
    stateful=True,
    ssh_from_estate=True,
    volumes=(Volume("backups", 1000),),
    salt_role="backup-server",
    no_standby="it is itself the second copy of every host's data, away from the hosts it copies; a second "
    "backup host would be a third copy",
)
MIRROR = WebRole(
    key="mirror",
    weight="medium",
    single="Fastly takes one fallback origin, the last resort behind two primaries in another datacenter",
    behind_fastly=False,
    fastly_origin=True,
    volumes=(Volume("mirror", 500),),
    no_standby="it is itself the last resort: Fastly turns to it only when a service's primaries (and "
    "standby) are down",
    # psf-salt has no role for the static mirror yet: its host gets the states every host gets.
)
# Probed often, as PyPI's Mirror backend is, so the fallback is known good before it is needed. Not its
# /last-modified page: like every PSF host it refuses requests without the origin token except HAProxy's
# status URI, and a probe carrying the token would make the services' whole health-check list a secret.
MIRROR_HEALTH = HealthCheck(
    PSF_STATUS_PATH, method="HEAD", interval_ms=3_000, timeout_ms=2_000, threshold=2, window=4, initial=3
)


def build(site: DatacenterSite, estate: Estate) -> MirrorOrigin:
    """Create sfo1's services; return the mirror as a fallback origin for other datacenters' edges."""
    backup_role = BACKUP
    if not estate.settings.is_prod:
        # Staging backs up nothing that matters; a small disk keeps the copy cheap.
        backup_role = dataclasses.replace(BACKUP, volumes=(dataclasses.replace(BACKUP.volumes[0], size_gib=20),))
    estate.vm_service(site, site.dc, site.vpc.id, backup_role, MirrorOrigin(None))
    mirror = estate.vm_service(site, site.dc, site.vpc.id, MIRROR, MirrorOrigin(None))
    origin = estate.psf_origin(
        "mirror", mirror.ipv4_addresses[0], estate.certificate_name(MIRROR), MIRROR_HEALTH, site.dc.shield_pop
    )
    return MirrorOrigin(origin)
