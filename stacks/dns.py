"""Route 53 zones for every PSF domain: CAA everywhere, SPF and DMARC everywhere, and how each zone is delegated.

**Who delegates what.** In prod the registrar (Gandi) points every apex at the name servers of one reusable
delegation set, so they survive a zone's replacement. Staging must resolve from the public DNS too, yet
prod may not depend on anything staging creates, and staging is torn down and rebuilt at will. So:

- prod owns a second reusable delegation set for the domains it hands to other stacks
  (``delegatedDomains``: ``staging.psf.io``) and publishes, in the zone that contains each of them
  (``psf.io``), NS records naming that set's servers. They are known as soon as the set exists, before
  any staging zone does, and every zone later created on the set answers with exactly those servers.
- staging reads the set's ID from prod's ``delegated_domains`` output (a stack reference: no value is
  copied by hand) and puts its one top zone, ``staging.psf.io``, on it. Every other staging zone
  (``python-org.staging.psf.io``, ``int.staging.psf.io``, ...) is a child of that top zone, which
  delegates to it with NS records made from the child's own name servers, in the same stack.

Why one staging top zone rather than each staging zone directly on prod's set: prod then needs to know one
name, not the list of staging's zones (a domain added to staging needs no prod deploy); a child zone can be
replaced create-first, because the NS record that points at it changes in the same update; and only the
top zone, on the set, must be replaced delete-first (Route 53 refuses two zones of one name on one set).
The set cannot also carry the children: Route 53 refuses a parent and a child zone with a common name
server (ConflictingDomainExists), which is also why prod's staging set is not its main one. A delegation
set serves at most 100 zones by default, far more than these.

**Mail.** A domain either sends mail, from the senders ``mailSenders`` lists (plus its MX hosts), under an
enforcing DMARC policy, or sends none: ``v=spf1 -all`` and DMARC ``p=reject``. DMARC records use no tag
DMARCbis removed, and reject mail from subdomains that do not exist (``np=reject``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
import pulumi_aws as aws
from pulumi.errors import RunError

from components.dns_zone import (
    NS_TTL,
    CaaPolicy,
    DelegationSet,
    DmarcPolicy,
    DnsZone,
    DnsZoneArgs,
    MailSettings,
    MxHost,
    RecordSpec,
)
from components.edge_tls import CERTIFICATE_AUTHORITIES
from components.monitors import MetricAlert, ServiceMonitors
from stacks.catalog import DOMAINS, INFRA_CONTACT
from stacks.context import Estate
from stacks.ownership import Ownership
from stacks.providers import Providers
from stacks.settings import PROJECT, MailSenders, Settings, SettingsError

# Every domain in the seed documents. Keys are the prod names; staging renames them (Settings.public_domain).
PUBLIC_DOMAINS: Final = DOMAINS
MAIL_DOMAIN: Final = "python.org"
# Authorities the estate's own hosts get certificates from for names in a zone (prod names), besides the one
# Fastly uses (tlsCertificateAuthority), which every zone's CAA allows. psf-salt's Salt master requests Let's
# Encrypt certificates over HTTP-01 (salt/tls/init.sls acme.cert, the certbot package) for the public names
# in pillar/base/tls.sls acme_cert_configs: bugs.python.org with bugs.jython.org and
# issues.roundup-tracker.org, buildbot, legacy with hg, planetpython.org, speed with speed.pypy.org, wiki with
# wiki.jython.org, www.pycon.org, salt-public.psf.io; and mail.python.org's is Let's Encrypt's (psf-salt
# docs/ssl.rst). The droplet origins' certificates come from the PSF's private CA, which no CAA names; nothing
# here uses Amazon's (ACM), which pypi/infra's CAA also allows for its own zone. Only prod's names are issued
# for: a staging zone's CAA allows Fastly's authority alone.
HOST_CERTIFICATE_AUTHORITIES: Final[Mapping[str, tuple[str, ...]]] = {
    "python.org": ("letsencrypt.org",),
    "jython.org": ("letsencrypt.org",),
    "roundup-tracker.org": ("letsencrypt.org",),
    "planetpython.org": ("letsencrypt.org",),
    "pycon.org": ("letsencrypt.org",),
    "pypy.org": ("letsencrypt.org",),
    "psf.io": ("letsencrypt.org",),
}
# The stack output naming what prod delegates: {domain: {"delegation_set_id", "name_servers"}}.
DELEGATED_OUTPUT: Final = "delegated_domains"
# Who publishes the NS records of prod's apexes.
REGISTRAR: Final = "registrar"
# Inside staging, a child zone's name servers change when it is replaced: resolvers should not hold the old
# ones for long. Prod's delegation names a reusable set, which never changes, so it keeps Route 53's TTL.
CHILD_DELEGATION_TTL: Final = 300
# Hosts below a domain that send mail nothing here can authenticate: Roundup's jython tracker writes as
# report@bugs.jython.org (psf-salt pillar/base/bugs.sls), and bugs.jython.org is a CNAME to Fastly, so it can
# hold no SPF record. Its own DMARC record (p=none) keeps the domain's p=reject from rejecting that mail.
UNAUTHENTICATED_SENDERS: Final[Mapping[str, tuple[str, ...]]] = {"jython.org": ("bugs",)}
# Route 53's DNSSEC failure metrics (CloudWatch namespace AWS/Route53, per HostedZoneId, us-east-1), as
# Datadog's AWS integration names them.
DNSSEC_METRICS: Final = (
    (
        "dnssec-ksk-action-needed",
        "aws.route53.dnssec_key_signing_keys_needing_action",
        "DNSSEC key-signing key needs action in hosted zone {{hostedzoneid.name}}",
        "A key-signing key of hosted zone {{hostedzoneid.name}} needs action (its KMS key is disabled, deleted "
        "or no longer usable by Route 53). Fix it before the signatures expire and validating resolvers stop "
        "resolving the domain.",
    ),
    (
        "dnssec-internal-failure",
        "aws.route53.dnssec_internal_failure",
        "DNSSEC internal failure in hosted zone {{hostedzoneid.name}}",
        "Route 53 reports a DNSSEC internal failure for hosted zone {{hostedzoneid.name}}: it cannot sign the "
        "zone, and validating resolvers will stop resolving it once the current signatures expire.",
    ),
)


class DelegationError(RunError):
    """A delegation the stacks cannot agree on, found once a stack's outputs or name servers are known.

    It reads like a :class:`~stacks.settings.SettingsError`, naming the key to change. It is a RunError but
    not a ValueError, so the SDK passes it through its serialisation of resource inputs unwrapped and the
    CLI prints its one line.
    """

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        self.value = value
        super().__init__(f"config {PROJECT}:{key} = {value!r} is invalid: {allowed}")


def caa_policy(settings: Settings, domain: str | None) -> CaaPolicy:
    """The CAA of the zone for prod domain ``domain`` (None: a zone of this stack's own, like staging's top).

    Fastly's authority first, then the ones the estate's hosts use there (prod only), and nothing else.
    """
    issuers = [CERTIFICATE_AUTHORITIES[settings.tls_certificate_authority]]
    if settings.is_prod and domain is not None:
        issuers += HOST_CERTIFICATE_AUTHORITIES.get(domain, ())
    return CaaPolicy(issuers=tuple(dict.fromkeys(issuers)), iodef=INFRA_CONTACT)


def logical_name(domain: str) -> str:
    """The stable logical name of a zone: its prod domain with dots as dashes (``python-org``)."""
    return domain.replace(".", "-")


@dataclass(frozen=True)
class Zones:
    """The stack's zones and what it delegates to other stacks.

    ``zones`` is keyed by prod domain, the internal zone by its own name and staging's top zone by the
    stack's domain suffix. ``delegated`` (prod): each delegated domain with its delegation set's ID and
    name servers, exported as ``delegated_domains`` for the stacks that serve those domains.
    """

    zones: dict[str, DnsZone]
    delegated: Mapping[str, Mapping[str, pulumi.Input[Any]]] = field(default_factory=dict)

    def outputs(self) -> dict[str, Any]:
        """Stack outputs: the delegations, each zone's name servers, and each signed zone's DS record.

        The DS record is what the registrar needs to complete the chain of trust.
        """
        return {
            DELEGATED_OUTPUT: dict(self.delegated),
            "name_servers": {zone.name: zone.name_servers for zone in self.zones.values()},
            "ds_records": {z.name: z.ds_record for z in self.zones.values() if z.ds_record is not None},
        }


def _senders(settings: Settings) -> dict[str, MailSenders]:
    senders = {s.domain: s for s in settings.mail_senders}
    for domain in senders:
        if domain not in PUBLIC_DOMAINS:
            raise SettingsError(
                "mailSenders", domain, "must name the estate's domains (prod names): " + ", ".join(PUBLIC_DOMAINS)
            )
    return senders


def domain_mail(
    settings: Settings,
    domain: str,
    mail_hosts: tuple[str, ...],
    sending_hosts: tuple[str, ...] = (),
    priorities: Mapping[str, int] | None = None,
) -> MailSettings:
    """SPF, DKIM and DMARC of a public domain (prod name) in this stack.

    ``sending_hosts`` are the MX servers' own names, which python.org's mail leaves from when the MX targets
    name other addresses (reserved ones, which carry no reverse DNS and send nothing). ``priorities`` gives
    each MX target its preference (10 unless given): the secondary MX's is the higher number.
    """
    senders = _senders(settings).get(domain)
    rua = (f"dmarc-reports@{settings.public_domain(MAIL_DOMAIN)}",) if domain == MAIL_DOMAIN else ()
    if senders is None:
        return MailSettings.no_mail(rua=rua)
    mx = tuple(MxHost(host, (priorities or {}).get(host, 10)) for host in mail_hosts) if domain == MAIL_DOMAIN else ()
    own = sending_hosts if domain == MAIL_DOMAIN else ()
    return MailSettings(
        mx=mx,
        spf_includes=senders.includes,
        spf_a=tuple(dict.fromkeys((*senders.hosts, *own))),
        spf_ip4=senders.ipv4,
        spf_ip6=senders.ipv6,
        spf_mx=True,
        dkim=dict(settings.dkim_keys) if domain == MAIL_DOMAIN else {},
        # The PSF's own choice for its sending domains (python.org, pypi/infra for pypi.org): quarantine.
        dmarc=DmarcPolicy(rua=rua, non_existent_policy="reject"),
    )


def internal_mail() -> MailSettings:
    """The internal zone sends no mail from its apex; its hosts do, so only their subdomains are spared.

    Every droplet mails cron and alert output as ``root@<its host name>`` through the smarthost of
    psf-salt's ``system-mail`` pillar (``salt/base/config/ssmtp.conf.jinja`` rewrites the domain to the
    host's FQDN). That relay's SPF and DKIM are not visible here, so existing subdomains get ``sp=none``;
    subdomains that do not exist still get ``np=reject``.
    """
    return MailSettings.no_mail(subdomain_policy="none")


def _tracker_records(domain: str) -> tuple[RecordSpec, ...]:
    monitoring_only = DmarcPolicy(policy="none").text()
    return tuple(
        RecordSpec(f"_dmarc.{host}", "TXT", (monitoring_only,)) for host in UNAUTHENTICATED_SENDERS.get(domain, ())
    )


def _delegation_set_id(exported: Any, settings: Settings) -> str:
    """The delegation set the delegating stack made for this stack's domain suffix, from its output."""
    stack, suffix = settings.delegation_stack, settings.domain_suffix
    if not isinstance(exported, Mapping):
        raise DelegationError(
            "delegationStack",
            stack,
            f"exports no {DELEGATED_OUTPUT}: deploy that stack first, with {suffix} in its psf-infra:delegatedDomains",
        )
    entry = exported.get(suffix)
    if not isinstance(entry, Mapping) or not isinstance(entry.get("delegation_set_id"), str):
        delegated = ", ".join(sorted(exported)) or "nothing"
        raise DelegationError(
            "domainSuffix",
            suffix,
            f"is not delegated by {stack} (it delegates: {delegated}); add it to psf-infra:delegatedDomains in "
            "that stack's file and deploy that stack first",
        )
    return entry["delegation_set_id"]


