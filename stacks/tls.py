"""HTTPS at the edge for the whole estate: the TLS configuration, the authority, and who makes each certificate.

Every public name served by Fastly needs a certificate on the TLS configuration its DNS points at. The
program reads that configuration once (the provider's ``get_tls_configuration``: ``fastlyTlsConfiguration``,
or the account's default) and takes every DNS target from its ``dns_records``: the CNAME for subdomains,
the A and AAAA addresses for apexes, of the ``global`` region (Fastly's other region, ``us-eu``/``na/eu``,
lands traffic on North American and European POPs only). Each edge service then gets, unless its
certificate is ``external`` (``ownership``, ``certificate:<service>``), a Fastly-managed certificate from
``tlsCertificateAuthority`` on that configuration (:class:`~components.edge_tls.ManagedCertificate`). Every
name, whoever makes its certificate, gets the SSL tests that alert before it expires
(:class:`~components.monitors.TlsCheck`); their ``certificate:`` tag says who owns it, which is also how
the policy pack knows an uncovered name is external on purpose. An ``import`` certificate is declared like a
managed one: the stack's import map adopts the live subscription under it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_fastly as fastly

from components.edge import CERTIFICATE_AUTHORITIES, FastlyDnsTarget, ManagedCertificate
from components.monitors import TlsCheck
from stacks.providers import Providers
from stacks.settings import Ownership, Settings, SettingsError

# Which of a TLS configuration's DNS records the estate uses: Fastly's worldwide POPs.
TLS_REGION: Final = "global"
# The stack output `make verify` reads the deployed configuration's real DNS targets from.
TLS_OUTPUT: Final = "fastly_tls"
# Datadog tag keys on every SSL test: who makes the certificate, and from which authority.
OWNER_TAG: Final = "certificate"
AUTHORITY_TAG: Final = "certificate-authority"


@dataclass(frozen=True)
class EstateTls:
    """The stack's TLS configuration and certificate authority, and each edge service's certificate owner."""

    settings: Settings
    configuration_id: str
    configuration_name: str
    dns_target: FastlyDnsTarget

    @property
    def authority(self) -> str:
        """The authority every managed certificate comes from (``lets-encrypt`` or ``globalsign``)."""
        return self.settings.tls_certificate_authority

    @property
    def caa_identifier(self) -> str:
        """The CAA ``issue`` name that allows :attr:`authority`."""
        return CERTIFICATE_AUTHORITIES[self.authority]

    def owner(self, service: str) -> Ownership:
        """Who makes the certificate of ``service``'s names."""
        return self.settings.certificate_owner(service)

    def certificate(self, service: str) -> ManagedCertificate | None:
        """The managed (or adopted) certificate of an edge service, or None when it is made elsewhere."""
        if self.owner(service) is Ownership.EXTERNAL:
            return None
        return ManagedCertificate(
            authority=self.authority,
            configuration_id=self.configuration_id,
            # Fastly refuses to delete a subscription whose domains are active: what prod wants. A stack
            # that protects nothing must be destroyable.
            force_destroy=not self.settings.protect,
        )

    def checks(self, service: str, hosts: Iterable[str]) -> tuple[TlsCheck, ...]:
        """The certificate checks of ``service``'s public names, tagged with who makes the certificate."""
        owner = self.owner(service)
        tags = [f"{OWNER_TAG}:{owner.value}"]
        if owner is not Ownership.EXTERNAL:
            tags.append(f"{AUTHORITY_TAG}:{self.authority}")
        return tuple(TlsCheck(host, tags=tuple(tags)) for host in dict.fromkeys(hosts))

    def output(self) -> dict[str, Any]:
        """The stack output: the configuration and the DNS targets the program read from it."""
        return {
            "configuration_id": self.configuration_id,
            "configuration_name": self.configuration_name,
            "certificate_authority": self.authority,
            "dns_target": {
                "cname": self.dns_target.cname,
                "apex_ipv4": list(self.dns_target.apex_ipv4),
                "apex_ipv6": list(self.dns_target.apex_ipv6),
            },
        }


def build_tls(settings: Settings, providers: Providers) -> EstateTls:
    """Read the stack's Fastly TLS configuration (once) and derive the DNS targets from its records.

    A plain (not ``_output``) invoke on purpose: its answer is validated here, before any resource is
    registered, and the records pointing at Fastly are then plain values a preview and the policy pack see.
    """
    key = settings.fastly_tls_configuration
    query: dict[str, Any] = {"id": key} if key else {"default": True}
    found = fastly.get_tls_configuration(**query, opts=pulumi.InvokeOptions(provider=providers.fastly))
    label = f"{found.name!r} ({found.id})"
    records = [(r.record_type, r.record_value, r.region) for r in found.dns_records or ()]
    try:
        target = FastlyDnsTarget.from_tls_configuration(label, records, region=TLS_REGION)
    except ValueError as problem:
        raise SettingsError(
            "fastlyTlsConfiguration", key or "(the account's default)", f"its DNS records do not fit: {problem}"
        ) from None
    return EstateTls(settings, found.id, found.name or found.id, target)
