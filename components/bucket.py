"""Private S3 buckets: the hardening every bucket gets, and a component for buckets that are only storage.

Every bucket the components make is private: all four public-access-block switches on, ACLs disabled
(bucket owner enforced), default encryption, versioning, and a lifecycle that aborts incomplete multipart
uploads. :func:`harden_bucket` applies that to a bucket a component has made; :class:`PrivateBucket` is a
bucket with nothing else, for file stores and log sinks, whose policy refuses requests without TLS and adds
whatever grants the caller names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from components.common import invalid as _fail

PRIVATE_BUCKET_TYPE: Final = "infra:storage:PrivateBucket"
ENCRYPTIONS: Final = frozenset({"AES256", "aws:kms"})

_SseDefault = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def check_bucket_name(bucket_name: object, argument: str = "bucket_name") -> None:
    """Refuse a bucket name S3 would refuse, or one with dots, which breaks TLS to the bucket (AWS-0320)."""
    if not isinstance(bucket_name, str) or "." in bucket_name:
        raise _fail(argument, bucket_name, "must not contain dots (TLS to the bucket needs one label)")
    if not _BUCKET.match(bucket_name):
        raise _fail(
            argument,
            bucket_name,
            "must be 3-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit",
        )
    if bucket_name.startswith(("xn--", "sthree-")) or bucket_name.endswith(("-s3alias", "--ol-s3", "--x-s3")):
        raise _fail(argument, bucket_name, "uses a prefix or suffix that S3 reserves")


@dataclass(frozen=True)
class HardenedBucket:
    """The settings resources :func:`harden_bucket` made; later resources may need to wait for them."""

    access_block: aws.s3.BucketPublicAccessBlock
    versioning: aws.s3.BucketVersioning


def harden_bucket(
    name: str,
    bucket_id: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    *,
    encryption: str = "AES256",
    kms_key_id: pulumi.Input[str] | None = None,
    noncurrent_version_days: int | None = 90,
    expiration_days: int | None = None,
) -> HardenedBucket:
    """Make the bucket private, encrypted and versioned; ``opts`` carries parent, provider and protection.

    The settings share the bucket's protection, so no delete can leave the bucket without its access block.
    ``expiration_days`` expires every object that many days after it was written (None: never). In a
    versioned bucket that turns the object into a noncurrent version behind a delete marker, which
    ``noncurrent_version_days`` later removes; S3 then removes the delete marker left with no version.
    """
    access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket_id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket_id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=opts,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket_id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=_SseDefault(
                    sse_algorithm=encryption, kms_master_key_id=kms_key_id
                ),
                # Fewer KMS calls, and their cost, when objects are encrypted with a KMS key.
                bucket_key_enabled=encryption == "aws:kms",
            )
        ],
        opts=opts,
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket_id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=opts,
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
    if noncurrent_version_days is not None:
        rules.append(
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-noncurrent-versions",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=noncurrent_version_days
                ),
            )
        )
    if expiration_days is not None:
        rules.append(
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-objects",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expiration_days),
            )
        )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket_id,
        rules=rules,
        # S3 rejects a lifecycle configuration that races the versioning change on a new bucket.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[versioning])),
    )
    return HardenedBucket(access_block=access_block, versioning=versioning)


def deny_insecure_transport(bucket_arn: pulumi.Input[str]) -> dict[str, Any]:
    """The policy statement that refuses every request made without TLS (CKV_AWS_379)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


@dataclass(frozen=True, kw_only=True)
class PrivateBucketArgs:
    """A bucket that is only storage (no website): its name, protection, tags and extra policy grants.

    - ``bucket_name``: globally unique and without dots; derive it from the environment.
    - ``protect``: protect and retain the bucket and its settings (file stores, logs in production).
    - ``grants``: extra policy statements, as IAM JSON (values may be Outputs); ``{bucket_arn}`` is not
      substituted, so build ARNs from :attr:`PrivateBucket.bucket_arn` in a callback if needed, or pass
      statements that name the bucket's ARN by its known name.
    - ``noncurrent_version_days``: how long overwritten versions are kept (None: forever).
    - ``expiration_days``: how long an object is kept after it was written (None: forever), for logs and
      other data with a retention period. With versioning the data is gone ``noncurrent_version_days``
      later still.
    """

    bucket_name: str
    protect: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)
    grants: Sequence[Mapping[str, Any]] = ()
    encryption: str = "AES256"
    kms_key_id: pulumi.Input[str] | None = None
    noncurrent_version_days: int | None = 90
    expiration_days: int | None = None
    force_destroy: bool = False

    def __post_init__(self) -> None:
        check_bucket_name(self.bucket_name, "PrivateBucketArgs.bucket_name")
        if self.encryption not in ENCRYPTIONS:
            raise _fail("PrivateBucketArgs.encryption", self.encryption, "must be AES256 or aws:kms")
        if self.noncurrent_version_days is not None and not 1 <= self.noncurrent_version_days <= 3650:
            raise _fail("PrivateBucketArgs.noncurrent_version_days", self.noncurrent_version_days, "1 to 3650 or None")
        if self.expiration_days is not None and (
            isinstance(self.expiration_days, bool)
            or not isinstance(self.expiration_days, int)
            or not 1 <= self.expiration_days <= 3650
        ):
            raise _fail("PrivateBucketArgs.expiration_days", self.expiration_days, "1 to 3650 days, or None")
        if self.force_destroy and self.protect:
            raise _fail("PrivateBucketArgs.force_destroy", True, "cannot be set on a protected bucket")
        for grant in self.grants:
            if (
                grant.get("Effect") == "Allow"
                and grant.get("Principal") in ("*", {"AWS": "*"})
                and not grant.get("Condition")
            ):
                raise _fail("PrivateBucketArgs.grants", grant.get("Sid"), "must not allow everyone unconditionally")


class PrivateBucket(pulumi.ComponentResource):
    """A private, encrypted, versioned bucket whose policy refuses requests without TLS.

    Pass the AWS provider in ``opts``. Attributes: ``bucket``, ``bucket_name``, ``bucket_arn``,
    ``bucket_domain_name``.
    """

    bucket: aws.s3.Bucket
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    bucket_domain_name: pulumi.Output[str]

    def __init__(self, name: str, args: PrivateBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(PRIVATE_BUCKET_TYPE, name, None, opts)
        if opts is None or (opts.provider is None and not opts.providers):
            raise _fail("PrivateBucket opts", opts, "must carry the AWS provider (default providers are disabled)")
        keep = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket", bucket=args.bucket_name, force_destroy=args.force_destroy, tags=dict(args.tags), opts=keep
        )
        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.bucket_domain_name = self.bucket.bucket_regional_domain_name
        hardened = harden_bucket(
            name,
            self.bucket.id,
            keep,
            encryption=args.encryption,
            kms_key_id=args.kms_key_id,
            noncurrent_version_days=args.noncurrent_version_days,
            expiration_days=args.expiration_days,
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.json_dumps(
                {"Version": "2012-10-17", "Statement": [deny_insecure_transport(self.bucket.arn), *args.grants]}
            ),
            # S3 refuses to change a policy while the public access block is being changed.
            opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[hardened.access_block])),
        )
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})
