"""Route 53, KMS, S3 and IAM as boto3 reads them, read-only, as :class:`~adopt.live.Live` values.

Every call goes through a session built from the stack's credentials alone (no profile, no instance role),
and a hook on that session refuses any operation that is not a ``Get``, ``List`` or ``Describe`` before it
is signed, so a mistake here can never change the account.

What is read: every public hosted zone with its tags, record sets and DNSSEC state (its key-signing keys);
the reusable delegation sets; every customer-managed KMS key that is not pending deletion; every bucket,
and for the buckets the program declares each separately managed configuration it has; the IAM roles the
program declares, with their inline policies (an account's roles are mostly AWS's own, so no others).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from adopt.credentials import Credentials
from adopt.live import (
    BUCKET,
    BUCKET_PARTS,
    DELEGATION_SET,
    DNSSEC,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    KMS_KEY,
    KSK,
    RECORD,
    ZONE,
    Live,
    Progress,
    ReadError,
    dns_name,
)

# Route 53 and the DNSSEC keys live in us-east-1 (stacks/providers.py says why).
REGION: Final = "us-east-1"
READ_ONLY_PREFIXES: Final = ("Get", "List", "Describe")


class WriteRefusedError(ReadError):
    """Discovery tried an AWS operation that is not a read."""


def _refuse_writes(model: Any = None, **_: Any) -> None:
    name = getattr(model, "name", "")
    if not name.startswith(READ_ONLY_PREFIXES):
        raise WriteRefusedError(f"aws: discovery is read-only and refused {name or 'an unnamed operation'}")


def session(credentials: Credentials, *, region: str = REGION) -> boto3.Session:
    """A boto3 session with exactly the stack's credentials, refusing every operation but reads."""
    made = boto3.Session(
        aws_access_key_id=credentials["awsAccessKeyId"],
        aws_secret_access_key=credentials["awsSecretAccessKey"],
        aws_session_token=credentials.session_token,
        region_name=region,
    )
    made.events.register("before-call", _refuse_writes)
    return made


