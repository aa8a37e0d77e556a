"""ServiceMonitors under the recording mocks: a prod-style and a staging-style service, evaluated once."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_datadog as datadog
import pytest

from components.monitors import (
    SERVICE_MONITORS_TYPE,
    HostThresholds,
    HttpCheck,
    ServiceMonitors,
    ServiceMonitorsArgs,
    TcpCheck,
)
from offline.recorder import SECRET, ProgramFailedError, Record, Recording, record_program

SYNTHETICS = "datadog:index/syntheticsTest:SyntheticsTest"
MONITOR = "datadog:index/monitor:Monitor"
LOCATIONS = ("aws:us-east-1", "aws:eu-central-1", "gcp:us-west1", "azure:eastus")
PAGER = "@pagerduty-oncall"

PROD = ServiceMonitorsArgs(
    service="mail",
    environment="prod",
    datacenter="ams1",
    http_checks=(
        HttpCheck("lists.example.org"),
        HttpCheck(
            "backend.example.org",
            path="/_health",
            port=8443,
            expected_status=301,
            max_response_time_ms=1000,
            body_contains="ok",
        ),
    ),
    tcp_checks=(TcpCheck("mail.example.org", 25),),
    locations=LOCATIONS,
    owners=("Alice Example", "Bob Example"),
    contact="postmaster@example.org",
    notify_handles=("@infra-team", "@ops@example.org"),
    page_on_call=True,
    pagerduty_handle=PAGER,
    host_scope=("service:mail", "env:prod"),
    runbook_url="https://runbooks.example.org/mail",
)
# What a staging stack passes: the same service, a handle configured, but paging off.
STAGING = dataclasses.replace(
    PROD, environment="staging", page_on_call=False, host_scope=("service:mail", "env:staging")
)
STATIC = ServiceMonitorsArgs(
    service="site",
    environment="prod",
    datacenter="external",
    http_checks=(HttpCheck("www.example.com"),),
    locations=LOCATIONS[:3],
    owners=("Carol Example",),
    contact="web@example.com",
    notify_handles=("@web-team",),
    host_thresholds=None,
)
KEPT: dict[str, Any] = {}


def _program() -> None:
    provider = datadog.Provider("dd")
    origin_token = pulumi.Output.secret("s3cret")
    prod_args = dataclasses.replace(
        PROD,
        http_checks=(
            PROD.http_checks[0],
            dataclasses.replace(
                PROD.http_checks[1], headers={"Fastly-Token": origin_token, "Host": "lists.example.org"}
            ),
        ),
    )
    prod = ServiceMonitors("mail-prod", prod_args, provider=provider)
    staging = ServiceMonitors("mail-staging", STAGING, provider=provider)
    static = ServiceMonitors("site", STATIC, provider=provider)
    KEPT.update(prod=prod, staging=staging, static=static)
    pulumi.export("public_ids", prod.synthetics_public_ids)
    pulumi.export("test_monitor_ids", prod.synthetics_monitor_ids)
    pulumi.export("monitor_ids", prod.monitor_ids)


@pytest.fixture(scope="module")
def rec() -> Recording:
    return record_program(_program)


def _below(rec: Recording, component: str, type_: str | None = None) -> list[Record]:
    return [r for r in rec.children(rec.named(component)) if type_ is None or r.type == type_]


def _tests(rec: Recording, component: str) -> dict[str, Record]:
    found: dict[str, Record] = {}
    for record in _below(rec, component, SYNTHETICS):
        request = record.inputs["requestDefinition"]
        key = request.get("url") or f"tcp://{request['host']}:{request['port']}"
        found[key] = record
    return found


def _monitors(rec: Recording, component: str) -> dict[str, Record]:
    return {r.name.removeprefix(f"{component}-"): r for r in _below(rec, component, MONITOR)}


# --- tree and providers ------------------------------------------------------------------------------------


def test_component_type_token(rec: Recording) -> None:
    for name in ("mail-prod", "mail-staging", "site"):
        assert rec.named(name).type == SERVICE_MONITORS_TYPE


def test_every_custom_resource_has_an_explicit_provider(rec: Recording) -> None:
    dd = rec.named("dd").urn
    customs = [r for r in rec.resources if r.custom]
    assert len(customs) == 3 + 4 + 3 + 4 + 1
    for record in customs:
        assert record.options.provider is not None, record.urn
        assert record.options.provider == dd, record.urn


def test_children_named_after_the_component_and_unique(rec: Recording) -> None:
    for name in ("mail-prod", "mail-staging", "site"):
        for child in _below(rec, name):
            assert child.name.startswith(f"{name}-")
    urns = [r.urn for r in rec.records]
    assert len(urns) == len(set(urns))


# --- synthetics --------------------------------------------------------------------------------------------


def test_one_synthetics_test_per_public_host(rec: Recording) -> None:
    assert set(_tests(rec, "mail-prod")) == {
        "https://lists.example.org/",
        "https://backend.example.org:8443/_health",
        "tcp://mail.example.org:25",
    }
    assert set(_tests(rec, "site")) == {"https://www.example.com/"}


def test_http_test_defaults(rec: Recording) -> None:
    test = _tests(rec, "mail-prod")["https://lists.example.org/"]
    inputs = test.inputs
    assert inputs["type"] == "api"
    assert inputs["subtype"] == "http"
    assert inputs["status"] == "live"
    assert inputs["requestDefinition"] == {"method": "GET", "url": "https://lists.example.org/"}
    assert inputs["assertions"] == [
        {"type": "statusCode", "operator": "is", "target": "200"},
        {"type": "responseTime", "operator": "lessThan", "target": "2000"},
    ]
    assert inputs["locations"] == list(LOCATIONS)
    options = inputs["optionsList"]
    assert options["tickEvery"] == 60
    assert options["retry"] == {"count": 1, "interval": 300}
    assert options["minFailureDuration"] == 180
    assert options["minLocationFailed"] == 2
    assert options["followRedirects"] is False
    assert options["monitorPriority"] == 2
    assert options["monitorOptions"] == {"renotifyInterval": 120}
    assert options["monitorName"] == inputs["name"]


def test_http_test_custom_expectations_and_secret_headers(rec: Recording) -> None:
    inputs = _tests(rec, "mail-prod")["https://backend.example.org:8443/_health"].inputs
    assert inputs["assertions"] == [
        {"type": "statusCode", "operator": "is", "target": "301"},
        {"type": "responseTime", "operator": "lessThan", "target": "1000"},
        {"type": "body", "operator": "contains", "target": "ok"},
    ]
    headers = inputs["requestHeaders"]
    assert headers in ({"Fastly-Token": SECRET, "Host": "lists.example.org"}, SECRET)
    assert "s3cret" not in json.dumps(inputs)


def test_tcp_test_for_smtp(rec: Recording) -> None:
    inputs = _tests(rec, "mail-prod")["tcp://mail.example.org:25"].inputs
    assert inputs["type"] == "api"
    assert inputs["subtype"] == "tcp"
    assert inputs["requestDefinition"] == {"host": "mail.example.org", "port": "25"}
    assert inputs["assertions"] == [{"type": "responseTime", "operator": "lessThan", "target": "5000"}]
    assert inputs["optionsList"]["retry"] == {"count": 1, "interval": 300}
    # TCP tests run from every location too, not only the HTTP ones (the second form of the rule).
    assert inputs["locations"] == list(LOCATIONS)


# --- host monitors -----------------------------------------------------------------------------------------


def test_host_monitors_exist_per_service(rec: Recording) -> None:
    assert set(_monitors(rec, "mail-prod")) == {"agent-up", "disk", "cpu", "memory"}
    assert _monitors(rec, "site") == {}


def test_agent_up_is_a_service_check_that_alerts_on_silence(rec: Recording) -> None:
    inputs = _monitors(rec, "mail-prod")["agent-up"].inputs
    assert inputs["type"] == "service check"
    assert inputs["query"] == '"datadog.agent.up".over("service:mail","env:prod").by("host").last(2).count_by_status()'
    assert inputs["notifyNoData"] is True
    assert inputs["noDataTimeframe"] == 10
    assert inputs["priority"] == "2"


@pytest.mark.parametrize(
    ("kind", "query", "warning", "critical"),
    [
        ("disk", "avg(last_5m):avg:system.disk.in_use{service:mail,env:prod} by {host,device} > 0.9", "0.8", "0.9"),
        ("cpu", "avg(last_15m):100 - avg:system.cpu.idle{service:mail,env:prod} by {host} > 95", "85", "95"),
        ("memory", "avg(last_5m):avg:system.mem.pct_usable{service:mail,env:prod} by {host} < 0.1", "0.2", "0.1"),
    ],
)
def test_resource_monitors(rec: Recording, kind: str, query: str, warning: str, critical: str) -> None:
    inputs = _monitors(rec, "mail-prod")[kind].inputs
    assert inputs["type"] == "metric alert"
    assert inputs["query"] == query
    assert inputs["monitorThresholds"] == {"warning": warning, "critical": critical}
    assert inputs["notifyNoData"] is False
    assert inputs["priority"] == "3"
    assert inputs["newGroupDelay"] == 300


def test_staging_monitors_scope_staging_hosts(rec: Recording) -> None:
    assert "{service:mail,env:staging}" in _monitors(rec, "mail-staging")["disk"].inputs["query"]


# --- messages, paging, tags, names -------------------------------------------------------------------------


def _checks(rec: Recording, component: str) -> list[Record]:
    return _below(rec, component, SYNTHETICS) + _below(rec, component, MONITOR)


@pytest.mark.parametrize("component", ["mail-prod", "mail-staging"])
def test_messages_name_owners_contact_and_handles(rec: Recording, component: str) -> None:
    for record in _checks(rec, component):
        message = record.inputs["message"]
        assert "Owners: Alice Example, Bob Example" in message
        assert "Contact: postmaster@example.org" in message
        assert "@infra-team @ops@example.org" in message
        assert "Runbook: https://runbooks.example.org/mail" in message


def test_prod_pages_on_call_for_alerts_only(rec: Recording) -> None:
    for record in _checks(rec, "mail-prod"):
        message = record.inputs["message"]
        assert f"{{{{#is_alert}}}}{PAGER}{{{{/is_alert}}}}" in message
        assert f"{{{{#is_alert_recovery}}}}{PAGER}{{{{/is_alert_recovery}}}}" in message
        assert message.count("@pagerduty") == 2


@pytest.mark.parametrize("component", ["mail-staging", "site"])
def test_without_page_on_call_no_pagerduty_handle_appears_anywhere(rec: Recording, component: str) -> None:
    checks = _checks(rec, component)
    assert checks
    for record in checks:
        assert "@pagerduty" not in json.dumps(record.inputs).lower(), record.name


@pytest.mark.parametrize("component", ["mail-prod", "mail-staging", "site"])
def test_tags_on_every_check(rec: Recording, component: str) -> None:
    args = {"mail-prod": PROD, "mail-staging": STAGING, "site": STATIC}[component]
    expected = [f"env:{args.environment}", f"service:{args.service}", f"datacenter:{args.datacenter}"]
    for record in _checks(rec, component):
        tags = record.inputs["tags"]
        assert tags[:3] == expected
        assert all(tag == tag.lower() and ":" in tag for tag in tags)


def test_names_include_the_environment_and_never_collide(rec: Recording) -> None:
    prod = {r.inputs["name"] for r in _checks(rec, "mail-prod")}
    staging = {r.inputs["name"] for r in _checks(rec, "mail-staging")}
    assert all(name.startswith("[prod] mail: ") for name in prod)
    assert all(name.startswith("[staging] mail: ") for name in staging)
    assert len(prod) == len(_checks(rec, "mail-prod"))
    assert not prod & staging


def test_priority_is_set_everywhere(rec: Recording) -> None:
    for record in _checks(rec, "mail-prod"):
        if record.type == MONITOR:
            assert record.inputs["priority"] in ("2", "3")
        else:
            assert record.inputs["optionsList"]["monitorPriority"] == 2


# --- outputs -----------------------------------------------------------------------------------------------


def test_outputs(rec: Recording) -> None:
    prod = KEPT["prod"]
    assert prod.checked_urls == (
        "https://lists.example.org/",
        "https://backend.example.org:8443/_health",
        "tcp://mail.example.org:25",
    )
    tests = _tests(rec, "mail-prod")
    assert rec.stack_outputs["public_ids"] == {url: tests[url].id for url in prod.checked_urls}
    assert rec.stack_outputs["test_monitor_ids"] == {url: tests[url].outputs["monitorId"] for url in prod.checked_urls}
    monitors = _monitors(rec, "mail-prod")
    assert rec.stack_outputs["monitor_ids"] == {
        "agent": monitors["agent-up"].id,
        "disk": monitors["disk"].id,
        "cpu": monitors["cpu"].id,
        "memory": monitors["memory"].id,
    }
    assert KEPT["static"].monitor_ids == {}


# --- argument errors ---------------------------------------------------------------------------------------


def _args(**changes: Any) -> ServiceMonitorsArgs:
    return dataclasses.replace(STAGING, **changes)


ERRORS: list[tuple[str, Callable[[], object], tuple[str, ...]]] = [
    ("two locations", lambda: _args(locations=LOCATIONS[:2]), ("ServiceMonitorsArgs.locations", "at least 3")),
    ("bad location", lambda: _args(locations=(*LOCATIONS[:3], "moon-1")), ("'moon-1'", "aws:us-east-1")),
    (
        "nothing watched",
        lambda: _args(http_checks=(), tcp_checks=(), host_scope=(), host_thresholds=None),
        ("ServiceMonitorsArgs.http_checks", "()", "at least one"),
    ),
    ("hosts as strings", lambda: _args(http_checks=("www.example.org",)), ("http_checks", "HttpCheck")),
    ("same URL twice", lambda: _args(http_checks=(HttpCheck("a.example.org"), HttpCheck("a.example.org"))), ("twice",)),
    ("handle without @", lambda: _args(notify_handles=("infra-team",)), ("notify_handles", "'infra-team'", "'@'")),
    ("no handles", lambda: _args(notify_handles=()), ("notify_handles", "reach a team")),
    ("pager in notify", lambda: _args(notify_handles=("@pagerduty-x",)), ("'@pagerduty-x'", "page_on_call=True")),
    ("bad pager handle", lambda: _args(pagerduty_handle="@oncall"), ("pagerduty_handle", "'@oncall'")),
    ("page without handle", lambda: _args(page_on_call=True, pagerduty_handle=None), ("pagerduty_handle", "None")),
    ("pager in owners", lambda: _args(owners=("@pagerduty-sneaky",)), ("ServiceMonitorsArgs.owners", "@pagerduty")),
    ("pager in contact", lambda: _args(contact="@pagerduty-x@example.org"), ("ServiceMonitorsArgs.contact",)),
    ("no owners", lambda: _args(owners=()), ("ServiceMonitorsArgs.owners", "at least one owner")),
    ("bad contact", lambda: _args(contact="postmaster"), ("ServiceMonitorsArgs.contact", "'postmaster'")),
    ("upper-case env", lambda: _args(environment="Prod"), ("ServiceMonitorsArgs.environment", "'Prod'", "lower-case")),
    ("no host scope", lambda: _args(host_scope=()), ("ServiceMonitorsArgs.host_scope", "host_thresholds=None")),
    ("bad scope tag", lambda: _args(host_scope=("Service:Mail",)), ("host_scope", "'Service:Mail'", "key:value")),
    ("retry too long", lambda: _args(retry_interval_ms=300_000), ("retry_interval_ms", "300000", "0 to 5000")),
    ("min failed > locations", lambda: _args(min_location_failed=5), ("min_location_failed", "5", "1 to 4")),
    ("priority 0", lambda: _args(priority=0), ("ServiceMonitorsArgs.priority", "0", "1 to 5")),
    ("bad renotify", lambda: _args(renotify_interval_min=7), ("renotify_interval_min", "7", "minutes")),
    ("http runbook", lambda: _args(runbook_url="http://x"), ("runbook_url", "https://")),
    ("bad host", lambda: HttpCheck("https://www.example.org"), ("HttpCheck.host", "'https://www.example.org'")),
    ("bad path", lambda: HttpCheck("www.example.org", path="status"), ("HttpCheck.path", "'status'", "'/'")),
    ("bad status", lambda: HttpCheck("www.example.org", expected_status=999), ("expected_status", "999", "100 to 599")),
    ("bad port", lambda: TcpCheck("mail.example.org", 0), ("TcpCheck.port", "0", "1 to 65535")),
    ("disk inverted", lambda: HostThresholds(disk_warning=0.95), ("disk_warning", "0.95", "below disk_critical")),
    ("memory inverted", lambda: HostThresholds(memory_warning=0.05), ("memory_warning", "0.05", "above")),
    ("disk as percent", lambda: HostThresholds(disk_critical=90), ("disk_critical", "90", "fraction")),
]


@pytest.mark.parametrize(("build", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_argument_errors_are_clear(build: Callable[[], object], expected: tuple[str, ...]) -> None:
    with pytest.raises(ValueError) as caught:
        build()
    message = str(caught.value)
    assert "is invalid:" in message
    for fragment in expected:
        assert fragment in message, message


def test_provider_is_required() -> None:
    with pytest.raises(ValueError, match=r"ServiceMonitors\(provider=\.\.\.\) = None .*explicit datadog provider"):
        ServiceMonitors("x", STATIC, provider=None)  # pyright: ignore[reportArgumentType]


def test_provider_of_another_cloud_is_refused() -> None:
    def program() -> None:
        ServiceMonitors("x", STATIC, provider=aws.Provider("aws", region="us-east-1"))

    with pytest.raises(ProgramFailedError) as caught:
        record_program(program)
    assert isinstance(caught.value.cause, ValueError)
    assert "ServiceMonitors(provider=...) = 'aws provider' is invalid: must be an explicit datadog provider" in str(
        caught.value.cause
    )
    assert not [r for r in caught.value.records if r.type.startswith("datadog:")]


def test_a_private_host_may_be_watched_by_host_monitors_alone() -> None:
    args = _args(http_checks=(), host_scope=("service:backup", "environment:prod"))
    assert args.http_checks == () and args.host_scope
