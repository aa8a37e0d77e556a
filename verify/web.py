"""HTTPS, origin and mail checks: what a visitor, an attacker probing an origin and a mail server each see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from cryptography import x509
from cryptography.x509.oid import NameOID

from verify.expect import ORIGIN_PORTS, Certificate, Droplet, Expectations, MailHost, OriginUse, WebHost
from verify.net import HttpResponse, Network, NetworkError, TlsError
from verify.report import Check, Outcome, failed, passed, skipped

REDIRECT_STATUSES = frozenset({301, 302, 307, 308})


def _hsts_directives(value: str) -> dict[str, str]:
    """HSTS directives by lower-case name (RFC 6797 6.1: order and case do not matter)."""
    directives: dict[str, str] = {}
    for part in value.split(";"):
        name, _, argument = part.strip().partition("=")
        if name:
            directives[name.strip().lower()] = argument.strip().strip('"')
    return directives


class WebChecks:
    """The HTTPS, origin and SMTP rows of a run."""

    def __init__(self, net: Network, expected: Expectations, *, now: Callable[[], dt.datetime] | None = None) -> None:
        self.net = net
        self.expected = expected
        self.now = now or (lambda: dt.datetime.now(dt.UTC))

    def checks(self) -> list[Check]:
        """Rows for every certificate, public host, droplet and mail host the stack declares."""
        rows: list[Check] = []
        for cert in self.expected.certificates:
            label = "tls" if cert.port == 443 else f"tls :{cert.port}"
            rows.append(Check("https", cert.host, label, lambda c=cert: self.certificate(c)))
        for host in self.expected.web:
            rows.append(Check("https", host.host, "hsts", lambda h=host: self.hsts(h)))
            for path, status in host.statuses:
                rows.append(
                    Check("https", host.host, f"status {path}", lambda h=host, p=path, s=status: self.status(h, p, s))
                )
            rows.append(Check("https", host.host, "http redirect", lambda h=host: self.redirect(h)))
        for droplet in self.expected.droplets:
            for family, address in (("", droplet.ipv4), (" ipv6", droplet.ipv6)):
                if family and not self.net.options.ipv6:
                    continue
                for port in ORIGIN_PORTS:
                    name = f"closed {port}{family}"
                    rows.append(
                        Check("origins", droplet.host, name, lambda d=droplet, a=address, p=port: self.closed(d, a, p))
                    )
            for use in droplet.origin_of:
                rows.append(
                    Check("origins", droplet.host, f"token {use.service}", lambda d=droplet, u=use: self.token(d, u))
                )
        for mail in self.expected.mail:
            rows.append(Check("mail", mail.host, "smtp banner", lambda m=mail: self.smtp(m)))
        return rows

    # --- HTTPS -------------------------------------------------------------------------------------------------

    def certificate(self, cert: Certificate) -> Outcome:
        """A trusted chain, valid for the host name, more than ``min_days`` left, from the declared issuer."""
        try:
            session = self.net.tls(cert.host, cert.port)
        except TlsError as exc:
            return failed(str(exc))
        except NetworkError as exc:
            return failed(f"no TLS connection: {exc}")
        parsed = x509.load_der_x509_certificate(session.certificate)
        left = parsed.not_valid_after_utc - self.now()
        days = left.days
        issuer = ", ".join(str(a.value) for a in parsed.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
        issuer = issuer or parsed.issuer.rfc4514_string()
        if left < dt.timedelta(days=cert.min_days):
            return failed(
                f"expires {parsed.not_valid_after_utc:%Y-%m-%d}, {days} days left; needs more than {cert.min_days}"
            )
        if cert.issuer and cert.issuer.lower() not in issuer.lower():
            return failed(f"issued by {issuer}; the stack declares {cert.issuer}")
        return passed(f"{session.version} at {session.address}, issuer {issuer}, {days} days left")

    def _fetch(self, host: WebHost, path: str) -> HttpResponse | Outcome:
        """The response for ``path``, or the outcome to report when there is none to judge."""
        try:
            self.net.tls(host.host)
        except NetworkError:
            return skipped("no trusted TLS connection (see its tls row)")
        try:
            return self.net.http(host.host, path)
        except NetworkError as exc:
            return failed(str(exc))

    def hsts(self, host: WebHost) -> Outcome:
        """Strict-Transport-Security as the Fastly service declares it."""
        if host.hsts is None:
            return skipped("no HSTS header declared" + ("" if host.service else " (not behind Fastly)"))
        path = host.statuses[0][0] if host.statuses else "/"
        response = self._fetch(host, path)
        if isinstance(response, Outcome):
            return response
        got = response.header("Strict-Transport-Security")
        if got is None:
            return failed(f"no Strict-Transport-Security header on {path} (declared: {host.hsts})")
        if _hsts_directives(got) != _hsts_directives(host.hsts):
            return failed(f"Strict-Transport-Security is {got!r}, declared {host.hsts!r}")
        return passed(got)

    def status(self, host: WebHost, path: str, expected: int) -> Outcome:
        """The status the synthetic test expects, without following redirects (as the synthetic does)."""
        response = self._fetch(host, path)
        if isinstance(response, Outcome):
            return response
        location = response.header("Location")
        shown = f"{response.status}" + (f" -> {location}" if location and response.status in REDIRECT_STATUSES else "")
        if response.status != expected:
            return failed(f"GET {path} answered {shown}, expected {expected}")
        return passed(f"GET {path} answered {shown}")

    def redirect(self, host: WebHost) -> Outcome:
        """Plain HTTP answers with a redirect to an https:// URL."""
        if not host.redirects_to_https:
            return skipped("no HTTP-to-HTTPS redirect declared" + ("" if host.service else " (not behind Fastly)"))
        try:
            response = self.net.http(host.host, "/", scheme="http")
        except NetworkError as exc:
            return failed(str(exc))
        location = response.header("Location") or ""
        if response.status not in REDIRECT_STATUSES or not location.lower().startswith("https://"):
            return failed(f"http://{host.host}/ answered {response.status} {location or '(no Location)'}")
        return passed(f"{response.status} -> {location}")

    # --- origins -----------------------------------------------------------------------------------------------

    def closed(self, droplet: Droplet, address: str | None, port: int) -> Outcome:
        """The droplet's public address refuses ``port`` from here, unless its firewall opens it to everyone."""
        if port in droplet.world_ports:
            return skipped(f"the firewall opens {port} to everyone: served directly, not an origin")
        if address is None:
            return failed("no public address for it in the stack outputs (droplet_addresses)")
        state, where = self.net.probe(address, port)
        if state == "open":
            return failed(f"{where} accepts connections from here; only Fastly may reach it")
        reason = {"refused": "refused", "timeout": "dropped (no answer)", "unreachable": "unreachable"}[state]
        return passed(f"{where}: {reason}")

    def token(self, droplet: Droplet, use: OriginUse) -> Outcome:
        """Where the origin is reachable at all, it answers 403 to a request without the Fastly token."""
        if droplet.ipv4 is None:
            return failed("no public address for it in the stack outputs (droplet_addresses)")
        state, where = self.net.probe(droplet.ipv4, 443)
        if state != "open":
            return skipped(f"not reachable from here ({where}), as it should be; the token is Fastly's to send")
        try:
            response = self.net.http(
                droplet.ipv4, "/", server_name=use.tls_name, host_header=use.host_header, verify=False
            )
        except NetworkError as exc:
            return failed(f"reachable, but {exc}")
        if response.status != 403:
            return failed(f"{where} answered {response.status} without the Fastly token; expected 403")
        return passed(f"{where} answered 403 without the Fastly token")

    # --- mail --------------------------------------------------------------------------------------------------

    def smtp(self, mail: MailHost) -> Outcome:
        """The MX host greets with a 220 banner on port 25."""
        try:
            line, address = self.net.banner(mail.host, 25)
        except NetworkError as exc:
            return failed(f"no SMTP greeting on port 25: {exc}")
        if not line.startswith("220"):
            return failed(f"{address} port 25 greeted with {line[:80]!r}, not 220")
        return passed(f"{address}: {line[:80]}")
