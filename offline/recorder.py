"""Evaluate the program for a stack under a recording mock engine, and return plain records.

This is the one place the program runs without the Pulumi CLI. The tests, the offline plan, the policy check
and the generated docs all consume its :class:`Recording`, so they can never disagree about what the program
creates. A recording is a value: URNs, types, names, parents, inputs (secrets replaced by a marker, their
values never kept) and resource options, exactly as the program sent them to the engine.

Each evaluation runs in a fresh :mod:`contextvars` context with its own event loop, because the Pulumi
runtime keeps its settings, config and root stack in context variables; that is what lets one process
record several stacks (or several component tests) one after another.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import dataclasses
import gc
import hashlib
import ipaddress
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Final

from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.settings import ROOT, SETTINGS
from pulumi.runtime.stack import run_in_stack

from stacks.schema import config_schema
from stacks.stack_files import override_entry, read_stack_file

PROJECT: Final = "psf-infra"
PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
SECRET: Final = "[secret]"
UNKNOWN: Final = "[unknown]"
STACK_TYPE: Final = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE: Final = "pulumi:pulumi:StackReference"
DATACENTER_TYPE: Final = "psf:estate:Datacenter"
ZONE_TYPE: Final = "aws:route53/zone:Zone"
DELEGATION_SET_TYPE: Final = "aws:route53/delegationSet:DelegationSet"
# A fully qualified name of a stack of this project, as a config value names it for a stack reference.
_STACK_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/" + PROJECT + r"/([A-Za-z0-9][A-Za-z0-9_.-]*)$")

# Fastly's published ranges (api.fastly.com/public-ip-list) as the mock answer to the IP-ranges data
# source. The program itself never contains these: it reads them from the provider.
FASTLY_IPV4: Final = (
    "23.235.32.0/20", "43.249.72.0/22", "103.244.50.0/24", "103.245.222.0/23", "103.245.224.0/24",
    "104.156.80.0/20", "140.248.64.0/18", "140.248.128.0/17", "146.75.0.0/17", "151.101.0.0/16",
    "157.52.64.0/18", "167.82.0.0/17", "167.82.128.0/20", "167.82.160.0/20", "167.82.224.0/20",
    "172.111.64.0/18", "185.31.16.0/22", "199.27.72.0/21", "199.232.0.0/16",
)  # fmt: skip
FASTLY_IPV6: Final = ("2a04:4e40::/32", "2a04:4e42::/32")
TLS_SUBSCRIPTION_TYPE: Final = "fastly:index/tlsSubscription:TlsSubscription"
TLS_VALIDATION_TYPE: Final = "fastly:index/tlsSubscriptionValidation:TlsSubscriptionValidation"
GET_TLS_CONFIGURATION: Final = "fastly:index/getTlsConfiguration:getTlsConfiguration"
GET_ZONE: Final = "aws:route53/getZone:getZone"
# The mock answer to the TLS configuration data source: the targets the PSF's own Terraform points its names
# at (pypi/infra, python/pythondotorg infra/: the account's dual-stack map and its anycast apex addresses), as
# Fastly's API lists them, each in the `global` region. The program itself contains none of these: it reads
# them from the provider.
MOCK_TLS_CONFIGURATION_ID: Final = "p5FtLsC0nfIgurAt10n7Xy"
MOCK_TLS_DNS_RECORDS: Final = (
    ("CNAME", "dualstack.python.map.fastly.net"),
    ("A", "151.101.0.223"), ("A", "151.101.64.223"), ("A", "151.101.128.223"), ("A", "151.101.192.223"),
    ("AAAA", "2a04:4e42::223"), ("AAAA", "2a04:4e42:200::223"), ("AAAA", "2a04:4e42:400::223"),
    ("AAAA", "2a04:4e42:600::223"),
)  # fmt: skip
# Stand-ins for Datadog's synthetics probe addresses per managed location (documentation ranges, RFC 5737
# and RFC 3849): the real ones come from the datadog_ip_ranges data source at preview.
DATADOG_SYNTHETICS_IPV4: Final = {
    "aws:us-east-1": "192.0.2.10/32,192.0.2.11/32",
    "aws:us-west-2": "192.0.2.20/32",
    "aws:eu-central-1": "198.51.100.30/32,198.51.100.31/32",
    "aws:eu-west-2": "198.51.100.40/32",
    "aws:ap-northeast-1": "203.0.113.50/32",
    "aws:sa-east-1": "203.0.113.60/32",
}
DATADOG_SYNTHETICS_IPV6: Final = {"aws:us-east-1": "2001:db8:10::/48", "aws:eu-central-1": "2001:db8:30::/48"}


@dataclass(frozen=True)
class Options:
    """The resource options the engine received, the ones that decide what a deploy may destroy."""

    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: tuple[str, ...] = ()
    replace_on_changes: tuple[str, ...] = ()
    delete_before_replace: bool = False
    aliases: tuple[str, ...] = ()
    provider: str | None = None
    dependencies: tuple[str, ...] = ()
    deleted_with: str | None = None
    additional_secret_outputs: tuple[str, ...] = ()
    # The live ID the resource is adopted under (the `import` option), None when it is created.
    import_id: str | None = None


@dataclass(frozen=True)
class Record:
    """One resource as the program registered it."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: Mapping[str, Any]
    options: Options
    id: str | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)
    datacenter: str | None = None
    # Read from the state or the cloud (a stack reference, a `Resource.get`), never created.
    read: bool = False

    @property
    def is_provider(self) -> bool:
        """True for explicit provider instances (``pulumi:providers:<pkg>``)."""
        return self.type.startswith("pulumi:providers:")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of this record (secrets are already markers)."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "datacenter": self.datacenter,
            "inputs": self.inputs,
            "options": {
                "protect": self.options.protect,
                "retainOnDelete": self.options.retain_on_delete,
                "ignoreChanges": list(self.options.ignore_changes),
                "replaceOnChanges": list(self.options.replace_on_changes),
                "deleteBeforeReplace": self.options.delete_before_replace,
                "aliases": list(self.options.aliases),
                "provider": self.options.provider,
                "dependencies": list(self.options.dependencies),
                "deletedWith": self.options.deleted_with,
                "importId": self.options.import_id,
            },
            "read": self.read,
        }


