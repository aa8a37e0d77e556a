"""Fastly-managed certificates for an edge's domains: the subscription, its ACME DNS-01 records, its validation.

One :class:`ManagedCertificate` on :class:`~components.edge_spec.EdgeOptions` makes the edge request one
certificate for all of its domains (``fastly.TlsSubscription``), answer Fastly's DNS-01 challenges with a
CNAME per name in the Route 53 zone that holds it, and add a ``fastly.TlsSubscriptionValidation``, which
makes ``pulumi up`` wait until the certificate is issued. What the provider documents and its tracker
teaches, and how this module follows it:

- Fastly activates a managed certificate on its domains by itself once it is issued; a ``TlsActivation``
  for them fails with ``domain_id has already been taken`` (tls_subscription.md, the warning;
  fastly/terraform-provider-fastly#1345). There is none here.
- The challenge of ``example.org`` and of ``*.example.org`` is the same record,
  ``_acme-challenge.example.org`` (#430, the apex-and-wildcard example): one record per challenge name.
- The challenge records' values exist only once the subscription does; the records are built from its
  ``managed_dns_challenges`` output, so one ``pulumi up`` creates the subscription, the records and the
  validation in that order (#627). The record names are known up front, so a preview lists every record.
- ``certificate_authority`` forces a new subscription, and ``domains`` can change in place only while the
  subscription is ``issued`` or ``pending`` (the resource's CustomizeDiff), and only with ``force_update``
  once its domains are active. Neither path waits for the new certificate. So the subscription's logical
  name carries a digest of its domain set and authority (:func:`subscription_key`): a change registers a
  new subscription and validation, ``pulumi up`` waits for the new certificate, and only then, with the
  deletes that Pulumi runs after every create and update, removes the old subscription. The challenge
  records are named after their domain instead, so a new subscription updates them in place rather than
  one resource deleting what another just wrote.
- A CA issues at most 100 names on one certificate (Let's Encrypt's documented limit; :data:`MAX_DOMAINS`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_aws as aws
import pulumi_fastly as fastly

from components.common import HOSTNAME as _HOSTNAME
from components.common import ZoneRef
from components.common import invalid as _fail

# The authorities this program asks Fastly for (the provider also knows `certainly`, Fastly's own CA),
# each with the name its CAA `issue` property must carry (RFC 8659) for it to be allowed to issue.
CERTIFICATE_AUTHORITIES: Final[Mapping[str, str]] = {"lets-encrypt": "letsencrypt.org", "globalsign": "globalsign.com"}
# Let's Encrypt's limit of names on one certificate; GlobalSign through Fastly documents none lower.
MAX_DOMAINS: Final = 100
ACME_CHALLENGE_PREFIX: Final = "_acme-challenge."
# The TTL the provider's examples and rust-lang/simpleinfra give challenge records: a new challenge value
# is seen within a minute.
CHALLENGE_TTL: Final = 60
# Where Fastly's DNS-01 challenges point (tls_subscription.md: "xxxxx.fastly-validations.com").
VALIDATION_DOMAIN: Final = "fastly-validations.com"
# The only challenge record type Fastly's managed DNS challenges use.
CHALLENGE_RECORD_TYPE: Final = "CNAME"

_CONFIGURATION_ID = re.compile(r"^[A-Za-z0-9]{10,64}$")


def challenge_name(domain: str) -> str:
    """The name a DNS-01 challenge for ``domain`` is answered at; a wildcard shares its base name's."""
    return ACME_CHALLENGE_PREFIX + domain.removeprefix("*.")


def subscription_key(domains: Iterable[str], authority: str) -> str:
    """Eight hex digits naming one domain set and authority, whatever the order of the domains."""
    text = "\n".join([authority, *sorted(set(domains))])
    return hashlib.sha256(text.encode()).hexdigest()[:8]


@dataclass(frozen=True, kw_only=True)
class ManagedCertificate:
    """A certificate that Fastly requests, renews and activates for every domain of a service.

    - ``authority``: ``lets-encrypt`` or ``globalsign`` (the provider's names; see
      :data:`CERTIFICATE_AUTHORITIES`). The zones' CAA records must allow it.
    - ``configuration_id``: the Fastly TLS configuration the certificate is served on; the DNS records of the
      domains must point at that configuration's targets. None lets Fastly pick the account's default.
    - ``challenge_ttl``: seconds, for the ACME challenge records.
    - ``force_destroy``: let Pulumi delete the subscription while its domains are active. Fastly refuses
      otherwise, which is what production wants: a subscription still serving names is never deleted by
      accident. A throw-away stack needs it for ``pulumi destroy``.
    """

    authority: str
    configuration_id: str | None = None
    challenge_ttl: int = CHALLENGE_TTL
    force_destroy: bool = False

    def __post_init__(self) -> None:
        if self.authority not in CERTIFICATE_AUTHORITIES:
            allowed = ", ".join(CERTIFICATE_AUTHORITIES)
            raise _fail("ManagedCertificate.authority", self.authority, f"must be one of {allowed}")
        if self.configuration_id is not None and (
            not isinstance(self.configuration_id, str) or not _CONFIGURATION_ID.match(self.configuration_id)
        ):
            raise _fail(
                "ManagedCertificate.configuration_id",
                self.configuration_id,
                "must be a Fastly TLS configuration ID (10-64 letters and digits), or None for the default",
            )
        ttl = self.challenge_ttl
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 30 <= ttl <= 3_600:
            raise _fail("ManagedCertificate.challenge_ttl", ttl, "must be a whole number of seconds from 30 to 3600")
        if not isinstance(self.force_destroy, bool):
            raise _fail("ManagedCertificate.force_destroy", self.force_destroy, "must be True or False")

    @property
    def caa_identifier(self) -> str:
        """The issuer domain a CAA ``issue`` property names to allow this authority."""
        return CERTIFICATE_AUTHORITIES[self.authority]


