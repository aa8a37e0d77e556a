"""A public Route 53 hosted zone with its records, CAA, mail authentication, delegations and optional DNSSEC.

Everything a caller declares is validated when the argument objects are built, before any resource is
registered, so a typo fails with one line naming the argument, the value and what is allowed. Nothing here
knows which domains it serves: the caller passes the domain, the records and the addresses.

Record names in :class:`RecordSpec` are **relative to the zone** (``"@"`` for the apex, ``"www"``,
``"_dmarc"``), so the same declaration serves a production zone and its renamed staging twin. Record
declarations live in :mod:`components.dns_records` and mail authentication in :mod:`components.dns_mail`;
their public names are re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_aws as aws

from components.common import ZoneRef
from components.common import invalid as _fail
from components.dns_mail import SPF_LOOKUP_LIMIT, DmarcPolicy, MailSettings, MxHost
from components.dns_records import (
    _RELATIVE_NAME,
    DEFAULT_CAA_ISSUERS,
    DEFAULT_TTL,
    MAX_RECORD_VALUE,
    MAX_TTL,
    MIN_TTL,
    RECORD_TYPES,
    TXT_CHUNK,
    CaaPolicy,
    RecordSpec,
    _check_domain,
    _check_ttl,
    txt_value,
)

DNS_ZONE_TYPE: Final = "infra:dns:DnsZone"
DELEGATION_SET_TYPE: Final = "infra:dns:DelegationSet"

# Route 53 DNSSEC signs only with an asymmetric P-256 key held in KMS in us-east-1, whatever region the
# rest of the stack uses (Route 53 Developer Guide, "Working with customer managed keys for DNSSEC").
DNSSEC_KEY_REGION: Final = "us-east-1"
DNSSEC_KEY_SPEC: Final = "ECC_NIST_P256"
DNSSEC_KEY_USAGE: Final = "SIGN_VERIFY"
# The zone tag naming who publishes the zone's NS records outside this program (registrar or a stack).
DELEGATED_BY_TAG: Final = "delegated-by"
# What AWS allows in a tag value.
_TAG_VALUE = re.compile(r"^[\w .:/=+@-]{1,256}$")
# Route 53's own TTL for a zone's NS records; a delegation whose name servers never change may match it.
NS_TTL: Final = 172_800

__all__ = [
    "DEFAULT_CAA_ISSUERS",
    "DEFAULT_TTL",
    "DELEGATED_BY_TAG",
    "DELEGATION_SET_TYPE",
    "DNSSEC_KEY_REGION",
    "DNSSEC_KEY_SPEC",
    "DNSSEC_KEY_USAGE",
    "DNS_ZONE_TYPE",
    "MAX_RECORD_VALUE",
    "MAX_TTL",
    "MIN_TTL",
    "NS_TTL",
    "RECORD_TYPES",
    "SPF_LOOKUP_LIMIT",
    "TXT_CHUNK",
    "CaaPolicy",
    "DelegationSet",
    "DmarcPolicy",
    "DnsZone",
    "DnsZoneArgs",
    "MailSettings",
    "MxHost",
    "RecordSpec",
    "txt_value",
]


@dataclass(frozen=True)
class DnsZoneArgs:
    """What a :class:`DnsZone` holds.

    - ``domain``: the zone's DNS name, lower case, no trailing dot.
    - ``records``: record sets to create (names relative to the zone). TXT sets with the same name are
      merged into one Route 53 record set (Route 53 holds one set per name and type), so site-verification
      TXT values can live beside SPF; any other repeat of a name and type is refused.
    - ``caa``: the apex CAA policy, on by default; pass ``None`` to turn CAA off (and write your own).
    - ``mail``: MX, SPF, DKIM and DMARC for a mail domain of the zone.
    - ``dnssec``: sign the zone (a KMS key in us-east-1, a key-signing key, and signing turned on). Publish
      the :attr:`DnsZone.ds_record` at the registrar afterwards.
    - ``delegation_set_id`` / ``create_delegation_set``: put the zone on a reusable delegation set (one the
      caller made, e.g. with :class:`DelegationSet`, or a new one) so its name servers survive a replacement.
    - ``delegated_by``: who publishes the zone's NS records when no zone of this program does: the
      registrar, or another stack's name. It becomes the zone's ``delegated-by`` tag, which the policy
      pack reads to tell a declared delegation from a forgotten one.
    - ``protect``: protect and retain on delete the zone, its delegation set and its DNSSEC key material.

    A zone on a reusable delegation set is replaced delete-first: Route 53 refuses a second zone of the
    same name on the same set (ConflictingDomainExists), so the new zone can take the set's name servers
    only once the old one is gone.
    """

    domain: str
    records: Sequence[RecordSpec] = ()
    caa: CaaPolicy | None = CaaPolicy()
    mail: MailSettings | None = None
    dnssec: bool = False
    delegation_set_id: pulumi.Input[str] | None = None
    create_delegation_set: bool = False
    protect: bool = False
    comment: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    delegated_by: str | None = None

    def __post_init__(self) -> None:
        _check_domain("DnsZoneArgs.domain", self.domain)
        if self.delegated_by is not None and (
            not isinstance(self.delegated_by, str) or not _TAG_VALUE.match(self.delegated_by)
        ):
            raise _fail(
                "DnsZoneArgs.delegated_by",
                self.delegated_by,
                "must be 'registrar' or a stack name such as org/project/prod (1-256 characters a tag allows)",
            )
        if DELEGATED_BY_TAG in self.tags:
            raise _fail("DnsZoneArgs.tags", DELEGATED_BY_TAG, "is written from delegated_by; set that instead")
        if (
            isinstance(self.records, str)
            or not isinstance(self.records, Sequence)
            or not all(isinstance(r, RecordSpec) for r in self.records)
        ):
            raise _fail("DnsZoneArgs.records", self.records, "must be a list of RecordSpec")
        object.__setattr__(self, "records", tuple(self.records))
        for record in self.records:
            if record.name == self.domain or record.name.endswith("." + self.domain):
                raise _fail(
                    "DnsZoneArgs.records",
                    record.name,
                    f"record names are relative to the zone: write '@' or the part before '.{self.domain}'",
                )
        if self.caa is not None and not isinstance(self.caa, CaaPolicy):
            raise _fail("DnsZoneArgs.caa", self.caa, "must be a CaaPolicy, or None to turn CAA off explicitly")
        if self.mail is not None and not isinstance(self.mail, MailSettings):
            raise _fail("DnsZoneArgs.mail", self.mail, "must be a MailSettings or None")
        if self.delegation_set_id is not None and self.create_delegation_set:
            raise _fail(
                "DnsZoneArgs.create_delegation_set",
                True,
                "must be False when delegation_set_id is given: use the caller's set or create one, not both",
            )
        for key, value in self.tags.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise _fail("DnsZoneArgs.tags", {key: value}, "must map strings to strings")
        self.record_sets()

    def record_sets(self) -> tuple[RecordSpec, ...]:
        """Every record set the zone will hold, merged and checked for conflicts, in a stable order."""
        declared: list[tuple[str, RecordSpec]] = [("records", r) for r in self.records]
        if self.caa is not None:
            declared.append(("caa", RecordSpec("@", "CAA", self.caa.values(), self.caa.ttl)))
        if self.mail is not None:
            declared += [("mail", r) for r in self.mail.records()]

        merged: dict[tuple[str, str], RecordSpec] = {}
        sources: dict[tuple[str, str], str] = {}
        for source, spec in declared:
            key = (spec.name, spec.type)
            previous = merged.get(key)
            if previous is None:
                merged[key] = spec
                sources[key] = source
                continue
            if spec.type != "TXT":
                hint = " (pass caa=None to write your own apex CAA)" if "caa" in (source, sources[key]) else ""
                raise _fail(
                    "DnsZoneArgs.records",
                    f"{spec.name} {spec.type}",
                    f"is declared twice (by {sources[key]} and {source}); "
                    f"give one RecordSpec with all the values{hint}",
                )
            if previous.ttl != spec.ttl:
                raise _fail(
                    "DnsZoneArgs.records",
                    f"{spec.name} TXT ttl {spec.ttl}",
                    f"TXT values at one name share one record set and one TTL ({previous.ttl} from {sources[key]})",
                )
            values = (*previous.values, *(v for v in spec.values if v not in previous.values))
            if sum(v.startswith("v=spf1") for v in values) > 1:
                raise _fail(
                    "DnsZoneArgs.records",
                    f"{spec.name} TXT",
                    "holds two SPF records (v=spf1), which makes SPF fail for every receiver; "
                    "keep one (MailSettings writes it)",
                )
            merged[key] = RecordSpec(spec.name, "TXT", values, spec.ttl)
            sources[key] = f"{sources[key]}+{source}"

        names_with_cname = {name for (name, type_) in merged if type_ == "CNAME"}
        for name, type_ in merged:
            if name in names_with_cname and type_ != "CNAME":
                raise _fail(
                    "DnsZoneArgs.records",
                    f"{name} CNAME",
                    f"a CNAME cannot share its name with other records (also has {type_})",
                )
        return tuple(merged[key] for key in sorted(merged))

    def fqdn(self, name: str) -> str:
        """The absolute name (no trailing dot) of a record name relative to this zone."""
        return self.domain if name == "@" else f"{name}.{self.domain}"

    def zone_tags(self) -> dict[str, str]:
        """The hosted zone's tags: the caller's, plus ``delegated-by`` when the zone declares it."""
        tags = dict(self.tags)
        if self.delegated_by is not None:
            tags[DELEGATED_BY_TAG] = self.delegated_by
        return tags


def _require_provider(component: str, provider: object, package: str) -> pulumi.ProviderResource:
    if not isinstance(provider, pulumi.ProviderResource):
        raise _fail(
            f"{component}(provider=...)",
            provider,
            f"must be an explicit {package} provider instance: default providers are disabled in this project",
        )
    if provider.package != package:
        raise _fail(
            f"{component}(provider=...)",
            f"{provider.package} provider",
            f"must be an explicit {package} provider instance",
        )
    return provider


class DelegationSet(pulumi.ComponentResource):
    """A reusable Route 53 delegation set: four name servers that several zones (and their replacements) share.

    Create one per estate, register its :attr:`name_servers` at the registrar once, and pass
    :attr:`delegation_set_id` to every :class:`DnsZoneArgs`; recreating a zone then leaves the registrar's
    delegation valid. ``protect`` protects and retains the set, since losing it breaks every delegation.
    """

    delegation_set: aws.route53.DelegationSet
    delegation_set_id: pulumi.Output[str]
    name_servers: pulumi.Output[Sequence[str]]

    def __init__(
        self,
        name: str,
        *,
        provider: pulumi.ProviderResource,
        reference_name: str | None = None,
        protect: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _require_provider("DelegationSet", provider, "aws")
        super().__init__(DELEGATION_SET_TYPE, name, None, opts)
        self.delegation_set = aws.route53.DelegationSet(
            f"{name}-set",
            reference_name=reference_name,
            opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=protect, retain_on_delete=protect),
        )
        self.delegation_set_id = self.delegation_set.id
        self.name_servers = self.delegation_set.name_servers
        self.register_outputs({"delegation_set_id": self.delegation_set_id, "name_servers": self.name_servers})


class DnsZone(pulumi.ComponentResource):
    """A public Route 53 hosted zone and everything declared in it. See :class:`DnsZoneArgs`.

    ``provider`` must be an explicit AWS provider (default providers are disabled); it is used for every
    child and for the account lookup DNSSEC needs. The DNSSEC key is always created in us-east-1 (its
    ``region`` is set explicitly), which Route 53 requires.

    Attributes: :attr:`zone`, :attr:`zone_id`, :attr:`name_servers` (give them to the registrar),
    :attr:`name`, :attr:`ref` (a :class:`~components.common.ZoneRef` for other components),
    :attr:`records` (``"<name> <TYPE>"`` -> record), :attr:`delegation_set_id`, and with DNSSEC
    :attr:`dnssec_key`, :attr:`key_signing_key`, :attr:`ds_record`.
    """

    zone: aws.route53.Zone
    zone_id: pulumi.Output[str]
    name_servers: pulumi.Output[Sequence[str]]
    name: str
    records: dict[str, aws.route53.Record]
    delegation_set: aws.route53.DelegationSet | None
    delegation_set_id: pulumi.Input[str] | None
    dnssec_key: aws.kms.Key | None
    key_signing_key: aws.route53.KeySigningKey | None
    dnssec: aws.route53.HostedZoneDnsSec | None
    ds_record: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        args: DnsZoneArgs,
        *,
        provider: pulumi.ProviderResource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(args, DnsZoneArgs):
            raise _fail("DnsZone(args=...)", args, "must be a DnsZoneArgs")
        _require_provider("DnsZone", provider, "aws")
        record_sets = args.record_sets()
        super().__init__(DNS_ZONE_TYPE, name, None, opts)
        self.name = args.domain
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        # Zone, delegation set and DNSSEC keys are what the registrar points at: losing them takes the
        # domain off the internet until someone edits the registrar, so they are kept when asked.
        stateful = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect)
        )

        self.delegation_set = None
        self.delegation_set_id = args.delegation_set_id
        if args.create_delegation_set:
            self.delegation_set = aws.route53.DelegationSet(
                f"{name}-delegation-set", reference_name=name, opts=stateful
            )
            self.delegation_set_id = self.delegation_set.id

        self.zone = aws.route53.Zone(
            f"{name}-zone",
            name=args.domain,
            comment=args.comment if args.comment is not None else f"{args.domain}, managed by Pulumi",
            delegation_set_id=self.delegation_set_id,
            # Never delete records made outside this program along with the zone: a destroy must fail loudly.
            force_destroy=False,
            tags=args.zone_tags() or None,
            opts=pulumi.ResourceOptions.merge(
                stateful, pulumi.ResourceOptions(delete_before_replace=self.delegation_set_id is not None)
            ),
        )
        self.zone_id = self.zone.zone_id
        self.name_servers = self.zone.name_servers

        self._logical_name = name
        self._child = child
        self._occupied = {spec.name for spec in record_sets}
        self.delegations: dict[str, aws.route53.Record] = {}
        self.records = {}
        for spec in record_sets:
            values = [txt_value(v) for v in spec.values] if spec.type == "TXT" else list(spec.values)
            self.records[f"{spec.name} {spec.type}"] = aws.route53.Record(
                f"{name}-{spec.label}-{spec.type.lower()}",
                zone_id=self.zone.zone_id,
                name=args.fqdn(spec.name),
                type=aws.route53.RecordType(spec.type),
                ttl=spec.ttl,
                records=values,
                opts=child,
            )

        self.dnssec_key = None
        self.key_signing_key = None
        self.dnssec = None
        self.ds_record = None
        if args.dnssec:
            self._sign(name, args, provider, stateful)

        self.register_outputs(
            {
                "zone_id": self.zone_id,
                "name_servers": self.name_servers,
                "name": self.name,
                "delegation_set_id": self.delegation_set_id,
                "ds_record": self.ds_record,
            }
        )

    def _sign(
        self, name: str, args: DnsZoneArgs, provider: pulumi.ProviderResource, stateful: pulumi.ResourceOptions
    ) -> None:
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self, provider=provider))
        partition = identity.arn.apply(lambda arn: arn.split(":")[1])
        root = pulumi.Output.concat("arn:", partition, ":iam::", identity.account_id, ":root")
        # The key policy Route 53 documents for DNSSEC: the account keeps administering the key, and the
        # DNSSEC service may use it only on behalf of this account and this zone.
        policy = pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "EnableAccountAdministration",
                        "Effect": "Allow",
                        "Principal": {"AWS": root},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "AllowRoute53DnssecService",
                        "Effect": "Allow",
                        "Principal": {"Service": "dnssec-route53.amazonaws.com"},
                        "Action": ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"],
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": identity.account_id},
                            "ArnLike": {"aws:SourceArn": self.zone.arn},
                        },
                    },
                    {
                        "Sid": "AllowRoute53DnssecToCreateGrant",
                        "Effect": "Allow",
                        "Principal": {"Service": "dnssec-route53.amazonaws.com"},
                        "Action": "kms:CreateGrant",
                        "Resource": "*",
                        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                    },
                ],
            }
        )
        self.dnssec_key = aws.kms.Key(
            f"{name}-dnssec-key",
            description=f"DNSSEC key-signing key for {args.domain}",
            customer_master_key_spec=DNSSEC_KEY_SPEC,
            key_usage=DNSSEC_KEY_USAGE,
            region=DNSSEC_KEY_REGION,
            # The longest window: a key deleted by mistake can be recovered before the zone goes bogus.
            deletion_window_in_days=30,
            policy=policy,
            tags=dict(args.tags) or None,
            opts=stateful,
        )
        # KSK names allow letters, digits and underscores only, and must be unique within the zone.
        ksk_name = (re.sub(r"[^A-Za-z0-9_]", "_", args.domain) + "_ksk")[-128:]
        # Protected with the key (not retained): signing must be turned off deliberately, after the DS
        # record is gone from the registrar, or the domain stops resolving for validating resolvers.
        signing = pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(parent=self, provider=provider), pulumi.ResourceOptions(protect=args.protect)
        )
        self.key_signing_key = aws.route53.KeySigningKey(
            f"{name}-ksk",
            hosted_zone_id=self.zone.zone_id,
            key_management_service_arn=self.dnssec_key.arn,
            name=ksk_name,
            status="ACTIVE",
            opts=signing,
        )
        self.dnssec = aws.route53.HostedZoneDnsSec(
            f"{name}-dnssec",
            hosted_zone_id=self.key_signing_key.hosted_zone_id,
            signing_status="SIGNING",
            opts=pulumi.ResourceOptions.merge(signing, pulumi.ResourceOptions(depends_on=[self.key_signing_key])),
        )
        self.ds_record = self.key_signing_key.ds_record

    def delegate(
        self, name: str, name_servers: pulumi.Input[Sequence[str]], *, ttl: int = DEFAULT_TTL
    ) -> aws.route53.Record:
        """Delegate the subdomain ``name`` (relative to this zone) to ``name_servers``: its NS record here.

        ``name_servers`` are usually another zone's :attr:`name_servers`, or a reusable delegation set's
        when that zone lives in another stack: then they are known before the zone exists and stay valid
        when it is replaced. A delegation point can hold no other data, so a name this zone already uses,
        or one below it, is refused.
        """
        where = f"DnsZone({self.name!r}).delegate"
        if not isinstance(name, str) or name == "@" or "*" in name or not _RELATIVE_NAME.match(name):
            raise _fail(
                f"{where}(name=...)", name, "must be a subdomain relative to the zone, such as 'staging' (not '@')"
            )
        _check_ttl(f"{where}(ttl=...)", ttl)
        clash = sorted(n for n in self._occupied | set(self.delegations) if n == name or n.endswith("." + name))
        clash += sorted(d for d in self.delegations if name.endswith("." + d))
        if clash:
            raise _fail(
                f"{where}(name=...)",
                name,
                f"collides with {clash[0]!r} in this zone: a delegated name holds only its NS records",
            )
        self.delegations[name] = aws.route53.Record(
            f"{self._logical_name}-{name.replace('.', '-')}-ns",
            zone_id=self.zone.zone_id,
            name=f"{name}.{self.name}",
            type=aws.route53.RecordType.NS,
            ttl=ttl,
            records=name_servers,
            opts=self._child,
        )
        return self.delegations[name]

    @property
    def ref(self) -> ZoneRef:
        """The zone as a :class:`~components.common.ZoneRef`, for components that add records to it."""
        return ZoneRef(self.name, self.zone_id)
