"""The psf-infra policy rules: plain data and pure functions, usable without the Pulumi engine.

Each :class:`Rule` names its anchors (Checkov ``CKV_*``, Trivy ``AVD``/``DIG-``/``AWS-`` and KICS IDs from
``reference/security-rules.md``, or ``"ours"`` where no public scanner has one), its enforcement level and a
pure check. A *resource* rule looks at one :class:`Resource`; a *stack* rule looks at all of them (every
droplet behind a firewall, every bucket with its public access block, ...). Two adapters run the same rules:
``policy/__main__.py`` as a CrossGuard policy pack under the Pulumi CLI, and ``policy/offline.py`` over the
recorder's :class:`~offline.recorder.Recording`.

Enforcement: **mandatory** for what can leak data, expose a service or lose state; **advisory** for hygiene
and reliability (logging, health checks, paging in prod).

Where the estate legitimately differs from a rule, the difference is an explicit entry of :data:`EXCEPTIONS`
with its reason. A check that applies one yields a ``waived`` :class:`Finding` naming the waiver, which the
offline report lists, so no exception is ever silent.

Conventions the program must follow for these rules to pass:

- a bucket is *stateful* (protected and retained in prod, never ``forceDestroy``) when its ``tags`` contain
  ``stateful: "true"``; it is a *static site* (website hosting allowed, plain-HTTP origin allowed) when they
  contain ``static-site: "true"``;
- S3 settings live in the separate resources (public access block, ownership controls, SSE, versioning,
  lifecycle, logging, policy, website) whose ``bucket`` input is the bucket's ``bucket`` (physical) name;
- firewall waivers are keyed on the firewall's ``name`` (``psf-prod-mail`` matches ``*mail*``), protocol and
  the exact ``portRange``;
- the Fastly origin token is set by a dynamic snippet whose name says ``token`` and whose content is a
  ``ServiceDynamicSnippetContent`` holding a secret (or by a request header so named with a secret value),
  never a literal;
- a Fastly backend whose ``ssl_cert_hostname`` is under ``psf.io`` is a PSF host: its certificate comes from
  the PSF CA and its origin refuses requests without the token except :data:`TOKEN_EXEMPT_PATHS`;
- a domain of a Fastly service without a ``TlsSubscription`` has its certificate made elsewhere only when a
  Datadog SSL test of it is tagged ``certificate:external``; its ACME challenge is a CNAME at
  ``_acme-challenge.<domain>`` in the stack's zone that holds the name; a certificate's 30-day warning test is
  tagged ``certificate-check:warning``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

# Importing a provider module registers its rules, so this order is the pack's rule order (kept from
# before the split: DigitalOcean, S3, Route 53, Fastly, Datadog, deployment safety; then PagerDuty).
# isort: off
from policy.rules import digitalocean, s3, route53, fastly, datadog, safety, pagerduty  # noqa: F401

# isort: on
from policy.rules.base import (
    _RULES,
    BUCKET,
    BUCKET_ACL,
    BUCKET_LIFECYCLE,
    BUCKET_LOGGING,
    BUCKET_POLICY,
    BUCKET_SSE,
    BUCKET_VERSIONING,
    BUCKET_WEBSITE,
    CERTIFICATE_WARNING_NO_PAGE,
    DB_CLUSTER,
    DB_FIREWALL,
    DB_REPLICA,
    DNS_RECORD,
    DO_PROJECT,
    DO_TAG,
    DROPLET,
    ENFORCEMENT_LEVELS,
    EXCEPTIONS,
    FASTLY_DICTIONARY_ITEMS,
    FASTLY_SERVICE,
    FASTLY_SNIPPET_CONTENT,
    FIREWALL,
    FIREWALL_WAIVERS,
    GANDI_DNSSEC_KEY,
    GANDI_NAMESERVERS,
    HSTS_MIN_MAX_AGE,
    LOG_BUCKET_NOT_LOGGED,
    MONITOR,
    OWNERSHIP_CONTROLS,
    PROD_STACK,
    PROJECT_RESOURCES,
    PSF_ORIGIN_DOMAIN,
    PUBLIC_ACCESS_BLOCK,
    QUERY_LOG,
    RESERVED_IP,
    S3_WEBSITE_BACKEND,
    SECRET,
    SPACES_BUCKET,
    STACK,
    STACK_REFERENCE,
    STANDBY_WAIVERS,
    STATEFUL_TAG,
    STATEFUL_TYPES,
    STATIC_SITE_HTTP_ORIGIN,
    STATIC_SITE_TAG,
    STATIC_SITE_WEBSITE,
    SYNTHETICS_TEST,
    TLS_ACTIVATION,
    TLS_SUBSCRIPTION,
    TLS_VALIDATION,
    TOKEN_EXEMPT_PATHS,
    VOLUME,
    VPC,
    ZONE,
    ZONE_DNSSEC,
    Check,
    Enforcement,
    Finding,
    FirewallWaiver,
    Resource,
    Rule,
    StackCheck,
    StandbyWaiver,
    Status,
    Waiver,
    resource_rule,
    stack_rule,
)
from policy.rules.datadog import DASHBOARD_JSON, SLO
from policy.rules.pagerduty import (
    DD_PAGERDUTY_SERVICE_OBJECT,
    PAGING_TYPES,
    PD_CONTACT_METHOD,
    PD_ESCALATION_POLICY,
    PD_SCHEDULE,
    PD_SERVICE,
    PD_SERVICE_INTEGRATION,
    PD_USER,
)

RULES: Final[tuple[Rule, ...]] = tuple(_RULES)
"""Every rule of the pack, in a stable order."""

RULES_BY_NAME: Final[Mapping[str, Rule]] = {rule.name: rule for rule in RULES}


def evaluate(resources: Sequence[Resource], rules: Sequence[Rule] = RULES) -> list[tuple[Rule, Finding]]:
    """Run ``rules`` over ``resources`` (one stack); every finding with the rule that made it."""
    return [(rule, finding) for rule in rules for finding in rule.findings(resources)]


__all__ = [
    "BUCKET",
    "BUCKET_ACL",
    "BUCKET_LIFECYCLE",
    "BUCKET_LOGGING",
    "BUCKET_POLICY",
    "BUCKET_SSE",
    "BUCKET_VERSIONING",
    "BUCKET_WEBSITE",
    "CERTIFICATE_WARNING_NO_PAGE",
    "DASHBOARD_JSON",
    "DB_CLUSTER",
    "DB_FIREWALL",
    "DB_REPLICA",
    "DD_PAGERDUTY_SERVICE_OBJECT",
    "DNS_RECORD",
    "DO_PROJECT",
    "DO_TAG",
    "DROPLET",
    "ENFORCEMENT_LEVELS",
    "EXCEPTIONS",
    "FASTLY_DICTIONARY_ITEMS",
    "FASTLY_SERVICE",
    "FASTLY_SNIPPET_CONTENT",
    "FIREWALL",
    "FIREWALL_WAIVERS",
    "GANDI_DNSSEC_KEY",
    "GANDI_NAMESERVERS",
    "HSTS_MIN_MAX_AGE",
    "LOG_BUCKET_NOT_LOGGED",
    "MONITOR",
    "OWNERSHIP_CONTROLS",
    "PAGING_TYPES",
    "PD_CONTACT_METHOD",
    "PD_ESCALATION_POLICY",
    "PD_SCHEDULE",
    "PD_SERVICE",
    "PD_SERVICE_INTEGRATION",
    "PD_USER",
    "PROD_STACK",
    "PROJECT_RESOURCES",
    "PSF_ORIGIN_DOMAIN",
    "PUBLIC_ACCESS_BLOCK",
    "QUERY_LOG",
    "RESERVED_IP",
    "RULES",
    "RULES_BY_NAME",
    "S3_WEBSITE_BACKEND",
    "SECRET",
    "SLO",
    "SPACES_BUCKET",
    "STACK",
    "STACK_REFERENCE",
    "STANDBY_WAIVERS",
    "STATEFUL_TAG",
    "STATEFUL_TYPES",
    "STATIC_SITE_HTTP_ORIGIN",
    "STATIC_SITE_TAG",
    "STATIC_SITE_WEBSITE",
    "SYNTHETICS_TEST",
    "TLS_ACTIVATION",
    "TLS_SUBSCRIPTION",
    "TLS_VALIDATION",
    "TOKEN_EXEMPT_PATHS",
    "VOLUME",
    "VPC",
    "ZONE",
    "ZONE_DNSSEC",
    "Check",
    "Enforcement",
    "Finding",
    "FirewallWaiver",
    "Resource",
    "Rule",
    "StackCheck",
    "StandbyWaiver",
    "Status",
    "Waiver",
    "evaluate",
    "resource_rule",
    "stack_rule",
]
