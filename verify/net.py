"""The one way :mod:`verify` reaches the network: bounded timeouts and retries, overrides, and errors as reasons.

Every call either returns or raises :class:`NetworkError` with a one-line reason; nothing here lets a socket,
TLS or DNS exception escape. Overrides say where to send a connection instead of where DNS says, so the same
checks run against a stack before its DNS is cut over, through a tunnel, or against a local test world:

- ``resolve``: host -> addresses, used instead of a lookup (like curl's ``--resolve``);
- ``connect_to``: (host, port) -> (host, port), applied before the lookup (like curl's ``--connect-to``);
- ``resolver``: the recursive resolver for lookups (None: the system's; ``NO_RESOLVER``: no lookups at all);
- ``ca_file``: the trust store for certificates (None: the system's);
- ``confine``: networks connections may go to; any other address is refused before a packet is sent.

Answers are memoised per run, so checks that need the same DNS answer or HTTP response share one request.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Final, Literal, TypeVar

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

USER_AGENT: Final = "psf-infra-verify/1 (+make verify)"
NO_RESOLVER: Final = ("none", 0)
MAX_BODY: Final = 64 * 1024
T = TypeVar("T")


class NetworkError(Exception):
    """A network operation failed; ``str()`` is the reason, fit for a report row."""


class TlsError(NetworkError):
    """The TLS handshake or the certificate's verification failed."""


@dataclass(frozen=True)
class ConnectTo:
    """Send connections for ``host``:``port`` (empty host or port: any) to ``to_host``:``to_port`` instead."""

    host: str
    port: int | None
    to_host: str
    to_port: int | None

    @classmethod
    def parse(cls, text: str) -> ConnectTo:
        """``HOST1:PORT1:HOST2:PORT2`` as curl takes it; IPv6 addresses in brackets. ValueError if malformed."""
        parts = _split_colons(text)
        if len(parts) != 4:
            raise ValueError(f"--connect-to {text!r}: expected HOST1:PORT1:HOST2:PORT2 (empty parts allowed)")
        host, port, to_host, to_port = parts
        try:
            return cls(
                host.lower().rstrip("."), int(port) if port else None, to_host, int(to_port) if to_port else None
            )
        except ValueError:
            raise ValueError(f"--connect-to {text!r}: ports must be numbers") from None

    def matches(self, host: str, port: int) -> bool:
        """True when this rule applies to a connection for ``host``:``port``."""
        return (not self.host or self.host == host) and (self.port is None or self.port == port)


def _split_colons(text: str) -> list[str]:
    parts: list[str] = []
    current = ""
    bracket = False
    for char in text:
        if char == "[":
            bracket = True
        elif char == "]":
            bracket = False
        elif char == ":" and not bracket:
            parts.append(current)
            current = ""
            continue
        else:
            current += char
    parts.append(current)
    return parts


@dataclass(frozen=True)
class NetOptions:
    """How the checks reach the network. Timeouts are per attempt; ``retries`` more attempts after a failure."""

    timeout: float = 5.0
    retries: int = 1
    resolve: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    connect_to: tuple[ConnectTo, ...] = ()
    resolver: tuple[str, int] | None = None
    ca_file: Path | None = None
    ipv6: bool = False
    confine: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


@dataclass(frozen=True)
class HttpResponse:
    """What one HTTP request got back."""

    status: int
    headers: Message
    address: str

    def header(self, name: str) -> str | None:
        """A header's value (the first, if repeated)."""
        return self.headers.get(name)


@dataclass(frozen=True)
class TlsSession:
    """A completed handshake: the peer's certificate (DER), protocol version and the address reached."""

    certificate: bytes
    version: str
    address: str


Probe = Literal["open", "refused", "timeout", "unreachable"]


