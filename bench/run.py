"""The benchmark: the program's own cost, side by side with the cost of merely importing the Pulumi SDKs.

    python -m bench.run                  # 5 runs of each process (3 of the test suite); updates docs/performance.md
    python -m bench.run --runs 9         # more runs, steadier medians
    python -m bench.run --quick          # 2 runs each, 1 of the suite: a smoke check, written nowhere
    python -m bench.run --no-write       # print the results only
    python -m bench.run --json out.json  # also write every sample as JSON
    python -m bench.run --check          # exit 1 when a target is missed

Every measurement is a whole, fresh process, as an operator or CI would run it, so it includes interpreter
start-up, imports and exit. The processes are run round-robin (one of each per round, after one untimed
warm-up round that fills the bytecode caches), so a change in machine load spreads over all of them alike.
Children run with bytecode caching on even where ``PYTHONDONTWRITEBYTECODE`` is set, as in CI.
Each child's wall time is taken around its spawn and reaping; its CPU time and peak resident memory come from
the rusage :func:`os.wait4` returns for exactly that child. Plans write their output to /dev/null.

What is measured:

- **floor**: ``python -c "import pulumi, pulumi_digitalocean, pulumi_aws, pulumi_fastly, pulumi_datadog,
  pulumi_pagerduty, pulumiverse_gandi"``, the least any program on these SDKs pays (the PagerDuty and
  registrar SDKs are imported by the program whether or not a stack pages or opts a domain in);
- **plan prod**, **plan staging**: ``python -m offline.plan --stack <stack>``;
- **synthetic 10x**: ``python -m bench.synthetic``, thirty datacenters built by the real modules, planned
  the same way (see :mod:`bench.synthetic`);
- **test suite**: ``python -m pytest -q``.

The derived figures are checked against the targets of issue #8 (see :data:`TARGETS`), from the medians as
the issue defines them, with two cross-checks beside them: the same figures per round (each process against
the floor run in the same round) and from the fastest runs. Timings are wall clock on a possibly shared
machine: the report prints the load average before and after, and a noisy run should be repeated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Final

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
SDK_PACKAGES: Final = (
    "pulumi",
    "pulumi_digitalocean",
    "pulumi_aws",
    "pulumi_fastly",
    "pulumi_datadog",
    "pulumi_pagerduty",
    "pulumiverse_gandi",
)
COPIES: Final = 10
REPORT: Final = PROJECT_ROOT / "docs" / "performance.md"
RESULTS_START: Final = "<!-- bench:results:start (written by python -m bench.run) -->"
RESULTS_END: Final = "<!-- bench:results:end -->"


@dataclass(frozen=True)
class Target:
    """One of the issue's targets: a named figure and the most it may be."""

    name: str
    limit: float
    unit: str


# Issue #8: the plan costs at most 30% more than importing the SDKs; at most 3 ms per resource above that
# floor; ten times the datacenters costs at most 1.2 times as much per resource (12x for 10x); the suite
# runs in a minute on a 2-core machine.
TARGETS: Final = {
    "plan_over_floor": Target("plan(prod) / floor", 1.3, "x"),
    "per_resource_prod": Target("per resource above the floor, prod", 3.0, "ms"),
    "growth": Target("growth: per resource 10x / per resource prod", 1.2, "x"),
    "suite": Target("whole test suite", 60.0, "s"),
}


@dataclass(frozen=True)
class Job:
    """A process to measure."""

    key: str
    title: str
    argv: tuple[str, ...]
    keep_stdout: bool = False


@dataclass
class Sample:
    """One run of a job: wall and CPU seconds, the child's peak RSS in MiB, and its exit status."""

    wall: float
    cpu: float
    rss_mib: float
    status: int


