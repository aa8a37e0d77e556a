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
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pulumi_digitalocean import DropletSlug, Region

from stacks.environment import PROD_STACK, Environment, expected_environment
from stacks.ownership import Owners, Ownership, OwnershipError, Part, parse_ownership
from stacks.schema import OPTIONAL_SECRETS, PROJECT_ROOT, ConfigKey, SettingsError, config_schema
from stacks.schema import PROJECT as PROJECT
from stacks.settings_values import ADMIN_MAX_PREFIX as ADMIN_MAX_PREFIX
from stacks.settings_values import DIGITALOCEAN_RESERVED as DIGITALOCEAN_RESERVED
from stacks.settings_values import RFC1918 as RFC1918
from stacks.settings_values import VPC_PREFIXES as VPC_PREFIXES
from stacks.settings_values import admin_networks, ca_certificate, public_ipv4, vpc_ranges
from stacks.stack_claims import check_siblings, public_domain, public_domains
from stacks.stack_files import check_key

if TYPE_CHECKING:
    from stacks.paging import Paging

PROJECT_DIR: ContextVar[Path] = ContextVar("PROJECT_DIR", default=PROJECT_ROOT)
"""The directory whose stack files are this stack's siblings: the repository under the CLI; the recorder
points it at the directory it reads stack files from."""


@dataclass(frozen=True)
class Location:
    """Where a PSF datacenter is: its short name, the DigitalOcean region behind it and its nearest Fastly shield."""

    name: str
    region: Region
    shield_pop: str


@dataclass(frozen=True)
class Datacenter:
    """A PSF datacenter as one stack deploys it: its location and the private range of its VPC in this stack."""

    name: str
    region: Region
    shield_pop: str
    vpc_cidr: str


# The PSF's datacenter names map onto DigitalOcean regions (seed 000). Shield POPs are the Fastly POPs
# nearest each region, so a cache miss crosses the ocean at most once. VPC ranges are per stack
# (``vpcRanges``): prod and staging share one DigitalOcean account, which refuses overlapping ranges.
DATACENTERS: Final[Mapping[str, Location]] = {
    "ams1": Location("ams1", Region.AMS3, "amsterdam-nl"),
    "nyc1": Location("nyc1", Region.NYC3, "lga-ny-us"),
    "sfo1": Location("sfo1", Region.SFO2, "sjc-ca-us"),
}
# The Salt master every droplet bootstraps against runs here (psf-salt: salt*.nyc1.psf.io).
SALT_MASTER_DATACENTER: Final = "nyc1"

