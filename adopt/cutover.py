"""``python -m adopt.cutover --stack prod --zone python.org``: refuse a DNS cut-over that would lose a record.

Moving a zone to this program loses every live record the program does not declare: a zone the program
creates anew (the registrar then points at its name servers) holds only what the program declares, and in a
zone it imports an undeclared record is owned by nobody, gone at the zone's next replacement. So before a
zone changes hands, every live record set must be declared by the program or listed under ``dropped:`` in
the import map, with the reason; and a record set the program declares must give the answer it gives live
(names, case, trailing dots, TXT quoting and alias targets normalised as :mod:`adopt.rrset` says), or its live
answer is lost too. A TTL that differs is only noted: lowering TTLs is a step of the runbook. Route 53's own
NS and SOA at the apex are not lost: every zone has its own.

The live records are read now from Route 53, read-only, with the stack's credentials (or taken from the
inventory ``make discover`` saved, with ``--inventory``). The live zone compared is the one the import map
adopts, else the only live zone of that name; with several and no import entry, ``--zone-id`` says which.

Exit status: 0 when nothing would vanish or change in any zone checked; 1 when something would (the records
are listed); 2 when the check could not run (bad option, no such zone in the program, missing credentials).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from adopt import credentials as creds
from adopt import importmap, rrset
from adopt import live as kinds
from adopt.importmap import Dropped, ImportMap
from adopt.live import Inventory, Live, Progress, ReadError, dns_name
from adopt.match import ROUTE53_APEX_TYPES, zone_records
from adopt.rrset import RecordSet
from offline.recorder import PROJECT_ROOT, ProgramFailedError, Record, Recording, record_stack


class CutoverError(Exception):
    """The check cannot run; one line saying why."""


@dataclass(frozen=True)
class Changed:
    """A live record set the program declares with another answer: its live answer is lost at the cut-over."""

    live: Live
    now: RecordSet
    then: RecordSet


@dataclass(frozen=True)
class ZoneCheck:
    """The outcome for one zone."""

    domain: str
    prod_domain: str
    live_zone: Live | None
    declared: int
    vanishing: tuple[Live, ...]
    changed: tuple[Changed, ...]
    dropped: tuple[tuple[Live, Dropped], ...]
    stale: tuple[Dropped, ...]
    redundant: tuple[Dropped, ...]
    ttl: tuple[Changed, ...] = ()
    added: int = 0
    grown: tuple[Changed, ...] = ()

    @property
    def refused(self) -> bool:
        """True when the cut-over would lose a record set, or a live answer, that nobody chose to drop."""
        return bool(self.vanishing or self.changed)


def prod_domains(recording: Recording) -> dict[str, str]:
    """Zone logical name -> its prod domain (the name ``dropped:`` entries use), from prod's recording."""
    prod = recording if recording.stack == "prod" else record_stack("prod")
    return {z.name: dns_name(str(z.inputs.get("name", ""))) for z in prod.of_type(kinds.ZONE)}


def program_zones(recording: Recording) -> dict[str, Record]:
    """The stack's zones by their domain in this stack."""
    return {dns_name(str(z.inputs.get("name", ""))): z for z in recording.of_type(kinds.ZONE)}


def resolve(recording: Recording, wanted: Sequence[str]) -> list[Record]:
    """The zones to check: those named (by this stack's domain or by prod's), or every zone of the stack."""
    zones = program_zones(recording)
    if not wanted:
        return [zones[d] for d in sorted(zones)]
    by_prod = {prod: zone for zone in zones.values() if (prod := prod_domains(recording).get(zone.name))}
    chosen: list[Record] = []
    for name in wanted:
        zone = zones.get(dns_name(name)) or by_prod.get(dns_name(name))
        if zone is None:
            raise CutoverError(
                f"--zone {name!r} is invalid: stack {recording.stack} declares no such zone (an external or unknown "
                f"domain); its zones: {', '.join(sorted(zones))}"
            )
        chosen.append(zone)
    return chosen


