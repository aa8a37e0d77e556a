"""PagerDuty: staging pages no one; the rotation keeps the provider's limits; every page has a road to a person.

Limits from terraform-provider-pagerduty (pagerduty/resource_pagerduty_schedule.go and
resource_pagerduty_escalation_policy.go): a layer's ``rotation_turn_length_seconds`` is 3600 to 365 days and
its ``users`` is not empty; a rule's ``escalation_delay_in_minutes`` is at least 1; ``num_loops`` is 0 to 9.
PagerDuty makes every new user an e-mail contact method at the login address, and the provider's create of
``pagerduty_user_contact_method`` (pagerdutyplugin/resource_pagerduty_user_contact_method.go) does not adopt it:
declaring it again fails with "User Contact method must be unique". Mocks accept all of these; the PagerDuty
API refuses them at ``up``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

from policy.rules.base import (
    MONITOR,
    SECRET,
    SYNTHETICS_TEST,
    Finding,
    Resource,
    _items,
    _maps,
    _number,
    _of,
    _str,
    _unverified,
    _violation,
    resource_rule,
    stack_rule,
)

PD_USER: Final = "pagerduty:index/user:User"
PD_SCHEDULE: Final = "pagerduty:index/schedule:Schedule"
PD_ESCALATION_POLICY: Final = "pagerduty:index/escalationPolicy:EscalationPolicy"
PD_SERVICE: Final = "pagerduty:index/service:Service"
PD_SERVICE_INTEGRATION: Final = "pagerduty:index/serviceIntegration:ServiceIntegration"
PD_CONTACT_METHOD: Final = "pagerduty:index/userContactMethod:UserContactMethod"
DD_PAGERDUTY_SERVICE_OBJECT: Final = "datadog:pagerduty/serviceObject:ServiceObject"
DD_PAGERDUTY_INTEGRATION: Final = "datadog:pagerduty/integration:Integration"
PAGING_TYPES: Final = (
    PD_USER,
    PD_SCHEDULE,
    PD_ESCALATION_POLICY,
    PD_SERVICE,
    PD_SERVICE_INTEGRATION,
    PD_CONTACT_METHOD,
    "pagerduty:index/userNotificationRule:UserNotificationRule",
    DD_PAGERDUTY_SERVICE_OBJECT,
    DD_PAGERDUTY_INTEGRATION,
)
ROTATION_SECONDS: Final = (3600, 365 * 24 * 3600)
MAX_LOOPS: Final = 9
_PAGER_HANDLE: Final = re.compile(r"@pagerduty-([A-Za-z0-9][A-Za-z0-9_.-]*)")


@resource_rule("pagerduty-only-in-prod", anchors=("ours",), enforcement="mandatory", types=PAGING_TYPES)
def _only_in_prod(resource: Resource) -> Iterable[Finding]:
    """Outside production nothing is made in PagerDuty, nor Datadog's road to it: staging pages no one."""
    if not resource.is_prod:
        yield _violation(
            resource,
            f"would exist in the {resource.stack} stack, which pages no one. Fix: build the on-call rotation only "
            "where settings.paging is set (pageOnCall true, prod).",
        )


@resource_rule("pagerduty-schedule-limits", anchors=("ours",), enforcement="mandatory", types=(PD_SCHEDULE,))
def _schedule_limits(schedule: Resource) -> Iterable[Finding]:
    """Every schedule layer turns every 1 hour to 365 days and names at least one user (the API refuses otherwise)."""
    layers = _maps(schedule.props.get("layers"))
    if not layers:
        yield _violation(schedule, "has no layer, so nobody is ever on call. Fix: add a weekly layer.")
    for layer in layers:
        turn = _number(layer.get("rotationTurnLengthSeconds"))
        if turn is None or not ROTATION_SECONDS[0] <= turn <= ROTATION_SECONDS[1]:
            yield _violation(
                schedule,
                f"layer {_str(layer.get('name'))!r} turns every {turn} s; PagerDuty takes 3600 to 31536000. "
                "Fix: a week is 604800.",
            )
        if not _items(layer.get("users")):
            yield _violation(schedule, f"layer {_str(layer.get('name'))!r} names no user. Fix: list the rotation.")


@resource_rule("pagerduty-escalation-limits", anchors=("ours",), enforcement="mandatory", types=(PD_ESCALATION_POLICY,))
def _escalation_limits(policy: Resource) -> Iterable[Finding]:
    """Every escalation rule waits at least a minute and has a target; the policy loops 0 to 9 times."""
    loops = _number(policy.props.get("numLoops"))
    if loops is not None and not 0 <= loops <= MAX_LOOPS:
        yield _violation(policy, f"loops {loops:g} times; PagerDuty takes 0 to {MAX_LOOPS}. Fix: numLoops 2.")
    rules = _maps(policy.props.get("rules"))
    if not rules:
        yield _violation(policy, "has no rule, so a page reaches nobody. Fix: the front-line schedule first.")
    for n, rule in enumerate(rules, 1):
        delay = _number(rule.get("escalationDelayInMinutes"))
        if delay is None or delay < 1:
            yield _violation(policy, f"rule {n} waits {delay} minutes; PagerDuty takes at least 1.")
        if not _maps(rule.get("targets")):
            yield _violation(policy, f"rule {n} has no target. Fix: a schedule_reference or user_reference.")


