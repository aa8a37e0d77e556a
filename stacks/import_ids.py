"""The shape of a live cloud ID, per resource type: what ``pulumi import`` and the ``import`` option take.

Each entry follows the ``## Import`` section of the provider's documentation (the Terraform provider docs the
Pulumi providers are bridged from, repeated in the SDKs' docstrings): the ID the provider's importer reads,
not whatever the console shows. Where the ID embeds something the program also declares (a record's name and
type, a bucket's name, a tag's name), the ID must agree with the declaration, or the import would adopt one
resource and then rewrite it into another (pulumi/pulumi#16397).

Some resources cannot be imported at all; they are created on adoption, which is harmless for each of them
for the reason :data:`NOT_IMPORTABLE` gives. A type in neither table is refused, so a new resource type needs
its row here before the estate can adopt anything of it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

_UUID: Final = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Route 53 IDs: a letter (Z: hosted zone, N: reusable delegation set) and up to 31 capitals and digits.
_ZONE_ID: Final = r"Z[A-Z0-9]{1,31}"
_DELEGATION_SET_ID: Final = r"N[A-Z0-9]{1,31}"
# The record types Route 53 holds (its ResourceRecordSet Type enumeration).
RECORD_TYPES: Final = (
    "A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SOA", "SPF", "SRV", "SSHFP",
    "SVCB", "TLSA", "TXT",
)  # fmt: skip
_BUCKET: Final = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
_ACCOUNT: Final = r"[0-9]{12}"
# IAM names: letters, digits and +=,.@_- (IAM's "IAM names" rules), roles up to 64, inline policies up to 128.
_IAM_ROLE: Final = r"[\w+=,.@-]{1,64}"
_IAM_POLICY: Final = r"[\w+=,.@-]{1,128}"
# Fastly's IDs are alphanumeric (the API's examples: 20-22 characters).
_FASTLY_ID: Final = r"[A-Za-z0-9]{16,32}"
# PagerDuty object IDs: upper-case letters and digits (the provider's examples: PLBP09X).
_PAGERDUTY_ID: Final = r"[A-Z0-9]{6,14}"
_HEX32: Final = r"[0-9a-f]{32}"
_DOMAIN: Final = r"(?P<domain>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})"

Agreement = Callable[[re.Match[str], Mapping[str, Any]], str | None]


@dataclass(frozen=True)
class IdShape:
    """The ID a type is imported by: a full-match pattern, how to say it, where it is documented.

    ``agrees`` compares what the ID embeds with the resource's own inputs (plain strings only: an input the
    program computes at deploy time cannot be compared here) and says what differs, or None.
    """

    pattern: re.Pattern[str]
    describes: str
    documented: str
    agrees: Agreement | None = None

    def problem(self, value: str, inputs: Mapping[str, Any]) -> str | None:
        """Why ``value`` cannot be this type's ID for a resource with ``inputs``, or None when it can."""
        match = self.pattern.fullmatch(value)
        if match is None:
            return f"must be {self.describes}"
        return self.agrees(match, inputs) if self.agrees is not None else None


def _shape(pattern: str, describes: str, documented: str, agrees: Agreement | None = None) -> IdShape:
    return IdShape(re.compile(pattern), describes, documented, agrees)


def _plain(inputs: Mapping[str, Any], key: str) -> str | None:
    value = inputs.get(key)
    return value if isinstance(value, str) else None


def _same(group: str, key: str, what: str) -> Agreement:
    """The ID's ``group`` must equal the input ``key`` (where the program declares it as a plain string)."""

    def agrees(match: re.Match[str], inputs: Mapping[str, Any]) -> str | None:
        declared = _plain(inputs, key)
        found = match.group(group)
        if declared is not None and found != declared:
            return f"names {what} {found!r}, but the program declares {declared!r}"
        return None

    return agrees


def _record_agrees(match: re.Match[str], inputs: Mapping[str, Any]) -> str | None:
    r"""A record ID names the record: its type must be the declared type, its name the declared name.

    The provider reads the name either relative to the zone (``Z..._www_CNAME``) or fully qualified, in lower
    case, with ``*`` written as Route 53's ``\\052``; set identifiers must match too.
    """
    kind, declared_kind = match.group("type"), _plain(inputs, "type")
    if declared_kind is not None and kind != declared_kind:
        return f"is a {kind} record's ID, but the program declares a {declared_kind} record"
    name = match.group("name").lower().rstrip(".").replace("\\052", "*")
    declared = _plain(inputs, "name")
    if declared is not None and name:
        full = declared.lower().rstrip(".")
        if name != full and not full.startswith(name + "."):
            return f"names record {name!r}, but the program declares {declared!r}"
    set_id, declared_set = match.group("set"), _plain(inputs, "setIdentifier")
    if (set_id or None) != (declared_set or None):
        return f"has set identifier {set_id!r}, but the program declares {declared_set!r}"
    return None


