"""``python -m verify --stack staging``: check a deployed stack from the outside (what ``make verify`` runs).

Exit status: 0 when every check passed or was skipped, 1 when any failed, 2 when the run could not start
(bad option, unreadable outputs, a stack that does not evaluate).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from verify.dnscheck import ROOT_TRUST_ANCHORS, DnsOptions, zone_key
from verify.expect import DEFAULT_MIN_DAYS
from verify.net import NO_RESOLVER, ConnectTo, NetOptions, parse_resolve, parse_server
from verify.outputs import OutputsError, from_cli, from_file
from verify.report import Result, Status, progress_line, summary, table, write_json
from verify.run import CHECKS, GROUPS, RunOptions, verify

MAX_TIMEOUT = 120.0
MAX_RETRIES = 10


class UsageError(Exception):
    """A bad option value; the message names the option, the value and what is allowed."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m verify",
        description="Check a deployed stack from the outside against what the program declares: DNS at every "
        "authoritative server, delegation, DNSSEC, certificates, HSTS, statuses, redirects, locked origins, SMTP.",
    )
    parser.add_argument("--stack", required=True, help="the stack to check (prod, staging)")
    parser.add_argument("--outputs", type=Path, help="JSON of `pulumi stack output --json` (default: run the CLI)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per network attempt (default 5)")
    parser.add_argument("--retries", type=int, default=1, help="extra attempts after a network error (default 1)")
    parser.add_argument("--parallel", type=int, default=16, help="checks run at once (default 16)")
    parser.add_argument(
        "--min-days", type=int, default=DEFAULT_MIN_DAYS, help="days a certificate must have left (default 14)"
    )
    parser.add_argument("--only", action="append", default=[], metavar="GLOB", help="only rows for hosts matching")
    parser.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="NAME",
        help="only these groups (dns, https, origins, mail) or checks (record, delegation, dnssec, tls, ...)",
    )
    parser.add_argument(
        "--resolve", action="append", default=[], metavar="HOST=ADDR[,ADDR]", help="use these addresses for HOST"
    )
    parser.add_argument(
        "--connect-to",
        action="append",
        default=[],
        metavar="HOST1:PORT1:HOST2:PORT2",
        help="send connections for HOST1:PORT1 to HOST2:PORT2 instead (as curl does)",
    )
    parser.add_argument(
        "--resolver", metavar="ADDR[:PORT]|none", help="recursive resolver for lookups (default: the system's)"
    )
    parser.add_argument(
        "--zone-ns", action="append", default=[], metavar="ZONE=NS[,NS]", help="name servers of a zone to use"
    )
    parser.add_argument(
        "--trust-anchor",
        action="append",
        default=[],
        metavar="ZONE=DS",
        help="a DS record ('KEYTAG ALG DIGESTTYPE DIGEST') where DNSSEC chains start (default: the root's)",
    )
    parser.add_argument("--ca-file", type=Path, help="trust these CA certificates (PEM) instead of the system's")
    parser.add_argument("--ipv6", action="store_true", help="also use IPv6 addresses (off: many CI runners lack it)")
    parser.add_argument(
        "--confine", action="append", default=[], metavar="CIDR", help="never connect outside these networks"
    )
    return parser


def _pairs(option: str, values: Sequence[str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        items = tuple(v.strip() for v in rest.split(",") if v.strip())
        if not sep or not key.strip() or not items:
            raise UsageError(f"{option} {value!r} is invalid: expected ZONE=VALUE[,VALUE...]")
        found.setdefault(zone_key(key), ())
        found[zone_key(key)] += items
    return found


def options_from(args: argparse.Namespace) -> RunOptions:
    """Validated run options from the parsed command line; :class:`UsageError` on the first bad value."""
    if not 0 < args.timeout <= MAX_TIMEOUT:
        raise UsageError(
            f"--timeout {args.timeout} is invalid: must be more than 0 and at most {MAX_TIMEOUT:g} seconds"
        )
    if not 0 <= args.retries <= MAX_RETRIES:
        raise UsageError(f"--retries {args.retries} is invalid: must be 0 to {MAX_RETRIES}")
    if not 1 <= args.parallel <= 64:
        raise UsageError(f"--parallel {args.parallel} is invalid: must be 1 to 64")
    for check in args.check:
        if check.strip().lower() not in (*GROUPS, *CHECKS):
            raise UsageError(f"--check {check!r} is invalid: must be one of {', '.join((*GROUPS, *CHECKS))}")
    if args.min_days < 0:
        raise UsageError(f"--min-days {args.min_days} is invalid: must be 0 or more")
    try:
        resolve = parse_resolve(args.resolve)
        connect_to = tuple(ConnectTo.parse(v) for v in args.connect_to)
        resolver: tuple[str, int] | None = None
        if args.resolver is not None:
            resolver = NO_RESOLVER if args.resolver == "none" else parse_server(args.resolver)
        confine = tuple(ipaddress.ip_network(c, strict=False) for c in args.confine)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.ca_file is not None and not args.ca_file.is_file():
        raise UsageError(f"--ca-file {args.ca_file} is invalid: no such file")
    anchors = _pairs("--trust-anchor", args.trust_anchor) if args.trust_anchor else dict(ROOT_TRUST_ANCHORS)
    for zone, texts in anchors.items():
        for text in texts:
            if len(text.split()) != 4 or not all(p.isdigit() for p in text.split()[:3]):
                raise UsageError(
                    f"--trust-anchor {zone}={text!r} is invalid: expected 'KEYTAG ALGORITHM DIGESTTYPE HEX'"
                )
    net = NetOptions(
        timeout=args.timeout,
        retries=args.retries,
        resolve=resolve,
        connect_to=connect_to,
        resolver=resolver,
        ca_file=args.ca_file,
        ipv6=args.ipv6,
        confine=confine,
    )
    return RunOptions(
        net=net,
        dns=DnsOptions(zone_ns=_pairs("--zone-ns", args.zone_ns), trust_anchors=anchors),
        only=tuple(args.only),
        checks=tuple(c.strip().lower() for c in args.check),
        min_days=args.min_days,
        parallel=args.parallel,
    )


def _outputs(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    if args.outputs is not None:
        return dict(from_file(args.outputs))
    return dict(from_cli(args.stack, cwd=root))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checks for one stack; print progress (stderr), a table or JSON (stdout); return the exit status."""
    args = _parser().parse_args(argv)
    from offline.recorder import PROJECT_ROOT, ProgramFailedError, record_stack

    try:
        options = options_from(args)
        outputs = _outputs(args, PROJECT_ROOT)
        recording = record_stack(args.stack)
    except (UsageError, OutputsError, FileNotFoundError) as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 2
    except ProgramFailedError as exc:
        print(f"verify: the program does not evaluate for stack {args.stack}: {exc.cause}", file=sys.stderr)
        return 2

    def progress(done: int, total: int, result: Result) -> None:
        if not args.quiet:
            print(progress_line(done, total, result), file=sys.stderr, flush=True)

    start = time.monotonic()
    results = verify(recording, outputs, options, progress=progress)
    seconds = time.monotonic() - start
    if args.json:
        write_json(args.stack, results, seconds, sys.stdout)
    else:
        print(table(results))
        print(summary(args.stack, results, seconds))
    return 1 if any(r.status is Status.FAIL for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
