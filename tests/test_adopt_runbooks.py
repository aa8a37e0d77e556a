"""The adoption runbooks (docs/runbooks/): current with the program, one per service and zone, in the right order."""

from __future__ import annotations

import re

import pytest

from adopt import runbook
from offline.recorder import Recording

REGENERATE = "make runbooks"


@pytest.fixture(scope="module")
def pages(prod: Recording) -> dict[str, str]:
    return runbook.render(prod)


def test_the_committed_runbooks_are_current(pages: dict[str, str]) -> None:
    committed = {p.name: p.read_text(encoding="utf-8") for p in runbook.OUT.glob("*.md")}
    assert sorted(committed) == sorted(pages), f"docs/runbooks/ has other pages than the program's: run {REGENERATE}"
    stale = [name for name, text in pages.items() if committed[name] != text]
    assert not stale, f"stale runbooks {stale}: run {REGENERATE}"


def test_one_runbook_per_zone_and_per_service(prod: Recording, pages: dict[str, str]) -> None:
    zones = {str(z.inputs["name"]) for z in prod.of_type("aws:route53/zone:Zone")}
    assert {runbook.zone_filename(z) for z in zones} <= set(pages)
    for zone in zones:
        assert f"({runbook.zone_filename(zone)})" in pages[runbook.INDEX]
    services = [n for n in pages if n.startswith("service-")]
    assert services and all(f"({n})" in pages[runbook.INDEX] for n in services)


def test_monitoring_comes_first_and_dns_last(pages: dict[str, str]) -> None:
    index = pages[runbook.INDEX]
    assert index.index("Monitoring") < index.index("Services:") < index.index("DNS:")
    assert index.index("## Services") < index.index("## Zones (last)")
    for name, text in pages.items():
        if name.startswith("service-"):
            assert text.index("## 1. Monitoring first") < text.index("## 3. Import")


@pytest.mark.parametrize("kind", ["service-", "zone-"])
def test_every_step_says_how_to_roll_back_or_verify(pages: dict[str, str], kind: str) -> None:
    for name, text in pages.items():
        if not name.startswith(kind):
            continue
        steps = re.split(r"\n## ", text)[1:]
        assert len(steps) >= 5, name
        for step in steps:
            title = step.splitlines()[0]
            assert "Roll back" in step or "make verify" in step or "Verify" in title, f"{name}: {title}"


def test_a_zone_runbook_names_the_programs_own_facts(prod: Recording, pages: dict[str, str]) -> None:
    text = pages[runbook.zone_filename("python.org")]
    assert "`python-org-zone`" in text and "`psf-prod-zones`" in text
    assert "make cutover STACK=prod ZONE=python.org" in text
    zone = next(z for z in prod.of_type("aws:route53/zone:Zone") if z.inputs["name"] == "python.org")
    assert zone.urn in text
    assert "remove its DS record at the registrar first" in text  # the program signs python.org


def test_a_service_runbook_lists_its_import_keys_and_ttls(pages: dict[str, str]) -> None:
    text = pages[runbook.service_filename("docs")]
    monitoring = text.split("## 1. Monitoring first")[1].split("\n## ")[0]
    assert "`docs-monitors-https-docs.python.org`" in monitoring
    assert "| `docs.python.org` | CNAME | 3600 |" in text
    assert "`nyc1-docs-edge-vcl`" in text.split("## 3. Import")[1]
