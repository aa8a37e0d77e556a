"""Certificate checks: what :class:`~components.monitors.ServiceMonitors` watches of a host's TLS certificate.

Kept apart from :mod:`components.monitors`, which re-exports :class:`TlsCheck`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from components.common import DATADOG_TAG as _TAG
from components.common import HOSTNAME as _HOST
from components.common import invalid as _fail

# SSL tests: a certificate changes rarely, so every 15 minutes for the alert (an invalid certificate is also
# seen within a minute by the HTTPS uptime checks) and every 6 hours for the 30-day warning.
SSL_TICK_EVERY: Final = 900
SSL_WARNING_TICK_EVERY: Final = 21_600
# The tag that tells a certificate's alert test from its warning test (`make verify` judges by the alert's).
CERTIFICATE_CHECK_TAG: Final = "certificate-check"


def _int_in(argument: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(argument, value, f"must be a whole number from {low} to {high}")


@dataclass(frozen=True)
class TlsCheck:
    """Certificate checks of one public host name: a Datadog SSL test that alerts, and one that warns.

    The alert fires when the certificate presented for ``host`` (SNI ``host``) expires in under
    ``alert_days``, or is not valid: an untrusted chain, a self-signed certificate, one revoked in its stapled
    OCSP response, or one not valid for the name. It pages like every other alert (on-call only where
    paging is on). A Datadog synthetic test has no warning state, so the warning is a second test,
    asserting more than ``warning_days`` left, run less often, whose message never pages. ``tags`` are added
    to both tests (who owns the certificate, say).
    """

    host: str
    port: int = 443
    alert_days: int = 14
    warning_days: int = 30
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not _HOST.match(self.host):
            raise _fail("TlsCheck.host", self.host, "must be a lower-case public host name such as www.example.org")
        _int_in("TlsCheck.port", self.port, 1, 65535)
        _int_in("TlsCheck.alert_days", self.alert_days, 1, 365)
        _int_in(f"TlsCheck({self.host}).warning_days", self.warning_days, self.alert_days + 1, 366)
        if isinstance(self.tags, str) or not all(isinstance(t, str) for t in self.tags):
            raise _fail("TlsCheck.tags", self.tags, "must be a tuple of tags")
        for tag in self.tags:
            if not _TAG.match(tag):
                raise _fail("TlsCheck.tags", tag, "must be lower-case Datadog tags in key:value form")

    @property
    def url(self) -> str:
        """The endpoint as an ``ssl://host:port`` URL, for lists of what is checked."""
        return f"ssl://{self.host}:{self.port}"
