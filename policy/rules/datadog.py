"""Datadog: synthetics coverage and who alerts reach."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
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
        message = (
            "does not page on-call in production. Fix: config psf-infra:pageOnCall true (the settings refuse "
            "false in prod); in code, the pagerdutyHandle in its message."
        )
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
