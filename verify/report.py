"""Results of a verify run: one row per host and check, shown as progress, a table and JSON."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO


class Status(enum.Enum):
    """A row's verdict. Only FAIL makes the run fail; SKIP says why a check could not apply."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Outcome:
    """What a check found: its verdict and one line saying why."""

    status: Status
    detail: str


def passed(detail: str) -> Outcome:
    """A passing outcome."""
    return Outcome(Status.PASS, detail)


def failed(detail: str) -> Outcome:
    """A failing outcome; ``detail`` names what was wrong and where."""
    return Outcome(Status.FAIL, detail)


def skipped(detail: str) -> Outcome:
    """A check that does not apply here; ``detail`` says why."""
    return Outcome(Status.SKIP, detail)


@dataclass(frozen=True)
class Check:
    """One check to run: its group (``dns``, ``https``, ``origins``, ``mail``), host, name and the probe."""

    group: str
    host: str
    name: str
    run: Callable[[], Outcome]


@dataclass(frozen=True)
class Result:
    """A finished check."""

    group: str
    host: str
    check: str
    status: Status
    detail: str
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "group": self.group,
            "host": self.host,
            "check": self.check,
            "status": self.status.value,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


def counts(results: Iterable[Result]) -> dict[Status, int]:
    """How many rows have each status."""
    found = dict.fromkeys(Status, 0)
    for result in results:
        found[result.status] += 1
    return found


def summary(stack: str, results: Sequence[Result], seconds: float) -> str:
    """The closing line: counts and elapsed time."""
    n = counts(results)
    return (
        f"verify {stack}: {n[Status.PASS]} passed, {n[Status.FAIL]} failed, {n[Status.SKIP]} skipped in {seconds:.1f}s"
    )


def progress_line(done: int, total: int, result: Result) -> str:
    """One line per finished check, written to stderr as the run goes."""
    width = len(str(total))
    return f"[{done:>{width}}/{total}] {result.status.value:4}  {result.host}  {result.check}: {result.detail}"


def table(results: Sequence[Result], *, width: int = 110) -> str:
    """A pass/fail table per host and check; failures first, then by host and check."""
    order = {Status.FAIL: 0, Status.SKIP: 1, Status.PASS: 2}
    rows = sorted(results, key=lambda r: (order[r.status], r.host, r.check))
    host_w = max([len("host"), *(len(r.host) for r in rows)])
    check_w = max([len("check"), *(len(r.check) for r in rows)])
    lines = [f"{'host':<{host_w}}  {'check':<{check_w}}  result  detail"]
    lines.append(f"{'-' * host_w}  {'-' * check_w}  ------  {'-' * 6}")
    room = max(20, width - host_w - check_w - 12)
    for r in rows:
        detail = r.detail if len(r.detail) <= room or r.status is Status.FAIL else r.detail[: room - 3] + "..."
        lines.append(f"{r.host:<{host_w}}  {r.check:<{check_w}}  {r.status.value:<6}  {detail}")
    return "\n".join(lines)


def write_json(stack: str, results: Sequence[Result], seconds: float, out: TextIO) -> None:
    """The run as one JSON document: counts and every row."""
    n = counts(results)
    json.dump(
        {
            "stack": stack,
            "ok": n[Status.FAIL] == 0,
            "passed": n[Status.PASS],
            "failed": n[Status.FAIL],
            "skipped": n[Status.SKIP],
            "seconds": round(seconds, 3),
            "results": [r.to_json() for r in results],
        },
        out,
        indent=2,
    )
    out.write("\n")
