"""The estate's invariants, each pinned in its second form too.

Mutation testing found tests that pinned a rule's first form and let its second slip: CAA checked on one
zone only, SSH checked for 0.0.0.0/0 but not for two /1 halves, synthetics locations checked on HTTP tests
only. Each check below is a function over a recording that lists problems. It must find none in both
committed stacks, and it must find the mutant: the real recording with one record changed the way a
careless code change would change it. A check that passes its mutant is a check that pins nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import re
from collections.abc import Callable
from typing import Any

import pytest

from components.edge import CERTIFICATE_AUTHORITIES
from offline.recorder import Recording
from policy import offline
from policy.rules import RULES_BY_NAME
from policy.rules.base import CERTIFICATE_WARNING_TAG
from stacks import nyc1, sfo1
from stacks.ams1 import MAIL
from stacks.catalog import INFRA_CONTACT
from stacks.context import WebRole
from stacks.settings import Settings
from tests.test_estate import settings_of

DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
RECORD = "aws:route53/record:Record"
ZONE = "aws:route53/zone:Zone"
SYNTHETICS = "datadog:index/syntheticsTest:SyntheticsTest"
MONITOR = "datadog:index/monitor:Monitor"
PAGER = "@pagerduty"
ROLES: tuple[WebRole, ...] = (*nyc1.WEB_ROLES, MAIL, sfo1.BACKUP, sfo1.MIRROR)

Check = Callable[[Recording, Settings], list[str]]


# --- the checks ---------------------------------------------------------------------------------------------


def caa_problems(recording: Recording, settings: Settings) -> list[str]:
    """Every zone publishes, at its apex, an issue record for the stack's Fastly authority and the iodef contact."""
    fastly_ca = CERTIFICATE_AUTHORITIES[settings.tls_certificate_authority]
    expected = {f'0 issue "{fastly_ca}"', f'0 iodef "mailto:{INFRA_CONTACT}"'}
    problems = []
    for zone in recording.of_type(ZONE):
        apex = zone.inputs["name"]
        values = {
            v
            for r in recording.of_type(RECORD)
            if r.inputs["type"] == "CAA" and r.inputs["name"] == apex
            for v in r.inputs["records"]
        }
        if missing := sorted(expected - values):
            problems.append(f"{apex}: CAA lacks {missing}")
    return problems


def synthetics_problems(recording: Recording, settings: Settings) -> list[str]:
    """Every synthetics test, HTTP and TCP alike, runs from the stack's locations (three or more)."""
    wanted = list(settings.synthetics_locations)
    return [
        f"{t.name} ({t.inputs['subtype']}) runs from {t.inputs['locations']}"
        for t in recording.of_type(SYNTHETICS)
        if t.inputs["locations"] != wanted or len(t.inputs["locations"]) < 3
    ]


def egress_problems(recording: Recording, settings: Settings) -> list[str]:
    """No firewall lets traffic out to the whole internet except on the waived ports (an advisory rule, so
    the plan would not fail on it: this test does)."""
    return [v.message for v in offline.evaluate(recording, [RULES_BY_NAME["do-firewall-no-open-egress"]])]


def ssh_problems(recording: Recording, settings: Settings) -> list[str]:
    """SSH is open to the admin networks and nothing else, and no inbound rule covers the whole internet."""
    admin = set(settings.admin_cidrs)
    problems = [v.message for v in offline.evaluate(recording, [RULES_BY_NAME["do-firewall-no-public-inbound"]])]
    for firewall in recording.of_type(FIREWALL):
        for rule in firewall.inputs.get("inboundRules", []):
            if rule.get("portRange") == "22" and not set(rule.get("sourceAddresses", [])) <= admin:
                problems.append(f"{firewall.name}: SSH from {rule['sourceAddresses']}")
    return problems


def backup_problems(recording: Recording, settings: Settings) -> list[str]:
    """Stateful roles' droplets have DigitalOcean backups exactly when the stack asks for them (prod)."""
    problems = []
    for role in ROLES:
        for droplet in recording.of_type(DROPLET):
            if f"service:{role.key}" in droplet.inputs["tags"]:
                wanted = role.stateful and settings.backups
                if droplet.inputs.get("backups", False) is not wanted:
                    problems.append(f"{droplet.name}: backups {droplet.inputs.get('backups')}, want {wanted}")
    return problems


def paging_problems(recording: Recording, settings: Settings) -> list[str]:
    """In prod every monitor and synthetics test pages on-call, but certificate warnings; elsewhere none does.

    A certificate's 30-day warning never pages (the waiver ``certificate-warning-no-page``): its 14-day alert does.
    """
    problems = []
    for alert in recording.of_type(MONITOR) + recording.of_type(SYNTHETICS):
        want = settings.page_on_call and CERTIFICATE_WARNING_TAG not in (alert.inputs.get("tags") or [])
        if (PAGER in alert.inputs["message"]) is not want:
            problems.append(f"{alert.name}: pages {PAGER in alert.inputs['message']}, want {want}")
    return problems


