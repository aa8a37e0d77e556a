"""nyc1 (DigitalOcean NYC3): the web services, the managed PostgreSQL they share, and the Salt master.

Read it like the overview page: each role says what it serves, how big it is, and, where it runs on one
server, why the software allows no more and which standby takes over, where, and how its data keeps up.

Every standby here restores from, or reads, what already exists: nyc1's managed PostgreSQL and the hourly
or daily rdiff-backup copies psf-salt makes on backup.sfo1.psf.io (pillar/prod/backup/*.sls). psf-salt puts
a host in a role by its minion ID, so a standby named for the role's pattern gets the role's states, and
with them the role's backup job: each ``psf_salt`` note says what psf-salt must still change for it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pulumi

from components.database import ManagedPostgres, ManagedPostgresArgs
from components.vm_service import PublicPort, VmService, Volume
from stacks.context import Estate, Host, MirrorOrigin, Standby, WebRole
from stacks.datacenter import DatacenterSite

BUILDBOT = WebRole(
    key="buildbot",
    hosts=(Host("buildbot.python.org", "python.org"),),
    weight="large",
    single="a Buildbot master schedules every build; two masters would both hand out the same work",
    certificate_name="buildbot-master.psf.io",
    # Workers connect to the master on their own port, not through Fastly (reference: psf-salt).
    public_ports=(PublicPort(9020),),
    database=True,
    stateful=True,
    salt_role="buildbot",
    standby=Standby(
        datacenter="nyc1",
        host_label="buildbot-standby",
        placement="nyc1, beside the primary: the build database is nyc1's managed PostgreSQL, which admits the "
        "standby by its tag over the VPC, and psf-salt's pattern buildbot*.nyc1.psf.io gives the role to nyc1 "
        "hosts only",
        sync="nothing to copy: the builds live in the shared managed database and the configuration in "
        "python/buildmaster-config; the standby is a Buildbot UI-only master (multi-master mode, no schedulers, "
        "no workers), so it shows every build read-only and never schedules one twice",
        psf_salt="psf-salt's buildbot state starts a full master; buildmaster-config has no UI-only mode yet, "
        "and the standby must be kept out of pillar/prod/backup/buildbot.sls, whose rdiff-backup job would "
        "write the primary's repository on backup.sfo1",
    ),
)
BUGS = WebRole(
    key="bugs",
    hosts=(
        Host("bugs.python.org", "python.org"),
        Host("bugs.jython.org", "jython.org"),
        Host("issues.roundup-tracker.org", "roundup-tracker.org"),
    ),
    weight="medium",
    single="Roundup keeps file attachments in the tracker directory on local disk, which a second server would not see",
    volumes=(Volume("trackers", 100),),
    database=True,
    stateful=True,
    salt_role="bugs",
    standby=Standby(
        datacenter="sfo1",
        host_label="bugs",
        placement="sfo1: psf-salt's pattern bugs.*.psf.io admits one bugs host per datacenter, and sfo1 holds "
        "the backup host the standby restores the trackers from; it reads the database in nyc1 over TLS",
        sync="read-only: the trackers' rows are nyc1's managed PostgreSQL, which the standby reads over TLS "
        "(admitted by its tag); the tracker directories and their attachments are restored every hour from the "
        "primary's latest rdiff-backup copy on backup.sfo1.psf.io",
        psf_salt="psf-salt backs up only /backup/ of the bugs host (pillar/prod/backup/bugs.sls, hourly), not "
        "/srv/roundup/data where Roundup keeps attachments, and has no restore job: both are to be added, with "
        "the standby kept out of that backup pillar",
    ),
)
DOCS = WebRole(
    key="docs",
    hosts=(Host("docs.python.org", "python.org"),),
    weight="large",
    # Static HTML: the mirror can answer for it when both servers are down.
    fallback=True,
    salt_role="docs",
)
DOWNLOADS = WebRole(
    key="downloads",
    weight="large",
    # No service of its own: www.python.org's edge routes /ftp/ here.
    behind_fastly=False,
    fastly_origin=True,
    volumes=(Volume("ftp", 500),),
    stateful=True,
    salt_role="downloads",
)
HG = WebRole(
    key="hg",
    hosts=(Host("hg.python.org", "python.org"),),
    weight="small",
    single="hg.python.org is a read-only archive on one volume (/srv/hg: the static repositories and the "
    "revision lookup); hg has no replication of its own",
    volumes=(Volume("repos", 50),),
    stateful=True,
    salt_role="hg",
    standby=Standby(
        datacenter="nyc1",
        host_label="hg-standby",
        placement="nyc1: psf-salt's pattern hg*.nyc1.psf.io gives the role to nyc1 hosts only; the standby "
        "guards against the host failing (seed 004's kernel panics), the sfo1 backups against nyc1 failing",
        sync="the archive no longer changes: the standby's /srv is restored daily from the primary's "
        "rdiff-backup copy on backup.sfo1.psf.io, over SSH",
        psf_salt="psf-salt backs /srv up daily (pillar/prod/backup/hg.sls) but has no restore job, and would "
        "give the standby the same backup job, writing the primary's repository: both are to be changed",
    ),
)
PLANET = WebRole(
    key="planet",
    hosts=(Host("planetpython.org", "planetpython.org"), Host("planet.jython.org", "jython.org")),
    weight="small",
    salt_role="planet",
)
SPEED = WebRole(
    key="speed",
    hosts=(Host("speed.python.org", "python.org"),),
    weight="medium",
    database=True,
    # psf-salt's role for speed.python.org is codespeed, on codespeed*.nyc1.psf.io with codespeed.psf.io's certificate.
    certificate_name="codespeed.psf.io",
    salt_role="codespeed",
    host_label="codespeed",
)
WIKI = WebRole(
    key="wiki",
    hosts=(Host("wiki.python.org", "python.org"),),
    weight="medium",
    single="the wiki is a static archive now (psf-salt's moin role: nginx over /data/www/wiki-static) whose "
    "files exist on one volume only, copied there by hand; any second server needs that copy first",
    # psf-salt's role for the wiki is moin.
    certificate_name="moin.psf.io",
    volumes=(Volume("wiki", 50),),
    stateful=True,
    salt_role="moin",
    # Static files: after the standby, the mirror can answer for the archive too.
    fallback=True,
    standby=Standby(
        datacenter="nyc1",
        host_label="wiki-standby",
        placement="nyc1: psf-salt's pattern wiki*.nyc1.psf.io gives the role to nyc1 hosts only; the mirror "
        "in sfo1 answers when nyc1 itself is down",
        sync="the archive's /data is restored daily from the primary's rdiff-backup copy on backup.sfo1.psf.io",
        psf_salt="psf-salt backs /data up daily (pillar/prod/backup/moin.sls) but has no restore job, and would "
        "give the standby the same backup job: both are to be changed",
    ),
)
# psf-salt has no role for pypy.org: its hosts get the states every host gets.
PYPY = WebRole(key="pypy", hosts=(Host("pypy.org", "pypy.org"),), weight="small")
PYTHONTEST = WebRole(
    key="pythontest",
    hosts=(Host("pythontest.net", "pythontest.net"), Host("www.pythontest.net", "pythontest.net")),
    weight="small",
    # The test suite needs the raw host (its own TLS, plain HTTP, odd responses), so no CDN in front.
    behind_fastly=False,
    public_ports=(PublicPort(80), PublicPort(443)),
    salt_role="pythontest",
    # The test suite connects to pythontest.net's address: it must outlive a rebuilt droplet.
    reserved_ip=True,
)
SALT = WebRole(
    key="salt",
    weight="medium",
    single="every minion trusts one master's key and the master holds every minion's accepted key; "
    "a second master would be a second trust root",
    behind_fastly=False,
    # /etc/salt/pki: the master's key pair and the accepted minion keys, kept on a volume in prod so a
    # rebuilt master keeps its identity and no minion has to be re-keyed.
    volumes=(Volume("pki", 10, mount_point="/etc/salt/pki"),),
    stateful=True,
    salt_role="salt-master",
    salt_master=True,
    no_standby="nothing is served from it: while it is down every host keeps its last applied state; a "
    "failover master (Salt's master_type: failover) would need the master's key pair and the PSF CA key on "
    "a second host, a second copy of the estate's trust root, for no service that users see",
)

WEB_ROLES = (BUILDBOT, BUGS, DOCS, DOWNLOADS, HG, PLANET, SPEED, WIKI, PYPY, PYTHONTEST)
DATABASES = ("roundup", "buildbot", "codespeed")


@dataclass(frozen=True)
class Nyc1:
    """What other parts of the estate use from nyc1: the downloads servers, origins of www.python.org/ftp/."""

    downloads: VmService | None
    database: ManagedPostgres


def build(site: DatacenterSite, estate: Estate, mirror: MirrorOrigin) -> Nyc1:
    """Create nyc1's Salt master, services and database."""
    s = estate.settings
    # The master's host name is the one every droplet bootstraps against (saltMaster, validated to be
    # salt<suffix>.nyc1.<internalDomain>), so its own A record is the master's record.
    master = dataclasses.replace(SALT, host_label=s.salt_master.split(".", 1)[0])
    estate.vm_service(site, site.dc, site.vpc.id, master, MirrorOrigin(None))
    for role in WEB_ROLES:
        estate.vm_service(site, site.dc, site.vpc.id, role, mirror)
    database = ManagedPostgres(
        "nyc1-postgres",
        ManagedPostgresArgs(
            cluster_name=s.physical_name("postgres"),
            region=site.dc.region.value,
            vpc_id=site.vpc.id,
            size=s.database_size,
            version=s.postgres_version,
            databases=DATABASES,
            client_tags=(estate.database_client_tag,),
            # Standbys read the same database: the firewall admits them by tag, and waits for them too.
            clients=tuple(d for role in WEB_ROLES if role.database for d in estate.droplets_of(role.key)),
            replica=s.database_replica,
            tags=(f"environment:{s.environment.value}", "service:database"),
            protect=s.protect,
        ),
        opts=pulumi.ResourceOptions(parent=site, provider=estate.providers.digitalocean),
        tag_resources=[estate.tag(estate.database_client_tag)],
    )
    site.assign(database.project_urns)
    return Nyc1(downloads=estate.services.get("downloads"), database=database)
