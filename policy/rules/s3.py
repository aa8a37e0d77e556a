"""Amazon S3: public access, ACLs, policies, versioning, encryption, logging, lifecycle, websites."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from policy.rules.base import (
    BUCKET,
    BUCKET_ACL,
    BUCKET_LIFECYCLE,
    BUCKET_LOGGING,
    BUCKET_POLICY,
    BUCKET_SSE,
    BUCKET_VERSIONING,
    BUCKET_WEBSITE,
    FASTLY_SERVICE,
    LOG_BUCKET_NOT_LOGGED,
    OWNERSHIP_CONTROLS,
    PUBLIC_ACCESS_BLOCK,
    STATIC_SITE_HTTP_ORIGIN,
    STATIC_SITE_WEBSITE,
    Finding,
    Resource,
    _is_secret,
    _is_static_site,
    _items,
    _map,
    _maps,
    _number,
    _of,
    _str,
    _violation,
    _waived,
    resource_rule,
    stack_rule,
)


def _bucket_names(bucket: Resource) -> set[str]:
    names = {_str(bucket.props.get("bucket")), _str(bucket.outputs.get("bucket")), bucket.id or ""}
    return {n for n in names if n}


def _companions(resources: Sequence[Resource], bucket: Resource, types: tuple[str, ...]) -> list[Resource]:
    names = _bucket_names(bucket)
    return [r for r in _of(resources, types) if _str(r.props.get("bucket")) in names]


def _missing_companion(
    resources: Sequence[Resource], types: tuple[str, ...], ok: Callable[[Resource], bool], problem: str, fix: str
) -> Iterator[Finding]:
    for bucket in _of(resources, BUCKET):
        if not any(ok(c) for c in _companions(resources, bucket, types)):
            name = _str(bucket.props.get("bucket")) or bucket.name
            yield _violation(bucket, f"{problem}. Fix: {fix} with bucket={name!r}.")


_PAB_SETTINGS: Final = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


@resource_rule(
    "s3-public-access-block-settings",
    anchors=("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "AWS-0086", "AWS-0087", "AWS-0091", "AWS-0093"),
    enforcement="mandatory",
    types=PUBLIC_ACCESS_BLOCK,
)
def _public_access_block_settings(pab: Resource) -> Iterable[Finding]:
    """Every S3 public access block blocks and ignores public ACLs and blocks and restricts public policies."""
    off = [key for key in _PAB_SETTINGS if pab.props.get(key) is not True]
    if off:
        yield _violation(
            pab,
            f"leaves {', '.join(off)} off. Fix: set all four to True; a static site admits Fastly with an "
            "aws:SourceIp condition, which S3 does not count as public.",
        )


@stack_rule(
    "s3-bucket-has-public-access-block",
    anchors=("CKV2_AWS_6", "AWS-0094"),
    enforcement="mandatory",
    types=(*BUCKET, *PUBLIC_ACCESS_BLOCK),
)
def _bucket_has_public_access_block(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket has its own public access block."""
    return _missing_companion(
        resources,
        PUBLIC_ACCESS_BLOCK,
        lambda _: True,
        "has no BucketPublicAccessBlock",
        "add a BucketPublicAccessBlock",
    )


