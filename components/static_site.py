"""A static web site: a private S3 bucket that only Fastly can read, served by a Fastly edge over TLS.

Why the bucket's REST endpoint and not its website endpoint: the website endpoint speaks plain HTTP only,
so Fastly would fetch every page unencrypted across the internet. The REST endpoint
(``<bucket>.s3.<region>.amazonaws.com``) speaks TLS with a certificate Fastly can verify, which is also why
bucket names may not contain dots (the wildcard certificate covers one label). The bucket therefore has no
website configuration; the two things it would add are done at the edge in a few lines of VCL: directory
URLs get their index document, and a missing object gets the error document with a 404.

The bucket is never public. Its policy grants ``s3:GetObject`` to Fastly's published address ranges only,
read from the Fastly data source (a policy restricted by ``aws:SourceIp`` does not count as public, so the
public access block can stay fully on), and denies every request made without TLS.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_aws as aws
import pulumi_fastly as fastly

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
_SseDefault = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
ENCRYPTIONS: Final = frozenset({"AES256", "aws:kms"})

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_DOCUMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)*$")


def _fail(argument: str, value: object, allowed: str) -> ValueError:
    return ValueError(f"{argument} = {value!r} is invalid: {allowed}")


def check_bucket_name(bucket_name: str) -> None:
    """Refuse a bucket name S3 would refuse, or one with dots, which breaks TLS to the bucket (AWS-0320)."""
    if not isinstance(bucket_name, str) or "." in bucket_name:
        raise _fail(
            "StaticSiteArgs.bucket_name", bucket_name, "must not contain dots (TLS to the bucket needs one label)"
        )
    if not _BUCKET.match(bucket_name):
        raise _fail(
            "StaticSiteArgs.bucket_name",
            bucket_name,
            "must be 3-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit",
        )
    if bucket_name.startswith(("xn--", "sthree-")) or bucket_name.endswith(("-s3alias", "--ol-s3", "--x-s3")):
        raise _fail("StaticSiteArgs.bucket_name", bucket_name, "uses a prefix or suffix that S3 reserves")


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
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, objects],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
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
            f"{name}-bucket", bucket=args.bucket_name, force_destroy=args.force_destroy, opts=keep
        )
        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        bucket_id = self.bucket.id

        access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=keep,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=keep,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=_SseDefault(
                        sse_algorithm=args.encryption, kms_master_key_id=args.kms_key_id
                    ),
                    # Fewer KMS calls, and their cost, when objects are encrypted with a KMS key.
                    bucket_key_enabled=args.encryption == "aws:kms",
                )
            ],
            opts=keep,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=keep,
        )
        rules = [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="abort-incomplete-multipart-uploads",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7
                ),
            )
        ]
        if args.noncurrent_version_days is not None:
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_version_days
                    ),
                )
            )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_id,
            rules=rules,
            # S3 rejects a lifecycle configuration that races the versioning change on a new bucket.
            opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[versioning])),
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
