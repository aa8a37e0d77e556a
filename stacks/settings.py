"""Typed, validated settings for one stack, read once from Pulumi config.

Pulumi.yaml is the single source of truth for which keys exist, their types and their defaults. This module
reads that schema, applies its defaults itself (Pulumi does not apply project defaults under mocks), and
validates every value. Any bad or missing value raises one :class:`SettingsError` naming the key, the value
and what is allowed, before the program registers a single resource.

The parsing core, :func:`parse_settings`, is a pure function of a ``{key: raw string}`` mapping so it can be
tested exhaustively without the Pulumi engine. Besides each value's own rules it refuses what would be
dangerous although well-formed: an ``environment`` that disagrees with the stack's name
(:mod:`stacks.environment`), prod settings that weaken prod, admin networks that cover much of the internet.
:func:`settings_for_stack` adds what needs more than one stack's values: keys of other namespaces, and names
or zones another stack file of the project claims. :func:`load_settings` feeds it from the running stack;
the offline plan feeds it from the stack file (:mod:`stacks.stack_files`) before evaluating anything.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pulumi_digitalocean import DropletSlug, Region

from stacks.cli_yaml import ConfigFileError
from stacks.environment import PROD_STACK, Environment, expected_environment
from stacks.schema import PROJECT as PROJECT
from stacks.schema import PROJECT_ROOT, ConfigKey, SettingsError, config_schema
from stacks.stack_files import check_key, read_stack_file, stack_names

PROJECT_DIR: ContextVar[Path] = ContextVar("PROJECT_DIR", default=PROJECT_ROOT)
"""The directory whose stack files are this stack's siblings: the repository under the CLI; the recorder
points it at the directory it reads stack files from."""


@dataclass(frozen=True)
class Datacenter:
    """A PSF datacenter: its short name, the DigitalOcean region behind it and its nearest Fastly shield."""

    name: str
    region: Region
    shield_pop: str
    vpc_cidr: str


# The PSF's datacenter names map onto DigitalOcean regions (seed 000). Shield POPs are the Fastly POPs
# nearest each region, so a cache miss crosses the ocean at most once; VPC ranges must not overlap so the
# datacenters can be peered later.
DATACENTERS: Final[Mapping[str, Datacenter]] = {
    "ams1": Datacenter("ams1", Region.AMS3, "amsterdam-nl", "10.110.0.0/20"),
    "nyc1": Datacenter("nyc1", Region.NYC3, "lga-ny-us", "10.120.0.0/20"),
    "sfo1": Datacenter("sfo1", Region.SFO2, "sjc-ca-us", "10.130.0.0/20"),
}

DATADOG_SITES: Final = frozenset(
    {"datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com", "ddog-gov.com"}
)
FASTLY_LOGGING: Final = frozenset({"s3", "datadog"})
POSTGRES_VERSIONS: Final = frozenset({"14", "15", "16", "17"})
DROPLET_SLUGS: Final = frozenset(slug.value for slug in DropletSlug)

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$")
_IMAGE = re.compile(r"^([a-z0-9][a-z0-9.-]*[a-z0-9]|[0-9]+)$")
_SSH_KEY = re.compile(r"^([0-9]+|([0-9a-f]{2}:){15}[0-9a-f]{2})$")
_HANDLE = re.compile(r"^@[A-Za-z0-9][A-Za-z0-9_.+@-]*$")
_LOCATION = re.compile(r"^(aws|azure|gcp|alibaba|oci):[a-z0-9-]+$|^pl:[a-z0-9-]+$")
_DKIM = re.compile(r"^([a-z0-9][a-z0-9-]{0,62})=([A-Za-z0-9+/]{64,}={0,2})$")
_DB_SIZE = re.compile(r"^db-[a-z0-9]+-[0-9]+vcpu-[0-9]+gb$")
_PAGER = re.compile(r"^@pagerduty\b", re.IGNORECASE)


@dataclass(frozen=True)
class Secret:
    """A secret config value. Its repr never shows the value, so it cannot leak into logs or errors."""

    value: str

    def __repr__(self) -> str:
        return "Secret(****)"

    __str__ = __repr__


@dataclass(frozen=True)
class Secrets:
    """Credentials and shared secrets; only ever set with `pulumi config set --secret`."""

    digitalocean_token: Secret
    aws_access_key_id: Secret
    aws_secret_access_key: Secret
    fastly_api_key: Secret
    datadog_api_key: Secret
    datadog_app_key: Secret
    fastly_origin_token: Secret
    fastly_customer_id: Secret


@dataclass(frozen=True)
class DropletSizes:
    """Droplet size slugs by weight class; staging sets all three to the smallest size."""

    small: str
    medium: str
    large: str


@dataclass(frozen=True)
class Settings:
    """Everything the estate needs to know about one stack, validated. Passed down, never re-read."""

    stack: str
    environment: Environment
    name_prefix: str
    datacenters: tuple[Datacenter, ...]
    internal_domain: str
    domain_suffix: str
    droplet_image: str
    droplet_sizes: DropletSizes
    replicas: int
    ssh_keys: tuple[str, ...]
    admin_cidrs: tuple[str, ...]
    salt_master: str
    protect: bool
    backups: bool
    page_on_call: bool
    pagerduty_handle: str
    notify_handles: tuple[str, ...]
    fastly_activate: bool
    fastly_logging: str
    hsts_max_age: int
    stale_if_error_ttl: int
    database_size: str
    database_replica: bool
    postgres_version: str
    python_org_origin: str
    python_org_staging_origin: str
    pycon_origin: str
    pypi_origin: str
    benchmark_host_address: str
    datadog_site: str
    synthetics_locations: tuple[str, ...]
    dkim_keys: tuple[tuple[str, str], ...]
    dnssec: bool
    secrets: Secrets

    @property
    def is_prod(self) -> bool:
        """True for the production estate."""
        return self.environment is Environment.PROD

    def datacenter(self, name: str) -> Datacenter:
        """The enabled datacenter called ``name``; a clear error if this stack does not deploy there."""
        for dc in self.datacenters:
            if dc.name == name:
                return dc
        enabled = ", ".join(dc.name for dc in self.datacenters)
        raise SettingsError(
            "datacenters", [dc.name for dc in self.datacenters], f"must include {name!r} (has: {enabled})"
        )

    def public_domain(self, domain: str) -> str:
        """The name a public domain has in this stack: itself in prod, renamed under the suffix elsewhere.

        ``python.org`` becomes ``python-org.staging.psf.io`` in staging, so staging's zones, Fastly domains
        and synthetics never collide with prod's, and each one is a delegable child of a zone the PSF owns.
        """
        return public_domain(domain, self.domain_suffix)

    def public_host(self, host: str, zone: str) -> str:
        """A public host name ``host`` inside ``zone``, mapped the same way as :meth:`public_domain`."""
        if host != zone and not host.endswith("." + zone):
            raise ValueError(f"{host!r} is not inside zone {zone!r}")
        return host[: len(host) - len(zone)] + self.public_domain(zone)

    def physical_name(self, *parts: str) -> str:
        """A globally unique physical name (bucket, Fastly service, monitor): the stack's prefix plus parts."""
        return "-".join((self.name_prefix, *parts))


