"""The verify tool's parts that need no world: expectations read from the recordings, parsers, options, errors."""

from __future__ import annotations

import ast
import io
import ipaddress
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from offline.recorder import PROJECT_ROOT, Options, Record, Recording
from verify.__main__ import main
from verify.expect import Expectations, expectations
from verify.mailauth import dmarc_problems, spf_problems
from verify.net import ConnectTo, NetOptions, Network, NetworkError, parse_resolve, parse_server
from verify.report import Result, Status, table, write_json
from verify.run import RunOptions, execute, plan

# --- expectations from the real recordings ------------------------------------------------------------------


@pytest.fixture(scope="module")
def prod_expected(prod: Recording) -> Expectations:
    return expectations(prod, prod.stack_outputs)


def test_every_zone_is_expected_with_its_reported_name_servers(prod: Recording, prod_expected: Expectations) -> None:
    zones = {z.name: z for z in prod_expected.zones}
    assert set(zones) == set(prod.stack_outputs["name_servers"])
    assert zones["python.org"].name_servers == tuple(prod.stack_outputs["name_servers"]["python.org"])
    assert all(z.signed for z in zones.values())  # prod signs every zone (psf-infra:dnssec true)
    assert prod_expected.problems == ()


def test_staging_zones_are_not_expected_to_be_signed(staging: Recording) -> None:
    expected = expectations(staging, staging.stack_outputs)
    assert expected.zones and not any(z.signed for z in expected.zones)


def test_records_expect_the_deployed_droplet_address_not_the_mock(prod: Recording) -> None:
    outputs = json.loads(json.dumps(prod.stack_outputs))
    outputs["droplet_addresses"]["mail.ams1.psf.io"]["ipv4"] = "203.0.113.25"
    expected = expectations(prod, outputs)
    mail_a = next(r for r in expected.records if r.name == "mail.ams1.psf.io" and r.type == "A")
    assert mail_a.values == ("203.0.113.25",)
    droplet = next(d for d in expected.droplets if d.host == "mail.ams1.psf.io")
    assert droplet.ipv4 == "203.0.113.25"


def test_missing_droplet_addresses_are_problems_that_name_the_host(prod: Recording) -> None:
    outputs = {k: v for k, v in prod.stack_outputs.items() if k != "droplet_addresses"}
    expected = expectations(prod, outputs)
    hosts = {host for host, _ in expected.problems}
    assert "docs-1.nyc1.psf.io" in hosts
    assert all("droplet_addresses" in message for _, message in expected.problems)
    unknown = next(r for r in expected.records if r.name == "docs-1.nyc1.psf.io" and r.type == "A")
    assert unknown.values == () and "not in the stack outputs" in unknown.note


def test_web_hosts_carry_hsts_statuses_and_redirects_from_fastly_and_the_synthetics(
    prod_expected: Expectations,
) -> None:
    web = {w.host: w for w in prod_expected.web}
    assert web["python.org"].statuses == (("/", 301),)
    assert web["python.org"].redirects_to_https  # the redirect service sends every request to https://www
    assert sorted(web["www.python.org"].statuses) == [("/", 200), ("/ftp/python/", 200)]
    assert web["www.python.org"].hsts == "max-age=63072000; includeSubDomains"
    assert web["www.python.org"].redirects_to_https  # force_ssl
    # pythontest.net is served by its droplets directly: nothing declares HSTS or a redirect for it.
    assert web["pythontest.net"].service is None and web["pythontest.net"].hsts is None
    assert not web["pythontest.net"].redirects_to_https
    assert {c.host for c in prod_expected.certificates} == set(web)
    assert all(c.min_days == 14 and c.port == 443 for c in prod_expected.certificates)