@dataclass(frozen=True)
class Recording:
    """Everything one evaluation registered, in registration order, plus the stack's outputs."""

    stack: str
    records: tuple[Record, ...]
    stack_outputs: Mapping[str, Any]
    calls: tuple[str, ...]

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    @cached_property
    def resources(self) -> tuple[Record, ...]:
        """Records of real resources: everything but the stack itself and provider instances."""
        return tuple(r for r in self.records if r.type != STACK_TYPE and not r.is_provider)

    # Indexes built on first use, so lookups cost the same at any size (a recording is a read-only value).
    @cached_property
    def _by_type(self) -> dict[str, list[Record]]:
        index: dict[str, list[Record]] = {}
        for record in self.records:
            index.setdefault(record.type, []).append(record)
        return index

    @cached_property
    def _by_urn(self) -> dict[str, Record]:
        index: dict[str, Record] = {}
        for record in self.records:
            index.setdefault(record.urn, record)
        return index

    @cached_property
    def _by_parent(self) -> dict[str, list[Record]]:
        index: dict[str, list[Record]] = {}
        for record in self.records:
            if record.parent is not None:
                index.setdefault(record.parent, []).append(record)
        return index

    def of_type(self, type_: str) -> list[Record]:
        """All records of one type token, e.g. ``digitalocean:index/droplet:Droplet``."""
        return list(self._by_type.get(type_, ()))

    def named(self, name: str) -> Record:
        """The one record with this logical name; KeyError listing near misses when absent or ambiguous."""
        found = [r for r in self.records if r.name == name]
        if len(found) != 1:
            near = sorted(r.name for r in self.records if name.split("-")[0] in r.name)[:10]
            raise KeyError(f"{len(found)} records named {name!r}; similar: {near}")
        return found[0]

    def by_urn(self, urn: str) -> Record:
        """The record with this URN."""
        try:
            return self._by_urn[urn]
        except KeyError:
            raise KeyError(urn) from None

    def children(self, parent: Record) -> list[Record]:
        """Direct children of ``parent``."""
        return list(self._by_parent.get(parent.urn, ()))

    def descendants(self, parent: Record) -> list[Record]:
        """Every record below ``parent`` in the resource tree."""
        below: list[Record] = []
        frontier = [parent.urn]
        while frontier:
            for record in self._by_parent.get(frontier.pop(), ()):
                below.append(record)
                frontier.append(record.urn)
        return below

    def to_json(self) -> dict[str, Any]:
        """The whole recording as a JSON-ready dict."""
        return {
            "stack": self.stack,
            "project": PROJECT,
            "offline": True,
            "resources": [r.to_json() for r in self.records],
            "outputs": self.stack_outputs,
        }


class ProgramFailedError(Exception):
    """The program raised while being recorded. ``records`` says what had been registered by then."""

    def __init__(self, cause: BaseException, records: tuple[Record, ...]) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.records = records


class DuplicateUrnError(Exception):
    """Two resources registered the same URN, which `pulumi preview` refuses."""


class UnansweredCallError(Exception):
    """The program called a data source the mocks do not know; add an answer to MockCloud.call."""


class UnknownStackError(Exception):
    """The program references a stack (or a delegation set of one) that the recorder has not recorded.

    A real deployment fails the same way when the referenced stack was never deployed.
    """


def _digits(seed: str, n: int) -> int:
    return int(hashlib.sha256(seed.encode()).hexdigest(), 16) % (10**n)


