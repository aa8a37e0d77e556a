"""The global edge: what is not in one datacenter.

The CDN log bucket every Fastly service writes to; www.python.org (Django on Heroku, ``/ftp/`` from the nyc1
downloads servers, the apex redirecting to www, staging.python.org); the PyCon site on Heroku; PyPI's edge
in front of its AWS origin, with the sfo1 mirror as fallback, and its file bucket; the S3 static sites
www.jython.org and legacy.python.org; and the OSUOSL benchmark host's address.

An edge or a bucket owned elsewhere (``ownership``: ``edge:pypi=external``, ``storage:pypi-files=external``, as
in prod, where pypi-infra configures them) is not made here; its names' synthetics and SSL tests still are.
"""

from __future__ import annotations

from typing import Final

import pulumi
import pulumi_aws as aws

from components.bucket import PrivateBucket, PrivateBucketArgs
from components.edge import (
    EDGE_TYPE,
    DatadogLogging,
    DomainRedirect,
    EdgeLogging,
    HealthCheck,
    MovedRecords,
    PathRoute,
    S3Logging,
)
from components.monitors import HttpCheck, TcpCheck
from components.static_site import StaticSite, StaticSiteArgs
from components.vm_service import ExternalOriginArgs, ExternalOriginService, VmService
from stacks.catalog import EDGE_ALIASES
from stacks.context import PSF_STATUS_PATH, SHIELD_US_EAST, Estate, Host, MirrorOrigin
from stacks.ownership import Kind, Ownership
from stacks.providers import AWS_GLOBAL_REGION, Providers
from stacks.settings import Settings

GLOBAL_TYPE: Final = "psf:estate:Global"
# Fastly's own AWS account, which assumes the logging role (Fastly's S3 logging documentation).
FASTLY_AWS_ACCOUNT: Final = "717331877981"
# The downloads servers sit in nyc1; Fastly's POP next to them shields them.
NYC_SHIELD: Final = "lga-ny-us"
# What the live python.org service sends on its apex redirect (python/pythondotorg infra/cdn/main.tf,
# "HSTS w/o subdomains"): ten years, preload, and no includeSubDomains, because not every python.org name
# is served over HTTPS (psf-salt's HAProxy redirects planet.python.org with tls: False).
APEX_HSTS_MAX_AGE: Final = 315_360_000


class GlobalEdge(pulumi.ComponentResource):
    """Parent of everything not placed in a datacenter, so the plan and the docs can tell the two apart."""

    def __init__(self) -> None:
        super().__init__(GLOBAL_TYPE, "global", None, None)
        self.register_outputs({})