def test_droplets_know_which_origin_ports_their_firewall_opens_and_whom_they_serve(prod_expected: Expectations) -> None:
    droplets = {d.host: d for d in prod_expected.droplets}
    assert droplets["pythontest-1.nyc1.psf.io"].world_ports == frozenset({80, 443})
    assert droplets["docs-1.nyc1.psf.io"].world_ports == frozenset()
    uses = droplets["docs-1.nyc1.psf.io"].origin_of
    assert [(u.service, u.host_header, u.tls_name) for u in uses] == [
        ("psf-prod-docs", "docs.python.org", "docs.psf.io")
    ]
    # Mail is delivered to the MX targets, the names of the mail hosts' reserved addresses: the primary's and
    # the secondary MX's.
    assert {m.host for m in prod_expected.mail} == {"mx.ams1.psf.io", "mx.sfo1.psf.io"}
    # A standby is an origin of its role's service like the primary, and refuses requests without the token.
    standby = droplets["hg-standby.nyc1.psf.io"]
    assert [(u.service, u.host_header, u.tls_name) for u in standby.origin_of] == [
        ("psf-prod-hg", "hg.python.org", "hg.psf.io")
    ]
    assert standby.world_ports == frozenset()


def _record(type_: str, name: str, inputs: dict[str, Any], outputs: dict[str, Any] | None = None) -> Record:
    urn = f"urn:pulumi:test::psf-infra::{type_}::{name}"
    return Record(urn, type_, name, None, True, inputs, Options(), f"id-{name}", outputs or dict(inputs))


def test_acme_challenge_values_are_known_only_once_deployed(prod_expected: Expectations) -> None:
    # Their values sit inside the subscription's managed_dns_challenges: computed by Fastly, so any answer.
    challenges = [r for r in prod_expected.records if r.name.startswith("_acme-challenge.")]
    # Every name with a Fastly service of prod's, pypi.org's (pypi-infra's) excepted.
    assert len(challenges) == 18
    assert all(r.type == "CNAME" and r.values == () and r.ttl == 60 for r in challenges)
    assert all("computed by the provider" in r.note for r in challenges)


def test_records_expect_the_dns_targets_the_deployed_stack_read_from_fastly(prod: Recording) -> None:
    outputs = json.loads(json.dumps(prod.stack_outputs))
    outputs["fastly_tls"]["dns_target"] = {
        "cname": "j.sni.global.fastly.net",
        "apex_ipv4": ["151.101.2.132", "151.101.66.132"],
        "apex_ipv6": ["2a04:4e42::132"],
    }
    expected = expectations(prod, outputs)
    by_key = {(r.name, r.type): r for r in expected.records}
    assert by_key[("www.python.org", "CNAME")].values == ("j.sni.global.fastly.net",)
    assert by_key[("python.org", "A")].values == ("151.101.2.132", "151.101.66.132")
    assert by_key[("python.org", "AAAA")].values == ("2a04:4e42::132",)
    assert expected.problems == ()


def test_missing_dns_targets_are_one_problem(prod: Recording) -> None:
    outputs = {k: v for k, v in prod.stack_outputs.items() if k != "fastly_tls"}
    expected = expectations(prod, outputs)
    assert [message for host, message in expected.problems if host == "fastly"] == [
        "the stack outputs have no fastly_tls DNS targets; deploy this version of the program"
    ]
    www = next(r for r in expected.records if r.name == "www.python.org" and r.type == "CNAME")
    assert www.values == () and "fastly_tls" in www.note


def test_the_output_names_agree() -> None:
    from stacks.tls import TLS_OUTPUT
    from verify.expect import TLS_OUTPUT as VERIFY_TLS_OUTPUT

    assert VERIFY_TLS_OUTPUT == TLS_OUTPUT


def test_a_certificate_warning_test_sets_no_threshold(prod_expected: Expectations) -> None:
    # The 30-day SSL tests warn; `make verify` fails a certificate at the alert's 14 days.
    www = next(c for c in prod_expected.certificates if c.host == "www.python.org")
    assert www.min_days == 14 and www.issuer == "GlobalSign"
    assert any(s.startswith("SSL synthetic") for s in www.sources)


