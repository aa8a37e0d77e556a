"""An on-call rotation in PagerDuty, wired to Datadog: who is paged, in what order, for which alert handles.

One :class:`OnCallRotation` makes the people (PagerDuty users, invited at their addresses), a weekly front-line
schedule and a weekly backup schedule, and one escalation policy: the front line first, the backup after a
delay, then a team mailbox (a PagerDuty user whose login address is the team's list). For every
Datadog paging handle ``@pagerduty-<name>`` it makes a PagerDuty service on that policy with a Datadog
integration, and the Datadog service object called ``<name>`` holding that integration's key: Datadog
sends a page to ``@pagerduty-<name>`` as an event to that key (Datadog provider docs,
integration_pagerduty_service_object: "service_key ... may also be referred to as an Integration Key").

The contracts it keeps, from terraform-provider-pagerduty: a layer's ``rotation_turn_length_seconds`` is
3600 to 365 days (weekly is 604800), ``users`` is not empty, ``escalation_delay_in_minutes`` is at least 1,
``num_loops`` 0 to 9; a service integration with a vendor takes the vendor's ID (the ``pagerduty_vendor``
data source, name "Datadog"). Datadog's PagerDuty integration itself (the account's subdomain) must be
installed once in the Datadog UI before service objects work (Datadog provider docs); it is not made here.

The mailbox has no contact method or notification rule of its own: PagerDuty gives every new user an e-mail
contact method at the login address and a default notification rule using it (the "Default" references of
the Users API), so the list is e-mailed as soon as the policy reaches it. Declaring that contact method again
fails at create: the provider's ``pagerduty_user_contact_method`` create (pagerdutyplugin, PagerDuty/go-pagerduty
client) passes the API's "User Contact method must be unique" straight through; only its update adopts the
existing one. The policy rule ``pagerduty-login-address-not-redeclared`` keeps it that way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_datadog as datadog
import pulumi_pagerduty as pagerduty

from components.common import invalid as _fail

ON_CALL_TYPE: Final = "infra:oncall:OnCallRotation"
WEEK_SECONDS: Final = 7 * 24 * 3600
DATADOG_VENDOR: Final = "Datadog"
# After the team mailbox the policy starts again from the front line, twice, before it gives up.
NUM_LOOPS: Final = 2
HANDLE_PREFIX: Final = "@pagerduty-"
_HANDLE = re.compile(r"^@pagerduty-([A-Za-z0-9][A-Za-z0-9_.-]{0,99})$")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class Person:
    """Someone on call: a slug for logical names, the display name, and the address PagerDuty invites (secret)."""

    key: str
    name: str
    email: pulumi.Input[str]

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _SLUG.match(self.key):
            raise _fail("Person.key", self.key, "must be a lower-case slug such as ee-durbin")
        if not isinstance(self.name, str) or not self.name.strip():
            raise _fail("Person.name", self.name, "must be the person's name")


def handle_service_name(handle: str) -> str:
    """The Datadog service object's name behind a paging handle: ``@pagerduty-psf-infra`` -> ``psf-infra``."""
    match = _HANDLE.match(handle) if isinstance(handle, str) else None
    if match is None:
        raise _fail("paging handle", handle, "must be a Datadog PagerDuty handle, @pagerduty-<service name>")
    return match.group(1)


@dataclass(frozen=True)
class OnCallArgs:
    """Who is paged and how.

    - ``name``: prefix of every PagerDuty name (the environment's physical prefix, so stacks never collide);
    - ``front_line``, ``backup``: the people of each weekly rotation, in rotation order (at least one each);
    - ``team_mailbox``: the last step, a user whose address is the team's list;
    - ``escalation_minutes``: how long an unacknowledged page stays at each step;
    - ``time_zone`` (IANA) and ``rotation_start`` (RFC 3339): when the weekly hand-offs happen;
    - ``handles``: the Datadog paging handles, each with the description of its PagerDuty service.
    """

    name: str
    front_line: Sequence[Person]
    backup: Sequence[Person]
    team_mailbox: Person
    escalation_minutes: int
    time_zone: str
    rotation_start: str
    handles: Mapping[str, str]

    def __post_init__(self) -> None:
        for label, people in (("front_line", self.front_line), ("backup", self.backup)):
            if isinstance(people, str) or not people or not all(isinstance(p, Person) for p in people):
                raise _fail(f"OnCallArgs.{label}", people, "must list at least one Person")
        everyone = [*self.front_line, *self.backup, self.team_mailbox]
        keys = [p.key for p in everyone]
        if len(set(keys)) != len(keys):
            raise _fail("OnCallArgs", keys, "must not name a person twice (one tier each, not the mailbox)")
        if isinstance(self.escalation_minutes, bool) or not isinstance(self.escalation_minutes, int):
            raise _fail("OnCallArgs.escalation_minutes", self.escalation_minutes, "must be a whole number")
        if not 1 <= self.escalation_minutes <= 1440:
            raise _fail("OnCallArgs.escalation_minutes", self.escalation_minutes, "must be from 1 to 1440")
        if not isinstance(self.rotation_start, str) or not _RFC3339.match(self.rotation_start):
            raise _fail("OnCallArgs.rotation_start", self.rotation_start, "must be RFC 3339, e.g. 2026-01-05T16:00:00Z")
        if not self.handles:
            raise _fail("OnCallArgs.handles", self.handles, "must name at least one paging handle")
        for handle in self.handles:
            handle_service_name(handle)


