"""What a deployed stack must do, read from the program's own recording of it and from the stack's outputs.

The recording says what the program asked for: every Route 53 record, every zone and whether it is signed,
every Fastly service's domains and the HSTS header it sets, the status each Datadog synthetic expects, the
droplets and their firewalls. It was made under mocks, so values the providers compute (droplet addresses,
the name servers Route 53 assigns) are mock values there; the real ones come from the stack's outputs.

Each resource type is read by one extractor registered with :func:`extracts`. A new kind of resource that
carries an expectation (a Fastly TLS subscription, a Datadog SSL test, an ACME challenge record) needs only an
extractor here; the checks read the resulting :class:`Expectations` and never look at resource types.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final
from urllib.parse import urlsplit

from offline.recorder import Record, Recording

DEFAULT_MIN_DAYS: Final = 14
# The stack output holding the DNS targets the program read from Fastly's TLS configuration (stacks/tls.py
# TLS_OUTPUT): the recording has the mock's, the deployed stack the real ones.
TLS_OUTPUT: Final = "fastly_tls"
TLS_TARGET_KEYS: Final = ("cname", "apex_ipv4", "apex_ipv6")
# An SSL test tagged this way warns early; the alert test's threshold is what a certificate must meet.
WARNING_TAG: Final = "certificate-check:warning"
# The ports an origin serves Fastly on; from anywhere else they must be closed.
ORIGIN_PORTS: Final = (80, 443)
WORLD: Final = frozenset({"0.0.0.0/0", "::/0"})
# Fastly TLS subscriptions name their CA by a short key; the issuer's organisation in the certificate.
CERTIFICATE_AUTHORITIES: Final = {"lets-encrypt": "Let's Encrypt", "globalsign": "GlobalSign", "certainly": "Certainly"}
_VCL_STRING: Final = re.compile(r'^"([^"\\]*)"$')


@dataclass(frozen=True)
class Zone:
    """A hosted zone: its name, the name servers the stack reports for it, and whether it is signed."""

    name: str
    name_servers: tuple[str, ...]
    signed: bool
    source: str


@dataclass(frozen=True)
class RecordSet:
    """One record set as declared. ``values`` are presentation-format rdata; empty means "any answer".

    ``values`` is empty (and ``note`` says why) when the value is known only after a deployment and the
    stack's outputs do not report it, or when an alias or routing policy makes the answer vary.
    """

    zone: str
    name: str
    type: str
    ttl: int | None
    values: tuple[str, ...]
    source: str
    note: str = ""


@dataclass(frozen=True)
class WebHost:
    """A public host name served over HTTPS: who fronts it and what it must answer."""

    host: str
    service: str | None = None
    hsts: str | None = None
    redirects_to_https: bool = False
    statuses: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Certificate:
    """A certificate a host must present on a port: valid for ``host``, more than ``min_days`` left."""

    host: str
    port: int = 443
    min_days: int = DEFAULT_MIN_DAYS
    issuer: str | None = None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class OriginUse:
    """A Fastly service that uses a droplet as a backend, and the certificate name Fastly checks there."""

    service: str
    host_header: str
    tls_name: str


@dataclass(frozen=True)
class Droplet:
    """A droplet's public addresses and which of the origin ports its firewall opens to the whole internet."""

    host: str
    source: str
    ipv4: str | None
    ipv6: str | None
    world_ports: frozenset[int] = frozenset()
    origin_of: tuple[OriginUse, ...] = ()


@dataclass(frozen=True)
class MailHost:
    """A host named by an MX record, which must answer SMTP on port 25."""

    host: str
    zones: tuple[str, ...]


@dataclass(frozen=True)
class Expectations:
    """Everything :mod:`verify` checks for one stack.

    ``problems`` are (host, message) pairs for values the checks need that the stack outputs lack (each fails
    the run); ``notes`` are (host, message) pairs for declarations the checks cannot cover (each is skipped).
    """

    stack: str
    zones: tuple[Zone, ...]
    records: tuple[RecordSet, ...]
    web: tuple[WebHost, ...]
    certificates: tuple[Certificate, ...]
    droplets: tuple[Droplet, ...]
    mail: tuple[MailHost, ...]
    problems: tuple[tuple[str, str], ...] = ()
    notes: tuple[tuple[str, str], ...] = ()

    def zone(self, name: str) -> Zone | None:
        """The recorded zone called ``name``, if any."""
        return next((z for z in self.zones if z.name == name), None)

    def zone_of(self, host: str) -> Zone | None:
        """The recorded zone holding ``host`` (the longest matching zone name), if any."""
        matches = [z for z in self.zones if host == z.name or host.endswith("." + z.name)]
        return max(matches, key=lambda z: len(z.name), default=None)


