"""Which part of the estate (:mod:`stacks.ownership`) each resource belongs to, read off the resource tree.

One function, :func:`part_of`, used twice: by the running program, which sees each resource as it is
constructed (:mod:`stacks.imports`), and offline, over a recording's records (:func:`parts_of_recording`), so
the import map, the import file and the tests place every resource exactly as the program does.

A resource takes the part of the nearest component that defines one: a zone's component, a Fastly edge,
a droplet service, a bucket, a service's monitors, a datacenter. Inside an edge, the certificate's
subscription, its validation and its ACME challenge records (``<edge>-acme-<domain>``) are the certificate's
part. The few resources made directly under the global component belong to the part they serve: the droplet
tags to ``network:tags``, the role Fastly writes logs with to ``storage:cdn-logs``, the benchmark host's record
to ``zone:internal``. Providers, the stack, the global component and stack references belong to no part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from components.bucket import PRIVATE_BUCKET_TYPE
from components.database import MANAGED_POSTGRES_TYPE
from components.dns_zone import DELEGATION_SET_TYPE, DNS_ZONE_TYPE
from components.edge import EDGE_TYPE
from components.monitors import SERVICE_MONITORS_TYPE
from components.oncall import ON_CALL_TYPE
from components.registrar import REGISTRAR_DELEGATION_TYPE
from components.static_site import STATIC_SITE_TYPE
from components.vm_service import EXTERNAL_ORIGIN_TYPE, VM_SERVICE_TYPE
from stacks.catalog import DOMAINS, EDGE_ALIASES
from stacks.datacenter import DATACENTER_TYPE
from stacks.global_edge import GLOBAL_TYPE
from stacks.ownership import DELEGATION, ESTATE, INTERNAL_ZONE, PAGERDUTY, TAGS, Kind, Part

STACK_TYPE: Final = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE: Final = "pulumi:pulumi:StackReference"
TLS_SUBSCRIPTION_TYPE: Final = "fastly:index/tlsSubscription:TlsSubscription"
TLS_VALIDATION_TYPE: Final = "fastly:index/tlsSubscriptionValidation:TlsSubscriptionValidation"
RECORD_TYPE: Final = "aws:route53/record:Record"
DASHBOARD_TYPE: Final = "datadog:index/dashboardJson:DashboardJson"
FASTLY_ACCOUNT_TYPE: Final = "datadog:fastly/integrationAccount:IntegrationAccount"
FASTLY_METRICS_TYPE: Final = "datadog:fastly/integrationService:IntegrationService"
# What the global component holds directly, by type: the part each serves.
_GLOBAL_CHILDREN: Final[Mapping[str, Part]] = {
    "digitalocean:index/tag:Tag": Part(Kind.NETWORK, TAGS),
    "aws:iam/role:Role": Part(Kind.STORAGE, "cdn-logs"),
    "aws:iam/rolePolicy:RolePolicy": Part(Kind.STORAGE, "cdn-logs"),
    RECORD_TYPE: Part(Kind.ZONE, INTERNAL_ZONE),
}
# Zone components by logical name (stacks.dns.logical_name): the public ones, the internal one, staging's top one.
_ZONE_KEYS: Final[Mapping[str, str]] = {
    **{domain.replace(".", "-"): domain for domain in DOMAINS},
    "internal-zone": INTERNAL_ZONE,
    "delegated-zone": DELEGATION,
}


STANDBY_SUFFIX: Final = "-standby"
# The internal zone's registration (prod's psf.io), by its logical name.
_INTERNAL_REGISTRATION: Final = "psf-io"


class UnplacedError(LookupError):
    """A resource the part rules do not place: a new kind of component or a new child of the global component."""


@dataclass(frozen=True)
class Node:
    """One resource in the tree: its type, logical name, part (None: no part) and parent node (None: the stack)."""

    type: str
    name: str
    part: Part | None
    parent: Node | None

    @property
    def qualified_type(self) -> str:
        """The type as the engine qualifies it in a URN: the chain of parent types, without the stack."""
        if self.parent is None or self.parent.type == STACK_TYPE:
            return self.type
        return f"{self.parent.qualified_type}${self.type}"

    def urn(self, stack: str, project: str) -> str:
        """The resource's URN in ``stack`` of ``project``."""
        return f"urn:pulumi:{stack}::{project}::{self.qualified_type}::{self.name}"


def _service_part(component: str) -> Part:
    """``nyc1-docs`` (a datacenter's droplet service) as ``service:docs``; ``sfo1-bugs-standby`` as ``standby:bugs``."""
    key = component.split("-", 1)[1]
    if key.endswith(STANDBY_SUFFIX):
        return Part(Kind.STANDBY, key.removesuffix(STANDBY_SUFFIX))
    return Part(Kind.SERVICE, key)


def _edge_key(name: str) -> str:
    return EDGE_ALIASES.get(name, name)


def _registration_part(name: str) -> Part:
    """``python-org-registration`` as ``registrar:python.org`` (``psf-io-registration``: ``registrar:internal``)."""
    key = name.removesuffix("-registration")
    if key == _INTERNAL_REGISTRATION:
        return Part(Kind.REGISTRAR, INTERNAL_ZONE)
    if key not in _ZONE_KEYS:
        raise UnplacedError(f"registration {name!r} is of none of the estate's domains")
    return Part(Kind.REGISTRAR, _ZONE_KEYS[key])


