"""One verify run: expectations in, checks chosen and run in parallel, results out."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Final

from offline.recorder import Recording
from verify.dnscheck import DnsChecks, DnsOptions
from verify.expect import DEFAULT_MIN_DAYS, Expectations, expectations
from verify.net import NetOptions, Network, NetworkError
from verify.report import Check, Result, Status, failed, skipped
from verify.web import WebChecks

GROUPS: Final = ("dns", "https", "origins", "mail")
# The check names rows start with; --check takes a group or one of these.
CHECKS: Final = (
    "delegation", "dnssec", "record", "mx", "spf", "dmarc",
    "tls", "hsts", "status", "http redirect",
    "closed", "token",
    "smtp banner",
)  # fmt: skip


@dataclass(frozen=True)
class RunOptions:
    """What to check and how. ``only``: host globs; ``checks``: groups or check-name prefixes."""

    net: NetOptions = field(default_factory=NetOptions)
    dns: DnsOptions = field(default_factory=DnsOptions)
    only: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    min_days: int = DEFAULT_MIN_DAYS
    parallel: int = 16


def plan(expected: Expectations, net: Network, options: RunOptions) -> list[Check]:
    """Every row the run will report, filtered by ``only`` and ``checks``."""
    rows = [Check("outputs", host, "stack outputs", lambda p=problem: failed(p)) for host, problem in expected.problems]
    rows += [Check("notes", host, "not checked", lambda n=note: skipped(n)) for host, note in expected.notes]
    rows += DnsChecks(net, expected, options.dns).checks()
    rows += WebChecks(net, expected).checks()
    return [r for r in rows if _selected(r, options)]


def _selected(row: Check, options: RunOptions) -> bool:
    if options.only and not any(fnmatch.fnmatchcase(row.host, pattern.lower()) for pattern in options.only):
        return False
    if row.group in ("outputs", "notes"):
        return True
    return not options.checks or any(row.group == c or row.name.startswith(c) for c in options.checks)


def _run_one(check: Check) -> Result:
    start = time.monotonic()
    try:
        outcome = check.run()
    except NetworkError as exc:
        outcome = failed(str(exc))
    except Exception as exc:  # a bug in a check must cost one row, never the run or a traceback
        outcome = failed(f"the check itself failed: {type(exc).__name__}: {exc}")
    return Result(check.group, check.host, check.name, outcome.status, outcome.detail, time.monotonic() - start)


def execute(
    checks: Sequence[Check], *, parallel: int = 16, progress: Callable[[int, int, Result], None] | None = None
) -> list[Result]:
    """Run ``checks`` on a thread pool; ``progress`` hears of each as it finishes. Results in plan order."""
    results: dict[int, Result] = {}
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = {pool.submit(_run_one, check): i for i, check in enumerate(checks)}
        for done, future in enumerate(as_completed(futures), start=1):
            result = future.result()
            results[futures[future]] = result
            if progress is not None:
                progress(done, len(checks), result)
    return [results[i] for i in range(len(checks))]


def verify(
    recording: Recording,
    outputs: Mapping[str, Any],
    options: RunOptions,
    *,
    progress: Callable[[int, int, Result], None] | None = None,
) -> list[Result]:
    """Check the deployed stack that ``recording`` describes and ``outputs`` locates."""
    expected = expectations(recording, outputs, min_days=options.min_days)
    net = Network(options.net)
    return execute(plan(expected, net, options), parallel=options.parallel, progress=progress)


def failures(results: Iterable[Result]) -> list[Result]:
    """The failed rows."""
    return [r for r in results if r.status is Status.FAIL]
