"""PrivateBucket on its own under mocks: never public, TLS only, protected when asked."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from components.bucket import PrivateBucket, PrivateBucketArgs, check_bucket_name
from offline.recorder import Recording, record_program


def record(args: PrivateBucketArgs) -> Recording:
    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1")
        PrivateBucket("files", args, pulumi.ResourceOptions(provider=provider))

    return record_program(program)


GRANT = {
    "Sid": "FastlyLogs",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:role/fastly-logs"},
    "Action": "s3:PutObject",
    "Resource": "arn:aws:s3:::prod-files/*",
}


@pytest.fixture(scope="module")
def protected() -> Recording:
    return record(PrivateBucketArgs(bucket_name="prod-files", tags={"stateful": "true"}, grants=(GRANT,)))


@pytest.fixture(scope="module")
def unprotected() -> Recording:
    return record(PrivateBucketArgs(bucket_name="staging-files", protect=False, force_destroy=True))


def test_never_public(protected: Recording) -> None:
    block = protected.named("files-public-access-block").inputs
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    ownership = protected.named("files-ownership").inputs
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_encrypted_versioned_and_aborts_uploads(protected: Recording) -> None:
    sse = protected.named("files-encryption").inputs["rules"][0]
    assert sse["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    assert protected.named("files-versioning").inputs["versioningConfiguration"]["status"] == "Enabled"
    rules = protected.named("files-lifecycle").inputs["rules"]
    assert rules[0]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}


def test_policy_refuses_plain_http_and_keeps_grants(protected: Recording) -> None:
    policy = json.loads(protected.named("files-policy").inputs["policy"])
    deny, grant = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert grant == GRANT


def test_protection_follows_the_argument(protected: Recording, unprotected: Recording) -> None:
    for record_ in protected.resources:
        if record_.custom:
            assert record_.options.protect and record_.options.retain_on_delete, record_.name
    assert not any(r.options.protect for r in unprotected.resources)
    assert protected.named("files-bucket").inputs["tags"] == {"stateful": "true"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bucket_name": "has.dots"}, "must not contain dots"),
        ({"bucket_name": "UPPER"}, "3-63 characters"),
        ({"bucket_name": "ok-name", "encryption": "des"}, "AES256 or aws:kms"),
        ({"bucket_name": "ok-name", "force_destroy": True}, "protected bucket"),
        ({"bucket_name": "ok-name", "grants": ({"Sid": "Open", "Effect": "Allow", "Principal": "*"},)}, "everyone"),
    ],
)
def test_argument_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PrivateBucketArgs(**kwargs)  # type: ignore[arg-type]


def test_reserved_names_are_refused() -> None:
    with pytest.raises(ValueError, match="reserves"):
        check_bucket_name("xn--bucket")
