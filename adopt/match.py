"""Pair each resource of the program (the recording) with its live twin, by what identifies it in its cloud.

The program's records carry their physical names in their inputs: a zone its domain, a bucket its name, a
droplet, volume, firewall, VPC, Fastly service, monitor or test its name. A Fastly service the PSF made by
hand has another name than the program's, so it is also found by the domains it serves; an uptime check by
what it checks. A record set is found inside its zone's live twin by name and type; a DNSSEC key through the
zone's key-signing key; a delegation set by the caller reference the provider derives from its reference name.

A live twin that cannot be adopted in place (the import would be followed by a replacement: a zone on
another delegation set, a droplet in another region) is *blocked* with the reason, and never written to the
import map. Two live candidates for one resource are *ambiguous*: discovery never guesses.

IDs in the recording are the recorder's mock ones; they are used only to follow references between the
program's own records (a record set's zone, a key-signing key's KMS key), never compared with live IDs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from adopt import live as kinds
from adopt.live import Inventory, Live, dns_name
from offline.recorder import Record, Recording

# Record sets Route 53 makes with every zone, which nobody declares and no cut-over loses.
ROUTE53_APEX_TYPES: Final = frozenset({"NS", "SOA"})
# Pulumi's auto-naming: the logical name, a dash, seven random hex digits.
_AUTONAME: Final = re.compile(r"^-[0-9a-f]{7}$")


@dataclass(frozen=True)
class Match:
    """A program resource and its live twin, and what paired them."""

    record: Record
    live: Live
    how: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Blocked:
    """A live twin that the program would replace if it were imported, and why."""

    record: Record
    live: Live
    reason: str


@dataclass(frozen=True)
class Ambiguous:
    """More than one live candidate for one program resource."""

    record: Record
    candidates: tuple[Live, ...]
    how: str


@dataclass(frozen=True)
class Discovery:
    """The outcome of matching one recording against one inventory."""

    stack: str
    matches: tuple[Match, ...]
    blocked: tuple[Blocked, ...]
    ambiguous: tuple[Ambiguous, ...]
    missing: tuple[Record, ...]
    undeclared: tuple[Live, ...]
    not_read: tuple[Record, ...]
    shared_names: frozenset[str] = frozenset()

    def import_key(self, record: Record) -> str:
        """The import map's key for ``record``: its logical name, or its URN when another record shares the name."""
        return record.urn if record.name in self.shared_names else record.name

    @property
    def imports(self) -> dict[str, str]:
        """The import map's ``imports:``: key -> live ID, for every match."""
        return {self.import_key(m.record): m.live.id for m in self.matches}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def target(request: Mapping[str, Any]) -> str:
    """What an uptime check's request checks, as both sides can state it: a URL, or ``host:port``."""
    if url := _str(request.get("url")):
        return url
    host, port = _str(request.get("host")), request.get("port")
    number = _number(port)
    return f"{host}:{int(number) if number is not None else port}" if host else ""


def _live_target(live: Live) -> str:
    text = _str(live.attr("target"))
    host, _, port = text.rpartition(":")
    if host and "://" not in text and (number := _number(port)) is not None:
        return f"{host}:{int(number)}"
    return text