def build_logging(settings: Settings, providers: Providers, parent: pulumi.Resource) -> tuple[EdgeLogging, ...]:
    """The CDN log bucket and the role Fastly assumes to write to it; or Datadog, if the stack says so."""
    if settings.fastly_logging == "datadog":
        return (
            DatadogLogging(
                token=pulumi.Output.secret(settings.secrets.datadog_api_key.value),
                region=settings.fastly_datadog_region,
            ),
        )
    opts = pulumi.ResourceOptions(parent=parent, provider=providers.aws)
    bucket_name = settings.physical_name("cdn-logs")
    bucket = PrivateBucket(
        "cdn-logs",
        PrivateBucketArgs(
            bucket_name=bucket_name,
            protect=settings.protect,
            tags={"stateful": "true", "service": "cdn-logs"},
            noncurrent_version_days=30,
            # Request logs hold visitors' addresses: keep them only as long as configured.
            expiration_days=settings.cdn_log_retention_days,
            # Staging's logs are disposable; without this `pulumi destroy` stops at a non-empty bucket.
            force_destroy=not settings.protect,
        ),
        opts,
    )
    role = aws.iam.Role(
        "fastly-logs-role",
        name=settings.physical_name("fastly-logs"),
        description="Assumed by Fastly to write request logs to the CDN log bucket",
        assume_role_policy=pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{FASTLY_AWS_ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                        # Only our Fastly account, not any Fastly customer, may assume it.
                        "Condition": {
                            "StringEquals": {
                                "sts:ExternalId": pulumi.Output.secret(settings.secrets.fastly_customer_id.value)
                            }
                        },
                    }
                ],
            }
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=providers.aws),
    )
    aws.iam.RolePolicy(
        "fastly-logs-write",
        role=role.id,
        policy=pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        # What Fastly's guide grants ("Creating an AWS IAM role for Fastly logging"): large
                        # log files go up in parts, and a failed upload must be abortable.
                        "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                        "Resource": pulumi.Output.concat(bucket.bucket_arn, "/*"),
                    }
                ],
            }
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=providers.aws),
    )
    return (S3Logging(bucket_name=bucket_name, region=AWS_GLOBAL_REGION, role_arn=role.arn),)


def _heroku(estate: Estate, parent: pulumi.Resource, key: str, origin: str, hosts: tuple[Host, ...]) -> None:
    """A Heroku app behind Fastly, with its DNS and synthetics."""
    names = _names(estate, hosts)
    service = None
    if not _external(estate, _monitor_key(key)):
        service = ExternalOriginService(
            key,
            ExternalOriginArgs(
                origin_host=origin,
                health_check=HealthCheck("/"),
                public_hosts=tuple(estate.public(h) for h in hosts),
                options=estate.edge_options(key, service=_monitor_key(key)),
                dns_target=estate.dns_target,
                shield_pop=SHIELD_US_EAST,
            ),
            fastly_provider=estate.providers.fastly,
            aws_provider=estate.providers.aws,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    estate.monitors(
        parent,
        _monitor_key(key),
        "heroku",
        http=[HttpCheck(h) for h in names],
        tls=estate.tls.checks(_monitor_key(key), names),
        name=f"{key}-monitors",
        fastly_service_ids=_service_ids(service),
    )


def _monitor_key(key: str) -> str:
    # Several edges belong to one catalog service (www and staging.python.org are both python.org's).
    return EDGE_ALIASES.get(key, key)


def _external(estate: Estate, service: str) -> bool:
    """Whether a service's edge is owned elsewhere: nothing of it is made here, its names are still watched."""
    return estate.owner(Kind.EDGE, service) is Ownership.EXTERNAL


def _service_ids(*services: ExternalOriginService | StaticSite | None) -> tuple[pulumi.Output[str], ...]:
    """The Fastly service IDs of the edges made here (none for an edge owned elsewhere)."""
    return tuple(s.service_id for s in services if s is not None)


def _names(estate: Estate, hosts: tuple[Host, ...]) -> tuple[str, ...]:
    """The public names of ``hosts`` in this stack, whoever serves them."""
    return tuple(estate.settings.public_host(h.name, h.zone) for h in hosts)


def build_python_org(estate: Estate, parent: pulumi.Resource, downloads: VmService | None) -> None:
    """www.python.org on Heroku with /ftp/ from the downloads servers, the apex redirect, staging.python.org.

    The apex is a domain of the www service that answers with a redirect, as in the live configuration:
    Fastly activates no service without a backend, so it cannot be a service of its own.
    """
    s = estate.settings
    routes: tuple[PathRoute, ...] = ()
    if downloads is not None:
        ftp = tuple(
            estate.psf_origin(
                f"downloads-{n}",
                address,
                estate.origin_certificates["downloads"],
                HealthCheck(PSF_STATUS_PATH),
                NYC_SHIELD,
            )
            for n, address in enumerate(downloads.ipv4_addresses, 1)
        )
        routes = (PathRoute("/ftp/", ftp),)
    www_host, apex_host = _names(estate, (Host("www.python.org", "python.org"), Host("python.org", "python.org")))
    www_service = None if _external(estate, "python-org") else _python_org_edge(estate, parent, routes)
    checks = [HttpCheck(www_host), HttpCheck(apex_host, expected_status=301)]
    if downloads is not None:
        checks.append(HttpCheck(www_host, path="/ftp/python/"))
    estate.monitors(
        parent,
        "python-org",
        "heroku",
        http=checks,
        tls=estate.tls.checks("python-org", (www_host, apex_host)),
        fastly_service_ids=_service_ids(www_service),
    )
    # staging.python.org exists in both stacks: it is the site's own testing ground, fed by a staging app.
    _heroku(
        estate,
        parent,
        "python-org-staging",
        s.python_org_staging_origin,
        (Host("staging.python.org", "python.org"),),
    )


def _python_org_edge(estate: Estate, parent: pulumi.Resource, routes: tuple[PathRoute, ...]) -> ExternalOriginService:
    """www.python.org's Fastly service: the Heroku app, /ftp/ routed to the downloads servers, the apex redirect."""
    s = estate.settings
    www = estate.public(Host("www.python.org", "python.org"))
    apex = estate.public(Host("python.org", "python.org"))
    www_service = ExternalOriginService(
        "python-org",
        ExternalOriginArgs(
            origin_host=s.python_org_origin,
            health_check=HealthCheck("/"),
            public_hosts=(www, apex),
            redirects=(
                DomainRedirect(
                    domain=apex.host, to=f"https://{www.host}", hsts_max_age=APEX_HSTS_MAX_AGE, hsts_preload=True
                ),
            ),
            # The apex's records were the children of a redirect-only edge of their own until it was merged.
            moved_dns={
                apex.host: MovedRecords(
                    "python-org-apex-dns", pulumi.create_urn("python-org-apex", EDGE_TYPE, parent=parent)
                )
            },
            options=estate.edge_options("python-org", path_routes=routes),
            dns_target=estate.dns_target,
            shield_pop=SHIELD_US_EAST,
        ),
        fastly_provider=estate.providers.fastly,
        aws_provider=estate.providers.aws,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return www_service


def build_pypi(estate: Estate, parent: pulumi.Resource, mirror: MirrorOrigin) -> None:
    """PyPI's edge in front of its AWS origin, the mirror as fallback, and the file bucket; always its monitors.

    In prod all of PyPI's infrastructure is pypi-infra's (seed 000): the edge, the zone and the file storage are
    external there, and what remains here is watching pypi.org and the sfo1 mirror's copy of its index.
    """
    s = estate.settings
    pypi = Host("pypi.org", "pypi.org")
    names = _names(estate, (pypi,))
    service = None
    if not _external(estate, "pypi"):
        service = ExternalOriginService(
            "pypi",
            ExternalOriginArgs(
                origin_host=s.pypi_origin,
                # Warehouse's own health view, GET as the reference does (a HEAD skips its checks).
                health_check=HealthCheck("/_health/", method="GET"),
                public_hosts=(estate.public(pypi),),
                options=estate.edge_options("pypi", fallback=mirror.pypi_paths()),
                dns_target=estate.dns_target,
                shield_pop=SHIELD_US_EAST,
                # Uploads and the simple index can be slow to render on a cache miss.
                first_byte_timeout_ms=30_000,
            ),
            fastly_provider=estate.providers.fastly,
            aws_provider=estate.providers.aws,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    if estate.owner(Kind.STORAGE, "pypi-files") is not Ownership.EXTERNAL:
        PrivateBucket(
            "pypi-files",
            PrivateBucketArgs(
                bucket_name=s.physical_name("pypi-files"),
                protect=s.protect,
                tags={"stateful": "true", "service": "pypi"},
                # Released files are immutable and never expire; old versions exist only after a bad overwrite.
                noncurrent_version_days=None if s.is_prod else 7,
                force_destroy=not s.protect,
            ),
            pulumi.ResourceOptions(parent=parent, provider=estate.providers.aws),
        )
    checks = [HttpCheck(h) for h in names]
    checks.append(HttpCheck(names[0], path="/simple/pip/"))
    estate.monitors(
        parent,
        "pypi",
        "aws",
        http=checks,
        tls=estate.tls.checks("pypi", names),
        fastly_service_ids=_service_ids(service),
    )


def build_static_sites(estate: Estate, parent: pulumi.Resource) -> None:
    """www.jython.org and legacy.python.org, from private S3 buckets behind Fastly."""
    for key, host in (
        ("jython", Host("www.jython.org", "jython.org")),
        ("legacy", Host("legacy.python.org", "python.org")),
    ):
        names = _names(estate, (host,))
        site = None if _external(estate, key) else _static_site(estate, parent, key, host)
        estate.monitors(
            parent,
            key,
            "aws",
            http=[HttpCheck(h) for h in names],
            tls=estate.tls.checks(key, names),
            fastly_service_ids=_service_ids(site),
        )


def _static_site(estate: Estate, parent: pulumi.Resource, key: str, host: Host) -> StaticSite:
    """One static site: its private bucket and the Fastly service in front of it."""
    s = estate.settings
    return StaticSite(
        f"{key}-site",
        StaticSiteArgs(
            bucket_name=s.physical_name(key, "site"),
            hosts=(estate.public(host),),
            edge=estate.edge_options(f"{key}-site", service=key),
            dns_target=estate.dns_target,
            shield_pop=SHIELD_US_EAST,
            protect=s.protect,
            retain_on_delete=s.protect,
            force_destroy=not s.protect,
        ),
        aws_provider=estate.providers.aws,
        fastly_provider=estate.providers.fastly,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def build_benchmarks(estate: Estate, parent: pulumi.Resource) -> None:
    """The OSUOSL benchmark host: not provisioned here, but named in DNS and watched."""
    host = f"speed-bench.osuosl.{estate.settings.internal_domain}"
    aws.route53.Record(
        "speed-bench-a",
        zone_id=estate.internal.zone_id,
        name=host,
        type="A",
        ttl=3600,
        records=[estate.settings.benchmark_host_address],
        opts=pulumi.ResourceOptions(parent=parent, provider=estate.providers.aws),
    )
    # Its only public face is SSH, which the Buildbot master uses to schedule runs.
    estate.monitors(parent, "benchmarks", "osuosl", tcp=[TcpCheck(host, 22)])


def build(estate: Estate, parent: pulumi.Resource, *, downloads: VmService | None, mirror: MirrorOrigin) -> None:
    """Everything global except the zones and the log target, which the datacenters need first."""
    build_python_org(estate, parent, downloads)
    _heroku(estate, parent, "pycon", estate.settings.pycon_origin, (Host("us.pycon.org", "pycon.org"),))
    build_pypi(estate, parent, mirror)
    build_static_sites(estate, parent)
    build_benchmarks(estate, parent)
