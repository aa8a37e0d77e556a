"""A static web site: a private S3 bucket that only Fastly can read, served by a Fastly edge over TLS.

Why the bucket's REST endpoint and not its website endpoint: the website endpoint speaks plain HTTP only,
so Fastly would fetch every page unencrypted across the internet. The REST endpoint
(``<bucket>.s3.<region>.amazonaws.com``) speaks TLS with a certificate Fastly can verify, which is also why
bucket names may not contain dots (the wildcard certificate covers one label). The bucket still declares its
index and error documents in a website configuration, but the edge does not rely on it: directory URLs get
their index document, and a missing object the error document with a 404, in a few lines of VCL.

The bucket is never public. Its policy grants ``s3:GetObject`` to Fastly's published address ranges only,
read from the Fastly data source (a policy restricted by ``aws:SourceIp`` does not count as public, so the
public access block can stay fully on), and denies every request made without TLS.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_aws as aws
import pulumi_fastly as fastly

from components.bucket import check_bucket_name as _check_bucket_name
from components.bucket import deny_insecure_transport, harden_bucket
from components.common import invalid as _fail
from components.edge import (
    EdgeArgs,
    EdgeDns,
    EdgeOptions,
    FastlyDnsTarget,
    FastlyEdge,
    HealthCheck,
    Origin,
    PublicHost,
    VclSnippet,
)

STATIC_SITE_TYPE: Final = "infra:site:StaticSite"
ENCRYPTIONS: Final = frozenset({"AES256", "aws:kms"})

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_DOCUMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)*$")


def check_bucket_name(bucket_name: str) -> None:
    """Refuse a bucket name S3 would refuse, or one with dots, which breaks TLS to the bucket (AWS-0320)."""
    _check_bucket_name(bucket_name, "StaticSiteArgs.bucket_name")


@dataclass(frozen=True, kw_only=True)
class StaticSiteArgs:
    """A static site: its bucket, its public host names and its edge.

    - ``bucket_name``: the globally unique physical name (derive it from the environment); no dots.
    - ``hosts``: public names of the site; the first is its canonical host name.
    - ``edge``: how the Fastly service behaves (``service_name``, HSTS, logging, ...). Fallback and path
      routes are not for static sites and are refused.
    - ``index_document`` / ``error_document``: served for ``.../`` and for a missing object (None: S3's
      plain 404).
    - ``encryption``: ``AES256`` (S3-managed keys) or ``aws:kms`` with ``kms_key_id``.
    - ``noncurrent_version_days``: how long overwritten or deleted objects stay recoverable (None: forever).
    - ``protect`` / ``retain_on_delete``: Pulumi refuses to delete the bucket and its settings / leaves them
      in AWS when removed from the program. ``force_destroy`` lets a delete empty a non-empty bucket; leave
      it off outside throw-away stacks.
    - ``shield_pop``: the Fastly POP nearest the bucket's region (``iad-va-us`` for us-east-1).
    """

    bucket_name: str
    hosts: tuple[PublicHost, ...]
    edge: EdgeOptions
    dns_target: FastlyDnsTarget
    index_document: str = "index.html"
    error_document: str | None = "404.html"
    encryption: str = "AES256"
    kms_key_id: pulumi.Input[str] | None = None
    noncurrent_version_days: int | None = 90
    shield_pop: str | None = None
    protect: bool = True
    retain_on_delete: bool = False
    force_destroy: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_bucket_name(self.bucket_name)
        if not self.hosts:
            raise _fail("StaticSiteArgs.hosts", self.hosts, "must list at least one public host")
        if not isinstance(self.edge, EdgeOptions):
            raise _fail("StaticSiteArgs.edge", self.edge, "must be EdgeOptions")
        if self.edge.fallback is not None or self.edge.path_routes:
            raise _fail("StaticSiteArgs.edge", "fallback/path_routes", "a static site has one origin, its bucket")
        for argument, document in (("index_document", self.index_document), ("error_document", self.error_document)):
            if document is not None and not _DOCUMENT.match(document):
                raise _fail(f"StaticSiteArgs.{argument}", document, "must be an object key such as index.html")
        if self.encryption not in ENCRYPTIONS:
            raise _fail("StaticSiteArgs.encryption", self.encryption, "must be AES256 or aws:kms")
        if self.kms_key_id is not None and self.encryption != "aws:kms":
            raise _fail("StaticSiteArgs.kms_key_id", "(set)", "only applies with encryption='aws:kms'")
        if self.noncurrent_version_days is not None and not 1 <= self.noncurrent_version_days <= 3_650:
            raise _fail(
                "StaticSiteArgs.noncurrent_version_days", self.noncurrent_version_days, "must be 1-3650 or None"
            )
        # Validate the whole edge now, with a stand-in origin address, so a mistake fails before the bucket.
        self.edge_args("stand-in.s3.amazonaws.com")

    @property
    def host_names(self) -> tuple[str, ...]:
        """The site's public host names, canonical first."""
        return tuple(h.host for h in self.hosts)

    def snippets(self) -> tuple[VclSnippet, ...]:
        """The VCL that stands in for S3 website hosting at the edge."""
        recv = VclSnippet(
            name="static-index",
            type="recv",
            content=(
                "# Query strings mean nothing to a static site, and S3 would read some (?acl, ?versionId) as\n"
                "# sub-resources; the REST endpoint has no index documents, so map directory URLs to one.\n"
                "set req.url = req.url.path;\n"
                'if (req.url ~ "/$") {\n'
                f'  set req.url = req.url + "{self.index_document}";\n'
                "}"
            ),
        )
        if self.error_document is None:
            return (recv,)
        # Without s3:ListBucket, S3 answers 403 for a missing key; show the error document as a 404 instead.
        fetch = VclSnippet(
            name="static-not-found",
            type="fetch",
            content=(
                "# S3 answers 403 for a missing key (no ListBucket grant): fetch the error document instead.\n"
                "if ((beresp.status == 403 || beresp.status == 404) && req.restarts == 0) {\n"
                '  set req.http.Static-Not-Found = "1";\n'
                f'  set req.url = "/{self.error_document}";\n'
                "  restart;\n"
                "}"
            ),
        )
        deliver = VclSnippet(
            name="static-not-found-status",
            type="deliver",
            content=(
                "# The error document was fetched in place of a missing page: answer 404, not 200.\n"
                "if (req.http.Static-Not-Found) {\n"
                "  set resp.status = 404;\n"
                '  set resp.response = "Not Found";\n'
                "}"
            ),
        )
        return (recv, fetch, deliver)

    def edge_args(self, bucket_host: pulumi.Input[str]) -> EdgeArgs:
        """The Fastly service for the bucket reached at ``bucket_host`` (its regional REST endpoint)."""
        origin = Origin(
            name="bucket",
            address=bucket_host,
            tls_hostname=bucket_host,
            # S3 picks the bucket from the Host header, so it must be the bucket's own name.
            override_host=bucket_host,
            health_check=HealthCheck(path=f"/{self.index_document}"),
            shield=self.shield_pop,
        )
        options = dataclasses.replace(self.edge, snippets=(*self.edge.snippets, *self.snippets()))
        return EdgeArgs(domains=self.host_names, origins=(origin,), options=options)


