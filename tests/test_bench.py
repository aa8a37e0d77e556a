"""The benchmark's own pieces: the synthetic estate is prod's shape repeated, and the runner's arithmetic.

No test here times anything; the benchmark itself is `python -m bench.run` (docs/performance.md).
"""

from __future__ import annotations

import ast
import importlib.util
import ipaddress
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench import cli, run, synthetic
from offline.recorder import Recording
from policy.offline import check, evaluate, exemptions
from stacks.settings import Datacenter, parse_settings
from tests.test_settings import base


def prod_datacenters() -> dict[str, Datacenter]:
    """Prod's datacenters with their VPC ranges (the copies' ranges come from them)."""
    return {dc.name: dc for dc in parse_settings("prod", base("prod")).datacenters}


@pytest.fixture(scope="module")
def two_copies() -> Recording:
    return synthetic.record(copies=2)


def test_copies_of_a_datacenter_get_distinct_names_and_disjoint_networks() -> None:
    datacenters = prod_datacenters()
    copies = [synthetic.copy_of(dc, n) for dc in datacenters.values() for n in range(1, 11)]
    assert len({dc.name for dc in copies}) == 30
    assert synthetic.copy_of(datacenters["nyc1"], 7).name == "nyc1-07"
    networks = [ipaddress.ip_network(dc.vpc_cidr) for dc in copies]
    assert all(not a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])


def test_copy_of_refuses_more_copies_than_the_range_holds() -> None:
    with pytest.raises(ValueError, match="at most 16 copies"):
        synthetic.copy_of(prod_datacenters()["ams1"], 17)


def test_each_copy_repeats_prods_datacenters_and_nothing_else(prod: Recording, two_copies: Recording) -> None:
    in_datacenters = [r for r in prod.resources if r.datacenter]
    # The global parts once, every datacenter resource twice, plus one bench-only parent per copy.
    assert len(two_copies.resources) == len(prod.resources) + len(in_datacenters) + 2
    assert len({r.urn for r in two_copies.records}) == len(two_copies.records)
    per_dc = Counter(r.datacenter for r in two_copies.resources)
    for dc, count in Counter(r.datacenter for r in in_datacenters).items():
        assert per_dc[f"{dc}-01"] == per_dc[f"{dc}-02"] == count
    assert per_dc[None] == len(prod.resources) - len(in_datacenters) + 2


def test_policy_check_is_evaluate_and_exemptions_in_one_pass(prod: Recording) -> None:
    assert check(prod) == (evaluate(prod), exemptions(prod))


def _series(key: str, *walls: float) -> run.Series:
    job = run.Job(key, key, ("true",))
    return run.Series(job, [run.Sample(wall=w, cpu=w, rss_mib=100.0, status=0) for w in walls])


def _all_series(**walls: tuple[float, ...]) -> dict[str, run.Series]:
    """Every measured job, each at ``walls[key]`` or, when not given, at the floor's times."""
    keys = ("floor", "floor_frozen", "plan_prod", "plan_staging", "synthetic", "cli_prod", "cli_staging")
    return {key: _series(key, *walls.get(key, walls["floor"])) for key in (*keys, "cli_synthetic")}


COUNTS = {"plan_prod": 500, "plan_staging": 250, "synthetic": 5000}
COUNTS |= {"cli_prod": 500, "cli_staging": 250, "cli_synthetic": 5000}