DATADOG_SITES: Final = frozenset(
    {"datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com", "ddog-gov.com"}
)
FASTLY_LOGGING: Final = frozenset({"s3", "datadog"})
# The Datadog sites Fastly's Datadog logging endpoint can reach, and the region it calls each: the
# provider documents logging_datadog.region as "One of US or EU" (pulumi-fastly 10, service_vcl.md).
FASTLY_DATADOG_REGIONS: Final[Mapping[str, str]] = {"datadoghq.com": "US", "datadoghq.eu": "EU"}
POSTGRES_VERSIONS: Final = frozenset({"14", "15", "16", "17"})
# The authorities Fastly may request managed certificates from, as the provider names them
# (components.edge_tls.CERTIFICATE_AUTHORITIES maps them to their CAA names).
TLS_AUTHORITIES: Final = ("lets-encrypt", "globalsign")
# A Fastly TLS configuration ID (the API's alphanumeric IDs, 21 or 22 characters in its examples).
_TLS_CONFIGURATION = re.compile(r"^[A-Za-z0-9]{10,64}$")
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
# Fastly writes the origin token into a VCL string literal, which cannot hold '"' and reads '%' as an escape.
_ORIGIN_TOKEN = re.compile(r"^[\x21\x23\x24\x26-\x5b\x5d-\x7a\x7c\x7e]{16,1024}$")
# A fully qualified Pulumi stack name of this project: <organization>/psf-infra/<stack>.
_STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/psf-infra/[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Names SPF looks up may hold underscores (_spf.google.com).
_SPF_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
# RFC 7208 4.6.4; the mail domain's own `mx` term costs one more.
SPF_LOOKUP_LIMIT: Final = 10
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SALT_VERSION = re.compile(r"^3[0-9]{3}(\.[0-9]{1,2})?$")
_BOOTSTRAP_VERSION = re.compile(r"^v20[0-9]{2}\.[0-9]{2}\.[0-9]{2}$")


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
    # Only for a stack whose registrarDomains lists a domain (the registrar's personal access token).
    gandi_token: Secret | None = None


@dataclass(frozen=True)
class MailSenders:
    """Who may send mail as one domain (prod name): SPF terms, besides the domain's own MX hosts.

    ``includes`` are other domains' SPF records (``include:``), ``hosts`` single hosts (``a:``),
    ``ipv4``/``ipv6`` networks. A domain with no entry sends no mail at all.
    """

    domain: str
    includes: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()

    @property
    def lookups(self) -> int:
        """DNS lookups these terms cost an SPF check (RFC 7208 4.6.4), not counting nested includes."""
        return len(self.includes) + len(self.hosts)


@dataclass(frozen=True)
class RegistrarDomain:
    """A domain whose registration this stack manages; ``ds`` False sets its name servers only, for now."""

    domain: str
    ds: bool = True


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
    standbys: bool
    ssh_keys: tuple[str, ...]
    admin_cidrs: tuple[str, ...]
    salt_master: str
    salt_version: str
    salt_bootstrap_version: str
    salt_bootstrap_sha256: str
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
    delegated_domains: tuple[str, ...]
    delegation_stack: str
    mail_senders: tuple[MailSenders, ...]
    cdn_log_retention_days: int
    secrets: Secrets
    # Domains (prod names) whose registration this stack manages at the registrar; empty: none.
    registrar_domains: tuple[RegistrarDomain, ...] = ()
    # The PSF CA's certificate (PEM) the droplet origins' certificates chain to; None until it is known.
    psf_ca_certificate: str | None = None
    # Fastly-managed certificates: the authority and the TLS configuration ("" = the account's default).
    tls_certificate_authority: str = "lets-encrypt"
    fastly_tls_configuration: str = ""
    # Who owns each part of the estate (``ownership``; stacks/ownership.py), and the import map's file.
    owners: Owners = field(default_factory=Owners)
    import_map: str = ""
    # Who production pages (stacks.paging); None: this stack pages no one and creates no PagerDuty resource.
    paging: Paging | None = None
    # The read-only Fastly token Datadog's Fastly integration reads the services with; None: not registered.
    fastly_metrics_key: Secret | None = None

    @property
    def is_prod(self) -> bool:
        """True for the production estate."""
        return self.environment is Environment.PROD

    @property
    def fastly_datadog_region(self) -> str:
        """The region of Fastly's Datadog logging endpoint for ``datadog_site`` (validated when logging there)."""
        return FASTLY_DATADOG_REGIONS.get(self.datadog_site, "US")

    def certificate_owner(self, service: str) -> Ownership:
        """Who makes the certificate of an edge service's names (``certificate:<service>``; its edge's owner)."""
        return self.owners.certificate(service)

    def owner(self, part: Part) -> Ownership:
        """Who owns a part of the estate (settings ``ownership``)."""
        return self.owners.of(part)

    @property
    def import_map_path(self) -> Path:
        """The stack's import map: ``importMap``, or ``imports/<stack>.yaml`` (relative to the project)."""
        return PROJECT_ROOT / (self.import_map or f"imports/{self.stack}.yaml")

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

    @property
    def salt_bootstrap_url(self) -> str:
        """Where droplets fetch the pinned Salt bootstrap script (a release asset, never ``latest``)."""
        return f"https://github.com/saltstack/salt-bootstrap/releases/download/{self.salt_bootstrap_version}/bootstrap-salt.sh"

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

    def optional_secret(self, key: str) -> Secret | None:
        """A secret whose schema default is empty: None when it is not set."""
        value = self.string(key)
        return Secret(value) if value else None


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


def _origin_token(secret: Secret) -> Secret:
    if not _ORIGIN_TOKEN.match(secret.value):
        raise SettingsError(
            "fastlyOriginToken",
            secret.value,
            "must be 16-1024 visible ASCII characters without '\"', '%', '\\', '{' or '}' (Fastly writes it "
            "into a VCL string); e.g. `openssl rand -hex 32`",
            hidden=True,
        )
    return secret


def _mail_senders(entries: tuple[str, ...]) -> tuple[MailSenders, ...]:
    """``"<domain> <term> <term> ..."`` entries as :class:`MailSenders`, every term checked."""
    allowed = "include:<domain>, a:<host>, ip4:<network> or ip6:<network>, without a qualifier"
    parsed: list[MailSenders] = []
    for entry in entries:
        if not entry.split():
            raise SettingsError("mailSenders", entry, 'must be "<domain> <spf term> ..." entries, not empty')
        domain, *terms = entry.split()
        _hostname("mailSenders", domain)
        if domain in {p.domain for p in parsed}:
            raise SettingsError("mailSenders", entry, f"names {domain} twice; give it one entry with every sender")
        parts: dict[str, list[str]] = {"include": [], "a": [], "ip4": [], "ip6": []}
        for term in terms:
            kind, _, value = term.partition(":")
            if term.lower().endswith("all") or kind not in parts or not value:
                raise SettingsError(
                    "mailSenders", term, f"must be SPF terms {allowed}; the program writes the domain's mx and -all"
                )
            if kind in ("include", "a") and not _SPF_NAME.match(value):
                raise SettingsError(
                    "mailSenders", term, f"{kind}: takes a lower-case DNS name, e.g. {kind}:example.net"
                )
            if kind in ("ip4", "ip6"):
                try:
                    network = ipaddress.ip_network(value, strict=True)
                except ValueError:
                    network = None
                if network is None or f"ip{network.version}" != kind:
                    raise SettingsError(
                        "mailSenders", term, f"{kind}: takes an IPv{kind[-1]} network with no host bits"
                    )
            if value in parts[kind]:
                raise SettingsError("mailSenders", term, f"is listed twice for {domain}")
            parts[kind].append(value)
        senders = MailSenders(domain, *(tuple(parts[k]) for k in ("include", "a", "ip4", "ip6")))
        if senders.lookups + 1 > SPF_LOOKUP_LIMIT:
            raise SettingsError(
                "mailSenders",
                entry,
                f"needs {senders.lookups + 1} DNS lookups with the domain's mx; SPF allows {SPF_LOOKUP_LIMIT}",
            )
        parsed.append(senders)
    return tuple(parsed)


def _owners(read: _Reader, raw: Mapping[str, Any], mail_senders: tuple[MailSenders, ...]) -> Owners:
    """``ownership`` as Owners (stacks/ownership.py), checked against the stack's own mail senders."""
    try:
        owners = parse_ownership(read.strings("ownership"), datacenters=tuple(DATACENTERS))
    except OwnershipError as problem:
        raise SettingsError("ownership", problem.value, problem.allowed) from None
    # The default senders describe every PSF domain; a stack's own list naming a zone kept elsewhere is a
    # mistake: that zone's SPF and DMARC are its owner's to publish.
    if "mailSenders" in raw:
        for senders in mail_senders:
            if owners.zone(senders.domain) is Ownership.EXTERNAL:
                raise SettingsError(
                    "mailSenders",
                    senders.domain,
                    f"names a domain whose zone is external (ownership zone:{senders.domain}=external): its owner "
                    "publishes its SPF and DMARC; drop the entry",
                )
    return owners


def _import_map(value: str) -> str:
    """``importMap``: empty (``imports/<stack>.yaml``) or a YAML file's path, relative to the project or absolute."""
    if value and (not value.endswith((".yaml", ".yml")) or "\n" in value):
        raise SettingsError("importMap", value, "must be empty (imports/<stack>.yaml) or the path of a .yaml file")
    return value


def _delegation(
    environment: Environment, stack: str, domain_suffix: str, internal_domain: str, read: _Reader
) -> tuple[tuple[str, ...], str]:
    """``delegatedDomains`` (prod) and ``delegationStack`` (every other stack), checked against each other."""
    delegated = tuple(_hostname("delegatedDomains", d) for d in read.strings("delegatedDomains"))
    for domain in delegated:
        inner = [d for d in delegated if d != domain and d.endswith("." + domain)]
        if inner:
            raise SettingsError(
                "delegatedDomains",
                inner[0],
                f"lies inside {domain}: Route 53 refuses parent and child zones on one delegation set; "
                f"let the {domain} stack delegate it",
            )
    delegation_stack = read.string("delegationStack")
    if environment is Environment.PROD:
        # Found here rather than when the zones are built, so nothing is registered before the error.
        zones = sorted({*public_domains(), internal_domain})
        for domain in delegated:
            if not any(domain.endswith("." + zone) for zone in zones):
                raise SettingsError(
                    "delegatedDomains", domain, f"must lie inside one of this stack's zones: {', '.join(zones)}"
                )
        if delegation_stack:
            raise SettingsError(
                "delegationStack", delegation_stack, "must be empty in prod, whose zones the registrar delegates"
            )
        return delegated, ""
    if delegated:
        raise SettingsError(
            "delegatedDomains", list(delegated), "must be empty outside prod: only prod delegates to other stacks"
        )
    if not _STACK_NAME.match(delegation_stack) or delegation_stack.rsplit("/", 1)[1] == stack:
        raise SettingsError(
            "delegationStack",
            delegation_stack,
            "must name the stack that delegates this stack's domainSuffix, as <organization>/psf-infra/<stack> "
            "(organization/psf-infra/prod on a self-managed backend), and not this stack",
        )
    if not internal_domain.endswith("." + domain_suffix):
        raise SettingsError(
            "internalDomain",
            internal_domain,
            f"must lie inside domainSuffix {domain_suffix}, the one zone {delegation_stack} delegates to this stack",
        )
    return (), delegation_stack


# A registrarDomains entry: the domain, and optionally "ns-only" to leave its DS record for a later deploy.
NS_ONLY: Final = "ns-only"


def _registrar(
    environment: Environment, internal_domain: str, read: _Reader
) -> tuple[tuple[RegistrarDomain, ...], Secret | None]:
    """``registrarDomains`` (prod only) and the registrar token, required as soon as a domain is listed.

    The domains that may be listed are the ones the estate has zones for (``stacks.registrar``, which checks
    again): every public domain and the internal one. Checked here, before anything is registered.
    """
    parsed: list[RegistrarDomain] = []
    for entry in read.strings("registrarDomains"):
        domain, *rest = entry.split() or [""]
        if rest not in ([], [NS_ONLY]):
            raise SettingsError(
                "registrarDomains", entry, f'must be "<domain>" or "<domain> {NS_ONLY}" entries, e.g. "python.org"'
            )
        _hostname("registrarDomains", domain)
        if domain in {d.domain for d in parsed}:
            raise SettingsError("registrarDomains", entry, f"names {domain} twice")
        parsed.append(RegistrarDomain(domain, ds=not rest))
    domains = tuple(d.domain for d in parsed)
    token = read.optional_secret("gandiToken")
    if domains and environment is not Environment.PROD:
        raise SettingsError(
            "registrarDomains",
            list(domains),
            "must be empty outside prod: only prod's domains are registrations (the others are delegated subdomains)",
        )
    known = (*public_domains(), internal_domain)
    for domain in domains:
        if domain not in known:
            raise SettingsError(
                "registrarDomains", domain, "must name domains the estate has zones for: " + ", ".join(known)
            )
    if domains and token is None:
        raise SettingsError(
            "gandiToken",
            read.raw("gandiToken"),
            f"required while registrarDomains lists {', '.join(domains)}: a Gandi personal access token that may "
            "change those domains' name servers and DNSSEC keys; set it with `pulumi config set --secret gandiToken`",
            hidden=True,
        )
    return tuple(parsed), token


def _salt_master(key: str, value: str, internal_domain: str) -> str:
    """The master's name: ``salt<...>.nyc1.<internalDomain>`` (``salt`` when empty), the host the estate creates."""
    if not value:
        return f"salt.{SALT_MASTER_DATACENTER}.{internal_domain}"
    _hostname(key, value)
    label, _, rest = value.partition(".")
    expected = f"{SALT_MASTER_DATACENTER}.{internal_domain}"
    if rest != expected or not label.startswith("salt"):
        raise SettingsError(
            key,
            value,
            f"must be salt<suffix>.{expected}: this stack's own master, which the estate creates in "
            f"{SALT_MASTER_DATACENTER} and psf-salt's salt-master role (salt*.nyc1.psf.io) recognises",
        )
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
    if SALT_MASTER_DATACENTER not in dc_names:
        raise SettingsError(
            "datacenters",
            list(dc_names),
            f"must include {SALT_MASTER_DATACENTER}, where the Salt master every droplet bootstraps against runs",
        )
    ranges = vpc_ranges("vpcRanges", read.strings("vpcRanges", min_items=1), dc_names, DATACENTERS)
    internal_domain = _hostname("internalDomain", read.string("internalDomain"))

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
        raise SettingsError(
            "pageOnCall", read.raw("pageOnCall"), "must be false in staging: only production pages on-call"
        )
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

    fastly_logging = _choice("fastlyLogging", read.string("fastlyLogging"), FASTLY_LOGGING)
    datadog_site = _choice("datadogSite", read.string("datadogSite"), DATADOG_SITES)
    if fastly_logging == "datadog" and datadog_site not in FASTLY_DATADOG_REGIONS:
        raise SettingsError(
            "datadogSite",
            datadog_site,
            "Fastly can send logs only to " + ", ".join(sorted(FASTLY_DATADOG_REGIONS)) + " (its US and EU "
            "regions); with this site set fastlyLogging to s3",
        )
    psf_ca = read.string("psfCaCertificate")
    if not psf_ca and environment is Environment.PROD:
        raise SettingsError(
            "psfCaCertificate",
            psf_ca,
            "required in prod: the PEM of the PSF CA that issues the droplet origins' certificates "
            "(psf-salt docs/services/cdn.rst); without it Fastly cannot verify them and answers 503",
        )
    salt_version = read.string("saltVersion")
    if not _SALT_VERSION.match(salt_version):
        raise SettingsError("saltVersion", salt_version, "must be a Salt release such as 3006 or 3006.9")
    bootstrap_version = read.string("saltBootstrapVersion")
    if not _BOOTSTRAP_VERSION.match(bootstrap_version):
        raise SettingsError(
            "saltBootstrapVersion", bootstrap_version, "must be a salt-bootstrap release tag such as v2025.02.24"
        )
    bootstrap_sha256 = read.string("saltBootstrapSha256").lower()
    if not _SHA256.match(bootstrap_sha256):
        raise SettingsError(
            "saltBootstrapSha256",
            bootstrap_sha256,
            f"must be the 64 hexadecimal digits of the SHA-256 of bootstrap-salt.sh {bootstrap_version} "
            "(`sha256sum bootstrap-salt.sh`)",
        )

    database_size = read.string("databaseSize")
    if not _DB_SIZE.match(database_size):
        raise SettingsError(
            "databaseSize", database_size, "must be a managed database size slug such as db-s-2vcpu-4gb"
        )

    tls_configuration = read.string("fastlyTlsConfiguration")
    if tls_configuration and not _TLS_CONFIGURATION.match(tls_configuration):
        raise SettingsError(
            "fastlyTlsConfiguration",
            tls_configuration,
            "must be a Fastly TLS configuration ID (letters and digits, from the TLS configurations page or "
            "`GET /tls/configurations`), or empty for the account's default configuration",
        )
    delegated_domains, delegation_stack = _delegation(environment, stack, domain_suffix, internal_domain, read)
    mail_senders = _mail_senders(read.strings("mailSenders"))
    from stacks.paging import parse_fastly_metrics, parse_paging

    paging = parse_paging(
        page_on_call=page_on_call,
        token=read.string("pagerdutyToken"),
        roster=read.strings("onCall"),
        emails=read.string("onCallEmails"),
        escalation_minutes=read.integer("onCallEscalationMinutes", 1, 1440),
        time_zone=read.string("onCallTimeZone"),
        rotation_start=read.string("onCallRotationStart"),
    )
    fastly_metrics_key = parse_fastly_metrics(
        enabled=read.boolean("fastlyMetrics"), api_key=read.string("fastlyReadOnlyApiKey")
    )
    registrar_domains, registrar_token = _registrar(environment, internal_domain, read)

    settings = Settings(
        stack=stack,
        environment=environment,
        name_prefix=name_prefix,
        datacenters=tuple(
            Datacenter(loc.name, loc.region, loc.shield_pop, ranges[loc.name])
            for loc in (DATACENTERS[name] for name in dc_names)
        ),
        internal_domain=internal_domain,
        domain_suffix=domain_suffix,
        droplet_image=droplet_image,
        droplet_sizes=DropletSizes(
            small=_droplet_size("dropletSizeSmall", read.string("dropletSizeSmall")),
            medium=_droplet_size("dropletSizeMedium", read.string("dropletSizeMedium")),
            large=_droplet_size("dropletSizeLarge", read.string("dropletSizeLarge")),
        ),
        replicas=read.integer("replicas", 1, 5),
        standbys=read.boolean("standbys"),
        ssh_keys=ssh_keys,
        admin_cidrs=admin_networks("adminCidrs", read.strings("adminCidrs", min_items=1)),
        salt_master=_salt_master("saltMaster", read.string("saltMaster"), internal_domain),
        salt_version=salt_version,
        salt_bootstrap_version=bootstrap_version,
        salt_bootstrap_sha256=bootstrap_sha256,
        protect=protect,
        backups=read.boolean("backups"),
        page_on_call=page_on_call,
        pagerduty_handle=pagerduty_handle,
        notify_handles=notify_handles,
        fastly_activate=read.boolean("fastlyActivate"),
        fastly_logging=fastly_logging,
        hsts_max_age=read.integer("hstsMaxAge", 31_536_000, 63_072_000),
        stale_if_error_ttl=read.integer("staleIfErrorTtl", 60, 604_800),
        database_size=database_size,
        database_replica=read.boolean("databaseReplica"),
        postgres_version=_choice("postgresVersion", read.string("postgresVersion"), POSTGRES_VERSIONS),
        python_org_origin=_hostname("pythonOrgOrigin", read.string("pythonOrgOrigin")),
        python_org_staging_origin=_hostname("pythonOrgStagingOrigin", read.string("pythonOrgStagingOrigin")),
        pycon_origin=_hostname("pyconOrigin", read.string("pyconOrigin")),
        pypi_origin=_hostname("pypiOrigin", read.string("pypiOrigin")),
        benchmark_host_address=public_ipv4("benchmarkHostAddress", read.string("benchmarkHostAddress")),
        datadog_site=datadog_site,
        synthetics_locations=locations,
        dkim_keys=tuple(dkim_keys),
        dnssec=read.boolean("dnssec"),
        delegated_domains=delegated_domains,
        delegation_stack=delegation_stack,
        mail_senders=mail_senders,
        cdn_log_retention_days=read.integer("cdnLogRetentionDays", 1, 3650),
        secrets=Secrets(
            digitalocean_token=read.secret("digitaloceanToken"),
            aws_access_key_id=read.secret("awsAccessKeyId"),
            aws_secret_access_key=read.secret("awsSecretAccessKey"),
            fastly_api_key=read.secret("fastlyApiKey"),
            datadog_api_key=read.secret("datadogApiKey"),
            datadog_app_key=read.secret("datadogAppKey"),
            fastly_origin_token=_origin_token(read.secret("fastlyOriginToken")),
            fastly_customer_id=read.secret("fastlyCustomerId"),
            gandi_token=registrar_token,
        ),
        registrar_domains=registrar_domains,
        psf_ca_certificate=ca_certificate("psfCaCertificate", psf_ca) if psf_ca else None,
        tls_certificate_authority=_choice(
            "tlsCertificateAuthority", read.string("tlsCertificateAuthority"), frozenset(TLS_AUTHORITIES)
        ),
        fastly_tls_configuration=tls_configuration,
        owners=_owners(read, raw, mail_senders),
        import_map=_import_map(read.string("importMap")),
        paging=paging,
        fastly_metrics_key=fastly_metrics_key,
    )
    if settings.is_prod:
        _refuse_weakened_prod(settings, read)
    if settings.standbys:
        _refuse_standby_without_its_datacenter(settings, read)
    own_public = {settings.public_domain(domain): domain for domain in public_domains()}
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
    (
        "standbys",
        "every single-server role keeps a standby that Fastly uses while the primary is unhealthy, and mail a "
        "secondary MX",
    ),
)


