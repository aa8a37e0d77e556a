"""Datadog: synthetics coverage and who alerts reach."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final
from urllib.parse import urlsplit

from policy.rules.base import (
    FASTLY_SERVICE,
    MONITOR,
    SYNTHETICS_TEST,
    Finding,
    Resource,
    _map,
    _maps,
    _of,
    _str,
    _violation,
    resource_rule,
    stack_rule,
)


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
    """Every public hostname a Fastly service answers for has a Datadog synthetics test."""
    tested = {h for t in _of(resources, SYNTHETICS_TEST) for h in _test_hosts(t)}
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
        yield _violation(
            alert,
            "does not page on-call in production. Fix: config psf-infra:pageOnCall true (the settings refuse false "
            "in prod); in code, the pagerdutyHandle in its message.",
        )