def test_new_record_types_and_certificate_sources_need_only_the_recording() -> None:
    """What issue 16 adds (Fastly TLS, ACME records, SSL synthetics) is read without changes to the checks."""
    records = (
        _record("aws:route53/zone:Zone", "z", {"name": "example.org"}, {"name": "example.org", "zoneId": "Z1"}),
        _record(
            "aws:route53/record:Record",
            "acme",
            {
                "zoneId": "Z1",
                "name": "_acme-challenge.www.example.org",
                "type": "CNAME",
                "ttl": 300,
                "records": ["abc.fastly-validations.com"],
            },
        ),
        _record(
            "fastly:index/tlsSubscription:TlsSubscription",
            "tls",
            {"domains": ["www.example.org"], "certificateAuthority": "lets-encrypt"},
        ),
        _record(
            "datadog:index/syntheticsTest:SyntheticsTest",
            "ssl",
            {
                "type": "api",
                "subtype": "ssl",
                "requestDefinition": {"host": "www.example.org", "port": 443},
                "assertions": [{"type": "certificate", "operator": "isInMoreThan", "target": "30"}],
            },
        ),
    )
    recording = Recording("test", records, {}, ())
    expected = expectations(recording, {"name_servers": {"example.org": ["ns1.example.net"]}})
    assert [(r.name, r.type, r.values) for r in expected.records] == [
        ("_acme-challenge.www.example.org", "CNAME", ("abc.fastly-validations.com",))
    ]
    (cert,) = expected.certificates
    assert (cert.host, cert.min_days, cert.issuer) == ("www.example.org", 30, "Let's Encrypt")
    assert len(cert.sources) == 2


def test_the_program_never_imports_the_verify_dependencies() -> None:
    """dnspython and trustme are for verify only: nothing on the program's path may import them.

    (cryptography is a program dependency since the origin CA is validated, imported only inside that check.)
    """
    forbidden = {"dns", "trustme", "verify"}
    paths = [PROJECT_ROOT / "__main__.py", *(PROJECT_ROOT / "stacks").glob("*.py")]
    paths += (PROJECT_ROOT / "components").glob("*.py")
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not {n.split(".")[0] for n in names} & forbidden, (path, names)


# --- mail authentication --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "v=spf1 mx -all",
        "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.org ~all",
        "v=spf1 a:mail.example.org/24 redirect=_spf.example.org",
    ],
)
def test_good_spf_records_parse(text: str) -> None:
    assert spf_problems(text) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("v=spf2 mx -all", "does not start with v=spf1"),
        ("v=spf1 mx", "neither an 'all'"),
        ("v=spf1 ip4:300.1.1.1 -all", "invalid address"),
        ("v=spf1 ip6:192.0.2.1 -all", "ip6 with an IPv4"),
        ("v=spf1 include -all", "needs ':<domain>'"),
        ("v=spf1 frobnicate -all", "unknown mechanism"),
        ("v=spf1 " + " ".join(f"include:s{n}.example.org" for n in range(11)) + " -all", "at most 10"),
    ],
)
def test_bad_spf_records_say_what_is_wrong(text: str, problem: str) -> None:
    assert any(problem in p for p in spf_problems(text)), spf_problems(text)


def test_dmarc_records_parse_or_say_what_is_wrong() -> None:
    good = "v=DMARC1; p=quarantine; pct=100; fo=1; adkim=s; aspf=r; rua=mailto:dmarc-reports@python.org"
    assert dmarc_problems(good) == []
    assert any("v=DMARC1" in p for p in dmarc_problems("p=reject; v=DMARC1"))
    assert any("second tag" in p for p in dmarc_problems("v=DMARC1; pct=5; p=reject"))
    assert any("p=maybe" in p for p in dmarc_problems("v=DMARC1; p=maybe"))
    assert any("mailto" in p for p in dmarc_problems("v=DMARC1; p=none; rua=https://example.org/"))
    assert any("pct=150" in p for p in dmarc_problems("v=DMARC1; p=none; pct=150"))


# --- options and the network layer ----------------------------------------------------------------------------