def test_derived_figures_come_from_medians_above_the_floor() -> None:
    series = _all_series(
        floor=(4.0, 5.0, 9.0),
        floor_frozen=(4.0,),
        plan_prod=(6.0, 6.0, 1.0),
        plan_staging=(5.5,),
        synthetic=(15.0,),
        cli_prod=(5.5,),
        cli_staging=(5.25,),
        cli_synthetic=(10.0,),
    )
    derived = run.derive(series, COUNTS)
    assert derived.plan_over_floor == pytest.approx(6.0 / 5.0)
    assert derived.per_resource_prod == pytest.approx(2.0)  # (6 - 5) s / 500 resources
    assert derived.per_resource_synthetic == pytest.approx(2.0)  # (15 - 5) s / 5000
    assert derived.growth == pytest.approx(1.0)
    assert derived.above_floor_ratio == pytest.approx(10.0)
    assert derived.marginal == pytest.approx(2.0)  # (15 - 6) s / 4500 extra resources
    assert derived.cli_over_floor == pytest.approx(1.1)
    assert derived.cli_per_resource_prod == pytest.approx(1.0)  # (5.5 - 5) s / 500
    assert derived.cli_per_resource_staging == pytest.approx(1.0)
    assert derived.cli_growth == pytest.approx(0.4)  # (10 - 4) s / 5000 over (5.5 - 4) s / 500
    assert derived.cli_over_floor_frozen == pytest.approx(5.5 / 4.0)
    assert derived.cli_per_resource_prod_frozen == pytest.approx(3.0)  # (5.5 - 4) s / 500
    assert derived.suite is None
    assert derived.missed() == []
    fastest = run.derive(series, COUNTS, "low")
    assert fastest.plan_over_floor == pytest.approx(1.0 / 4.0)
    report = run.report(series, COUNTS, [("medians", derived), ("fastest", fastest)], {"cpu": "test"}, ("0", "0"))
    assert "| plan(prod) / floor | 1.20 x | 0.25 x | ≤ 1.3 x | pass |" in report
    assert "| CLI(prod) / floor | 1.10 x | 1.38 x | ≤ 1.2 x | pass |" in report
    slow = run.derive({**series, "plan_prod": _series("plan_prod", 7.0), "cli_prod": _series("cli_prod", 6.5)}, COUNTS)
    assert slow.missed() == ["plan_over_floor", "per_resource_prod", "cli_over_floor"]


def test_report_is_well_formed_markdown() -> None:
    series = _all_series(
        floor=(5.0, 5.2), plan_prod=(6.0, 6.2), synthetic=(9.0, 9.5), cli_prod=(5.6, 5.8), cli_synthetic=(8.0, 8.5)
    )
    derived = run.derive(series, COUNTS)
    columns = [("medians", derived), ("paired rounds", run.derive_paired(series, COUNTS))]
    report = run.report(series, COUNTS, columns, {"cpu": "test", "cores": "2"}, ("1.00", "2.00"))
    tables: dict[str, list[list[str]]] = {}
    heading = ""
    for line in report.splitlines():
        if line.startswith("### "):
            heading = line.removeprefix("### ")
        elif line.startswith("|"):
            tables.setdefault(heading, []).append([cell.strip() for cell in line.strip("|").split("|")])
    assert set(tables) == {"Processes", "Targets"}
    for rows in tables.values():
        assert len({len(row) for row in rows}) == 1, rows  # every row as wide as the header
    assert [row[0] for row in tables["Processes"][2:]] == [s.job.title for s in series.values()]
    assert [row[0] for row in tables["Targets"][2:]] == [t.name for t in run.TARGETS.values()]
    assert "load average (1/5/15 min) before: 1.00, after: 2.00" in report
    assert "CLI path: prod" in report and "Peak memory (medians), floor 100 MiB" in report


def test_paired_figures_compare_each_round_with_its_own_floor() -> None:
    # The machine slows down in round 2: the plain medians drift apart, each round's own ratio does not.
    series = _all_series(
        floor=(4.0, 8.0, 4.0),
        plan_prod=(5.0, 10.0, 5.0),
        plan_staging=(5.0, 10.0, 5.0),
        synthetic=(14.0, 28.0, 14.0),
        cli_prod=(4.5, 9.0, 4.5),
        cli_synthetic=(9.0, 18.0, 9.0),
    )
    counts = COUNTS | {"plan_staging": 500, "cli_staging": 500}
    paired = run.derive_paired(series, counts)
    assert paired.plan_over_floor == pytest.approx(1.25)
    assert paired.per_resource_prod == pytest.approx(2.0)  # rounds 1 and 3: (5 - 4) s / 500
    assert paired.growth == pytest.approx(1.0)
    assert paired.cli_over_floor == pytest.approx(1.125)
    assert paired.cli_growth == pytest.approx(1.0)


