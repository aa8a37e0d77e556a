"""A small, real world on the loopback interface for the verify tests: DNS, HTTPS, HTTP, SMTP and closed ports.

DNS is NSD from Debian's packages, serving zone files written from the prod recording's Route 53 records for
python.org and psf.io, both signed with ldns-signzone, under local parents ``org`` and ``io`` (signed too,
their DS records the trust anchors). HTTPS is a threaded server presenting certificates from a trustme CA,
chosen by SNI; what it answers is this module's own table of what the real hosts serve, not the checker's
reading of the recording, so a misreading cannot hide itself. Broken variants change one thing each.

Every address is in 127.0.0.0/8; the checker runs with ``--resolver none`` and ``--confine 127.0.0.0/8``, so
nothing it does can leave the machine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import os
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import dns.message
import dns.name
import dns.query
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import trustme

from offline.recorder import Recording

ZONES: Final = ("python.org", "psf.io")
PARENTS: Final = {"python.org": "org", "psf.io": "io"}
NAME_SERVERS: Final = ("ns-a.dns.test", "ns-b.dns.test")
PARENT_SERVER: Final = "ns.parent.test"
LAME_SERVER: Final = "ns-lame.dns.test"
HSTS: Final = "max-age=63072000; includeSubDomains"
# The apex answers its redirect with the live python.org apex's own HSTS (stacks/global_edge.py).
HOST_HSTS: Final = {"python.org": "max-age=315360000; preload"}
# The hosts the world serves, and what the real ones answer (www.python.org's apex redirects to www).
WEB: Final = {
    "www.python.org": {"/": 200, "/ftp/python/": 200},
    "python.org": {"/": 301},
    "docs.python.org": {"/": 200},
    "mail.python.org": {"/": 200},
}
DROPLETS: Final = ("docs-1.nyc1.psf.io", "docs-2.nyc1.psf.io", "mail.ams1.psf.io")
MAIL_HOST: Final = "mail.ams1.psf.io"
# The MX target: the name of the mail host's reserved address, where other servers deliver.
MX_HOST: Final = "mx.ams1.psf.io"
RESERVED_IP_ASSIGNMENT: Final = "digitalocean:index/reservedIpAssignment:ReservedIpAssignment"
# The issuer organisation the world's CA stands in for: what GlobalSign's certificates name, the authority
# prod's Fastly subscriptions request (Pulumi.prod.yaml tlsCertificateAuthority).
ISSUER: Final = "GlobalSign nv-sa"
# The rows the tests select: the hosts above, their zones' apexes, the droplets behind them.
ONLY: Final = (*WEB, "_dmarc.python.org", "psf.io", *DROPLETS, MX_HOST)
DNS_VARIANTS: Final = ("good", "missing-record", "wrong-target", "lame-delegation", "expired-signature")
WEB_VARIANTS: Final = (
    "good",
    "expired-certificate",
    "wrong-name",
    "expiring-soon",
    "wrong-issuer",
    "no-hsts",
    "wrong-status",
    "no-redirect",
    "smtp-closed",
    "origin-open",
    "origin-open-with-token-check",
)


def tools_missing() -> list[str]:
    """The Debian tools the DNS world needs that are not installed (``.ci/run`` installs them)."""
    return [tool for tool in ("nsd", "ldns-keygen", "ldns-signzone") if shutil.which(tool) is None]


def droplet_address(host: str) -> str:
    """The loopback address standing in for a droplet's public IPv4 address."""
    return f"127.0.40.{DROPLETS.index(host) + 1}"


def outputs(recording: Recording) -> dict[str, Any]:
    """Stack outputs as ``pulumi stack output --json`` would print them for the world's deployment."""
    droplets = [r for r in recording.of_type("digitalocean:index/droplet:Droplet")]
    reserved = {str(int(a.inputs["dropletId"])) for a in recording.of_type(RESERVED_IP_ASSIGNMENT)}
    addresses = {}
    for n, record in enumerate(sorted(droplets, key=lambda r: r.name), start=1):
        host = str(record.inputs["name"])
        addresses[host] = {
            "ipv4": droplet_address(host) if host in DROPLETS else f"127.0.41.{n}",
            "ipv6": f"2001:db8::{n:x}",
        }
        if str(record.id) in reserved:
            # Here the reserved address reaches the same stand-in host as the droplet's own.
            addresses[host]["reserved_ipv4"] = addresses[host]["ipv4"]
    return {
        **{k: v for k, v in recording.stack_outputs.items() if k not in ("name_servers", "droplet_addresses")},
        # Every zone of the stack, as the real outputs list them; only ZONES are served here.
        "name_servers": {str(r.inputs["name"]): list(NAME_SERVERS) for r in recording.of_type("aws:route53/zone:Zone")},
        "droplet_addresses": addresses,
    }


