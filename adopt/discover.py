"""``python -m adopt.discover --stack prod``: read the live accounts, write the import map and the report.

    make discover STACK=prod                       # every cloud, the stack's own credentials
    make discover STACK=prod ARGS="--only aws"     # one cloud (the map then holds only its entries)

Reads, read-only, with each cloud's official client: Route 53, KMS, S3 and IAM (boto3), droplets, volumes,
firewalls and VPCs (pydo), Fastly services and their domains (fastly), Datadog monitors and Synthetic tests
(datadog-api-client). Writes ``imports/<stack>.yaml`` (keeping its ``dropped:`` entries and top comments),
``build/discovery-<stack>.md`` (the report) and ``build/discovery-<stack>.json`` (the inventory, which
``make cutover`` can check offline). Progress goes to stderr.

Exit status: 0 when discovery ran (read the report: some matches may need a decision), 2 when it could not
(bad option, missing credential, an API refusing, a stack that does not evaluate): one line says why.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from adopt import credentials as creds
from adopt import importmap, report
from adopt.live import CLOUDS, Inventory, Live, Progress, ReadError
from adopt.match import Discovery, discover
from offline.recorder import PROJECT_ROOT, ProgramFailedError, Recording, program_config, record_stack

DATADOG_PROVIDER: Final = "pulumi:providers:datadog"
BUILD: Final = "build"


class UsageError(Exception):
    """A bad option; one line naming it, the value and what is allowed."""


@dataclass(frozen=True)
class Endpoints:
    """Where each API is (the real ones unless a test points a client at a local server)."""

    urls: Mapping[str, str] = field(default_factory=dict)
    ca_file: str | None = None

    def get(self, cloud: str, default: str | None = None) -> str | None:
        """The URL for ``cloud``, or ``default``."""
        return self.urls.get(cloud, default)


def datadog_host(recording: Recording) -> str:
    """The API host of the stack's Datadog site, as the program's own provider names it."""
    for record in recording.records:
        if record.type == DATADOG_PROVIDER and isinstance(url := record.inputs.get("apiUrl"), str) and url:
            return url.rstrip("/")
    from adopt import live_datadog

    return live_datadog.API


def read_cloud(
    cloud: str, credentials: creds.Credentials, recording: Recording, endpoints: Endpoints, progress: Progress
) -> list[Live]:
    """One cloud's live resources. The clients are imported here, so a run limited to one cloud needs only its own."""
    if cloud == "aws":
        from adopt import live_aws

        buckets = sorted(
            {str(r.inputs["bucket"]) for r in recording.of_type("aws:s3/bucket:Bucket") if r.inputs.get("bucket")}
        )
        roles = sorted({str(r.inputs["name"]) for r in recording.of_type("aws:iam/role:Role") if r.inputs.get("name")})
        session = live_aws.session(credentials)
        return live_aws.read(session, progress, buckets=buckets, roles=roles, endpoint=endpoints.get("aws"))
    if cloud == "digitalocean":
        from adopt import live_digitalocean

        client = live_digitalocean.client(
            credentials, endpoint=endpoints.get(cloud, live_digitalocean.API) or "", ca_file=endpoints.ca_file
        )
        return live_digitalocean.read(client, progress)
    if cloud == "fastly":
        from adopt import live_fastly

        with live_fastly.client(
            credentials, host=endpoints.get(cloud, live_fastly.API) or "", ca_file=endpoints.ca_file
        ) as client:
            return live_fastly.read(client, progress)
    if cloud == "datadog":
        from adopt import live_datadog

        with live_datadog.client(
            credentials, host=endpoints.get(cloud, datadog_host(recording)) or "", ca_file=endpoints.ca_file
        ) as client:
            return live_datadog.read(client, progress)
    raise UsageError(f"--only {cloud!r} is invalid: one of {', '.join(CLOUDS)}")


