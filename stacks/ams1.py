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
    # The MX target's address: other mail servers and blocklists know it, so it outlives a rebuilt droplet.
    reserved_ip=True,
)


def mail_hosts(settings: Settings) -> tuple[str, ...]:
    """Internal names of the Postfix servers, the python.org MX targets (known before they are built).

    A single-server role's host is ``<key>.<dc>.<domain>`` (see :class:`stacks.context.WebRole`).
    """
    if MAIL.single:
        return (f"{MAIL.key}.ams1.{settings.internal_domain}",)
    return tuple(f"{MAIL.key}-{n}.ams1.{settings.internal_domain}" for n in range(1, settings.replicas + 1))


def build(site: DatacenterSite, estate: Estate) -> None:
    """Create ams1's services."""
    estate.vm_service(site, site.dc, site.vpc.id, MAIL, MirrorOrigin(None))