def _free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind((address, 0))
        return udp.getsockname()[1]


# --- DNS --------------------------------------------------------------------------------------------------------


def _rdata(record_type: str, value: str) -> str:
    text = f'"{value}"' if record_type == "TXT" else value
    rdtype = dns.rdatatype.from_text(record_type)
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype, text, origin=dns.name.root, relativize=False).to_text()


def zone_lines(recording: Recording, zone: str, world_outputs: Mapping[str, Any]) -> list[str]:
    """The zone's records as the recording declares them, droplet addresses as the world's outputs say."""
    zone_ids = {
        str(r.outputs["zoneId"]) for r in recording.of_type("aws:route53/zone:Zone") if r.inputs["name"] == zone
    }
    mock = {}
    hosts_by_id = {}
    for record in recording.of_type("digitalocean:index/droplet:Droplet"):
        real = world_outputs["droplet_addresses"][record.inputs["name"]]
        mock[record.outputs["ipv4Address"]] = real["ipv4"]
        mock[record.outputs["ipv6Address"]] = real["ipv6"]
        hosts_by_id[str(record.id)] = record.inputs["name"]
    # The reserved addresses the public names and the MX target's name point at.
    for assignment in recording.of_type(RESERVED_IP_ASSIGNMENT):
        host = hosts_by_id[str(int(assignment.inputs["dropletId"]))]
        mock[assignment.inputs["ipAddress"]] = world_outputs["droplet_addresses"][host]["reserved_ipv4"]
    lines = []
    for record in recording.of_type("aws:route53/record:Record"):
        if str(record.inputs["zoneId"]) not in zone_ids:
            continue
        kind = str(record.inputs["type"])
        for value in record.inputs["records"]:
            lines.append(
                f"{record.inputs['name']}. {int(record.inputs['ttl'])} IN {kind} {_rdata(kind, mock.get(value, value))}"
            )
    return lines


@dataclass
class Keys:
    """A zone's KSK and ZSK (ldns-keygen base names) and the KSK's DS rdata."""

    ksk: str
    zsk: str
    ds: str