def _refuse_weakened_prod(settings: Settings, read: _Reader) -> None:
    values = {
        "protect": settings.protect,
        "backups": settings.backups,
        "dnssec": settings.dnssec,
        "databaseReplica": settings.database_replica,
        "pageOnCall": settings.page_on_call,
        "standbys": settings.standbys,
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


def _refuse_standby_without_its_datacenter(settings: Settings, read: _Reader) -> None:
    # The roles are the datacenter modules' (imported here: they import this module); found now rather than
    # when the role is built, so that nothing is registered first.
    from stacks.roles import ROLES_BY_DATACENTER

    deployed = {dc.name for dc in settings.datacenters}
    for home, roles in ROLES_BY_DATACENTER.items():
        if home not in deployed:
            continue
        for role in roles:
            if role.standby is not None and role.standby.datacenter not in deployed:
                raise SettingsError(
                    "datacenters",
                    read.raw("datacenters"),
                    f"must include {role.standby.datacenter}, where the {role.key} {role.standby.title} runs (or set "
                    "standbys to false)",
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
    check_siblings(stack, raw, project_dir if project_dir is not None else PROJECT_DIR.get(), schema)
    return settings


def load_settings() -> Settings:
    """Read this stack's Pulumi config and validate it (:func:`settings_for_stack`)."""
    import pulumi
    from pulumi.runtime.config import CONFIG, get_config, get_config_env, get_config_secret_keys_env, is_config_secret

    # Every key set, not only the declared ones, so a typo in a key or its namespace is refused instead of
    # silently falling back to a default.
    config: dict[str, Any] = {}
    for key in sorted({*CONFIG.get(), *get_config_env()}):
        value = get_config(key)
        if value is not None:
            config[key] = value
    # Pulumi.yaml cannot declare these secret (see stacks.schema.OPTIONAL_SECRETS), so the program refuses
    # them in plaintext; the offline reader does the same for a stack file (stacks.stack_files).
    secret_keys = set(get_config_secret_keys_env())
    for name in OPTIONAL_SECRETS:
        key = f"{PROJECT}:{name}"
        if config.get(key) and not (is_config_secret(key) or key in secret_keys):
            raise SettingsError(
                name, config[key], f"is a secret: set it with `pulumi config set --secret {name}`", hidden=True
            )
    return settings_for_stack(pulumi.get_stack(), config)
