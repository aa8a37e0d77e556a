"""A public Route 53 hosted zone with its records, CAA, mail authentication and optional DNSSEC.

Everything a caller declares is validated when the argument objects are built, before any resource is
registered, so a typo fails with one line naming the argument, the value and what is allowed. Nothing here
knows which domains it serves: the caller passes the domain, the records and the addresses.

Record names in :class:`RecordSpec` are **relative to the zone** (``"@"`` for the apex, ``"www"``,
``"_dmarc"``), so the same declaration serves a production zone and its renamed staging twin.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_aws as aws

from components.common import ZoneRef
from components.common import invalid as _fail

DNS_ZONE_TYPE: Final = "infra:dns:DnsZone"
DELEGATION_SET_TYPE: Final = "infra:dns:DelegationSet"

RECORD_TYPES: Final = frozenset({"A", "AAAA", "CNAME", "MX", "TXT", "CAA", "SRV", "NS"})
DEFAULT_TTL: Final = 3600
MIN_TTL: Final = 30
MAX_TTL: Final = 604_800

# Amazon (ACM), Let's Encrypt (automated renewal) and GlobalSign (CDN-managed certificates): what a site
# behind AWS and a CDN actually needs; anything else must be named by the caller.
DEFAULT_CAA_ISSUERS: Final = ("amazon.com", "letsencrypt.org", "globalsign.com")

# Route 53 DNSSEC signs only with an asymmetric P-256 key held in KMS in us-east-1, whatever region the
# rest of the stack uses (Route 53 Developer Guide, "Working with customer managed keys for DNSSEC").
DNSSEC_KEY_REGION: Final = "us-east-1"
DNSSEC_KEY_SPEC: Final = "ECC_NIST_P256"
DNSSEC_KEY_USAGE: Final = "SIGN_VERIFY"

# One DNS character-string holds at most 255 bytes (RFC 1035 3.3); Route 53 refuses longer TXT strings.
TXT_CHUNK: Final = 255
# Route 53's limit on one resource record value, quotes and separators included.
MAX_RECORD_VALUE: Final = 4000
# RFC 7208 4.6.4: an SPF record that needs more than 10 DNS lookups fails for every receiver.
SPF_LOOKUP_LIMIT: Final = 10

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_HOST = _DOMAIN
# Names that are looked up but never host anything may hold underscores (_spf.example.net).
_LOOKUP_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_LABEL = r"([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)"
_RELATIVE_NAME = re.compile(rf"^(\*|{_LABEL})(\.{_LABEL})*$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$")
_CAA_VALUE = re.compile(r'^(0|128) (issue|issuewild|iodef) "[^"\\]*"$')
_DKIM_SELECTOR = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
_TXT_CHARS = re.compile(r"^[\x20-\x7e]+$")
_DMARC_POLICIES: Final = ("none", "quarantine", "reject")


def _check_domain(argument: str, value: str) -> str:
    if not isinstance(value, str) or not _DOMAIN.match(value):
        raise _fail(
            argument,
            value,
            "must be a lower-case DNS name with at least two labels and no trailing dot, e.g. example.org",
        )
    return value


def _check_host(argument: str, value: str) -> str:
    if not isinstance(value, str) or not _HOST.match(value):
        raise _fail(argument, value, "must be a lower-case host name with no trailing dot, e.g. mail.example.org")
    return value


def _check_email(argument: str, value: str) -> str:
    address = value.removeprefix("mailto:") if isinstance(value, str) else value
    if not isinstance(address, str) or not _EMAIL.match(address):
        raise _fail(argument, value, "must be an e-mail address such as hostmaster@example.org (mailto: optional)")
    return address


def _strings(argument: str, values: object) -> tuple[str, ...]:
    # A lone string is a sequence of characters; refusing it catches values="1.2.3.4" instead of ("1.2.3.4",).
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise _fail(argument, values, "must be a list or tuple of strings, e.g. ('192.0.2.1',)")
    items = tuple(values)
    if not all(isinstance(v, str) for v in items):
        raise _fail(argument, values, "must contain only strings")
    return items


def _check_ttl(argument: str, ttl: object) -> int:
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not MIN_TTL <= ttl <= MAX_TTL:
        raise _fail(argument, ttl, f"must be a whole number of seconds from {MIN_TTL} to {MAX_TTL} (one week)")
    return ttl


def txt_value(text: str) -> str:
    """``text`` as the AWS provider expects a TXT record value: split into 255-character strings.

    The provider wraps each value in one pair of double quotes before sending it to Route 53 and strips them
    when reading it back, so a long value is written as ``first255" "next255``: Route 53 then receives
    ``"first255" "next255"`` (several quoted character-strings, as RFC 1035 requires) and the value read
    back equals the declared one, so there is no perpetual diff.
    """
    chunks = [text[i : i + TXT_CHUNK] for i in range(0, len(text), TXT_CHUNK)]
    return '" "'.join(chunks)


def _check_txt(argument: str, text: str) -> str:
    if not text:
        raise _fail(argument, text, "must not be an empty string")
    if not _TXT_CHARS.match(text) or '"' in text or "\\" in text:
        raise _fail(
            argument,
            text,
            "must be printable ASCII without double quotes or backslashes; give the plain text, the component "
            "quotes it and splits it into 255-character strings itself",
        )
    rendered = txt_value(text)
    if len(rendered) + 2 > MAX_RECORD_VALUE:
        raise _fail(argument, f"{text[:40]}...", f"is longer than Route 53's {MAX_RECORD_VALUE}-character limit")
    if text.startswith("v=spf1") and not text.endswith(" -all"):
        raise _fail(
            argument,
            text,
            "an SPF record must end with ' -all' (hard fail); '~all', '?all' and '+all' let anyone send as the domain",
        )
    return text


def _check_value(argument: str, record_type: str, value: str) -> None:
    if record_type == "A":
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise _fail(argument, value, "an A record value must be an IPv4 address such as 192.0.2.10") from None
    elif record_type == "AAAA":
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            raise _fail(argument, value, "an AAAA record value must be an IPv6 address such as 2001:db8::10") from None
    elif record_type in ("CNAME", "NS"):
        _check_host(argument, value)
    elif record_type == "MX":
        parts = value.split(" ")
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) > 65535:
            raise _fail(
                argument, value, "an MX record value must be '<priority 0-65535> <host>', e.g. '10 mail.example.org'"
            )
        _check_host(argument, parts[1])
    elif record_type == "SRV":
        parts = value.split(" ")
        if len(parts) != 4 or not all(p.isdigit() and int(p) <= 65535 for p in parts[:3]):
            raise _fail(
                argument,
                value,
                "an SRV record value must be '<priority> <weight> <port> <target>', e.g. '10 5 5060 sip.example.org'",
            )
        _check_host(argument, parts[3])
    elif record_type == "CAA":
        if not _CAA_VALUE.match(value):
            raise _fail(
                argument,
                value,
                "a CAA record value must be '<flags 0|128> <issue|issuewild|iodef> \"<value>\"', "
                "e.g. '0 issue \"letsencrypt.org\"'",
            )
    elif record_type == "TXT":
        _check_txt(argument, value)


@dataclass(frozen=True)
class RecordSpec:
    """One record set to create in the zone.

    ``name`` is relative to the zone: ``"@"`` is the apex, ``"www"`` is ``www.<zone>``, ``"*"`` a wildcard.
    ``values`` are written the way the record type reads them (``"10 mail.example.org"`` for MX,
    ``'0 issue "letsencrypt.org"'`` for CAA, ``"10 5 5060 sip.example.org"`` for SRV); TXT values are plain
    text, which the component quotes and splits into 255-character strings. ``type`` is case-insensitive.
    """

    name: str
    type: str
    values: Sequence[str]
    ttl: int = DEFAULT_TTL

    def __post_init__(self) -> None:
        where = f"RecordSpec({self.name!r}, {self.type!r})"
        if not isinstance(self.name, str) or not (self.name == "@" or _RELATIVE_NAME.match(self.name)):
            raise _fail(
                "RecordSpec.name",
                self.name,
                "must be '@' for the zone apex or a lower-case name relative to the zone such as 'www' or '_dmarc'",
            )
        record_type = self.type.upper() if isinstance(self.type, str) else self.type
        if record_type not in RECORD_TYPES:
            raise _fail(f"{where}.type", self.type, "must be one of " + ", ".join(sorted(RECORD_TYPES)))
        object.__setattr__(self, "type", str(record_type))
        values = _strings(f"{where}.values", self.values)
        if not values:
            raise _fail(f"{where}.values", self.values, "must hold at least one value")
        if len(set(values)) != len(values):
            raise _fail(f"{where}.values", self.values, "must not repeat a value")
        object.__setattr__(self, "values", values)
        _check_ttl(f"{where}.ttl", self.ttl)
        for value in values:
            _check_value(f"{where}.values", self.type, value)
        if self.type in ("CNAME", "NS") and self.name == "@":
            raise _fail(
                f"{where}.name",
                self.name,
                f"a {self.type} record cannot be at the apex (Route 53 owns the apex NS; use A/AAAA there)",
            )
        if self.type == "CNAME" and len(values) != 1:
            raise _fail(f"{where}.values", self.values, "a CNAME record has exactly one target")

    @property
    def label(self) -> str:
        """A stable, readable fragment for the record's logical name (``apex``, ``www``, ``wildcard``)."""
        if self.name == "@":
            return "apex"
        return self.name.replace("*", "wildcard")


