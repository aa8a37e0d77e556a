"""The discovery report: what was matched, what cannot be adopted, what is live and undeclared, what will be made.

Markdown, for the pull request that commits the import map; the same facts as JSON for tools (the cut-over
check reads the inventory from it). Rows are sorted, so two runs against the same estate give the same bytes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from adopt import live as kinds
from adopt.live import Inventory, Live
from adopt.match import Discovery, counts
from offline.recorder import Record

# The undeclared live resources the report lists one by one, in this order, with their headings.
UNDECLARED_SECTIONS: Final = (
    (kinds.RECORD, "DNS records"),
    (kinds.DROPLET, "Droplets"),
    (kinds.FASTLY_SERVICE, "Fastly services"),
    (kinds.MONITOR, "Datadog monitors"),
    (kinds.SYNTHETICS, "Datadog Synthetic tests"),
    (kinds.ZONE, "Route 53 zones"),
    (kinds.KSK, "DNSSEC key-signing keys"),
    (kinds.DELEGATION_SET, "Reusable delegation sets"),
    (kinds.KMS_KEY, "KMS keys"),
    (kinds.BUCKET, "S3 buckets"),
    (kinds.VOLUME, "Volumes"),
    (kinds.FIREWALL, "Firewalls"),
    (kinds.VPC, "VPCs"),
)


def short_type(type_: str) -> str:
    """A type token without its repetition: ``aws:route53:Record``, ``digitalocean:Droplet``."""
    package, module, name = [*type_.split(":"), "", ""][:3]
    module = module.split("/")[0]
    return f"{package}:{name}" if module == "index" else f"{package}:{module}:{name}"


def physical_name(record: Record) -> str:
    """The name a record's cloud knows it by, as far as its inputs say."""
    for key in ("name", "bucket", "referenceName", "description"):
        if isinstance(value := record.inputs.get(key), str) and value:
            return value
    return ""


def _cell(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _undeclared_rows(type_: str, items: Sequence[Live]) -> tuple[Sequence[str], list[list[Any]]]:
    if type_ == kinds.RECORD:
        rows = [
            [r.attr("zone"), r.name, r.attr("type"), r.attr("ttl"), r.attr("values") or r.attr("alias")] for r in items
        ]
        return ("zone", "name", "type", "TTL", "values"), sorted(rows, key=lambda row: (row[0], row[1], row[2]))
    if type_ == kinds.DROPLET:
        rows = [[d.name, d.id, d.attr("region"), d.attr("size"), d.attr("tags")] for d in items]
        return ("name", "ID", "region", "size", "tags"), sorted(rows)
    if type_ == kinds.FASTLY_SERVICE:
        rows = [[s.name, s.id, s.attr("domains"), "yes" if s.attr("active") else "no"] for s in items]
        return ("name", "ID", "domains", "active"), sorted(rows)
    if type_ == kinds.SYNTHETICS:
        rows = [[t.name, t.id, f"{t.attr('subtype')} {t.attr('target')}".strip()] for t in items]
        return ("name", "public ID", "checks"), sorted(rows)
    if type_ == kinds.ZONE:
        rows = [[z.name, z.id, z.attr("records")] for z in items]
        return ("domain", "ID", "record sets"), sorted(rows)
    rows = [[i.name, i.id] for i in items]
    return ("name", "ID"), sorted(rows)


def render(discovery: Discovery, inventory: Inventory, *, map_path: str, credentials: Mapping[str, str]) -> str:
    """The report as Markdown."""
    c = counts(discovery)
    read = ", ".join(f"{cloud} ({credentials.get(cloud, 'no credentials')})" for cloud in inventory.clouds)
    out = [
        f"# Discovery of stack {discovery.stack}",
        "",
        f"Read, read-only: {read or 'nothing'}. {len(inventory.resources)} live resources against the program's "
        "recording (`offline/recorder.py`).",
        "",
        *_table(
            ("outcome", "count"),
            [
                (f"matched: written to `{map_path}`", c.matched),
                ("cannot be adopted in place (not written)", c.blocked),
                ("ambiguous: more than one live candidate (not written)", c.ambiguous),
                ("program resources with no live twin: `pulumi up` creates them", c.missing),
                ("live resources the program does not declare", c.undeclared),
                ("program resources of types discovery does not read", c.not_read),
            ],
        ),
    ]
    if discovery.blocked:
        out += ["", "## Cannot be adopted in place", ""]
        rows = [
            (b.record.name, short_type(b.record.type), b.live.id, b.reason)
            for b in sorted(discovery.blocked, key=lambda b: (b.record.type, b.record.name))
        ]
        out += _table(("logical name", "type", "live ID", "why"), rows)
    if discovery.ambiguous:
        out += ["", "## Ambiguous", ""]
        rows = [
            (a.record.name, short_type(a.record.type), a.how, [f"{c.name} ({c.id})" for c in a.candidates])
            for a in sorted(discovery.ambiguous, key=lambda a: (a.record.type, a.record.name))
        ]
        out += _table(("logical name", "type", "matched by", "live candidates"), rows)
    out += ["", "## Matched", ""]
    if discovery.matches:
        rows = [
            (discovery.import_key(m.record), short_type(m.record.type), m.live.id, m.how, "; ".join(m.notes))
            for m in sorted(discovery.matches, key=lambda m: (m.record.type, m.record.name))
        ]
        out += _table(("import key", "type", "live ID", "matched by", "notes"), rows)
    else:
        out.append("Nothing.")
    out += ["", "## Live resources the program does not declare", ""]
    if not discovery.undeclared:
        out.append("None.")
    for type_, title in UNDECLARED_SECTIONS:
        items = [u for u in discovery.undeclared if u.type == type_]
        if items:
            header, rows = _undeclared_rows(type_, items)
            out += [f"### {title}", "", *_table(header, rows), ""]
    if out[-1] == "":
        out.pop()
    out += ["", "## Program resources with no live twin (created by the next `pulumi up`)", ""]
    if discovery.missing:
        rows = sorted((short_type(r.type), r.name, physical_name(r)) for r in discovery.missing)
        out += _table(("type", "logical name", "physical name"), rows)
    else:
        out.append("None.")
    out += ["", "## Not read by discovery", ""]
    if discovery.not_read:
        out.append("The import map has no entries for these types; `make import-file` and the preview cover them.")
        out.append("")
        out += _table(("type", "resources"), sorted(Counter(short_type(r.type) for r in discovery.not_read).items()))
    else:
        out.append("Nothing: every type the program creates was read.")
    return "\n".join(out) + "\n"


def to_json(discovery: Discovery, inventory: Inventory) -> dict[str, Any]:
    """The outcome and the inventory, for tools."""
    return {
        "stack": discovery.stack,
        "inventory": inventory.to_json(),
        "imports": discovery.imports,
        "matched": [
            {
                "key": discovery.import_key(m.record),
                "type": m.record.type,
                "id": m.live.id,
                "how": m.how,
                "notes": list(m.notes),
            }
            for m in discovery.matches
        ],
        "blocked": [
            {"urn": b.record.urn, "type": b.record.type, "id": b.live.id, "reason": b.reason} for b in discovery.blocked
        ],
        "ambiguous": [
            {"urn": a.record.urn, "type": a.record.type, "how": a.how, "candidates": [c.id for c in a.candidates]}
            for a in discovery.ambiguous
        ],
        "missing": [{"urn": r.urn, "type": r.type, "name": physical_name(r)} for r in discovery.missing],
        "undeclared": [u.to_json() for u in discovery.undeclared],
    }