class _Reader:
    """Typed access to raw config strings, applying schema defaults and raising SettingsError on misuse."""

    def __init__(self, raw: Mapping[str, str], schema: Mapping[str, ConfigKey]) -> None:
        self._raw = raw
        self._schema = schema

    def _value(self, key: str) -> Any:
        spec = self._schema[key]
        if key in self._raw:
            return self._raw[key]
        if spec.required:
            how = "pulumi config set --secret" if spec.secret else "pulumi config set"
            raise SettingsError(key, None, f"required ({spec.description.rstrip('.')}); set it with `{how} {key}`")
        return spec.default

    def string(self, key: str) -> str:
        value = self._value(key)
        if not isinstance(value, str):
            raise SettingsError(key, value, "must be a string")
        return value.strip()

    def boolean(self, key: str) -> bool:
        value = self._value(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise SettingsError(key, value, "must be true or false")

    def integer(self, key: str, low: int, high: int) -> int:
        given = value = self._value(key)
        if isinstance(value, bool):
            raise SettingsError(key, value, f"must be a whole number from {low} to {high}")
        if isinstance(value, str):
            if not re.fullmatch(r"\s*-?[0-9]+\s*", value):
                raise SettingsError(key, value, f"must be a whole number from {low} to {high}")
            value = int(value)
        if not isinstance(value, int) or not low <= value <= high:
            raise SettingsError(key, given, f"must be a whole number from {low} to {high}")
        return value

    def strings(self, key: str, *, min_items: int = 0) -> tuple[str, ...]:
        value = self._value(key)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise SettingsError(key, value, "must be a list (a YAML sequence or a JSON array)") from None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise SettingsError(key, value, "must be a list of strings")
        items = tuple(item.strip() for item in value)
        if len(items) < min_items:
            raise SettingsError(key, value, f"must list at least {min_items} item(s)")
        if len(set(items)) != len(items):
            raise SettingsError(key, value, "must not repeat an item")
        return items

    def raw(self, key: str) -> Any:
        """The value as given (or the schema default), for messages."""
        return self._value(key)

    def secret(self, key: str) -> Secret:
        try:
            value = self.string(key)
        except SettingsError as exc:
            raise SettingsError(key, exc.value, exc.allowed, hidden=True) from None
        if not value:
            raise SettingsError(key, "", f"must not be empty; set it with `pulumi config set --secret {key}`")
        return Secret(value)


def _hostname(key: str, value: str) -> str:
    if not value:
        raise SettingsError(key, value, "must not be empty: a lower-case DNS name such as example.org")
    if len(value) > 253:
        raise SettingsError(key, value, f"must be at most 253 characters, as every DNS name is (this has {len(value)})")
    long_label = next((label for label in value.split(".") if len(label) > 63), None)
    if long_label is not None:
        raise SettingsError(
            key, value, f"must have labels of at most 63 characters, as DNS requires (one has {len(long_label)})"
        )
    if not _HOSTNAME.match(value):
        raise SettingsError(key, value, "must be a lower-case DNS name such as example.org")
    return value


def _choice(key: str, value: str, allowed: frozenset[str] | Mapping[str, object]) -> str:
    if value not in allowed:
        raise SettingsError(key, value, "must be one of " + ", ".join(sorted(allowed)))
    return value


def _droplet_size(key: str, value: str) -> str:
    if value not in DROPLET_SLUGS:
        raise SettingsError(
            key, value, "must be a DigitalOcean droplet size slug (pulumi_digitalocean.DropletSlug), e.g. s-1vcpu-2gb"
        )
    return value


# The widest admin network allowed, per IP version. Admin networks are where the team's SSH comes from (an
# office, a VPN, OSUOSL's /24 and /48 in prod). A /16 is the largest IPv4 block a single organisation's site
# holds (a legacy class B, a large campus) and a /32 the smallest IPv6 allocation an ISP receives: anything
# wider is not "our network" but a slice of other people's internet. The same bound caps all networks of a
# version together, so no set of narrower ones (two /1 halves, 256 /16s) adds up to more.
ADMIN_MAX_PREFIX: Final[Mapping[int, int]] = {4: 16, 6: 32}


def _admin_cidr(key: str, value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
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


def _admin_networks(key: str, values: Sequence[str]) -> tuple[str, ...]:
    """Each network checked alone, then all of one IP version together (merged where they touch)."""
    networks = [_admin_cidr(key, value) for value in values]
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


def _public_ipv4(key: str, value: str) -> str:
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        raise SettingsError(key, value, "must be a public IPv4 address such as 140.211.10.71") from None
    if not address.is_global:
        raise SettingsError(key, value, "must be a public IPv4 address, not a private or reserved one")
    return value


def parse_settings(stack: str, raw: Mapping[str, Any], schema: Mapping[str, ConfigKey] | None = None) -> Settings:
    """Validate raw config (``{key: value}``, unnamespaced) into Settings, or raise one SettingsError.

    Values may be strings as Pulumi hands them to a program (arrays as JSON text) or already-typed YAML
    values as they appear in a stack file; both are accepted.
    """
    schema = schema if schema is not None else config_schema()
    unknown = sorted(set(raw) - set(schema))
    if unknown:
        raise SettingsError(unknown[0], raw[unknown[0]], "is not a key Pulumi.yaml declares (typo?)")
    read = _Reader(raw, schema)

    environment = Environment(_choice("environment", read.string("environment"), {e.value: e for e in Environment}))
    expected = expected_environment(stack)
    if environment is not expected:
        raise SettingsError(
            "environment",
            read.raw("environment"),
            f"must be {expected.value!r} in stack {stack!r}: the stack's name decides, and only the stack named "
            f"{PROD_STACK!r} is production (the policy pack judges every resource by it too)",
        )
    name_prefix = read.string("namePrefix")
    if not _PREFIX.match(name_prefix):
        raise SettingsError(
            "namePrefix", name_prefix, "must be 3-20 characters of a-z, 0-9 and '-', starting with a letter"
        )

    dc_names = read.strings("datacenters", min_items=1)
    for name in dc_names:
        _choice("datacenters", name, DATACENTERS)

    domain_suffix = read.string("domainSuffix")
    if domain_suffix:
        _hostname("domainSuffix", domain_suffix)
    if environment is Environment.STAGING and not domain_suffix:
        raise SettingsError(
            "domainSuffix", domain_suffix, "must be set in staging, or staging would claim prod's public domains"
        )
    if environment is Environment.PROD and domain_suffix:
        raise SettingsError("domainSuffix", domain_suffix, "must be empty in prod, which serves the real domains")

    droplet_image = read.string("dropletImage")
    if not _IMAGE.match(droplet_image):
        raise SettingsError(
            "dropletImage", droplet_image, "must be an image slug such as ubuntu-24-04-x64, or a numeric image ID"
        )

    ssh_keys = read.strings("sshKeys", min_items=1)
    for key_id in ssh_keys:
        if not _SSH_KEY.match(key_id):
            raise SettingsError(
                "sshKeys", key_id, "must be DigitalOcean SSH key IDs (digits) or MD5 fingerprints (aa:bb:...:ff)"
            )

    page_on_call = read.boolean("pageOnCall")
    if environment is Environment.STAGING and page_on_call:
        raise SettingsError("pageOnCall", True, "must be false in staging: only production pages on-call")
    protect = read.boolean("protect")

    pagerduty_handle = read.string("pagerdutyHandle")
    if not pagerduty_handle.startswith("@pagerduty") or not _HANDLE.match(pagerduty_handle):
        raise SettingsError(
            "pagerdutyHandle",
            pagerduty_handle,
            "must be a Datadog PagerDuty handle such as @pagerduty-psf-infrastructure",
        )
    notify_handles = read.strings("notifyHandles", min_items=1)
    for handle in notify_handles:
        if not _HANDLE.match(handle):
            raise SettingsError(
                "notifyHandles",
                handle,
                "must be Datadog handles starting with @, e.g. @infrastructure-staff@python.org",
            )
        if _PAGER.match(handle):
            raise SettingsError(
                "notifyHandles",
                handle,
                "must not page anyone: paging goes only through pagerdutyHandle, which pageOnCall switches on",
            )

    locations = read.strings("syntheticsLocations", min_items=3)
    for location in locations:
        if not _LOCATION.match(location):
            raise SettingsError(
                "syntheticsLocations", location, "must be Datadog managed locations such as aws:us-east-1"
            )

    dkim_keys = []
    for entry in read.strings("dkimKeys"):
        match = _DKIM.match(entry)
        if not match:
            shown = entry if len(entry) < 40 else entry[:37] + "..."
            raise SettingsError(
                "dkimKeys", shown, 'must be "selector=base64 public key" entries, e.g. "mail=MIIBIjAN..."'
            )
        if any(selector == match.group(1) for selector, _ in dkim_keys):
            raise SettingsError(
                "dkimKeys",
                match.group(1),
                "must not repeat a selector: each selector publishes one key at <selector>._domainkey, so a "
                "second one would replace the first",
            )
        dkim_keys.append((match.group(1), match.group(2)))

    database_size = read.string("databaseSize")
    if not _DB_SIZE.match(database_size):
        raise SettingsError(
            "databaseSize", database_size, "must be a managed database size slug such as db-s-2vcpu-4gb"
        )

    settings = Settings(
        stack=stack,
        environment=environment,
        name_prefix=name_prefix,
        datacenters=tuple(DATACENTERS[name] for name in dc_names),
        internal_domain=_hostname("internalDomain", read.string("internalDomain")),
        domain_suffix=domain_suffix,
        droplet_image=droplet_image,
        droplet_sizes=DropletSizes(
            small=_droplet_size("dropletSizeSmall", read.string("dropletSizeSmall")),
            medium=_droplet_size("dropletSizeMedium", read.string("dropletSizeMedium")),
            large=_droplet_size("dropletSizeLarge", read.string("dropletSizeLarge")),
        ),
        replicas=read.integer("replicas", 1, 5),
        ssh_keys=ssh_keys,
        admin_cidrs=_admin_networks("adminCidrs", read.strings("adminCidrs", min_items=1)),
        salt_master=_hostname("saltMaster", read.string("saltMaster")),
        protect=protect,
        backups=read.boolean("backups"),
        page_on_call=page_on_call,
        pagerduty_handle=pagerduty_handle,
        notify_handles=notify_handles,
        fastly_activate=read.boolean("fastlyActivate"),
        fastly_logging=_choice("fastlyLogging", read.string("fastlyLogging"), FASTLY_LOGGING),
        hsts_max_age=read.integer("hstsMaxAge", 31_536_000, 63_072_000),
        stale_if_error_ttl=read.integer("staleIfErrorTtl", 60, 604_800),
        database_size=database_size,
        database_replica=read.boolean("databaseReplica"),
        postgres_version=_choice("postgresVersion", read.string("postgresVersion"), POSTGRES_VERSIONS),
        python_org_origin=_hostname("pythonOrgOrigin", read.string("pythonOrgOrigin")),
        python_org_staging_origin=_hostname("pythonOrgStagingOrigin", read.string("pythonOrgStagingOrigin")),
        pycon_origin=_hostname("pyconOrigin", read.string("pyconOrigin")),
        pypi_origin=_hostname("pypiOrigin", read.string("pypiOrigin")),
        benchmark_host_address=_public_ipv4("benchmarkHostAddress", read.string("benchmarkHostAddress")),
        datadog_site=_choice("datadogSite", read.string("datadogSite"), DATADOG_SITES),
        synthetics_locations=locations,
        dkim_keys=tuple(dkim_keys),
        dnssec=read.boolean("dnssec"),
        secrets=Secrets(
            digitalocean_token=read.secret("digitaloceanToken"),
            aws_access_key_id=read.secret("awsAccessKeyId"),
            aws_secret_access_key=read.secret("awsSecretAccessKey"),
            fastly_api_key=read.secret("fastlyApiKey"),
            datadog_api_key=read.secret("datadogApiKey"),
            datadog_app_key=read.secret("datadogAppKey"),
            fastly_origin_token=read.secret("fastlyOriginToken"),
            fastly_customer_id=read.secret("fastlyCustomerId"),
        ),
    )
    if settings.is_prod:
        _refuse_weakened_prod(settings, read)
    own_public = {settings.public_domain(domain): domain for domain in _public_domains()}
    if settings.internal_domain in own_public:
        raise SettingsError(
            "internalDomain",
            settings.internal_domain,
            f"must differ from every public zone, and this stack serves {own_public[settings.internal_domain]} "
            "under that name; the internal zone needs a name of its own (prod uses psf.io)",
        )
    return settings


# What prod must keep, with why, so that a stack file cannot quietly weaken production: each names the key.
_PROD_REQUIRES: Final = (
    ("protect", "it protects and retains zones, volumes, databases and file buckets, so no change can delete them"),
    ("backups", "stateful droplets keep DigitalOcean's weekly backups"),
    ("dnssec", "the public zones are signed, and with their DS records at the registrar unsigned answers fail"),
    ("databaseReplica", "the PostgreSQL cluster keeps a replica in another zone, so one failure is not an outage"),
    ("pageOnCall", "production alerts page the on-call rotation"),
)


def _refuse_weakened_prod(settings: Settings, read: _Reader) -> None:
    values = {
        "protect": settings.protect,
        "backups": settings.backups,
        "dnssec": settings.dnssec,
        "databaseReplica": settings.database_replica,
        "pageOnCall": settings.page_on_call,
    }
    for key, why in _PROD_REQUIRES:
        if not values[key]:
            raise SettingsError(
                key, read.raw(key), f"must be true in prod: {why}; only non-prod stacks may turn it off"
            )
    if settings.replicas < 2:
        raise SettingsError(
            "replicas", read.raw("replicas"), "must be at least 2 in prod: two servers per web role, so one can fail"
        )
    missing = sorted(set(DATACENTERS) - {dc.name for dc in settings.datacenters})
    if missing:
        raise SettingsError(
            "datacenters",
            read.raw("datacenters"),
            f"must list every datacenter in prod ({', '.join(sorted(DATACENTERS))}): leaving out {', '.join(missing)} "
            "would delete its servers",
        )


def _public_domains() -> tuple[str, ...]:
    # Imported here: stacks.dns builds zones from Settings, so it imports this module.
    from stacks.dns import PUBLIC_DOMAINS

    return PUBLIC_DOMAINS


def public_domain(domain: str, suffix: str) -> str:
    """A public domain as a stack with this ``domainSuffix`` names it (see :meth:`Settings.public_domain`)."""
    return f"{domain.replace('.', '-')}.{suffix}" if suffix else domain


@dataclass(frozen=True)
class _Claims:
    """What a stack claims in the accounts every stack shares: physical names and DNS zones."""

    stack: str
    name_prefix: str
    internal_domain: str
    public_domains: frozenset[str]


def _claims_of_file(stack: str, values: Mapping[str, str], schema: Mapping[str, ConfigKey]) -> _Claims:
    def value(key: str) -> str:
        found = values.get(key, schema[key].default)
        return str(found).strip() if found is not None else ""

    suffix = value("domainSuffix")
    public = frozenset(public_domain(domain, suffix) for domain in _public_domains())
    return _Claims(stack, value("namePrefix"), value("internalDomain"), public)


def _prefixes_collide(a: str, b: str) -> bool:
    # Physical names are "<prefix>-<parts>", so "psf" would own every "psf-prod-..." name too.
    return a == b or a.startswith(b + "-") or b.startswith(a + "-")


def _check_siblings(settings: Settings, project_dir: Path, schema: Mapping[str, ConfigKey]) -> None:
    """Refuse a stack that claims a name or zone another stack file of the project claims."""
    mine = _Claims(
        settings.stack,
        settings.name_prefix,
        settings.internal_domain,
        frozenset(settings.public_domain(d) for d in _public_domains()),
    )
    for stack in stack_names(project_dir):
        if stack == settings.stack:
            continue
        try:
            other = _claims_of_file(stack, read_stack_file(project_dir, stack, schema).project_values(), schema)
        except (ConfigFileError, SettingsError):
            continue  # a stack file that does not load claims nothing: its own plan and preview refuse it
        theirs = f"stack {stack!r} (Pulumi.{stack}.yaml)"
        if _prefixes_collide(mine.name_prefix, other.name_prefix):
            raise SettingsError(
                "namePrefix",
                mine.name_prefix,
                f"collides with {other.name_prefix!r} of {theirs}: physical names (buckets, Fastly services, "
                "monitors) share the accounts, so a prefix must be neither equal to nor a '-' extension of another",
            )
        if mine.internal_domain == other.internal_domain:
            raise SettingsError(
                "internalDomain",
                mine.internal_domain,
                f"is also the internalDomain of {theirs}: both would create that zone and the same host names",
            )
        if mine.internal_domain in other.public_domains:
            raise SettingsError("internalDomain", mine.internal_domain, f"is a public zone of {theirs}")
        shared = sorted((mine.public_domains & other.public_domains) | ({other.internal_domain} & mine.public_domains))
        if shared:
            raise SettingsError(
                "domainSuffix",
                settings.domain_suffix,
                f"gives this stack public zones that {theirs} also creates ({shared[0]}); each stack needs its own",
            )


def settings_for_stack(stack: str, config: Mapping[str, Any], project_dir: Path | None = None) -> Settings:
    """Settings from a stack's whole config (full keys, as the program receives them), checked against the others.

    Keys of any namespace but this project's are refused (a typo such as ``psf-infr:replicas`` would otherwise
    leave a default in force); ``pulumi:`` keys belong to the CLI and are left to it. Then the stack may claim
    no name prefix or zone that another stack file in ``project_dir`` (default :data:`PROJECT_DIR`) claims.
    """
    schema = config_schema()
    raw: dict[str, Any] = {}
    for key in sorted(config):
        if key.startswith("pulumi:"):
            continue
        _, name = check_key(key, schema, config[key])
        raw[name] = config[key]
    settings = parse_settings(stack, raw, schema)
    _check_siblings(settings, project_dir if project_dir is not None else PROJECT_DIR.get(), schema)
    return settings


def load_settings() -> Settings:
    """Read this stack's Pulumi config and validate it (:func:`settings_for_stack`)."""
    import pulumi
    from pulumi.runtime.config import CONFIG, get_config, get_config_env

    # Every key set, not only the declared ones, so a typo in a key or its namespace is refused instead of
    # silently falling back to a default.
    config: dict[str, Any] = {}
    for key in sorted({*CONFIG.get(), *get_config_env()}):
        value = get_config(key)
        if value is not None:
            config[key] = value
    return settings_for_stack(pulumi.get_stack(), config)
