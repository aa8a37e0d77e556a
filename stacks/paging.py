"""Settings of who is paged and what Datadog reads from Fastly: the on-call roster and the optional secrets.

Split from :mod:`stacks.settings` by concern; :func:`stacks.settings.parse_settings` calls :func:`parse_paging`
and :func:`parse_fastly_metrics`, and this module never reads config itself.

**Optional secrets.** A key Pulumi.yaml declares ``secret: true`` cannot be left unset: the CLI refuses a stack
that lacks a declared key without a default ("Stack ... is missing configuration value"), and stores a default
unencrypted, which it then refuses for a secret key ("must be encrypted as it's secret"; pulumi
pkg/workspace/config.go, mergeConfig and validateStackConfigValue). Staging must deploy with no PagerDuty token
at all, so the keys below are declared as plain strings with an empty default; :data:`OPTIONAL_SECRETS` marks
them secret for everything else in this repository (the workflows, the README, the recorder), and
:func:`stacks.settings.load_settings` refuses any of them set without ``--secret``. Each is needed only when the
key it names is set (a boolean true, a list not empty).
"""

from __future__ import annotations

import datetime
import email.utils
import re
import unicodedata
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from stacks.settings import Secret, SettingsError

OPTIONAL_SECRETS: Final[Mapping[str, str]] = {
    "pagerdutyToken": "pageOnCall",
    "onCallEmails": "pageOnCall",
    "fastlyReadOnlyApiKey": "fastlyMetrics",
    # The registrar's token (stacks.settings._registrar): needed once registrarDomains lists a domain.
    "gandiToken": "registrarDomains",
}
"""Secret keys a stack may leave unset, each with the key that makes it required (a boolean that is true, or
a list that is not empty)."""

Tier = Literal["employee", "volunteer"]
TIERS: Final[tuple[Tier, ...]] = ("employee", "volunteer")
# PagerDuty refuses a delay under one minute (terraform-provider-pagerduty escalation_policy:
# escalation_delay_in_minutes IntAtLeast(1)); a day is longer than any incident should wait for a human.
ESCALATION_MINUTES: Final = range(1, 1441)
_NAME = re.compile(r"^[^\s<>,@\"][^<>,@\"]*[^\s<>,@\"]$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$")
# Read-only Fastly API tokens are 32 characters of the URL-safe alphabet (Fastly's token management page).
_FASTLY_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True)
class Responder:
    """One person of the on-call roster: the name the PSF publishes, the tier, and the address PagerDuty invites."""

    name: str
    tier: Tier
    email: Secret

    @property
    def key(self) -> str:
        """A slug of the name, for logical names: ``Ee Durbin`` -> ``ee-durbin``."""
        return slug(self.name)


@dataclass(frozen=True)
class Paging:
    """Who production pages: the PagerDuty token, the roster, and how the escalation policy waits.

    Employees are the front line, volunteers the backup (seed 000). ``rotation_start`` is when the weekly
    rotations began (RFC 3339); PagerDuty keeps the order of hand-offs from it.
    """

    token: Secret
    responders: tuple[Responder, ...]
    escalation_minutes: int
    time_zone: str
    rotation_start: str

    def tier(self, tier: Tier) -> tuple[Responder, ...]:
        """The responders of one tier, in roster order (the order of the rotation)."""
        return tuple(r for r in self.responders if r.tier == tier)


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits and '-' for ``text`` (accents dropped)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def _roster(entries: tuple[str, ...]) -> list[tuple[str, Tier]]:
    roster: list[tuple[str, Tier]] = []
    for entry in entries:
        tier, _, name = entry.partition(" ")
        name = name.strip()
        if tier not in TIERS or not _NAME.match(name) or not slug(name):
            raise SettingsError(
                "onCall", entry, 'must be "employee <name>" or "volunteer <name>" entries, e.g. "employee Ee Durbin"'
            )
        if slug(name) in {slug(n) for n, _ in roster}:
            raise SettingsError("onCall", entry, "names someone twice; a person has one tier")
        roster.append((name, tier))
    return roster


def _addresses(value: str) -> dict[str, str]:
    """``"Name <address>, Name <address>"`` (an address list, as in a To: header) as {name: address}."""
    if not value:
        return {}
    parsed = email.utils.getaddresses([value])
    found: dict[str, str] = {}
    for name, address in parsed:
        if not name or not _EMAIL.match(address):
            # Never echo the value: it is a secret, and personal.
            raise SettingsError(
                "onCallEmails", "****", 'must be an address list "Name <address>, Name <address>" naming each person'
            )
        found[name.strip()] = address
    return found