def test_the_floor_imports_every_pulumi_sdk_in_the_requirements(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\npulumi>=3,<4\npulumi-aws>=7 ; python_version >= '3.11'\nPyYAML>=6\n")
    assert run.sdk_modules(requirements) == ("pulumi", "pulumi_aws")
    # Every Pulumi SDK the program's path imports is in the floor (and installed).
    modules = run.sdk_modules()
    imported: set[str] = set()
    for path in [
        run.PROJECT_ROOT / "__main__.py",
        *run.PROJECT_ROOT.glob("stacks/*.py"),
        *run.PROJECT_ROOT.glob("components/*.py"),
    ]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    sdks = {name for name in imported if name == "pulumi" or name.startswith(("pulumi_", "pulumiverse_"))}
    assert {"pulumi", "pulumi_aws", "pulumi_digitalocean"} <= sdks <= set(modules)
    assert all(importlib.util.find_spec(module) is not None for module in modules)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory, prod: Recording, staging: Recording) -> run.Prepared:
    """What run.prepare makes in a child process, made here from the session's recordings."""
    directory = tmp_path_factory.mktemp("bench")
    env = {stack: cli.write_references(stack, directory / f"references-{stack}.json") for stack in ("prod", "staging")}
    return run.Prepared(
        counts={"plan_prod": len(prod.resources), "plan_staging": len(staging.resources)},
        records={"cli_prod": len(prod), "cli_staging": len(staging), "cli_synthetic": 0},
        env=env,
        references={stack: directory / f"references-{stack}.json" for stack in ("prod", "staging")},
    )


def test_every_benchmark_command_names_something_that_runs(prepared: run.Prepared) -> None:
    found = run.jobs(sys.executable, 1, prepared)
    assert [job.key for job in found] == [
        "floor", "floor_frozen", "plan_prod", "plan_staging", "synthetic", "cli_prod", "cli_staging",
        "cli_synthetic", "suite",
    ]  # fmt: skip
    for job in found:
        assert job.argv[0] == sys.executable
        if job.argv[1] == "-m":
            assert importlib.util.find_spec(job.argv[2]) is not None, job.argv
        else:
            compile(job.argv[2], job.key, "exec")
    for job in found[5:8]:
        stack, program = job.argv[4], job.argv[7]
        assert (run.PROJECT_ROOT / program).exists() and Path(job.argv[6]).exists()
        assert json.loads(job.env["PULUMI_CONFIG"])["psf-infra:environment"] == stack
        assert job.registers is not None


def test_the_cli_path_runs_the_entry_point_and_registers_what_the_recorder_records(
    prepared: run.Prepared, staging: Recording
) -> None:
    # One real run (staging: it also reads prod's outputs through a stack reference). run_once fails unless
    # the harness reports exactly the recording's registrations.
    (job,) = [job for job in run.jobs(sys.executable, 1, prepared) if job.key == "cli_staging"]
    assert job.registers == len(staging)
    sample = run.run_once(job)
    assert sample.status == 0 and sample.rss_mib > 0


def test_run_once_measures_a_child_and_reports_its_failure() -> None:
    sample = run.run_once(run.Job("ok", "ok", (sys.executable, "-c", "x = bytearray(50 * 2**20)")))
    assert sample.wall > 0 and sample.rss_mib >= 50
    with pytest.raises(RuntimeError, match="exited 3"):
        run.run_once(run.Job("bad", "bad", (sys.executable, "-c", "import sys; print('why'); sys.exit(3)")))


def test_results_replace_only_the_marked_section(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nprose\n\n{run.RESULTS_START}\nold\n{run.RESULTS_END}\n\nmore prose\n")
    run.write_results(doc, "new table")
    assert doc.read_text() == (
        f"# Performance\n\nprose\n\n{run.RESULTS_START}\nnew table\n{run.RESULTS_END}\n\nmore prose\n"
    )
    (tmp_path / "bare.md").write_text("# no markers\n")
    with pytest.raises(SystemExit, match=r"no .* markers"):
        run.write_results(tmp_path / "bare.md", "x")