def _ipv4(group: str) -> Agreement:
    def agrees(match: re.Match[str], inputs: Mapping[str, Any]) -> str | None:
        try:
            address = ipaddress.IPv4Address(match.group(group))
        except ValueError:
            return f"must start with a reserved IPv4 address, not {match.group(group)!r}"
        if not address.is_global:
            return f"names {address}, which is not a public address DigitalOcean reserves"
        return None

    return agrees


_S3_CONFIG: Final = "the bucket's name, or <bucket>,<owner account ID> (12 digits) for a bucket of another account"
_S3_DOCS: Final = "terraform-provider-aws docs/resources/s3_bucket_*.html.markdown, Import"

ID_SHAPES: Final[Mapping[str, IdShape]] = {
    # AWS (terraform-provider-aws website/docs/r/*.html.markdown, "Import").
    "aws:route53/zone:Zone": _shape(
        _ZONE_ID, "a Route 53 hosted zone ID such as Z1D633PJN98FT9", "route53_zone: the zone ID"
    ),
    "aws:route53/record:Record": _shape(
        rf"(?P<zone>{_ZONE_ID})_(?P<name>[^\s]*?)_(?P<type>{'|'.join(RECORD_TYPES)})(?:_(?P<set>[^\s]+))?",
        "<zone ID>_<record name>_<type>[_<set identifier>], e.g. Z4KAPRWWNC7JR_www.python.org_CNAME",
        "route53_record: zone ID, record name, type and set identifier joined with underscores",
        _record_agrees,
    ),
    "aws:route53/delegationSet:DelegationSet": _shape(
        _DELEGATION_SET_ID, "a Route 53 reusable delegation set ID such as N1PA6795SAMPLE", "route53_delegation_set"
    ),
    "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec": _shape(
        _ZONE_ID, "the hosted zone's ID (Z...): DNSSEC signing is imported by its zone", "route53_hosted_zone_dnssec"
    ),
    "aws:route53/keySigningKey:KeySigningKey": _shape(
        rf"{_ZONE_ID},(?P<name>[A-Za-z0-9._-]{{3,128}})",
        "<hosted zone ID>,<key-signing key name>",
        "route53_key_signing_key: hosted zone ID and key name joined with a comma",
        _same("name", "name", "key-signing key"),
    ),
    "aws:kms/key:Key": _shape(
        rf"{_UUID}|mrk-[0-9a-f]{{32}}",
        "a KMS key ID: a UUID, or mrk-<32 hex digits> for a multi-Region key (not its ARN or alias)",
        "kms_key: the key ID",
    ),
    "aws:iam/role:Role": _shape(
        rf"(?P<name>{_IAM_ROLE})",
        "an IAM role name (not its ARN)",
        "iam_role: the role name",
        _same("name", "name", "role"),
    ),
    "aws:iam/rolePolicy:RolePolicy": _shape(
        rf"(?P<role>{_IAM_ROLE}):(?P<name>{_IAM_POLICY})",
        "<role name>:<inline policy name>",
        "iam_role_policy: role name and policy name joined with a colon",
        _same("name", "name", "policy"),
    ),
    "aws:s3/bucket:Bucket": _shape(
        rf"(?P<bucket>{_BUCKET})",
        "an S3 bucket name",
        "s3_bucket: the bucket name",
        _same("bucket", "bucket", "bucket"),
    ),
    **{
        f"aws:s3/{token}:{name}": _shape(
            rf"(?P<bucket>{_BUCKET})" + (rf"(?:,{_ACCOUNT})?" if owner else ""),
            _S3_CONFIG if owner else "the bucket's name",
            _S3_DOCS,
            _same("bucket", "bucket", "bucket"),
        )
        for token, name, owner in (
            ("bucketLifecycleConfiguration", "BucketLifecycleConfiguration", True),
            ("bucketServerSideEncryptionConfiguration", "BucketServerSideEncryptionConfiguration", True),
            ("bucketVersioning", "BucketVersioning", True),
            ("bucketWebsiteConfiguration", "BucketWebsiteConfiguration", True),
            ("bucketAcl", "BucketAcl", True),
            ("bucketLogging", "BucketLogging", True),
            ("bucketOwnershipControls", "BucketOwnershipControls", False),
            ("bucketPolicy", "BucketPolicy", False),
            ("bucketPublicAccessBlock", "BucketPublicAccessBlock", False),
        )
    },
    # DigitalOcean (terraform-provider-digitalocean docs/resources/*.md, "Import").
    "digitalocean:index/droplet:Droplet": _shape(r"[0-9]{1,19}", "a droplet's numeric ID", "droplet: the droplet id"),
    **{
        f"digitalocean:index/{token}:{name}": _shape(_UUID, f"the {what}'s UUID", f"{doc}: the id")
        for token, name, what, doc in (
            ("vpc", "Vpc", "VPC", "vpc"),
            ("firewall", "Firewall", "firewall", "firewall"),
            ("project", "Project", "project", "project"),
            ("volume", "Volume", "volume", "volume"),
            ("databaseCluster", "DatabaseCluster", "database cluster", "database_cluster"),
            (
                "databaseFirewall",
                "DatabaseFirewall",
                "database cluster (its firewall is imported by it)",
                "database_firewall",
            ),
        )
    },
    "digitalocean:index/databaseDb:DatabaseDb": _shape(
        rf"{_UUID},(?P<name>[A-Za-z0-9_-]{{1,63}})",
        "<cluster UUID>,<database name>",
        "database_db: cluster id and database name joined with a comma",
        _same("name", "name", "database"),
    ),
    "digitalocean:index/databaseReplica:DatabaseReplica": _shape(
        rf"{_UUID},(?P<name>[a-z0-9-]{{3,63}})",
        "<cluster UUID>,<replica name>",
        "database_replica: cluster id and replica name joined with a comma",
        _same("name", "name", "replica"),
    ),
    "digitalocean:index/reservedIp:ReservedIp": _shape(
        r"(?P<ip>[0-9]{1,3}(?:\.[0-9]{1,3}){3})", "the reserved IPv4 address itself", "reserved_ip: the ip", _ipv4("ip")
    ),
    "digitalocean:index/reservedIpAssignment:ReservedIpAssignment": _shape(
        r"(?P<ip>[0-9]{1,3}(?:\.[0-9]{1,3}){3}),[0-9]{1,19}",
        "<reserved IPv4>,<droplet ID>",
        "reserved_ip_assignment: the reserved IP and the droplet id joined with a comma",
        _ipv4("ip"),
    ),
    "digitalocean:index/tag:Tag": _shape(
        r"(?P<name>[A-Za-z0-9:_-]{1,255})", "the tag's name", "tag: the name", _same("name", "name", "tag")
    ),
    # Fastly (terraform-provider-fastly docs/resources/*.md, "Import").
    "fastly:index/serviceVcl:ServiceVcl": _shape(
        rf"{_FASTLY_ID}(?:@[0-9]+)?",
        "a Fastly service ID, optionally @<version> (by default the active version is imported)",
        "service_vcl: the service ID",
    ),
    "fastly:index/serviceDynamicSnippetContent:ServiceDynamicSnippetContent": _shape(
        rf"{_FASTLY_ID}/{_FASTLY_ID}",
        "<service ID>/<snippet ID>",
        "service_dynamic_snippet_content: service ID and snippet ID joined with a slash",
    ),
    "fastly:index/tlsSubscription:TlsSubscription": _shape(
        r"[A-Za-z0-9]{10,32}", "a Fastly TLS subscription ID", "tls_subscription: the subscription ID"
    ),
    # Datadog (terraform-provider-datadog docs/resources/*.md, "Import").
    "datadog:index/monitor:Monitor": _shape(r"[0-9]{1,19}", "a monitor's numeric ID", "monitor: the monitor ID"),
    "datadog:index/syntheticsTest:SyntheticsTest": _shape(
        r"[a-z0-9]{3}-[a-z0-9]{3}-[a-z0-9]{3}",
        "a synthetic test's public ID such as abc-123-xyz (not its monitor ID)",
        "synthetics_test: the public ID",
    ),
    "datadog:index/dashboardJson:DashboardJson": _shape(
        r"[a-z0-9]{3}-[a-z0-9]{3}-[a-z0-9]{3}", "a dashboard ID such as sv7-gyh-kas", "dashboard_json: the dashboard ID"
    ),
    "datadog:index/serviceLevelObjective:ServiceLevelObjective": _shape(
        _HEX32, "an SLO's ID (32 hexadecimal digits)", "service_level_objective: the SLO's string ID"
    ),
    "datadog:fastly/integrationAccount:IntegrationAccount": _shape(
        _HEX32, "the Fastly account's ID in Datadog (32 hexadecimal digits)", "integration_fastly_account: the ID"
    ),
    "datadog:fastly/integrationService:IntegrationService": _shape(
        rf"{_HEX32}:{_FASTLY_ID}",
        "<Datadog's Fastly account ID>:<Fastly service ID>",
        "integration_fastly_service: account ID and service ID joined with a colon",
    ),
    "datadog:pagerduty/serviceObject:ServiceObject": _shape(
        r"(?P<name>[^\s:]{1,255})",
        "the PagerDuty service's name as the integration knows it (service_name)",
        "integration_pagerduty_service_object: the service_name, with SERVICE_KEY set in the environment",
        _same("name", "serviceName", "PagerDuty service"),
    ),
    # PagerDuty (terraform-provider-pagerduty website/docs/r/*.html.markdown, "Import").
    **{
        f"pagerduty:index/{token}:{name}": _shape(
            _PAGERDUTY_ID, f"the {what}'s PagerDuty ID such as PLBP09X", f"{doc}: the id"
        )
        for token, name, what, doc in (
            ("user", "User", "user", "user"),
            ("schedule", "Schedule", "schedule", "schedule"),
            ("escalationPolicy", "EscalationPolicy", "escalation policy", "escalation_policy"),
            ("service", "Service", "service", "service"),
        )
    },
    "pagerduty:index/userContactMethod:UserContactMethod": _shape(
        rf"{_PAGERDUTY_ID}:{_PAGERDUTY_ID}", "<user ID>:<contact method ID>", "user_contact_method: user_id and id"
    ),
    "pagerduty:index/userNotificationRule:UserNotificationRule": _shape(
        rf"{_PAGERDUTY_ID}:{_PAGERDUTY_ID}",
        "<user ID>:<notification rule ID>",
        "user_notification_rule: user_id and id",
    ),
    "pagerduty:index/serviceIntegration:ServiceIntegration": _shape(
        rf"{_PAGERDUTY_ID}\.{_PAGERDUTY_ID}",
        "<service ID>.<integration ID>",
        "service_integration: the service id and the integration id joined with a dot",
    ),
    # Gandi (go-gandi/terraform-provider-gandi resource_nameservers.go: a passthrough importer, ID the domain).
    "gandi:domains/nameservers:Nameservers": _shape(
        _DOMAIN, "the domain's name (python.org)", "gandi_nameservers: the FQDN", _same("domain", "domain", "domain")
    ),
}