@dataclass
class Series:
    """All runs of one job."""

    job: Job
    samples: list[Sample] = field(default_factory=list)

    def _stat(self, attr: str) -> list[float]:
        return [getattr(s, attr) for s in self.samples]

    @property
    def median(self) -> float:
        """Median wall time, seconds."""
        return statistics.median(self._stat("wall"))

    @property
    def cpu_median(self) -> float:
        """Median CPU time (user + system), seconds."""
        return statistics.median(self._stat("cpu"))

    @property
    def low(self) -> float:
        """Fastest run, seconds."""
        return min(self._stat("wall"))

    @property
    def high(self) -> float:
        """Slowest run, seconds."""
        return max(self._stat("wall"))

    @property
    def peak_rss(self) -> float:
        """Largest peak resident memory of any run, MiB."""
        return max(self._stat("rss_mib"))


def jobs(python: str, copies: int) -> list[Job]:
    """The processes the benchmark times, the suite last."""
    imports = ", ".join(SDK_PACKAGES)
    return [
        Job("floor", f"floor: import the {len(SDK_PACKAGES)} SDKs", (python, "-c", f"import {imports}")),
        Job("plan_prod", "plan prod", (python, "-m", "offline.plan", "--stack", "prod")),
        Job("plan_staging", "plan staging", (python, "-m", "offline.plan", "--stack", "staging")),
        Job(
            "synthetic",
            f"synthetic ({copies} copies of each datacenter)",
            (python, "-m", "bench.synthetic", "--copies", str(copies)),
        ),
        Job("suite", "test suite (pytest -q)", (python, "-m", "pytest", "-q"), keep_stdout=True),
    ]