def _name(value: object) -> str:
    return str(value).strip().rstrip(".").lower()


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def _leaves(value: object) -> Iterable[str]:
    """Every string inside ``value``, however deeply nested in lists and maps."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass
class Builder:
    """Collects expectations while the extractors walk the recording; :meth:`build` freezes them."""

    recording: Recording
    outputs: Mapping[str, Any]
    min_days: int = DEFAULT_MIN_DAYS
    zones_by_id: dict[str, Zone] = field(default_factory=dict)
    records: list[RecordSet] = field(default_factory=list)
    web: dict[str, WebHost] = field(default_factory=dict)
    certificates: dict[tuple[str, int], Certificate] = field(default_factory=dict)
    droplets: dict[str, Droplet] = field(default_factory=dict)
    droplet_ids: dict[str, str] = field(default_factory=dict)
    mail: dict[str, set[str]] = field(default_factory=dict)
    origin_uses: dict[str, list[OriginUse]] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Computed values in the recording are mock values; map each back to what it stands for.
        self.mock_addresses: dict[str, tuple[str, str]] = {}
        self.computed: set[str] = set()
        hosts_by_id: dict[str, str] = {}
        for record in self.recording.resources:
            for key, value in record.outputs.items():
                if key not in record.inputs:
                    # Nested too: an ACME challenge record's value sits inside a subscription's
                    # managed_dns_challenges.
                    self.computed.update(_leaves(value))
            if record.type == "digitalocean:index/droplet:Droplet":
                host = _name(record.inputs.get("name", record.name))
                hosts_by_id[str(record.id)] = host
                for key, family in (("ipv4Address", "ipv4"), ("ipv6Address", "ipv6")):
                    mock = record.outputs.get(key)
                    if isinstance(mock, str):
                        self.mock_addresses[mock] = (host, family)
        # A reserved address stands for its droplet: public names and Fastly use it; droplet_addresses has it.
        for record in self.recording.resources:
            if record.type == "digitalocean:index/reservedIpAssignment:ReservedIpAssignment":
                droplet_id = record.inputs.get("dropletId")
                key = str(int(droplet_id)) if isinstance(droplet_id, (int, float)) else str(droplet_id)
                address = record.inputs.get("ipAddress")
                if isinstance(address, str) and key in hosts_by_id:
                    self.mock_addresses[address] = (hosts_by_id[key], "reserved_ipv4")
        addresses = self.outputs.get("droplet_addresses")
        self.addresses: Mapping[str, Any] = addresses if isinstance(addresses, Mapping) else {}
        self._missing: set[tuple[str, str]] = set()
        # Values read from a data source under mocks (Fastly's DNS targets) mapped to the deployed ones.
        self.read_values: dict[frozenset[str], tuple[str, ...] | None] = {}
        recorded = _map(_map(self.recording.stack_outputs.get(TLS_OUTPUT)).get("dns_target"))
        deployed = _map(_map(self.outputs.get(TLS_OUTPUT)).get("dns_target"))
        for key in TLS_TARGET_KEYS:
            mock = frozenset(_strings(recorded.get(key)))
            if mock:
                real = tuple(_strings(deployed.get(key)))
                self.read_values[mock] = real or None

    def real_address(self, host: str, family: str) -> str | None:
        """A droplet's public address from the stack outputs (``droplet_addresses``), or None."""
        entry = self.addresses.get(host)
        value = entry.get(family) if isinstance(entry, Mapping) else None
        if isinstance(value, str) and value:
            return value
        if (host, family) not in self._missing:
            self._missing.add((host, family))
            self.problems.append(
                (host, f"the stack outputs have no {family} address for {host} in droplet_addresses; "
                 "deploy this version of the program, which exports it")
            )  # fmt: skip
        return None

    def real_value(self, value: str) -> tuple[str | None, str]:
        """``value`` as deployed: a mock droplet address becomes the real one; other computed values are unknown."""
        if value in self.mock_addresses:
            host, family = self.mock_addresses[value]
            real = self.real_address(host, family)
            return real, "" if real else f"address of {host} not in the stack outputs"
        if value in self.computed:
            return None, "computed by the provider at deploy time"
        return value, ""

    def read_value(self, values: Iterable[str]) -> tuple[tuple[str, ...] | None, bool]:
        """A record's values as deployed when the program read them from Fastly: (values, whether they were).

        None with True when the stack outputs lack them (a problem, reported once).
        """
        key = frozenset(values)
        if key not in self.read_values:
            return None, False
        real = self.read_values[key]
        if real is None and ("", TLS_OUTPUT) not in self._missing:
            self._missing.add(("", TLS_OUTPUT))
            self.problems.append(
                ("fastly", f"the stack outputs have no {TLS_OUTPUT} DNS targets; deploy this version of the program")
            )
        return real, True

    def web_host(self, host: str) -> WebHost:
        """The entry for ``host``, created empty on first use."""
        return self.web.setdefault(host, WebHost(host))

    def certificate(
        self, host: str, port: int = 443, *, min_days: int | None = None, issuer: str | None = None, source: str
    ) -> None:
        """Require a certificate for ``host``; several sources merge into the strictest expectation."""
        key = (host, port)
        current = self.certificates.get(key, Certificate(host, port, self.min_days))
        days = max(current.min_days, min_days if min_days is not None else self.min_days)
        self.certificates[key] = Certificate(
            host, port, days, issuer or current.issuer, tuple(dict.fromkeys((*current.sources, source)))
        )

    def build(self) -> Expectations:
        """The frozen expectations."""
        mail = tuple(MailHost(host, tuple(sorted(zones))) for host, zones in sorted(self.mail.items()))
        return Expectations(
            stack=self.recording.stack,
            zones=tuple(sorted(self.zones_by_id.values(), key=lambda z: z.name)),
            records=tuple(self.records),
            web=tuple(self.web[h] for h in sorted(self.web)),
            certificates=tuple(self.certificates[k] for k in sorted(self.certificates)),
            droplets=tuple(
                replace(self.droplets[h], origin_of=tuple(dict.fromkeys(self.origin_uses.get(h, ()))))
                for h in sorted(self.droplets)
            ),
            mail=mail,
            problems=tuple(self.problems),
            notes=tuple(self.notes),
        )


