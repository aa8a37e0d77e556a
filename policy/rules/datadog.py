"""Datadog: synthetics coverage and who alerts reach."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final
from urllib.parse import urlsplit

from policy.rules.base import (
    CERTIFICATE_WARNING_NO_PAGE,
    CERTIFICATE_WARNING_TAG,
    FASTLY_SERVICE,
    MONITOR,
    SYNTHETICS_TEST,
    Finding,
    Resource,
    _items,
    _map,
    _maps,
    _number,
    _of,
    _str,
    _violation,
    _waived,
    resource_rule,
    stack_rule,
)

# The least warning a certificate alert must give: two weeks to renew or replace it by hand.
CERTIFICATE_ALERT_MIN_DAYS: Final = 14


def _test_hosts(test: Resource) -> set[str]:
    request = _map(test.props.get("requestDefinition"))
    hosts = {(urlsplit(_str(request.get("url"))).hostname or ""), _str(request.get("host"))}
    return {h.lower().rstrip(".") for h in hosts if h}


@stack_rule(
    "datadog-synthetics-cover-public-hosts",
    anchors=("ours",),
    enforcement="advisory",
    types=(FASTLY_SERVICE, SYNTHETICS_TEST),
)
def _synthetics_cover_hosts(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every public hostname a Fastly service answers for has a Datadog synthetics test (an SSL test is not one)."""
    tested = {h for t in _of(resources, SYNTHETICS_TEST) if t.props.get("subtype") != "ssl" for h in _test_hosts(t)}
    for service in _of(resources, FASTLY_SERVICE):
        for domain in _maps(service.props.get("domains")):
            host = _str(domain.get("name")).lower().rstrip(".")
            if host and not host.startswith("*.") and host not in tested:
                yield _violation(
                    service,
                    f"public host {host} has no synthetics test, so nobody hears when it is down. Fix: add a "
                    f"SyntheticsTest with request_definition url https://{host}/.",
                )


_ALERTS: Final = (MONITOR, SYNTHETICS_TEST)
_HANDLE_RE: Final = re.compile(r"@[\w.+-]+")
_PAGER_RE: Final = re.compile(r"@pagerduty\b", re.IGNORECASE)


def _notifications(alert: Resource) -> str:
    return f"{_str(alert.props.get('message'))} {_str(alert.props.get('escalationMessage'))}"


@resource_rule("datadog-alerts-notify-team", anchors=("ours",), enforcement="advisory", types=_ALERTS)
def _alerts_notify_team(alert: Resource) -> Iterable[Finding]:
    """Every Datadog monitor and synthetics test notifies someone (an @handle in its message)."""
    if not _HANDLE_RE.search(_notifications(alert)):
        yield _violation(alert, "notifies nobody. Fix: put the team's @handle (notifyHandles) in its message.")


@resource_rule("datadog-staging-never-pages", anchors=("ours",), enforcement="mandatory", types=_ALERTS)
def _staging_never_pages(alert: Resource) -> Iterable[Finding]:
    """Outside production no alert pages on-call (no @pagerduty handle)."""
    if not alert.is_prod and _PAGER_RE.search(_notifications(alert)):
        yield _violation(
            alert,
            f"would page on-call from the {alert.stack} stack. Fix: set pageOnCall false for this stack so the "
            "@pagerduty handle is left out.",
        )


@resource_rule("datadog-prod-pages-on-call", anchors=("ours",), enforcement="advisory", types=_ALERTS)
def _prod_pages(alert: Resource) -> Iterable[Finding]:
    """In production every alert pages on-call (an @pagerduty handle in its message)."""
    if alert.is_prod and not _PAGER_RE.search(_notifications(alert)):
        message = "does not page on-call in production. Fix: add the pagerdutyHandle to its message."
        if CERTIFICATE_WARNING_TAG in _items(alert.props.get("tags")):
            yield _waived(alert, message, CERTIFICATE_WARNING_NO_PAGE)
        else:
            yield _violation(alert, message)


def _alert_days(test: Resource) -> float | None:
    """The days of certificate life an SSL alert test demands, or None when it is not one."""
    if test.props.get("subtype") != "ssl" or CERTIFICATE_WARNING_TAG in _items(test.props.get("tags")):
        return None
    if _map(test.props.get("optionsList")).get("acceptSelfSigned") is True:
        return None  # it would pass a self-signed certificate: no check of the certificate's validity
    days = [
        _number(a.get("target"))
        for a in _maps(test.props.get("assertions"))
        if a.get("type") == "certificate" and a.get("operator") == "isInMoreThan"
    ]
    known = [d for d in days if d is not None]
    return max(known) if known else None


