"""``python -m verify.registration --stack prod``: how long each domain's registration has left, from RDAP.

Datadog cannot read a registrar, and an expired registration takes a domain off the internet whatever the
zones say, so the drift workflow asks the registries directly. RDAP (RFC 9083) is the registries' JSON
successor of whois: ``GET <server>/domain/<name>`` answers with the domain's events, among them its
``expiration``. By default the lookups go to rdap.org, which redirects each one to the registry's own RDAP
server as IANA's bootstrap file lists it (RFC 9224); ``--rdap`` names another server (a registry's, or a
local one in the tests).

The domains are the ones the stack's own zones say the registrar delegates (the zone tag ``delegated-by:
registrar``): every registered domain of prod, whether or not ``registrarDomains`` manages it at Gandi.
A stack whose zones are all delegated by another stack (staging) registers nothing and has nothing to check.

Exit status: 0 when every registration has at least ``--min-days`` left, 1 when one has fewer, has no
expiration date, or cannot be looked up; 2 when the run cannot start (a bad option, a stack that does not
evaluate).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from verify.report import Outcome, Result, Status, failed, passed, summary, table, write_json

ZONE: Final = "aws:route53/zone:Zone"
DELEGATED_BY_TAG: Final = "delegated-by"
REGISTRAR: Final = "registrar"
DEFAULT_RDAP: Final = "https://rdap.org/"
# A month: long enough to renew by hand (and for a registrar's auto-renewal to have visibly failed); the
# NixOS estate alerts at the same 30 days.
DEFAULT_MIN_DAYS: Final = 30
RDAP_MEDIA_TYPE: Final = "application/rdap+json"
GROUP: Final = "registration"

Fetch = Callable[[str], Mapping[str, Any]]


class RdapError(Exception):
    """An RDAP lookup that did not produce a domain object; the message says what happened."""


def registered_domains(recording: Any) -> list[str]:
    """The domains whose zones the registrar delegates, from a recording of the stack, sorted."""
    found = set()
    for zone in recording.of_type(ZONE):
        tags = zone.inputs.get("tags") or {}
        if isinstance(tags, Mapping) and tags.get(DELEGATED_BY_TAG) == REGISTRAR:
            found.add(str(zone.inputs["name"]))
    return sorted(found)


def http_fetch(server: str, timeout: float) -> Fetch:
    """A fetcher for ``<server>/domain/<name>`` over HTTP(S), following redirects (rdap.org answers 302)."""
    base = server if server.endswith("/") else server + "/"

    def fetch(domain: str) -> Mapping[str, Any]:
        request = urllib.request.Request(
            f"{base}domain/{domain}", headers={"Accept": f"{RDAP_MEDIA_TYPE}, application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            reason = "no such domain at the registry's RDAP server" if exc.code == 404 else exc.reason
            raise RdapError(f"RDAP answered HTTP {exc.code} ({reason})") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RdapError(f"RDAP lookup failed: {reason}") from None
        try:
            document = json.loads(body)
        except ValueError:
            raise RdapError("RDAP answered something that is not JSON") from None
        if not isinstance(document, Mapping):
            raise RdapError("RDAP answered JSON that is not an object")
        return document

    return fetch


def expiration(document: Mapping[str, Any]) -> dt.datetime | None:
    """The ``expiration`` event's date of an RDAP domain object (RFC 9083 4.5), as an aware datetime."""
    for event in document.get("events") or ():
        if isinstance(event, Mapping) and event.get("eventAction") == "expiration":
            text = str(event.get("eventDate", ""))
            try:
                when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
            return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)
    return None


def registrar_name(document: Mapping[str, Any]) -> str | None:
    """The registrar's name: the ``fn`` of the entity whose roles include ``registrar`` (jCard, RFC 7095)."""
    for entity in document.get("entities") or ():
        if not isinstance(entity, Mapping) or REGISTRAR not in (entity.get("roles") or ()):
            continue
        card = entity.get("vcardArray")
        if isinstance(card, list) and len(card) == 2 and isinstance(card[1], list):
            for item in card[1]:
                if isinstance(item, list) and len(item) == 4 and item[0] == "fn":
                    return str(item[3])
    return None