def _disjoint(main: Sequence[str], delegated: Sequence[str]) -> list[str]:
    """``delegated``'s name servers, once sure they share none with ``main``.

    The delegated domains are children of zones on ``main``; Route 53 refuses a child zone with a name server
    in common with its parent (ConflictingDomainExists), and two delegation sets may share servers.
    """
    shared = sorted(set(main) & set(delegated))
    if shared:
        raise DelegationError(
            "delegatedDomains",
            shared,
            "the delegated domains' delegation set shares these name servers with the main one, so Route 53 would "
            "refuse their zones: replace it (`pulumi state unprotect` then `pulumi up --replace` on its URN) "
            "before any stack uses it",
        )
    return sorted(delegated)


def _holder(domain: str, zones: Mapping[str, DnsZone]) -> tuple[DnsZone, str]:
    """The zone that contains ``domain`` most closely, and the name relative to it."""
    parents = [z for z in zones.values() if domain.endswith("." + z.name)]
    if not parents:
        names = ", ".join(sorted(z.name for z in zones.values()))
        raise SettingsError("delegatedDomains", domain, f"must lie inside one of this stack's zones: {names}")
    parent = max(parents, key=lambda z: len(z.name))
    return parent, domain[: -len(parent.name) - 1]


def build_zones(
    settings: Settings,
    providers: Providers,
    parent: pulumi.Resource,
    mail_hosts: tuple[str, ...],
    sending_hosts: tuple[str, ...] = (),
    mx_priorities: Mapping[str, int] | None = None,
) -> Zones:
    """Every public zone plus the internal one, and the delegations that make them resolve.

    ``mail_hosts`` are the MX targets, the names python.org's mail is delivered to, with ``mx_priorities``;
    ``sending_hosts`` the Postfix servers' own names, which it is sent from.
    """
    opts = pulumi.ResourceOptions(parent=parent)
    main_set: DelegationSet | None = None
    top: DnsZone | None = None
    if settings.is_prod:
        main_set = DelegationSet(
            "psf-delegation-set",
            provider=providers.aws,
            reference_name=settings.physical_name("zones"),
            protect=settings.protect,
            opts=opts,
        )
    else:
        reference = pulumi.StackReference("delegation-stack", stack_name=settings.delegation_stack, opts=opts)
        set_id = reference.get_output(DELEGATED_OUTPUT).apply(lambda exported: _delegation_set_id(exported, settings))
        top = DnsZone(
            "delegated-zone",
            DnsZoneArgs(
                domain=settings.domain_suffix,
                caa=caa_policy(settings, None),
                mail=MailSettings.no_mail(),
                # Signed like the rest; no DS record can anchor it in the delegating stack's zone, so
                # validating resolvers treat it as unsigned rather than failing it.
                dnssec=settings.dnssec,
                delegation_set_id=set_id,
                delegated_by=settings.delegation_stack,
                protect=settings.protect,
                comment=f"PSF {settings.environment.value}: every zone of this stack, delegated by its parent",
            ),
            provider=providers.aws,
            opts=opts,
        )

    zones: dict[str, DnsZone] = {}
    for domain in (*PUBLIC_DOMAINS, settings.internal_domain):
        is_internal = domain == settings.internal_domain
        if not is_internal and settings.owners.zone(domain) is Ownership.EXTERNAL:
            # Its owner makes it and all its records (ownership zone:<domain>=external); settings refuse a
            # part of this stack that would write in it.
            continue
        zones[domain] = DnsZone(
            # The internal zone keeps one logical name whatever the stack calls it (psf.io, int.staging.psf.io).
            "internal-zone" if is_internal else logical_name(domain),
            DnsZoneArgs(
                domain=domain if is_internal else settings.public_domain(domain),
                records=() if is_internal else _tracker_records(domain),
                caa=caa_policy(settings, domain),
                mail=internal_mail()
                if is_internal
                else domain_mail(settings, domain, mail_hosts, sending_hosts, mx_priorities),
                dnssec=settings.dnssec,
                delegation_set_id=main_set.delegation_set_id if main_set else None,
                delegated_by=REGISTRAR if settings.is_prod else None,
                protect=settings.protect,
                comment=f"PSF {settings.environment.value}: {'droplet host names' if is_internal else domain}",
            ),
            provider=providers.aws,
            opts=opts,
        )

    delegated: dict[str, Mapping[str, pulumi.Input[Any]]] = {}
    if top is not None:
        for zone in zones.values():
            top.delegate(zone.name[: -len(top.name) - 1], zone.name_servers, ttl=CHILD_DELEGATION_TTL)
        for domain, name_servers in external_name_servers(settings, providers, parent).items():
            top.delegate(domain[: -len(top.name) - 1], name_servers, ttl=CHILD_DELEGATION_TTL)
        zones[settings.domain_suffix] = top
    elif main_set is not None and settings.delegated_domains:
        delegated_set = DelegationSet(
            "delegated-domains",
            provider=providers.aws,
            reference_name=settings.physical_name("delegated"),
            protect=settings.protect,
            opts=opts,
        )
        name_servers = pulumi.Output.all(main_set.name_servers, delegated_set.name_servers).apply(
            lambda sets: _disjoint(sets[0], sets[1])
        )
        for domain in settings.delegated_domains:
            holder, relative = _holder(domain, zones)
            holder.delegate(relative, name_servers, ttl=NS_TTL)
            delegated[domain] = {"delegation_set_id": delegated_set.delegation_set_id, "name_servers": name_servers}
    return Zones(zones, delegated)