def _failed(what: str, exc: ClientError | BotoCoreError) -> ReadError:
    """One line for an AWS error: the call, AWS's error code and message."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return ReadError(f"aws {what}: {error.get('Code', '?')}: {error.get('Message', exc)}")
    return ReadError(f"aws {what}: {exc}")


def _error_code(exc: ClientError) -> str | None:
    return exc.response.get("Error", {}).get("Code")


def _call(what: str, function: Callable[..., Any], /, **kwargs: Any) -> Any:
    try:
        return function(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise _failed(what, exc) from None


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Mapping[str, Any]]:
    try:
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, ())
    except (ClientError, BotoCoreError) as exc:
        raise _failed(operation, exc) from None


def _bare_id(value: str) -> str:
    """``/hostedzone/Z123`` -> ``Z123`` (Route 53 answers IDs with their resource path)."""
    return value.rsplit("/", 1)[-1]


def _tags(pairs: Iterable[Mapping[str, str]], key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {str(p[key]): str(p.get(value, "")) for p in pairs}


def record_id(zone_id: str, name: str, type_: str, set_identifier: str | None = None) -> str:
    """The ID the AWS provider gives a record set, which ``pulumi import`` takes: ``ZONE_name_TYPE[_SET]``."""
    parts = [zone_id, dns_name(name), type_]
    if set_identifier:
        parts.append(set_identifier)
    return "_".join(parts)


def read_route53(client: Any, progress: Progress, *, domains: Sequence[str] | None = None) -> list[Live]:
    """Public zones, their record sets, DNSSEC and key-signing keys, and the reusable delegation sets.

    ``domains`` limits the zones read to those names (the cut-over check reads one zone).
    """
    found: list[Live] = []
    zones = [
        z
        for z in _pages(client, "list_hosted_zones", "HostedZones")
        if not z.get("Config", {}).get("PrivateZone") and (domains is None or dns_name(z["Name"]) in domains)
    ]
    progress(f"  route53: {len(zones)} public hosted zones")
    for zone in zones:
        zone_id, domain = _bare_id(zone["Id"]), dns_name(zone["Name"])
        detail = _call("get_hosted_zone", client.get_hosted_zone, Id=zone_id)
        delegation = detail.get("DelegationSet") or {}
        tags = _call(
            "list_tags_for_resource", client.list_tags_for_resource, ResourceType="hostedzone", ResourceId=zone_id
        )
        found.append(
            Live(
                ZONE,
                zone_id,
                domain,
                {
                    "comment": (zone.get("Config") or {}).get("Comment") or "",
                    "records": zone.get("ResourceRecordSetCount", 0),
                    # Present only when the zone was created on a reusable delegation set.
                    "delegation_set_id": _bare_id(delegation["Id"]) if delegation.get("Id") else None,
                    "name_servers": sorted(delegation.get("NameServers") or ()),
                    "tags": _tags(tags.get("ResourceTagSet", {}).get("Tags") or ()),
                },
            )
        )
        rrsets = list(_pages(client, "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone_id))
        progress(f"  route53: {domain}: {len(rrsets)} record sets")
        for rrset in rrsets:
            name, type_ = dns_name(rrset["Name"]), str(rrset["Type"])
            alias = rrset.get("AliasTarget")
            found.append(
                Live(
                    RECORD,
                    record_id(zone_id, name, type_, rrset.get("SetIdentifier")),
                    name,
                    {
                        "zone": domain,
                        "zone_id": zone_id,
                        "type": type_,
                        "ttl": rrset.get("TTL"),
                        "values": [str(r["Value"]) for r in rrset.get("ResourceRecords") or ()],
                        "alias": dns_name(alias["DNSName"]) if alias else None,
                        "alias_zone": alias.get("HostedZoneId") if alias else None,
                        "set_identifier": rrset.get("SetIdentifier"),
                    },
                )
            )
        dnssec = _call("get_dnssec", client.get_dnssec, HostedZoneId=zone_id)
        if (dnssec.get("Status") or {}).get("ServeSignature") == "SIGNING":
            found.append(Live(DNSSEC, zone_id, domain, {"zone": domain, "zone_id": zone_id}))
        for key in dnssec.get("KeySigningKeys") or ():
            if key.get("Status") in ("DELETING",):
                continue
            found.append(
                Live(
                    KSK,
                    f"{zone_id},{key['Name']}",
                    str(key["Name"]),
                    {"zone": domain, "zone_id": zone_id, "kms_arn": key.get("KmsArn"), "status": key.get("Status")},
                )
            )
    found += _delegation_sets(client)
    return found


def _delegation_sets(client: Any) -> list[Live]:
    # ListReusableDelegationSets pages by Marker/NextMarker and botocore has no paginator for it.
    sets: list[Live] = []
    marker: str | None = None
    while True:
        page = _call(
            "list_reusable_delegation_sets",
            client.list_reusable_delegation_sets,
            **({"Marker": marker} if marker else {}),
        )
        for entry in page.get("DelegationSets") or ():
            set_id = _bare_id(str(entry.get("Id") or ""))
            if not set_id:
                continue  # only a reusable set has an ID (and can be imported)
            sets.append(
                Live(
                    DELEGATION_SET,
                    set_id,
                    str(entry.get("CallerReference") or set_id),
                    {"name_servers": sorted(entry.get("NameServers") or ())},
                )
            )
        if not page.get("IsTruncated"):
            return sets
        marker = page.get("NextMarker")


def read_kms(client: Any, progress: Progress) -> list[Live]:
    """Customer-managed keys that are usable or disabled (not pending deletion), with aliases and tags."""
    aliases: dict[str, list[str]] = {}
    for alias in _pages(client, "list_aliases", "Aliases"):
        if alias.get("TargetKeyId"):
            aliases.setdefault(str(alias["TargetKeyId"]), []).append(str(alias["AliasName"]))
    found: list[Live] = []
    for entry in _pages(client, "list_keys", "Keys"):
        meta = _call("describe_key", client.describe_key, KeyId=entry["KeyId"])["KeyMetadata"]
        if meta.get("KeyManager") != "CUSTOMER" or meta.get("KeyState") in (
            "PendingDeletion",
            "PendingReplicaDeletion",
        ):
            continue
        key_id = str(meta["KeyId"])
        tags = _tags(_pages(client, "list_resource_tags", "Tags", KeyId=key_id), "TagKey", "TagValue")
        found.append(
            Live(
                KMS_KEY,
                key_id,
                str(meta.get("Description") or key_id),
                {
                    "arn": meta.get("Arn"),
                    "description": meta.get("Description") or "",
                    "spec": meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"),
                    "usage": meta.get("KeyUsage"),
                    "state": meta.get("KeyState"),
                    "aliases": sorted(aliases.get(key_id, ())),
                    "tags": tags,
                },
            )
        )
    progress(f"  kms: {len(found)} customer-managed keys")
    return found


def read_s3(client: Any, progress: Progress, declared: Sequence[str]) -> list[Live]:
    """Every bucket of the account; for the ``declared`` ones, each separately managed configuration present."""
    buckets = _call("list_buckets", client.list_buckets).get("Buckets") or ()
    found = [Live(BUCKET, str(b["Name"]), str(b["Name"]), {}) for b in buckets]
    progress(f"  s3: {len(found)} buckets")
    names = {b.name for b in found}
    for bucket in (b for b in declared if b in names):
        for type_, (operation, absent) in BUCKET_PARTS.items():
            try:
                answer = getattr(client, operation)(Bucket=bucket)
            except ClientError as exc:
                if _error_code(exc) in absent:
                    continue
                raise _failed(f"{operation} {bucket}", exc) from None
            # A bucket that never had versioning answers without a Status: nothing to adopt.
            if type_.endswith("BucketVersioning") and not answer.get("Status"):
                continue
            found.append(Live(type_, bucket, bucket, {"bucket": bucket}))
    return found


def read_iam(client: Any, progress: Progress, declared: Sequence[str]) -> list[Live]:
    """The ``declared`` roles that exist, and each one's inline policies."""
    found: list[Live] = []
    for role in declared:
        try:
            client.get_role(RoleName=role)
        except ClientError as exc:
            if _error_code(exc) == "NoSuchEntity":
                continue
            raise _failed(f"get_role {role}", exc) from None
        found.append(Live(IAM_ROLE, role, role, {}))
        for policy in _pages(client, "list_role_policies", "PolicyNames", RoleName=role):
            found.append(Live(IAM_ROLE_POLICY, f"{role}:{policy}", str(policy), {"role": role}))
    progress(f"  iam: {sum(r.type == IAM_ROLE for r in found)} of {len(declared)} declared roles exist")
    return found


def read(
    aws: boto3.Session,
    progress: Progress,
    *,
    buckets: Sequence[str] = (),
    roles: Sequence[str] = (),
    endpoint: str | None = None,
) -> list[Live]:
    """Everything discovery reads from AWS, with ``aws`` (see :func:`session`); ``endpoint`` for an emulator."""
    progress("aws: reading Route 53, KMS, S3, IAM")
    return [
        *read_route53(aws.client("route53", endpoint_url=endpoint), progress),
        *read_kms(aws.client("kms", endpoint_url=endpoint), progress),
        *read_s3(aws.client("s3", endpoint_url=endpoint), progress, buckets),
        *read_iam(aws.client("iam", endpoint_url=endpoint), progress, roles),
    ]
