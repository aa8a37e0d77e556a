"""Checks of single config values that need no other setting: networks and addresses, the PSF CA certificate.

Each function takes a config key and its value(s) and returns the checked value, or raises one
:class:`~stacks.schema.SettingsError` naming the key, the value and what is allowed. :mod:`stacks.settings`
calls them and re-exports the public names; the cross-stack check (:mod:`stacks.stack_claims`) reads VPC ranges
with :func:`listed_vpc_ranges`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from stacks.schema import SettingsError

# DigitalOcean's rules for a VPC's ip_range. The provider docs (terraform-provider-digitalocean
# docs/resources/vpc.md): RFC 1918 private addresses only, no larger than /16 nor smaller than /24, no overlap
# with another network of the account (the range cannot change later: ip_range is ForceNew). DigitalOcean's
# "How to Plan Your Custom VPC Network" (docs.digitalocean.com/products/networking/vpc/concepts/plan-your-network/)
# reserves ranges for its own services (DOKS and internal use), which a custom VPC may not use.
RFC1918: Final = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
DIGITALOCEAN_RESERVED: Final = tuple(
    ipaddress.IPv4Network(n) for n in ("10.244.0.0/16", "10.245.0.0/16", "10.246.0.0/24", "10.229.0.0/16")
)
VPC_PREFIXES: Final = range(16, 25)
_VPC_RANGE = re.compile(r"^([a-z0-9]+)=(.+)$")

# The widest admin network allowed, per IP version. Admin networks are where the team's SSH comes from (an
# office, a VPN, OSUOSL's /24 and /48 in prod). A /16 is the largest IPv4 block a single organisation's site
# holds (a legacy class B, a large campus) and a /32 the smallest IPv6 allocation an ISP receives: anything
# wider is not "our network" but a slice of other people's internet. The same bound caps all networks of a
# version together, so no set of narrower ones (two /1 halves, 256 /16s) adds up to more.
ADMIN_MAX_PREFIX: Final[Mapping[int, int]] = {4: 16, 6: 32}


def admin_cidr(key: str, value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """One admin network: CIDR without host bits, no wider than :data:`ADMIN_MAX_PREFIX`, routable."""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise SettingsError(
            key, value, "must be networks in CIDR notation with no host bits set, e.g. 192.0.2.0/24"
        ) from None
    if network.prefixlen == 0:
        raise SettingsError(key, value, "must not open SSH to the whole internet (0.0.0.0/0 or ::/0)")
    bound = ADMIN_MAX_PREFIX[network.version]
    if network.prefixlen < bound:
        raise SettingsError(
            key,
            value,
            f"must be no wider than /{bound} (IPv{network.version}): a /{network.prefixlen} is "
            f"{network.num_addresses:,} addresses, a slice of the internet rather than an admin network",
        )
    if network.is_loopback or network.is_multicast or network.is_unspecified or network.is_link_local:
        raise SettingsError(
            key, value, "must be a routable network: SSH never arrives from loopback, link-local or multicast"
        )
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(ipaddress.IPv6Network("::ffff:0:0/96")):
        raise SettingsError(key, value, "must not be an IPv4-mapped IPv6 range; write IPv4 networks as IPv4")
    return network


def admin_networks(key: str, values: Sequence[str]) -> tuple[str, ...]:
    """Each network checked alone, then all of one IP version together (merged where they touch)."""
    networks = [admin_cidr(key, value) for value in values]
    for version, bound in ADMIN_MAX_PREFIX.items():
        mine = [n for n in networks if n.version == version]
        merged = list(ipaddress.collapse_addresses(mine))  # pyright: ignore[reportArgumentType]
        if any(n.prefixlen == 0 for n in merged):
            raise SettingsError(
                key, list(values), f"must not together cover the whole IPv{version} internet, as these networks do"
            )
        total = sum(n.num_addresses for n in merged)
        if total > 2 ** ((32 if version == 4 else 128) - bound):
            raise SettingsError(
                key,
                list(values),
                f"must together span at most a /{bound}'s worth of IPv{version} addresses; these span {total:,}",
            )
    return tuple(str(n) for n in networks)


def vpc_ranges(key: str, entries: tuple[str, ...], enabled: tuple[str, ...], known: Collection[str]) -> dict[str, str]:
    """``name=cidr`` entries as {datacenter: range}, each a range DigitalOcean accepts, none overlapping.

    ``known`` are the datacenter names there are; ``enabled`` the ones this stack deploys, each of which needs
    a range.
    """
    ranges: dict[str, ipaddress.IPv4Network] = {}
    for entry in entries:
        match = _VPC_RANGE.match(entry)
        if not match:
            raise SettingsError(key, entry, 'must be "datacenter=range" entries, e.g. "nyc1=10.120.0.0/20"')
        name, cidr = match.groups()
        if name not in known:
            raise SettingsError(key, name, "must be one of " + ", ".join(sorted(known)))
        if name in ranges:
            raise SettingsError(key, entry, f"must give {name} one range only")
        try:
            network = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError:
            raise SettingsError(key, entry, "must give an IPv4 range in CIDR notation with no host bits set") from None
        if not any(network.subnet_of(private) for private in RFC1918):
            raise SettingsError(key, entry, "must be a private range (RFC 1918: 10/8, 172.16/12 or 192.168/16)")
        if network.prefixlen not in VPC_PREFIXES:
            raise SettingsError(key, entry, "must be from /16 to /24, the VPC sizes DigitalOcean accepts")
        if reserved := [str(r) for r in DIGITALOCEAN_RESERVED if network.overlaps(r)]:
            raise SettingsError(key, entry, f"must not overlap {', '.join(reserved)}, which DigitalOcean reserves")
        if clash := [other for other, used in ranges.items() if network.overlaps(used)]:
            raise SettingsError(key, entry, f"must not overlap {clash[0]}'s {ranges[clash[0]]} (one account)")
        ranges[name] = network
    if missing := [name for name in enabled if name not in ranges]:
        raise SettingsError(
            key, list(entries), f"must give a range for every datacenter deployed; missing {missing[0]}"
        )
    return {name: str(network) for name, network in ranges.items()}


def listed_vpc_ranges(value: Any) -> list[tuple[str, ipaddress.IPv4Network]]:
    """The ``(datacenter, range)`` pairs a ``vpcRanges`` value lists, skipping what does not parse.

    For comparing stacks: a value its own stack's settings refuse claims nothing (that stack never plans), so a
    lenient reading is enough. ``value`` is the program's JSON text or an already-parsed list.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return []
    found: list[tuple[str, ipaddress.IPv4Network]] = []
    for entry in value if isinstance(value, list) else []:
        match = _VPC_RANGE.match(entry.strip()) if isinstance(entry, str) else None
        if match is None:
            continue
        try:
            found.append((match.group(1), ipaddress.IPv4Network(match.group(2), strict=False)))
        except ValueError:
            continue
    return found


