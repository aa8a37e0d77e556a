"""The offline plan: what a stack would create, printed like ``pulumi preview``, with no cloud and no CLI.

    python -m offline.plan --stack staging            # tree, counts, policy result
    python -m offline.plan --stack prod --summary     # counts and policy result only
    python -m offline.plan --stack prod --json        # the records and the policy result as JSON
    python -m offline.plan --stack staging --set replicas=3   # try a config change
    python -m offline.plan --stack staging --set 'adminCidrs=["192.0.2.0/24"]'   # arrays as JSON

It evaluates the real program under the recorder's mocked providers. It is not a cloud preview: it cannot
see what already exists, so every resource shows as ``create``.

Exit codes (the same with ``--json``):

- 0: the plan is complete and no mandatory policy rule is broken (advisory findings do not fail it);
- 1: the program itself failed: a bug, not a configuration error (one line; ``--traceback`` shows where);
- 2: bad configuration (a stack file, a config value, a ``--set``) or bad arguments: one line naming the
  key, the value and what is allowed, before the program registers anything;
- 3: a mandatory policy violation, which ``pulumi up --policy-pack policy`` would refuse.

Progress goes to stderr (``--quiet`` silences it), the plan to stdout.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

from offline.recorder import (
    PROJECT_ROOT,
    STACK_REFERENCE_TYPE,
    STACK_TYPE,
    ProgramFailedError,
    Record,
    Recording,
    collector_paused,
    program_config,
    record_stack,
)
from stacks.cli_yaml import ConfigFileError
from stacks.schema import SettingsError, config_schema

BANNER = (
    "OFFLINE PLAN with mocked providers: nothing was contacted and this is not a cloud preview.\n"
    "Every resource shows as 'create' because the real state is unknown here; run `pulumi preview` for that."
)
DROPLET_TYPE = "digitalocean:index/droplet:Droplet"
_LEGACY_VCPUS = {"512mb": 1, "1gb": 1, "2gb": 2, "4gb": 2, "8gb": 4, "16gb": 8, "32gb": 12, "48gb": 16, "64gb": 20}

EXIT_OK, EXIT_PROGRAM, EXIT_CONFIG, EXIT_MANDATORY = 0, 1, 2, 3
CONFIG_ERRORS = (SettingsError, ConfigFileError)
"""What a configuration mistake raises: one line each, exit 2."""


def vcpus(size_slug: str) -> int:
    """VCPUs of a DigitalOcean droplet size slug (``s-2vcpu-4gb`` -> 2, ``c-4`` -> 4, ``8gb`` -> 4)."""
    if match := re.search(r"(\d+)vcpu", size_slug):
        return int(match.group(1))
    if match := re.match(r"^c2?-(\d+)", size_slug):
        return int(match.group(1))
    if size_slug in _LEGACY_VCPUS:
        return _LEGACY_VCPUS[size_slug]
    raise ValueError(f"unknown droplet size slug {size_slug!r}")


@dataclass(frozen=True)
class TreeRow:
    """One line of the resource tree."""

    type: str
    name: str
    info: str
    plan: str = "create"


def _info(record: Record) -> str:
    marks = (("protected", record.options.protect), ("retained", record.options.retain_on_delete))
    return ", ".join(mark for mark, on in marks if on)


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


def _tree_rows(recording: Recording) -> list[TreeRow]:
    """The resource tree, children sorted as ``pulumi preview`` shows them (providers first, then by type)."""
    children: dict[str | None, list[Record]] = {}
    for record in recording.records:
        children.setdefault(record.parent, []).append(record)
    for siblings in children.values():
        siblings.sort(key=lambda r: (not r.is_provider, r.custom, r.type, r.name))
    rows: list[TreeRow] = []

    def walk(record: Record, prefix: str, last: bool, depth: int) -> None:
        branch = "" if depth == 0 else prefix + ("└─ " if last else "├─ ")
        rows.append(TreeRow(branch + record.type, record.name, _info(record), operation(record)[1]))
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
    protected: int = 0
    retained: int = 0
    reads: int = 0
    """Of ``resources``, the ones read from elsewhere (stack references), not created."""


def summary(recording: Recording) -> PlanSummary:
    """Counts of a recording: resources by type and by datacenter, droplets and their vCPUs, protected ones."""
    resources = recording.resources
    droplets = recording.of_type(DROPLET_TYPE)
    return PlanSummary(
        resources=len(resources),
        by_type=dict(sorted(Counter(r.type for r in resources).items())),
        by_datacenter=dict(sorted(Counter(r.datacenter or "global" for r in resources).items())),
        droplets=len(droplets),
        vcpus=sum(vcpus(str(d.inputs.get("size", ""))) for d in droplets),
        protected=sum(r.options.protect for r in resources),
        retained=sum(r.options.retain_on_delete for r in resources),
        reads=sum(r.type == STACK_REFERENCE_TYPE for r in resources),
    )


# The CLI's step symbols (pulumi/pulumi pkg/resource/deploy/step.go, Op.Prefix: create "+", import "=", read ">").
_SYMBOLS: Final = {"create": "+", "import": "=", "read": ">"}


def render_tree(recording: Recording, out: TextIO) -> None:
    """Print the resource tree, each column as wide as its widest entry."""
    rows = _tree_rows(recording)
    type_width = max((len(r.type) for r in [*rows, TreeRow("Type", "", "")]), default=4)
    name_width = max((len(r.name) for r in [*rows, TreeRow("", "Name", "")]), default=4)
    print(f"     {'Type':<{type_width}}  {'Name':<{name_width}}  {'Plan':<6}  Info", file=out)
    for row in rows:
        mark = _SYMBOLS[row.plan]
        line = f" {mark}   {row.type:<{type_width}}  {row.name:<{name_width}}  {row.plan:<6}  {row.info}"
        print(line.rstrip(), file=out)


def render(recording: Recording, out: TextIO, *, tree: bool = True) -> None:
    """Print the tree (unless ``tree`` is false) and the counts."""
    if tree:
        render_tree(recording, out)
        print(file=out)
    facts = summary(recording)
    extra = len(recording) - facts.resources
    reads = f", {facts.reads} to read" if facts.reads else ""
    print(
        f"Resources: {facts.resources - facts.reads} to create{reads} (plus {extra} for the stack and its providers)",
        file=out,
    )
    print(
        f"Protected: {facts.protected} (a delete fails until unprotected); retained on delete: {facts.retained}",
        file=out,
    )
    print("\nBy type:", file=out)
    for type_, count in facts.by_type.items():
        print(f"  {count:>5}  {type_}", file=out)
    print("\nBy datacenter:", file=out)
    for dc, count in facts.by_datacenter.items():
        print(f"  {count:>5}  {dc}", file=out)
    print(f"\nDroplets: {facts.droplets}, total vCPUs: {facts.vcpus}", file=out)


@dataclass(frozen=True)
class PolicyResult:
    """The policy pack's verdict on a recording."""

    rules: int
    violations: list[Any] = field(default_factory=list)
    exempted: list[Any] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Any]:
        """The violations that stop a deployment."""
        return [v for v in self.violations if v.enforcement == "mandatory"]

    @property
    def advisory(self) -> list[Any]:
        """The violations reported but not blocking."""
        return [v for v in self.violations if v.enforcement != "mandatory"]

    def of_status(self, status: str) -> list[Any]:
        """Exemptions of one status (``waived``, ``accepted``, ``unverified``)."""
        return [e for e in self.exempted if e.status == status]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the verdict."""
        return {
            "rules": self.rules,
            "mandatory": len(self.mandatory),
            "advisory": len(self.advisory),
            "violations": [
                {"rule": v.rule, "enforcement": v.enforcement, "urn": v.urn, "message": v.message}
                for v in self.violations
            ],
            "exempted": [
                {"rule": e.rule, "status": e.status, "urn": e.urn, "message": e.message, "by": e.waiver}
                for e in self.exempted
            ],
        }


def policy_result(recording: Recording) -> PolicyResult:
    """Run the policy pack's rules over the records."""
    from policy.offline import check
    from policy.rules import RULES

    violations, exempted = check(recording)
    return PolicyResult(len(RULES), violations, exempted)