def _global_child(type_: str, name: str) -> Part | None:
    """The part of a resource made directly under the global component, or None when no rule places it."""
    if type_ in _GLOBAL_CHILDREN:
        return _GLOBAL_CHILDREN[type_]
    if type_ == FASTLY_ACCOUNT_TYPE:
        return Part(Kind.MONITORS, ESTATE)
    if type_ == DASHBOARD_TYPE:
        # One per service (``<key>-dashboard``) and the estate's own (``estate-dashboard``).
        return Part(Kind.MONITORS, _edge_key(name.removesuffix("-dashboard")))
    if type_ == FASTLY_METRICS_TYPE:
        # ``<edge>-fastly-metrics`` or ``<edge>-monitors-fastly-metrics``: the monitors of the edge's service.
        return Part(Kind.MONITORS, _edge_key(name.removesuffix("-fastly-metrics").removesuffix("-monitors")))
    return None


def _component_part(type_: str, name: str, parent: Node | None) -> Part | None:
    """The part a component of the estate defines, or None when ``type_`` defines none."""
    if type_ == DATACENTER_TYPE:
        return Part(Kind.NETWORK, name)
    if type_ == DNS_ZONE_TYPE:
        if name not in _ZONE_KEYS:
            raise UnplacedError(f"zone component {name!r} is none of the estate's zones")
        return Part(Kind.ZONE, _ZONE_KEYS[name])
    if type_ == EDGE_TYPE:
        if parent is None or parent.part is None:
            raise UnplacedError(f"edge {name!r} is not inside a service, an app or a static site")
        return Part(Kind.EDGE, parent.part.key)
    defines = {
        DELEGATION_SET_TYPE: lambda: Part(Kind.ZONE, DELEGATION),
        PRIVATE_BUCKET_TYPE: lambda: Part(Kind.STORAGE, name),
        STATIC_SITE_TYPE: lambda: Part(Kind.EDGE, name.removesuffix("-site")),
        EXTERNAL_ORIGIN_TYPE: lambda: Part(Kind.EDGE, _edge_key(name)),
        VM_SERVICE_TYPE: lambda: _service_part(name),
        MANAGED_POSTGRES_TYPE: lambda: Part(Kind.SERVICE, "database"),
        ON_CALL_TYPE: lambda: Part(Kind.ON_CALL, PAGERDUTY),
        REGISTRAR_DELEGATION_TYPE: lambda: _registration_part(name),
        SERVICE_MONITORS_TYPE: lambda: Part(Kind.MONITORS, _edge_key(name.removesuffix("-monitors"))),
    }
    return defines[type_]() if type_ in defines else None


def part_of(type_: str, name: str, parent: Node | None, *, custom: bool) -> Part | None:
    """The part of resource ``name`` of ``type_``, whose parent is ``parent`` (None: the stack itself).

    Raises :class:`UnplacedError` for a custom resource no rule places: every resource the program creates
    must have an owner.
    """
    if type_ in (STACK_TYPE, STACK_REFERENCE_TYPE, GLOBAL_TYPE) or type_.startswith("pulumi:providers:"):
        return None
    if (defined := _component_part(type_, name, parent)) is not None:
        return defined
    if parent is None or parent.type == STACK_TYPE:
        if custom:
            raise UnplacedError(f"{type_} {name!r} is created outside every part of the estate")
        return None
    if parent.type == EDGE_TYPE and parent.part is not None:
        certificate = type_ in (TLS_SUBSCRIPTION_TYPE, TLS_VALIDATION_TYPE) or (
            type_ == RECORD_TYPE and name.startswith(f"{parent.name}-acme-")
        )
        if certificate:
            return Part(Kind.CERTIFICATE, parent.part.key)
    if parent.type == GLOBAL_TYPE:
        if (placed := _global_child(type_, name)) is not None:
            return placed
        raise UnplacedError(f"{type_} {name!r} sits in the global component, but no part holds it")
    if parent.part is None:
        raise UnplacedError(f"{type_} {name!r} is inside {parent.type} {parent.name!r}, which has no part")
    return parent.part


def node_of(type_: str, name: str, parent: Node | None, *, custom: bool) -> Node:
    """A resource's :class:`Node`, its part decided by :func:`part_of`."""
    return Node(type_, name, part_of(type_, name, parent, custom=custom), parent)


class RecordLike(Protocol):
    """What :func:`parts_of_recording` reads of a record (``offline.recorder.Record``)."""

    @property
    def urn(self) -> str:
        """The resource's URN."""
        ...

    @property
    def type(self) -> str:
        """Its type token."""
        ...

    @property
    def name(self) -> str:
        """Its logical name."""
        ...

    @property
    def parent(self) -> str | None:
        """Its parent's URN (None: the stack)."""
        ...

    @property
    def custom(self) -> bool:
        """Whether it is a custom resource (not a component)."""
        ...


def parts_of_recording(records: Iterable[RecordLike]) -> dict[str, Node]:
    """Every record's :class:`Node` (with its part), by URN. Parents are found by URN, in any order."""
    by_urn = {record.urn: record for record in records}
    nodes: dict[str, Node] = {}

    def node(urn: str) -> Node:
        if urn not in nodes:
            record = by_urn[urn]
            parent = node(record.parent) if record.parent and record.parent in by_urn else None
            nodes[urn] = node_of(record.type, record.name, parent, custom=record.custom)
        return nodes[urn]

    for urn in by_urn:
        node(urn)
    return nodes