Extractor = Callable[[Record, Builder], None]
_EXTRACTORS: dict[str, list[Extractor]] = {}
# Zones and droplets first: records, firewalls and edges refer to them by ID.
_FIRST: Final = ("aws:route53/zone:Zone", "digitalocean:index/droplet:Droplet")


def extracts(*types: str) -> Callable[[Extractor], Extractor]:
    """Register an extractor for resources of these type tokens."""

    def register(function: Extractor) -> Extractor:
        for type_ in types:
            _EXTRACTORS.setdefault(type_, []).append(function)
        return function

    return register


def expectations(recording: Recording, outputs: Mapping[str, Any], *, min_days: int = DEFAULT_MIN_DAYS) -> Expectations:
    """What ``recording``'s stack must do, with real values from ``outputs`` (``pulumi stack output --json``)."""
    builder = Builder(recording, outputs, min_days)
    ordered = sorted(recording.resources, key=lambda r: 0 if r.type in _FIRST else 1)
    for record in ordered:
        for extractor in _EXTRACTORS.get(record.type, ()):
            extractor(record, builder)
    return builder.build()


# --- DNS -------------------------------------------------------------------------------------------------------


@extracts("aws:route53/zone:Zone")
def _zone(record: Record, builder: Builder) -> None:
    name = _name(record.inputs.get("name", ""))
    reported = builder.outputs.get("name_servers")
    servers = reported.get(name) if isinstance(reported, Mapping) else None
    if not servers:
        builder.problems.append((name, f"the stack outputs have no name_servers entry for zone {name}"))
    zone_id = str(record.outputs.get("zoneId") or record.id or "")
    builder.zones_by_id[zone_id] = Zone(name, tuple(_name(s) for s in _strings(servers)), False, record.name)


@extracts("aws:route53/hostedZoneDnsSec:HostedZoneDnsSec")
def _dnssec(record: Record, builder: Builder) -> None:
    zone = builder.zones_by_id.get(str(record.inputs.get("hostedZoneId")))
    if zone is not None and str(record.inputs.get("signingStatus", "SIGNING")).upper() == "SIGNING":
        builder.zones_by_id[str(record.inputs.get("hostedZoneId"))] = replace(zone, signed=True)