def public_ipv4(key: str, value: str) -> str:
    """A public (globally routable) IPv4 address."""
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        raise SettingsError(key, value, "must be a public IPv4 address such as 140.211.10.71") from None
    if not address.is_global:
        raise SettingsError(key, value, "must be a public IPv4 address, not a private or reserved one")
    return value


def ca_certificate(key: str, value: str) -> str:
    """A PEM X.509 CA certificate, stripped of surrounding blank space, or one SettingsError line saying why not.

    Checked: exactly one PEM certificate that parses, ``basicConstraints`` CA:TRUE, a key usage (if present)
    that allows signing certificates, and a validity period that includes today.
    """
    # Imported here, not at module level: only a stack that sets a CA pays for cryptography's import
    # (about 50 ms after pulumi's, measured on the CI machine), and the rest of the program never does.
    import datetime

    from cryptography import x509

    text = value.strip()
    shown = f"(PEM, {len(text)} characters)"
    if text.count("-----BEGIN CERTIFICATE-----") != 1 or not text.endswith("-----END CERTIFICATE-----"):
        raise SettingsError(
            key, None, "must be exactly one PEM certificate (-----BEGIN CERTIFICATE----- ...)", shown=shown
        )
    try:
        certificate = x509.load_pem_x509_certificate(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SettingsError(
            key, None, "is not a readable PEM X.509 certificate (copy the whole block)", shown=shown
        ) from None
    subject = certificate.subject.rfc4514_string() or "(empty subject)"
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise SettingsError(key, subject, "must be a CA certificate (basicConstraints CA:TRUE), not a host's")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        raise SettingsError(key, subject, "must be a CA certificate whose key usage allows keyCertSign")
    now = datetime.datetime.now(datetime.UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        window = f"{certificate.not_valid_before_utc:%Y-%m-%d} to {certificate.not_valid_after_utc:%Y-%m-%d}"
        raise SettingsError(key, subject, f"must be valid today (valid {window}); set the CA's current certificate")
    return text
