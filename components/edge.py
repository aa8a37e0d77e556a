"""A Fastly edge in front of one or more TLS origins, and the Route 53 records that send a host name to it.

One :class:`FastlyEdge` is one ``fastly.ServiceVcl``. It is the only place the estate describes Fastly, so a
VM service, a static site and an app hosted elsewhere all get the same origin TLS checks, health checks,
HSTS, stale-on-error behaviour and fallback logic. Everything is a typed, validated argument: the component
names no host of its own.

The arguments live in :mod:`components.edge_spec` and their translation into the provider's arguments in
:mod:`components.edge_vcl`; a managed certificate's resources are made by :mod:`components.edge_tls`. This
module re-exports the arguments, so callers import everything from here.

Providers: every component in this package takes the provider instances it needs as keyword-only
arguments named after the cloud (``fastly_provider``, ``aws_provider``, ``do_provider``), typed with the
SDK's ``Provider`` class. Default providers are disabled in this project, so nothing here ever falls back
to ambient credentials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import pulumi
import pulumi_aws as aws
import pulumi_fastly as fastly

from components.common import invalid as _fail
from components.edge_spec import (
    DATADOG_LOG_REGIONS,
    HEALTH_CHECK_METHODS,
    REDIRECT_STATUSES,
    SNIPPET_TYPES,
    DatadogLogging,
    DomainRedirect,
    EdgeArgs,
    EdgeDns,
    EdgeLogging,
    EdgeOptions,
    Fallback,
    FastlyDnsTarget,
    HealthCheck,
    MovedRecords,
    Origin,
    OriginTokenGuard,
    PathRoute,
    PublicHost,
    S3Logging,
    VclSnippet,
)
from components.edge_tls import (
    CERTIFICATE_AUTHORITIES,
    CertificateResources,
    ManagedCertificate,
    challenge_name,
    request_certificate,
)
from components.edge_vcl import (
    FALLBACK_CONDITION,
    GZIP_CONTENT_TYPES,
    GZIP_EXTENSIONS,
    ORIGIN_TOKEN_SNIPPET,
    STANDBY_CONDITION,
    origin_token_snippet_id,
    origin_token_vcl,
    service_args,
)

EDGE_TYPE: Final = "infra:edge:FastlyEdge"

__all__ = [
    "CERTIFICATE_AUTHORITIES",
    "DATADOG_LOG_REGIONS",
    "EDGE_TYPE",
    "FALLBACK_CONDITION",
    "GZIP_CONTENT_TYPES",
    "GZIP_EXTENSIONS",
    "HEALTH_CHECK_METHODS",
    "ORIGIN_TOKEN_SNIPPET",
    "REDIRECT_STATUSES",
    "SNIPPET_TYPES",
    "STANDBY_CONDITION",
    "DatadogLogging",
    "DomainRedirect",
    "EdgeArgs",
    "EdgeDns",
    "EdgeLogging",
    "EdgeOptions",
    "Fallback",
    "FastlyDnsTarget",
    "FastlyEdge",
    "HealthCheck",
    "ManagedCertificate",
    "MovedRecords",
    "Origin",
    "OriginTokenGuard",
    "PathRoute",
    "PublicHost",
    "S3Logging",
    "VclSnippet",
    "challenge_name",
    "point_hosts_at_fastly",
]


def point_hosts_at_fastly(
    resource_name: str,
    hosts: Sequence[PublicHost],
    target: FastlyDnsTarget,
    *,
    parent: pulumi.Resource,
    aws_provider: aws.Provider,
    depends_on: Sequence[pulumi.Resource] = (),
    moved: Mapping[str, MovedRecords] | None = None,
) -> list[aws.route53.Record]:
    """Create the Route 53 records sending each host to Fastly: a CNAME, or anycast A and AAAA at an apex.

    Records are children of ``parent`` and their logical names start with ``resource_name`` and contain
    the host, so two callers never collide and reordering ``hosts`` changes nothing. ``moved`` names, per
    host, where its records were registered before; their old URNs become aliases.
    """
    records: list[aws.route53.Record] = []
    for public in hosts:
        name = public.zone.record_name(public.host)
        if public.zone.is_apex(public.host):
            if not target.apex_ipv4:
                raise _fail("FastlyDnsTarget.apex_ipv4", (), f"must list addresses: {public.host} is a zone apex")
            answers = (("a", "A", target.apex_ipv4), ("aaaa", "AAAA", target.apex_ipv6))
        else:
            answers = (("cname", "CNAME", (target.cname,)),)
        before = (moved or {}).get(public.host)
        for suffix, kind, values in answers:
            if not values:
                continue
            aliases = (
                [pulumi.Alias(name=f"{before.resource_name}-{public.host}-{suffix}", parent=before.parent_urn)]
                if before is not None
                else None
            )
            records.append(
                aws.route53.Record(
                    f"{resource_name}-{public.host}-{suffix}",
                    zone_id=public.zone.zone_id,
                    name=name,
                    type=kind,
                    ttl=target.ttl,
                    records=list(values),
                    opts=pulumi.ResourceOptions(
                        parent=parent, provider=aws_provider, depends_on=list(depends_on), aliases=aliases
                    ),
                )
            )
    return records


class FastlyEdge(pulumi.ComponentResource):
    """One Fastly VCL service in front of TLS origins, optionally with the DNS records that point at it.

    Behaviour, from :class:`EdgeArgs`: one backend per origin (TLS with certificate check, SNI and, for a
    private CA, its certificate; shield, timeouts, connection cap and its own health check); the primaries
    load-balanced; path routes; a fallback origin used only when the primaries are down (or on the single
    retry after a primary failed); domains that redirect; HSTS; HTTPS forced; X-Forwarded-For appended;
    stale content served instead of origin errors; text compressed; access logs; and the origin
    shared-secret header, whose value is a secret resource of its own.

    With ``options.certificate`` it also requests a Fastly-managed certificate for every domain, answers its
    ACME challenges in each domain's zone (from ``dns.hosts``, so it needs ``dns``) and waits for it to be
    issued; the DNS records that send traffic here wait for that too, so a new name never serves a
    certificate error.

    Attributes: ``service`` (the ServiceVcl), ``service_id``, ``active_version``, ``domains``,
    ``dns_records`` (empty without ``dns``), ``origin_token`` (the ``ServiceDynamicSnippetContent`` that
    sets the origin token, or None), ``certificate`` (:class:`~components.edge_tls.CertificateResources`,
    or None).
    """

    service: fastly.ServiceVcl
    service_id: pulumi.Output[str]
    active_version: pulumi.Output[int]
    domains: tuple[str, ...]
    dns_records: list[aws.route53.Record]
    origin_token: fastly.ServiceDynamicSnippetContent | None
    certificate: CertificateResources | None

    def __init__(
        self,
        name: str,
        args: EdgeArgs,
        *,
        fastly_provider: fastly.Provider,
        dns: EdgeDns | None = None,
        aws_provider: aws.Provider | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(args, EdgeArgs):
            raise _fail("FastlyEdge args", args, "must be EdgeArgs")
        if dns is not None:
            if aws_provider is None:
                raise _fail("FastlyEdge aws_provider", None, "is required when dns is given (records live in Route 53)")
            strays = [h.host for h in dns.hosts if h.host not in args.domains]
            if strays:
                raise _fail(
                    "FastlyEdge dns.hosts", strays, f"must be domains of the service ({', '.join(args.domains)})"
                )
        if args.options.certificate is not None:
            zoned = {h.host for h in dns.hosts} if dns is not None else set()
            unzoned = [d for d in args.domains if d not in zoned]
            if unzoned:
                raise _fail(
                    "FastlyEdge dns.hosts",
                    unzoned,
                    "must give the zone of every domain when options.certificate is set: each domain's ACME "
                    "challenge record goes in its zone",
                )
        super().__init__(EDGE_TYPE, name, None, opts)
        fastly_opts = pulumi.ResourceOptions(parent=self, provider=fastly_provider)
        self.domains = args.domains
        self.service = fastly.ServiceVcl(f"{name}-vcl", service_args(args), opts=fastly_opts)
        self.service_id = self.service.id
        self.active_version = self.service.active_version
        self.origin_token = None
        if args.options.origin_token is not None:
            # Versionless: rotating the token changes this resource only, never the service's version. The
            # provider ignores content changes unless manage_snippets is set, so a rotation would not apply.
            self.origin_token = fastly.ServiceDynamicSnippetContent(
                f"{name}-origin-token",
                service_id=self.service.id,
                snippet_id=self.service.dynamicsnippets.apply(origin_token_snippet_id),
                content=origin_token_vcl(args.options.origin_token, args.options.origin_token_header),
                manage_snippets=True,
                opts=fastly_opts,
            )
        self.certificate = None
        certificate = args.options.certificate
        if certificate is not None and dns is not None and aws_provider is not None:
            self.certificate = request_certificate(
                name,
                certificate,
                args.domains,
                # The name the service is for: its first domain the origins serve (not a redirect).
                common_name=args.served_domains[0],
                zones={h.host: h.zone for h in dns.hosts},
                parent=self,
                fastly_provider=fastly_provider,
                aws_provider=aws_provider,
                depends_on=[self.service],
            )
        self.dns_records = []
        if dns is not None and aws_provider is not None:
            # Traffic arrives only once DNS points here, so wait until the origin token is in place and,
            # with a managed certificate, until it is issued.
            ready: list[pulumi.Resource] = [self.origin_token] if self.origin_token is not None else []
            if self.certificate is not None:
                ready.append(self.certificate.validation)
            self.dns_records = point_hosts_at_fastly(
                f"{name}-dns",
                dns.hosts,
                dns.target,
                parent=self,
                aws_provider=aws_provider,
                depends_on=ready,
                moved=dns.moved,
            )
        self.register_outputs(
            {"service_id": self.service_id, "active_version": self.active_version, "domains": list(self.domains)}
        )