def _live_zone(zone: Record, domain: str, inventory: Inventory, imports: ImportMap, zone_id: str | None) -> Live | None:
    candidates = [z for z in inventory.of_type(kinds.ZONE) if z.name == domain]
    wanted = zone_id or imports.imports.get(zone.name) or imports.imports.get(zone.urn)
    if wanted:
        for candidate in candidates:
            if candidate.id == wanted:
                return candidate
        source = "--zone-id" if zone_id else "the import map"
        known = ", ".join(c.id for c in candidates) or "none"
        raise CutoverError(
            f"zone {domain}: live zone {wanted} (from {source}) does not exist; live zones of it: {known}"
        )
    if len(candidates) > 1:
        raise CutoverError(
            f"zone {domain}: {len(candidates)} live zones of that name ({', '.join(c.id for c in candidates)}): "
            "say which one the registrar delegates to with --zone-id"
        )
    return candidates[0] if candidates else None


def check_zone(
    recording: Recording,
    zone: Record,
    inventory: Inventory,
    imports: ImportMap,
    *,
    prod_domain: str,
    zone_id: str | None = None,
) -> ZoneCheck:
    """Compare one zone's live record sets with the program's; see the module docstring."""
    domain = dns_name(str(zone.inputs.get("name", "")))
    declared: dict[tuple[str, str], RecordSet] = {}
    for record in zone_records(recording, zone):
        wanted = rrset.from_program(record.inputs, domain)
        declared[(wanted.name, wanted.type)] = wanted
    mine = [d for d in imports.dropped if d.zone in (domain, prod_domain)]
    live_zone = _live_zone(zone, domain, inventory, imports, zone_id)
    live = [r for r in inventory.of_type(kinds.RECORD) if live_zone is not None and r.attr("zone_id") == live_zone.id]
    vanishing: list[Live] = []
    changed: list[Changed] = []
    ttl: list[Changed] = []
    grown: list[Changed] = []
    dropped: list[tuple[Live, Dropped]] = []
    used: set[Dropped] = set()
    for record in sorted(live, key=lambda r: (r.name, str(r.attr("type")))):
        type_ = str(record.attr("type"))
        if record.name == domain and type_ in ROUTE53_APEX_TYPES:
            continue
        now = rrset.from_live(record)
        # A weighted, latency or failover set (a set identifier) is a record the program never writes.
        then = None if record.attr("set_identifier") else declared.get((record.name, type_))
        if then is not None and then.same_answer(now):
            if now.ttl is not None and then.ttl is not None and now.ttl != then.ttl:
                ttl.append(Changed(record, now, then))
            continue
        if then is not None and then.alias == now.alias and now.values < then.values:
            grown.append(Changed(record, now, then))  # the program only adds values: none is lost
            continue
        entry = next((d for d in mine if d.name == record.name and d.type == type_), None)
        if entry is not None:
            dropped.append((record, entry))
            used.add(entry)
        elif then is None:
            vanishing.append(record)
        else:
            changed.append(Changed(record, now, then))
    live_keys = {(r.name, str(r.attr("type"))) for r in live}
    unused = [d for d in mine if d not in used]
    return ZoneCheck(
        domain,
        prod_domain,
        live_zone,
        len(declared),
        tuple(vanishing),
        tuple(changed),
        tuple(dropped),
        stale=tuple(d for d in unused if (d.name, d.type) not in live_keys),
        redundant=tuple(d for d in unused if (d.name, d.type) in live_keys),
        ttl=tuple(ttl),
        grown=tuple(grown),
        added=len(set(declared) - live_keys) if live_zone is not None else len(declared),
    )


