"""Mail authentication for a domain of a zone: MX, SPF, DKIM and DMARC.

Split from :mod:`components.dns_zone`, which re-exports every public name here. Two shapes of domain:

- one that sends mail: its MX hosts, the senders its SPF record names, DKIM keys and an enforcing DMARC
  policy (:class:`MailSettings`);
- one that sends none: ``v=spf1 -all`` and DMARC ``p=reject`` (:meth:`MailSettings.no_mail`), so no
  receiver that checks either accepts mail in its name.

DMARC records follow DMARCbis (draft-ietf-dmarc-dmarcbis, published as RFC 9989), which obsoletes RFC 7489:
its "pct", "rf" and "ri" tags are gone, so :class:`DmarcPolicy` cannot write them; its "np" (policy for
subdomains that do not exist) and "t" (test mode, what ``pct=0`` used to be for) are available.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from components.common import invalid as _fail
from components.dns_records import (
    _BASE64,
    _DKIM_SELECTOR,
    _LOOKUP_NAME,
    _RELATIVE_NAME,
    DEFAULT_TTL,
    RecordSpec,
    _check_email,
    _check_host,
    _check_ttl,
    _strings,
)

# RFC 7208 4.6.4: an SPF record that needs more than 10 DNS lookups fails for every receiver. Each include,
# a and mx term costs one; ip4 and ip6 cost none. Lookups inside included records count too, and cannot be
# counted here without querying them.
SPF_LOOKUP_LIMIT: Final = 10
DMARC_POLICIES: Final = ("none", "quarantine", "reject")


@dataclass(frozen=True)
class MxHost:
    """One mail exchanger: a host name and its priority (lower is preferred)."""

    host: str
    priority: int = 10

    def __post_init__(self) -> None:
        _check_host("MxHost.host", self.host)
        if isinstance(self.priority, bool) or not isinstance(self.priority, int) or not 0 <= self.priority <= 65535:
            raise _fail("MxHost.priority", self.priority, "must be a whole number from 0 to 65535")


def _check_policy(argument: str, value: str | None, *, optional: bool) -> None:
    if value is None and optional:
        return
    if value not in DMARC_POLICIES:
        allowed = ", ".join(DMARC_POLICIES)
        raise _fail(argument, value, f"must be {'None or ' if optional else ''}one of {allowed}")


@dataclass(frozen=True)
class DmarcPolicy:
    """A DMARC policy record, in DMARCbis terms. The defaults are strict and enforced: quarantine failures.

    - ``policy`` (``p``) applies to the domain and, unless overridden, its subdomains;
      ``subdomain_policy`` (``sp``) to subdomains that exist; ``non_existent_policy`` (``np``) to
      subdomains that do not exist in the DNS, which no legitimate mail can come from.
    - ``testing`` (``t=y``) asks receivers to apply one level less than the policy while a domain owner
      watches the reports: DMARCbis's replacement for ``pct=0``. Receivers that only know RFC 7489
      ignore the tag and apply the policy.
    - ``rua`` receives aggregate reports and ``ruf`` failure reports (e-mail addresses, ``mailto:``
      optional). An address outside the domain is honoured only when that other domain publishes an
      authorisation record (``<domain>._report._dmarc.<other>``), so prefer addresses in the domain.

    There is no ``pct``, ``rf`` or ``ri``: DMARCbis removed them.
    """

    policy: str = "quarantine"
    fo: str = "1"
    adkim: str = "s"
    aspf: str = "r"
    rua: Sequence[str] = ()
    ruf: Sequence[str] = ()
    subdomain_policy: str | None = None
    non_existent_policy: str | None = None
    testing: bool = False

    def __post_init__(self) -> None:
        _check_policy("DmarcPolicy.policy", self.policy, optional=False)
        _check_policy("DmarcPolicy.subdomain_policy", self.subdomain_policy, optional=True)
        _check_policy("DmarcPolicy.non_existent_policy", self.non_existent_policy, optional=True)
        if not isinstance(self.testing, bool):
            raise _fail("DmarcPolicy.testing", self.testing, "must be True or False")
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

    @property
    def enforcing(self) -> bool:
        """True when failing mail is quarantined or rejected (and not merely tested)."""
        return self.policy != "none" and not self.testing

    def text(self) -> str:
        """The ``_dmarc`` TXT value.

        ``v=DMARC1`` comes first, as both specifications require; ``p=`` right after it, which DMARCbis no
        longer requires but RFC 7489 receivers still expect.
        """
        tags = [f"v=DMARC1; p={self.policy}"]
        if self.subdomain_policy is not None:
            tags.append(f"sp={self.subdomain_policy}")
        if self.non_existent_policy is not None:
            tags.append(f"np={self.non_existent_policy}")
        tags += [f"fo={self.fo}", f"adkim={self.adkim}", f"aspf={self.aspf}"]
        if self.testing:
            tags.append("t=y")
        for key, addresses in (("rua", self.rua), ("ruf", self.ruf)):
            if addresses:
                tags.append(f"{key}=" + ",".join(f"mailto:{a.removeprefix('mailto:')}" for a in addresses))
        return "; ".join(tags)


@dataclass(frozen=True)
class MailSettings:
    """Mail for one domain of the zone: MX, SPF, DKIM and DMARC records.

    ``domain`` is the mail domain relative to the zone (``"@"`` for the apex). SPF always ends in ``-all``:
    ``spf_all`` exists only so that a caller who asks for ``~all`` or ``+all`` is told why not. The SPF
    record names the MX hosts (``spf_mx``), hosts by name (``spf_a``, an ``a:`` term each), networks
    (``spf_ip4``, ``spf_ip6``) and other domains' SPF records (``spf_includes``). ``dkim`` maps each
    selector to its public key: either the bare base64 key (written as ``v=DKIM1; k=<dkim_key_type>;
    p=<key>``) or a complete ``v=DKIM1; ...`` record. A domain that sends no mail: :meth:`no_mail`.
    """

    mx: Sequence[MxHost] = ()
    spf_includes: Sequence[str] = ()
    spf_a: Sequence[str] = ()
    spf_ip4: Sequence[str] = ()
    spf_ip6: Sequence[str] = ()
    spf_mx: bool = True
    spf_all: str = "-all"
    dkim: Mapping[str, str] = field(default_factory=dict)
    dkim_key_type: str = "rsa"
    dmarc: DmarcPolicy = DmarcPolicy()
    domain: str = "@"
    ttl: int = DEFAULT_TTL

    @classmethod
    def no_mail(
        cls, *, rua: Sequence[str] = (), subdomain_policy: str | None = None, domain: str = "@"
    ) -> MailSettings:
        """A domain that sends no mail: ``v=spf1 -all`` and DMARC ``p=reject`` (and ``np=reject``).

        ``subdomain_policy`` relaxes the policy for subdomains that exist and send mail this zone cannot
        authenticate (``"none"``), while mail from subdomains that do not exist stays rejected.
        """
        return cls(
            spf_mx=False,
            dmarc=DmarcPolicy(
                policy="reject", subdomain_policy=subdomain_policy, non_existent_policy="reject", rua=rua
            ),
            domain=domain,
        )

    @property
    def sends_mail(self) -> bool:
        """True when the SPF record authorises any sender at all."""
        return bool((self.spf_mx and self.mx) or self.spf_includes or self.spf_a or self.spf_ip4 or self.spf_ip6)

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
        hosts = _strings("MailSettings.spf_a", self.spf_a)
        for host in hosts:
            _check_host("MailSettings.spf_a", host)
        object.__setattr__(self, "spf_a", hosts)
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
        lookups = len(includes) + len(hosts) + (1 if self.spf_mx and self.mx else 0)
        if lookups > SPF_LOOKUP_LIMIT:
            raise _fail(
                "MailSettings.spf_includes",
                (*includes, *hosts),
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
        """The SPF TXT value; always ``-all``, so a domain that names no sender reads ``v=spf1 -all``."""
        terms = ["v=spf1"]
        if self.spf_mx and self.mx:
            terms.append("mx")
        terms += [f"a:{h}" for h in self.spf_a]
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
