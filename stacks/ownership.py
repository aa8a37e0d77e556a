"""Who owns each part of the estate: this program, this program from the next ``pulumi up`` on, or someone else.

The PSF's estate exists before this program does (seed 000): droplets made by hand, zones kept by hand, and
pypi.org's Fastly service, zone and file storage configured by pypi-infra (pypi/infra). Every part therefore
has an owner, set per stack with ``ownership`` entries ``"<part>=<owner>"``:

- ``managed``: this program creates it (the default);
- ``import``: the live resource is adopted on the next ``pulumi up``, every resource of the part under the
  live ID the stack's import map gives it (:mod:`stacks.imports`);
- ``external``: owned elsewhere. The program creates and changes none of it; it keeps watching it (the
  part's synthetics stay) and refers to it where it must.

Parts (``<kind>:<key>``):

==============  ==============================================================================================
``zone``        a public zone by its prod domain (``zone:pypi.org``), ``zone:internal`` (the droplets' host
                names, ``psf.io`` in prod) and ``zone:delegation`` (prod's delegation sets, staging's top zone)
``edge``        a service's Fastly service(s) and the DNS records of its names (catalog ``EDGE_SERVICES``);
                a static site's bucket is part of its edge
``certificate`` the Fastly-managed certificate of an edge's names and its ACME challenge records; by default
                owned like its edge
``storage``     ``storage:pypi-files`` (PyPI's file bucket), ``storage:cdn-logs`` (the request logs and the
                role Fastly writes them with)
``service``     a service on the estate's droplets, or the managed database (catalog ``HOSTED_SERVICES``)
``monitors``    a service's Datadog monitors, synthetics, dashboard and Fastly metrics; ``monitors:estate`` the
                estate's dashboard and Datadog's Fastly integration account
``network``     a datacenter's VPC and project (``network:nyc1``), and the droplet tags (``network:tags``)
``standby``     a role's standby droplet (``standby:bugs``), wherever it runs
``on-call``     ``on-call:pagerduty``: the PagerDuty users, schedules, escalation policy and service prod pages
``registrar``   a domain's delegation at the registrar (``registrarDomains``), ``registrar:internal`` for psf.io
==============  ==============================================================================================

This module is pure data and functions (no Pulumi): :func:`parse_ownership` turns the entries into
:class:`Owners` or raises :class:`OwnershipError`, which :mod:`stacks.settings` reports as one line. The
dependencies that cannot work are refused here, each with its reason (:func:`_refusal`, :func:`_dependencies`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Final

from stacks.catalog import DOMAINS, EDGE_SERVICES, HOSTED_SERVICES, SERVICES, ZONES_WRITTEN


class Ownership(StrEnum):
    """Who makes a part of the estate: this program, this program by adopting the live resource, or not it."""

    MANAGED = "managed"
    IMPORT = "import"
    EXTERNAL = "external"


class Kind(StrEnum):
    """The kinds of part the estate is made of."""

    ZONE = "zone"
    EDGE = "edge"
    CERTIFICATE = "certificate"
    STORAGE = "storage"
    SERVICE = "service"
    MONITORS = "monitors"
    NETWORK = "network"
    STANDBY = "standby"
    ON_CALL = "on-call"
    REGISTRAR = "registrar"


@dataclass(frozen=True, order=True)
class Part:
    """One part of the estate, ``<kind>:<key>`` (``edge:pypi``)."""

    kind: Kind
    key: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.key}"

    @classmethod
    def parse(cls, text: str) -> Part:
        """``"edge:pypi"`` as a Part; ValueError when it is not ``<kind>:<key>`` with a known kind."""
        kind, sep, key = text.partition(":")
        if not sep or not key or kind not in {k.value for k in Kind}:
            raise ValueError(text)
        return cls(Kind(kind), key)


INTERNAL_ZONE: Final = "internal"
DELEGATION: Final = "delegation"
TAGS: Final = "tags"
STORAGE: Final = ("cdn-logs", "pypi-files")
# The estate's own dashboard and Datadog's Fastly integration account: monitors of no one service.
ESTATE: Final = "estate"
PAGERDUTY: Final = "pagerduty"

# The owners a part cannot have, and why. Everything not listed may be managed, imported or external.
_NOT_EXTERNAL: Final = {
    Kind.SERVICE: (
        "the estate's droplets and database are made here or nowhere: its edges, DNS, firewalls and backups "
        "need their addresses; a service run elsewhere is an external origin, not a part"
    ),
    Kind.MONITORS: "the estate watches every part itself, the external ones included",
    Kind.NETWORK: "the estate's droplets live in this stack's VPCs and carry its tags",
    Kind.STANDBY: "a standby is this estate's second droplet of a role, made here or nowhere",
    Kind.ON_CALL: "every alert of the estate pages through it",
    Kind.REGISTRAR: (
        "a registration this program does not manage is one left out of registrarDomains: drop the domain there"
    ),
}
_ZONE_NOT_EXTERNAL: Final = {
    INTERNAL_ZONE: "it holds every droplet's host name, which this program writes",
    DELEGATION: "the delegation sets and staging's top zone belong to this stack's own delegation",
}
_CDN_LOGS_NOT_EXTERNAL: Final = (
    "every Fastly service of the estate writes its request logs there, through a role that names the bucket"
)
_HOSTED_EDGE_NOT_EXTERNAL: Final = (
    "its origins are this estate's droplets, whose firewall, origin certificate and token are set up with the "
    "edge; a droplet service is served by this estate's Fastly service"
)


class OwnershipError(ValueError):
    """An ``ownership`` entry that cannot be: ``value`` is the entry, ``allowed`` what would be accepted."""

    def __init__(self, value: object, allowed: str) -> None:
        super().__init__(f"{value!r}: {allowed}")
        self.value = value
        self.allowed = allowed


def part_keys(kind: Kind, datacenters: Collection[str]) -> frozenset[str]:
    """The keys a part of ``kind`` may have, in a stack that may deploy ``datacenters``."""
    match kind:
        case Kind.ZONE:
            return frozenset({*DOMAINS, INTERNAL_ZONE, DELEGATION})
        case Kind.EDGE | Kind.CERTIFICATE:
            return EDGE_SERVICES
        case Kind.STORAGE:
            return frozenset(STORAGE)
        case Kind.SERVICE:
            return frozenset(HOSTED_SERVICES)
        case Kind.MONITORS:
            return frozenset({*SERVICES, ESTATE})
        case Kind.NETWORK:
            return frozenset({*datacenters, TAGS})
        case Kind.STANDBY:
            return frozenset(HOSTED_SERVICES) - {"database"}
        case Kind.ON_CALL:
            return frozenset({PAGERDUTY})
        case Kind.REGISTRAR:
            return frozenset({*DOMAINS, INTERNAL_ZONE})


def _refusal(part: Part, owner: Ownership) -> str | None:
    """Why ``part`` cannot have ``owner``, or None when it can."""
    if owner is not Ownership.EXTERNAL:
        return None
    if part.kind in _NOT_EXTERNAL:
        return _NOT_EXTERNAL[part.kind]
    if part.kind is Kind.ZONE:
        return _ZONE_NOT_EXTERNAL.get(part.key)
    if part == Part(Kind.STORAGE, "cdn-logs"):
        return _CDN_LOGS_NOT_EXTERNAL
    if part.kind is Kind.EDGE and part.key in HOSTED_SERVICES:
        return _HOSTED_EDGE_NOT_EXTERNAL
    return None


@dataclass(frozen=True)
class Owners:
    """The owner of every part of one stack: the explicit ``ownership`` entries, and the defaults.

    A part not listed is managed, except a certificate, which follows its edge: adopting a live Fastly
    service adopts its live certificate, and an edge owned elsewhere has its certificate made there too.
    """

    explicit: tuple[tuple[Part, Ownership], ...] = ()

    @cached_property
    def _table(self) -> dict[Part, Ownership]:
        return dict(self.explicit)

    def of(self, part: Part) -> Ownership:
        """Who owns ``part``."""
        if part in self._table:
            return self._table[part]
        if part.kind is Kind.CERTIFICATE:
            return self.of(Part(Kind.EDGE, part.key))
        return Ownership.MANAGED

    def edge(self, service: str) -> Ownership:
        """Who owns the Fastly edge of a catalog service."""
        return self.of(Part(Kind.EDGE, service))

    def zone(self, domain: str) -> Ownership:
        """Who owns the zone of a public domain (prod name)."""
        return self.of(Part(Kind.ZONE, domain))

    def certificate(self, service: str) -> Ownership:
        """Who makes the certificate of an edge service's names."""
        return self.of(Part(Kind.CERTIFICATE, service))

    def with_owner(self, owner: Ownership, datacenters: Collection[str]) -> tuple[Part, ...]:
        """Every part of the catalogue owned by ``owner`` (explicitly or by default), sorted."""
        return tuple(
            sorted(
                part
                for kind in Kind
                for key in part_keys(kind, datacenters)
                if self.of(part := Part(kind, key)) is owner
            )
        )

    def entries(self) -> list[str]:
        """The explicit entries, as a stack file writes them."""
        return [f"{part}={owner.value}" for part, owner in self.explicit]


