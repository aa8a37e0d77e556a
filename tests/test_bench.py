"""The benchmark's own pieces: the synthetic estate is prod's shape repeated, and the runner's arithmetic.

No test here times anything; the benchmark itself is `python -m bench.run` (docs/performance.md).
"""

from __future__ import annotations

import ipaddress
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench import run, synthetic
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


def test_derived_figures_come_from_medians_above_the_floor() -> None:
    series = {
        "floor": _series("floor", 4.0, 5.0, 9.0),
        "plan_prod": _series("plan_prod", 6.0, 6.0, 1.0),
        "plan_staging": _series("plan_staging", 5.5),
        "synthetic": _series("synthetic", 15.0),
    }
    counts = {"plan_prod": 500, "plan_staging": 250, "synthetic": 5000}
    derived = run.derive(series, counts)
    assert derived.plan_over_floor == pytest.approx(6.0 / 5.0)
    assert derived.per_resource_prod == pytest.approx(2.0)  # (6 - 5) s / 500 resources
    assert derived.per_resource_synthetic == pytest.approx(2.0)  # (15 - 5) s / 5000
    assert derived.growth == pytest.approx(1.0)
    assert derived.above_floor_ratio == pytest.approx(10.0)
    assert derived.marginal == pytest.approx(2.0)  # (15 - 6) s / 4500 extra resources
    assert derived.suite is None
    assert derived.missed() == []
    fastest = run.derive(series, counts, "low")
    assert fastest.plan_over_floor == pytest.approx(1.0 / 4.0)
    report = run.report(series, counts, [("medians", derived), ("fastest", fastest)], {"cpu": "test"}, ("0", "0"))
    assert "| plan(prod) / floor | 1.20 x | 0.25 x | ≤ 1.3 x | pass |" in report
    slow = run.derive({**series, "plan_prod": _series("plan_prod", 7.0)}, counts)
    assert slow.missed() == ["plan_over_floor", "per_resource_prod"]


def test_paired_figures_compare_each_round_with_its_own_floor() -> None:
    # The machine slows down in round 2: the plain medians drift apart, each round's own ratio does not.
    series = {
        "floor": _series("floor", 4.0, 8.0, 4.0),
        "plan_prod": _series("plan_prod", 5.0, 10.0, 5.0),
        "plan_staging": _series("plan_staging", 5.0, 10.0, 5.0),
        "synthetic": _series("synthetic", 14.0, 28.0, 14.0),
    }
    paired = run.derive_paired(series, {"plan_prod": 500, "plan_staging": 500, "synthetic": 5000})
    assert paired.plan_over_floor == pytest.approx(1.25)
    assert paired.per_resource_prod == pytest.approx(2.0)  # rounds 1 and 3: (5 - 4) s / 500
    assert paired.growth == pytest.approx(1.0)


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
