"""A synthetic estate with ten times prod's datacenters, built from the estate's own modules, for the benchmark.

    python -m bench.synthetic                 # 10 copies of every datacenter, planned like `offline.plan`
    python -m bench.synthetic --copies 3      # another size

It is not a deployable program; it only exists to measure how the program's cost grows with the number of
resources. It runs exactly the code prod runs: the global parts (providers, zones, logging, the global edge)
are built once, as in :func:`stacks.estate.build`, and the real datacenter modules (:func:`stacks.sfo1.build`,
:func:`stacks.nyc1.build`, :func:`stacks.ams1.build`) are called ``copies`` times, each time for copies of
the stack's datacenters with distinct names (``nyc1-07``) and distinct, non-overlapping VPC ranges.

Distinct datacenter names make most logical names distinct (``VmService`` is named ``{datacenter}-{role}``),
but not all of them: service monitors are named after the role alone (``buildbot-monitors``) and the
database after nyc1 (``nyc1-postgres``). A Pulumi URN holds the chain of parent *types*, not parent names,
so each copy's datacenters are parented to a bench-only component of their own type (``psf:bench:Copy07``),
which makes every URN distinct without changing a line of ``stacks/``. The plan output then has the same
shape as prod's, with thirty datacenters. Ten copies make about 6.6 times prod's resources, not ten times:
the global parts (zones, static sites, the Heroku and PyPI edges) are not repeated.

Like ``python -m offline.plan``, the process evaluates the program under the recorder, prints the resource
tree and the counts, and runs the policy pack over the records, so the two can be compared per resource.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import ipaddress
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Final

import pulumi
from pulumi.runtime.settings import ROOT

from components.vm_service import VmService
from offline.recorder import Recording, collector_paused, program_config, record_program, referenced_recordings
from stacks import ams1, nyc1, sfo1
from stacks import global_edge as edge
from stacks.context import Estate, MirrorOrigin
from stacks.datacenter import DatacenterSite
from stacks.dns import build_dnssec_monitors, build_zones
from stacks.estate import vm_services
from stacks.observability import build_estate_dashboard, build_on_call
from stacks.providers import make_providers
from stacks.settings import Datacenter, Settings, load_settings

COPIES: Final = 10
COPY_TYPE: Final = "psf:bench:Copy{n:02d}"
# The datacenters the estate builds, in stacks.estate.build's order: sfo1's mirror feeds nyc1's edges.
REQUIRED: Final = ("sfo1", "nyc1", "ams1")


class Copy(pulumi.ComponentResource):
    """The parent of one copy's datacenters; its type is unique per copy, so its descendants' URNs are too."""

    def __init__(self, n: int) -> None:
        super().__init__(COPY_TYPE.format(n=n), f"copy-{n:02d}", None, None)
        self.register_outputs({})


def copy_of(dc: Datacenter, n: int) -> Datacenter:
    """Datacenter ``dc`` as copy ``n`` (1-based): name ``nyc1-07``, and the ``n``-th /20 of the original /16."""
    network = ipaddress.ip_network(dc.vpc_cidr)
    if network.prefixlen != 20 or n > 16:
        raise ValueError(f"cannot make copy {n} of {dc.name}'s VPC {dc.vpc_cidr}: expected a /20 and at most 16 copies")
    base = ipaddress.ip_network(f"{network.network_address}/16", strict=False)
    cidr = list(base.subnets(new_prefix=20))[n - 1]
    return dataclasses.replace(dc, name=f"{dc.name}-{n:02d}", vpc_cidr=str(cidr))


@contextlib.contextmanager
def _parented_to(parent: pulumi.Resource) -> Iterator[None]:
    """Resources created without an explicit parent inside the block become children of ``parent``."""
    token = ROOT.set(parent)
    try:
        yield
    finally:
        ROOT.reset(token)


def build(settings: Settings, copies: int = COPIES) -> Estate:
    """The estate of ``settings`` with ``copies`` copies of each datacenter; the global parts built once."""
    enabled = {dc.name for dc in settings.datacenters}
    if missing := [name for name in REQUIRED if name not in enabled]:
        raise ValueError(f"the synthetic estate needs every datacenter; this stack lacks {', '.join(missing)}")
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    by_name = {dc.name: dc for dc in settings.datacenters}
    providers = make_providers(settings)
    global_parent = edge.GlobalEdge()
    dns = build_zones(
        settings,
        providers,
        global_parent,
        ams1.mail_hosts(settings),
        ams1.mail_senders(settings),
        ams1.mx_priorities(settings),
    )
    logging = edge.build_logging(settings, providers, global_parent)
    estate = Estate(settings, providers, dns.zones, logging, tag_parent=global_parent)
    build_dnssec_monitors(estate, global_parent)

    first: tuple[MirrorOrigin, VmService | None] | None = None
    vpcs: dict[str, pulumi.Output[str]] = {}
    for n in range(1, copies + 1):
        with _parented_to(Copy(n)):
            sites = {name: DatacenterSite(copy_of(by_name[name], n), settings, providers) for name in REQUIRED}
            # Each copy's standbys run in that copy's datacenters, found by the original names.
            estate.sites = dict(sites)
            mirror = sfo1.build(sites["sfo1"], estate)
            downloads = nyc1.build(sites["nyc1"], estate, mirror).downloads
            ams1.build(sites["ams1"], estate)
            for site in sites.values():
                site.assign_to_project()
        vpcs |= {site.dc.name: site.vpc.id for site in sites.values()}
        if first is None:
            first = (mirror, downloads)
    assert first is not None
    mirror, downloads = first
    edge.build(estate, global_parent, downloads=downloads, mirror=mirror)
    build_estate_dashboard(estate, global_parent)
    build_on_call(estate, global_parent)

    pulumi.export("environment", settings.environment.value)
    pulumi.export("vpcs", vpcs)
    for key, value in dns.outputs().items():
        pulumi.export(key, value)
    # Services are keyed by role, so this holds the last copy's, as many as prod exports.
    pulumi.export("droplets", {key: list(vm.host_names) for key, vm in vm_services(estate).items()})
    return estate


def record(copies: int = COPIES, stack: str = "prod") -> Recording:
    """Record the synthetic estate under the recorder, with ``stack``'s config and mock secrets."""
    config, secret_keys = program_config(stack)
    references = referenced_recordings(stack, config)
    return record_program(
        lambda: build(load_settings(), copies),
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        references=references,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Plan the synthetic estate the way ``python -m offline.plan`` plans a stack; return the exit code."""
    from offline.plan import render, report_policy

    parser = argparse.ArgumentParser(
        prog="python -m bench.synthetic", description="Plan a synthetic estate with ten times prod's datacenters."
    )
    parser.add_argument("--copies", type=int, default=COPIES, help=f"copies of each datacenter (default {COPIES})")
    parser.add_argument("--stack", default="prod", help="stack whose config to use (default prod)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    recording = record(args.copies, args.stack)
    elapsed = time.perf_counter() - started
    with collector_paused():  # as offline.plan does
        print(f"Synthetic estate: stack '{args.stack}' config, {args.copies} copies of each datacenter")
        render(recording, sys.stdout)
        report_policy(recording, sys.stdout)
    print(f"\nElapsed: {time.perf_counter() - started:.2f} s (evaluation {elapsed:.2f} s; offline, mocked providers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