def open_anywhere_problems(recording: Recording, settings: Settings) -> list[str]:
    """The backup host's firewall admits no address range covering the internet, in IPv4 or IPv6."""
    problems = []
    for rule in recording.named("sfo1-backup-fw").inputs["inboundRules"]:
        if rule.get("protocol") == "icmp":
            continue
        networks = [ipaddress.ip_network(a) for a in rule.get("sourceAddresses", [])]
        if any(n.prefixlen == 0 for n in ipaddress.collapse_addresses([n for n in networks if n.version == 4])) or any(
            n.prefixlen == 0 for n in ipaddress.collapse_addresses([n for n in networks if n.version == 6])
        ):
            problems.append(f"sfo1-backup-fw admits {rule['sourceAddresses']}")
    return problems


def mandatory_problems(recording: Recording, settings: Settings) -> list[str]:
    """The policy pack finds no mandatory violation (what makes the plan exit 3)."""
    return [v.message for v in offline.blocking(offline.evaluate(recording))]


CHECKS: dict[str, Check] = {
    "caa": caa_problems,
    "synthetics": synthetics_problems,
    "egress": egress_problems,
    "ssh": ssh_problems,
    "backups": backup_problems,
    "paging": paging_problems,
    "backup-host": open_anywhere_problems,
    "mandatory": mandatory_problems,
}


# --- mutants: the real recording with one record changed -----------------------------------------------------


def mutate(recording: Recording, pick: Callable[[Any], bool], change: Callable[[dict[str, Any]], None]) -> Recording:
    """``recording`` with ``change`` applied to the inputs of the first record ``pick`` selects."""
    done = False
    records = []
    for record in recording.records:
        if not done and pick(record):
            inputs = copy.deepcopy(dict(record.inputs))
            change(inputs)
            record = dataclasses.replace(record, inputs=inputs)
            done = True
        records.append(record)
    assert done, "the mutant's target is gone: update the mutant"
    return Recording(recording.stack, tuple(records), recording.stack_outputs, recording.calls)


def _drop_iodef(inputs: dict[str, Any]) -> None:
    inputs["records"] = [v for v in inputs["records"] if "iodef" not in v]


def _one_location(inputs: dict[str, Any]) -> None:
    inputs["locations"] = inputs["locations"][:1]


def _open_egress(inputs: dict[str, Any]) -> None:
    for rule in inputs["outboundRules"]:
        if rule.get("portRange") == "1-65535":
            rule["destinationAddresses"] = ["0.0.0.0/0", "::/0"]


def _ssh_halves(inputs: dict[str, Any]) -> None:
    for rule in inputs["inboundRules"]:
        if rule.get("portRange") == "22":
            rule["sourceAddresses"] = ["0.0.0.0/1", "128.0.0.0/1"]


def _backups_off(inputs: dict[str, Any]) -> None:
    inputs["backups"] = False


def _no_page(inputs: dict[str, Any]) -> None:
    inputs["message"] = re.sub(r"@pagerduty[\w.-]*", "", inputs["message"])


def _backup_host_v6_halves(inputs: dict[str, Any]) -> None:
    for rule in inputs["inboundRules"]:
        if rule.get("protocol") != "icmp":
            rule["sourceAddresses"] = [*rule.get("sourceAddresses", []), "::/1", "8000::/1"]
            break


def _is_caa_of_one_zone(r: Any) -> bool:
    return r.type == RECORD and r.inputs.get("type") == "CAA"


MUTANTS: list[tuple[str, str, str, Callable[[Any], bool], Callable[[dict[str, Any]], None]]] = [
    ("caa-iodef-dropped-on-one-zone", "caa", "prod", _is_caa_of_one_zone, _drop_iodef),
    (
        "tcp-synthetics-from-one-location",
        "synthetics",
        "prod",
        lambda r: r.type == SYNTHETICS and r.inputs["subtype"] == "tcp",
        _one_location,
    ),
    ("droplet-egress-opened", "egress", "prod", lambda r: r.type == FIREWALL, _open_egress),
    ("prod-ssh-two-halves", "ssh", "prod", lambda r: r.type == FIREWALL, _ssh_halves),
    (
        "prod-backups-off",
        "backups",
        "prod",
        lambda r: r.type == DROPLET and "service:backup" in r.inputs["tags"],
        _backups_off,
    ),
    ("prod-alert-stops-paging", "paging", "prod", lambda r: r.type == MONITOR, _no_page),
    ("backup-host-v6-halves", "backup-host", "staging", lambda r: r.name == "sfo1-backup-fw", _backup_host_v6_halves),
    ("mandatory-ssh-halves", "mandatory", "staging", lambda r: r.type == FIREWALL, _ssh_halves),
]


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_estate_passes_the_check(stack: Recording, name: str) -> None:
    assert CHECKS[name](stack, settings_of(stack)) == []


@pytest.mark.parametrize(("mutant", "check", "stack_name", "pick", "change"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_the_check_catches_its_mutant(
    request: pytest.FixtureRequest,
    mutant: str,
    check: str,
    stack_name: str,
    pick: Callable[[Any], bool],
    change: Callable[[dict[str, Any]], None],
) -> None:
    recording: Recording = request.getfixturevalue(stack_name)
    mutated = mutate(recording, pick, change)
    assert CHECKS[check](mutated, settings_of(recording)), f"{check} let the mutant {mutant} through"


def test_every_check_has_a_mutant() -> None:
    assert {m[1] for m in MUTANTS} == set(CHECKS)
