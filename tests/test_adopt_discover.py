"""Discovery against moto seeded with a hand-made estate (tests/adopt_estate.py), and the import map it writes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from adopt import credentials, discover, importmap, live_aws
from adopt.credentials import Credentials
from adopt.live import Inventory
from offline.recorder import Recording, record_stack
from tests.adopt_estate import ADOPTING, Estate, seed

HEADER = "# Import map of stack prod, reviewed by the infrastructure team.\n# Second line of the reviewed header.\n"
DROPPED = """dropped:
  - zone: python.org
    name: old.python.org
    type: CNAME
    reason: retired in 2019, nothing links to it
"""


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Estate]:
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEPSFPROD01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "moto-secret")
    with mock_aws():
        yield seed()


@pytest.fixture
def discovered(aws: Estate, prod: Recording, tmp_path: Path) -> dict[str, Any]:
    """One discovery run of prod against the moto estate, over an import map that already has a reviewed part."""
    map_path = tmp_path / "imports" / "prod.yaml"
    map_path.parent.mkdir()
    map_path.write_text(HEADER + "imports:\n  stale-entry: Z0000000000000000000\n" + DROPPED)
    report, inventory = tmp_path / "discovery-prod.md", tmp_path / "discovery-prod.json"
    argv = ["--stack", "prod", "--only", "aws", "--credentials", "env", "--quiet"]
    argv += ["--map", str(map_path), "--report", str(report), "--json", str(inventory)]
    # Prod's recording is the one discovery makes for ADOPTING (discover.as_managed): import parts register
    # what managed ones do.
    status = discover.run(argv, recording=prod, overrides=ADOPTING)
    return {
        "status": status,
        "estate": aws,
        "map": map_path.read_text(),
        "report": report.read_text(),
        "inventory": inventory,
    }


def test_discovery_writes_the_import_map_for_what_it_matched(discovered: dict[str, Any]) -> None:
    assert discovered["status"] == 0
    estate: Estate = discovered["estate"]
    document = yaml.safe_load(discovered["map"])
    assert set(document) == {"imports", "dropped"}
    assert document["imports"] == {
        "psf-delegation-set-set": estate.delegation_set_id,
        "cdn-logs-bucket": "psf-prod-cdn-logs",
        "cdn-logs-versioning": "psf-prod-cdn-logs",
        "python-org-dnssec-key": estate.key_id,
        "fastly-logs-role": "psf-prod-fastly-logs",
    }
    assert all(isinstance(v, str) for v in document["imports"].values())


def test_discovery_records_import_parts_as_managed_and_the_program_takes_its_map(
    aws: Estate, prod: Recording, tmp_path: Path
) -> None:
    assert discover.as_managed("prod", ADOPTING)["ownership"] == [
        "edge:pypi=external",
        "zone:pypi.org=external",
        "storage:pypi-files=external",
        "storage:cdn-logs=managed",
        "zone:delegation=managed",
        "zone:python.org=managed",
    ]
    # moto's delegation set IDs are five characters, which Route 53's never are (the program refuses them):
    # the round trip leaves the set out.
    ownership = {"ownership": [e for e in ADOPTING["ownership"] if not e.startswith("zone:delegation")]}
    map_path = tmp_path / "prod.yaml"
    argv = ["--stack", "prod", "--only", "aws", "--credentials", "env", "--quiet", "--map", str(map_path)]
    argv += ["--report", str(tmp_path / "r.md"), "--json", str(tmp_path / "i.json")]
    assert discover.run(argv, recording=prod, overrides=ownership) == 0
    # The map discovery wrote is one the program accepts for that ownership: every entry imported.
    adopted = record_stack("prod", {**ownership, "importMap": str(map_path)})
    imported = {r.name: r.options.import_id for r in adopted.records if r.options.import_id is not None}
    assert imported == yaml.safe_load(map_path.read_text())["imports"]


def test_matches_in_parts_the_program_manages_are_reported_not_written(
    aws: Estate, prod: Recording, tmp_path: Path
) -> None:
    map_path, report = tmp_path / "prod.yaml", tmp_path / "discovery-prod.md"
    argv = ["--stack", "prod", "--only", "aws", "--credentials", "env", "--quiet", "--map", str(map_path)]
    argv += ["--report", str(report), "--json", str(tmp_path / "discovery-prod.json")]
    assert discover.run(argv, recording=prod) == 0
    assert not yaml.safe_load(map_path.read_text()).get("imports")
    held = report.read_text().split("## Matched, not written to the import map")[1]
    assert "cdn-logs-bucket`: its part storage:cdn-logs is managed: set ownership storage:cdn-logs=import" in held
    assert "python-org-dnssec-key`: its part zone:python.org is managed" in held


def test_discovery_keeps_the_reviewed_header_and_dropped_entries(discovered: dict[str, Any]) -> None:
    text = discovered["map"]
    assert text.startswith(HEADER)
    assert yaml.safe_load(text)["dropped"] == yaml.safe_load(DROPPED)["dropped"]
    assert "stale-entry" not in text  # imports: is rewritten from what is live now


def test_a_zone_off_the_programs_delegation_set_is_not_imported(discovered: dict[str, Any]) -> None:
    # Route 53 cannot move a zone to another delegation set: an import would replace it, so the cut-over moves it.
    assert "python-org-zone" not in yaml.safe_load(discovered["map"])["imports"]
    report = discovered["report"]
    blocked = report.split("## Cannot be adopted in place")[1].split("##")[0]
    assert f"python-org-zone | aws:route53:Zone | {discovered['estate'].zone_id}" in blocked
    assert "Cut over instead (make cutover)" in blocked


def test_the_report_lists_what_is_live_and_undeclared(discovered: dict[str, Any]) -> None:
    report = discovered["report"]
    undeclared = report.split("## Live resources the program does not declare")[1].split("\n## ")[0]
    records = undeclared.split("### DNS records")[1].split("###")[0]
    for name in ("old.python.org", "ftp.python.org", "_github-challenge-python.python.org"):
        assert f"| python.org | {name} |" in records
    # Records the program declares (even spelt as Route 53 answers them) are not listed.
    assert "_dmarc.python.org" not in records and "| python.org | www.python.org |" not in records
    assert "| retired-psf.net |" in undeclared.split("### Route 53 zones")[1]
    assert "| psf-backups-2016 |" in undeclared.split("### S3 buckets")[1]


def test_the_report_lists_program_resources_with_no_live_twin(discovered: dict[str, Any]) -> None:
    missing = discovered["report"].split("## Program resources with no live twin")[1].split("\n## ")[0]
    assert "| aws:s3:Bucket | legacy-site-bucket | psf-prod-legacy-site |" in missing
    # PyPI's file bucket is pypi-infra's in prod (ownership storage:pypi-files=external): not the program's.
    assert "pypi-files-bucket" not in missing
    assert "| aws:route53:Zone | jython-org-zone | jython.org |" in missing
    # Types discovery does not read are not claimed missing: they are listed apart.
    not_read = discovered["report"].split("## Not read by discovery")[1]
    assert "aws:route53:Record" not in not_read


def test_the_inventory_is_saved_for_the_cut_over(discovered: dict[str, Any]) -> None:
    saved = json.loads(discovered["inventory"].read_text())
    inventory = Inventory.from_json(saved["inventory"])
    assert inventory.clouds == ("aws",)
    names = {r.name for r in inventory.of_type("aws:route53/record:Record")}
    assert {"old.python.org", "python.org", "www.retired-psf.net"} <= names


def test_discovery_is_read_only(aws: Estate) -> None:
    session = live_aws.session(Credentials("aws", {"awsAccessKeyId": "a", "awsSecretAccessKey": "b"}, "test"))
    route53 = session.client("route53")
    assert route53.list_hosted_zones()["HostedZones"]
    with pytest.raises(live_aws.WriteRefusedError, match="refused CreateHostedZone"):
        route53.create_hosted_zone(Name="evil.example.", CallerReference="x")
    with pytest.raises(live_aws.WriteRefusedError, match="refused DeleteBucket"):
        session.client("s3").delete_bucket(Bucket="psf-backups-2016")
    # Nothing changed: the bucket is still there.
    assert "psf-backups-2016" in {b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]}


def test_discovery_shows_progress(
    aws: Estate, prod: Recording, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--stack", "prod", "--only", "aws", "--credentials", "env", "--dry-run"]
    assert discover.run(argv, recording=prod) == 0
    captured = capsys.readouterr()
    assert "aws: credentials from environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)" in captured.err
    assert "route53: python.org:" in captured.err and "s3: 2 buckets" in captured.err
    assert captured.out.startswith("# Discovery of stack prod")


def test_a_missing_credential_is_one_line(prod: Recording, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.delenv("DIGITALOCEAN_TOKEN", raising=False)
    assert discover.run(["--stack", "prod", "--only", "digitalocean", "--credentials", "env"], recording=prod) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        "discover: credential psf-infra:digitaloceanToken for digitalocean is not set: export DIGITALOCEAN_TOKEN "
        "(or install the Pulumi CLI to read stack prod's config)"
    )


def test_an_unknown_cloud_is_one_line(prod: Recording, capsys: pytest.CaptureFixture[str]) -> None:
    assert discover.run(["--stack", "prod", "--only", "gandi"], recording=prod) == 2
    assert capsys.readouterr().err.strip() == (
        "discover: --only 'gandi' is invalid: one of aws, digitalocean, fastly, datadog"
    )


def test_the_import_map_renders_ids_yaml_cannot_retype() -> None:
    previous = importmap.ImportMap({}, ())
    text = importmap.render("prod", [("digitalocean:index/droplet:Droplet", [("nyc1-docs-1", "301234567")]),
                                     ("x", [("yes", "1e5"), ("on", "null")])], previous)  # fmt: skip
    assert yaml.safe_load(text)["imports"] == {"nyc1-docs-1": "301234567", "yes": "1e5", "on": "null"}
    assert text.startswith("# Import map of stack prod")


def test_a_malformed_dropped_entry_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "prod.yaml"
    path.write_text("dropped:\n  - zone: python.org\n    name: old.python.org\n    type: CNAMES\n    reason: gone\n")
    with pytest.raises(importmap.ImportMapError, match=r"^prod.yaml: dropped\[0\].type = 'CNAMES' is invalid: one of"):
        importmap.load(path)
    path.write_text("imports: {}\nextra: 1\n")
    with pytest.raises(importmap.ImportMapError, match=r"unknown top-level keys \['extra'\]"):
        importmap.load(path)


def test_credentials_come_from_the_stacks_own_config() -> None:
    asked: list[list[str]] = []

    def pulumi(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        asked.append(list(argv))
        return subprocess.CompletedProcess(argv, 0, stdout=f"value-of-{argv[-1]}\n", stderr="")

    loaded = credentials.load("datadog", "prod", "pulumi", run=pulumi)
    assert loaded["datadogApiKey"] == "value-of-psf-infra:datadogApiKey"
    assert [a[1:] for a in asked] == [
        ["config", "get", "--stack", "prod", "--show-secrets", "psf-infra:datadogApiKey"],
        ["config", "get", "--stack", "prod", "--show-secrets", "psf-infra:datadogAppKey"],
    ]
    assert "value-of" not in repr(loaded)  # the values are never shown


def test_an_unreadable_config_credential_is_one_line() -> None:
    def pulumi(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 255, stdout="", stderr="error: no stack named 'prod' found\n")

    with pytest.raises(credentials.CredentialsError) as raised:
        credentials.load("fastly", "prod", "pulumi", run=pulumi)
    assert str(raised.value) == (
        "credential psf-infra:fastlyApiKey of stack prod could not be read: error: no stack named 'prod' found "
        "(set it with `pulumi config set --secret fastlyApiKey`)"
    )