@dataclass(frozen=True)
class CertificateResources:
    """What :func:`request_certificate` made: the subscription, its validation and its challenge records."""

    subscription: fastly.TlsSubscription
    validation: fastly.TlsSubscriptionValidation
    challenge_records: tuple[aws.route53.Record, ...]


def _check_domains(domains: Sequence[str], common_name: str, zones: Mapping[str, ZoneRef]) -> None:
    if isinstance(domains, str) or not domains:
        raise _fail("request_certificate domains", domains, "must list at least one domain")
    if len(domains) > MAX_DOMAINS:
        raise _fail(
            "request_certificate domains",
            f"{len(domains)} domains",
            f"a certificate holds at most {MAX_DOMAINS} names; split the service",
        )
    if len(set(domains)) != len(domains):
        raise _fail("request_certificate domains", list(domains), "must not repeat a domain")
    for domain in domains:
        if not isinstance(domain, str) or not _HOSTNAME.match(domain.removeprefix("*.")):
            raise _fail("request_certificate domains", domain, "must be lower-case DNS names, or *.<name>")
        zone = zones.get(domain)
        if zone is None:
            raise _fail(
                "request_certificate zones",
                domain,
                "needs the Route 53 zone that holds it: its ACME challenge record is created there",
            )
        zone.record_name(domain.removeprefix("*."))
    if common_name not in domains:
        raise _fail(
            "request_certificate common_name", common_name, f"must be one of the domains ({', '.join(domains)})"
        )


def _challenge_value(challenges: Sequence[fastly.outputs.TlsSubscriptionManagedDnsChallenge] | None, name: str) -> str:
    """The value Fastly asks the challenge record ``name`` to hold."""
    found = [c for c in challenges or () if (c.record_name or "").rstrip(".").lower() == name]
    if not found:
        offered = ", ".join(sorted(c.record_name or "?" for c in challenges or ())) or "none"
        raise ValueError(f"Fastly returned no DNS challenge for {name} (it returned: {offered})")
    challenge = found[0]
    if challenge.record_type != CHALLENGE_RECORD_TYPE or not challenge.record_value:
        raise ValueError(
            f"Fastly's DNS challenge for {name} is a {challenge.record_type} record {challenge.record_value!r}; "
            f"the program writes {CHALLENGE_RECORD_TYPE} records: check the provider's release notes"
        )
    return challenge.record_value.rstrip(".")


def request_certificate(
    name: str,
    certificate: ManagedCertificate,
    domains: Sequence[str],
    *,
    common_name: str,
    zones: Mapping[str, ZoneRef],
    parent: pulumi.Resource,
    fastly_provider: fastly.Provider,
    aws_provider: aws.Provider,
    depends_on: Sequence[pulumi.Resource] = (),
) -> CertificateResources:
    """Request a Fastly-managed certificate for ``domains`` and answer its challenges; wait for issuance.

    ``zones`` maps each domain to the Route 53 zone holding it. Logical names start with ``name``: the
    subscription ``<name>-tls-<key>`` and its validation ``<name>-tls-<key>-validation`` carry
    :func:`subscription_key`; the challenge records are ``<name>-acme-<domain>``. ``depends_on`` holds what
    must exist first (the service that carries the domains: Fastly issues only for domains of a service).
    """
    if not isinstance(certificate, ManagedCertificate):
        raise _fail("request_certificate certificate", certificate, "must be a ManagedCertificate")
    _check_domains(domains, common_name, zones)
    key = subscription_key(domains, certificate.authority)
    subscription = fastly.TlsSubscription(
        f"{name}-tls-{key}",
        certificate_authority=certificate.authority,
        domains=sorted(domains),
        # Fastly's default is "the first domain", of what the provider sends as a set: say which.
        common_name=common_name,
        configuration_id=certificate.configuration_id,
        force_destroy=certificate.force_destroy,
        # Pulumi's default, stated: a replacement (a configuration change while a renewal runs) creates the
        # new subscription before it deletes the old one, so the names keep a certificate throughout.
        opts=pulumi.ResourceOptions(
            parent=parent, provider=fastly_provider, depends_on=list(depends_on), delete_before_replace=False
        ),
    )
    records: list[aws.route53.Record] = []
    seen: set[str] = set()
    for domain in domains:
        record_name = challenge_name(domain)
        if record_name in seen:
            continue
        seen.add(record_name)
        records.append(
            aws.route53.Record(
                f"{name}-acme-{domain.removeprefix('*.')}",
                zone_id=zones[domain].zone_id,
                name=record_name,
                type=CHALLENGE_RECORD_TYPE,
                ttl=certificate.challenge_ttl,
                records=[subscription.managed_dns_challenges.apply(lambda c, n=record_name: _challenge_value(c, n))],
                # A challenge record made by hand for the live certificate is taken over, not refused.
                allow_overwrite=True,
                opts=pulumi.ResourceOptions(parent=parent, provider=aws_provider),
            )
        )
    validation = fastly.TlsSubscriptionValidation(
        f"{name}-tls-{key}-validation",
        subscription_id=subscription.id,
        opts=pulumi.ResourceOptions(parent=parent, provider=fastly_provider, depends_on=list(records)),
    )
    return CertificateResources(subscription, validation, tuple(records))
