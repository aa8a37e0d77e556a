"""ams1 (DigitalOcean AMS3): mail.python.org, Mailman's web interface behind Fastly and Postfix SMTP direct.

The secondary MX runs in sfo1 (its datacenter is the role's standby's), so one datacenter's outage never
leaves python.org without a server that accepts its mail.
"""

from __future__ import annotations

from components.vm_service import PublicPort, Volume
from stacks.context import Estate, Host, MirrorOrigin, Standby, WebRole
from stacks.datacenter import DatacenterSite
from stacks.settings import Settings

# The MX priorities: the primary is preferred; senders try the secondary only when it does not answer.
PRIMARY_MX_PRIORITY = 10
SECONDARY_MX_PRIORITY = 20

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
    # The secondary MX: the same reserved-address design (mx.sfo1 is its MX target, mail-secondary.sfo1 its
    # own name, which SPF names), port 25 open and checked like the primary's. It runs no Mailman.
    standby=Standby(
        datacenter="sfo1",
        host_label="mail-secondary",
        placement="sfo1: another continent from ams1, so no single datacenter holds both MX hosts",
        sync="Postfix as a backup MX: relay_domains python.org, relay_recipient_maps copied from the primary "
        "(unknown recipients are refused, not bounced later), a transport to mx.ams1.psf.io; it queues "
        "while the primary is unreachable and delivers when it answers again",
        psf_salt="psf-salt has no states for the mail role (the primary's Postfix and Mailman are set up by "
        "hand) and no role matches this host; its relay configuration, and the primary's trust of its own "
        "backup MX (no SPF or greylisting checks on mail it relays), are to be added",
        serves_web=False,
        psf_salt_role=False,
        # Postfix queues on the root disk; the lists stay with Mailman on the primary.
        volumes=(),
        # A relay that only queues: the smallest size of the stack will do.
        weight="small",
        title="secondary MX",
    ),
    no_standby="Mailman's web interface has none: Postorius and HyperKitty share Mailman's one database and "
    "list archives, and a copy would offer subscription and moderation forms whose changes the primary never "
    "sees; only receiving mail has a second server, the secondary MX",
)


def _host(label: str, datacenter: str, settings: Settings) -> str:
    # A single-server role's names are unnumbered (see stacks.context.WebRole), and so is its standby's.
    return f"{label}.{datacenter}.{settings.internal_domain}"


def _secondary(settings: Settings) -> Standby | None:
    """The secondary MX when this stack runs it: standbys on, and its datacenter deployed."""
    standby = MAIL.standby
    deployed = {dc.name for dc in settings.datacenters}
    if standby is None or not settings.standbys or standby.datacenter not in deployed:
        return None
    return standby


def mail_hosts(settings: Settings) -> tuple[str, ...]:
    """The python.org MX targets: the names of the Postfix servers' reserved addresses (known before they exist).

    The primary's (mx.ams1), then the secondary's (mx.sfo1) when this stack runs one.
    """
    assert MAIL.reserved_name is not None
    hosts = [_host(MAIL.reserved_name, "ams1", settings)]
    secondary = _secondary(settings)
    if secondary is not None:
        hosts.append(_host(MAIL.reserved_name, secondary.datacenter, settings))
    return tuple(hosts)


def mx_priorities(settings: Settings) -> dict[str, int]:
    """Each MX target's priority: the primary's is preferred."""
    primary, *secondary = mail_hosts(settings)
    return {primary: PRIMARY_MX_PRIORITY, **{host: SECONDARY_MX_PRIORITY for host in secondary}}


def mail_senders(settings: Settings) -> tuple[str, ...]:
    """The Postfix servers' own host names, which outgoing mail comes from: python.org's SPF names them.

    The secondary's too: mail it relays to the primary, python.org's own senders' included, leaves from it.
    """
    hosts = [_host(MAIL.key, "ams1", settings)]
    secondary = _secondary(settings)
    if secondary is not None:
        hosts.append(_host(secondary.host_label, secondary.datacenter, settings))
    return tuple(hosts)


def build(site: DatacenterSite, estate: Estate) -> None:
    """Create ams1's services (and, through the role's standby, the secondary MX in sfo1)."""
    estate.vm_service(site, site.dc, site.vpc.id, MAIL, MirrorOrigin(None))
