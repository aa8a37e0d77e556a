"""The offline plan: what a stack would create, printed like ``pulumi preview``, with no cloud and no CLI.

    python -m offline.plan --stack staging            # tree, counts, policy result
    python -m offline.plan --stack prod --json        # the records as JSON
    python -m offline.plan --stack staging --set replicas=3   # try a config change

It evaluates the real program under the recorder's mocked providers. It is not a cloud preview: it cannot
see what already exists, so every resource shows as ``create``. A bad config exits 2 with the settings
message on one line; a mandatory policy violation exits 3.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from offline.recorder import (
    STACK_REFERENCE_TYPE,
    STACK_TYPE,
    ProgramFailedError,
    Record,
    Recording,
    collector_paused,
    record_stack,
)

BANNER = (
    "OFFLINE PLAN with mocked providers: nothing was contacted and this is not a cloud preview.\n"
    "Every resource shows as 'create' because the real state is unknown here; run `pulumi preview` for that."
)
DROPLET_TYPE = "digitalocean:index/droplet:Droplet"
_LEGACY_VCPUS = {"512mb": 1, "1gb": 1, "2gb": 2, "4gb": 2, "8gb": 4, "16gb": 8, "32gb": 12, "48gb": 16, "64gb": 20}


def vcpus(size_slug: str) -> int:
    """VCPUs of a DigitalOcean droplet size slug (``s-2vcpu-4gb`` -> 2, ``c-4`` -> 4, ``8gb`` -> 4)."""
    if match := re.search(r"(\d+)vcpu", size_slug):
        return int(match.group(1))
    if match := re.match(r"^c2?-(\d+)", size_slug):
        return int(match.group(1))
    if size_slug in _LEGACY_VCPUS:
        return _LEGACY_VCPUS[size_slug]
    raise ValueError(f"unknown droplet size slug {size_slug!r}")


def operation(record: Record) -> tuple[str, str]:
    """The step ``pulumi preview`` shows for a record, with its symbol: create, import or read.

    Import: adopted under the live ID of the stack's import map. Read: a stack reference or another resource
    read, never created.
    """
    if record.read or record.type == STACK_REFERENCE_TYPE:
        return ">", "read"
    if record.options.import_id is not None:
        return "=", "import"
    return "+", "create"


def _tree_lines(recording: Recording) -> list[tuple[str, str, Record]]:
    """(prefix + type, name, record) rows of the resource tree, children sorted by type then name."""
    children: dict[str | None, list[Record]] = {}
    for record in recording.records:
        children.setdefault(record.parent, []).append(record)
    for siblings in children.values():
        # Providers first, as pulumi preview shows them; then components and resources by type and name.
        siblings.sort(key=lambda r: (not r.is_provider, r.custom, r.type, r.name))
    rows: list[tuple[str, str, Record]] = []

    def walk(record: Record, prefix: str, last: bool, depth: int) -> None:
        branch = "" if depth == 0 else prefix + ("└─ " if last else "├─ ")
        rows.append((branch + record.type, record.name, record))
        kids = children.get(record.urn, [])
        deeper = "" if depth == 0 else prefix + ("   " if last else "│  ")
        for i, kid in enumerate(kids):
            walk(kid, deeper, i == len(kids) - 1, depth + 1)

    for root in children.get(None, []):
        walk(root, "", True, 0)
    return rows


@dataclass(frozen=True)
class PlanSummary:
    """The counts the plan prints after the tree."""

    resources: int
    by_type: dict[str, int]
    by_datacenter: dict[str, int]
    droplets: int
    vcpus: int


def summary(recording: Recording) -> PlanSummary:
    """Counts of a recording: resources by type and by datacenter, droplets and their vCPUs."""
    resources = recording.resources
    droplets = recording.of_type(DROPLET_TYPE)
    return PlanSummary(
        resources=len(resources),
        by_type=dict(sorted(Counter(r.type for r in resources).items())),
        by_datacenter=dict(sorted(Counter(r.datacenter or "global" for r in resources).items())),
        droplets=len(droplets),
        vcpus=sum(vcpus(str(d.inputs.get("size", ""))) for d in droplets),
    )


def render(recording: Recording, out: TextIO) -> None:
    """Print the tree and the counts."""
    rows = _tree_lines(recording)
    width = max((len(t) for t, _, _ in rows), default=10) + 2
    print(f"     {'Type':<{width}}{'Name':<40}Plan", file=out)
    for type_text, name, record in rows:
        symbol, op = operation(record)
        print(f" {symbol}   {type_text:<{width}}{name:<40}{op}", file=out)
    facts = summary(recording)
    extra = len(recording) - facts.resources
    print(f"\nResources: {facts.resources} to create (plus {extra} for the stack and its providers)", file=out)
    print("\nBy type:", file=out)
    for type_, count in facts.by_type.items():
        print(f"  {count:>5}  {type_}", file=out)
    print("\nBy datacenter:", file=out)
    for dc, count in facts.by_datacenter.items():
        print(f"  {count:>5}  {dc}", file=out)
    print(f"\nDroplets: {facts.droplets}, total vCPUs: {facts.vcpus}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m offline.plan", description="Offline plan of a stack.")
    parser.add_argument("--stack", default="staging", help="stack to plan: prod or staging (default staging)")
    parser.add_argument("--json", action="store_true", help="write the recorded resources as JSON instead")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value for this plan only, like `pulumi config set` (repeatable)",
    )
    args = parser.parse_args(argv)

    overrides: dict[str, str] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"error: --set expects KEY=VALUE, got {item!r}", file=sys.stderr)
            return 2
        overrides[key] = value

    started = time.perf_counter()
    try:
        recording = record_stack(args.stack, overrides)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ProgramFailedError as failed:
        from stacks.settings import SettingsError

        if isinstance(failed.cause, SettingsError):
            print(f"error: {failed.cause}", file=sys.stderr)
            return 2
        raise failed.cause from None
    elapsed = time.perf_counter() - started
    # What follows allocates little that outlives it; with the collector on, it would set off a full
    # collection over the SDKs' modules for nothing (see collector_paused).
    with collector_paused():
        return _report(args, recording, started, elapsed)


def _report(args: argparse.Namespace, recording: Recording, started: float, elapsed: float) -> int:
    """Write the plan (or the JSON records) and the policy result; return the exit code."""
    if args.json:
        json.dump(recording.to_json(), sys.stdout, indent=2, sort_keys=False)
        print()
        return 0

    print(f"Offline plan of stack '{args.stack}' (project psf-infra)")
    print(BANNER + "\n")
    render(recording, sys.stdout)
    stack_record = next((r for r in recording.records if r.type == STACK_TYPE), None)
    if stack_record is not None and recording.stack_outputs:
        print("\nOutputs: " + ", ".join(sorted(recording.stack_outputs)))
    mandatory = report_policy(recording, sys.stdout)
    print(f"\nElapsed: {time.perf_counter() - started:.2f} s (evaluation {elapsed:.2f} s; offline, mocked providers)")
    if mandatory:
        print(f"error: {mandatory} mandatory policy violation(s); `pulumi up --policy-pack policy` would refuse")
        return 3
    return 0


def report_policy(recording: Recording, out: TextIO) -> int:
    """Run the policy pack's rules over the records, print the result, and return the mandatory count."""
    from policy.offline import blocking, check, format_report

    violations, exempted = check(recording)
    waived = [e for e in exempted if e.status == "waived"]
    print("\nPolicy (the CrossGuard pack in policy/, run over these records):", file=out)
    print(format_report(violations), file=out)
    print(f"  {len(waived)} finding(s) waived by documented exceptions (policy/rules/base.py)", file=out)
    return len(blocking(violations))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # `... --json | head` closed the pipe early; that is the reader's choice, not an error.
        sys.stderr.close()
        sys.exit(0)
