"""The registrar (Gandi): the delegations of the domains whose registration prod manages, opted in one by one.

Every PSF domain is registered at Gandi (seed 000), where someone set its name servers by hand. A domain
listed in ``registrarDomains`` gets them from the program instead: the name servers of its Route 53 zone
(the reusable delegation set's, so they survive a zone's replacement) and, when the zone is signed, its
key-signing key, from which Gandi publishes the DS record that completes DNSSEC's chain of trust. A domain
not listed is left exactly as it is at Gandi, and with no domain listed there is no Gandi provider and no
token at all: today's plans change nothing at the registrar.

Opting a domain in: list it, set ``gandiToken``, and preview. When Gandi already names the zone's name
servers (``pulumi stack output name_servers``) the update changes nothing there but the DS record. When it
does not, list the domain as ``"<domain> ns-only"`` first: the name servers change, and the DS waits until
resolvers have dropped the old ones (the parent's NS TTL, two days for .org); then list it plainly. A DS
published while resolvers still follow the old name servers makes the domain fail validation.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.dns_zone import DnsZone
from components.registrar import DelegationSigner, RegistrarDelegation, RegistrarDelegationArgs
from stacks.dns import PUBLIC_DOMAINS, logical_name
from stacks.providers import Providers
from stacks.settings import Settings, SettingsError


def registered_domains(settings: Settings) -> tuple[str, ...]:
    """The domains the estate holds registrations for: every public domain and the internal one (psf.io)."""
    return (*PUBLIC_DOMAINS, settings.internal_domain)


def build_registrar(
    settings: Settings, providers: Providers, zones: Mapping[str, DnsZone], parent: pulumi.Resource
) -> dict[str, RegistrarDelegation]:
    """One :class:`RegistrarDelegation` per domain of ``registrarDomains``; none (and no provider) by default."""
    if not settings.registrar_domains:
        return {}
    known = registered_domains(settings)
    for entry in settings.registrar_domains:
        if entry.domain not in known or entry.domain not in zones:
            raise SettingsError(
                "registrarDomains", entry.domain, "must name domains the estate has zones for: " + ", ".join(known)
            )
    assert providers.gandi is not None, "settings require gandiToken with registrarDomains"
    delegations: dict[str, RegistrarDelegation] = {}
    for entry in settings.registrar_domains:
        domain = entry.domain
        zone = zones[domain]
        signer = None
        if entry.ds and zone.key_signing_key is not None:
            ksk = zone.key_signing_key
            signer = DelegationSigner(
                algorithm=ksk.signing_algorithm_type,
                flags=ksk.flag,
                public_key=ksk.public_key,
                signing=zone.dnssec,
            )
        delegations[domain] = RegistrarDelegation(
            f"{logical_name(domain)}-registration",
            RegistrarDelegationArgs(
                domain=domain, name_servers=zone.name_servers, signer=signer, protect=settings.protect
            ),
            provider=providers.gandi,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return delegations
