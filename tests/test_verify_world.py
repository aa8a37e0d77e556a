"""`make verify` against a real world on the loopback interface: the good world passes, every broken one fails.

The world (tests/verify_world.py) is NSD serving zone files written from the prod recording, signed with
ldns-signzone, HTTPS servers with a trustme CA, an SMTP listener and closed ports. Each variant breaks one
thing; the test names the exact rows (host and check) that must fail, and no others may.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offline.recorder import Recording
from tests import verify_world as world_mod
from verify.__main__ import _parser, main, options_from
from verify.report import Result, Status
from verify.run import verify

World = tuple[world_mod.DnsFactory, world_mod.WebFactory, dict[str, Any]]


@pytest.fixture(scope="module")
def world(prod: Recording, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    missing = world_mod.tools_missing()
    if missing:
        message = f"the local DNS world needs {', '.join(missing)} (apt-get install nsd ldnsutils)"
        if os.environ.get("CI"):
            pytest.fail(message + "; .ci/run installs them")
        pytest.skip(message)
    with world_mod.factories(tmp_path_factory.mktemp("verify-world"), prod) as made:
        yield made


def arguments(world: World, dns_variant: str, web_variant: str) -> list[str]:
    dns_factory, web_factory, _ = world
    args = ["--stack", "prod", "--timeout", "2", "--retries", "0"]
    args += dns_factory.world(dns_variant).args + web_factory.world(web_variant).args
    for host in world_mod.ONLY:
        args += ["--only", host]
    return args


_RESULTS: dict[tuple[str, str], list[Result]] = {}


def run(prod: Recording, world: World, dns_variant: str = "good", web_variant: str = "good") -> list[Result]:
    """One verify run per variant pair for the whole module."""
    key = (dns_variant, web_variant)
    if key not in _RESULTS:
        options = options_from(_parser().parse_args(arguments(world, dns_variant, web_variant)))
        _RESULTS[key] = verify(prod, world[2], options)
    return _RESULTS[key]


def failing(results: list[Result]) -> dict[tuple[str, str], str]:
    return {(r.host, r.check): r.detail for r in results if r.status is Status.FAIL}


def test_the_good_world_passes_every_check(prod: Recording, world: World) -> None:
    results = run(prod, world)
    assert failing(results) == {}
    rows = {(r.host, r.check): r for r in results}
    # Each kind of check really ran, against the real servers.
    for key in [
        ("python.org", "delegation"),
        ("python.org", "dnssec"),
        ("psf.io", "dnssec"),
        ("www.python.org", "record CNAME"),
        ("docs-1.nyc1.psf.io", "record A"),
        ("python.org", "mx"),
        ("python.org", "spf"),
        ("_dmarc.python.org", "dmarc"),
        ("www.python.org", "tls"),
        ("www.python.org", "hsts"),
        ("www.python.org", "status /ftp/python/"),
        ("python.org", "status /"),
        ("docs.python.org", "http redirect"),
        ("docs-1.nyc1.psf.io", "closed 443"),
        ("mail.ams1.psf.io", "closed 80"),
        ("mx.ams1.psf.io", "smtp banner"),
    ]:
        assert rows[key].status is Status.PASS, (key, rows[key].detail)
    assert "127.0.40.1" in rows[("docs-1.nyc1.psf.io", "record A")].detail  # the outputs' address, not the mock's
    assert "chain org -> python.org" in rows[("python.org", "dnssec")].detail
    assert "answered 301" in rows[("python.org", "status /")].detail
    # What was skipped says why: locked origins cannot be asked for the token from here.
    skipped = {(r.host, r.check) for r in results if r.status is Status.SKIP}
    assert skipped == {(d, f"token psf-prod-{d.split('.')[0].split('-')[0]}") for d in world_mod.DROPLETS}
    assert len(results) > 40


DNS_BROKEN = {
    # The name itself still exists, as the parent of its _acme-challenge record: the servers answer NODATA.
    "missing-record": ({("docs.python.org", "record CNAME")}, "no CNAME record"),
    "wrong-target": ({("www.python.org", "record CNAME")}, "dualstack.wrong.map.fastly.net"),
    "lame-delegation": ({("python.org", "delegation")}, "lame: ns-lame.dns.test"),
}


@pytest.mark.parametrize("variant", sorted(DNS_BROKEN))
def test_each_broken_dns_variant_fails_exactly_its_row(prod: Recording, world: World, variant: str) -> None:
    expected, words = DNS_BROKEN[variant]
    found = failing(run(prod, world, dns_variant=variant))
    assert set(found) == expected
    assert all(words in detail for detail in found.values()), found


def test_an_expired_signature_fails_dnssec_and_every_signed_answer_of_that_zone(prod: Recording, world: World) -> None:
    found = failing(run(prod, world, dns_variant="expired-signature"))
    assert "expired" in found[("python.org", "dnssec")]
    assert ("python.org", "record MX") in found and ("www.python.org", "record CNAME") in found
    # Only python.org was re-signed: nothing in psf.io fails.
    assert all(host == "python.org" or host.endswith(".python.org") for host, _ in found), found
    assert all("expired" in detail for detail in found.values())


WEB_BROKEN = {
    "expired-certificate": ({("www.python.org", "tls")}, "certificate has expired"),
    "wrong-name": ({("docs.python.org", "tls")}, "not valid for 'docs.python.org'"),
    "expiring-soon": ({("mail.python.org", "tls")}, "needs more than 14"),
    "wrong-issuer": ({("docs.python.org", "tls")}, "the stack declares GlobalSign"),
    "no-hsts": ({("mail.python.org", "hsts")}, "no Strict-Transport-Security"),
    "wrong-status": ({("www.python.org", "status /ftp/python/")}, "answered 404, expected 200"),
    "no-redirect": ({("docs.python.org", "http redirect")}, "answered 200"),
    "smtp-closed": ({("mx.ams1.psf.io", "smtp banner")}, "connection refused"),
    "origin-open": (
        {("docs-1.nyc1.psf.io", "closed 443"), ("docs-1.nyc1.psf.io", "token psf-prod-docs")},
        "127.0.",
    ),
    "origin-open-with-token-check": ({("docs-2.nyc1.psf.io", "closed 443")}, "accepts connections"),
}


@pytest.mark.parametrize("variant", sorted(WEB_BROKEN))
def test_each_broken_web_variant_fails_exactly_its_rows(prod: Recording, world: World, variant: str) -> None:
    expected, words = WEB_BROKEN[variant]
    found = failing(run(prod, world, web_variant=variant))
    assert set(found) == expected
    assert all(words in detail for detail in found.values()), found


def test_a_broken_certificate_skips_what_needs_it_rather_than_failing_twice(prod: Recording, world: World) -> None:
    rows = {(r.host, r.check): r for r in run(prod, world, web_variant="expired-certificate")}
    assert rows[("www.python.org", "hsts")].status is Status.SKIP
    assert "see its tls row" in rows[("www.python.org", "hsts")].detail


def test_an_origin_that_refuses_without_the_token_passes_the_token_check(prod: Recording, world: World) -> None:
    rows = {(r.host, r.check): r for r in run(prod, world, web_variant="origin-open-with-token-check")}
    assert rows[("docs-2.nyc1.psf.io", "token psf-prod-docs")].status is Status.PASS


def test_the_command_line_prints_json_and_exits_by_the_verdict(
    prod: Recording, world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = world_mod.write_outputs(tmp_path / "outputs.json", world[2])
    good = [*arguments(world, "good", "good"), "--outputs", str(outputs), "--json"]
    assert main(good) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["ok"] is True and document["failed"] == 0 and document["passed"] > 40
    assert "pass  www.python.org  tls" in captured.err  # progress, as it goes, on stderr

    broken = [*arguments(world, "good", "no-hsts"), "--outputs", str(outputs), "--quiet"]
    assert main(broken) == 1
    out = capsys.readouterr().out
    first_row = out.splitlines()[2]  # failures come first in the table
    assert first_row.split()[:3] == ["mail.python.org", "hsts", "fail"]
    assert "verify prod:" in out.splitlines()[-1] and "1 failed" in out.splitlines()[-1]
