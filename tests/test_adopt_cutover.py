"""The DNS cut-over check against moto: it refuses while a live record would vanish, unless it is dropped on purpose."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from adopt import cutover, discover, rrset
from adopt.live import Live
from offline.recorder import Recording
from tests.adopt_estate import APEX_TXT_EXTRA, Estate, seed

DROP_ALL = """dropped:
  - zone: python.org
    name: old.python.org
    type: CNAME
    reason: retired in 2019, nothing links to it
  - zone: python.org
    name: ftp.python.org
    type: A
    reason: the FTP mirror closed in 2021
  - zone: python.org
    name: _github-challenge-python.python.org
    type: TXT
    reason: the organisation is verified; GitHub no longer checks it
  - zone: python.org
    name: python.org
    type: TXT
    reason: the Google site verification is no longer used
"""


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Estate]:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEPSFPROD01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "moto-secret")
    with mock_aws():
        yield seed()


def _run(prod: Recording, map_path: Path, *extra: str) -> int:
    argv = ["--stack", "prod", "--credentials", "env", "--quiet", "--map", str(map_path), *extra]
    return cutover.run(argv, recording=prod)


def test_the_cut_over_is_refused_with_every_record_that_would_vanish(
    aws: Estate, prod: Recording, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(prod, tmp_path / "none.yaml", "--zone", "python.org") == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(
        f"python.org (live zone {aws.zone_id}): REFUSED: 3 record sets would vanish, 1 would answer otherwise"
    )
    assert "  would vanish: old.python.org CNAME ttl=3600 legacy-web.nyc1.psf.io" in out
    assert "  would vanish: ftp.python.org A ttl=3600 140.211.10.69" in out
    assert '  would vanish: _github-challenge-python.python.org TXT ttl=3600 "4b1c9d2e7f"' in out
    assert f'  would change: python.org TXT: live {APEX_TXT_EXTRA} "v=spf1 mx ' in out
    assert '-all"; the program "v=spf1 mx ' in out
    assert out.rstrip().endswith("cutover prod: REFUSED for python.org: the live answers above would be lost")


def test_route53_spellings_are_not_differences(
    aws: Estate, prod: Recording, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # MX with an upper-case, dotted target; a TXT in two quoted strings; a CNAME in mixed case: all the program's.
    _run(prod, tmp_path / "none.yaml", "--zone", "python.org")
    out = capsys.readouterr().out
    for name in ("python.org MX", "_dmarc.python.org TXT", "www.python.org CNAME", "python.org CAA"):
        assert f"would vanish: {name}" not in out and f"would change: {name}" not in out
    # Route 53's own apex NS and SOA are in every zone: never lost.
    assert " NS " not in out and " SOA " not in out
    # A TTL that differs is a note (the runbook lowers TTLs before the switch), not a refusal.
    assert "  note: www.python.org CNAME TTL 300 live, 3600 in the program" in out
    # Values the program adds to a live record set lose nothing.
    assert "  note: python.org MX keeps its live values; the program adds 20 mx.sfo1.psf.io" in out


def test_records_dropped_on_purpose_let_the_cut_over_through(
    aws: Estate, prod: Recording, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    map_path = tmp_path / "prod.yaml"
    map_path.write_text(DROP_ALL)
    assert _run(prod, map_path, "--zone", "python.org") == 0
    out = capsys.readouterr().out
    assert "python.org (live zone" in out and ": ok: 0 record sets would vanish, 0 would answer otherwise" in out
    assert "  dropped: old.python.org CNAME (retired in 2019, nothing links to it)" in out
    assert out.rstrip().endswith("cutover prod: 1 zone(s) checked, nothing would be lost")


def test_one_dropped_entry_is_not_enough(aws: Estate, prod: Recording, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    map_path = tmp_path / "prod.yaml"
    map_path.write_text("\n".join(DROP_ALL.splitlines()[:5]) + "\n")
    assert _run(prod, map_path, "--zone", "python.org") == 1
    out = capsys.readouterr().out
    assert "old.python.org" not in out.split("  dropped:")[0]
    assert "would vanish: ftp.python.org A" in out


def test_every_zone_is_checked_by_default(aws: Estate, prod: Recording, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    map_path = tmp_path / "prod.yaml"
    map_path.write_text(DROP_ALL)
    assert _run(prod, map_path) == 0
    out = capsys.readouterr().out
    assert "jython.org: no live zone of that name: nothing can be lost (the program creates it)" in out
    # retired-psf.net is not the program's: no cut-over of it happens, so it is not checked (discovery lists it).
    assert "retired-psf.net" not in out


def test_the_check_reads_a_saved_inventory(aws: Estate, prod: Recording, tmp_path: Path) -> None:
    inventory = tmp_path / "discovery-prod.json"
    argv = ["--stack", "prod", "--only", "aws", "--credentials", "env", "--quiet", "--json", str(inventory)]
    argv += ["--map", str(tmp_path / "prod.yaml"), "--report", str(tmp_path / "r.md")]
    assert discover.run(argv, recording=prod) == 0
    saved = tmp_path / "inventory.json"
    saved.write_text(json.dumps(json.loads(inventory.read_text())["inventory"]))
    assert _run(prod, tmp_path / "prod.yaml", "--zone", "python.org", "--inventory", str(saved)) == 1


def test_an_unknown_zone_is_one_line(prod: Recording, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(prod, tmp_path / "none.yaml", "--zone", "example.com") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cutover: --zone 'example.com' is invalid: stack prod declares no such zone")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("type_", "live", "program"),
    [
        ("TXT", '"v=spf1 " "-all"', "v=spf1 -all"),
        ("TXT", '"say \\"hi\\""', 'say "hi"'),
        ("TXT", '"' + "a" * 255 + '" "b"', "a" * 255 + '""b'),
        ("CNAME", "Dualstack.Python.Map.Fastly.Net.", "dualstack.python.map.fastly.net"),
        ("MX", "10 MX.ams1.psf.io.", "10 mx.ams1.psf.io"),
        ("SRV", "10 5 5060 SIP.psf.io.", "10 5 5060 sip.psf.io"),
        ("AAAA", "2a04:4e42:0:0:0:0:0:223", "2a04:4e42::223"),
        ("CAA", '0 ISSUE "letsencrypt.org"', '0 issue "letsencrypt.org"'),
    ],
)
def test_values_are_normalised_as_route53_answers_them(type_: str, live: str, program: str) -> None:
    assert rrset.value(type_, live) == rrset.value(type_, program)


def test_alias_targets_compare_as_route53_answers_them() -> None:
    live = Live(
        "aws:route53/record:Record", "Z_x_A", "python.org", {"type": "A", "alias": "dualstack.lb-1.elb.amazonaws.com"}
    )
    program = {"name": "python.org", "type": "A", "aliases": [{"name": "LB-1.elb.amazonaws.com.", "zoneId": "Z35SX"}]}
    assert rrset.from_live(live).same_answer(rrset.from_program(program, "python.org"))


def test_a_relative_name_is_in_its_zone() -> None:
    assert rrset.record_name("www", "python.org") == "www.python.org"
    assert rrset.record_name("WWW.python.org.", "python.org") == "www.python.org"
    assert rrset.record_name("\\052.python.org.", "python.org") == "*.python.org"