@dataclass(frozen=True)
class CaaPolicy:
    """Which certificate authorities may issue for the zone, and where CAs report refused requests.

    ``issuers`` become one ``0 issue "<ca>"`` value each; ``iodef`` (an e-mail address, ``mailto:``
    optional) adds ``0 iodef "mailto:<address>"``. Without ``iodef`` only issue values are written.
    """

    issuers: Sequence[str] = DEFAULT_CAA_ISSUERS
    iodef: str | None = None
    ttl: int = DEFAULT_TTL

    def __post_init__(self) -> None:
        issuers = _strings("CaaPolicy.issuers", self.issuers)
        if not issuers:
            raise _fail(
                "CaaPolicy.issuers",
                self.issuers,
                "must name at least one CA; to turn CAA off pass caa=None to DnsZoneArgs",
            )
        for issuer in issuers:
            _check_domain("CaaPolicy.issuers", issuer)
        if len(set(issuers)) != len(issuers):
            raise _fail("CaaPolicy.issuers", self.issuers, "must not repeat a CA")
        object.__setattr__(self, "issuers", issuers)
        if self.iodef is not None:
            _check_email("CaaPolicy.iodef", self.iodef)
        _check_ttl("CaaPolicy.ttl", self.ttl)

    def values(self) -> tuple[str, ...]:
        """The CAA record values, issue first."""
        values = [f'0 issue "{issuer}"' for issuer in self.issuers]
        if self.iodef is not None:
            values.append(f'0 iodef "mailto:{self.iodef.removeprefix("mailto:")}"')
        return tuple(values)