class _Matcher:
    """One pass over a recording and an inventory; see :func:`discover`."""

    def __init__(self, recording: Recording, inventory: Inventory) -> None:
        self.recording = recording
        self.inventory = inventory
        self.read_types = inventory.types
        self.by_id: dict[str, list[Record]] = {}
        for record in recording.resources:
            for value in (record.id, record.outputs.get("arn")):
                if isinstance(value, str) and value:
                    self.by_id.setdefault(value, []).append(record)
        self.matches: list[Match] = []
        self.blocked: list[Blocked] = []
        self.ambiguous: list[Ambiguous] = []
        self.twin: dict[str, Live] = {}  # program URN -> its live twin (matched or blocked)
        self.claimed: set[tuple[str, str]] = set()  # (type, live id) of live resources spoken for

    # -- bookkeeping ------------------------------------------------------------------------------------------

    def referenced(self, value: Any, type_: str) -> Record | None:
        """The program record of ``type_`` whose (mock) ID or ARN ``value`` is."""
        for record in self.by_id.get(_str(value), ()):
            if record.type == type_:
                return record
        return None

    def pair(self, record: Record, live: Live, how: str, notes: Sequence[str] = ()) -> None:
        self.matches.append(Match(record, live, how, tuple(notes)))
        self.twin[record.urn] = live
        self.claimed.add((live.type, live.id))

    def block(self, record: Record, live: Live, reason: str) -> None:
        self.blocked.append(Blocked(record, live, reason))
        self.twin[record.urn] = live
        self.claimed.add((live.type, live.id))

    def unique(
        self,
        record: Record,
        candidates: Sequence[Live],
        how: str,
        check: Callable[[Record, Live], tuple[str | None, list[str]]] | None = None,
    ) -> bool:
        """Pair ``record`` with the single unclaimed candidate; True when it was settled (paired or not)."""
        free = [c for c in candidates if (c.type, c.id) not in self.claimed]
        if not free:
            return False
        if len(free) > 1:
            self.ambiguous.append(Ambiguous(record, tuple(free), how))
            for live in free:
                self.claimed.add((live.type, live.id))
            return True
        live = free[0]
        reason, notes = check(record, live) if check else (None, [])
        if reason is not None:
            self.block(record, live, reason)
        else:
            self.pair(record, live, how, notes)
        return True

    def live_index(self, type_: str, key: Callable[[Live], str]) -> dict[str, list[Live]]:
        index: dict[str, list[Live]] = {}
        for live in self.inventory.of_type(type_):
            index.setdefault(key(live), []).append(live)
        return index

    def by_key(self, type_: str, record_key: Callable[[Record], str], live_key: Callable[[Live], str], how: str,
               check: Callable[[Record, Live], tuple[str | None, list[str]]] | None = None) -> None:  # fmt: skip
        index = self.live_index(type_, live_key)
        records = [r for r in self.recording.of_type(type_) if r.urn not in self.twin]
        # A key two of the program's resources share (two certificate checks of one host) identifies neither.
        shared = Counter(record_key(r) for r in records)
        for record in records:
            if (wanted := record_key(record)) and shared[wanted] == 1:
                self.unique(record, index.get(wanted, []), how, check)

    # -- AWS ----------------------------------------------------------------------------------------------------

    def delegation_sets(self) -> None:
        sets = self.inventory.of_type(kinds.DELEGATION_SET)
        for record in self.recording.of_type(kinds.DELEGATION_SET):
            reference = _str(record.inputs.get("referenceName"))
            if not reference:
                continue
            # The provider makes the caller reference "<reference name>-<unique suffix>".
            found = [s for s in sets if s.name == reference or s.name.startswith(reference + "-")]
            self.unique(record, found, "caller reference")

    def _zone_check(self, record: Record, live: Live) -> tuple[str | None, list[str]]:
        wanted_set = self.referenced(record.inputs.get("delegationSetId"), kinds.DELEGATION_SET)
        live_set = _str(live.attr("delegation_set_id")) or None
        twin = self.twin.get(wanted_set.urn) if wanted_set is not None else None
        wanted_live_set = twin.id if twin is not None else None
        if wanted_set is not None and (live_set is None or live_set != wanted_live_set):
            where = f"reusable delegation set {live_set}" if live_set else "no reusable delegation set"
            return (
                f"the live zone is on {where}; the program puts it on {wanted_set.name} "
                f"({'not found live' if wanted_live_set is None else wanted_live_set}), which Route 53 cannot "
                "change on an existing zone: importing it would replace the zone. Cut over instead (make cutover)",
                [],
            )
        if wanted_set is None and live_set is not None:
            return (
                f"the live zone is on reusable delegation set {live_set} and the program's is on none: "
                "importing it would replace the zone",
                [],
            )
        notes = []
        tags = live.attr("tags") or {}
        if tags.get("managed-by") == "pulumi":
            notes.append(f"already tagged managed-by=pulumi (environment={tags.get('environment', '?')})")
        return None, notes

    def zones(self) -> None:
        self.by_key(
            kinds.ZONE, lambda r: dns_name(_str(r.inputs.get("name"))), lambda z: z.name, "domain", self._zone_check
        )

    def zone_of(self, record: Record, key: str = "zoneId") -> tuple[Record | None, Live | None]:
        zone = self.referenced(record.inputs.get(key), kinds.ZONE)
        return zone, (self.twin.get(zone.urn) if zone is not None else None)

    def adopted(self, zone: Record | None) -> bool:
        return zone is not None and any(m.record.urn == zone.urn for m in self.matches)

    def records(self) -> None:
        index = self.live_index(
            kinds.RECORD,
            lambda r: f"{r.attr('zone_id')}|{r.name}|{r.attr('type')}" if not r.attr("set_identifier") else "",
        )
        for record in self.recording.of_type(kinds.RECORD):
            zone, live_zone = self.zone_of(record)
            if live_zone is None:
                continue
            key = f"{live_zone.id}|{dns_name(_str(record.inputs.get('name')))}|{_str(record.inputs.get('type'))}"
            candidates = index.get(key, [])
            if not candidates:
                continue
            if not self.adopted(zone):
                self.claimed.add((kinds.RECORD, candidates[0].id))  # recreated in the new zone: not lost
                continue
            self.unique(record, candidates, "name and type in its zone")

    def dnssec(self) -> None:
        ksks = self.live_index(kinds.KSK, lambda k: k.id)
        for record in self.recording.of_type(kinds.KSK):
            zone, live_zone = self.zone_of(record, "hostedZoneId")
            if live_zone is not None and self.adopted(zone):
                self.unique(record, ksks.get(f"{live_zone.id},{_str(record.inputs.get('name'))}", []), "zone and name")
        signing = self.live_index(kinds.DNSSEC, lambda d: d.id)
        for record in self.recording.of_type(kinds.DNSSEC):
            ksk = self.referenced(record.inputs.get("hostedZoneId"), kinds.KSK)
            zone, live_zone = self.zone_of(ksk or record, "hostedZoneId")
            if live_zone is not None and self.adopted(zone):
                self.unique(record, signing.get(live_zone.id, []), "zone")

    def kms_keys(self) -> None:
        keys = self.inventory.of_type(kinds.KMS_KEY)
        by_arn = {_str(k.attr("arn")): k for k in keys}
        by_description = self.live_index(kinds.KMS_KEY, lambda k: _str(k.attr("description")))
        for record in self.recording.of_type(kinds.KMS_KEY):
            arn = _str(record.outputs.get("arn"))
            ksk = next(
                (k for k in self.recording.of_type(kinds.KSK) if _str(k.inputs.get("keyManagementServiceArn")) == arn),
                None,
            )
            live_ksk = self.twin.get(ksk.urn) if ksk is not None else None
            if live_ksk is not None and (key := by_arn.get(_str(live_ksk.attr("kms_arn")))) is not None:
                self.unique(record, [key], "its zone's key-signing key", self._key_check)
                continue
            description = _str(record.inputs.get("description"))
            if description:
                self.unique(record, by_description.get(description, []), "description", self._key_check)

    def _key_check(self, record: Record, live: Live) -> tuple[str | None, list[str]]:
        wanted = _str(record.inputs.get("customerMasterKeySpec"))
        if wanted and live.attr("spec") and live.attr("spec") != wanted:
            return f"the live key is {live.attr('spec')}; the program's is {wanted}, which cannot change", []
        notes = [f"key state {live.attr('state')}"] if live.attr("state") not in (None, "Enabled") else []
        return None, notes

    def buckets(self) -> None:
        self.by_key(kinds.BUCKET, lambda r: _str(r.inputs.get("bucket")), lambda b: b.name, "bucket name")
        for type_ in kinds.BUCKET_PARTS:
            self.by_key(type_, lambda r: _str(r.inputs.get("bucket")), lambda b: b.name, "its bucket")

    def iam(self) -> None:
        self.by_key(kinds.IAM_ROLE, lambda r: _str(r.inputs.get("name")), lambda r: r.name, "role name")
        policies = self.inventory.of_type(kinds.IAM_ROLE_POLICY)
        for record in self.recording.of_type(kinds.IAM_ROLE_POLICY):
            role = self.referenced(record.inputs.get("role"), kinds.IAM_ROLE)
            role_name = _str(role.inputs.get("name")) if role is not None else _str(record.inputs.get("role"))
            explicit = _str(record.inputs.get("name"))
            found = [
                p
                for p in policies
                if p.attr("role") == role_name
                and (
                    p.name == explicit
                    if explicit
                    else p.name.startswith(record.name) and _AUTONAME.match(p.name[len(record.name) :])
                )
            ]
            self.unique(record, found, "role and policy name")

    # -- DigitalOcean -------------------------------------------------------------------------------------------

    @staticmethod
    def _region_check(record: Record, live: Live) -> str | None:
        wanted = _str(record.inputs.get("region"))
        if wanted and live.attr("region") and live.attr("region") != wanted:
            return f"the live one is in {live.attr('region')}; the program's is in {wanted}, which forces a new one"
        return None

    def _droplet_check(self, record: Record, live: Live) -> tuple[str | None, list[str]]:
        if (reason := self._region_check(record, live)) is not None:
            return reason, []
        notes = []
        if (size := _str(record.inputs.get("size"))) and live.attr("size") and live.attr("size") != size:
            notes.append(f"size {live.attr('size')} live, {size} in the program: the update resizes it (powered off)")
        ignored = set(record.options.ignore_changes)
        if "image" not in ignored and (image := _str(record.inputs.get("image"))) and live.attr("image") != image:
            notes.append(f"image {live.attr('image')} live, {image} in the program")
        return None, notes

    def _volume_check(self, record: Record, live: Live) -> tuple[str | None, list[str]]:
        if (reason := self._region_check(record, live)) is not None:
            return reason, []
        wanted, actual = _number(record.inputs.get("size")), _number(live.attr("size"))
        if wanted is not None and actual is not None and wanted < actual:
            return f"the live volume has {actual:g} GiB; the program's {wanted:g} GiB, and a volume cannot shrink", []
        notes = [f"grows from {actual:g} to {wanted:g} GiB"] if wanted and actual and wanted > actual else []
        return None, notes

    def _vpc_check(self, record: Record, live: Live) -> tuple[str | None, list[str]]:
        if (reason := self._region_check(record, live)) is not None:
            return reason, []
        wanted = _str(record.inputs.get("ipRange"))
        if wanted and live.attr("ip_range") and live.attr("ip_range") != wanted:
            return f"the live range is {live.attr('ip_range')}; the program's {wanted}, which forces a new VPC", []
        return None, []

    def digitalocean(self) -> None:
        self.by_key(kinds.DROPLET, lambda r: _str(r.inputs.get("name")), lambda d: d.name, "name", self._droplet_check)
        self.by_key(
            kinds.VOLUME,
            lambda r: f"{r.inputs.get('name')}@{r.inputs.get('region')}",
            lambda v: f"{v.name}@{v.attr('region')}",
            "name and region",
            self._volume_check,
        )
        self.by_key(kinds.VOLUME, lambda r: _str(r.inputs.get("name")), lambda v: v.name, "name", self._volume_check)
        self.by_key(kinds.FIREWALL, lambda r: _str(r.inputs.get("name")), lambda f: f.name, "name")
        self.by_key(kinds.VPC, lambda r: _str(r.inputs.get("name")), lambda v: v.name, "name", self._vpc_check)

    # -- Fastly and Datadog -------------------------------------------------------------------------------------

    def fastly(self) -> None:
        vcl = [s for s in self.inventory.of_type(kinds.FASTLY_SERVICE) if s.attr("service_type") in (None, "vcl")]
        by_name: dict[str, list[Live]] = {}
        for service in vcl:
            by_name.setdefault(service.name, []).append(service)
        for record in self.recording.of_type(kinds.FASTLY_SERVICE):
            domains = {
                _str(d.get("name")).lower() for d in record.inputs.get("domains") or () if isinstance(d, Mapping)
            }
            if self.unique(
                record, by_name.get(_str(record.inputs.get("name")), []), "name", self._domains_note(domains)
            ):
                continue
            holders = [s for s in vcl if domains & set(s.attr("domains") or ())]
            self.unique(record, holders, "domain", self._domains_note(domains))

    @staticmethod
    def _domains_note(domains: set[str]) -> Callable[[Record, Live], tuple[str | None, list[str]]]:
        def check(_: Record, live: Live) -> tuple[str | None, list[str]]:
            served = set(live.attr("domains") or ())
            notes = []
            if extra := sorted(served - domains):
                notes.append("the live service also serves " + ", ".join(extra) + ", which the program drops")
            if lacking := sorted(domains - served):
                notes.append("the program adds " + ", ".join(lacking))
            if not live.attr("active"):
                notes.append("no version of the live service is active")
            return None, notes

        return check

    def datadog(self) -> None:
        self.by_key(kinds.MONITOR, lambda r: _str(r.inputs.get("name")), lambda m: m.name, "name")
        self.by_key(kinds.SYNTHETICS, lambda r: _str(r.inputs.get("name")), lambda t: t.name, "name")
        self.by_key(
            kinds.SYNTHETICS,
            lambda r: f"{r.inputs.get('subtype')} {target(r.inputs.get('requestDefinition') or {})}",
            lambda t: f"{t.attr('subtype')} {_live_target(t)}",
            "what it checks",
        )

    # -- the outcome --------------------------------------------------------------------------------------------

    def run(self) -> Discovery:
        for step in (self.delegation_sets, self.zones, self.records, self.dnssec, self.kms_keys, self.buckets,
                     self.iam, self.digitalocean, self.fastly, self.datadog):  # fmt: skip
            step()
        settled = {m.record.urn for m in self.matches} | {b.record.urn for b in self.blocked}
        settled |= {a.record.urn for a in self.ambiguous}
        custom = [r for r in self.recording.resources if r.custom]
        missing = tuple(r for r in custom if r.type in self.read_types and r.urn not in settled)
        not_read = tuple(r for r in custom if r.type not in self.read_types)
        undeclared = tuple(self._undeclared())
        return Discovery(
            self.recording.stack,
            tuple(self.matches),
            tuple(self.blocked),
            tuple(self.ambiguous),
            missing,
            undeclared,
            not_read,
            frozenset(name for name, n in Counter(r.name for r in self.recording.records).items() if n > 1),
        )

    def _undeclared(self) -> Iterable[Live]:
        declared_zones = {live.id for urn, live in self.twin.items() if live.type == kinds.ZONE}
        for live in self.inventory.resources:
            if (live.type, live.id) in self.claimed:
                continue
            if live.type == kinds.RECORD:
                # Route 53's own apex records; and records of zones the program does not declare at all, which
                # the zone's own entry stands for.
                if live.attr("zone_id") not in declared_zones:
                    continue
                if live.name == live.attr("zone") and live.attr("type") in ROUTE53_APEX_TYPES:
                    continue
            if live.type in kinds.BUCKET_PARTS or live.type in (kinds.IAM_ROLE_POLICY, kinds.DNSSEC):
                continue  # parts of something else, reported with it
            yield live


def discover(recording: Recording, inventory: Inventory) -> Discovery:
    """Match ``recording`` (the program, one stack) against ``inventory`` (the live accounts)."""
    return _Matcher(recording, inventory).run()


def zone_records(recording: Recording, zone: Record) -> list[Record]:
    """The program's record sets in ``zone`` (a ``aws:route53/zone:Zone`` record), delegations included."""
    ids = {v for v in (zone.id, zone.outputs.get("zoneId")) if v}
    return [r for r in recording.of_type(kinds.RECORD) if r.inputs.get("zoneId") in ids]


@dataclass(frozen=True)
class Counts:
    """How many of each outcome, for the summary line."""

    matched: int
    blocked: int
    ambiguous: int
    missing: int
    undeclared: int
    not_read: int
    by_type: Mapping[str, int] = field(default_factory=dict)


def counts(discovery: Discovery) -> Counts:
    """The summary of ``discovery``."""
    return Counts(
        len(discovery.matches),
        len(discovery.blocked),
        len(discovery.ambiguous),
        len(discovery.missing),
        len(discovery.undeclared),
        len(discovery.not_read),
        Counter(m.record.type for m in discovery.matches),
    )