@resource_rule("pagerduty-front-line-first", anchors=("ours",), enforcement="advisory", types=(PD_ESCALATION_POLICY,))
def _front_line_first(policy: Resource) -> Iterable[Finding]:
    """An escalation policy pages a schedule first (the rotation), not a fixed person or a mailbox."""
    rules = _maps(policy.props.get("rules"))
    first = _maps(rules[0].get("targets")) if rules else []
    if first and not all(_str(t.get("type")) == "schedule_reference" for t in first):
        yield _violation(
            policy, "pages someone other than the on-call rotation first. Fix: the front-line schedule's rule first."
        )


@stack_rule(
    "pagerduty-login-address-not-redeclared",
    anchors=("ours",),
    enforcement="mandatory",
    types=(PD_USER, PD_CONTACT_METHOD),
)
def _login_address_not_redeclared(resources: Sequence[Resource]) -> Iterable[Finding]:
    """No e-mail contact method repeats its user's login address, which PagerDuty already made one of.

    The create fails ("User Contact method must be unique") and the rest of the rotation waits on it.
    """
    users = {user.urn: user for user in _of(resources, PD_USER)}
    for method in _of(resources, PD_CONTACT_METHOD):
        if _str(method.props.get("type")) != "email_contact_method":
            continue
        address = _str(method.props.get("address"))
        for owner in (users[urn] for urn in method.dependencies if urn in users):
            login = _str(owner.props.get("email"))
            if method.secrets_marked and SECRET in (address, login):
                yield _unverified(method, f"cannot compare its address with {owner.label}'s login, a secret")
            elif address.strip().casefold() == login.strip().casefold():
                yield _violation(
                    method,
                    f"repeats the login address of {owner.label}, which PagerDuty gives every user as its default "
                    "e-mail contact method: the create fails with 'User Contact method must be unique'. Fix: drop it; "
                    "the user's default contact method and notification rule already e-mail that address.",
                )


def _handles(alert: Resource) -> set[str]:
    text = f"{_str(alert.props.get('message'))} {_str(alert.props.get('escalationMessage'))}"
    return set(_PAGER_HANDLE.findall(text))


@stack_rule(
    "datadog-pagerduty-handles-resolve",
    anchors=("ours",),
    enforcement="mandatory",
    types=(MONITOR, SYNTHETICS_TEST, DD_PAGERDUTY_SERVICE_OBJECT),
)
def _handles_resolve(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every ``@pagerduty-X`` handle a production alert names has a Datadog service object called X.

    Datadog drops a page to a handle no service object answers to: the alert "pages" and nobody is woken.
    """
    objects = {_str(o.props.get("serviceName")) for o in _of(resources, DD_PAGERDUTY_SERVICE_OBJECT)}
    for alert in _of(resources, (MONITOR, SYNTHETICS_TEST)):
        if not alert.is_prod:
            continue
        for name in sorted(_handles(alert) - objects):
            yield _violation(
                alert,
                f"pages @pagerduty-{name}, which no Datadog PagerDuty service object is called, so the page is lost. "
                f"Fix: give the on-call rotation a service for it (datadog.pagerduty.ServiceObject '{name}').",
            )


@stack_rule(
    "pagerduty-service-objects-hold-integration-keys",
    anchors=("ours",),
    enforcement="advisory",
    types=(DD_PAGERDUTY_SERVICE_OBJECT, PD_SERVICE_INTEGRATION),
)
def _objects_hold_keys(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every Datadog service object's key is a secret that comes from a PagerDuty integration of this stack."""
    integrations = {r.urn for r in _of(resources, PD_SERVICE_INTEGRATION)}
    for service_object in _of(resources, DD_PAGERDUTY_SERVICE_OBJECT):
        key = service_object.props.get("serviceKey")
        from_integration = bool(integrations & set(service_object.dependencies))
        if service_object.secrets_marked and key != "[secret]":
            yield _violation(service_object, "holds its service key in plaintext. Fix: pulumi.Output.secret(...).")
        if not from_integration:
            yield _violation(
                service_object,
                "takes its key from no PagerDuty service integration of this stack, so it may route to a service "
                "nobody manages. Fix: service_key=ServiceIntegration.integration_key.",
            )


__all__ = [
    "DD_PAGERDUTY_INTEGRATION",
    "DD_PAGERDUTY_SERVICE_OBJECT",
    "PAGING_TYPES",
    "PD_CONTACT_METHOD",
    "PD_ESCALATION_POLICY",
    "PD_SCHEDULE",
    "PD_SERVICE",
    "PD_SERVICE_INTEGRATION",
    "PD_USER",
]