def _rdata_text(record_type: str, value: str) -> str:
    # The AWS provider adds the outer quotes of a TXT value itself (components.dns_zone.txt_value).
    if record_type in ("TXT", "SPF") and not value.startswith('"'):
        return f'"{value}"'
    return value


@extracts("aws:route53/record:Record")
def _record(record: Record, builder: Builder) -> None:
    inputs = record.inputs
    zone = builder.zones_by_id.get(str(inputs.get("zoneId")))
    name = _name(inputs.get("name", ""))
    if zone is None:
        builder.notes.append((name, f"record {record.name} is in a zone this stack does not manage"))
        return
    record_type = str(inputs.get("type", "")).upper()
    if inputs.get("aliases") or inputs.get("setIdentifier"):
        note = "alias target" if inputs.get("aliases") else "routing policy"
        builder.records.append(RecordSet(zone.name, name, record_type, None, (), record.name, f"{note}: any answer"))
        return
    values: list[str] = []
    notes: list[str] = []
    declared = _strings(inputs.get("records"))
    read, was_read = builder.read_value(declared)
    if was_read:
        # A Fastly DNS target: what the deployed stack read from its TLS configuration, as it is.
        values = [_rdata_text(record_type, v) for v in read or ()]
        if read is None:
            notes.append(f"Fastly DNS target not in the stack outputs ({TLS_OUTPUT})")
        declared = []
    for value in declared:
        real, note = builder.real_value(value)
        if real is None:
            notes.append(note)
        else:
            values.append(_rdata_text(record_type, real))
    ttl = _int(inputs.get("ttl"))
    if notes:
        builder.records.append(RecordSet(zone.name, name, record_type, ttl, (), record.name, notes[0]))
    else:
        builder.records.append(RecordSet(zone.name, name, record_type, ttl, tuple(values), record.name))
    if record_type == "MX":
        for value in values:
            parts = value.split()
            if len(parts) == 2 and parts[1] != ".":
                builder.mail.setdefault(_name(parts[1]), set()).add(zone.name)


# --- Fastly, Datadog -------------------------------------------------------------------------------------------


_HOST_CONDITION: Final = re.compile(r'^req\.http\.host == "([^"]+)"$')


def _vcl_literal(source: object) -> str | None:
    match = _VCL_STRING.match(str(source).strip())
    return match.group(1) if match else None


@extracts("fastly:index/serviceVcl:ServiceVcl")
def _fastly_service(record: Record, builder: Builder) -> None:
    inputs = record.inputs
    domains = [_name(d.get("name")) for d in inputs.get("domains") or () if isinstance(d, Mapping) and d.get("name")]
    service = str(inputs.get("name") or record.name)
    hsts: str | None = None
    redirect = any(isinstance(s, Mapping) and s.get("forceSsl") for s in inputs.get("requestSettings") or ())
    # A header under a response condition on one Host (a redirected apex, say) applies to that domain only.
    hosts_of = {
        str(c.get("name")): match.group(1)
        for c in inputs.get("conditions") or ()
        if isinstance(c, Mapping) and (match := _HOST_CONDITION.match(str(c.get("statement", "")).strip()))
    }
    per_domain_hsts: dict[str, str | None] = {}
    redirected: set[str] = set()
    for header in inputs.get("headers") or ():
        if not isinstance(header, Mapping) or header.get("type") != "response":
            continue
        condition = header.get("responseCondition")
        only = hosts_of.get(str(condition)) if condition else None
        if condition and only is None:
            continue  # a condition the checker cannot read: no expectation rather than a wrong one
        destination = str(header.get("destination", "")).lower()
        literal = _vcl_literal(header.get("source", ""))
        if destination == "http.strict-transport-security":
            value = literal if header.get("action") == "set" else None
            if only is not None:
                per_domain_hsts[only] = value
            elif header.get("action") == "set" and literal is not None:
                hsts = literal
        elif (
            header.get("action") == "set"
            and destination == "http.location"
            and str(header.get("source", "")).lstrip('"').startswith("https://")
        ):
            # Sent to an https:// location: every request, plain HTTP included, is redirected to HTTPS.
            if only is not None:
                redirected.add(only)
            else:
                redirect = True
    for domain in domains:
        current = builder.web_host(domain)
        builder.web[domain] = replace(
            current,
            service=service,
            hsts=per_domain_hsts.get(domain, hsts),
            redirects_to_https=redirect or domain in redirected,
        )
        builder.certificate(domain, source=f"Fastly service {service}")
    for backend in inputs.get("backends") or ():
        if not isinstance(backend, Mapping):
            continue
        address = str(backend.get("address", ""))
        if address not in builder.mock_addresses:
            continue
        host, _ = builder.mock_addresses[address]
        tls_name = _name(backend.get("sslCertHostname") or backend.get("overrideHost") or host)
        use = OriginUse(service, _name(backend.get("overrideHost") or (domains[0] if domains else host)), tls_name)
        builder.origin_uses.setdefault(host, []).append(use)


