"""Every role the estate runs on droplets, as the datacenter modules declare them.

For readers of the roles themselves (the generated overview, which shows why a role runs on one server and
how its standby keeps up; the tests), so none of them has to know which module declares which role.
"""

from __future__ import annotations

from typing import Final

from stacks import ams1, nyc1, sfo1
from stacks.context import WebRole

ROLES: Final[tuple[WebRole, ...]] = (nyc1.SALT, *nyc1.WEB_ROLES, ams1.MAIL, sfo1.BACKUP, sfo1.MIRROR)


def role(key: str) -> WebRole | None:
    """The role called ``key``, or None when no datacenter module declares one (a service off droplets)."""
    return next((r for r in ROLES if r.key == key), None)