@stack_rule("s3-acls-disabled", anchors=("CKV2_AWS_65",), enforcement="mandatory", types=(*BUCKET, *OWNERSHIP_CONTROLS))
def _acls_disabled(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket disables ACLs: ownership controls with BucketOwnerEnforced."""
    return _missing_companion(
        resources,
        OWNERSHIP_CONTROLS,
        lambda c: _map(c.props.get("rule")).get("objectOwnership") == "BucketOwnerEnforced",
        "still honours ACLs (no BucketOwnershipControls with objectOwnership BucketOwnerEnforced)",
        "add BucketOwnershipControls(rule={'object_ownership': 'BucketOwnerEnforced'})",
    )


_PUBLIC_CANNED_ACLS: Final = ("public-read", "public-read-write", "authenticated-read")
_PUBLIC_GRANTEES: Final = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


@resource_rule(
    "s3-no-public-acl",
    anchors=("CKV_AWS_20", "CKV_AWS_57", "AWS-0092"),
    enforcement="mandatory",
    types=(*BUCKET, *BUCKET_ACL),
)
def _no_public_acl(resource: Resource) -> Iterable[Finding]:
    """No S3 bucket or bucket ACL grants access to everyone or to all AWS users."""
    acl = _str(resource.props.get("acl"))
    if acl in _PUBLIC_CANNED_ACLS:
        yield _violation(resource, f"sets the canned ACL {acl}. Fix: drop the ACL; ownership controls disable ACLs.")
    grants = _maps(resource.props.get("grants"))
    grants += _maps(_map(resource.props.get("accessControlPolicy")).get("grants"))
    for grant in grants:
        uri = _str(_map(grant.get("grantee")).get("uri") or grant.get("uri"))
        if uri in _PUBLIC_GRANTEES:
            yield _violation(resource, f"grants {uri.rsplit('/', 1)[-1]} access. Fix: remove the grant.")


def _statements(policy: Any) -> list[Mapping[str, Any]] | None:
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return None
    if not isinstance(policy, Mapping):
        return None
    statement = policy.get("Statement")
    return [statement] if isinstance(statement, Mapping) else _maps(statement)


def _is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return any(p == "*" for p in [_map(principal).get("AWS"), *_items(_map(principal).get("AWS"))])


@resource_rule("s3-policy-no-public-grant", anchors=("CKV_AWS_70",), enforcement="mandatory", types=BUCKET_POLICY)
def _policy_no_public_grant(policy: Resource) -> Iterable[Finding]:
    """No S3 bucket policy allows everyone ('*') without a condition narrowing who."""
    document = policy.props.get("policy")
    if _is_secret(document) or document is None:
        return
    statements = _statements(document)
    if statements is None:
        yield _violation(policy, "has a policy that is not a JSON policy document. Fix: build it with json.dumps.")
        return
    for index, st in enumerate(statements):
        if st.get("Effect") == "Allow" and _is_everyone(st.get("Principal")) and not st.get("Condition"):
            yield _violation(
                policy,
                f"statement #{index} allows {st.get('Action')} to everyone with no Condition. Fix: name the "
                "principal, or add a condition (aws:SourceIp with Fastly's ranges for a static site).",
            )


def _denies_plain_http(policy: Resource) -> bool:
    for st in _statements(policy.props.get("policy")) or []:
        if st.get("Effect") != "Deny":
            continue
        secure = _map(_map(st.get("Condition")).get("Bool")).get("aws:SecureTransport")
        if str(secure).lower() == "false":
            return True
    return False


@stack_rule(
    "s3-policy-deny-insecure-transport",
    anchors=("CKV_AWS_379",),
    enforcement="advisory",
    types=(*BUCKET, *BUCKET_POLICY),
)
def _deny_insecure_transport(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket policy denies requests without TLS (aws:SecureTransport false), static sites excepted."""
    for bucket in _of(resources, BUCKET):
        if any(_denies_plain_http(p) for p in _companions(resources, bucket, BUCKET_POLICY)):
            continue
        if _is_static_site(bucket):
            yield _waived(bucket, "has no deny-non-TLS statement", STATIC_SITE_HTTP_ORIGIN)
            continue
        yield _violation(
            bucket,
            "accepts plain-HTTP requests. Fix: a BucketPolicy statement Effect Deny, Principal '*', Action 's3:*', "
            "Condition {'Bool': {'aws:SecureTransport': 'false'}}.",
        )


@stack_rule(
    "s3-versioning", anchors=("CKV_AWS_21", "AWS-0090"), enforcement="mandatory", types=(*BUCKET, *BUCKET_VERSIONING)
)
def _versioning(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket keeps object versions."""
    return _missing_companion(
        resources,
        BUCKET_VERSIONING,
        lambda c: _map(c.props.get("versioningConfiguration")).get("status") == "Enabled",
        "is not versioned, so an overwrite or delete loses data",
        "add BucketVersioning(versioning_configuration={'status': 'Enabled'})",
    )


_SSE_ALGORITHMS: Final = ("AES256", "aws:kms", "aws:kms:dsse")


def _encrypts(sse: Resource) -> bool:
    return any(
        _map(rule.get("applyServerSideEncryptionByDefault")).get("sseAlgorithm") in _SSE_ALGORITHMS
        for rule in _maps(sse.props.get("rules"))
    )


@stack_rule(
    "s3-encryption-at-rest", anchors=("CKV_AWS_19", "AWS-0088"), enforcement="mandatory", types=(*BUCKET, *BUCKET_SSE)
)
def _encryption(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket declares default server-side encryption."""
    return _missing_companion(
        resources,
        BUCKET_SSE,
        _encrypts,
        "declares no default encryption",
        "add BucketServerSideEncryptionConfiguration with sse_algorithm 'AES256' or 'aws:kms'",
    )


def _log_targets(resources: Sequence[Resource]) -> set[str]:
    targets = {_str(r.props.get("targetBucket")) for r in _of(resources, BUCKET_LOGGING)}
    for service in _of(resources, FASTLY_SERVICE):
        targets |= {_str(s3.get("bucketName")) for s3 in _maps(service.props.get("loggingS3s"))}
    return targets - {""}


@stack_rule(
    "s3-access-logging",
    anchors=("CKV_AWS_18", "AWS-0089"),
    enforcement="advisory",
    types=(*BUCKET, *BUCKET_LOGGING, FASTLY_SERVICE),
)
def _access_logging(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket logs access to a log bucket, except the log buckets themselves."""
    targets = _log_targets(resources)
    for bucket in _of(resources, BUCKET):
        if any(_str(c.props.get("targetBucket")) for c in _companions(resources, bucket, BUCKET_LOGGING)):
            continue
        if _bucket_names(bucket) & targets:
            yield _waived(bucket, "does not log its own access", LOG_BUCKET_NOT_LOGGED)
            continue
        yield _violation(bucket, "does not log access. Fix: add BucketLogging with target_bucket the log bucket.")


def _aborts_uploads(lifecycle: Resource) -> bool:
    for rule in _maps(lifecycle.props.get("rules")):
        days = _number(_map(rule.get("abortIncompleteMultipartUpload")).get("daysAfterInitiation"))
        if rule.get("status") == "Enabled" and days is not None and days > 0:
            return True
    return False


@stack_rule(
    "s3-lifecycle-abort-multipart",
    anchors=("CKV2_AWS_61", "CKV_AWS_300"),
    enforcement="advisory",
    types=(*BUCKET, *BUCKET_LIFECYCLE),
)
def _lifecycle(resources: Sequence[Resource]) -> Iterable[Finding]:
    """Every S3 bucket has a lifecycle configuration that aborts incomplete multipart uploads."""
    return _missing_companion(
        resources,
        BUCKET_LIFECYCLE,
        _aborts_uploads,
        "keeps incomplete multipart uploads forever (no enabled lifecycle rule aborting them)",
        "add BucketLifecycleConfiguration with an Enabled rule whose abort_incomplete_multipart_upload has "
        "days_after_initiation=7",
    )


@stack_rule(
    "s3-website-static-sites-only",
    anchors=("KICS-42bb6b7f",),
    enforcement="mandatory",
    types=(*BUCKET, *BUCKET_WEBSITE),
)
def _website_static_sites_only(resources: Sequence[Resource]) -> Iterable[Finding]:
    """S3 static website hosting is enabled only on buckets declared as static sites (tag static-site)."""
    buckets = _of(resources, BUCKET)
    for bucket in buckets:
        if bucket.props.get("website") is not None:
            if _is_static_site(bucket):
                yield _waived(bucket, "enables website hosting", STATIC_SITE_WEBSITE)
            else:
                yield _violation(bucket, "enables website hosting but is not tagged static-site. Fix: drop `website`.")
    for website in _of(resources, BUCKET_WEBSITE):
        target = _str(website.props.get("bucket"))
        owner = next((b for b in buckets if target in _bucket_names(b)), None)
        if owner is not None and _is_static_site(owner):
            yield _waived(website, f"serves bucket {target} as a website", STATIC_SITE_WEBSITE)
        else:
            yield _violation(
                website,
                f"serves bucket {target!r} as a website, but that bucket is not a declared static site in this "
                "stack. Fix: tag the bucket static-site: 'true' if it is one, otherwise remove the website "
                "configuration.",
            )


@resource_rule("s3-bucket-name-no-dots", anchors=("AWS-0320",), enforcement="advisory", types=BUCKET)
def _bucket_name_no_dots(bucket: Resource) -> Iterable[Finding]:
    """S3 bucket names have no dots (they break TLS on virtual-hosted URLs)."""
    for key in ("bucket", "bucketPrefix"):
        name = _str(bucket.props.get(key))
        if "." in name:
            yield _violation(
                bucket, f"{key} {name!r} has dots, which break TLS to {name}.s3.amazonaws.com. Fix: use dashes."
            )