def make_keys(directory: Path, zone: str) -> Keys:
    """A fresh ECDSA P-256 key pair for ``zone``, as Route 53 signs with."""

    def keygen(*flags: str) -> str:
        done = subprocess.run(
            ["ldns-keygen", "-a", "ECDSAP256SHA256", *flags, zone],
            cwd=directory, capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
        return str(directory / done.stdout.strip())

    ksk, zsk = keygen("-k"), keygen()
    ds = Path(ksk + ".ds").read_text().split("DS", 1)[1].strip()
    return Keys(ksk, zsk, ds)


def sign(directory: Path, zone: str, lines: list[str], keys: Keys, *, expired: bool = False) -> Path:
    """Write ``zone``'s file with SOA and apex NS, sign it with ldns-signzone, return the signed file."""
    servers = [PARENT_SERVER] if zone in PARENTS.values() else list(NAME_SERVERS)
    head = [f"{zone}. 3600 IN SOA {servers[0]}. hostmaster.{zone}. 1 3600 900 604800 300"]
    head += [f"{zone}. 3600 IN NS {s}." for s in servers]
    source = directory / f"{zone}.zone"
    source.write_text("\n".join(head + lines) + "\n")
    signed = directory / f"{zone}.signed"
    dates = ["-i", "20200101", "-e", "20200201"] if expired else []
    subprocess.run(
        ["ldns-signzone", *dates, "-f", str(signed), str(source), keys.ksk, keys.zsk],
        cwd=directory, capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return signed


class Nsd:
    """One NSD process serving ``zones`` (name -> file) on ``addresses`` at ``port``; stopped by :meth:`stop`."""

    def __init__(self, directory: Path, addresses: tuple[str, ...], port: int, zones: Mapping[str, Path]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.addresses, self.port = directory, addresses, port
        config = ["server:"]
        config += [f"  ip-address: {a}" for a in addresses]
        config += [
            f"  port: {port}",
            "  server-count: 1",
            '  username: ""',
            '  chroot: ""',
            f'  zonesdir: "{directory}"',
            f'  pidfile: "{directory}/nsd.pid"',
            f'  xfrdfile: "{directory}/xfrd.state"',
            f'  zonelistfile: "{directory}/zone.list"',
            '  database: ""',
            f'  logfile: "{directory}/nsd.log"',
            "  verbosity: 1",
            "  hide-version: yes",
            "  reuseport: no",
            "remote-control:",
            "  control-enable: no",
        ]
        for name, path in zones.items():
            config += ["zone:", f"  name: {name}", f'  zonefile: "{path}"']
        conf = directory / "nsd.conf"
        conf.write_text("\n".join(config) + "\n")
        subprocess.run(["nsd", "-c", str(conf)], check=True, capture_output=True, timeout=30)
        self._wait(next(iter(zones)))

    def _wait(self, zone: str) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                for address in self.addresses:
                    dns.query.udp(dns.message.make_query(zone, "SOA"), address, port=self.port, timeout=0.2)
                return
            except Exception:
                if time.monotonic() > deadline:
                    log = (self.directory / "nsd.log").read_text() if (self.directory / "nsd.log").exists() else ""
                    raise RuntimeError(f"NSD on {self.addresses} did not answer within 10 s: {log[-500:]}") from None
                time.sleep(0.05)

    def terminate(self) -> int | None:
        """Ask the process (its pid file names it) to stop; its pid, or None when it is not running."""
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            pid = int((self.directory / "nsd.pid").read_text().strip())
            os.kill(pid, signal.SIGTERM)
            return pid
        return None


def stop_all(servers: list[Nsd]) -> None:
    """Stop NSD processes together: each takes a second or two to exit, so they are signalled first, then awaited."""
    pids = [pid for pid in (s.terminate() for s in servers) if pid is not None]
    deadline = time.monotonic() + 15
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class DnsWorld:
    """One DNS variant: a parent server (org, io) and the zones' servers, and the checker options to reach them."""

    variant: str
    parent: Nsd
    child: Nsd
    args: list[str]

    @property
    def servers(self) -> list[Nsd]:
        """Both NSD processes."""
        return [self.parent, self.child]


class DnsFactory:
    """Builds DNS variants on demand, each on its own 127.0.x.0/24, with keys made once."""

    def __init__(self, directory: Path, recording: Recording, world_outputs: Mapping[str, Any]) -> None:
        self.directory = directory
        self.recording = recording
        self.outputs = world_outputs
        keys_dir = directory / "keys"
        keys_dir.mkdir(parents=True)
        self.keys = {zone: make_keys(keys_dir, zone) for zone in (*ZONES, *PARENTS.values())}
        self.worlds: dict[str, DnsWorld] = {}

    def world(self, variant: str) -> DnsWorld:
        """The DNS world of ``variant`` (started on first use)."""
        if variant not in self.worlds:
            self.worlds[variant] = self._start(variant)
        return self.worlds[variant]

    def _start(self, variant: str) -> DnsWorld:
        index = DNS_VARIANTS.index(variant)
        base = f"127.0.{30 + index}"
        parent_addr, ns_a, ns_b = f"{base}.1", f"{base}.2", f"{base}.3"
        port = _free_port(parent_addr)
        here = self.directory / variant
        here.mkdir(parents=True)
        zone_files: dict[str, Path] = {}
        for zone in ZONES:
            lines = zone_lines(self.recording, zone, self.outputs)
            if variant == "missing-record" and zone == "python.org":
                lines = [line for line in lines if not line.startswith("docs.python.org. ")]
            if variant == "wrong-target" and zone == "python.org":
                lines = [
                    line.replace("dualstack.python.map.fastly.net.", "dualstack.wrong.map.fastly.net.")
                    if line.startswith("www.python.org. ") else line
                    for line in lines
                ]  # fmt: skip
            expired = variant == "expired-signature" and zone == "python.org"
            zone_files[zone] = sign(here, zone, lines, self.keys[zone], expired=expired)
        parent_files: dict[str, Path] = {}
        for zone, parent in PARENTS.items():
            servers = list(NAME_SERVERS)
            if variant == "lame-delegation" and zone == "python.org":
                servers = [NAME_SERVERS[0], LAME_SERVER]
            lines = [f"{zone}. 3600 IN NS {s}." for s in servers]
            lines.append(f"{zone}. 3600 IN DS {self.keys[zone].ds}")
            parent_files[parent] = sign(here, parent, lines, self.keys[parent])
        parent_nsd = Nsd(here / "parent", (parent_addr,), port, parent_files)
        child_nsd = Nsd(here / "child", (ns_a, ns_b), port, zone_files)
        args = ["--resolver", "none", "--confine", "127.0.0.0/8"]
        for name, address in (
            (NAME_SERVERS[0], ns_a), (NAME_SERVERS[1], ns_b), (PARENT_SERVER, parent_addr), (LAME_SERVER, parent_addr),
        ):  # fmt: skip
            args += ["--connect-to", f"{name}:53:{address}:{port}"]
        for parent in PARENTS.values():
            args += ["--zone-ns", f"{parent}={PARENT_SERVER}", "--trust-anchor", f"{parent}={self.keys[parent].ds}"]
        return DnsWorld(variant, parent_nsd, child_nsd, args)

    def stop(self) -> None:
        """Stop every variant started."""
        stop_all([server for world in self.worlds.values() for server in world.servers])


# --- HTTPS, HTTP, SMTP ------------------------------------------------------------------------------------------


@dataclass
class Behaviour:
    """What the web servers of one variant answer."""

    statuses: dict[str, dict[str, int]] = field(default_factory=lambda: {h: dict(p) for h, p in WEB.items()})
    hsts: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(WEB, True))
    redirect: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(WEB, True))


class _Handler(http.server.BaseHTTPRequestHandler):
    timeout = 5
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        server = self.server
        assert isinstance(server, _Server)
        status, headers = server.answer(host, self.path, self.headers)
        body = b"ok\n"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, kind: str, behaviour: Behaviour, context: ssl.SSLContext | None) -> None:
        self.kind, self.behaviour, self.context = kind, behaviour, context
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake runs in the request's thread, so a client that hangs up mid-handshake blocks nobody.
        if self.context is not None:
            try:
                request = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        with contextlib.suppress(OSError):
            super().finish_request(request, client_address)

    def answer(self, host: str, path: str, headers: Any) -> tuple[int, dict[str, str]]:
        b = self.behaviour
        if self.kind == "http":
            if b.redirect.get(host, False):
                return 301, {"Location": f"https://{host}{path}"}
            return 200, {}
        if self.kind == "origin":
            return (200, {}) if headers.get("Fastly-Token") else (403, {})
        status = b.statuses.get(host, {}).get(path, 404)
        out = {"Strict-Transport-Security": HOST_HSTS.get(host, HSTS)} if b.hsts.get(host, False) else {}
        if status == 301:
            out["Location"] = "https://www.python.org/"
        return status, out


