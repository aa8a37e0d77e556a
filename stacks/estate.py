"""The whole estate for one stack: settings in, resources out. ``__main__.py`` and the recorder both call it."""

from __future__ import annotations

import pulumi

from stacks.datacenter import DatacenterSite
from stacks.providers import make_providers
from stacks.settings import Settings, load_settings


def build(settings: Settings) -> None:
    """Create every resource of the estate described by ``settings``."""
    providers = make_providers(settings)
    sites = {dc.name: DatacenterSite(dc, settings, providers) for dc in settings.datacenters}
    pulumi.export("environment", settings.environment.value)
    pulumi.export("vpcs", {name: site.vpc.id for name, site in sites.items()})


def main() -> None:
    """The program: read and validate settings first, so bad config fails before any resource exists."""
    build(load_settings())
