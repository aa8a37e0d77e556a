"""Small value types shared by the components."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


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