def external_name_servers(
    settings: Settings, providers: Providers, parent: pulumi.Resource
) -> dict[str, pulumi.Output[list[str]]]:
    """The name servers of each external zone below this stack's top zone (staging), read from Route 53.

    Outside prod every zone lives below the stack's top zone, which must delegate to it whoever owns it: the
    zone is looked up by name (``aws.route53.get_zone``), in this stack's account, and its name servers are
    published. In prod the registrar delegates the apexes, so an external prod zone is not looked up at all.
    """
    if settings.is_prod:
        return {}
    found: dict[str, pulumi.Output[list[str]]] = {}
    for domain in PUBLIC_DOMAINS:
        if settings.owners.zone(domain) is Ownership.EXTERNAL:
            name = settings.public_domain(domain)
            zone = aws.route53.get_zone_output(
                name=name, private_zone=False, opts=pulumi.InvokeOutputOptions(parent=parent, provider=providers.aws)
            )
            found[name] = zone.name_servers.apply(sorted)
    return found


def build_dnssec_monitors(estate: Estate, parent: pulumi.Resource) -> ServiceMonitors | None:
    """Alerts on Route 53's DNSSEC failure metrics for every signed zone; None when nothing is signed.

    Datadog monitors, like every other alert of the estate, so prod's page on-call and staging's (which
    signs nothing by default) reach nobody. One monitor per metric, grouped by hosted zone. The metrics
    reach Datadog through its AWS integration, which must collect Route 53 in us-east-1; they arrive late,
    so evaluation waits 15 minutes, and two hours without data alert (but never page) because a silent
    integration would otherwise look healthy.
    """
    signed = [zone for zone in estate.zones.values() if zone.ds_record is not None]
    if not signed:
        return None
    # Datadog lower-cases tag values; Route 53 zone IDs are upper case.
    scope = pulumi.Output.all(*(zone.zone_id for zone in signed)).apply(
        lambda ids: " OR ".join(f"hostedzoneid:{zone_id.lower()}" for zone_id in sorted(ids))
    )
    alerts = [
        MetricAlert(
            key=key,
            title=title,
            metric=metric,
            scope=scope,
            headline=headline,
            critical=1,
            group_by=("hostedzoneid",),
            window_min=15,
            evaluation_delay_s=900,
            no_data_min=120,
        )
        for key, metric, title, headline in DNSSEC_METRICS
    ]
    return estate.monitors(parent, "dns", "aws", metrics=alerts)