class Network:
    """The network as the checks see it, with the overrides and bounds of :class:`NetOptions`."""

    def __init__(self, options: NetOptions) -> None:
        self.options = options
        self._memo: dict[tuple[object, ...], Future[object]] = {}
        self._lock = threading.Lock()
        self._resolver: dns.resolver.Resolver | None = None
        self._no_resolver = "no resolver to look up {} (--resolver none); give --resolve"
        if options.resolver != NO_RESOLVER:
            if options.resolver is None:
                try:
                    self._resolver = dns.resolver.Resolver(configure=True)
                except dns.exception.DNSException:
                    self._no_resolver = "no system resolver to look up {} (no /etc/resolv.conf); give --resolver"
                    return
            else:
                self._resolver = dns.resolver.Resolver(configure=False)
                self._resolver.nameservers = [options.resolver[0]]
                self._resolver.port = options.resolver[1]
            self._resolver.timeout = options.timeout
            self._resolver.lifetime = options.timeout * (options.retries + 1)

    @property
    def has_resolver(self) -> bool:
        """False when lookups are switched off (``--resolver none``): every address must come from overrides."""
        return self._resolver is not None

    # --- memo and retries --------------------------------------------------------------------------------------

    def _once(self, key: tuple[object, ...], compute: Callable[[], T]) -> T:
        """``compute()`` once per key per run; concurrent callers wait for the first one's result or error."""
        with self._lock:
            future = self._memo.get(key)
            owner = future is None
            if future is None:
                future = Future()
                self._memo[key] = future
        if owner:
            try:
                future.set_result(compute())
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()  # type: ignore[return-value]

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """``attempt()`` up to 1 + retries times while it fails with a network error (never a TLS verdict)."""
        last: NetworkError | None = None
        for n in range(self.options.retries + 1):
            try:
                return attempt()
            except TlsError:
                raise
            except NetworkError as exc:
                last = exc
                if n < self.options.retries:
                    time.sleep(min(0.2 * (n + 1), 1.0))
        assert last is not None
        raise last

    # --- addresses ---------------------------------------------------------------------------------------------

    def lookup(self, name: str, rdtype: str) -> list[str]:
        """Records of ``name`` from the recursive resolver, as text. Empty when the name has none of that type."""

        def query() -> list[str]:
            if self._resolver is None:
                raise NetworkError(self._no_resolver.format(f"{name} {rdtype}"))
            try:
                answer = self._resolver.resolve(name, rdtype, raise_on_no_answer=False)
            except dns.resolver.NXDOMAIN:
                raise NetworkError(f"{name} does not exist (NXDOMAIN)") from None
            except dns.exception.DNSException as exc:
                raise NetworkError(f"lookup of {name} {rdtype} failed: {_reason(exc)}") from None
            return [r.to_text() for r in answer.rrset] if answer.rrset is not None else []

        return self._once(("lookup", name.lower(), rdtype), query)

    def zone_for_name(self, name: str) -> str:
        """The zone holding ``name``, found by the resolver's SOA lookups (no trailing dot; the root is ``.``)."""

        def find() -> str:
            if self._resolver is None:
                raise NetworkError(self._no_resolver.format(f"the zone of {name}") + " or --zone-ns")
            try:
                zone = dns.resolver.zone_for_name(name.rstrip(".") + ".", resolver=self._resolver)
            except dns.exception.DNSException as exc:
                raise NetworkError(f"cannot find the zone of {name}: {_reason(exc)}") from None
            return zone.to_text().rstrip(".").lower() or "."

        return self._once(("zone", name.lower()), find)

    def addresses(self, host: str) -> list[str]:
        """The addresses to reach ``host`` at: an override, the literal, or IPv4 (and IPv6 with ``ipv6``) lookups."""
        host = host.lower().rstrip(".")
        if host in self.options.resolve:
            return list(self.options.resolve[host])
        if _is_address(host):
            return [host.strip("[]")]
        found = list(self.lookup(host, "A"))
        if self.options.ipv6:
            found += self.lookup(host, "AAAA")
        if not found:
            raise NetworkError(f"{host} has no address")
        return found

    def endpoints(self, host: str, port: int) -> list[tuple[str, int]]:
        """Where a connection for ``host``:``port`` goes, after ``connect_to`` and the lookup."""
        host = host.lower().rstrip(".")
        for rule in self.options.connect_to:
            if rule.matches(host, port):
                host, port = (rule.to_host or host).lower(), rule.to_port or port
                break
        return [(address, port) for address in self.addresses(host) if self._family_ok(address)]

    def _family_ok(self, address: str) -> bool:
        return self.options.ipv6 or ipaddress.ip_address(address).version == 4

    def _allowed(self, address: str) -> None:
        if self.options.confine and not any(ipaddress.ip_address(address) in net for net in self.options.confine):
            raise NetworkError(f"{address} is outside the networks allowed by --confine")

    # --- TCP ---------------------------------------------------------------------------------------------------

    def connect(self, host: str, port: int) -> tuple[socket.socket, str]:
        """A connected TCP socket to ``host``:``port`` (each endpoint in turn, with retries) and its address."""

        def attempt() -> tuple[socket.socket, str]:
            endpoints = self.endpoints(host, port)
            if not endpoints:
                raise NetworkError(f"{host} has no address of an allowed family (IPv6 needs --ipv6)")
            errors: list[str] = []
            for address, to_port in endpoints:
                self._allowed(address)
                try:
                    sock = socket.create_connection((address, to_port), timeout=self.options.timeout)
                except OSError as exc:
                    errors.append(f"{address} port {to_port}: {_reason(exc)}")
                    continue
                return sock, address
            raise NetworkError("; ".join(errors))

        return self._retrying(attempt)

    def probe(self, address: str, port: int) -> tuple[Probe, str]:
        """Whether ``address``:``port`` accepts a TCP connection from here, and the endpoint tried.

        No retries: a refusal or a silent drop is the answer, not a failure.
        """
        endpoints = self.endpoints(address, port)
        if not endpoints:
            return "unreachable", f"{address} (address family not enabled)"
        target, to_port = endpoints[0]
        self._allowed(target)
        where = f"{address} port {port}"
        if (target, to_port) != (address, port):
            where += f" (via {target} port {to_port})"
        try:
            with socket.create_connection((target, to_port), timeout=self.options.timeout):
                return "open", where
        except ConnectionRefusedError:
            return "refused", where
        except TimeoutError:
            return "timeout", where
        except OSError as exc:
            return "unreachable", f"{where}: {_reason(exc)}"

    def banner(self, host: str, port: int) -> tuple[str, str]:
        """The first line a server sends on connect (an SMTP greeting), and the address reached."""

        def attempt() -> tuple[str, str]:
            sock, address = self.connect(host, port)
            with sock:
                try:
                    data = b""
                    while b"\n" not in data and len(data) < 4096:
                        chunk = sock.recv(1024)
                        if not chunk:
                            break
                        data += chunk
                    line = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
                    if line.startswith("220"):
                        sock.sendall(b"QUIT\r\n")
                except OSError as exc:
                    raise NetworkError(f"{address} port {port}: {_reason(exc)}") from None
            if not line:
                raise NetworkError(f"{address} port {port} closed the connection without a greeting")
            return line, address

        return self._once(("banner", host, port), lambda: self._retrying(attempt))

    # --- TLS and HTTP ------------------------------------------------------------------------------------------

    def _context(self, verify: bool) -> ssl.SSLContext:
        if not verify:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        ca = str(self.options.ca_file) if self.options.ca_file else None
        return ssl.create_default_context(cafile=ca)

    def _handshake(self, host: str, port: int, server_name: str, verify: bool) -> tuple[ssl.SSLSocket, str]:
        sock, address = self.connect(host, port)
        try:
            tls = self._context(verify).wrap_socket(sock, server_hostname=server_name)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            raise TlsError(f"certificate not trusted for {server_name}: {exc.verify_message}") from None
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise NetworkError(f"TLS handshake with {address} failed: {_reason(exc)}") from None
        return tls, address

    def tls(self, host: str, port: int = 443) -> TlsSession:
        """A verified TLS handshake with ``host`` (SNI and name check for ``host``), memoised."""

        def attempt() -> TlsSession:
            tls, address = self._handshake(host, port, host, verify=True)
            with tls:
                der = tls.getpeercert(binary_form=True)
                version = tls.version() or "?"
            if not der:
                raise TlsError(f"{address} sent no certificate")
            return TlsSession(der, version, address)

        return self._once(("tls", host, port), lambda: self._retrying(attempt))

    def http(
        self,
        host: str,
        path: str = "/",
        *,
        scheme: Literal["http", "https"] = "https",
        port: int | None = None,
        server_name: str | None = None,
        host_header: str | None = None,
        verify: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """One GET (redirects not followed), memoised per target. ``server_name``: SNI when it differs from host."""
        port = port or (443 if scheme == "https" else 80)
        extra = tuple(sorted((headers or {}).items()))
        key = ("http", scheme, host, port, path, server_name, host_header, verify, extra)

        def attempt() -> HttpResponse:
            if scheme == "https":
                sock, address = self._handshake(host, port, server_name or host, verify)
            else:
                sock, address = self.connect(host, port)
            connection = http.client.HTTPConnection(host, port, timeout=self.options.timeout)
            connection.sock = sock
            try:
                connection.request(
                    "GET",
                    path,
                    headers={
                        "Host": host_header or host,
                        "User-Agent": USER_AGENT,
                        "Connection": "close",
                        **dict(extra),
                    },
                )
                response = connection.getresponse()
                response.read(MAX_BODY)
                return HttpResponse(response.status, response.msg, address)
            except (OSError, http.client.HTTPException) as exc:
                raise NetworkError(f"HTTP request to {address} failed: {_reason(exc)}") from None
            finally:
                connection.close()

        return self._once(key, lambda: self._retrying(attempt))

    # --- DNS ---------------------------------------------------------------------------------------------------

    def dns(self, server: str, qname: str, rdtype: str, *, dnssec: bool = False) -> tuple[dns.message.Message, str]:
        """A non-recursive query to one name server (a host name or address), and the address that answered.

        UDP first, TCP when the answer is truncated; each of the server's addresses in turn, with retries.
        """

        def attempt() -> tuple[dns.message.Message, str]:
            endpoints = self.endpoints(server, 53)
            if not endpoints:
                raise NetworkError(f"{server} has no address of an allowed family")
            errors: list[str] = []
            for address, port in endpoints:
                self._allowed(address)
                query = dns.message.make_query(qname, rdtype, want_dnssec=dnssec)
                query.flags &= ~dns.flags.RD
                try:
                    response, _ = dns.query.udp_with_fallback(query, address, timeout=self.options.timeout, port=port)
                except (dns.exception.DNSException, OSError) as exc:
                    errors.append(f"{address}: {_reason(exc)}")
                    continue
                return response, address
            raise NetworkError(f"{server}: " + "; ".join(errors))

        key = ("dns", server.lower(), qname.lower(), rdtype, dnssec)
        return self._once(key, lambda: self._retrying(attempt))


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def _reason(exc: BaseException) -> str:
    """A short, stable reason for an exception: its message, or its class name when it has none."""
    if isinstance(exc, (dns.exception.Timeout, TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).lower().replace("_", " ")
    text = str(exc).strip()
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return text or type(exc).__name__


def rcode_text(message: dns.message.Message) -> str:
    """The response code's mnemonic (NOERROR, NXDOMAIN, REFUSED...)."""
    return dns.rcode.to_text(message.rcode())


def parse_resolve(values: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``--resolve HOST=ADDR[,ADDR...]`` values; ValueError naming the bad one."""
    resolved: dict[str, tuple[str, ...]] = {}
    for value in values:
        host, sep, addresses = value.partition("=")
        found = tuple(a.strip().strip("[]") for a in addresses.split(",") if a.strip())
        if not sep or not host or not found or not all(_is_address(a) for a in found):
            raise ValueError(f"--resolve {value!r}: expected HOST=ADDRESS[,ADDRESS...] with IP addresses")
        resolved[host.lower().rstrip(".")] = found
    return resolved


def parse_server(value: str, default_port: int = 53) -> tuple[str, int]:
    """``ADDR[:PORT]`` or ``[IPv6]:PORT``; ValueError if malformed."""
    text = value.strip()
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or str(default_port)
    elif text.count(":") == 1:
        address, port = text.split(":")
    else:
        address, port = text, str(default_port)
    if not _is_address(address) or not port.isdigit():
        raise ValueError(f"{value!r}: expected an IP address, optionally with :PORT")
    return address, int(port)


def absolute(name: str) -> dns.name.Name:
    """``name`` as an absolute DNS name."""
    return dns.name.from_text(name.rstrip(".") + ".")
