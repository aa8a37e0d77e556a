"""DNS checks: records at every authoritative server, delegation, DNSSEC's chain of trust, MX, SPF and DMARC.

Every query here is non-recursive and goes to the server that should know: a zone's own name servers (from the
stack outputs) for its records, the parent zone's servers for the delegation and the DS record. A resolver is
used only to find servers outside the stack (the parent of ``python.org`` is ``org``, whose servers come from
the resolver unless ``--zone-ns org=...`` names them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.RRSIG import RRSIG
from dns.rdtypes.ANY.TXT import TXT

from verify.expect import Expectations, RecordSet, Zone
from verify.mailauth import dmarc_problems, spf_problems
from verify.net import Network, NetworkError, absolute, rcode_text
from verify.report import Check, Outcome, failed, passed

# IANA's root zone trust anchors (KSK-2017 and KSK-2024), as Debian's dns-root-data ships them in root.ds.
ROOT_TRUST_ANCHORS: Final = {
    ".": (
        "20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
        "38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
    )
}
IN: Final = dns.rdataclass.IN


@dataclass(frozen=True)
class DnsOptions:
    """Where to find zones outside the stack, and what DNSSEC trusts.

    ``zone_ns``: zone -> name servers, overriding both the stack outputs and lookups. ``trust_anchors``:
    zone -> DS rdata texts, where chains of trust start (default: the root's).
    """

    zone_ns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    trust_anchors: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(ROOT_TRUST_ANCHORS))


class DnsCheckError(Exception):
    """A DNS check found something wrong; the message says what and at which server."""


def zone_key(name: str) -> str:
    """A zone name as the checks key it: lower case, no trailing dot; the root is ``.``."""
    name = name.strip().lower().rstrip(".")
    return name or "."


def parent_name(name: str) -> str:
    """The name one label up (``org`` for ``python.org``, ``.`` for ``org``)."""
    return zone_key(name.partition(".")[2]) if "." in name else "."


class DnsChecks:
    """The DNS rows of a run, sharing one :class:`~verify.net.Network` and its memo."""

    def __init__(self, net: Network, expected: Expectations, options: DnsOptions) -> None:
        self.net = net
        self.expected = expected
        self.options = options
        self.anchors = {zone_key(z): v for z, v in options.trust_anchors.items()}
        self.zone_ns = {zone_key(z): v for z, v in options.zone_ns.items()}

    # --- where zones live --------------------------------------------------------------------------------------

    def servers(self, zone: str) -> tuple[str, ...]:
        """The authoritative servers of ``zone``: --zone-ns, else the stack outputs, else a lookup."""
        zone = zone_key(zone)
        if zone in self.zone_ns:
            return self.zone_ns[zone]
        recorded = self.expected.zone(zone)
        if recorded is not None:
            if not recorded.name_servers:
                raise DnsCheckError(f"the stack outputs list no name servers for {zone}")
            return recorded.name_servers
        if not self.net.has_resolver:
            raise DnsCheckError(f"no name servers known for {zone}: give --zone-ns {zone}=NS[,NS...] or a resolver")
        try:
            found = tuple(zone_key(n) for n in self.net.lookup(zone if zone != "." else ".", "NS"))
        except NetworkError as exc:
            raise DnsCheckError(f"cannot find the name servers of {zone}: {exc}") from None
        if not found:
            raise DnsCheckError(f"{zone} has no NS records")
        return found

    def parent(self, zone: str) -> str:
        """The zone that delegates ``zone``: the nearest enclosing zone known here, or found by the resolver."""
        known = set(self.zone_ns) | {z.name for z in self.expected.zones} | set(self.anchors)
        candidate = parent_name(zone_key(zone))
        while True:
            if candidate in known:
                return candidate
            if self.net.has_resolver:
                return self.net.zone_for_name(candidate)
            if candidate == ".":
                raise DnsCheckError(f"cannot find the parent zone of {zone}: give --zone-ns or a resolver")
            candidate = parent_name(candidate)

    def ask(self, server: str, qname: str, rdtype: str, *, dnssec: bool = False) -> dns.message.Message:
        """One authoritative query; a network error becomes a :class:`DnsCheckError` naming the server."""
        try:
            response, _ = self.net.dns(server, qname, rdtype, dnssec=dnssec)
        except NetworkError as exc:
            raise DnsCheckError(f"{server}: {exc}") from None
        return response

    def ask_any(self, zone: str, qname: str, rdtype: str, *, dnssec: bool = False) -> tuple[str, dns.message.Message]:
        """The first of ``zone``'s servers that answers authoritatively, and its answer."""
        errors: list[str] = []
        for server in self.servers(zone):
            try:
                response = self.ask(server, qname, rdtype, dnssec=dnssec)
            except DnsCheckError as exc:
                errors.append(str(exc))
                continue
            if response.flags & dns.flags.AA:
                return server, response
            errors.append(f"{server}: not authoritative for {zone} ({rcode_text(response)})")
        raise DnsCheckError("; ".join(errors) or f"no servers for {zone}")

    # --- rows --------------------------------------------------------------------------------------------------

    def checks(self) -> list[Check]:
        """Every DNS row: per zone delegation and DNSSEC, per record set its answers, then MX, SPF, DMARC."""
        rows: list[Check] = []
        for zone in self.expected.zones:
            rows.append(Check("dns", zone.name, "delegation", _guard(lambda z=zone: self.delegation(z))))
            if zone.signed:
                rows.append(Check("dns", zone.name, "dnssec", _guard(lambda z=zone: self.dnssec(z))))
        for record in self.expected.records:
            rows.append(Check("dns", record.name, f"record {record.type}", _guard(lambda r=record: self.record(r))))
            if record.type == "MX":
                rows.append(Check("dns", record.name, "mx", _guard(lambda r=record: self.mx(r))))
            elif record.type == "TXT" and any("v=spf1" in v for v in record.values):
                rows.append(Check("dns", record.name, "spf", _guard(lambda r=record: self.txt_policy(r, "v=spf1"))))
            elif record.type == "TXT" and any("v=DMARC1" in v for v in record.values):
                rows.append(Check("dns", record.name, "dmarc", _guard(lambda r=record: self.txt_policy(r, "v=DMARC1"))))
        return rows

    def record(self, record: RecordSet) -> Outcome:
        """The record set answers as declared (values, TTL, signature where signed) at each of its zone's servers."""
        zone = self.expected.zone(record.zone)
        assert zone is not None
        rdtype = dns.rdatatype.from_text(record.type)
        name = absolute(record.name)
        try:
            expected = {
                dns.rdata.from_text(IN, rdtype, v, origin=dns.name.root, relativize=False) for v in record.values
            }
        except dns.exception.DNSException as exc:
            return failed(f"the declared value does not parse as {record.type}: {exc}")
        problems: list[str] = []
        servers = self.servers(zone.name)
        served: set[str] = set()
        for server in servers:
            try:
                response = self.ask(server, record.name, record.type, dnssec=zone.signed)
            except DnsCheckError as exc:
                problems.append(str(exc))
                continue
            rrset = response.get_rrset(response.answer, name, IN, rdtype)
            if not response.flags & dns.flags.AA:
                problems.append(f"{server}: not authoritative ({rcode_text(response)})")
                continue
            if rrset is None:
                what = "no such name (NXDOMAIN)" if rcode_text(response) == "NXDOMAIN" else f"no {record.type} record"
                problems.append(f"{server}: {what}")
                continue
            got = set(rrset)
            served.update(r.to_text() for r in got)
            if expected and got != expected:
                missing = sorted(r.to_text() for r in expected - got)
                extra = sorted(r.to_text() for r in got - expected)
                parts = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else [])
                problems.append(f"{server}: " + ", ".join(parts))
            if record.ttl is not None and rrset.ttl != record.ttl:
                problems.append(f"{server}: TTL {rrset.ttl}, declared {record.ttl}")
            if zone.signed:
                try:
                    self._verify_signature(server, zone, response, rrset)
                except DnsCheckError as exc:
                    problems.append(f"{server}: {exc}")
        if problems:
            return failed("; ".join(problems))
        shown = ", ".join(sorted(served))
        note = f" ({record.note})" if record.note else ""
        return passed(f"{len(servers)} servers: {shown}{note}")

    def _verify_signature(self, server: str, zone: Zone, response: dns.message.Message, rrset: dns.rrset.RRset) -> None:
        sigs = response.get_rrset(response.answer, rrset.name, IN, dns.rdatatype.RRSIG, rrset.rdtype)
        if sigs is None:
            raise DnsCheckError(f"no RRSIG for {rrset.rdtype.name} in a signed zone")
        keys_response = self.ask(server, zone.name, "DNSKEY", dnssec=True)
        keys = keys_response.get_rrset(keys_response.answer, absolute(zone.name), IN, dns.rdatatype.DNSKEY)
        if keys is None:
            raise DnsCheckError(f"no DNSKEY for {zone.name}")
        _validate(rrset, sigs, absolute(zone.name), keys, f"{rrset.rdtype.name} signature")

    def delegation(self, zone: Zone) -> Outcome:
        """The parent delegates to exactly the stack's name servers, and every one of them answers for the zone."""
        if not zone.name_servers:
            return failed(f"the stack outputs list no name servers for {zone.name}")
        expected = set(zone.name_servers)
        parent = self.parent(zone.name)
        problems: list[str] = []
        delegated: set[str] = set()
        for server in self.servers(parent):
            try:
                response = self.ask(server, zone.name, "NS")
            except DnsCheckError as exc:
                problems.append(f"parent {exc}")
                continue
            ns = response.get_rrset(
                response.authority, absolute(zone.name), IN, dns.rdatatype.NS
            ) or response.get_rrset(response.answer, absolute(zone.name), IN, dns.rdatatype.NS)
            if ns is None:
                problems.append(
                    f"parent {parent} server {server} does not delegate {zone.name} ({rcode_text(response)})"
                )
                continue
            names = {zone_key(r.to_text()) for r in ns}
            delegated |= names
            if names != expected:
                problems.append(
                    f"parent {parent} server {server} delegates to {sorted(names)}, the stack says {sorted(expected)}"
                )
        for server in sorted(expected | delegated):
            try:
                response = self.ask(server, zone.name, "SOA")
            except DnsCheckError as exc:
                problems.append(f"lame: {exc}")
                continue
            soa = response.get_rrset(response.answer, absolute(zone.name), IN, dns.rdatatype.SOA)
            if rcode_text(response) != "NOERROR" or not response.flags & dns.flags.AA or soa is None:
                problems.append(
                    f"lame: {server} does not answer authoritatively for {zone.name} ({rcode_text(response)})"
                )
                continue
            if server in expected:
                apex = self.ask(server, zone.name, "NS")
                ns = apex.get_rrset(apex.answer, absolute(zone.name), IN, dns.rdatatype.NS)
                names = {zone_key(r.to_text()) for r in ns} if ns is not None else set()
                if names != expected:
                    problems.append(f"{server}: apex NS {sorted(names)}, the stack says {sorted(expected)}")
        if problems:
            return failed("; ".join(problems))
        return passed(f"{parent} delegates to {', '.join(sorted(expected))}; all answer authoritatively")

    def dnssec(self, zone: Zone) -> Outcome:
        """A chain of trust from a trust anchor down to the zone's DNSKEY, at every one of its servers."""
        chain = [zone.name]
        while chain[-1] not in self.anchors:
            if chain[-1] == ".":
                return failed("no trust anchor above the zone (see --trust-anchor)")
            chain.append(self.parent(chain[-1]))
        chain.reverse()
        trusted = _ds_rrset(chain[0], self.anchors[chain[0]])
        for i, current in enumerate(chain):
            last = i == len(chain) - 1
            servers = self.servers(current) if last else (self.ask_any(current, current, "SOA")[0],)
            for server in servers:
                self._trusted_keys(server, current, trusted)
            if last:
                break
            child = chain[i + 1]
            server, response = self.ask_any(current, child, "DS", dnssec=True)
            ds = response.get_rrset(response.answer, absolute(child), IN, dns.rdatatype.DS)
            if ds is None:
                return failed(f"{current} publishes no DS for {child} ({server}): the chain of trust is broken")
            sigs = response.get_rrset(response.answer, absolute(child), IN, dns.rdatatype.RRSIG, dns.rdatatype.DS)
            keys = self._trusted_keys(server, current, trusted)
            _validate(ds, sigs, absolute(current), keys, f"DS {child} at {server}")
            trusted = ds
        tags = ", ".join(str(r.key_tag) for r in trusted if isinstance(r, DS))
        return passed(
            f"chain {' -> '.join(chain)} validates at {len(self.servers(zone.name))} servers (DS key tags {tags})"
        )

    def _trusted_keys(self, server: str, zone: str, trusted: dns.rrset.RRset) -> dns.rrset.RRset:
        response = self.ask(server, zone, "DNSKEY", dnssec=True)
        name = absolute(zone)
        keys = response.get_rrset(response.answer, name, IN, dns.rdatatype.DNSKEY)
        if keys is None:
            raise DnsCheckError(f"{server}: no DNSKEY for {zone}")
        anchored = [k for k in keys if any(_matches(name, k, ds) for ds in trusted if isinstance(ds, DS))]
        if not anchored:
            raise DnsCheckError(f"{server}: no DNSKEY of {zone} matches its DS (key tags {_tags(trusted)})")
        sigs = response.get_rrset(response.answer, name, IN, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY)
        _validate(keys, sigs, name, dns.rrset.from_rdata_list(name, keys.ttl, anchored), f"DNSKEY {zone} at {server}")
        return keys

    def mx(self, record: RecordSet) -> Outcome:
        """The MX set parses and every exchange is a host name with an address."""
        server, response = self.ask_any(record.zone, record.name, "MX")
        rrset = response.get_rrset(response.answer, absolute(record.name), IN, dns.rdatatype.MX)
        if rrset is None:
            return failed(f"{server}: no MX record")
        exchanges = [r for r in rrset if isinstance(r, MX)]
        if any(r.exchange == dns.name.root for r in exchanges) and len(exchanges) > 1:
            return failed("a null MX ('.') must be the only MX (RFC 7505)")
        problems: list[str] = []
        for mx in exchanges:
            host = zone_key(mx.exchange.to_text())
            if host == ".":
                continue
            try:
                addresses = self._addresses(host)
            except DnsCheckError as exc:
                problems.append(f"{host}: {exc}")
                continue
            if not addresses:
                problems.append(f"exchange {host} has no A or AAAA record")
        if problems:
            return failed("; ".join(problems))
        return passed(", ".join(f"{r.preference} {zone_key(r.exchange.to_text())}" for r in exchanges))

    def _addresses(self, host: str) -> list[str]:
        """``host``'s A and AAAA records: from its zone's servers when the zone is in the stack, else a lookup."""
        zone = self.expected.zone_of(host)
        if zone is None:
            try:
                return self.net.lookup(host, "A") + self.net.lookup(host, "AAAA")
            except NetworkError as exc:
                raise DnsCheckError(str(exc)) from None
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            _, response = self.ask_any(zone.name, host, rdtype)
            rrset = response.get_rrset(response.answer, absolute(host), IN, dns.rdatatype.from_text(rdtype))
            found += [r.to_text() for r in rrset or ()]
        return found

    def txt_policy(self, record: RecordSet, prefix: str) -> Outcome:
        """Exactly one published TXT at the name starts with ``prefix``, and it parses (SPF or DMARC)."""
        server, response = self.ask_any(record.zone, record.name, "TXT")
        rrset = response.get_rrset(response.answer, absolute(record.name), IN, dns.rdatatype.TXT)
        texts = [b"".join(r.strings).decode("ascii", "replace") for r in rrset or () if isinstance(r, TXT)]
        matching = [t for t in texts if t.lower().startswith(prefix.lower())]
        if len(matching) != 1:
            return failed(f"{server}: {len(matching)} TXT records start with {prefix}; exactly one must")
        problems = spf_problems(matching[0]) if prefix == "v=spf1" else dmarc_problems(matching[0])
        return failed("; ".join(problems)) if problems else passed(matching[0])


