"""What discovery reads from the live accounts: plain values, one per live resource, keyed by Pulumi type.

Every reader (:mod:`adopt.live_aws`, :mod:`adopt.live_digitalocean`, :mod:`adopt.live_fastly`,
:mod:`adopt.live_datadog`) turns its API's answers into :class:`Live` values whose ``type`` is the Pulumi type
token that would adopt the resource and whose ``id`` is the ID ``pulumi import`` takes for it, so matching
and the import map never need to know which API a value came from.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

ZONE: Final = "aws:route53/zone:Zone"
RECORD: Final = "aws:route53/record:Record"
DELEGATION_SET: Final = "aws:route53/delegationSet:DelegationSet"
KSK: Final = "aws:route53/keySigningKey:KeySigningKey"
DNSSEC: Final = "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec"
KMS_KEY: Final = "aws:kms/key:Key"
BUCKET: Final = "aws:s3/bucket:Bucket"
IAM_ROLE: Final = "aws:iam/role:Role"
IAM_ROLE_POLICY: Final = "aws:iam/rolePolicy:RolePolicy"
# A bucket's separately managed configurations, each imported by the bucket's name, with the S3 call that
# reads it and the error codes S3 answers when the bucket has none.
BUCKET_PARTS: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    "aws:s3/bucketVersioning:BucketVersioning": ("get_bucket_versioning", ()),
    "aws:s3/bucketPolicy:BucketPolicy": ("get_bucket_policy", ("NoSuchBucketPolicy",)),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (
        "get_public_access_block",
        ("NoSuchPublicAccessBlockConfiguration",),
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (
        "get_bucket_ownership_controls",
        ("OwnershipControlsNotFoundError",),
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "get_bucket_encryption",
        ("ServerSideEncryptionConfigurationNotFoundError",),
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (
        "get_bucket_lifecycle_configuration",
        ("NoSuchLifecycleConfiguration",),
    ),
    "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration": (
        "get_bucket_website",
        ("NoSuchWebsiteConfiguration",),
    ),
}
DROPLET: Final = "digitalocean:index/droplet:Droplet"
VOLUME: Final = "digitalocean:index/volume:Volume"
FIREWALL: Final = "digitalocean:index/firewall:Firewall"
VPC: Final = "digitalocean:index/vpc:Vpc"
FASTLY_SERVICE: Final = "fastly:index/serviceVcl:ServiceVcl"
MONITOR: Final = "datadog:index/monitor:Monitor"
SYNTHETICS: Final = "datadog:index/syntheticsTest:SyntheticsTest"

# The clouds discovery reads, and the Pulumi types each reader reports.
CLOUD_TYPES: Final[Mapping[str, frozenset[str]]] = {
    "aws": frozenset({ZONE, RECORD, DELEGATION_SET, KSK, DNSSEC, KMS_KEY, BUCKET, IAM_ROLE, IAM_ROLE_POLICY})
    | frozenset(BUCKET_PARTS),
    "digitalocean": frozenset({DROPLET, VOLUME, FIREWALL, VPC}),
    "fastly": frozenset({FASTLY_SERVICE}),
    "datadog": frozenset({MONITOR, SYNTHETICS}),
}
CLOUDS: Final = tuple(CLOUD_TYPES)

# Route 53 writes a name's special characters as three-digit octal escapes (``\052`` for ``*``).
_OCTAL_ESCAPE: Final = re.compile(r"\\(\d{3})")


def dns_name(name: str) -> str:
    """A DNS name as the program writes it: lower case, no trailing dot, Route 53's octal escapes decoded."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), name).rstrip(".").lower()


@dataclass(frozen=True)
class Live:
    """One live resource.

    ``type`` is the Pulumi type that adopts it, ``id`` the ID ``pulumi import`` takes, ``name`` its physical
    name (a domain, a bucket, a droplet's name), ``attrs`` what matching and the reports need besides
    (a record's zone, type, TTL and values; a service's domains; a droplet's region and tags).
    """

    type: str
    id: str
    name: str
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def attr(self, key: str, default: Any = None) -> Any:
        """One of ``attrs``."""
        return self.attrs.get(key, default)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"type": self.type, "id": self.id, "name": self.name, "attrs": dict(self.attrs)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Live:
        """The inverse of :meth:`to_json`."""
        return cls(str(data["type"]), str(data["id"]), str(data["name"]), dict(data.get("attrs") or {}))


@dataclass(frozen=True)
class Inventory:
    """Everything discovery read: the live resources and the clouds they came from."""

    resources: tuple[Live, ...]
    clouds: tuple[str, ...]

    @property
    def types(self) -> frozenset[str]:
        """The Pulumi types this inventory covers: a type not in it was not looked for."""
        return frozenset(t for cloud in self.clouds for t in CLOUD_TYPES[cloud])

    def of_type(self, type_: str) -> list[Live]:
        """The live resources of one Pulumi type."""
        return [r for r in self.resources if r.type == type_]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what ``make discover`` saves beside the report)."""
        return {"clouds": list(self.clouds), "resources": [r.to_json() for r in self.resources]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Inventory:
        """The inverse of :meth:`to_json`."""
        clouds = tuple(str(c) for c in data.get("clouds") or ())
        unknown = [c for c in clouds if c not in CLOUD_TYPES]
        if unknown:
            raise ValueError(f"inventory names clouds {unknown}; known: {', '.join(CLOUDS)}")
        return cls(tuple(Live.from_json(r) for r in data.get("resources") or ()), clouds)

    @classmethod
    def load(cls, path: Path) -> Inventory:
        """An inventory saved by ``make discover``; ValueError with one line when it cannot be read."""
        try:
            return cls.from_json(json.loads(path.read_text()))
        except OSError as exc:
            raise ValueError(f"inventory {path}: cannot read it ({exc.strerror or exc})") from None
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"inventory {path}: not an inventory written by make discover ({exc})") from None


class Progress:
    """Progress lines on stderr (or nowhere): discovery of a large account takes minutes."""

    def __init__(self, stream: TextIO | None = sys.stderr) -> None:
        self._stream = stream

    def __call__(self, message: str) -> None:
        """Say ``message`` on its own line."""
        if self._stream is not None:
            print(message, file=self._stream, flush=True)

    def counted(self, what: str, items: Iterable[Any]) -> list[Any]:
        """``items`` as a list, with one line saying how many ``what`` there were."""
        found = list(items)
        self(f"  {len(found)} {what}")
        return found


class ReadError(Exception):
    """A live account could not be read. The message is one line: which cloud, which call, why."""