def groups(
    discovery: Discovery, importing: Callable[[str], bool] = lambda urn: True
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The import map's entries by type, sorted, for a file a reviewer can read.

    Only the matches ``importing`` accepts (by URN): the program refuses an entry for a resource whose part
    is not owned ``import`` (stacks/imports.py), so :func:`held_back` reports the others instead.
    """
    by_type: dict[str, list[tuple[str, str]]] = {}
    for match in discovery.matches:
        if importing(match.record.urn):
            by_type.setdefault(match.record.type, []).append((discovery.import_key(match.record), match.live.id))
    return [(type_, sorted(entries)) for type_, entries in sorted(by_type.items())]


def as_managed(stack: str, overrides: Mapping[str, Any] | None, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """``overrides`` with every ``import`` owner read as ``managed``: the stack discovery records.

    The program refuses a part owned ``import`` until the import map adopts its resources, which is what
    discovery is about to write; a managed part registers exactly the same resources, so its recording is the
    one to match against.
    """
    from stacks.settings import PROJECT

    config, _ = program_config(stack, overrides, root=root)
    entries = config.get(f"{PROJECT}:ownership") or []
    if isinstance(entries, str):
        entries = json.loads(entries)
    managed = [str(e).replace("=import", "=managed") if str(e).endswith("=import") else str(e) for e in entries]
    return {**(overrides or {}), "ownership": managed}


def importing_parts(
    recording: Recording, root: Path = PROJECT_ROOT, overrides: Mapping[str, Any] | None = None
) -> tuple[Callable[[str], bool], dict[str, str]]:
    """Which resources (by URN) the stack's ``ownership`` adopts, and each other matched part's hint.

    ``overrides``: the config changes ``recording`` was made with (:func:`offline.recorder.record_stack`).

    The owners are the stack's own settings, parsed as the program parses them; a resource's part is where
    the program places it (:func:`stacks.parts.parts_of_recording`). Types no provider can import are left
    out too (:data:`stacks.import_ids.NOT_IMPORTABLE`: created on adoption).
    """
    from stacks.import_ids import NOT_IMPORTABLE
    from stacks.ownership import Ownership
    from stacks.parts import parts_of_recording
    from stacks.settings import PROJECT, parse_settings

    config, _ = program_config(recording.stack, overrides, root=root)
    raw = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith(f"{PROJECT}:")}
    settings = parse_settings(recording.stack, raw)
    nodes = parts_of_recording(recording.records)
    types = {record.urn: record.type for record in recording.records}
    hints: dict[str, str] = {}

    def importing(urn: str) -> bool:
        node = nodes.get(urn)
        if node is None or node.part is None or types.get(urn) in NOT_IMPORTABLE:
            return False
        if settings.owner(node.part) is Ownership.IMPORT:
            return True
        hints[urn] = f"its part {node.part} is {settings.owner(node.part).value}: set ownership {node.part}=import"
        return False

    return importing, hints


def _clouds(only: Sequence[str]) -> tuple[str, ...]:
    wanted = [c.strip() for value in only for c in value.split(",") if c.strip()] or list(CLOUDS)
    for cloud in wanted:
        if cloud not in CLOUDS:
            raise UsageError(f"--only {cloud!r} is invalid: one of {', '.join(CLOUDS)}")
    return tuple(c for c in CLOUDS if c in wanted)


def _endpoints(values: Sequence[str], ca_file: Path | None) -> Endpoints:
    urls: dict[str, str] = {}
    for value in values:
        cloud, _, url = value.partition("=")
        if cloud not in CLOUDS or not url.startswith(("http://", "https://")):
            raise UsageError(f"--endpoint {value!r} is invalid: CLOUD=URL with CLOUD one of {', '.join(CLOUDS)}")
        urls[cloud] = url.rstrip("/")
    return Endpoints(urls, str(ca_file) if ca_file else None)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m adopt.discover", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stack", required=True, help="the stack whose accounts to read (prod, staging)")
    parser.add_argument("--only", action="append", default=[], metavar="CLOUD[,CLOUD]", help=f"of {', '.join(CLOUDS)}")
    parser.add_argument(
        "--credentials",
        default="auto",
        choices=creds.SOURCES,
        help="pulumi: `pulumi config get --show-secrets`; env: environment variables; auto (default): pulumi when the "
        "CLI is installed",
    )
    parser.add_argument("--map", type=Path, help="the import map to write (default imports/<stack>.yaml)")
    parser.add_argument("--report", type=Path, help="the Markdown report (default build/discovery-<stack>.md)")
    parser.add_argument("--json", type=Path, help="the inventory and outcome (default build/discovery-<stack>.json)")
    parser.add_argument("--dry-run", action="store_true", help="print the report; write nothing")
    parser.add_argument("--endpoint", action="append", default=[], metavar="CLOUD=URL", help="another API address")
    parser.add_argument("--ca-file", type=Path, help="trust these CA certificates for --endpoint servers")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def run(
    argv: Sequence[str] | None = None,
    *,
    root: Path = PROJECT_ROOT,
    recording: Recording | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> int:
    """The command; returns the exit status.

    ``recording``: the stack's, when the caller has it already, recorded as :func:`as_managed` would; the
    stack's ownership is read with the config ``overrides`` (tests).
    """
    args = _parser().parse_args(argv)
    progress = Progress(None if args.quiet else sys.stderr)
    started = time.monotonic()
    try:
        clouds = _clouds(args.only)
        endpoints = _endpoints(args.endpoint, args.ca_file)
        source = creds.resolve_source(args.credentials)
        if recording is None or recording.stack != args.stack:
            progress(f"discover {args.stack}: recording the program")
            recording = record_stack(args.stack, as_managed(args.stack, overrides, root), root=root)
        found: list[Live] = []
        described: dict[str, str] = {}
        for cloud in clouds:
            credentials = creds.load(cloud, args.stack, source, cwd=root)
            described[cloud] = credentials.source
            progress(f"{cloud}: credentials from {credentials.source}")
            found += read_cloud(cloud, credentials, recording, endpoints, progress)
        inventory = Inventory(tuple(found), clouds)
        map_path = args.map or importmap.path_for(args.stack, root)
        previous = importmap.load(map_path)
    except (UsageError, creds.CredentialsError, ReadError, importmap.ImportMapError, FileNotFoundError) as exc:
        print(f"discover: {exc}", file=sys.stderr)
        return 2
    except ProgramFailedError as exc:
        print(f"discover: stack {args.stack} does not evaluate: {exc.cause}", file=sys.stderr)
        return 2

    discovery = discover(recording, inventory)
    shown = map_path.relative_to(root) if map_path.is_relative_to(root) else map_path
    text = report.render(discovery, inventory, map_path=str(shown), credentials=described)
    importing, hints = importing_parts(recording, root, overrides)
    entries = groups(discovery, importing)
    if hints:
        text += "\n## Matched, not written to the import map\n\n" + "".join(
            f"- `{urn}`: {hint}\n" for urn, hint in sorted(hints.items())
        )
    if args.dry_run:
        sys.stdout.write(text)
        return 0
    report_path = args.report or root / BUILD / f"discovery-{args.stack}.md"
    json_path = args.json or root / BUILD / f"discovery-{args.stack}.json"
    for path in (map_path, report_path, json_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    map_path.write_text(importmap.render(args.stack, entries, previous), encoding="utf-8")
    report_path.write_text(text, encoding="utf-8")
    json_path.write_text(json.dumps(report.to_json(discovery, inventory), indent=2, sort_keys=True) + "\n")
    written = sum(len(e) for _, e in entries)
    print(
        f"discover {args.stack}: {len(discovery.matches)} matched, {written} of them in parts owned import -> "
        f"{shown}; {len(discovery.blocked)} cannot be "
        f"adopted in place; {len(discovery.ambiguous)} ambiguous; {len(discovery.undeclared)} live and undeclared; "
        f"{len(discovery.missing)} to create. Report: {report_path} ({time.monotonic() - started:.1f} s)"
    )
    return 0


def main() -> None:
    """Entry point of ``python -m adopt.discover``."""
    sys.exit(run())


if __name__ == "__main__":
    main()