def _uuid(seed: str) -> str:
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class MockCloud(pulumi_mocks.Mocks):
    """Realistic computed outputs for every resource type the estate creates, and answers to its data sources.

    IDs and addresses are derived from the logical name, so two evaluations of the same program produce the
    same records, which the rename guard and the generated docs rely on.

    ``references`` are the recordings of the stacks the program reads with a ``pulumi.StackReference``,
    keyed by fully qualified stack name. Reading one answers what the engine would: that stack's outputs
    (secret ones as the recorder's secret marker, and named in ``secretOutputNames``). A zone created on a
    reusable delegation set gets the set's name servers, as Route 53 gives it, whether this stack or a
    referenced one made the set; naming a set nobody made fails, as Route 53's NoSuchDelegationSet would.
    """

    def __init__(self, references: Mapping[str, Recording] | None = None) -> None:
        self._references = dict(references or {})
        self._delegation_sets: dict[str, list[str]] = {}
        for recording in self._references.values():
            for record in recording.of_type(DELEGATION_SET_TYPE):
                if record.id is not None:
                    self._delegation_sets[record.id] = list(record.outputs.get("nameServers", []))

    def _stack_reference(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        name = str(args.inputs.get("name") or args.resource_id or args.name)
        recording = self._references.get(name)
        if recording is None:
            known = ", ".join(sorted(self._references)) or "none"
            raise UnknownStackError(
                f"the program reads stack {name!r}, which the recorder has not recorded (recorded: {known}); "
                "name a stack of this project whose stack file exists, e.g. organization/psf-infra/prod"
            )
        outputs = dict(recording.stack_outputs)
        secret = sorted(key for key, value in outputs.items() if value == SECRET)
        return name, {"name": name, "outputs": outputs, "secretOutputNames": secret}

    def _name_servers(self, typ: str, seed: str, inputs: Mapping[str, Any]) -> list[str]:
        set_id = inputs.get("delegationSetId")
        if typ == ZONE_TYPE and set_id:
            if set_id not in self._delegation_sets:
                raise UnknownStackError(
                    f"zone {inputs.get('name')!r} names delegation set {set_id!r}, which no stack made"
                )
            # The provider reads a zone's name servers back sorted.
            return sorted(self._delegation_sets[set_id])
        n = _digits(seed, 4)
        servers = [
            f"ns-{n % 512}.awsdns-{n % 64:02d}.com",
            f"ns-{512 + n % 512}.awsdns-{(n + 7) % 64:02d}.net",
            f"ns-{1024 + n % 512}.awsdns-{(n + 13) % 64:02d}.org",
            f"ns-{1536 + n % 512}.awsdns-{(n + 29) % 64:02d}.co.uk",
        ]
        return sorted(servers) if typ == ZONE_TYPE else servers

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        """Return a deterministic ID and the resource's state: its inputs plus the provider's computed outputs."""
        name, typ, inputs = args.name, args.typ, dict(args.inputs)
        seed = f"{typ}::{name}"
        state: dict[str, Any] = dict(inputs)
        rid: str = _uuid(seed)
        if typ.startswith("pulumi:providers:"):
            return rid, state
        if typ == STACK_REFERENCE_TYPE:
            return self._stack_reference(args)
        if typ == "digitalocean:index/droplet:Droplet":
            rid = str(300_000_000 + _digits(seed, 8))
            n = _digits(seed, 6)
            state |= {
                "ipv4Address": str(ipaddress.IPv4Address("159.89.0.0") + n % 65_000),
                "ipv4AddressPrivate": str(ipaddress.IPv4Address("10.100.0.0") + n % 4_000),
                "ipv6Address": str(ipaddress.IPv6Address("2604:a880:400:d1::") + n),
                # The provider's `urn` attribute, renamed by the bridge (a Pulumi resource's `urn` is its own).
                "dropletUrn": f"do:droplet:{rid}",
                "status": "active",
                "vcpus": 2,
            }
        elif typ in ("digitalocean:index/vpc:Vpc", "digitalocean:index/volume:Volume"):
            kind = typ.rsplit(":", 1)[1].lower()
            state |= {f"{kind}Urn": f"do:{kind}:{rid}"}
        elif typ in ("digitalocean:index/firewall:Firewall", "digitalocean:index/project:Project"):
            state |= {"status": "succeeded"}
        elif typ == "digitalocean:index/reservedIp:ReservedIp":
            # Reserved IPs are identified by their address (DigitalOcean's own range in that region).
            address = str(ipaddress.IPv4Address("164.90.0.0") + _digits(seed, 6) % 65_000)
            rid = address
            state |= {"ipAddress": address, "reservedIpUrn": f"do:reservedip:{address}"}
        elif typ == "digitalocean:index/tag:Tag":
            rid = str(inputs.get("name", name))
            state |= {"totalResourceCount": 0}
        elif typ == "digitalocean:index/projectResources:ProjectResources":
            rid = str(inputs.get("project", rid))
        elif typ == "digitalocean:index/databaseCluster:DatabaseCluster":
            host = f"{inputs.get('name', name)}-do-user-{_digits(seed, 7)}-0.db.ondigitalocean.com"
            state |= {
                "host": host,
                "privateHost": f"private-{host}",
                "port": 25060,
                "user": "doadmin",
                "clusterUrn": f"do:dbaas:{rid}",
            }
        elif typ == "digitalocean:index/databaseReplica:DatabaseReplica":
            state |= {"uuid": rid, "host": f"{inputs.get('name', name)}.db.ondigitalocean.com", "port": 25060}
        elif typ in (ZONE_TYPE, DELEGATION_SET_TYPE):
            zone_id = "Z" + hashlib.sha256(seed.encode()).hexdigest()[:13].upper()
            rid = zone_id
            name_servers = self._name_servers(typ, seed, inputs)
            if typ == DELEGATION_SET_TYPE:
                self._delegation_sets[rid] = name_servers
            state |= {"zoneId": zone_id, "arn": f"arn:aws:route53:::hostedzone/{zone_id}", "nameServers": name_servers}
        elif typ.startswith("aws:s3/bucket:Bucket") or typ == "aws:s3/bucketV2:BucketV2":
            bucket = inputs.get("bucket") or f"{name}-{_digits(seed, 6)}"
            rid = bucket
            state |= {
                "bucket": bucket,
                "arn": f"arn:aws:s3:::{bucket}",
                "bucketDomainName": f"{bucket}.s3.amazonaws.com",
                "bucketRegionalDomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
                "region": "us-east-1",
                "hostedZoneId": "Z3AQBSTGFYJSTF",
            }
        elif typ.startswith("aws:s3/bucketWebsiteConfiguration"):
            bucket = inputs.get("bucket", name)
            state |= {
                "websiteEndpoint": f"{bucket}.s3-website-us-east-1.amazonaws.com",
                "websiteDomain": "s3-website-us-east-1.amazonaws.com",
            }
        elif typ == "aws:iam/role:Role":
            role = inputs.get("name") or name
            state |= {"arn": f"arn:aws:iam::123456789012:role/{role}", "uniqueId": "AROA" + rid[:17].upper()}
        elif typ == "aws:route53/keySigningKey:KeySigningKey":
            # What Route 53 reports for a KSK made from a KMS ECC_NIST_P256 key: algorithm 13
            # (ECDSAP256SHA256), flags 257 (a key-signing key), and its DS record with a SHA-256 digest.
            key_tag = _digits(seed, 5) % 65_536
            digest = hashlib.sha256(f"dnskey::{seed}".encode()).hexdigest().upper()
            # A P-256 public key is 64 bytes (RFC 6605), base64 in the DNSKEY record.
            key = base64.b64encode(hashlib.sha512(f"ksk::{seed}".encode()).digest()).decode()
            state |= {
                "publicKey": key,
                "dnskeyRecord": f"257 3 13 {key}",
                "keyTag": key_tag,
                "flag": 257,
                "signingAlgorithmMnemonic": "ECDSAP256SHA256",
                "signingAlgorithmType": 13,
                "digestAlgorithmMnemonic": "SHA-256",
                "digestAlgorithmType": 2,
                "digestValue": digest,
                "dsRecord": f"{key_tag} 13 2 {digest}",
            }
        elif typ == "aws:kms/key:Key":
            state |= {"arn": f"arn:aws:kms:us-east-1:123456789012:key/{rid}", "keyId": rid}
        elif typ.startswith("fastly:index/serviceVcl"):
            rid = hashlib.sha256(seed.encode()).hexdigest()[:22]
            state |= {"activeVersion": 1, "clonedVersion": 1}
        elif typ == TLS_SUBSCRIPTION_TYPE:
            rid, subscription = _tls_subscription(seed, inputs)
            state |= subscription
        elif typ == TLS_VALIDATION_TYPE:
            # The provider gives the validation its subscription's ID, and the certificate's once issued.
            rid = str(inputs.get("subscriptionId") or rid)
        elif typ == "datadog:index/syntheticsTest:SyntheticsTest":
            h = hashlib.sha256(seed.encode()).hexdigest()
            rid = f"{h[:3]}-{h[3:6]}-{h[6:9]}"
            state |= {"monitorId": 100_000_000 + _digits(seed, 8)}
        elif typ == "datadog:index/dashboardJson:DashboardJson":
            # Dashboard IDs are three groups of three; the API returns the path of the dashboard's page.
            h = hashlib.sha256(seed.encode()).hexdigest()
            rid = f"{h[:3]}-{h[3:6]}-{h[6:9]}"
            state |= {"url": f"/dashboard/{rid}/{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"}
        elif typ == "datadog:index/serviceLevelObjective:ServiceLevelObjective":
            rid = hashlib.sha256(seed.encode()).hexdigest()[:32]
        elif typ.startswith("datadog:"):
            rid = str(100_000_000 + _digits(seed, 8))
        elif typ.startswith("pagerduty:"):
            # PagerDuty object IDs: P and six upper-case letters or digits.
            rid = "P" + hashlib.sha256(seed.encode()).hexdigest()[:6].upper()
            if typ == "pagerduty:index/serviceIntegration:ServiceIntegration":
                state |= {"integrationKey": hashlib.sha256(f"key::{seed}".encode()).hexdigest()[:32]}
            if "name" in inputs or typ.endswith("User"):
                state |= {"htmlUrl": f"https://psf.pagerduty.com/{typ.rsplit(':', 1)[1].lower()}s/{rid}"}
        if args.resource_id:
            # An imported resource keeps the live ID it was imported by, wherever its state repeats the ID.
            return args.resource_id, _with_id(state, rid, args.resource_id)
        return rid, state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Answer the data sources the program reads; refuse unknown ones so none goes unnoticed."""
        # The failures list must be a list, even empty: the SDK's mock monitor iterates it.
        if args.token == "fastly:index/getFastlyIpRanges:getFastlyIpRanges":
            return {
                "cidrBlocks": list(FASTLY_IPV4),
                "ipv6CidrBlocks": list(FASTLY_IPV6),
                "id": "fastly-ip-ranges",
            }, []
        if args.token == GET_TLS_CONFIGURATION:
            return _tls_configuration(dict(args.args)), []
        if args.token == GET_ZONE:
            return _hosted_zone(dict(args.args)), []
        if args.token == "pagerduty:index/getVendor:getVendor":
            # The vendor PagerDuty lists as "Datadog" (its ID is the same in every account).
            name = str(args.args.get("name", ""))
            return {
                "id": "P" + hashlib.sha256(name.encode()).hexdigest()[:6].upper(),
                "name": name,
                "type": "generic",
            }, []
        if args.token == "datadog:index/getIpRanges:getIpRanges":
            # The shape of Datadog's published ranges: per managed location, a comma-separated list of prefixes.
            return {
                "syntheticsIpv4ByLocation": dict(DATADOG_SYNTHETICS_IPV4),
                "syntheticsIpv6ByLocation": dict(DATADOG_SYNTHETICS_IPV6),
                "id": "datadog-ip-ranges",
            }, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": "123456789012",
                "arn": "arn:aws:iam::123456789012:user/pulumi",
                "userId": "AIDAPULUMI",
                "id": "123456789012",
            }, []
        raise UnansweredCallError(
            f"the recorder has no mock answer for data source {args.token!r}; add one to MockCloud.call"
        )


def _with_id(state: dict[str, Any], generated: str, live: str) -> dict[str, Any]:
    """``state`` with every string holding the generated ID holding the live one (URNs, ARNs, zone IDs)."""
    return {k: v.replace(generated, live) if isinstance(v, str) else v for k, v in state.items()}


def _hosted_zone(query: Mapping[str, Any]) -> dict[str, Any]:
    """What ``aws.route53.get_zone`` answers for a public zone looked up by name: one zone of the account.

    Route 53's GetHostedZone, as the provider's data source returns it: the name without its trailing dot, the
    zone's four name servers (one per top-level domain, like every hosted zone's), its ID and ARN.
    """
    name = str(query.get("name", "")).rstrip(".")
    seed = f"{GET_ZONE}::{name}"
    zone_id = "Z" + hashlib.sha256(seed.encode()).hexdigest()[:13].upper()
    n = _digits(seed, 4)
    servers = sorted(
        [
            f"ns-{n % 512}.awsdns-{n % 64:02d}.com",
            f"ns-{512 + n % 512}.awsdns-{(n + 7) % 64:02d}.net",
            f"ns-{1024 + n % 512}.awsdns-{(n + 13) % 64:02d}.org",
            f"ns-{1536 + n % 512}.awsdns-{(n + 29) % 64:02d}.co.uk",
        ]
    )
    return {
        "id": zone_id,
        "zoneId": zone_id,
        "name": name,
        "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
        "callerReference": f"terraform-{_digits(seed, 12)}",
        "comment": "",
        "nameServers": servers,
        "primaryNameServer": servers[0],
        "privateZone": False,
        "resourceRecordSetCount": 7,
        "tags": {},
        "linkedServiceDescription": "",
        "linkedServicePrincipal": "",
    }


def _tls_configuration(query: Mapping[str, Any]) -> dict[str, Any]:
    """What ``get_tls_configuration`` answers: one configuration, with its DNS records.

    By ``id`` it returns that configuration; by ``default`` the account's default, which is this one too.
    """
    wanted = query.get("id")
    return {
        "id": wanted or MOCK_TLS_CONFIGURATION_ID,
        "name": "TLS v1.3 + HTTP/2 (PSF)",
        "default": not wanted,
        "tlsProtocols": ["1.2", "1.3"],
        "httpProtocols": ["http/1.1", "http/2"],
        "tlsService": "CUSTOM",
        "dnsRecords": [
            {"recordType": kind, "recordValue": value, "region": "global"} for kind, value in MOCK_TLS_DNS_RECORDS
        ],
        "createdAt": "2024-01-15T10:00:00Z",
        "updatedAt": "2024-01-15T10:00:00Z",
    }


def _tls_subscription(seed: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A TLS subscription's ID and computed state, as after issuance.

    One managed DNS challenge per challenge name (a domain and its wildcard share one, as Fastly answers),
    a CNAME to ``<token>.fastly-validations.com``; one HTTP challenge set per domain, pointing at the
    configuration's targets; the certificate's ID; the state ``issued``.
    """
    rid = hashlib.sha256(seed.encode()).hexdigest()[:22]
    domains = [str(d) for d in inputs.get("domains") or ()]
    names = list(dict.fromkeys(d.removeprefix("*.") for d in domains))
    dns = [
        {
            "recordName": f"_acme-challenge.{name}",
            "recordType": "CNAME",
            "recordValue": hashlib.sha256(f"{seed}::{name}".encode()).hexdigest()[:18] + ".fastly-validations.com",
        }
        for name in names
    ]
    http = [
        {"recordName": domain, "recordType": kind, "recordValues": [v for k, v in MOCK_TLS_DNS_RECORDS if k == kind]}
        for domain in domains
        if not domain.startswith("*.")
        for kind in ("CNAME", "A", "AAAA")
    ]
    return rid, {
        "commonName": inputs.get("commonName") or (domains[0] if domains else ""),
        "configurationId": inputs.get("configurationId") or MOCK_TLS_CONFIGURATION_ID,
        "certificateId": hashlib.sha256(f"certificate::{seed}".encode()).hexdigest()[:22],
        "managedDnsChallenges": dns,
        "managedHttpChallenges": http,
        "state": "issued",
    }