def bucket_policy(bucket_arn: pulumi.Input[str], fastly_ranges: pulumi.Input[list[str]]) -> pulumi.Output[str]:
    """The bucket policy: deny any request without TLS; allow reading objects from Fastly's ranges only."""
    objects = pulumi.Output.concat(bucket_arn, "/*")
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                deny_insecure_transport(bucket_arn),
                {
                    "Sid": "AllowFastlyRead",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": objects,
                    "Condition": {"IpAddress": {"aws:SourceIp": fastly_ranges}},
                },
            ],
        }
    )


class StaticSite(pulumi.ComponentResource):
    """A private, versioned, encrypted S3 bucket served through a :class:`FastlyEdge`, with its DNS records.

    Children: the bucket; its public access block (all four on), ownership controls (bucket owner
    enforced, so ACLs are off), default encryption, versioning, lifecycle (abort incomplete multipart
    uploads after 7 days; expire old versions); the policy described in the module docstring; and the edge.

    Attributes: ``bucket``, ``bucket_name``, ``bucket_arn``, ``edge``, ``service_id``, ``host_name``
    (canonical), ``host_names``.
    """

    bucket: aws.s3.Bucket
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    edge: FastlyEdge
    service_id: pulumi.Output[str]
    host_name: str
    host_names: tuple[str, ...]

    def __init__(
        self,
        name: str,
        args: StaticSiteArgs,
        *,
        aws_provider: aws.Provider,
        fastly_provider: fastly.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(args, StaticSiteArgs):
            raise _fail("StaticSite args", args, "must be StaticSiteArgs")
        super().__init__(STATIC_SITE_TYPE, name, None, opts)
        self.host_names = args.host_names
        self.host_name = args.host_names[0]
        # The bucket's settings are protected with it, so no delete can leave it without its access block.
        keep = pulumi.ResourceOptions(
            parent=self, provider=aws_provider, protect=args.protect, retain_on_delete=args.retain_on_delete
        )
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=args.bucket_name,
            force_destroy=args.force_destroy,
            # Marks the bucket as a declared static site, the one place website hosting is allowed (KICS).
            tags={"static-site": "true", **dict(args.tags)},
            opts=keep,
        )
        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        bucket_id = self.bucket.id

        hardened = harden_bucket(
            name,
            bucket_id,
            keep,
            encryption=args.encryption,
            kms_key_id=args.kms_key_id,
            noncurrent_version_days=args.noncurrent_version_days,
        )
        access_block = hardened.access_block
        # Fastly reads the bucket over TLS at its REST endpoint (the website endpoint is HTTP-only), and the
        # edge maps directories to the index document itself; the website configuration records the same
        # documents on the bucket, so the site also works from the website endpoint for Fastly's addresses.
        aws.s3.BucketWebsiteConfiguration(
            f"{name}-website",
            bucket=bucket_id,
            index_document=aws.s3.BucketWebsiteConfigurationIndexDocumentArgs(suffix=args.index_document),
            error_document=(
                aws.s3.BucketWebsiteConfigurationErrorDocumentArgs(key=args.error_document)
                if args.error_document
                else None
            ),
            opts=keep,
        )

        ranges = fastly.get_fastly_ip_ranges_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=fastly_provider)
        )
        fastly_ranges = pulumi.Output.all(ranges.cidr_blocks, ranges.ipv6_cidr_blocks).apply(
            lambda blocks: [*blocks[0], *blocks[1]]
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket_id,
            policy=bucket_policy(self.bucket.arn, fastly_ranges),
            # S3 refuses to change a policy while the public access block is being changed.
            opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[access_block])),
        )

        self.edge = FastlyEdge(
            f"{name}-edge",
            args.edge_args(self.bucket.bucket_regional_domain_name),
            fastly_provider=fastly_provider,
            dns=EdgeDns(hosts=args.hosts, target=args.dns_target),
            aws_provider=aws_provider,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.service_id = self.edge.service_id
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "service_id": self.service_id,
                "host_name": self.host_name,
            }
        )