@stack_rule(
    "datadog-certificate-expiry-alert",
    anchors=("ours",),
    enforcement="mandatory",
    types=(FASTLY_SERVICE, SYNTHETICS_TEST),
)
def _certificate_expiry_alert(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every public hostname a Fastly service answers for has an SSL test that alerts 14 days before expiry.

    It must also fail an invalid certificate (not accept self-signed ones). Renewal that silently fails
    otherwise surfaces as an outage on the day the certificate expires.
    """
    watched: dict[str, float] = {}
    for test in _of(resources, SYNTHETICS_TEST):
        days = _alert_days(test)
        host = _str(_map(test.props.get("requestDefinition")).get("host")).lower().rstrip(".")
        if days is not None and host:
            watched[host] = max(days, watched.get(host, 0.0))
    for service in _of(resources, FASTLY_SERVICE):
        for domain in _maps(service.props.get("domains")):
            host = _str(domain.get("name")).lower().rstrip(".")
            if not host or host.startswith("*."):
                continue
            days = watched.get(host)
            if days is None or days < CERTIFICATE_ALERT_MIN_DAYS:
                found = "none" if days is None else f"one at {days:g} days"
                yield _violation(
                    service,
                    f"public host {host} has no SSL test alerting at least {CERTIFICATE_ALERT_MIN_DAYS} days before "
                    f"its certificate expires ({found}). Fix: a TlsCheck for it in the service's monitors.",
                )


DASHBOARD_JSON: Final = "datadog:index/dashboardJson:DashboardJson"
SLO: Final = "datadog:index/serviceLevelObjective:ServiceLevelObjective"


def _selections(widgets: Sequence[Mapping[str, object]]) -> Iterable[tuple[str, str, frozenset[str]]]:
    for widget in widgets:
        definition = _map(widget.get("definition"))
        kind = _str(definition.get("type"))
        if kind == "group":
            yield from _selections(_maps(definition.get("widgets")))
        elif kind == "manage_status":
            yield (
                kind,
                _str(definition.get("title")),
                frozenset(re.findall(r'tag:"([^"]+)"', _str(definition.get("query")))),
            )
        elif kind == "slo_list":
            for request in _maps(definition.get("requests")):
                text = _str(_map(request.get("query")).get("query_string"))
                # Terms of an SLO search, without its AND operators (components.dashboards.slo_query).
                yield kind, _str(definition.get("title")), frozenset(t for t in text.split() if t != "AND")


@stack_rule(
    "datadog-dashboards-select-what-exists",
    anchors=("ours",),
    enforcement="advisory",
    types=(DASHBOARD_JSON, MONITOR, SYNTHETICS_TEST, SLO),
)
def _dashboards_select(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every monitor list and objective list on a dashboard selects tags some monitor or objective of the stack has.

    Dashboards find monitors by tags, not IDs (a monitor's message links its dashboard, so the dashboard comes
    first); a tag that nothing carries leaves the widget empty, which looks like "all is well".
    """
    monitor_tags = [frozenset(_str(t) for t in _items(r.props.get("tags"))) for r in _of(resources, _ALERTS)]
    slo_tags = [frozenset(_str(t) for t in _items(r.props.get("tags"))) for r in _of(resources, SLO)]
    for board in _of(resources, DASHBOARD_JSON):
        text = board.props.get("dashboard")
        if not isinstance(text, str):
            continue
        try:
            document = json.loads(text)
        except ValueError:
            yield _violation(board, "holds a dashboard that is not JSON; the provider refuses it. Fix: json.dumps.")
            continue
        for kind, title, wanted in _selections(_maps(_map(document).get("widgets"))):
            pool = slo_tags if kind == "slo_list" else monitor_tags
            if not any(wanted <= tags for tags in pool):
                yield _violation(
                    board,
                    f"widget {title!r} ({kind}) selects {', '.join(sorted(wanted))}, which no "
                    f"{'objective' if kind == 'slo_list' else 'monitor'} of the stack carries, so it shows nothing. "
                    "Fix: select the tags the service's monitors carry (env:, service:).",
                )


# Datadog's SLO API (terraform-provider-datadog resource_datadog_service_level_objective.go and its docs):
# a target and a warning lie in (0, 100), the warning above the target; a time frame is one of these; the
# top-level timeframe/target_threshold/warning_threshold must match the thresholds entry of that time frame;
# a monitor-based objective names its monitors.
SLO_TIMEFRAMES: Final = ("7d", "30d", "90d", "custom")


@resource_rule("datadog-slo-thresholds", anchors=("ours",), enforcement="mandatory", types=(SLO,))
def _slo_thresholds(slo: Resource) -> Iterable[Finding]:
    """Every objective's thresholds are ones the SLO API accepts, and its primary time frame has one."""
    thresholds = _maps(slo.props.get("thresholds"))
    if not thresholds:
        yield _violation(slo, "has no thresholds; the API refuses it. Fix: one per time frame, e.g. 30d at 99.9.")
        return
    for entry in thresholds:
        timeframe, target, warning = _str(entry.get("timeframe")), _number(entry.get("target")), entry.get("warning")
        if timeframe not in SLO_TIMEFRAMES:
            yield _violation(slo, f"has a threshold over {timeframe!r}; Datadog takes {', '.join(SLO_TIMEFRAMES)}.")
        if target is None or not 0 < target < 100:
            yield _violation(slo, f"targets {target} over {timeframe}; Datadog takes a target in (0, 100).")
        elif entry.get("warning") is not None and (warning is None or not target < warning < 100):
            yield _violation(
                slo,
                f"warns at {warning} over {timeframe}; the warning must lie above the target ({target:g}), below 100.",
            )
    primary = slo.props.get("timeframe")
    if primary is not None:
        matching = [e for e in thresholds if _str(e.get("timeframe")) == _str(primary)]
        if not matching:
            yield _violation(slo, f"has primary time frame {_str(primary)!r} but no threshold over it.")
        else:
            for key, field in (("targetThreshold", "target"), ("warningThreshold", "warning")):
                top, inner = slo.props.get(key), matching[0].get(field)
                if top is not None and _number(top) != _number(inner):
                    yield _violation(
                        slo,
                        f"{key} {_number(top)} differs from the {_str(primary)} threshold's {field} "
                        f"({_number(inner)}); the API refuses a primary threshold matching none of its thresholds.",
                    )
    if _str(slo.props.get("type")) == "monitor" and not _items(slo.props.get("monitorIds")):
        yield _violation(slo, "is monitor-based but names no monitor; the provider refuses it. Fix: its checks' IDs.")


# The Dashboards API (v1): ``reflow_type`` belongs to an ``ordered`` layout only; with ``auto`` no widget has a
# ``layout`` and with ``fixed`` (or a ``free`` layout) every one does; a group widget's layout is ``ordered``.
DASHBOARD_LAYOUTS: Final = ("ordered", "free")


def _layout_problems(widgets: Sequence[Mapping[str, object]], positioned: bool | None) -> Iterable[str]:
    for widget in widgets:
        definition = _map(widget.get("definition"))
        kind, title = _str(definition.get("type")), _str(definition.get("title"))
        has_layout = widget.get("layout") is not None
        if positioned is False and has_layout:
            yield f"widget {title or kind!r} has a layout in a dashboard that reflows automatically"
        if positioned is True and not has_layout:
            yield f"widget {title or kind!r} has no layout in a dashboard that places its widgets"
        if kind == "group":
            if _str(definition.get("layout_type")) != "ordered":
                yield f"group {title!r} has layout_type {definition.get('layout_type')!r}; a group's is 'ordered'"
            yield from _layout_problems(_maps(definition.get("widgets")), positioned)


@resource_rule("datadog-dashboard-layout", anchors=("ours",), enforcement="mandatory", types=(DASHBOARD_JSON,))
def _dashboard_layout(board: Resource) -> Iterable[Finding]:
    """A dashboard document's layout is one the API accepts: layout type, reflow type and widget layouts agree."""
    text = board.props.get("dashboard")
    if not isinstance(text, str):
        return
    try:
        document = _map(json.loads(text))
    except ValueError:
        return  # datadog-dashboards-select-what-exists reports it
    layout, reflow = _str(document.get("layout_type")), document.get("reflow_type")
    if layout not in DASHBOARD_LAYOUTS:
        yield _violation(board, f"has layout_type {layout!r}; the API takes {' or '.join(DASHBOARD_LAYOUTS)}.")
        return
    if reflow is not None and layout != "ordered":
        yield _violation(board, f"sets reflow_type {reflow!r} on a {layout} layout; only an ordered one reflows.")
        return
    if reflow is not None and _str(reflow) not in ("auto", "fixed"):
        yield _violation(board, f"has reflow_type {reflow!r}; the API takes auto or fixed.")
        return
    positioned = True if layout == "free" or reflow == "fixed" else False if reflow == "auto" else None
    for problem in _layout_problems(_maps(document.get("widgets")), positioned):
        yield _violation(board, f"{problem}; the API refuses it. Fix: components.dashboards builds ordered, auto.")
