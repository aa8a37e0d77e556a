"""OnCallRotation and the dashboard builders under the recording mocks, and the uptime objective of ServiceMonitors."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pulumi
import pulumi_pagerduty as pagerduty
import pytest

from components.dashboards import ServiceDashboardArgs, dashboard, referenced_tags
from components.monitors import HttpCheck, ServiceMonitors, ServiceMonitorsArgs
from components.oncall import ON_CALL_TYPE, OnCallArgs, OnCallRotation, Person, handle_service_name
from tests.component_helpers import (
    SECRET,
    TestProviders,
    assert_every_custom_resource_has_a_provider,
    assert_names_derived_from,
    one,
    program_error,
    record,
)

ARGS = OnCallArgs(
    name="test-on-call",
    # Addresses are made secret inside each recorded program: an Output belongs to one evaluation's loop.
    front_line=(Person("alice", "Alice Example", "alice@example.org"),),
    backup=(Person("bob", "Bob Example", "bob@example.org"), Person("carol", "Carol Example", "carol@example.org")),
    team_mailbox=Person("team", "The Team", "team@example.org"),
    escalation_minutes=15,
    time_zone="UTC",
    rotation_start="2026-01-05T16:00:00Z",
    handles={"@pagerduty-infra": "infra pages", "@pagerduty-web": "web pages"},
)


def _secret(people: tuple[Person, ...]) -> tuple[Person, ...]:
    return tuple(dataclasses.replace(p, email=pulumi.Output.secret(p.email)) for p in people)


def _rotation(args: OnCallArgs) -> Any:
    def program(p: TestProviders) -> None:
        secret = dataclasses.replace(
            args, front_line=_secret(tuple(args.front_line)), backup=_secret(tuple(args.backup))
        )
        OnCallRotation(
            "rota", secret, pagerduty_provider=pagerduty.Provider("pd", token="t"), datadog_provider=p.datadog
        )

    return program


@pytest.fixture(scope="module")
def rotation() -> Any:
    return record(_rotation(ARGS))


def test_people_schedules_and_policy(rotation: Any) -> None:
    assert_every_custom_resource_has_a_provider(rotation)
    assert_names_derived_from(rotation, one(rotation, ON_CALL_TYPE))
    users = {r.id: r for r in rotation.of_type("pagerduty:index/user:User")}
    assert len(users) == 4
    assert {u.inputs["email"] for u in users.values()} == {SECRET, "team@example.org"}
    front = rotation.named("rota-front-line").inputs["layers"][0]
    backup = rotation.named("rota-backup").inputs["layers"][0]
    assert [users[u].inputs["name"] for u in front["users"]] == ["Alice Example"]
    assert [users[u].inputs["name"] for u in backup["users"]] == ["Bob Example", "Carol Example"]
    assert front["rotationTurnLengthSeconds"] == backup["rotationTurnLengthSeconds"] == 604800
    rules = rotation.named("rota-escalation").inputs["rules"]
    assert [r["escalationDelayInMinutes"] for r in rules] == [15, 15, 15]
    assert [r["targets"][0]["type"] for r in rules] == ["schedule_reference", "schedule_reference", "user_reference"]
    assert users[rules[2]["targets"][0]["id"]].inputs["email"] == "team@example.org"
    # The mailbox is e-mailed through the default contact method PagerDuty gives every user at its login.
    assert rotation.of_type("pagerduty:index/userContactMethod:UserContactMethod") == []
    assert rotation.of_type("pagerduty:index/userNotificationRule:UserNotificationRule") == []


def test_one_service_and_service_object_per_handle(rotation: Any) -> None:
    objects = {r.inputs["serviceName"]: r for r in rotation.of_type("datadog:pagerduty/serviceObject:ServiceObject")}
    assert set(objects) == {"infra", "web"}
    assert all(o.inputs["serviceKey"] == SECRET for o in objects.values())
    integrations = rotation.of_type("pagerduty:index/serviceIntegration:ServiceIntegration")
    assert len(integrations) == 2 and all(
        i.options.additional_secret_outputs == ("integrationKey",) for i in integrations
    )
    assert "pagerduty:index/getVendor:getVendor" in rotation.calls


@pytest.mark.parametrize(
    ("change", "argument"),
    [
        ({"front_line": ()}, "OnCallArgs.front_line"),
        ({"escalation_minutes": 0}, "OnCallArgs.escalation_minutes"),
        ({"rotation_start": "next monday"}, "OnCallArgs.rotation_start"),
        ({"handles": {"@infra": "x"}}, "paging handle"),
        ({"handles": {}}, "OnCallArgs.handles"),
        ({"backup": (Person("alice", "Alice Again", "a@example.org"),)}, "OnCallArgs"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(change: dict[str, Any], argument: str) -> None:
    with pytest.raises(ValueError, match=f"^{argument} = ") as caught:
        dataclasses.replace(ARGS, **change)
    assert "\n" not in str(caught.value)


def test_a_default_provider_is_refused() -> None:
    def program(p: TestProviders) -> None:
        OnCallRotation("rota", ARGS, pagerduty_provider=p.datadog, datadog_provider=p.datadog)

    assert "explicit pagerduty provider" in str(program_error(program))


def test_handle_service_name() -> None:
    assert handle_service_name("@pagerduty-psf-infrastructure") == "psf-infrastructure"
    with pytest.raises(ValueError, match="@pagerduty-<service name>"):
        handle_service_name("@slack-infra")


# --- dashboards ---------------------------------------------------------------------------------------------


def test_a_service_dashboard_is_one_json_document_the_api_would_return() -> None:
    args = ServiceDashboardArgs(
        title="[prod] Docs",
        description="The docs.",
        tags=("env:prod", "service:docs"),
        host_tags=("service:docs", "env:prod"),
        cdn_tags=("env:prod", "cdn_service:docs"),
        facts=("Owners: Julien",),
    )

    def program(p: TestProviders) -> None:
        dashboard("docs-dashboard", args.title, args.description, args.widgets(), provider=p.datadog)

    board = one(record(program), "datadog:index/dashboardJson:DashboardJson")
    document = json.loads(board.inputs["dashboard"])
    assert board.inputs["dashboard"] == json.dumps(document, sort_keys=True, ensure_ascii=False), "sorted keys"
    assert document["layout_type"] == "ordered" and document["reflow_type"] == "auto"
    assert document["notify_list"] == [] and document["template_variables"] == []
    assert not any("layout" in w for w in document["widgets"]), "auto reflow: no positions"
    assert referenced_tags(board.inputs["dashboard"]) == [
        ("manage_status", "Monitors and uptime checks", ("env:prod", "service:docs")),
        ("slo_list", "Uptime objectives (from the synthetics)", ("env:prod", "service:docs")),
    ]
    slo_list = next(w["definition"] for w in document["widgets"] if w["definition"]["type"] == "slo_list")
    # Written as the provider's slo_list examples write an SLO search: explicit ANDs.
    assert slo_list["requests"][0]["query"]["query_string"] == "env:prod AND service:docs"
    text = json.dumps(document)
    for metric in ("fastly.requests", "fastly.hit_ratio", "fastly.status_5xx", "fastly.miss_time"):
        assert metric in text


@pytest.mark.parametrize(("field", "value"), [("tags", ()), ("tags", ("Env:Prod",)), ("title", " ")])
def test_bad_dashboard_arguments_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"^ServiceDashboardArgs\.{field} = "):
        ServiceDashboardArgs(**({"title": "t", "description": "d", "tags": ("env:prod",)} | {field: value}))


# --- the uptime objective and the dashboard link of ServiceMonitors -------------------------------------------

MONITORS = ServiceMonitorsArgs(
    service="docs",
    environment="prod",
    datacenter="nyc1",
    http_checks=(HttpCheck("docs.example.org"), HttpCheck("www.example.org")),
    locations=("aws:us-east-1", "aws:eu-central-1", "gcp:us-west1"),
    owners=("Alice Example",),
    contact="docs@example.org",
    notify_handles=("@team",),
    host_thresholds=None,
    uptime_target=99.9,
    dashboard_url="https://app.example.org/dashboard/abc",
)


def test_the_objective_covers_every_uptime_check_and_messages_link_the_dashboard() -> None:
    def program(p: TestProviders) -> None:
        ServiceMonitors("docs-monitors", MONITORS, provider=p.datadog)

    recording = record(program)
    slo = one(recording, "datadog:index/serviceLevelObjective:ServiceLevelObjective")
    tests = recording.of_type("datadog:index/syntheticsTest:SyntheticsTest")
    assert set(slo.inputs["monitorIds"]) == {t.outputs["monitorId"] for t in tests}
    assert slo.inputs["thresholds"] == [{"target": 99.9, "timeframe": "30d", "warning": 99.95}]
    assert all("Dashboard: https://app.example.org/dashboard/abc" in t.inputs["message"] for t in tests)


@pytest.mark.parametrize("target", [0, 100, 99.995, True])
def test_an_uptime_target_outside_what_datadog_takes_is_refused(target: Any) -> None:
    with pytest.raises(ValueError, match=r"^ServiceMonitorsArgs\.uptime_target = "):
        dataclasses.replace(MONITORS, uptime_target=target)
