"""A domain's delegation at its registrar (Gandi): the name servers, and the key the DS record is made from.

The Route 53 side knows the name servers and, for a signed zone, the key-signing key; the registrar must
publish both, or the zone does not resolve (name servers) or does not validate (DS record). One
:class:`RegistrarDelegation` per domain writes them with the Gandi provider (pulumiverse-gandi, bridged from
go-gandi/terraform-provider-gandi):

- ``gandi.domains.Nameservers`` replaces the domain's name server list. Its delete is not a "forget": the
  provider re-enables Gandi's LiveDNS on the domain, which points it at Gandi's own (empty) name servers. So
  the resource is always retained on delete: taking a domain out of the program leaves its delegation as it
  is. The provider compares the list it wrote with the one the API returns, in order, so the list is written
  sorted and lower case, without trailing dots, as Route 53 reports names.
- ``gandi.domains.DNSSecKey`` submits a DNSKEY (algorithm, flags as ``ksk``/``zsk``, base64 public key); Gandi
  computes the DS record from it and publishes it at the registry. Every argument forces a replacement, which
  Pulumi performs create-first: on a key rollover the new DS is published before the old one is withdrawn,
  the order that keeps validating resolvers working. It is created only after the zone signs, so the DS never
  names a key that signs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumiverse_gandi as gandi

from components.common import HOSTNAME as _HOSTNAME
from components.common import invalid as _fail

REGISTRAR_DELEGATION_TYPE: Final = "infra:registrar:RegistrarDelegation"
# DNSKEY flags (RFC 4034 2.1.1) and the key types Gandi's API names them by.
KEY_TYPES: Final = {257: "ksk", 256: "zsk"}
# Algorithms a registry accepts for a DS record today (RFC 8624 3.1: MUST or RECOMMENDED for signing).
ALGORITHMS: Final = frozenset({8, 13, 14, 15})
_BASE64: Final = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def name_server_list(servers: Sequence[str]) -> list[str]:
    """Name servers as the registrar is given them: lower case, no trailing dot, sorted, no repeats."""
    found = sorted({s.strip().rstrip(".").lower() for s in servers if s.strip()})
    if len(found) < 2:
        raise _fail("RegistrarDelegation name_servers", list(servers), "must name at least two name servers")
    for server in found:
        if not _HOSTNAME.match(server):
            raise _fail("RegistrarDelegation name_servers", server, "must be host names such as ns-1.awsdns-01.org")
    return found


def key_type(flags: int) -> str:
    """The key type Gandi's API takes for DNSKEY ``flags``: 257 is a key-signing key (``ksk``)."""
    if flags not in KEY_TYPES:
        raise _fail("DelegationSigner.flags", flags, "must be 257 (a key-signing key) or 256 (a zone-signing key)")
    return KEY_TYPES[flags]


def public_key(value: str) -> str:
    """A DNSKEY's public key as base64 without blanks (what Gandi reports back and the provider compares)."""
    key = "".join(value.split())
    if not key or not _BASE64.match(key):
        raise _fail("DelegationSigner.public_key", value[:24], "must be the DNSKEY's base64 public key")
    return key


def algorithm(value: int) -> int:
    """A DNSSEC algorithm number a registry takes (13: ECDSA P-256 with SHA-256, Route 53's)."""
    if isinstance(value, bool) or value not in ALGORITHMS:
        raise _fail("DelegationSigner.algorithm", value, f"must be one of {sorted(ALGORITHMS)} (RFC 8624)")
    return value


@dataclass(frozen=True)
class DelegationSigner:
    """The DNSKEY the DS record is made from: a zone's key-signing key, once the zone signs with it.

    ``algorithm``, ``flags`` and ``public_key`` are usually a Route 53 ``KeySigningKey``'s
    ``signing_algorithm_type``, ``flag`` and ``public_key`` outputs; ``signing`` is the resource that turns
    signing on (``HostedZoneDnsSec``), which the DS waits for.
    """

    algorithm: pulumi.Input[int]
    flags: pulumi.Input[int]
    public_key: pulumi.Input[str]
    signing: pulumi.Resource | None = None


@dataclass(frozen=True, kw_only=True)
class RegistrarDelegationArgs:
    """One registered domain: its name servers and, for a signed zone, its key-signing key.

    ``protect`` protects both resources (the name servers are retained on delete whatever it says).
    """

    domain: str
    name_servers: pulumi.Input[Sequence[str]]
    signer: DelegationSigner | None = None
    protect: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.domain, str) or not _HOSTNAME.match(self.domain):
            raise _fail("RegistrarDelegationArgs.domain", self.domain, "must be a lower-case domain like example.org")
        if isinstance(self.name_servers, (list, tuple)):
            name_server_list(self.name_servers)
        if self.signer is not None and not isinstance(self.signer, DelegationSigner):
            raise _fail("RegistrarDelegationArgs.signer", self.signer, "must be a DelegationSigner or None")


class RegistrarDelegation(pulumi.ComponentResource):
    """A domain's name servers at Gandi and, for a signed zone, its DNSSEC key there. See the module docstring.

    ``provider`` must be an explicit Gandi provider (default providers are disabled). Attributes:
    ``name_servers`` (the ``Nameservers`` resource) and ``dnssec_key`` (the ``DNSSecKey``, or None).
    """

    name_servers: gandi.domains.Nameservers
    dnssec_key: gandi.domains.DNSSecKey | None

    def __init__(
        self,
        name: str,
        args: RegistrarDelegationArgs,
        *,
        provider: pulumi.ProviderResource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(args, RegistrarDelegationArgs):
            raise _fail("RegistrarDelegation(args=...)", args, "must be a RegistrarDelegationArgs")
        if not isinstance(provider, pulumi.ProviderResource) or provider.package != "gandi":
            shown = f"{provider.package} provider" if isinstance(provider, pulumi.ProviderResource) else provider
            raise _fail(
                "RegistrarDelegation(provider=...)",
                shown,
                "must be an explicit gandi provider instance: default providers are disabled in this project",
            )
        super().__init__(REGISTRAR_DELEGATION_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider, protect=args.protect)
        self.name_servers = gandi.domains.Nameservers(
            f"{name}-name-servers",
            domain=args.domain,
            nameservers=pulumi.Output.from_input(args.name_servers).apply(name_server_list),
            # Deleting it re-enables LiveDNS at Gandi, which would take the domain off Route 53.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True)),
        )
        self.dnssec_key = None
        signer = args.signer
        if signer is not None:
            self.dnssec_key = gandi.domains.DNSSecKey(
                f"{name}-dnssec-key",
                domain=args.domain,
                algorithm=pulumi.Output.from_input(signer.algorithm).apply(algorithm),
                type=pulumi.Output.from_input(signer.flags).apply(key_type),
                public_key=pulumi.Output.from_input(signer.public_key).apply(public_key),
                # A DS for a zone that does not sign yet makes it bogus: publish it once signing is on, and
                # (deletes run in reverse) withdraw it before signing stops.
                opts=pulumi.ResourceOptions.merge(
                    child,
                    pulumi.ResourceOptions(
                        depends_on=[self.name_servers, *([signer.signing] if signer.signing is not None else [])]
                    ),
                ),
            )
        self.register_outputs(
            {
                "domain": args.domain,
                "name_servers": self.name_servers.nameservers,
                "dnssec_key_id": self.dnssec_key.id if self.dnssec_key is not None else None,
            }
        )
