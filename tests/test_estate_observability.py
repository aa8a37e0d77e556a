"""On call and dashboards, from the recordings: who prod pages and how, what staging never does, what Datadog shows.

Each stack is recorded once per session (tests/conftest.py); these tests only read the records.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.dashboards import referenced_tags
from offline.recorder import SECRET, Record, Recording, program_config
from stacks.catalog import INFRA_CONTACT, SERVICES
from stacks.paging import TIERS
from stacks.settings import config_schema, parse_settings
from tests.test_settings import base

USER = "pagerduty:index/user:User"
SCHEDULE = "pagerduty:index/schedule:Schedule"
POLICY = "pagerduty:index/escalationPolicy:EscalationPolicy"
PD_SERVICE = "pagerduty:index/service:Service"
INTEGRATION = "pagerduty:index/serviceIntegration:ServiceIntegration"
SERVICE_OBJECT = "datadog:pagerduty/serviceObject:ServiceObject"
DASHBOARD = "datadog:index/dashboardJson:DashboardJson"
SLO = "datadog:index/serviceLevelObjective:ServiceLevelObjective"
SYNTHETICS = "datadog:index/syntheticsTest:SyntheticsTest"
MONITOR = "datadog:index/monitor:Monitor"
FASTLY = "fastly:index/serviceVcl:ServiceVcl"
FASTLY_ACCOUNT = "datadog:fastly/integrationAccount:IntegrationAccount"
FASTLY_SERVICE = "datadog:fastly/integrationService:IntegrationService"
HANDLE = re.compile(r"@pagerduty-([A-Za-z0-9][A-Za-z0-9_.-]*)")


def alerts(recording: Recording) -> list[Record]:
    return [*recording.of_type(SYNTHETICS), *recording.of_type(MONITOR)]


def by_id(recording: Recording, type_: str) -> dict[str, Record]:
    return {r.id: r for r in recording.of_type(type_) if r.id is not None}


# --- on call ------------------------------------------------------------------------------------------------


def test_every_prod_paging_handle_reaches_a_service_whose_policy_starts_with_the_front_line(prod: Recording) -> None:
    handles = {name for alert in alerts(prod) for name in HANDLE.findall(alert.inputs["message"])}
    assert handles == {"psf-infrastructure"}, "every prod alert pages the one handle the settings name"
    objects = {o.inputs["serviceName"]: o for o in prod.of_type(SERVICE_OBJECT)}
    integrations = {r.urn: r for r in prod.of_type(INTEGRATION)}
    services, policies, schedules = by_id(prod, PD_SERVICE), by_id(prod, POLICY), by_id(prod, SCHEDULE)
    for name in handles:
        service_object = objects[name]
        assert service_object.inputs["serviceKey"] == SECRET, "the integration key stays secret"
        (integration_urn,) = [u for u in service_object.options.dependencies if u in integrations]
        integration = integrations[integration_urn]
        assert integration.inputs["name"] == "Datadog" and integration.inputs["vendor"], "the Datadog vendor"
        service = services[integration.inputs["service"]]
        policy = policies[service.inputs["escalationPolicy"]]
        first = policy.inputs["rules"][0]["targets"]
        assert [t["type"] for t in first] == ["schedule_reference"]
        assert schedules[first[0]["id"]].name == "on-call-front-line"


def test_the_front_line_is_the_employees_and_the_backup_the_volunteers_weekly(prod: Recording) -> None:
    paging = parse_settings("prod", base("prod")).paging
    assert paging is not None
    users = by_id(prod, USER)
    for logical, tier in zip(("on-call-front-line", "on-call-backup"), TIERS, strict=True):
        (layer,) = prod.named(logical).inputs["layers"]
        assert layer["rotationTurnLengthSeconds"] == 7 * 24 * 3600
        assert layer["start"] == layer["rotationVirtualStart"] == paging.rotation_start
        names = [users[u].inputs["name"] for u in layer["users"]]
        assert names == [r.name for r in paging.tier(tier)], tier
    for user in prod.of_type(USER):
        assert user.inputs["email"] == SECRET or user.inputs["email"] == INFRA_CONTACT


def test_the_escalation_policy_waits_then_the_volunteers_then_the_team_list(prod: Recording) -> None:
    minutes = config_schema()["onCallEscalationMinutes"].default
    policy = prod.named("on-call-escalation")
    rules = policy.inputs["rules"]
    assert [r["escalationDelayInMinutes"] for r in rules] == [minutes] * 3
    schedules, users = by_id(prod, SCHEDULE), by_id(prod, USER)
    assert schedules[rules[1]["targets"][0]["id"]].name == "on-call-backup"
    mailbox = users[rules[2]["targets"][0]["id"]]
    assert mailbox.inputs["email"] == INFRA_CONTACT, "the infrastructure team's published list"
    assert 0 <= policy.inputs["numLoops"] <= 9
    # PagerDuty e-mails the list through the contact method and rule it gives every user at its login
    # address; declaring that contact method again fails at create (policy pagerduty-login-address-not-redeclared).
    assert prod.of_type("pagerduty:index/userContactMethod:UserContactMethod") == []
    assert prod.of_type("pagerduty:index/userNotificationRule:UserNotificationRule") == []


def test_staging_makes_nothing_in_pagerduty_and_pages_no_one(staging: Recording) -> None:
    assert not [r for r in staging.records if r.type.startswith(("pagerduty:", "pulumi:providers:pagerduty"))]
    assert not staging.of_type(SERVICE_OBJECT)
    assert not [a for a in alerts(staging) if "@pagerduty" in a.inputs["message"].lower()]


def test_staging_is_recorded_with_no_pagerduty_token_at_all() -> None:
    config, _ = program_config("staging")
    assert not {k for k in config if k.endswith((":pagerdutyToken", ":onCallEmails", ":fastlyReadOnlyApiKey"))}
    prod_config, _ = program_config("prod")
    assert "psf-infra:pagerdutyToken" in prod_config


# --- dashboards ---------------------------------------------------------------------------------------------


def test_every_watched_service_has_one_dashboard_and_the_estate_one_more(stack: Recording) -> None:
    boards = {b.name for b in stack.of_type(DASHBOARD)}
    watched = {r.inputs["tags"][1].split(":", 1)[1] for r in alerts(stack)}
    assert boards == {f"{key}-dashboard" for key in watched} | {"estate-dashboard"}
    assert watched <= set(SERVICES)


def test_every_monitor_message_links_its_services_dashboard(stack: Recording) -> None:
    urls = {b.name.removesuffix("-dashboard"): b.outputs["url"] for b in stack.of_type(DASHBOARD)}
    for alert in alerts(stack):
        key = alert.inputs["tags"][1].split(":", 1)[1]
        assert f"Dashboard: https://app.datadoghq.com{urls[key]}" in alert.inputs["message"], alert.name


def test_dashboards_select_the_tags_their_monitors_and_objectives_carry(stack: Recording) -> None:
    monitor_tags = [set(a.inputs["tags"]) for a in alerts(stack)]
    slo_tags = [set(s.inputs["tags"]) for s in stack.of_type(SLO)]
    for board in stack.of_type(DASHBOARD):
        selections = referenced_tags(board.inputs["dashboard"])
        assert selections, board.name
        for kind, title, tags in selections:
            pool = slo_tags if kind == "slo_list" else monitor_tags
            assert any(set(tags) <= carried for carried in pool), (board.name, title, tags)


def test_every_service_with_uptime_checks_has_an_objective_over_exactly_them(stack: Recording) -> None:
    tests_by_service: dict[str, set[int]] = {}
    for test in stack.of_type(SYNTHETICS):
        # Certificate checks watch renewal; a standby pair's direct probes (allow_insecure: the PSF CA) tell
        # which server Fastly uses, and one of them fails whenever the standby serves: neither is uptime.
        direct = test.inputs.get("optionsList", {}).get("allowInsecure") is True
        if test.inputs["subtype"] != "ssl" and not direct:
            tests_by_service.setdefault(test.inputs["tags"][1], set()).add(test.outputs["monitorId"])
    covered: dict[str, set[int]] = {}
    for slo in stack.of_type(SLO):
        assert slo.inputs["type"] == "monitor"
        covered.setdefault(slo.inputs["tags"][1], set()).update(slo.inputs["monitorIds"])
        (threshold,) = slo.inputs["thresholds"]
        assert threshold["timeframe"] == "30d" and 0 < threshold["target"] < threshold["warning"] < 100
    assert covered == tests_by_service
    names = [slo.inputs["name"] for slo in stack.of_type(SLO)]
    assert len(set(names)) == len(names)


def _widgets(document: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for widget in items:
            definition = widget["definition"]
            assert isinstance(definition, dict)
            found.append(definition)
            walk(definition.get("widgets", []))

    walk(json.loads(document)["widgets"])
    return found


def test_the_estate_dashboard_shows_uptime_hosts_per_datacenter_and_the_cdn(prod: Recording) -> None:
    document = prod.named("estate-dashboard").inputs["dashboard"]
    widgets = _widgets(document)
    groups = [str(w["title"]) for w in widgets if w["type"] == "group"]
    assert groups[0].startswith("Uptime")
    assert [g.split()[2] for g in groups if g.startswith("Hosts in")] == ["ams1", "nyc1", "sfo1"]
    queries = " ".join(str(r["q"]) for w in widgets if w["type"] == "timeseries" for r in w["requests"])
    for metric in ("fastly.requests", "fastly.hit_ratio", "fastly.status_5xx", "fastly.miss_time", "fastly.miss"):
        assert f"{metric}{{" in queries, metric
    assert json.loads(document)["layout_type"] == "ordered"


def test_prod_registers_every_fastly_service_with_datadog_and_staging_none(prod: Recording, staging: Recording) -> None:
    (account,) = prod.of_type(FASTLY_ACCOUNT)
    assert account.inputs["apiKey"] == SECRET
    registered = {r.inputs["serviceId"] for r in prod.of_type(FASTLY_SERVICE)}
    assert registered == {s.id for s in prod.of_type(FASTLY)}
    for service in prod.of_type(FASTLY_SERVICE):
        assert service.inputs["accountId"] == account.id
        tags = service.inputs["tags"]
        assert "env:prod" in tags and any(t.startswith("cdn_service:") for t in tags)
    assert not staging.of_type(FASTLY_ACCOUNT) and not staging.of_type(FASTLY_SERVICE)
    board = staging.named("estate-dashboard").inputs["dashboard"]
    cdn_queries = [w for w in _widgets(board) if "fastly" in json.dumps(w)]
    assert not cdn_queries, "staging's dashboards show no CDN metrics that nothing collects"


@pytest.mark.parametrize("key", ["docs", "mail", "python-org", "dns"])
def test_a_services_dashboard_is_made_from_its_description(prod: Recording, key: str) -> None:
    entry = SERVICES[key]
    document = json.loads(prod.named(f"{key}-dashboard").inputs["dashboard"])
    assert document["title"] == f"[prod] {entry.title}"
    text = json.dumps(document)
    assert entry.contact in text and all(owner in text for owner in entry.owners)
    has_hosts = any(w["type"] == "hostmap" for w in _widgets(json.dumps(document)))
    assert has_hosts == (key in {"docs", "mail"})
