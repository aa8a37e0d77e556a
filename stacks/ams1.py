"""ams1 (DigitalOcean AMS3): mail.python.org, Mailman's web interface behind Fastly and Postfix SMTP direct."""

from __future__ import annotations

from components.vm_service import PublicPort, Volume
from stacks.context import Estate, Host, MirrorOrigin, WebRole
from stacks.datacenter import DatacenterSite
from stacks.settings import Settings

MAIL = WebRole(
    key="mail",
    hosts=(Host("mail.python.org", "python.org"),),
    weight="medium",
    single="Mailman's queues and list archives live on one host's disk; Postfix hands mail to that Mailman",
    # SMTP is the one public port outside Fastly: other mail servers deliver to it directly.
    public_ports=(PublicPort(25),),
    volumes=(Volume("lists", 100),),
    stateful=True,
    tcp_checks=(("smtp", 25),),
    # psf-salt's mail role matches exactly mail.ams1.psf.io: one host, named without a number.
    salt_role="mail",
    # Other mail servers deliver to the MX target's address, so it outlives a rebuilt droplet: mx.ams1 names
    # the reserved address. Mail leaves from the droplet's own address, whose reverse DNS (DigitalOcean's,
    # from the droplet name) is mail.ams1: that name keeps the droplet's address so the two agree, and SPF
    # names it (a:) as well as the MX.
    reserved_ip=True,
    reserved_name="mx",
)


def _names(label: str, settings: Settings) -> tuple[str, ...]:
    # A single-server role's names are unnumbered (see stacks.context.WebRole).
    if MAIL.single:
        return (f"{label}.ams1.{settings.internal_domain}",)
    return tuple(f"{label}-{n}.ams1.{settings.internal_domain}" for n in range(1, settings.replicas + 1))


def mail_hosts(settings: Settings) -> tuple[str, ...]:
    """The python.org MX targets: the names of the Postfix servers' reserved addresses (known before they exist)."""
    assert MAIL.reserved_name is not None
    return _names(MAIL.reserved_name, settings)


def mail_senders(settings: Settings) -> tuple[str, ...]:
    """The Postfix servers' own host names, which outgoing mail comes from: python.org's SPF names them."""
    return _names(MAIL.key, settings)


def build(site: DatacenterSite, estate: Estate) -> None:
    """Create ams1's services."""
    estate.vm_service(site, site.dc, site.vpc.id, MAIL, MirrorOrigin(None))