class _Smtp(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)


class _SmtpHandler(socketserver.StreamRequestHandler):
    timeout = 5

    def handle(self) -> None:
        with contextlib.suppress(OSError):
            self.wfile.write(b"220 mail.ams1.psf.io ESMTP Postfix (test world)\r\n")
            if self.rfile.readline(512).strip().upper() == b"QUIT":
                self.wfile.write(b"221 2.0.0 Bye\r\n")


@dataclass
class WebWorld:
    """One web variant's servers and the checker options that reach them."""

    variant: str
    servers: list[socketserver.BaseServer]
    args: list[str]

    def stop(self) -> None:
        """Shut every server down."""
        for server in self.servers:
            server.shutdown()
            server.server_close()


class WebFactory:
    """Builds web variants on demand; one CA, certificates made per variant."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ca = trustme.CA(organization_name=f"{ISSUER} (psf-infra verify test CA)")
        # Trusted too, but not the authority the stack declares: a certificate from it must fail.
        self.other_ca = trustme.CA(organization_name="Another CA (psf-infra verify test CA)")
        self.ca_file = directory / "ca.pem"
        self.ca_file.write_bytes(self.ca.cert_pem.bytes() + self.other_ca.cert_pem.bytes())
        # A port that refuses: bound, never listening, kept for the session so nobody else takes it.
        self._closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._closed.bind(("127.0.0.1", 0))
        self.closed_port = self._closed.getsockname()[1]
        self.worlds: dict[str, WebWorld] = {}

    def world(self, variant: str) -> WebWorld:
        """The web world of ``variant`` (started on first use)."""
        if variant not in self.worlds:
            self.worlds[variant] = self._start(variant)
        return self.worlds[variant]

    def _context(
        self, *names: str, not_after: dt.datetime | None = None, not_before: dt.datetime | None = None
    ) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert(*names, not_before=not_before, not_after=not_after).configure_cert(context)
        return context

    def _start(self, variant: str) -> WebWorld:
        now = dt.datetime.now(dt.UTC)
        contexts = {host: self._context(host) for host in WEB}
        behaviour = Behaviour()
        if variant == "expired-certificate":
            contexts["www.python.org"] = self._context(
                "www.python.org", not_before=now - dt.timedelta(days=90), not_after=now - dt.timedelta(days=1)
            )
        elif variant == "wrong-name":
            contexts["docs.python.org"] = self._context("wiki.python.org")
        elif variant == "expiring-soon":
            contexts["mail.python.org"] = self._context("mail.python.org", not_after=now + dt.timedelta(days=5))
        elif variant == "wrong-issuer":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.other_ca.issue_cert("docs.python.org").configure_cert(context)
            contexts["docs.python.org"] = context
        elif variant == "no-hsts":
            behaviour.hsts["mail.python.org"] = False
        elif variant == "wrong-status":
            behaviour.statuses["www.python.org"]["/ftp/python/"] = 404
        elif variant == "no-redirect":
            behaviour.redirect["docs.python.org"] = False

        default = self._context("default.invalid")

        def pick(sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: ssl.SSLContext) -> None:
            if name in contexts:
                sock.context = contexts[name]

        default.sni_callback = pick
        https = _Server("https", behaviour, default)
        plain = _Server("http", behaviour, None)
        origin = _Server("origin", behaviour, self._context(*DROPLETS))
        smtp = _Smtp()
        servers: list[socketserver.BaseServer] = [https, plain, origin, smtp]
        for server in servers:
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        args = ["--ca-file", str(self.ca_file)]
        for host in WEB:
            args += [
                "--connect-to",
                f"{host}:443:127.0.0.1:{https.port}",
                "--connect-to",
                f"{host}:80:127.0.0.1:{plain.port}",
            ]
        for host in DROPLETS:
            address = droplet_address(host)
            https_target = self.closed_port
            if variant == "origin-open" and host == "docs-1.nyc1.psf.io":
                https_target = https.port  # the public server: answers 200 without the token
            if variant == "origin-open-with-token-check" and host == "docs-2.nyc1.psf.io":
                https_target = origin.port  # reachable, but refuses without the token
            args += ["--connect-to", f"{address}:443:127.0.0.1:{https_target}"]
            args += ["--connect-to", f"{address}:80:127.0.0.1:{self.closed_port}"]
        smtp_port = self.closed_port if variant == "smtp-closed" else smtp.server_address[1]
        args += ["--connect-to", f"{MX_HOST}:25:127.0.0.1:{smtp_port}"]
        return WebWorld(variant, servers, args)

    def stop(self) -> None:
        """Stop every variant started and release the closed port."""
        for world in self.worlds.values():
            world.stop()
        self._closed.close()


def write_outputs(path: Path, world_outputs: Mapping[str, Any]) -> Path:
    """The outputs as a file, as ``--outputs`` takes it."""
    path.write_text(json.dumps(world_outputs, indent=2))
    return path


@contextlib.contextmanager
def factories(directory: Path, recording: Recording) -> Iterator[tuple[DnsFactory, WebFactory, dict[str, Any]]]:
    """Both factories for one test session, stopped at the end whatever happened."""
    world_outputs = outputs(recording)
    dns_factory = DnsFactory(directory / "dns", recording, world_outputs)
    web_factory = WebFactory(directory)
    try:
        yield dns_factory, web_factory, world_outputs
    finally:
        dns_factory.stop()
        web_factory.stop()