@dataclass(frozen=True)
class _Parsed:
    owners: Owners
    entries: Mapping[Part, str] = field(default_factory=dict)


def parse_ownership(entries: Iterable[str], *, datacenters: Collection[str]) -> Owners:
    """``"<part>=<owner>"`` entries as :class:`Owners`; OwnershipError naming the first entry that cannot be."""
    owners_text = ", ".join(o.value for o in Ownership)
    kinds_text = ", ".join(k.value for k in Kind)
    parsed: dict[Part, Ownership] = {}
    written: dict[Part, str] = {}
    for entry in entries:
        part_text, sep, owner_text = entry.partition("=")
        part_text, owner_text = part_text.strip(), owner_text.strip()
        if not sep or not part_text or not owner_text:
            raise OwnershipError(
                entry, f'must be "<part>=<owner>" entries, e.g. "edge:pypi=external"; owners {owners_text}'
            )
        try:
            part = Part.parse(part_text)
        except ValueError:
            raise OwnershipError(entry, f"names no part: a part is <kind>:<key>, kind one of {kinds_text}") from None
        keys = part_keys(part.kind, datacenters)
        if part.key not in keys:
            raise OwnershipError(
                entry, f"names no {part.kind.value}; {part.kind.value} parts: {', '.join(sorted(keys))}"
            )
        if owner_text not in {o.value for o in Ownership}:
            raise OwnershipError(entry, f"owner must be one of {owners_text}")
        if part in parsed:
            raise OwnershipError(entry, f"names {part} twice")
        owner = Ownership(owner_text)
        if reason := _refusal(part, owner):
            raise OwnershipError(entry, f"{part} cannot be {owner.value}: {reason}")
        parsed[part] = owner
        written[part] = entry
    result = Owners(tuple(sorted(parsed.items())))
    _dependencies(_Parsed(result, written))
    return result