def print_policy(result: PolicyResult, out: TextIO) -> None:
    """Print the verdict: mandatory and advisory violations, then one line each for accepted and waived findings."""
    from policy.offline import format_report

    print(f"\nPolicy (the CrossGuard pack in policy/, {result.rules} rules, run over these records):", file=out)
    print(format_report(result.violations), file=out)
    if result.advisory:
        print(f"  advisory findings are reported, not blocking ({len(result.advisory)} above)", file=out)
    accepted = Counter(e.waiver for e in result.of_status("accepted"))
    if accepted:
        ids = ", ".join(f"{waiver} ({count})" for waiver, count in sorted(accepted.items()))
        print(
            f"  {sum(accepted.values())} advisory finding(s) accepted on purpose: {ids}; reasons in ACCEPTED, "
            "policy/rules/base.py",
            file=out,
        )
    waived = result.of_status("waived")
    print(f"  {len(waived)} finding(s) waived by documented exceptions (EXCEPTIONS, policy/rules/base.py)", file=out)


def report_policy(recording: Recording, out: TextIO) -> int:
    """Run the policy pack's rules over the records, print the result, and return the mandatory count."""
    result = policy_result(recording)
    print_policy(result, out)
    return len(result.mandatory)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m offline.plan",
        description="Offline plan of a stack: the real program under mocked providers, then the policy pack.",
        epilog="Exit codes: 0 planned, 1 the program failed, 2 bad configuration or arguments, 3 a mandatory "
        "policy violation.",
    )
    parser.add_argument("--stack", default="staging", help="stack to plan: prod or staging (default staging)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="write the records and the policy result as JSON")
    output.add_argument("--summary", action="store_true", help="counts and policy result only, no resource tree")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value for this plan only, like `pulumi config set` (repeatable); for an array "
        "key the value is JSON: --set 'adminCidrs=[\"192.0.2.0/24\"]'",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--traceback", action="store_true", help="when the program fails, show where")
    parser.add_argument(
        "--stack-dir",
        type=Path,
        default=PROJECT_ROOT,
        metavar="DIR",
        help="directory holding the stack files (default: the repository); the program and Pulumi.yaml are "
        "always the repository's",
    )
    return parser


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _overrides(items: Sequence[str]) -> dict[str, str] | str:
    overrides: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            return f"--set expects KEY=VALUE, got {item!r}"
        if key in overrides:
            return f"--set gives {key} twice; give each key once"
        overrides[key] = value
    return overrides


def _shown_overrides(overrides: Mapping[str, str]) -> str:
    schema = config_schema()
    shown = []
    for key, value in overrides.items():
        spec = schema.get(key.removeprefix("psf-infra:"))
        shown.append(f"{key} = {'[secret]' if spec is not None and spec.secret else repr(value)}")
    return ", ".join(shown)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (see the module docstring)."""
    args = _parser().parse_args(argv)
    overrides = _overrides(args.set)
    if isinstance(overrides, str):
        _error(overrides)
        return EXIT_CONFIG

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"plan: {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    # The whole configuration is checked before the (slow) evaluation, the same way the program checks it,
    # so a mistake costs a second and is the first line on stderr.
    try:
        from stacks.settings import settings_for_stack

        config, _ = program_config(args.stack, overrides, root=args.stack_dir)
        settings_for_stack(args.stack, config, project_dir=args.stack_dir)
    except CONFIG_ERRORS as exc:
        _error(str(exc))
        return EXIT_CONFIG
    progress(f"evaluating the program for stack {args.stack!r} under mocked providers...")
    try:
        recording = record_stack(args.stack, overrides, root=args.stack_dir)
    except CONFIG_ERRORS as exc:
        _error(str(exc))
        return EXIT_CONFIG
    except ProgramFailedError as failed:
        if isinstance(failed.cause, CONFIG_ERRORS):
            _error(str(failed.cause))
            return EXIT_CONFIG
        if args.traceback:
            traceback.print_exception(failed.cause, file=sys.stderr)
        cause = " ".join(str(failed.cause).split())
        _error(
            f"the program failed ({type(failed.cause).__name__}: {cause}); this is not a configuration error the "
            "settings know of. Rerun with --traceback to see where."
        )
        return EXIT_PROGRAM
    elapsed = time.perf_counter() - started
    progress(f"recorded {len(recording.resources)} resources in {elapsed:.1f} s; running the policy pack...")
    # What follows allocates little that outlives it; with the collector on, it would set off a full
    # collection over the SDKs' modules for nothing (see collector_paused).
    with collector_paused():
        result = policy_result(recording)
        if args.json:
            document = recording.to_json() | {"overrides": overrides, "policy": result.to_json()}
            json.dump(document, sys.stdout, indent=2, sort_keys=False)
            print()
        else:
            _report(args, overrides, recording, result, started, elapsed)
    if result.mandatory:
        _error(f"{len(result.mandatory)} mandatory policy violation(s); `pulumi up --policy-pack policy` would refuse")
        return EXIT_MANDATORY
    return EXIT_OK


def _report(
    args: argparse.Namespace,
    overrides: Mapping[str, str],
    recording: Recording,
    result: PolicyResult,
    started: float,
    elapsed: float,
) -> None:
    """Write the plan: header, overrides, tree, counts, outputs and the policy result."""
    print(f"Offline plan of stack '{args.stack}' (project psf-infra)")
    print(BANNER)
    if overrides:
        print(f"Config overrides in effect (--set, this plan only): {_shown_overrides(overrides)}")
    print()
    render(recording, sys.stdout, tree=not args.summary)
    stack_record = next((r for r in recording.records if r.type == STACK_TYPE), None)
    if stack_record is not None and recording.stack_outputs:
        print("\nOutputs: " + ", ".join(sorted(recording.stack_outputs)))
    print_policy(result, sys.stdout)
    print(f"\nElapsed: {time.perf_counter() - started:.2f} s (evaluation {elapsed:.2f} s; offline, mocked providers)")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # `... --json | head` closed the pipe early; that is the reader's choice, not an error.
        sys.stderr.close()
        sys.exit(0)
    except KeyboardInterrupt:
        print("plan: interrupted", file=sys.stderr)
        sys.exit(130)
