"""Fail a preview that would import a resource and change it in the same update.

Since pulumi/pulumi#16397 (the engine's "eventual state" imports, pulumi/pulumi#19339) a resource whose
``import`` option points at a live resource that differs from the code is no longer refused: the engine
imports it and then updates it to match the code. For an adoption that is the wrong default. The import map
says "this live resource is that one in the code"; if the two differ, someone must look at the difference
and decide which side is right (fix the code, or accept the change in a later, separate pull request)
before ``pulumi up`` rewrites a live service.

Reads the document ``pulumi preview --json`` prints (``steps``: each with ``op``, ``urn`` and, for steps that
change something, ``diffReasons``, ``replaceReasons`` and ``detailedDiff``; the operations are the engine's
``StepOp`` values in ``pkg/resource/deploy/step.go``) and refuses, one line each:

- an ``import-replacement`` step: the code differs from the live resource in a property that forces a
  replacement, so the adoption would delete the live resource;
- an ``import`` step that carries a diff;
- an ``import`` step for a URN that also has a step that changes it (``update``, ``replace``,
  ``create-replacement``, ``delete-replaced``, ``delete``): the import-then-update of #16397.

Standard library only: it runs in the preview workflow right after the CLI, before any virtualenv.
Exit status: 0 when no import also changes, 1 when some do, 2 when the input is not a preview document.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

IMPORT: Final = "import"
IMPORT_REPLACEMENT: Final = "import-replacement"
# Steps that change a resource's live settings or its existence.
CHANGES: Final = frozenset({"update", "replace", "create-replacement", "delete-replaced", "delete"})


@dataclass(frozen=True)
class Finding:
    """A resource the preview would import and change."""

    urn: str
    why: str

    def __str__(self) -> str:
        return f"{self.urn}: {self.why}"


class NotAPreviewError(ValueError):
    """The input is not what ``pulumi preview --json`` prints."""


def _diff_keys(step: Mapping[str, Any]) -> list[str]:
    keys = [*(step.get("diffReasons") or ()), *(step.get("replaceReasons") or ())]
    detailed = step.get("detailedDiff") or {}
    if isinstance(detailed, Mapping):
        keys += list(detailed)
    return sorted({str(k) for k in keys})


def findings(document: Any) -> list[Finding]:
    """Every import in ``document`` (a parsed preview) that would also change the resource."""
    if not isinstance(document, Mapping) or not isinstance(document.get("steps"), list):
        raise NotAPreviewError("expected the object `pulumi preview --json` prints, with a steps list")
    steps: Sequence[Any] = document["steps"]
    ops: dict[str, list[Mapping[str, Any]]] = {}
    for n, step in enumerate(steps):
        if not isinstance(step, Mapping) or not isinstance(step.get("op"), str) or not isinstance(step.get("urn"), str):
            raise NotAPreviewError(f"steps[{n}] has no op and urn")
        ops.setdefault(step["urn"], []).append(step)
    found: list[Finding] = []
    for urn, mine in ops.items():
        names = [s["op"] for s in mine]
        if IMPORT_REPLACEMENT in names:
            keys = _diff_keys(next(s for s in mine if s["op"] == IMPORT_REPLACEMENT))
            found.append(Finding(urn, f"imported as a replacement (the live resource would be deleted): {keys}"))
            continue
        if IMPORT not in names:
            continue
        if keys := _diff_keys(next(s for s in mine if s["op"] == IMPORT)):
            found.append(Finding(urn, f"imported with a diff in {', '.join(keys)}"))
        elif changed := sorted(set(names) & CHANGES):
            keys = sorted({k for s in mine if s["op"] in CHANGES for k in _diff_keys(s)})
            found.append(Finding(urn, f"imported, then {'/'.join(changed)} of {', '.join(keys) or 'its settings'}"))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tools.import_guard preview.json``: one line per import that would change, and the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m tools.import_guard <pulumi preview --json output>", file=sys.stderr)
        return 2
    try:
        document = json.loads(Path(args[0]).read_text(encoding="utf-8"))
        found = findings(document)
    except (OSError, json.JSONDecodeError, NotAPreviewError) as problem:
        print(f"error: {args[0]}: {problem}", file=sys.stderr)
        return 2
    for finding in found:
        print(f"error: {finding}", file=sys.stderr)
    if found:
        print(
            f"{len(found)} resource(s) of the import map differ from the code: an adoption must change nothing. "
            "Fix the code (or the entry) until the preview shows only imports; change settings in a later PR.",
            file=sys.stderr,
        )
        return 1
    imports = sum(1 for s in document["steps"] if s["op"] == IMPORT)
    print(f"{imports} import(s), none changing the live resource")
    return 0


if __name__ == "__main__":
    sys.exit(main())
