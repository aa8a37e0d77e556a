"""Small value types shared by the components."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import pulumi

# A lower-case DNS name with at least two labels (example.org, a-b.c.example.org).
HOSTNAME: Final = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
# A lower-case Datadog tag in key:value form (env:prod, certificate:managed).
DATADOG_TAG: Final = re.compile(r"^[a-z][a-z0-9_.\-/]*:[a-z0-9_.\-/:]+$")


def invalid(argument: str, value: object, allowed: str) -> ValueError:
    """The one shape of every component argument error: ``<argument> = <value> is invalid: <allowed>``."""
    return ValueError(f"{argument} = {value!r} is invalid: {allowed}")


@dataclass(frozen=True)
class ZoneRef:
    """A Route 53 hosted zone that a component may add records to.

    ``name`` is the zone's DNS name without the trailing dot (``example.org``); ``zone_id`` is its hosted
    zone ID, usually ``Zone.zone_id`` of a :class:`components.dns_zone.DnsZone`.
    """

    name: str
    zone_id: pulumi.Input[str]

    def record_name(self, host: str) -> str:
        """``host`` as a record name in this zone; refuses a host outside the zone."""
        if host != self.name and not host.endswith("." + self.name):
            raise ValueError(f"host {host!r} is not inside zone {self.name!r}")
        return host

    def is_apex(self, host: str) -> bool:
        """True when ``host`` is the zone's apex, which cannot carry a CNAME."""
        return host == self.name