def _guard(run: Callable[[], Outcome]) -> Callable[[], Outcome]:
    """A DNS row whose :class:`DnsCheckError` becomes a failed outcome with its message."""

    def guarded() -> Outcome:
        try:
            return run()
        except DnsCheckError as exc:
            return failed(str(exc))

    return guarded


def _ds_rrset(zone: str, texts: Sequence[str]) -> dns.rrset.RRset:
    name = absolute(zone) if zone != "." else dns.name.root
    return dns.rrset.from_text_list(name, 3600, IN, dns.rdatatype.DS, list(texts))


def _matches(name: dns.name.Name, key: dns.rdata.Rdata, ds: DS) -> bool:
    if dns.dnssec.key_id(key) != ds.key_tag:  # type: ignore[arg-type]
        return False
    try:
        return dns.dnssec.make_ds(name, key, ds.digest_type, validating=True) == ds
    except dns.exception.DNSException:
        return False


def _tags(rrset: dns.rrset.RRset) -> str:
    return ", ".join(str(r.key_tag) for r in rrset if isinstance(r, DS)) or "none"


def _validate(
    rrset: dns.rrset.RRset,
    sigs: dns.rrset.RRset | None,
    zone: dns.name.Name,
    keys: dns.rrset.RRset,
    what: str,
) -> None:
    """Pass when one RRSIG over ``rrset`` validates with ``keys``; else raise with each signature's reason."""
    if sigs is None:
        raise DnsCheckError(f"{what}: not signed")
    reasons: list[str] = []
    for sig in sigs:
        if not isinstance(sig, RRSIG):
            continue
        try:
            dns.dnssec.validate_rrsig(rrset, sig, {zone: keys})
        except (dns.exception.ValidationFailure, dns.exception.UnsupportedAlgorithm) as exc:
            reasons.append(f"key {sig.key_tag}: {exc}")
            continue
        return
    raise DnsCheckError(f"{what}: signature invalid ({'; '.join(reasons) or 'no RRSIG'})")
