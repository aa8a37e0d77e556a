"""verify.registration: registration expiry from RDAP, against a local RDAP server standing in for the registries.

The server answers like rdap.org and the registries behind it (a redirect first, then the domain object of
RFC 9083), so the lookups, the redirect, the parsing of events and jCard, and every failure a registry can
give are exercised over real HTTP, with no network beyond the loopback.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from offline.recorder import Recording
from verify import registration
from verify.report import Status

NOW = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)


def domain_object(name: str, expires: str | None, registrar: str = "Gandi SAS") -> dict[str, Any]:
    events = [{"eventAction": "registration", "eventDate": "1995-03-27T05:00:00Z"}]
    if expires is not None:
        events.append({"eventAction": "expiration", "eventDate": expires})
    return {
        "objectClassName": "domain",
        "ldhName": name.upper(),
        "events": events,
        "entities": [
            {"objectClassName": "entity", "roles": ["registrant"], "vcardArray": ["vcard", [["fn", {}, "text", "x"]]]},
            {
                "objectClassName": "entity",
                "roles": ["registrar"],
                "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", registrar]]],
            },
        ],
    }


DOMAINS: dict[str, Any] = {
    "python.org": domain_object("python.org", "2027-03-28T05:00:00Z"),
    "pypi.org": domain_object("pypi.org", "2026-07-11T00:00:00Z"),
    "pypy.org": domain_object("pypy.org", None),
    "jython.org": domain_object("jython.org", "2026-06-01T00:00:00Z"),
    "pycon.org": "not json",
}


class Registry(BaseHTTPRequestHandler):
    """rdap.org redirects /domain/<name> to the registry; the registry answers or says 404."""

    def do_GET(self) -> None:
        if self.path.startswith("/domain/"):
            self.send_response(302)
            self.send_header("Location", "/registry" + self.path)
            self.end_headers()
            return
        name = self.path.removeprefix("/registry/domain/")
        if name not in DOMAINS or "application/rdap+json" not in self.headers.get("Accept", ""):
            self.send_response(404)
            self.end_headers()
            return
        body = DOMAINS[name] if isinstance(DOMAINS[name], str) else json.dumps(DOMAINS[name])
        self.send_response(200)
        self.send_header("Content-Type", "application/rdap+json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def results(server: str, *domains: str) -> dict[str, tuple[Status, str]]:
    found = registration.run(domains, registration.http_fetch(server, 5), min_days=30, now=NOW)
    return {r.host: (r.status, r.detail) for r in found}


def test_a_registration_with_time_left_passes_and_names_the_registrar(server: str) -> None:
    status, detail = results(server, "python.org")["python.org"]
    assert status is Status.PASS
    assert detail == "registered until 2027-03-28, 270 days from now (registrar Gandi SAS)"


@pytest.mark.parametrize(
    ("domain", "says"),
    [
        (
            "pypi.org",
            "the registration expires on 2026-07-11, in 10 days (registrar Gandi SAS): renew it at the registrar",
        ),
        ("jython.org", "the registration expired on 2026-06-01 (registrar Gandi SAS): renew it at the registrar now"),
        ("pypy.org", "RDAP gives no expiration date (registrar Gandi SAS): its expiry is not watched"),
        ("psf.io", "RDAP answered HTTP 404 (no such domain at the registry's RDAP server): its expiry is not watched"),
        ("pycon.org", "RDAP answered something that is not JSON: its expiry is not watched"),
    ],
)
def test_what_a_registry_can_answer_fails_with_one_line(server: str, domain: str, says: str) -> None:
    status, detail = results(server, domain)[domain]
    assert (status, detail) == (Status.FAIL, says)


def test_an_unreachable_server_fails_every_domain_naming_why() -> None:
    found = registration.run(["python.org"], registration.http_fetch("http://127.0.0.1:9", 2), now=NOW)
    assert found[0].status is Status.FAIL and found[0].detail.startswith("RDAP lookup failed: ")


def test_an_answer_for_another_domain_is_refused() -> None:
    outcome = registration.check(
        "python.org", lambda _: domain_object("python.com", "2030-01-01T00:00:00Z"), now=NOW, min_days=30
    )
    assert outcome.status is Status.FAIL and "not python.org" in outcome.detail


def test_prod_watches_every_registered_domain_and_staging_none(prod: Recording, staging: Recording) -> None:
    # pypi.org's zone is pypi-infra's (ownership zone:pypi.org=external): so is watching its delegation.
    assert registration.registered_domains(prod) == [
        "jython.org",
        "planetpython.org",
        "psf.io",
        "pycon.org",
        "pypy.org",
        "python.org",
        "pythontest.net",
        "roundup-tracker.org",
    ]
    assert registration.registered_domains(staging) == []


def test_the_command_line_checks_the_stack_against_a_given_server(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert registration.main(["--stack", "staging", "--rdap", server]) == 0
    assert "registers no domain" in capsys.readouterr().out
    assert registration.main(["--stack", "prod", "--rdap", server, "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["failed"] >= 1 and {r["host"] for r in document["results"]} >= {"python.org", "psf.io"}
    assert registration.main(["--stack", "prod", "--min-days", "0"]) == 2
    assert registration.main(["--stack", "prod", "--rdap", "ftp://x"]) == 2