class OnCallRotation(pulumi.ComponentResource):
    """The people, schedules, escalation policy, and one PagerDuty service per paging handle. See :class:`OnCallArgs`.

    Attributes: ``users`` (key -> User), ``front_line`` and ``backup`` (the Schedules), ``policy``, ``services``
    (handle -> Service), ``service_objects`` (handle -> the Datadog ServiceObject).
    """

    users: dict[str, pagerduty.User]
    services: dict[str, pagerduty.Service]
    service_objects: dict[str, datadog.pagerduty.ServiceObject]

    def __init__(
        self,
        name: str,
        args: OnCallArgs,
        *,
        pagerduty_provider: pulumi.ProviderResource,
        datadog_provider: pulumi.ProviderResource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(args, OnCallArgs):
            raise _fail("OnCallRotation(args=...)", args, "must be an OnCallArgs")
        for package, provider in (("pagerduty", pagerduty_provider), ("datadog", datadog_provider)):
            if not isinstance(provider, pulumi.ProviderResource) or provider.package != package:
                raise _fail(
                    f"OnCallRotation({package}_provider=...)", provider, f"must be an explicit {package} provider"
                )
        super().__init__(ON_CALL_TYPE, name, None, opts)
        pd = pulumi.ResourceOptions(parent=self, provider=pagerduty_provider)
        self.users = {}
        for person in (*args.front_line, *args.backup):
            self.users[person.key] = self._user(name, person, args, pd)
        # Reached by the contact method and notification rule PagerDuty creates with every user (module docstring).
        mailbox = self._user(name, args.team_mailbox, args, pd)
        self.users[args.team_mailbox.key] = mailbox
        self.front_line = self._schedule(f"{name}-front-line", "front line", args.front_line, args, pd)
        self.backup = self._schedule(f"{name}-backup", "backup", args.backup, args, pd)
        delay = args.escalation_minutes
        self.policy = pagerduty.EscalationPolicy(
            f"{name}-escalation",
            name=f"{args.name} escalation",
            description="Front line first, then the volunteers' backup, then the team's list.",
            num_loops=NUM_LOOPS,
            rules=[
                pagerduty.EscalationPolicyRuleArgs(
                    escalation_delay_in_minutes=delay,
                    targets=[pagerduty.EscalationPolicyRuleTargetArgs(type="schedule_reference", id=schedule.id)],
                )
                for schedule in (self.front_line, self.backup)
            ]
            + [
                pagerduty.EscalationPolicyRuleArgs(
                    escalation_delay_in_minutes=delay,
                    targets=[pagerduty.EscalationPolicyRuleTargetArgs(type="user_reference", id=mailbox.id)],
                )
            ],
            opts=pd,
        )
        vendor = pagerduty.get_vendor_output(
            name=DATADOG_VENDOR, opts=pulumi.InvokeOutputOptions(parent=self, provider=pagerduty_provider)
        )
        self.services = {}
        self.service_objects = {}
        for handle, description in args.handles.items():
            service_name = handle_service_name(handle)
            service = pagerduty.Service(
                f"{name}-{service_name}",
                name=f"{args.name} {service_name}",
                description=description,
                escalation_policy=self.policy.id,
                opts=pd,
            )
            integration = pagerduty.ServiceIntegration(
                f"{name}-{service_name}-datadog",
                name=DATADOG_VENDOR,
                service=service.id,
                vendor=vendor.id,
                opts=pulumi.ResourceOptions.merge(
                    pd, pulumi.ResourceOptions(additional_secret_outputs=["integrationKey"])
                ),
            )
            self.services[handle] = service
            self.service_objects[handle] = datadog.pagerduty.ServiceObject(
                f"{name}-{service_name}-service-object",
                service_name=service_name,
                service_key=pulumi.Output.secret(integration.integration_key),
                opts=pulumi.ResourceOptions(parent=self, provider=datadog_provider),
            )
        self.register_outputs(
            {
                "policy_id": self.policy.id,
                "schedule_ids": {"front_line": self.front_line.id, "backup": self.backup.id},
                "service_ids": {handle: service.id for handle, service in self.services.items()},
            }
        )

    @staticmethod
    def _user(name: str, person: Person, args: OnCallArgs, opts: pulumi.ResourceOptions) -> pagerduty.User:
        return pagerduty.User(
            f"{name}-user-{person.key}",
            name=person.name,
            email=person.email,
            time_zone=args.time_zone,
            # Without one the provider writes "Managed by Terraform".
            description=f"On call for {args.name}; managed by Pulumi.",
            opts=opts,
        )

    def _schedule(
        self, logical: str, label: str, people: Sequence[Person], args: OnCallArgs, opts: pulumi.ResourceOptions
    ) -> pagerduty.Schedule:
        return pagerduty.Schedule(
            logical,
            name=f"{args.name} {label}",
            description=f"Weekly {label} rotation.",
            time_zone=args.time_zone,
            layers=[
                pagerduty.ScheduleLayerArgs(
                    name=f"Weekly {label}",
                    start=args.rotation_start,
                    rotation_virtual_start=args.rotation_start,
                    rotation_turn_length_seconds=WEEK_SECONDS,
                    users=[self.users[p.key].id for p in people],
                )
            ],
            opts=opts,
        )
