"""What python/psf-salt expects of a host: its role patterns, the minion ID they match, the Datadog tags it reads.

psf-salt assigns roles on the master, never from what a host says about itself: ``pillar/prod/roles.sls`` maps
each role to a pattern, ``salt/base/config/salt-roles.conf.jinja`` turns those into nodegroups, and the top
files apply a role's states to the minions whose *minion ID* matches (Salt's glob matching, ``fnmatch``).
Grains written at boot play no part in it. The Datadog agent's host tags are the one thing psf-salt takes
from the host: ``salt/datadog/init.sls`` merges the ``datadog_tags`` pillar and the ``datadog_tags`` grain
into ``/etc/datadog-agent/datadog.yaml``.

So the estate hands psf-salt a minion ID shaped like a production host name, ``<label>.<dc>.psf.io``, and a
``datadog_tags`` grain. In prod the minion ID is the droplet's own host name, except where a pattern names
another datacenter label (pythontest: nyc3, the DigitalOcean region, not the PSF's nyc1). Staging's host names
live under its own internal domain, which no pattern matches; its minion IDs keep the production shape, and
since each stack has its own master, the staging master assigns the same roles from the same psf-salt.

Patterns as of python/psf-salt 05305dee (pillar/prod/roles.sls). A role psf-salt does not have (pypy.org, the
static mirror) gets only the states every host gets (``'*'`` in salt/top.sls).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

# The domain of every production pattern in pillar/prod/roles.sls.
SALT_DOMAIN: Final = "psf.io"


@dataclass(frozen=True)
class SaltRole:
    """A psf-salt role: its name in roles.sls, its minion-ID pattern and the datacenter label the pattern names.

    ``datacenter`` is None when the pattern accepts any (``bugs.*.psf.io``).
    """

    name: str
    pattern: str
    datacenter: str | None

    def matches(self, minion_id: str) -> bool:
        """Whether Salt's glob matcher would put ``minion_id`` in this role's nodegroup."""
        return fnmatch.fnmatchcase(minion_id, self.pattern)


ROLES: Final[Mapping[str, SaltRole]] = {
    r.name: r
    for r in (
        SaltRole("backup-server", "backup*.sfo1.psf.io", "sfo1"),
        SaltRole("bugs", "bugs.*.psf.io", None),
        SaltRole("buildbot", "buildbot*.nyc1.psf.io", "nyc1"),
        SaltRole("codespeed", "codespeed*.nyc1.psf.io", "nyc1"),
        SaltRole("docs", "docs*.nyc1.psf.io", "nyc1"),
        SaltRole("downloads", "downloads*.nyc1.psf.io", "nyc1"),
        SaltRole("hg", "hg*.nyc1.psf.io", "nyc1"),
        SaltRole("mail", "mail.ams1.psf.io", "ams1"),
        SaltRole("moin", "wiki*.nyc1.psf.io", "nyc1"),
        SaltRole("planet", "planet*.nyc1.psf.io", "nyc1"),
        SaltRole("pythontest", "pythontest*.nyc3.psf.io", "nyc3"),
        SaltRole("salt-master", "salt*.nyc1.psf.io", "nyc1"),
    )
}


def role(name: str | None) -> SaltRole | None:
    """The psf-salt role called ``name`` (None for none); a KeyError naming the known roles otherwise."""
    if name is None:
        return None
    try:
        return ROLES[name]
    except KeyError:
        raise KeyError(f"psf-salt has no role {name!r}; known: {', '.join(sorted(ROLES))}") from None


def minion_id(label: str, datacenter: str, salt_role: SaltRole | None) -> str:
    """The minion ID of a host whose name starts ``label`` in ``datacenter``: the shape psf-salt's patterns match."""
    place = salt_role.datacenter if salt_role is not None and salt_role.datacenter else datacenter
    return f"{label}.{place}.{SALT_DOMAIN}"


def datadog_tags(environment: str, service: str, datacenter: str, salt_role: SaltRole | None) -> tuple[str, ...]:
    """The host tags the Datadog agent gets, in the vocabulary the synthetics and monitors use.

    ``env``, ``service`` and ``datacenter`` are the tags every synthetics test and monitor carries, and host
    monitors select hosts by ``service`` and ``env``; ``role`` names the psf-salt role for searching.
    """
    tags = [f"env:{environment}", f"service:{service}", f"datacenter:{datacenter}"]
    if salt_role is not None:
        tags.append(f"role:{salt_role.name}")
    return tuple(tags)