def test_connect_to_and_resolve_parse_like_curl() -> None:
    rule = ConnectTo.parse("www.python.org:443:[::1]:8443")
    assert (rule.host, rule.port, rule.to_host, rule.to_port) == ("www.python.org", 443, "::1", 8443)
    assert ConnectTo.parse("::127.0.0.1:").matches("anything.example", 25)
    with pytest.raises(ValueError, match="HOST1:PORT1:HOST2:PORT2"):
        ConnectTo.parse("www.python.org:443")
    assert parse_resolve(["Docs.Python.org.=127.0.0.1,::1"]) == {"docs.python.org": ("127.0.0.1", "::1")}
    with pytest.raises(ValueError, match="--resolve"):
        parse_resolve(["docs.python.org=not-an-address"])
    assert parse_server("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_server("[::1]:53") == ("::1", 53)
    with pytest.raises(ValueError):
        parse_server("ns1.example.org")


def _closed_port() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


def test_network_errors_are_reasons_never_tracebacks() -> None:
    held, port = _closed_port()
    with held:
        net = Network(NetOptions(timeout=1, retries=2, resolver=("none", 0), confine=()))
        with pytest.raises(NetworkError, match="connection refused"):
            net.connect("127.0.0.1", port)
        assert net.probe("127.0.0.1", port)[0] == "refused"
        with pytest.raises(NetworkError, match="no resolver"):
            net.addresses("www.python.org")
    confined = Network(NetOptions(timeout=1, resolver=("none", 0), confine=(ipaddress.ip_network("127.0.0.0/8"),)))
    with pytest.raises(NetworkError, match="outside the networks allowed by --confine"):
        confined.connect("192.0.2.1", 443)


def test_a_check_that_raises_costs_one_failed_row_not_the_run() -> None:
    from verify.report import Check, passed

    def broken() -> Any:
        raise KeyError("surprise")

    results = execute(
        [Check("dns", "a.example", "boom", broken), Check("dns", "b.example", "ok", lambda: passed("fine"))]
    )
    assert [r.status for r in results] == [Status.FAIL, Status.PASS]
    assert "KeyError" in results[0].detail


def test_only_and_check_select_rows_but_never_hide_missing_outputs(prod: Recording) -> None:
    outputs = {k: v for k, v in prod.stack_outputs.items() if k != "droplet_addresses"}
    expected = expectations(prod, outputs)
    net = Network(NetOptions(resolver=("none", 0)))
    rows = plan(expected, net, RunOptions(only=("www.python.org",), checks=("tls",)))
    assert {(r.host, r.name) for r in rows if r.group not in ("outputs", "notes")} == {("www.python.org", "tls")}
    rows = plan(expected, net, RunOptions(only=("docs-1.nyc1.psf.io",), checks=("tls",)))
    assert {r.group for r in rows} == {"outputs"}  # its address is missing: reported even though no check ran


# --- the command line -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timeout", "0"], "--timeout 0.0 is invalid"),
        (["--retries", "99"], "--retries 99 is invalid: must be 0 to 10"),
        (["--connect-to", "nonsense"], "expected HOST1:PORT1:HOST2:PORT2"),
        (["--check", "ssl"], "--check 'ssl' is invalid: must be one of dns, https"),
        (["--trust-anchor", "org=12345 13"], "--trust-anchor org='12345 13' is invalid"),
        (["--outputs", "/nonexistent/outputs.json"], "cannot read it"),
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "staging", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_without_the_cli_or_an_outputs_file_it_says_what_to_pass(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["--stack", "staging"]) == 2
    assert "pass --outputs FILE" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert main(["--stack", "staging", "--outputs", str(tmp_path / "bad.json")]) == 2
    assert "expected a JSON object" in capsys.readouterr().err


def test_the_table_lists_failures_first_and_json_has_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    results = [
        Result("https", "www.python.org", "tls", Status.PASS, "fine", 0.1),
        Result("dns", "python.org", "dnssec", Status.FAIL, "DNSKEY expired", 0.2),
        Result("origins", "docs-1.nyc1.psf.io", "token x", Status.SKIP, "not reachable", 0.0),
    ]
    lines = table(results).splitlines()
    assert lines[2].split()[:3] == ["python.org", "dnssec", "fail"]
    assert lines[3].split()[:3] == ["docs-1.nyc1.psf.io", "token", "x"]

    out = io.StringIO()
    write_json("prod", results, 1.5, out)
    document = json.loads(out.getvalue())
    assert (document["ok"], document["passed"], document["failed"], document["skipped"]) == (False, 1, 1, 1)
    assert document["results"][1] == {
        "group": "dns",
        "host": "python.org",
        "check": "dnssec",
        "status": "fail",
        "detail": "DNSKEY expired",
        "seconds": 0.2,
    }