def render(check: ZoneCheck) -> list[str]:
    """The lines printed for one zone."""
    if check.live_zone is None:
        lines = [f"{check.domain}: no live zone of that name: nothing can be lost (the program creates it)"]
    else:
        verdict = "REFUSED" if check.refused else "ok"
        lines = [
            f"{check.domain} (live zone {check.live_zone.id}): {verdict}: {len(check.vanishing)} record sets would "
            f"vanish, {len(check.changed)} would answer otherwise, {len(check.dropped)} dropped on purpose; the "
            f"program declares {check.declared} ({check.added} not live yet)"
        ]
    for record in check.vanishing:
        now = rrset.from_live(record)
        lines.append(f"  would vanish: {now.name} {now.type} ttl={now.ttl} {now.answer()}")
    for change in check.changed:
        lines.append(
            f"  would change: {change.now.name} {change.now.type}: live {change.now.answer()}; "
            f"the program {change.then.answer()}"
        )
    for change in check.grown:
        added = ", ".join(sorted(change.then.values - change.now.values))
        lines.append(f"  note: {change.now.name} {change.now.type} keeps its live values; the program adds {added}")
    for change in check.ttl:
        lines.append(
            f"  note: {change.now.name} {change.now.type} TTL {change.now.ttl} live, {change.then.ttl} in the program"
        )
    for record, entry in check.dropped:
        lines.append(f"  dropped: {record.name} {record.attr('type')} ({entry.reason})")
    for entry in check.redundant:
        lines.append(f"  note: dropped entry {entry.name} {entry.type} is declared by the program, so it stays")
    for entry in check.stale:
        lines.append(f"  note: dropped entry {entry.name} {entry.type} matches no live record (already gone?)")
    if check.refused:
        lines.append(
            "  declare them in the program (with the live answer), or list each under dropped: in the import map "
            f"(zone: {check.prod_domain})"
        )
    return lines


def _inventory(args: argparse.Namespace, domains: Sequence[str], root: Path, progress: Progress) -> Inventory:
    if args.inventory is not None:
        return Inventory.load(args.inventory)
    from adopt import live_aws

    credentials = creds.load("aws", args.stack, creds.resolve_source(args.credentials), cwd=root)
    progress(f"aws: credentials from {credentials.source}")
    client = live_aws.session(credentials).client("route53", endpoint_url=args.endpoint)
    return Inventory(tuple(live_aws.read_route53(client, progress, domains=domains)), ("aws",))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m adopt.cutover", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stack", required=True, help="the stack taking the zones over (prod, staging)")
    parser.add_argument("--zone", action="append", default=[], help="a zone (this stack's or prod's name); default all")
    parser.add_argument("--zone-id", help="the live hosted zone to compare, when several have the zone's name")
    parser.add_argument("--inventory", type=Path, help="use the inventory make discover saved instead of Route 53")
    parser.add_argument("--map", type=Path, help="the import map (default imports/<stack>.yaml)")
    parser.add_argument("--credentials", default="auto", choices=creds.SOURCES, help="as for make discover")
    parser.add_argument("--endpoint", help="another Route 53 endpoint (an emulator)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def run(argv: Sequence[str] | None = None, *, root: Path = PROJECT_ROOT, recording: Recording | None = None) -> int:
    """The command; returns the exit status. ``recording``: the stack's, when the caller has it already."""
    args = _parser().parse_args(argv)
    progress = Progress(None if args.quiet else sys.stderr)
    try:
        if args.zone_id and len(args.zone) != 1:
            raise CutoverError("--zone-id needs exactly one --zone")
        if recording is None or recording.stack != args.stack:
            recording = record_stack(args.stack, root=root)
        zones = resolve(recording, args.zone)
        imports = importmap.load(args.map or importmap.path_for(args.stack, root))
        domains = [dns_name(str(z.inputs.get("name", ""))) for z in zones]
        inventory = _inventory(args, domains, root, progress)
        if "aws" not in inventory.clouds:
            raise CutoverError(f"inventory {args.inventory} holds no Route 53 records: run make discover with aws")
        prod = prod_domains(recording)
        checks = [
            check_zone(recording, z, inventory, imports, prod_domain=prod.get(z.name, d), zone_id=args.zone_id)
            for z, d in zip(zones, domains, strict=True)
        ]
    except (CutoverError, creds.CredentialsError, ReadError, importmap.ImportMapError, ValueError) as exc:
        print(f"cutover: {exc}", file=sys.stderr)
        return 2
    except ProgramFailedError as exc:
        print(f"cutover: stack {args.stack} does not evaluate: {exc.cause}", file=sys.stderr)
        return 2
    for check in checks:
        print("\n".join(render(check)))
    refused = [c.domain for c in checks if c.refused]
    if refused:
        print(f"cutover {args.stack}: REFUSED for {', '.join(refused)}: the live answers above would be lost")
        return 1
    print(f"cutover {args.stack}: {len(checks)} zone(s) checked, nothing would be lost")
    return 0


def main() -> None:
    """Entry point of ``python -m adopt.cutover``."""
    sys.exit(run())


if __name__ == "__main__":
    main()
