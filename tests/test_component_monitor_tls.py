"""Certificate checks: two Datadog SSL tests per name, the alert paging where paging is on, the warning never."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi_datadog as datadog
import pytest

from components.monitors import ServiceMonitors, ServiceMonitorsArgs, TlsCheck
from offline.recorder import Record, Recording, record_program

SYNTHETICS = "datadog:index/syntheticsTest:SyntheticsTest"
PAGER = "@pagerduty-oncall"
ARGS = ServiceMonitorsArgs(
    service="www",
    environment="prod",
    datacenter="external",
    http_checks=(),
    tls_checks=(
        TlsCheck("www.example.org", tags=("certificate:managed", "certificate-authority:globalsign")),
        TlsCheck("example.org", port=8443, alert_days=10, warning_days=45),
    ),
    locations=("aws:us-east-1", "aws:eu-central-1", "gcp:us-west1"),
    owners=("Alice Example",),
    contact="web@example.org",
    notify_handles=("@web-team",),
    page_on_call=True,
    pagerduty_handle=PAGER,
    host_thresholds=None,
)


def _record(args: ServiceMonitorsArgs) -> Recording:
    def program() -> None:
        ServiceMonitors("www-monitors", args, provider=datadog.Provider("dd"))

    return record_program(program, config={})


@pytest.fixture(scope="module")
def prod() -> Recording:
    return _record(ARGS)


def ssl(recording: Recording) -> dict[str, Record]:
    return {r.name: r for r in recording.of_type(SYNTHETICS)}


def test_two_ssl_tests_per_name(prod: Recording) -> None:
    assert sorted(ssl(prod)) == [
        "www-monitors-tls-example.org-8443",
        "www-monitors-tls-example.org-8443-warning",
        "www-monitors-tls-www.example.org",
        "www-monitors-tls-www.example.org-warning",
    ]
    for test in ssl(prod).values():
        assert test.inputs["type"] == "api" and test.inputs["subtype"] == "ssl" and test.inputs["status"] == "live"
        request = test.inputs["requestDefinition"]
        assert request["servername"] == request["host"]
        options = test.inputs["optionsList"]
        # An untrusted or self-signed certificate, or one revoked in its stapled OCSP response, fails.
        assert options["acceptSelfSigned"] is False and options["checkCertificateRevocation"] is True


def test_the_alert_is_the_expiry_threshold_or_an_invalid_certificate_and_pages(prod: Recording) -> None:
    alert = ssl(prod)["www-monitors-tls-www.example.org"]
    assert alert.inputs["requestDefinition"] == {
        "host": "www.example.org",
        "port": "443",
        "servername": "www.example.org",
    }
    assert alert.inputs["assertions"] == [{"operator": "isInMoreThan", "target": "14", "type": "certificate"}]
    assert alert.inputs["optionsList"]["tickEvery"] == 900
    assert PAGER in alert.inputs["message"] and "not valid for the name" in alert.inputs["message"]
    assert {"certificate:managed", "certificate-authority:globalsign", "certificate-check:alert"} <= set(
        alert.inputs["tags"]
    )
    custom = ssl(prod)["www-monitors-tls-example.org-8443"]
    assert custom.inputs["assertions"][0]["target"] == "10"
    assert custom.inputs["requestDefinition"]["port"] == "8443"


def test_the_warning_runs_less_often_ranks_lower_and_never_pages(prod: Recording) -> None:
    warning = ssl(prod)["www-monitors-tls-www.example.org-warning"]
    assert warning.inputs["assertions"] == [{"operator": "isInMoreThan", "target": "30", "type": "certificate"}]
    assert warning.inputs["optionsList"]["tickEvery"] == 21_600
    assert warning.inputs["optionsList"]["monitorPriority"] == ARGS.priority + 1
    assert PAGER not in warning.inputs["message"] and "@web-team" in warning.inputs["message"]
    assert "(warning)" in warning.inputs["name"] and "certificate-check:warning" in warning.inputs["tags"]
    assert ssl(prod)["www-monitors-tls-example.org-8443-warning"].inputs["assertions"][0]["target"] == "45"


def test_nothing_pages_where_paging_is_off() -> None:
    quiet = _record(dataclasses.replace(ARGS, environment="staging", page_on_call=False, pagerduty_handle=None))
    assert all(PAGER not in t.inputs["message"] for t in quiet.of_type(SYNTHETICS))


def test_a_tls_check_alone_watches_a_service(prod: Recording) -> None:
    # No HTTP check, no host monitors: the certificate checks are enough to be watched.
    assert len(prod.of_type(SYNTHETICS)) == 4


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: TlsCheck("WWW.example.org"), "TlsCheck.host"),
        (lambda: TlsCheck("www.example.org", port=0), "TlsCheck.port"),
        (lambda: TlsCheck("www.example.org", alert_days=0), "TlsCheck.alert_days"),
        (lambda: TlsCheck("www.example.org", warning_days=14), "warning_days"),
        (lambda: TlsCheck("www.example.org", tags=("Owner:X",)), "TlsCheck.tags"),
        (lambda: TlsCheck("www.example.org", tags="certificate:managed"), "TlsCheck.tags"),  # type: ignore[arg-type]
        (lambda: dataclasses.replace(ARGS, tls_checks=("www.example.org",)), "tls_checks"),
        (lambda: dataclasses.replace(ARGS, tls_checks=(TlsCheck("a.example.org"),) * 2), "twice"),
    ],
)
def test_bad_tls_checks_fail_in_one_line(make: Any, argument: str) -> None:
    with pytest.raises(ValueError, match=argument) as raised:
        make()
    assert "\n" not in str(raised.value)
