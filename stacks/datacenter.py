"""A PSF datacenter: the DigitalOcean project and VPC that every droplet in it joins."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_digitalocean as digitalocean

from stacks.providers import Providers
from stacks.settings import Datacenter, Settings

# The recorder and the plan attribute every resource below a component of this type to its datacenter.
DATACENTER_TYPE = "psf:estate:Datacenter"


class DatacenterSite(pulumi.ComponentResource):
    """One datacenter's network: a VPC with this stack's range, and a project grouping its resources.

    Services in the datacenter are created as children of this component, so the plan, the policy check
    and the docs can tell where everything runs from the resource tree alone. They hand the DigitalOcean
    URNs of what they create (droplets, volumes, databases, reserved addresses) to :meth:`assign`;
    :meth:`assign_to_project` then puts them in the project, once everything in the datacenter exists.
    """

    vpc: digitalocean.Vpc
    project: digitalocean.Project
    project_resources: digitalocean.ProjectResources | None

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
        self._urns: list[pulumi.Output[str]] = []
        self.project_resources = None
        self.register_outputs({"vpc_id": self.vpc.id, "project_id": self.project.id})

    def assign(self, urns: Sequence[pulumi.Output[str]]) -> None:
        """Claim these DigitalOcean URNs (``do:droplet:...``) for this datacenter's project."""
        if self.project_resources is not None:
            raise RuntimeError(f"{self.dc.name}: assign() after assign_to_project(); the project is already written")
        self._urns.extend(urns)

    def assign_to_project(self) -> digitalocean.ProjectResources | None:
        """Put everything :meth:`assign` received in the project: one ProjectResources for the datacenter.

        ProjectResources rather than the Project's own ``resources``: the project exists before anything in
        it, and ProjectResources reads back only the URNs it was given (the Project's ``resources`` is
        computed from every resource the project holds, so anything added in the control panel would show as
        a diff). Deleting it moves the resources back to the account's default project, which lets the
        project itself be deleted on ``pulumi destroy``.
        """
        if not self._urns:
            return None
        self.project_resources = digitalocean.ProjectResources(
            f"{self.dc.name}-project-resources",
            project=self.project.id,
            resources=list(self._urns),
            opts=pulumi.ResourceOptions(parent=self, provider=self.providers.digitalocean),
        )
        return self.project_resources