@extracts("fastly:index/tlsSubscription:TlsSubscription")
def _fastly_tls(record: Record, builder: Builder) -> None:
    authority = CERTIFICATE_AUTHORITIES.get(str(record.inputs.get("certificateAuthority", "")))
    for domain in _strings(record.inputs.get("domains")):
        builder.certificate(_name(domain), issuer=authority, source=f"Fastly TLS subscription {record.name}")


def _assertion_status(assertions: Iterable[Any]) -> int | None:
    for assertion in assertions:
        if (
            isinstance(assertion, Mapping)
            and assertion.get("type") == "statusCode"
            and assertion.get("operator") == "is"
        ):
            try:
                return int(str(assertion.get("target")))
            except ValueError:
                return None
    return None


@extracts("datadog:index/syntheticsTest:SyntheticsTest")
def _synthetic(record: Record, builder: Builder) -> None:
    inputs = record.inputs
    request = inputs.get("requestDefinition") or {}
    if not isinstance(request, Mapping):
        return
    assertions = list(inputs.get("assertions") or ())
    subtype = inputs.get("subtype")
    if subtype == "http" and isinstance(request.get("url"), str):
        url = urlsplit(request["url"])
        status = _assertion_status(assertions)
        if url.scheme != "https" or not url.hostname:
            return
        host = _name(url.hostname)
        current = builder.web_host(host)
        if status is not None:
            path = url.path or "/"
            statuses = tuple(dict.fromkeys((*current.statuses, (path, status))))
            builder.web[host] = replace(current, statuses=statuses)
        builder.certificate(host, url.port or 443, source=f"synthetic {record.name}")
    elif subtype == "ssl" and isinstance(request.get("host"), str):
        if WARNING_TAG in _strings(inputs.get("tags")):
            return  # an early warning, not the threshold the certificate fails at
        # An SSL test asserts "certificate isInMoreThan N days"; the strictest of it and --min-days holds.
        days = None
        for assertion in assertions:
            if isinstance(assertion, Mapping) and assertion.get("type") == "certificate":
                days = _int(_number(assertion.get("target")))
        port = _int(request.get("port")) or 443
        builder.certificate(_name(request["host"]), port, min_days=days, source=f"SSL synthetic {record.name}")


def _number(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


# --- DigitalOcean ----------------------------------------------------------------------------------------------


@extracts("digitalocean:index/droplet:Droplet")
def _droplet(record: Record, builder: Builder) -> None:
    host = _name(record.inputs.get("name", record.name))
    builder.droplets[host] = Droplet(
        host, record.name, builder.real_address(host, "ipv4"), builder.real_address(host, "ipv6")
    )
    if record.id:
        builder.droplet_ids[str(record.id)] = host


def _ports(port_range: object) -> set[int]:
    text = str(port_range or "").strip()
    if not text or text in ("all", "0"):
        return set(ORIGIN_PORTS)
    low, _, high = text.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        return set()
    return {p for p in ORIGIN_PORTS if first <= p <= last}


@extracts("digitalocean:index/firewall:Firewall")
def _firewall(record: Record, builder: Builder) -> None:
    open_ports: set[int] = set()
    for rule in record.inputs.get("inboundRules") or ():
        if not isinstance(rule, Mapping) or rule.get("protocol") != "tcp":
            continue
        sources = set(_strings(rule.get("sourceAddresses")))
        if sources & WORLD or any(_is_everything(s) for s in sources):
            open_ports |= _ports(rule.get("portRange"))
    for droplet_id in record.inputs.get("dropletIds") or ():
        key = str(int(droplet_id)) if isinstance(droplet_id, float) else str(droplet_id)
        host = builder.droplet_ids.get(key)
        if host is not None:
            current = builder.droplets[host]
            builder.droplets[host] = replace(current, world_ports=current.world_ports | frozenset(open_ports))


def _is_everything(source: str) -> bool:
    try:
        return ipaddress.ip_network(source, strict=False).prefixlen == 0
    except ValueError:
        return False
