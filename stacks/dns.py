"""Route 53 zones for every PSF domain, with CAA everywhere and mail authentication on python.org.

The zones sit on one reusable delegation set in prod, so their name servers (the ones registered at Gandi)
survive a zone's replacement. Every service adds its own records to these zones; this module only holds
what belongs to the domain itself.
"""

from __future__ import annotations

from typing import Final

import pulumi

from components.dns_zone import CaaPolicy, DelegationSet, DmarcPolicy, DnsZone, DnsZoneArgs, MailSettings, MxHost
from stacks.catalog import INFRA_CONTACT
from stacks.providers import Providers
from stacks.settings import Settings

# Every domain in the seed documents. Keys are the prod names; staging renames them (Settings.public_domain).
PUBLIC_DOMAINS: Final = (
    "python.org",
    "jython.org",
    "roundup-tracker.org",
    "planetpython.org",
    "pythontest.net",
    "pycon.org",
    "pypi.org",
    "pypy.org",
)
MAIL_DOMAIN: Final = "python.org"
# The CAs the PSF allows (reference: pypi/infra CAA records).
CAA_ISSUERS: Final = ("amazon.com", "globalsign.com", "letsencrypt.org")


def logical_name(domain: str) -> str:
    """The stable logical name of a zone: its prod domain with dots as dashes (``python-org``)."""
    return domain.replace(".", "-")


def build_zones(
    settings: Settings, providers: Providers, parent: pulumi.Resource, mail_hosts: tuple[str, ...]
) -> dict[str, DnsZone]:
    """Every public zone plus the internal one, keyed by prod domain (the internal one by its own name).

    ``mail_hosts`` are the internal names of the Postfix servers, which receive python.org's mail.
    """
    delegation_set = None
    if settings.is_prod:
        delegation_set = DelegationSet(
            "psf-delegation-set",
            provider=providers.aws,
            reference_name=settings.physical_name("zones"),
            protect=settings.protect,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    caa = CaaPolicy(issuers=CAA_ISSUERS, iodef=INFRA_CONTACT)
    zones: dict[str, DnsZone] = {}
    for domain in (*PUBLIC_DOMAINS, settings.internal_domain):
        is_internal = domain == settings.internal_domain
        mail = None
        if domain == MAIL_DOMAIN and mail_hosts:
            mail = MailSettings(
                mx=tuple(MxHost(host, 10) for host in mail_hosts),
                spf_mx=True,
                dkim=dict(settings.dkim_keys),
                dmarc=DmarcPolicy(rua=(f"dmarc-reports@{settings.public_domain(MAIL_DOMAIN)}",)),
            )
        zones[domain] = DnsZone(
            # The internal zone keeps one logical name whatever the stack calls it (psf.io, int.staging.psf.io).
            "internal-zone" if is_internal else logical_name(domain),
            DnsZoneArgs(
                domain=domain if is_internal else settings.public_domain(domain),
                caa=caa,
                mail=mail,
                dnssec=settings.dnssec,
                delegation_set_id=delegation_set.delegation_set_id if delegation_set else None,
                protect=settings.protect,
                comment=f"PSF {settings.environment.value}: {'droplet host names' if is_internal else domain}",
            ),
            provider=providers.aws,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return zones
