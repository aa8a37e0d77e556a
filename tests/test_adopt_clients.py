"""Discovery through pydo, Fastly's and Datadog's own clients, against recorded API answers on a local HTTPS server.

The answers (tests/adopt_responses/) are shaped as the DigitalOcean API v2 reference (droplets, volumes,
firewalls, VPCs: a list under the resource's name, ``links.pages`` and ``meta.total``), Fastly's API reference
(``GET /service``: service objects with their versions; ``GET /service/{id}/version/{n}/domain``) and
Datadog's v1 reference (``GET /api/v1/monitor``: a list of monitors; ``GET /api/v1/synthetics/tests``:
``{"tests": [...]}``) document them; the clients parse them into their own models, so a shape the client
would not accept fails here as it would against the real API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from adopt import discover
from offline.recorder import Recording
from tests.adopt_api import TOKENS, ApiServer, serve

CLOUDS = ("digitalocean", "fastly", "datadog")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    yield from serve(tmp_path)


# Prod's ownership with the parts the recorded API answers hold marked for adoption (a service's droplets need
# its datacenter's network adopted too): discovery writes only their resources into the import map.
ADOPTING = {
    "ownership": [
        "edge:pypi=external",
        "zone:pypi.org=external",
        "storage:pypi-files=external",
        "network:nyc1=import",
        "service:docs=import",
        "edge:docs=import",
        "edge:python-org=import",
        "monitors:mail=import",
        "monitors:python-org=import",
    ]
}


@pytest.fixture
def outcome(api: ApiServer, prod: Recording, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", TOKENS["digitalocean"])
    monkeypatch.setenv("FASTLY_API_KEY", TOKENS["fastly"])
    monkeypatch.setenv("DD_API_KEY", TOKENS["datadog_api"])
    monkeypatch.setenv("DD_APP_KEY", TOKENS["datadog_app"])
    argv = ["--stack", "prod", "--only", ",".join(CLOUDS), "--credentials", "env", "--quiet", "--ca-file", api.ca_file]
    argv += [arg for cloud in CLOUDS for arg in ("--endpoint", f"{cloud}={api.url}")]
    argv += [
        "--map",
        str(tmp_path / "prod.yaml"),
        "--report",
        str(tmp_path / "r.md"),
        "--json",
        str(tmp_path / "j.json"),
    ]
    status = discover.run(argv, recording=prod, overrides=ADOPTING)
    return {
        "status": status,
        "imports": yaml.safe_load((tmp_path / "prod.yaml").read_text())["imports"],
        "report": (tmp_path / "r.md").read_text(),
    }


def _section(report: str, title: str) -> str:
    return report.split(f"### {title}\n")[1].split("\n#")[0]


def test_each_client_only_reads_with_the_stacks_credentials(outcome: dict[str, Any], api: ApiServer) -> None:
    assert outcome["status"] == 0
    assert {r.method for r in api.requests} == {"GET"}
    # The server answers 401 to a request without the right credential, which would have failed discovery.
    paths = {r.path for r in api.requests}
    assert {"/v2/droplets", "/v2/volumes", "/v2/firewalls", "/v2/vpcs", "/service", "/api/v1/monitor"} <= paths
    assert "/service/SU1Z0isxPaozGVKXdv0eY/version/42/domain" in paths  # the active version, not the newest
    # pydo followed links.pages.next to the second page of droplets.
    assert [r.query.get("page") for r in api.requests if r.path == "/v2/droplets"] == [["1"], ["2"]]


def test_droplets_services_monitors_and_tests_are_matched(outcome: dict[str, Any]) -> None:
    imports = outcome["imports"]
    assert imports["nyc1-docs-1"] == "301000001"  # by name
    assert imports["nyc1-vpc"] == "5a4981aa-9653-4bd1-bef5-d6bff52042e4"
    assert imports["nyc1-docs-edge-vcl"] == "4Bk9tGwfkVn2y7p1QdWh3A"  # by name
    assert imports["python-org-edge-vcl"] == "SU1Z0isxPaozGVKXdv0eY"  # hand-made: by the domains it serves
    assert imports["mail-monitors-disk"] == "12345671"
    assert imports["python-org-monitors-https-python.org"] == "abc-def-gh2"  # by what it checks
    assert all(isinstance(v, str) for v in imports.values())


def test_what_cannot_be_adopted_in_place_is_not_imported(outcome: dict[str, Any]) -> None:
    blocked = outcome["report"].split("## Cannot be adopted in place")[1].split("\n## ")[0]
    assert "| nyc1-hg-1 | digitalocean:Droplet | 301000003 | the live one is in sfo2" in blocked
    assert "a volume cannot shrink" in blocked
    assert "nyc1-hg-1" not in outcome["imports"] and "ams1-mail-1-lists" not in outcome["imports"]


def test_two_live_candidates_are_never_guessed(outcome: dict[str, Any]) -> None:
    ambiguous = outcome["report"].split("## Ambiguous")[1].split("\n## ")[0]
    assert "planet-1.nyc1.psf.io (301000005)" in ambiguous and "planet-1.nyc1.psf.io (301000006)" in ambiguous
    assert not any(v in ("301000005", "301000006") for v in outcome["imports"].values())


def test_the_report_lists_live_resources_the_program_does_not_declare(outcome: dict[str, Any]) -> None:
    report = outcome["report"]
    assert "| old-wiki.nyc1.psf.io | 301000004 | nyc3 |" in _section(report, "Droplets")
    services = _section(report, "Fastly services")
    assert "| test.python.org | 2kDq8sWv5tYh1LpZr6JmXc | test.python.org | no |" in services
    assert "| compute-experiment |" in services
    assert "| PyPI 5xx rate | 12345672 |" in _section(report, "Datadog monitors")
    assert "ssl www.python.org:443" in _section(report, "Datadog Synthetic tests")


def test_a_refused_credential_is_one_line(api: ApiServer, prod: Recording, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("FASTLY_API_KEY", "not-the-token")
    argv = ["--stack", "prod", "--only", "fastly", "--credentials", "env", "--quiet", "--ca-file", api.ca_file]
    assert discover.run([*argv, "--endpoint", f"fastly={api.url}", "--dry-run"], recording=prod) == 2
    assert capsys.readouterr().err.strip() == "discover: fastly list services: HTTP 401: Unauthorized"
