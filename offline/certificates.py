"""Each public host's certificate, as a recording declares it: who makes it, from which authority, how watched.

The generated overview (:mod:`offline.docs`) and the tests read it. A host served by Fastly has a
Fastly-managed certificate when a ``TlsSubscription`` lists it (with its validation and its ACME challenge
record), or one made elsewhere when its SSL tests are tagged ``certificate:external``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from offline.recorder import Record, Recording

TLS_SUBSCRIPTION: Final = "fastly:index/tlsSubscription:TlsSubscription"
TLS_VALIDATION: Final = "fastly:index/tlsSubscriptionValidation:TlsSubscriptionValidation"
DNS_RECORD: Final = "aws:route53/record:Record"
ZONE: Final = "aws:route53/zone:Zone"
SYNTHETICS: Final = "datadog:index/syntheticsTest:SyntheticsTest"
ACME_CHALLENGE_PREFIX: Final = "_acme-challenge."
AUTHORITY_NAMES: Final = {"lets-encrypt": "Let's Encrypt", "globalsign": "GlobalSign", "certainly": "Certainly"}
OWNER_TAG: Final = "certificate:"
WARNING_TAG: Final = "certificate-check:warning"


@dataclass(frozen=True)
class HostCertificate:
    """One host's certificate as declared.

    ``owner`` is ``managed`` (a subscription lists the host), ``external`` (its SSL tests say so) or
    ``none``. ``subscription`` is the subscription's logical name, ``validated`` whether a validation waits
    for it, ``challenge_zone`` the zone of the host's ``_acme-challenge`` record. ``alert_days`` and
    ``warning_days`` are the SSL tests' thresholds (None without such a test).
    """

    host: str
    owner: str
    authority: str | None = None
    subscription: str | None = None
    validated: bool = False
    challenge_zone: str | None = None
    alert_days: int | None = None
    warning_days: int | None = None

    @property
    def authority_name(self) -> str:
        """The authority as people call it (``GlobalSign``), or an empty string."""
        return AUTHORITY_NAMES.get(self.authority or "", self.authority or "")


def is_challenge(name: str) -> bool:
    """True for an ACME DNS-01 challenge record's name."""
    return name.startswith(ACME_CHALLENGE_PREFIX)


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _days(test: Record) -> int | None:
    for assertion in test.inputs.get("assertions") or ():
        if isinstance(assertion, Mapping) and assertion.get("type") == "certificate":
            try:
                return int(float(str(assertion.get("target"))))
            except ValueError:
                return None
    return None


def _zone_names(recording: Recording) -> dict[str, str]:
    names: dict[str, str] = {}
    for zone in recording.of_type(ZONE):
        for key in (zone.outputs.get("zoneId"), zone.id):
            if key:
                names[str(key)] = str(zone.inputs.get("name", ""))
    return names


def _ssl_tests(recording: Recording) -> Iterable[tuple[str, Record]]:
    for test in recording.of_type(SYNTHETICS):
        request = test.inputs.get("requestDefinition")
        if test.inputs.get("subtype") == "ssl" and isinstance(request, Mapping) and request.get("host"):
            yield str(request["host"]), test


def host_certificates(recording: Recording) -> dict[str, HostCertificate]:
    """Every host with a subscription or an SSL test, by name, in name order."""
    zones = _zone_names(recording)
    validated = {str(v.inputs.get("subscriptionId")) for v in recording.of_type(TLS_VALIDATION)}
    challenge_zone = {
        str(r.inputs.get("name")).removeprefix(ACME_CHALLENGE_PREFIX): zones.get(str(r.inputs.get("zoneId")))
        for r in recording.of_type(DNS_RECORD)
        if is_challenge(str(r.inputs.get("name", "")))
    }
    found: dict[str, dict[str, Any]] = {}
    for subscription in recording.of_type(TLS_SUBSCRIPTION):
        for domain in _strings(subscription.inputs.get("domains")):
            found.setdefault(domain, {}).update(
                owner="managed",
                authority=str(subscription.inputs.get("certificateAuthority", "")) or None,
                subscription=subscription.name,
                validated=subscription.id in validated,
                challenge_zone=challenge_zone.get(domain.removeprefix("*.")),
            )
    for host, test in _ssl_tests(recording):
        entry = found.setdefault(host, {})
        owners = [t.removeprefix(OWNER_TAG) for t in _strings(test.inputs.get("tags")) if t.startswith(OWNER_TAG)]
        entry.setdefault("owner", owners[0] if owners else "none")
        key = "warning_days" if WARNING_TAG in _strings(test.inputs.get("tags")) else "alert_days"
        entry[key] = _days(test)
    return {host: HostCertificate(host, **{"owner": "none", **found[host]}) for host in sorted(found)}
