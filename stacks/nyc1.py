"""nyc1 (DigitalOcean NYC3): the web services, and the managed PostgreSQL they share.

Read it like the overview page: each role says what it serves, how big it is, and, where it runs on one
server, why the software allows no more.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.database import ManagedPostgres, ManagedPostgresArgs
from components.vm_service import PublicPort, VmService, Volume
from stacks.context import Estate, Host, MirrorOrigin, WebRole
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
)
DOCS = WebRole(
    key="docs",
    hosts=(Host("docs.python.org", "python.org"),),
    weight="large",
    # Static HTML: the mirror can answer for it when both servers are down.
    fallback=True,
)
DOWNLOADS = WebRole(
    key="downloads",
    weight="large",
    # No service of its own: www.python.org's edge routes /ftp/ here.
    behind_fastly=False,
    fastly_origin=True,
    volumes=(Volume("ftp", 500),),
    stateful=True,
)
HG = WebRole(
    key="hg",
    hosts=(Host("hg.python.org", "python.org"),),
    weight="small",
    single="the Mercurial repositories are written in place on one volume; hg has no replication of its own",
    volumes=(Volume("repos", 50),),
    stateful=True,
)
PLANET = WebRole(
    key="planet",
    hosts=(Host("planetpython.org", "planetpython.org"), Host("planet.jython.org", "jython.org")),
    weight="small",
)
SPEED = WebRole(
    key="speed",
    hosts=(Host("speed.python.org", "python.org"),),
    weight="medium",
    database=True,
    # psf-salt's role for speed.python.org is codespeed.
    certificate_name="codespeed.psf.io",
)
WIKI = WebRole(
    key="wiki",
    hosts=(Host("wiki.python.org", "python.org"),),
    weight="medium",
    single="MoinMoin stores pages and their locks as files on local disk, so only one server may write them",
    # psf-salt's role for the wiki is moin.
    certificate_name="moin.psf.io",
    volumes=(Volume("wiki", 50),),
    stateful=True,
)
PYPY = WebRole(key="pypy", hosts=(Host("pypy.org", "pypy.org"),), weight="small")
PYTHONTEST = WebRole(
    key="pythontest",
    hosts=(Host("pythontest.net", "pythontest.net"), Host("www.pythontest.net", "pythontest.net")),
    weight="small",
    # The test suite needs the raw host (its own TLS, plain HTTP, odd responses), so no CDN in front.
    behind_fastly=False,
    public_ports=(PublicPort(80), PublicPort(443)),
)

WEB_ROLES = (BUILDBOT, BUGS, DOCS, DOWNLOADS, HG, PLANET, SPEED, WIKI, PYPY, PYTHONTEST)
DATABASES = ("roundup", "buildbot", "codespeed")


@dataclass(frozen=True)
class Nyc1:
    """What other parts of the estate use from nyc1: the downloads servers, origins of www.python.org/ftp/."""

    downloads: VmService | None
    database: ManagedPostgres


def build(site: DatacenterSite, estate: Estate, mirror: MirrorOrigin) -> Nyc1:
    """Create nyc1's services and database."""
    s = estate.settings
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
            clients=tuple(d for role in WEB_ROLES if role.database for d in estate.services[role.key].droplets),
            replica=s.database_replica,
            tags=(f"environment:{s.environment.value}", "service:database"),
            protect=s.protect,
        ),
        opts=pulumi.ResourceOptions(parent=site, provider=estate.providers.digitalocean),
    )
    return Nyc1(downloads=estate.services.get("downloads"), database=database)