def _child_environment() -> dict[str, str]:
    """This environment with bytecode caching on, as in CI or on a laptop.

    There the project's modules are compiled once, not in every run (the SDKs' are compiled when installed).
    """
    return {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def run_once(job: Job) -> Sample:
    """Run ``job`` as a child process, measured with :func:`os.wait4`.

    Standard output goes to /dev/null (the suite's to the file too: pytest reports failures there); standard
    error goes to an unlinked temporary file, read only to explain a failure. A file, not a pipe, so the
    child never waits on this process.
    """
    with tempfile.TemporaryFile() as output, open(os.devnull, "wb") as null:
        started = time.perf_counter()
        stdout = output if job.keep_stdout else null
        child = subprocess.Popen(job.argv, cwd=PROJECT_ROOT, stdout=stdout, stderr=output, env=_child_environment())
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        child.returncode = code  # reaped here; keep Popen from reaping it again
        if code != 0:
            output.seek(0)
            tail = output.read().decode(errors="replace").strip().splitlines()[-15:]
            raise RuntimeError(f"{job.title} exited {code}:\n" + "\n".join(tail))
    # Linux reports ru_maxrss in KiB.
    return Sample(wall=wall, cpu=usage.ru_utime + usage.ru_stime, rss_mib=usage.ru_maxrss / 1024, status=code)


def measure(todo: Sequence[Job], runs: dict[str, int], warmup: bool, log: bool = True) -> dict[str, Series]:
    """Run the jobs round-robin, ``runs[key]`` times each, after an optional untimed warm-up round."""
    series = {job.key: Series(job) for job in todo}
    if warmup:
        for job in todo:
            if job.key != "suite":
                run_once(job)
    for round_ in range(max(runs.values())):
        for job in todo:
            if round_ < runs[job.key]:
                sample = run_once(job)
                series[job.key].samples.append(sample)
                if log:
                    print(
                        f"  round {round_ + 1}: {job.title:<42} {sample.wall:7.2f} s  {sample.rss_mib:6.0f} MiB",
                        file=sys.stderr,
                    )
    return series


def resource_counts(copies: int) -> dict[str, int]:
    """Resources (not counting the stack and providers) of prod, staging and the synthetic estate.

    Counted in a child process, so this process never imports the SDKs and stays out of the measurements.
    """
    code = (
        "import json; from offline.recorder import record_stack; from bench.synthetic import record; "
        "print(json.dumps({'plan_prod': len(record_stack('prod').resources), "
        "'plan_staging': len(record_stack('staging').resources), "
        f"'synthetic': len(record({copies}).resources)}}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@dataclass(frozen=True)
class Derived:
    """The figures the targets are about, from one statistic of the runs (the median, or the fastest run)."""

    plan_over_floor: float
    per_resource_prod: float
    per_resource_staging: float
    per_resource_synthetic: float
    growth: float
    above_floor_ratio: float
    marginal: float
    suite: float | None

    def missed(self) -> list[str]:
        """Names of the targets this misses."""
        figures = {
            "plan_over_floor": self.plan_over_floor,
            "per_resource_prod": self.per_resource_prod,
            "growth": self.growth,
            "suite": self.suite,
        }
        return [key for key, value in figures.items() if value is not None and value > TARGETS[key].limit]


def derive(series: dict[str, Series], counts: dict[str, int], statistic: str = "median") -> Derived:
    """Ratios and per-resource costs (milliseconds above the floor, per resource) from ``statistic`` of the runs.

    ``statistic`` is ``median`` (the figures the targets are judged on) or ``low`` (the fastest runs: the
    least disturbed by other load, as a cross-check).
    """

    def time(key: str) -> float:
        return getattr(series[key], statistic)

    floor = time("floor")

    def per_resource(key: str) -> float:
        return (time(key) - floor) / counts[key] * 1000

    prod = per_resource("plan_prod")
    synthetic = per_resource("synthetic")
    extra = counts["synthetic"] - counts["plan_prod"]
    return Derived(
        plan_over_floor=time("plan_prod") / floor,
        per_resource_prod=prod,
        per_resource_staging=per_resource("plan_staging"),
        per_resource_synthetic=synthetic,
        growth=synthetic / prod,
        above_floor_ratio=(time("synthetic") - floor) / (time("plan_prod") - floor),
        marginal=(time("synthetic") - time("plan_prod")) / extra * 1000 if extra else float("nan"),
        suite=time("suite") if "suite" in series else None,
    )


def derive_paired(series: dict[str, Series], counts: dict[str, int]) -> Derived:
    """The median over rounds of each round's own figures, each process against the floor run beside it.

    A change in the machine's load between rounds then cancels out, where it pulls the plain medians apart.
    """
    keys = [key for key in series if key != "suite"]
    rounds = min(len(series[key].samples) for key in keys)
    per_round = [
        derive({key: Series(series[key].job, [series[key].samples[i]]) for key in keys}, counts) for i in range(rounds)
    ]
    medians = {
        f.name: statistics.median(getattr(d, f.name) for d in per_round) for f in fields(Derived) if f.name != "suite"
    }
    return Derived(**medians, suite=series["suite"].median if "suite" in series else None)


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    info = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }
    for package in SDK_PACKAGES:
        try:
            info[package] = metadata.version(package.replace("_", "-"))
        except metadata.PackageNotFoundError:
            info[package] = "not installed"
    return info


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def report(
    series: dict[str, Series],
    counts: dict[str, int],
    figures: Sequence[tuple[str, Derived]],
    info: dict[str, str],
    loads: tuple[str, str],
) -> str:
    """The results as Markdown: machine, every process, and the targets, judged on the first set of ``figures``.

    ``figures`` are (title, figures) columns: the medians the targets are judged on first, then cross-checks.
    """
    lines = ["### Machine", ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines += [f"- load average (1/5/15 min) before: {loads[0]}, after: {loads[1]}", ""]
    lines += [
        "### Processes",
        "",
        "| process | runs | resources | median s | min s | max s | median CPU s | peak RSS MiB |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key, s in series.items():
        count = str(counts[key]) if key in counts else ""
        lines.append(
            f"| {s.job.title} | {len(s.samples)} | {count} | {s.median:.2f} | {s.low:.2f} | {s.high:.2f} "
            f"| {s.cpu_median:.2f} | {s.peak_rss:.0f} |"
        )
    titles = " | ".join(title for title, _ in figures)
    lines += [
        "",
        "### Targets",
        "",
        f"| figure | {titles} | target | result |",
        "|---|" + "--:|" * len(figures) + "--:|---|",
    ]
    for key, target in TARGETS.items():
        values = [getattr(d, key) for _, d in figures]
        shown = " | ".join("not run" if v is None else f"{v:.2f} {target.unit}" for v in values)
        first = values[0]
        verdict = "-" if first is None else "pass" if first <= target.limit else "**FAIL**"
        lines.append(f"| {target.name} | {shown} | ≤ {target.limit:g} {target.unit} | {verdict} |")
    derived = figures[0][1]
    lines += [
        "",
        f"Per resource above the floor ({figures[0][0]}): prod {derived.per_resource_prod:.2f} ms, "
        f"staging {derived.per_resource_staging:.2f} ms, synthetic {derived.per_resource_synthetic:.2f} ms "
        f"({counts['synthetic'] / counts['plan_prod']:.1f}x prod's resources). "
        f"Time above the floor, synthetic / prod: {derived.above_floor_ratio:.1f}x. "
        f"Marginal cost of a resource, (synthetic - prod) / (extra resources): {derived.marginal:.2f} ms.",
    ]
    return "\n".join(lines)


def write_results(path: Path, results: str) -> None:
    """Put ``results`` between the result markers of ``path`` (docs/performance.md), keeping the prose around them."""
    text = path.read_text() if path.exists() else f"# Performance\n\n{RESULTS_START}\n{RESULTS_END}\n"
    start, end = text.find(RESULTS_START), text.find(RESULTS_END)
    if start < 0 or end < start:
        raise SystemExit(f"error: {path} has no {RESULTS_START} ... {RESULTS_END} markers to put the results between")
    path.write_text(text[: start + len(RESULTS_START)] + "\n" + results + "\n" + text[end:])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (with ``--check``, 1 when a target is missed)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description="Benchmark the program against the SDK import floor."
    )
    parser.add_argument("--runs", type=int, default=5, help="runs of each process (default 5)")
    parser.add_argument("--suite-runs", type=int, default=3, help="runs of the test suite (default 3; 0 skips it)")
    parser.add_argument("--quick", action="store_true", help="2 runs each, 1 of the suite, no warm-up: a smoke check")
    parser.add_argument(
        "--copies", type=int, default=COPIES, help=f"synthetic copies of each datacenter (default {COPIES})"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every sample and figure as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed (judged on medians)")
    parser.add_argument(
        "--no-write",
        action="store_true",
        help=f"print the results only; do not update {REPORT.relative_to(PROJECT_ROOT)}",
    )
    args = parser.parse_args(argv)
    runs, suite_runs, warmup = args.runs, args.suite_runs, True
    if args.quick:
        runs, suite_runs, warmup = 2, min(suite_runs, 1), False
    if runs < 1:
        parser.error("--runs must be at least 1")

    todo = [job for job in jobs(sys.executable, args.copies) if job.key != "suite" or suite_runs > 0]
    counts_runs = {job.key: (suite_runs if job.key == "suite" else runs) for job in todo}
    load_before = _load()
    print(f"benchmark: {runs} run(s) each, suite {suite_runs}; load {load_before}", file=sys.stderr)
    series = measure(todo, counts_runs, warmup)
    load_after = _load()
    counts = resource_counts(args.copies)
    derived = derive(series, counts)
    columns = [("medians", derived), ("paired rounds", derive_paired(series, counts))]
    columns.append(("fastest runs", derive(series, counts, "low")))
    info = machine()
    results = report(series, counts, columns, info, (load_before, load_after))
    print(results)
    if not (args.no_write or args.quick):
        write_results(REPORT, results)
        print(f"results written to {REPORT.relative_to(PROJECT_ROOT)}", file=sys.stderr)
    if args.json:
        data = {
            "machine": info,
            "load": {"before": load_before, "after": load_after},
            "counts": counts,
            "derived": {title: asdict(d) for title, d in columns},
            "samples": {key: [asdict(x) for x in s.samples] for key, s in series.items()},
        }
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    missed = derived.missed()
    if missed:
        print(f"targets missed (medians): {', '.join(missed)}", file=sys.stderr)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
