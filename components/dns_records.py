"""Route 53 record declarations: the record types, TTLs, value checks and CAA that every zone shares.

Split from :mod:`components.dns_zone`, which re-exports the public names, so zones and the mail
authentication in :mod:`components.dns_mail` validate values the same way.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from components.common import invalid as _fail

RECORD_TYPES: Final = frozenset({"A", "AAAA", "CNAME", "MX", "TXT", "CAA", "SRV", "NS"})
DEFAULT_TTL: Final = 3600
MIN_TTL: Final = 30
MAX_TTL: Final = 604_800

# Amazon (ACM), Let's Encrypt (automated renewal) and GlobalSign (CDN-managed certificates): what a site
# behind AWS and a CDN actually needs; anything else must be named by the caller.
DEFAULT_CAA_ISSUERS: Final = ("amazon.com", "letsencrypt.org", "globalsign.com")

# One DNS character-string holds at most 255 bytes (RFC 1035 3.3); Route 53 refuses longer TXT strings.
TXT_CHUNK: Final = 255
# Route 53's limit on one resource record value, quotes and separators included.
MAX_RECORD_VALUE: Final = 4000

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