def _dependencies(parsed: _Parsed) -> None:
    """Refuse owners that one part's dependency on another makes impossible."""
    owners = parsed.owners

    def entry(part: Part) -> str:
        return parsed.entries.get(part, f"{part}={owners.of(part).value}")

    for part, owner in owners.explicit:
        # A certificate is requested for the domains of a Fastly service the program configures, and its
        # challenges go in their zones: when the service is someone else's, so is its certificate.
        external_edge = owners.edge(part.key) is Ownership.EXTERNAL
        if part.kind is Kind.CERTIFICATE and owner is not Ownership.EXTERNAL and external_edge:
            raise OwnershipError(
                entry(part),
                f"edge:{part.key} is external, so is its certificate (the program requests none for a Fastly "
                f"service it does not configure): write certificate:{part.key}=external or drop the entry",
            )
        # A droplet cannot move to another VPC (vpc_uuid replaces it), nor a database cluster to another
        # private network: adopting them means adopting the network they are in.
        if part.kind is Kind.SERVICE and owner is Ownership.IMPORT:
            network = Part(Kind.NETWORK, HOSTED_SERVICES[part.key])
            if owners.of(network) is not Ownership.IMPORT:
                raise OwnershipError(
                    entry(part),
                    f"adopting {part} needs {network}=import too: its droplets and database sit in the live VPC, "
                    "and one cannot move to a new VPC without being replaced",
                )
    for writer, zones in ZONES_WRITTEN.items():
        writer_part = Part.parse(writer)
        writer_owner = owners.of(writer_part)
        for domain in zones:
            zone = Part(Kind.ZONE, domain)
            zone_owner = owners.of(zone)
            # One owner per zone (python/pythondotorg#2519): a zone kept elsewhere is replaced wholesale by its
            # owner's code, which does not know records this program would add, and may be in an account
            # this stack has no credentials for.
            if zone_owner is Ownership.EXTERNAL and writer_owner is not Ownership.EXTERNAL:
                raise OwnershipError(
                    entry(zone),
                    f"{writer} ({writer_owner.value}) writes DNS records in {domain}: a zone owned elsewhere cannot "
                    f"hold records this program makes; make {writer} external too, or keep the zone",
                )
            # An edge's names get their records with the edge (components.edge.FastlyEdge): a zone kept here
            # would lose the records of the names an external edge serves.
            if (
                writer_part.kind is Kind.EDGE
                and writer_owner is Ownership.EXTERNAL
                and zone_owner is not Ownership.EXTERNAL
            ):
                raise OwnershipError(
                    entry(writer_part),
                    f"{writer} is external but zone:{domain} is {zone_owner.value}: this program writes a name's "
                    f"records with the Fastly service that serves it, so {domain} would lose them; make "
                    f"zone:{domain} external too (its owner keeps the records), or keep the edge",
                )
