"""Who owns each PSF service and how to reach them, as the infrastructure overview page records it.

Source: seed 000 (the current overview page). Where it names no owner, the infrastructure team is the owner
of record and infrastructure-staff@python.org the contact, as the page says for DNS and other shared systems.
Monitor messages, tags and the generated overview all read this table, so it is the one place to update
when a service changes hands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

INFRA_CONTACT: Final = "infrastructure-staff@python.org"
INFRA_TEAM: Final = ("Ee Durbin", "Benjamin W. Smith", "Donald Stufft", "Noah Kantrowitz", "Benjamin Peterson")


@dataclass(frozen=True)
class Service:
    """A PSF service: a stable key (used in logical names and tags), a title, its owners and contact."""

    key: str
    title: str
    owners: tuple[str, ...]
    contact: str
    summary: str


def _service(key: str, title: str, owners: tuple[str, ...], contact: str, summary: str) -> Service:
    return Service(key, title, owners, contact, summary)


SERVICES: Final[dict[str, Service]] = {
    s.key: s
    for s in (
        _service(
            "buildbot",
            "Buildbot",
            ("Antoine Pitrou", "Zach Ware"),
            "python-dev@python.org",
            "The CPython buildbot master; workers connect on their own port.",
        ),
        _service(
            "bugs",
            "Roundup trackers",
            INFRA_TEAM,
            INFRA_CONTACT,
            "Roundup issue trackers for CPython, Jython and Roundup itself.",
        ),
        _service("docs", "docs.python.org", ("Julien Palard",), INFRA_CONTACT, "The Python documentation."),
        _service(
            "downloads",
            "Python downloads",
            INFRA_TEAM,
            INFRA_CONTACT,
            "Everything under https://www.python.org/ftp/, served from droplets behind the python.org edge.",
        ),
        _service(
            "hg",
            "hg.python.org",
            ("Antoine Pitrou", "Georg Brandl"),
            INFRA_CONTACT,
            "The CPython Mercurial repositories.",
        ),
        _service(
            "mail",
            "mail.python.org",
            INFRA_TEAM,
            "postmaster@python.org",
            "Mailman web interface behind Fastly, and Postfix SMTP directly.",
        ),
        _service(
            "planet",
            "Planet Python",
            ("Planet maintainers",),
            "planet@python.org",
            "planetpython.org and planet.jython.org.",
        ),
        _service(
            "pythontest",
            "pythontest.net",
            ("python-dev",),
            "python-dev@python.org",
            "Services and files used by the Python test suite, served directly (the tests need the raw host).",
        ),
        _service(
            "speed",
            "speed.python.org",
            ("Zach Ware",),
            "speed@python.org",
            "Codespeed tracking Python performance; benchmarks run on an OSUOSL machine.",
        ),
        _service("wiki", "wiki.python.org", ("Marc-André Lemburg",), INFRA_CONTACT, "The Python wiki."),
        _service("pypy", "PyPy website", ("PyPy team",), "pypy-dev@python.org", "The PyPy website, pypy.org."),
        _service("jython", "www.jython.org", INFRA_TEAM, INFRA_CONTACT, "The Jython website, an S3 static site."),
        _service(
            "python-org",
            "www.python.org",
            INFRA_TEAM,
            INFRA_CONTACT,
            "The Django app on Heroku behind Fastly, with /ftp/ from the downloads servers.",
        ),
        _service(
            "legacy",
            "legacy.python.org",
            INFRA_TEAM,
            INFRA_CONTACT,
            "The old python.org website, kept as a static mirror.",
        ),
        _service("pycon", "PyCon", ("PyCon web team",), "pycon-site@python.org", "The PyCon website on Heroku."),
        _service(
            "pypi",
            "PyPI",
            ("Ee Durbin", "Donald Stufft", "Dustin Ingram"),
            "admin@pypi.org",
            "The Python Package Index: runs on AWS elsewhere; here its edge, DNS, file bucket and monitoring.",
        ),
        _service(
            "mirror",
            "Static mirror",
            INFRA_TEAM,
            INFRA_CONTACT,
            "Static mirror in another datacenter: Fastly's fallback origin when every primary is down.",
        ),
        _service("backup", "Backup host", INFRA_TEAM, INFRA_CONTACT, "rdiff-backup target for every host."),
        _service(
            "salt",
            "Salt master",
            INFRA_TEAM,
            INFRA_CONTACT,
            "Configures every droplet from python/psf-salt; minions connect to it on 4505-4506.",
        ),
        _service(
            "database",
            "Managed PostgreSQL",
            INFRA_TEAM,
            INFRA_CONTACT,
            "DigitalOcean managed PostgreSQL for Roundup, Buildbot and Codespeed.",
        ),
        _service(
            "benchmarks",
            "Benchmark host (OSUOSL)",
            ("Zach Ware",),
            "speed@python.org",
            "Hardware benchmark machine at OSUOSL used by speed.python.org; not provisioned here.",
        ),
        _service("cdn-logs", "CDN logs", INFRA_TEAM, INFRA_CONTACT, "The bucket every Fastly service logs to."),
        _service("dns", "DNS", INFRA_TEAM, INFRA_CONTACT, "Route 53 zones for every PSF domain."),
    )
}


def service(key: str) -> Service:
    """The catalog entry for ``key``; a KeyError listing the known keys when it is not there."""
    try:
        return SERVICES[key]
    except KeyError:
        raise KeyError(f"unknown service {key!r}; known: {', '.join(sorted(SERVICES))}") from None


# The services with a Fastly edge, whose public names get a certificate there: the parts whose certificate
# ownership can be set (settings ``ownership``, parts ``certificate:<service>``). tests/test_estate_tls.py keeps
# it equal to the services that have a Fastly service in each stack's recording.
EDGE_SERVICES: Final = frozenset(
    {
        "buildbot",
        "bugs",
        "docs",
        "hg",
        "jython",
        "legacy",
        "mail",
        "planet",
        "pycon",
        "pypi",
        "pypy",
        "python-org",
        "speed",
        "wiki",
    }
)

# Every public domain of the estate, by its prod name (staging renames them, Settings.public_domain): the zones
# whose owner (settings ``ownership``, ``zone:<domain>``) can be set.
DOMAINS: Final = (
    "python.org",
    "jython.org",
    "roundup-tracker.org",
    "planetpython.org",
    "pythontest.net",
    "pycon.org",
    "pypi.org",
    "pypy.org",
)
# The services that run on the estate's own droplets (or its managed database), with the datacenter they run
# in: the ``service:<key>`` parts. tests/test_ownership.py keeps it equal to each stack's recording.
HOSTED_SERVICES: Final = {
    "mail": "ams1",
    "bugs": "nyc1",
    "buildbot": "nyc1",
    "database": "nyc1",
    "docs": "nyc1",
    "downloads": "nyc1",
    "hg": "nyc1",
    "planet": "nyc1",
    "pypy": "nyc1",
    "pythontest": "nyc1",
    "salt": "nyc1",
    "speed": "nyc1",
    "wiki": "nyc1",
    "backup": "sfo1",
    "mirror": "sfo1",
}
# The public zones (prod names) each part writes DNS records in, besides the zone's own records: an edge its
# names' records and ACME challenges, a service its names served directly. A zone owned elsewhere cannot hold
# them. tests/test_ownership.py keeps it equal to what both stacks' recordings write.
ZONES_WRITTEN: Final = {
    "edge:bugs": ("jython.org", "python.org", "roundup-tracker.org"),
    "edge:buildbot": ("python.org",),
    "edge:docs": ("python.org",),
    "edge:hg": ("python.org",),
    "edge:jython": ("jython.org",),
    "edge:legacy": ("python.org",),
    "edge:mail": ("python.org",),
    "edge:planet": ("jython.org", "planetpython.org"),
    "edge:pycon": ("pycon.org",),
    "edge:pypi": ("pypi.org",),
    "edge:pypy": ("pypy.org",),
    "edge:python-org": ("python.org",),
    "edge:speed": ("python.org",),
    "edge:wiki": ("python.org",),
    "service:pythontest": ("pythontest.net",),
}
# Edges named after something other than their catalog service: staging.python.org's is python.org's.
EDGE_ALIASES: Final = {"python-org-staging": "python-org"}