NOT_IMPORTABLE: Final[Mapping[str, str]] = {
    "digitalocean:index/projectResources:ProjectResources": (
        "the provider cannot import it (docs/resources/project_resources.md); created on adoption, it assigns the "
        "listed resources to the project, which moves them between projects and changes nothing they serve"
    ),
    "digitalocean:index/volumeAttachment:VolumeAttachment": (
        "the provider has no importer; created on adoption, it attaches the volume only when it is not already "
        "attached to that droplet (resource_volume_attachment.go), so an attached volume stays as it is"
    ),
    "gandi:domains/dNSSecKey:DNSSecKey": (
        "pulumiverse-gandi documents no importer for it and this program could not verify one; created on "
        "adoption, it publishes the zone's key-signing key at the registrar (check Gandi's key list first)"
    ),
    "fastly:index/tlsSubscriptionValidation:TlsSubscriptionValidation": (
        "a virtual resource with no importer; created on adoption, it waits until the subscription is issued, "
        "which a live certificate already is"
    ),
}


def problem(type_: str, value: str, inputs: Mapping[str, Any]) -> str | None:
    """Why ``value`` cannot be the import ID of a ``type_`` resource with ``inputs``, or None when it can."""
    if type_ in NOT_IMPORTABLE:
        return f"cannot be imported: {NOT_IMPORTABLE[type_]}; drop the entry"
    shape = ID_SHAPES.get(type_)
    if shape is None:
        return (
            f"{type_} has no import ID shape yet: add its row to stacks/import_ids.py from its provider's Import docs"
        )
    return shape.problem(value, inputs)


def importable(type_: str) -> bool:
    """Whether a resource of ``type_`` can be adopted by ID (``False``: it is created on adoption)."""
    return type_ not in NOT_IMPORTABLE