@dataclass(frozen=True)
class MxHost:
    """One mail exchanger: a host name and its priority (lower is preferred)."""

    host: str
    priority: int = 10

    def __post_init__(self) -> None:
        _check_host("MxHost.host", self.host)
        if isinstance(self.priority, bool) or not isinstance(self.priority, int) or not 0 <= self.priority <= 65535:
            raise _fail("MxHost.priority", self.priority, "must be a whole number from 0 to 65535")


@dataclass(frozen=True)
class DmarcPolicy:
    """A DMARC policy. The defaults are a strict, enforced policy: quarantine everything that fails.

    ``rua`` receives aggregate reports and ``ruf`` forensic reports (e-mail addresses, ``mailto:`` optional).
    """

    policy: str = "quarantine"
    pct: int = 100
    fo: str = "1"
    adkim: str = "s"
    aspf: str = "r"
    rua: Sequence[str] = ()
    ruf: Sequence[str] = ()
    subdomain_policy: str | None = None

    def __post_init__(self) -> None:
        if self.policy not in _DMARC_POLICIES:
            raise _fail("DmarcPolicy.policy", self.policy, "must be one of " + ", ".join(_DMARC_POLICIES))
        if self.subdomain_policy is not None and self.subdomain_policy not in _DMARC_POLICIES:
            raise _fail(
                "DmarcPolicy.subdomain_policy",
                self.subdomain_policy,
                "must be None or one of " + ", ".join(_DMARC_POLICIES),
            )
        if isinstance(self.pct, bool) or not isinstance(self.pct, int) or not 0 <= self.pct <= 100:
            raise _fail("DmarcPolicy.pct", self.pct, "must be a whole number from 0 to 100")
        if self.fo not in ("0", "1", "d", "s"):
            raise _fail("DmarcPolicy.fo", self.fo, "must be one of 0, 1, d, s")
        for key in ("adkim", "aspf"):
            if getattr(self, key) not in ("r", "s"):
                raise _fail(f"DmarcPolicy.{key}", getattr(self, key), "must be 'r' (relaxed) or 's' (strict)")
        for key in ("rua", "ruf"):
            addresses = _strings(f"DmarcPolicy.{key}", getattr(self, key))
            for address in addresses:
                _check_email(f"DmarcPolicy.{key}", address)
            object.__setattr__(self, key, addresses)

    def text(self) -> str:
        """The ``_dmarc`` TXT value, ``v=DMARC1`` and ``p=`` first as RFC 7489 requires."""
        tags = [f"v=DMARC1; p={self.policy}"]
        if self.subdomain_policy is not None:
            tags.append(f"sp={self.subdomain_policy}")
        tags += [f"pct={self.pct}", f"fo={self.fo}", f"adkim={self.adkim}", f"aspf={self.aspf}"]
        for key, addresses in (("rua", self.rua), ("ruf", self.ruf)):
            if addresses:
                tags.append(f"{key}=" + ",".join(f"mailto:{a.removeprefix('mailto:')}" for a in addresses))
        return "; ".join(tags)