def check(domain: str, fetch: Fetch, *, now: dt.datetime, min_days: int) -> Outcome:
    """One domain's verdict: its expiry is at least ``min_days`` away."""
    try:
        document = fetch(domain)
    except RdapError as exc:
        return failed(f"{exc}: its expiry is not watched")
    if str(document.get("ldhName", domain)).lower().rstrip(".") != domain:
        return failed(f"RDAP answered for {document.get('ldhName')!r}, not {domain}")
    expires = expiration(document)
    registrar = registrar_name(document)
    at = f" (registrar {registrar})" if registrar else ""
    if expires is None:
        return failed(f"RDAP gives no expiration date{at}: its expiry is not watched")
    days = (expires - now).days
    date = f"{expires:%Y-%m-%d}"
    if expires <= now:
        return failed(f"the registration expired on {date}{at}: renew it at the registrar now")
    if days < min_days:
        return failed(f"the registration expires on {date}, in {days} days{at}: renew it at the registrar")
    return passed(f"registered until {date}, {days} days from now{at}")


def run(
    domains: Sequence[str], fetch: Fetch, *, min_days: int = DEFAULT_MIN_DAYS, now: dt.datetime | None = None
) -> list[Result]:
    """Check every domain (a few at a time: registries rate-limit RDAP); results in the order given."""
    moment = now or dt.datetime.now(dt.UTC)

    def one(domain: str) -> Result:
        start = time.monotonic()
        outcome = check(domain, fetch, now=moment, min_days=min_days)
        return Result(GROUP, domain, "expiry", outcome.status, outcome.detail, time.monotonic() - start)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, domains))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m verify.registration",
        description="Check how long each domain the stack registers has before its registration expires (RDAP).",
    )
    parser.add_argument("--stack", required=True, help="the stack whose registered domains to check (prod)")
    parser.add_argument("--rdap", default=DEFAULT_RDAP, help=f"RDAP server to ask (default {DEFAULT_RDAP})")
    parser.add_argument(
        "--min-days",
        type=int,
        default=DEFAULT_MIN_DAYS,
        help=f"days a registration must have left ({DEFAULT_MIN_DAYS})",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per lookup (default 10)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Look the stack's registered domains up; print a table (or JSON); return the exit status."""
    args = _parser().parse_args(argv)
    if args.min_days < 1:
        print(f"verify.registration: --min-days {args.min_days} is invalid: must be 1 or more", file=sys.stderr)
        return 2
    if not 0 < args.timeout <= 120:
        print(
            f"verify.registration: --timeout {args.timeout} is invalid: must be more than 0, at most 120",
            file=sys.stderr,
        )
        return 2
    if not args.rdap.startswith(("https://", "http://")):
        print(f"verify.registration: --rdap {args.rdap!r} is invalid: must be an http(s) URL", file=sys.stderr)
        return 2
    from offline.recorder import ProgramFailedError, record_stack

    try:
        recording = record_stack(args.stack)
    except FileNotFoundError as exc:
        print(f"verify.registration: {exc}", file=sys.stderr)
        return 2
    except ProgramFailedError as exc:
        print(
            f"verify.registration: the program does not evaluate for stack {args.stack}: {exc.cause}", file=sys.stderr
        )
        return 2
    domains = registered_domains(recording)
    start = time.monotonic()
    results = run(domains, http_fetch(args.rdap, args.timeout), min_days=args.min_days)
    seconds = time.monotonic() - start
    if args.json:
        write_json(args.stack, results, seconds, sys.stdout)
    elif not domains:
        print(f"verify.registration {args.stack}: the stack registers no domain (its zones are delegated by a stack)")
    else:
        print(table(results))
        print(summary(args.stack, results, seconds))
    return 1 if any(r.status is Status.FAIL for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
