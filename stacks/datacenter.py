"""A PSF datacenter: the DigitalOcean project and VPC that every droplet in it joins."""

from __future__ import annotations

import pulumi
import pulumi_digitalocean as digitalocean

from stacks.providers import Providers
from stacks.settings import Datacenter, Settings

# The recorder and the plan attribute every resource below a component of this type to its datacenter.
DATACENTER_TYPE = "psf:estate:Datacenter"


class DatacenterSite(pulumi.ComponentResource):
    """One datacenter's network: a VPC with a fixed, non-overlapping range, and a project grouping its resources.

    Services in the datacenter are created as children of this component, so the plan, the policy check
    and the docs can tell where everything runs from the resource tree alone.
    """

    vpc: digitalocean.Vpc
    project: digitalocean.Project

    def __init__(self, dc: Datacenter, settings: Settings, providers: Providers) -> None:
        super().__init__(DATACENTER_TYPE, dc.name, None, None)
        self.dc = dc
        self.settings = settings
        self.providers = providers
        do_opts = pulumi.ResourceOptions(parent=self, provider=providers.digitalocean)
        self.vpc = digitalocean.Vpc(
            f"{dc.name}-vpc",
            name=settings.physical_name(dc.name),
            region=dc.region.value,
            ip_range=dc.vpc_cidr,
            description=f"PSF {settings.environment.value} private network in {dc.name}",
            opts=do_opts,
        )
        self.project = digitalocean.Project(
            f"{dc.name}-project",
            name=settings.physical_name(dc.name),
            description=f"PSF {settings.environment.value} services in {dc.name} ({dc.region.value.upper()})",
            purpose="Service or API",
            environment="Production" if settings.is_prod else "Staging",
            opts=do_opts,
        )
        self.register_outputs({"vpc_id": self.vpc.id, "project_id": self.project.id})