@dataclass(frozen=True)
class MailSettings:
    """Mail for one domain of the zone: MX, SPF, DKIM and DMARC records.

    ``domain`` is the mail domain relative to the zone (``"@"`` for the apex). SPF always ends in ``-all``:
    ``spf_all`` exists only so that a caller who asks for ``~all`` or ``+all`` is told why not. ``dkim``
    maps each selector to its public key: either the bare base64 key (written as
    ``v=DKIM1; k=<dkim_key_type>; p=<key>``) or a complete ``v=DKIM1; ...`` record.
    """

    mx: Sequence[MxHost] = ()
    spf_includes: Sequence[str] = ()
    spf_ip4: Sequence[str] = ()
    spf_ip6: Sequence[str] = ()
    spf_mx: bool = True
    spf_all: str = "-all"
    dkim: Mapping[str, str] = field(default_factory=dict)
    dkim_key_type: str = "rsa"
    dmarc: DmarcPolicy = DmarcPolicy()
    domain: str = "@"
    ttl: int = DEFAULT_TTL

    def __post_init__(self) -> None:
        if self.domain != "@" and not _RELATIVE_NAME.match(self.domain):
            raise _fail(
                "MailSettings.domain", self.domain, "must be '@' or a name relative to the zone such as 'lists'"
            )
        if (
            isinstance(self.mx, str)
            or not isinstance(self.mx, Sequence)
            or not all(isinstance(m, MxHost) for m in self.mx)
        ):
            raise _fail("MailSettings.mx", self.mx, "must be a list of MxHost(host, priority)")
        object.__setattr__(self, "mx", tuple(self.mx))
        if len({m.host for m in self.mx}) != len(self.mx):
            raise _fail("MailSettings.mx", self.mx, "must not list a host twice")
        if self.spf_all != "-all":
            raise _fail(
                "MailSettings.spf_all",
                self.spf_all,
                "must be '-all': '~all' (soft fail) and '+all' (pass) let anyone send mail as this domain",
            )
        includes = _strings("MailSettings.spf_includes", self.spf_includes)
        for include in includes:
            if not _LOOKUP_NAME.match(include):
                raise _fail(
                    "MailSettings.spf_includes", include, "must be lower-case DNS names such as _spf.example.net"
                )
        object.__setattr__(self, "spf_includes", includes)
        for key, version in (("spf_ip4", 4), ("spf_ip6", 6)):
            networks = _strings(f"MailSettings.{key}", getattr(self, key))
            for network in networks:
                try:
                    parsed = ipaddress.ip_network(network, strict=True)
                except ValueError:
                    parsed = None
                if parsed is None or parsed.version != version:
                    raise _fail(
                        f"MailSettings.{key}",
                        network,
                        f"must be IPv{version} addresses or networks with no host bits set",
                    )
            object.__setattr__(self, key, networks)
        lookups = len(includes) + (1 if self.spf_mx and self.mx else 0)
        if lookups > SPF_LOOKUP_LIMIT:
            raise _fail(
                "MailSettings.spf_includes",
                includes,
                f"needs {lookups} DNS lookups; SPF allows at most {SPF_LOOKUP_LIMIT}",
            )
        if not isinstance(self.dkim, Mapping):
            raise _fail("MailSettings.dkim", self.dkim, "must map DKIM selectors to public keys")
        if self.dkim_key_type not in ("rsa", "ed25519"):
            raise _fail("MailSettings.dkim_key_type", self.dkim_key_type, "must be 'rsa' or 'ed25519'")
        for selector, key in self.dkim.items():
            if not isinstance(selector, str) or not _DKIM_SELECTOR.match(selector):
                raise _fail("MailSettings.dkim", selector, "selectors must be lower-case DNS labels such as 'mail2024'")
            if not isinstance(key, str) or not (key.startswith("v=DKIM1;") or _BASE64.match(key)):
                raise _fail(
                    f"MailSettings.dkim[{selector!r}]",
                    key,
                    "must be the base64 public key or a full 'v=DKIM1; k=rsa; p=...' record",
                )
        if not isinstance(self.dmarc, DmarcPolicy):
            raise _fail("MailSettings.dmarc", self.dmarc, "must be a DmarcPolicy")
        _check_ttl("MailSettings.ttl", self.ttl)

    def spf(self) -> str:
        """The SPF TXT value; always ``-all``."""
        terms = ["v=spf1"]
        if self.spf_mx and self.mx:
            terms.append("mx")
        terms += [f"ip4:{n}" for n in self.spf_ip4]
        terms += [f"ip6:{n}" for n in self.spf_ip6]
        terms += [f"include:{d}" for d in self.spf_includes]
        terms.append("-all")
        return " ".join(terms)

    def _at(self, name: str) -> str:
        return name if self.domain == "@" else f"{name}.{self.domain}"

    def records(self) -> tuple[RecordSpec, ...]:
        """The record sets these settings stand for."""
        specs: list[RecordSpec] = []
        if self.mx:
            mx_values = tuple(f"{m.priority} {m.host}" for m in sorted(self.mx, key=lambda m: (m.priority, m.host)))
            specs.append(RecordSpec(self.domain, "MX", mx_values, self.ttl))
        specs.append(RecordSpec(self.domain, "TXT", (self.spf(),), self.ttl))
        for selector, key in sorted(self.dkim.items()):
            text = key if key.startswith("v=DKIM1;") else f"v=DKIM1; k={self.dkim_key_type}; p={key}"
            specs.append(RecordSpec(self._at(f"{selector}._domainkey"), "TXT", (text,), self.ttl))
        specs.append(RecordSpec(self._at("_dmarc"), "TXT", (self.dmarc.text(),), self.ttl))
        return tuple(specs)


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
    - ``protect``: protect and retain on delete the zone, its delegation set and its DNSSEC key material.
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

    def __post_init__(self) -> None:
        _check_domain("DnsZoneArgs.domain", self.domain)
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
            tags=dict(args.tags) or None,
            opts=stateful,
        )
        self.zone_id = self.zone.zone_id
        self.name_servers = self.zone.name_servers

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

    @property
    def ref(self) -> ZoneRef:
        """The zone as a :class:`~components.common.ZoneRef`, for components that add records to it."""
        return ZoneRef(self.name, self.zone_id)