def _rotation_start(value: str) -> str:
    try:
        start = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        start = None
    if start is None or start.tzinfo is None:
        raise SettingsError(
            "onCallRotationStart", value, "must be an RFC 3339 time with its offset, e.g. 2026-01-05T16:00:00Z"
        )
    return value


def parse_paging(
    *,
    page_on_call: bool,
    token: str,
    roster: tuple[str, ...],
    emails: str,
    escalation_minutes: int,
    time_zone: str,
    rotation_start: str,
) -> Paging | None:
    """The production paging settings, or None where the stack pages no one (``pageOnCall`` false).

    Every value is checked whether or not it is used, so a mistake surfaces in staging before prod. A stack that
    pages needs the token, at least one employee and one volunteer, and an address for exactly the roster.
    """
    people = _roster(roster)
    addresses = _addresses(emails)
    if time_zone not in zoneinfo.available_timezones():
        raise SettingsError("onCallTimeZone", time_zone, "must be an IANA time zone such as UTC or America/New_York")
    start = _rotation_start(rotation_start)
    if not page_on_call:
        return None
    if not token:
        raise SettingsError(
            "pagerdutyToken",
            None,
            "required when pageOnCall is true; set it with `pulumi config set --secret "
            "pagerdutyToken` (a PagerDuty REST API key that can manage users, schedules and services)",
        )
    for tier in TIERS:
        if not any(t == tier for _, t in people):
            raise SettingsError("onCall", list(roster), f"must name at least one {tier} when pageOnCall is true")
    named = {name for name, _ in people}
    if missing := sorted(named - set(addresses)):
        raise SettingsError(
            "onCallEmails", "****", f"has no address for {missing[0]}; give every onCall person one, as Name <address>"
        )
    if extra := sorted(set(addresses) - named):
        raise SettingsError("onCallEmails", "****", f"names {extra[0]}, who is not in onCall")
    return Paging(
        token=Secret(token),
        responders=tuple(Responder(name, tier, Secret(addresses[name])) for name, tier in people),
        escalation_minutes=escalation_minutes,
        time_zone=time_zone,
        rotation_start=start,
    )


def parse_fastly_metrics(*, enabled: bool, api_key: str) -> Secret | None:
    """The read-only Fastly token Datadog's Fastly integration uses, or None where this stack registers none."""
    if api_key and not _FASTLY_TOKEN.match(api_key):
        raise SettingsError("fastlyReadOnlyApiKey", "****", "must be a Fastly API token (32 letters, digits, - or _)")
    if not enabled:
        return None
    if not api_key:
        raise SettingsError(
            "fastlyReadOnlyApiKey",
            None,
            "required when fastlyMetrics is true: a Fastly API token with the global:read scope only (Datadog reads "
            "the services' real-time stats with it); set it with `pulumi config set --secret fastlyReadOnlyApiKey`",
        )
    return Secret(api_key)


def offline_secrets(config: Mapping[str, Any], project: str) -> dict[str, str]:
    """Mock values of the optional secrets ``config`` (full keys) makes required, as an operator would set them.

    For the recorder: prod plans with a token and an address per roster name; staging, which pages no one,
    with none of them. The addresses are ``mock-onCallEmails+<name>@example.org`` (RFC 2606), never real ones.
    """

    def on(key: str) -> bool:
        value = config.get(f"{project}:{key}")
        return value is True or (isinstance(value, str) and value.strip().lower() == "true")

    mocks: dict[str, str] = {}
    if on("pageOnCall"):
        roster = config.get(f"{project}:onCall") or []
        names = [entry.partition(" ")[2].strip() for entry in roster if isinstance(entry, str)]
        mocks["pagerdutyToken"] = "mock-pagerdutyToken"
        mocks["onCallEmails"] = ", ".join(f"{n} <mock-onCallEmails+{slug(n)}@example.org>" for n in names)
    if on("fastlyMetrics"):
        mocks["fastlyReadOnlyApiKey"] = "mock-fastlyReadOnlyApiKey-000000000"[:32]
    return {f"{project}:{key}": value for key, value in mocks.items()}
