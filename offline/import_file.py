"""The file ``pulumi import --file`` takes, for the parts of a stack being adopted, from the stack's recording.

``make import-file STACK=prod`` (``python -m offline.import_file --stack prod``) writes, for every resource of
the parts whose owner is ``import`` (or of the parts named with ``--part``), one entry of the CLI's import
file: its type, its name, the live ID from the import map (``<PLACEHOLDER>`` where the map has none, the
CLI's own marker), its parent and its provider. The layout is the one ``pulumi preview --import-file``
writes (pulumi/pulumi ``pkg/cmd/pulumi/preview.go``, ``buildImportFile``; the schema is ``importFile`` and
``importSpec`` in ``pkg/cmd/pulumi/import.go``):

- ``name`` is the resource's logical name; where two resources of the file share one, the later gets the
  CLI's suffix (its type's name, then a number) and ``logicalName`` keeps the real one, so the URN the
  import creates is the URN the program declares: code and state agree by construction;
- the components above an imported resource are entries too (``component: true``, no ID): the import
  creates them empty, as the CLI does for a parent it has not seen;
- ``parent`` and ``provider`` are names: of another entry of the file, or of a ``nameTable`` entry that maps
  the name to the URN of a resource already in the stack (the explicit providers, which ``pulumi import``
  cannot create: a first ``pulumi up --target`` of the providers makes them).

Resources whose type has no importer (:data:`stacks.import_ids.NOT_IMPORTABLE`) are left out: the next
``pulumi up`` creates them, and the summary says which.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from offline.recorder import PROJECT, PROJECT_ROOT, Record, Recording, program_config, record_stack
from stacks.import_ids import importable
from stacks.ownership import Ownership, Part
from stacks.parts import STACK_TYPE, parts_of_recording
from stacks.settings import Settings, SettingsError, parse_settings

PLACEHOLDER: Final = "<PLACEHOLDER>"


@dataclass(frozen=True)
class ImportFile:
    """An import file's document and what was left out of it (resources that cannot be imported)."""

    document: Mapping[str, Any]
    created: tuple[str, ...]

    @property
    def resources(self) -> Sequence[Mapping[str, Any]]:
        """The ``resources`` entries."""
        return self.document["resources"]


def stack_settings(stack: str) -> Settings:
    """The settings the stack's program runs with (its stack file, mock secrets), as the recorder gives them."""
    config, _ = program_config(stack)
    raw = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith(f"{PROJECT}:")}
    return parse_settings(stack, raw)


def import_parts(settings: Settings, named: Collection[str] = ()) -> tuple[Part, ...]:
    """The parts to write: those ``named`` (``zone:python.org``), or every part whose owner is ``import``."""
    if not named:
        return tuple(p for p, owner in settings.owners.explicit if owner is Ownership.IMPORT)
    parts: list[Part] = []
    for text in named:
        try:
            parts.append(Part.parse(text))
        except ValueError:
            raise SettingsError("--part", text, "must be a part, <kind>:<key> (README, Ownership)") from None
    return tuple(parts)


def _type_name(type_: str) -> str:
    """The name part of a type token, title-cased as the CLI suffixes it: ``aws:route53/zone:Zone`` -> ``Zone``."""
    name = type_.rsplit(":", 1)[-1]
    return name[:1].upper() + name[1:]


def build(recording: Recording, parts: Collection[Part]) -> ImportFile:
    """The import file of ``parts`` in ``recording`` (see the module docstring)."""
    nodes = parts_of_recording(recording.records)
    by_urn = {r.urn: r for r in recording.records}
    wanted = set(parts)
    chosen = [r for r in recording.records if r.custom and not r.is_provider and nodes[r.urn].part in wanted]
    created = tuple(r.urn for r in chosen if not importable(r.type))
    imported = [r for r in chosen if importable(r.type)]
    # Each imported resource with its ancestors, parents first, in the recording's (the program's) order.
    include: set[str] = set()
    for record in imported:
        urn: str | None = record.urn
        while urn is not None and urn in by_urn and by_urn[urn].type != STACK_TYPE:
            include.add(urn)
            urn = by_urn[urn].parent
    names: dict[str, str] = {}
    taken: set[str] = set()
    name_table: dict[str, str] = {}
    resources: list[dict[str, Any]] = []

    def unique(record: Record) -> str:
        name = record.name
        if name in taken:
            base = f"{record.name}{_type_name(record.type)}"
            name, counter = base, 2
            while name in taken:
                name, counter = f"{base}{counter}", counter + 1
        taken.add(name)
        return name

    for record in recording.records:
        if record.urn not in include:
            continue
        name = names[record.urn] = unique(record)
        entry: dict[str, Any] = {"type": record.type, "name": name}
        if record.custom:
            entry["id"] = record.options.import_id or PLACEHOLDER
        if record.parent and record.parent in names:
            entry["parent"] = names[record.parent]
        if record.options.provider:
            provider = by_urn[record.options.provider]
            entry["provider"] = provider.name
            name_table[provider.name] = provider.urn
            if isinstance(version := provider.inputs.get("version"), str) and version:
                entry["version"] = version
        if not record.custom:
            entry["component"] = True
        if name != record.name:
            entry["logicalName"] = record.name
        resources.append(entry)
    return ImportFile({"nameTable": dict(sorted(name_table.items())), "resources": resources}, created)


def main(argv: Sequence[str] | None = None) -> int:
    """``make import-file``: write the stack's import file and say what it holds."""
    parser = argparse.ArgumentParser(description="Write the pulumi import --file JSON of a stack's import parts.")
    parser.add_argument("--stack", default="staging")
    parser.add_argument("--part", action="append", default=[], help="a part to write (default: the import parts)")
    parser.add_argument("--out", type=Path, help="default build/import-<stack>.json")
    args = parser.parse_args(argv)
    try:
        settings = stack_settings(args.stack)
        parts = import_parts(settings, args.part)
        result = build(record_stack(args.stack), parts)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out: Path = args.out or PROJECT_ROOT / "build" / f"import-{args.stack}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result.document, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")
    custom = [r for r in result.resources if not r.get("component")]
    missing = sum(1 for r in custom if r["id"] == PLACEHOLDER)
    shown = ", ".join(map(str, parts)) or "none (no part's owner is import; name some with --part)"
    print(f"{out}: {len(custom)} resources to import ({missing} without a live ID yet), parts {shown}")
    if result.created:
        print(f"  created by pulumi up instead (no importer): {len(result.created)}, e.g. {result.created[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