def _plain(value: Any) -> Any:
    """Turn deserialized engine values into JSON-ready data, replacing every secret by a marker."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return SECRET
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value == rpc.UNKNOWN:
        return UNKNOWN
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    urn = getattr(value, "urn", None)
    return f"[resource {urn}]" if urn is not None else str(value)


def _provider_urn(reference: str) -> str | None:
    # A provider reference is "<urn>::<id>"; the URN alone names the provider.
    return reference.rsplit("::", 1)[0] if reference else None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping every registration request as a :class:`Record`."""

    def __init__(self, mocks: MockCloud) -> None:
        super().__init__(mocks)
        self.records: list[Record] = []
        self.stack_outputs: dict[str, Any] = {}
        self.calls: list[str] = []
        self._urns: set[str] = set()
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives a resource, which the SDK's mock monitor only approximates.

        The engine qualifies a type with its parent's whole type chain (``a:b:Outer$a:b:Inner$aws:...``,
        as the SDK's own ``create_urn`` does for aliases) and leaves the root stack out of it; the mock keeps
        only the parent's last type and includes the stack. The rename guard's snapshots must hold the URNs
        a real deployment has, so the recorder follows the engine.
        """
        if parent:
            qualified = parent.split("::")[2]
            if qualified != STACK_TYPE:
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi_settings.get_stack(), pulumi_settings.get_project(), type_, name])

    def _alias_urns(self, request: Any, parent: str) -> tuple[str, ...]:
        urns = list(request.aliasURNs)
        for alias in request.aliases:
            if alias.urn:
                urns.append(alias.urn)
                continue
            spec = alias.spec
            alias_parent = "" if spec.noParent else (spec.parentUrn or parent)
            urns.append(self.make_urn(alias_parent, spec.type or request.type, spec.name or request.name))
        return tuple(urns)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Record the request, then let the SDK's mock monitor answer it."""
        urn = self.make_urn(request.parent, request.type, request.name)
        with self._lock:
            # Registrations run on the SDK's thread pool: reserve the URN atomically. The engine refuses a
            # second resource with the same URN; so must the offline plan. (set_mocks' own root stack
            # registers the stack's URN first; the recorder's stack registers it again, harmlessly.)
            if urn in self._urns and request.type != STACK_TYPE:
                raise DuplicateUrnError(f"duplicate resource URN {urn}: two resources share type, parent type and name")
            first = urn not in self._urns
            self._urns.add(urn)
        response = super().RegisterResource(request)
        inputs = _plain(rpc.deserialize_properties(request.object))
        outputs: dict[str, Any] = {}
        if response.object is not None and request.type != STACK_TYPE:
            outputs = _plain(rpc.deserialize_properties(response.object))
        record = Record(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=bool(request.custom),
            inputs=inputs,
            options=Options(
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                ignore_changes=tuple(request.ignoreChanges),
                replace_on_changes=tuple(request.replaceOnChanges),
                delete_before_replace=bool(request.deleteBeforeReplace),
                aliases=self._alias_urns(request, request.parent),
                provider=_provider_urn(request.provider),
                dependencies=tuple(sorted(set(request.dependencies))),
                deleted_with=request.deletedWith or None,
                additional_secret_outputs=tuple(request.additionalSecretOutputs),
                import_id=request.importId or None,
            ),
            id=response.id or None,
            outputs=outputs,
        )
        with self._lock:
            # set_mocks registers a root stack of its own before the recorder's; the URN is the same.
            if first:
                self.records.append(record)
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Record a read (a stack reference), then let the SDK's mock monitor answer it from the mocks."""
        urn = self.make_urn(request.parent, request.type, request.name)
        with self._lock:
            if urn in self._urns:
                raise DuplicateUrnError(f"duplicate resource URN {urn}: two resources share type, parent type and name")
            self._urns.add(urn)
        response = super().ReadResource(request)
        record = Record(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=True,
            inputs=_plain(rpc.deserialize_properties(request.properties)),
            options=Options(
                provider=_provider_urn(request.provider),
                dependencies=tuple(sorted(set(request.dependencies))),
                additional_secret_outputs=tuple(request.additionalSecretOutputs),
            ),
            id=request.id or None,
            outputs=_plain(rpc.deserialize_properties(response.properties)),
            read=True,
        )
        with self._lock:
            self.records.append(record)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Keep the stack's exported outputs (secrets as markers)."""
        if request.urn.split("::")[-2] == STACK_TYPE:
            with self._lock:
                self.stack_outputs = _plain(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)

    def Invoke(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Record which data sources the program reads, then answer from the mocks."""
        with self._lock:
            self.calls.append(request.tok)
        return super().Invoke(request)


def _with_datacenters(records: Sequence[Record]) -> tuple[Record, ...]:
    by_urn = {r.urn: r for r in records}

    def datacenter(record: Record) -> str | None:
        current: Record | None = record
        while current is not None:
            if current.type == DATACENTER_TYPE:
                return current.name
            current = by_urn.get(current.parent) if current.parent else None
        return None

    out = []
    for r in records:
        dc = datacenter(r)
        out.append(dataclasses.replace(r, datacenter=dc))
    return tuple(out)


def _config_string(value: Any) -> str:
    # Pulumi hands every config value to the program as a string; structured values as JSON.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _clear_pending_outputs() -> None:
    # The SDK declares Settings.outputs through a decorator pyright cannot follow; it is a plain set.
    SETTINGS.outputs.clear()  # pyright: ignore[reportAttributeAccessIssue]


# What asyncio reports about a failed program's leftovers when the collector frees them, possibly much later.
_ECHOES: Final = (
    "Task was destroyed but it is pending!",
    "Future exception was never retrieved",
    "Task exception was never retrieved",
)


def _quiet_leftovers(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The exception handler of a failed evaluation's loop: the failure is already raised, so its echoes are dropped.

    When a program fails, the SDK's registrations still in flight and the futures that received the error stay
    behind as garbage. Whenever the collector frees them, asyncio would print each one, with the failure's
    traceback again, far from the failure (in a test run, after the last test). Anything else is reported.
    """
    if context.get("message") not in _ECHOES:
        loop.default_exception_handler(context)


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what a failed program left running on ``loop`` and let it unwind, before the loop closes.

    A program that fails inside an ``apply`` leaves tasks that never started; freed later, each would warn
    that its coroutine was never awaited. Cancelled and run once, they end quietly.
    """
    for _ in range(3):
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        if not pending:
            return
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _evaluate(
    program: Callable[[], object],
    stack: str,
    config: Mapping[str, Any],
    secret_keys: Sequence[str],
    references: Mapping[str, Recording],
) -> Recording:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = RecordingMonitor(MockCloud(references))
    # The SDK tracks pending outputs in a process-wide set rather than a context variable. Tasks left in
    # it by an evaluation that failed belong to a closed loop and would be awaited forever by the next one.
    _clear_pending_outputs()
    try:
        set_all_config({k: _config_string(v) for k, v in config.items()}, list(secret_keys))
        pulumi_mocks.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=True, monitor=monitor)
        # set_mocks makes a finished root stack of its own; replace it with a real one so that exports
        # are registered as the stack's outputs, as they are under the CLI.
        ROOT.set(None)

        raised: list[BaseException] = []

        def run() -> None:
            try:
                program()
            except BaseException as exc:
                raised.append(exc)
                raise

        try:
            loop.run_until_complete(run_in_stack(run))
        except BaseException as exc:
            loop.set_exception_handler(_quiet_leftovers)
            _cancel_leftovers(loop)
            # The program's own error, not what its registrations still in flight raised after it (the SDK
            # waits for them and reports theirs first).
            cause = raised[0] if raised else exc
            raise ProgramFailedError(cause, tuple(monitor.records)) from cause
    finally:
        _clear_pending_outputs()
        loop.close()
        asyncio.set_event_loop(None)
    return Recording(stack, _with_datacenters(monitor.records), monitor.stack_outputs, tuple(monitor.calls))


def record_program(
    program: Callable[[], object],
    *,
    stack: str = "test",
    config: Mapping[str, Any] | None = None,
    secret_keys: Sequence[str] = (),
    references: Mapping[str, Recording] | None = None,
) -> Recording:
    """Run ``program`` under the recording mocks and return what it registered.

    ``config`` maps full keys (``psf-infra:replicas``) to values. ``references`` are the recordings the
    program's stack references read, by fully qualified stack name (see :class:`MockCloud`). Raises
    :class:`ProgramFailedError` when the program raises; its ``cause`` is the original exception.
    """
    with collector_paused():
        return contextvars.Context().run(
            _evaluate, program, stack, dict(config or {}), secret_keys, dict(references or {})
        )


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Keep Python's cyclic garbage collector out of a block of work (an evaluation); restore it afterwards.

    By the time a program runs, the process holds some 750,000 objects from the provider SDKs' modules, all
    alive until it exits, and every full collection rescans them all (about 0.3 s each on a 2-core machine).
    With the collector on, an evaluation of prod set off two full collections and one at ten times prod's
    size about a dozen, though an evaluation's own objects are nearly all alive until it ends. Reference
    counting still frees at once everything that is not in a cycle. The cycles left behind (the SDK's
    resources and outputs refer to each other) are collected when the block ends, by a collection of the
    young generations only: it visits what the block allocated, never the SDKs' modules. Nested uses only
    pause; the outermost one collects.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.collect(1)
            gc.enable()


def stack_config(stack: str, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The config a stack file sets, by full key, as the program receives it. Encrypted values become mock secrets.

    The file is checked as the Pulumi CLI checks it, and for what the CLI would let slip
    (:func:`stacks.stack_files.read_stack_file`): one :class:`~stacks.cli_yaml.ConfigFileError` or
    :class:`~stacks.settings.SettingsError` line if it is bad.
    """
    from stacks.paging import OPTIONAL_SECRETS, offline_secret

    entries = read_stack_file(root, stack).entries
    plain = {key: entry.text for key, entry in entries.items() if not entry.secure}

    def mock(key: str) -> str:
        # An optional secret's mock has the shape its settings check (an address per roster name...).
        name = key.split(":")[-1]
        return offline_secret(name, plain, PROJECT) if name in OPTIONAL_SECRETS else f"mock-{name}"

    return {key: mock(key) if entry.secure else entry.text for key, entry in entries.items()}


def _secret_keys() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The schema's secret keys: those every stack must set, and those a stack may leave unset.

    The program's own schema, wherever the stack files come from: it is the program that reads them.
    """
    schema = config_schema()
    required = tuple(k for k, spec in schema.items() if spec.secret and spec.required)
    optional = tuple(k for k, spec in schema.items() if spec.optional_secret)
    return required, optional


_STACK_CACHE: dict[tuple[str, Path], Recording] = {}


def record_stack(stack: str, overrides: Mapping[str, Any] | None = None, *, root: Path = PROJECT_ROOT) -> Recording:
    """Evaluate the whole program for ``stack`` (``prod``, ``staging``) as ``pulumi preview`` would run it.

    Secrets the operator would set with ``pulumi config set --secret`` are supplied as mock values, marked
    secret, so the program sees exactly what it would see for real. ``overrides`` maps unnamespaced keys
    to values, like ``pulumi config set``; a value of None unsets the key.

    A stack recorded without overrides is kept for the life of the process: the tests, the plan, the
    policy check and the docs generator then share one evaluation per stack. Treat records as read-only.
    """
    if not overrides and (stack, root) in _STACK_CACHE:
        return _STACK_CACHE[(stack, root)]
    recording = _record_stack(stack, overrides, root)
    if not overrides:
        _STACK_CACHE[(stack, root)] = recording
    return recording


def _record_stack(stack: str, overrides: Mapping[str, Any] | None, root: Path) -> Recording:
    from stacks.estate import main
    from stacks.settings import PROJECT_DIR

    config, secret_keys = program_config(stack, overrides, root=root)
    references = referenced_recordings(stack, config, root=root)

    def program() -> None:
        # The other stack files the settings compare this stack with are the ones beside its own.
        PROJECT_DIR.set(root)
        main()

    return record_program(program, stack=stack, config=config, secret_keys=secret_keys, references=references)


_RECORDING_NOW: set[tuple[str, Path]] = set()


def referenced_recordings(stack: str, config: Mapping[str, Any], *, root: Path = PROJECT_ROOT) -> dict[str, Recording]:
    """The recordings of the stacks ``stack``'s config names for stack references, recorded first.

    A config value of the form ``<organization>/psf-infra/<name>`` names another stack of this project; when
    ``Pulumi.<name>.yaml`` exists that stack is recorded (once per process, as committed) and its recording
    answers the reference, as the deployed stack's state would. Prod must be deployed before staging for
    real; here it is recorded before staging. A cycle of references is refused.
    """
    found: dict[str, Recording] = {}
    for value in config.values():
        match = _STACK_NAME.match(value) if isinstance(value, str) else None
        if match is None or match.group(1) == stack or not (root / f"Pulumi.{match.group(1)}.yaml").exists():
            continue
        key = (match.group(1), root)
        if key in _RECORDING_NOW:
            raise UnknownStackError(f"stacks {stack!r} and {match.group(1)!r} reference each other")
        _RECORDING_NOW.add(key)
        try:
            found[value] = record_stack(match.group(1), root=root)
        finally:
            _RECORDING_NOW.discard(key)
    return found


def program_config(
    stack: str, overrides: Mapping[str, Any] | None = None, *, root: Path = PROJECT_ROOT
) -> tuple[dict[str, Any], list[str]]:
    """The full config and secret keys :func:`record_stack` runs a stack's program with.

    The stack file's values, the declared secrets as mock values (marked secret) and ``overrides``
    (unnamespaced keys; None unsets). Optional secrets get mock values only where the stack needs them
    (:func:`stacks.paging.offline_secrets`), so staging is recorded with no PagerDuty token at all.
    Exposed for programs other than the estate's own ``main``, such as the benchmark's synthetic estate,
    that must see exactly the config a stack would give them.
    """
    from stacks.paging import offline_secrets

    config = stack_config(stack, root)
    required, optional = _secret_keys()
    secret_keys = [f"{PROJECT}:{k}" for k in (*required, *optional)]
    for key in required:
        config.setdefault(f"{PROJECT}:{key}", f"mock-{key}")
    for key, value in (overrides or {}).items():
        entry = override_entry(key, value)
        full = key if ":" in key else f"{PROJECT}:{key}"
        if entry is None:
            config.pop(full, None)
        else:
            config[entry[0]] = entry[1]
    # The optional secrets the stack's own settings make required (prod's PagerDuty token and addresses),
    # after the overrides, so `--set pageOnCall=false` plans with none; an override (even None) still wins.
    overridden = {key.split(":")[-1] for key in overrides or {}}
    for key, value in offline_secrets(config, PROJECT).items():
        if key.split(":", 1)[1] not in overridden:
            config.setdefault(key, value)
    return config, secret_keys
