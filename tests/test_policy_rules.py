"""The policy pack, tested the way the anchors test theirs.

A compliant mini-estate passes every rule. Each case changes ONE thing (a property, an option, or one
resource added or removed) and asserts exactly which rules fire and how often, across the whole pack, in
the style of Pulumi's compliance policies and Checkov's per-rule fixtures. Then: the rule table's own
invariants, every documented exception honoured (and only where it applies), both adapters.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pulumi
import pulumi_digitalocean as digitalocean
import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from offline.recorder import record_program
from policy import __main__ as pack
from policy import offline
from policy.rules import (
    ACCEPTED,
    BUCKET,
    DASHBOARD_JSON,
    DB_CLUSTER,
    DB_FIREWALL,
    DB_REPLICA,
    DD_PAGERDUTY_SERVICE_OBJECT,
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
    GANDI_NAMESERVERS,
    MONITOR,
    PD_CONTACT_METHOD,
    PD_ESCALATION_POLICY,
    PD_SCHEDULE,
    PD_SERVICE,
    PD_SERVICE_INTEGRATION,
    PD_USER,
    PROJECT_RESOURCES,
    QUERY_LOG,
    RESERVED_IP,
    RULES,
    RULES_BY_NAME,
    SLO,
    SPACES_BUCKET,
    STANDBY_WAIVERS,
    SYNTHETICS_TEST,
    TLS_ACTIVATION,
    TLS_SUBSCRIPTION,
    TLS_VALIDATION,
    VOLUME,
    VPC,
    ZONE,
    ZONE_DNSSEC,
    Finding,
    FirewallWaiver,
    Resource,
    Rule,
    Waiver,
    evaluate,
)

PROJECT = "psf-infra"
POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"
ANYWHERE = ["0.0.0.0/0", "::/0"]
ADMIN = ["140.211.10.0/24"]
FASTLY = ["151.101.0.0/16", "2a04:4e42::/32"]
PAGER = "@pagerduty-psf-infrastructure"
TEAM = "@infrastructure-staff@python.org"
CA_PEM = "-----BEGIN CERTIFICATE-----\nTUlJQ2Zha2U=\n-----END CERTIFICATE-----"
S3 = {
    "pab": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "ownership": "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "sse": "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "versioning": "aws:s3/bucketVersioning:BucketVersioning",
    "lifecycle": "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "logging": "aws:s3/bucketLogging:BucketLogging",
    "website": "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration",
    "policy": "aws:s3/bucketPolicy:BucketPolicy",
    "acl": "aws:s3/bucketAcl:BucketAcl",
}


CHILD_NS = ["ns-3.awsdns-03.org", "ns-4.awsdns-04.co.uk"]
STANDBY_CONDITION = {"name": "standby", "type": "REQUEST", "statement": "(!req.backend.healthy || req.restarts > 0)"}


def urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


def provider_urn(stack: str, package: str, name: str | None = None) -> str:
    return urn(stack, f"pulumi:providers:{package}", name or package)


# --- the compliant estate ------------------------------------------------------------------------------


def estate(stack: str = "prod") -> list[Resource]:
    """A small estate that passes every rule: one of each kind of thing the PSF runs."""
    prod = stack == "prod"
    out: list[Resource] = []

    def add(type_: str, name: str, props: dict[str, Any], *, stateful: bool = False, **kw: Any) -> None:
        package = type_.split(":", 1)[0]
        out.append(
            Resource(
                type=type_,
                name=name,
                urn=urn(stack, type_, name),
                props=props,
                provider=provider_urn(stack, package),
                protect=stateful and prod,
                retain_on_delete=stateful and prod,
                **kw,
            )
        )

    def droplet(name: str, did: str, tags: list[str]) -> None:
        props = {"name": name, "image": "ubuntu-24-04-x64", "size": "s-1vcpu-2gb", "region": "nyc3"}
        add(
            DROPLET,
            name,
            props | {"sshKeys": ["3b:16:bf"], "tags": tags},
            id=did,
            outputs={"dropletUrn": f"do:droplet:{did}"},
            ignore_changes=("userData", "sshKeys"),
        )

    def tag(name: str) -> str:
        add(DO_TAG, f"tag-{name}", {"name": name})
        return urn(stack, DO_TAG, f"tag-{name}")

    def rule(protocol: str, port: str, sources: list[str], key: str = "sourceAddresses") -> dict[str, Any]:
        return {"protocol": protocol, "portRange": port, key: sources} if port else {"protocol": protocol, key: sources}

    def egress(protocol: str, port: str, destinations: list[str]) -> dict[str, Any]:
        return rule(protocol, port, destinations, "destinationAddresses")

    web_tag, mail_tag, buildbot_tag = tag("psf-prod-web"), tag("psf-prod-mail"), tag("psf-prod-buildbot")
    droplet("web-1", "301", ["psf-prod-web"])
    add(
        FIREWALL,
        "web-fw",
        {
            "name": "psf-prod-web",
            "tags": ["psf-prod-web"],
            "inboundRules": [rule("tcp", "22", ADMIN), rule("tcp", "443", FASTLY), rule("icmp", "", ANYWHERE)],
            "outboundRules": [
                egress("tcp", "443", ANYWHERE),
                egress("udp", "53", ANYWHERE),
                egress("tcp", "1-65535", ["10.10.0.0/16"]),
            ],
        },
        dependencies=(web_tag,),
    )
    droplet("mail-1", "302", ["psf-prod-mail"])
    add(
        FIREWALL,
        "mail-fw",
        {
            "name": "psf-prod-mail",
            "tags": ["psf-prod-mail"],
            "inboundRules": [rule("tcp", "25", ANYWHERE), rule("tcp", "22", ADMIN)],
            "outboundRules": [egress("tcp", "25", ANYWHERE)],
        },
        dependencies=(mail_tag,),
    )
    droplet("pythontest-1", "303", [])
    add(
        FIREWALL,
        "pythontest-fw",
        {
            "name": "psf-prod-pythontest",
            "dropletIds": [303.0],
            "inboundRules": [rule("tcp", "80", ANYWHERE), rule("tcp", "443", ANYWHERE), rule("tcp", "22", ADMIN)],
        },
    )
    droplet("buildbot-1", "304", ["psf-prod-buildbot"])
    add(
        FIREWALL,
        "buildbot-fw",
        {
            "name": "psf-prod-buildbot",
            "tags": ["psf-prod-buildbot"],
            "inboundRules": [rule("tcp", "9020", ANYWHERE), rule("tcp", "443", FASTLY)],
        },
        dependencies=(buildbot_tag,),
    )

    add(
        DB_CLUSTER,
        "db",
        {
            "name": "psf-prod-db",
            "engine": "pg",
            "version": "16",
            "size": "db-s-2vcpu-4gb",
            "region": "nyc3",
            "nodeCount": 1.0,
        },
        stateful=True,
        id="9c1d",
        outputs={"clusterUrn": "do:dbaas:9c1d"},
    )
    add(
        DB_FIREWALL,
        "db-fw",
        {"clusterId": "9c1d", "rules": [{"type": "tag", "value": "psf-prod-web"}]},
        dependencies=(web_tag,),
    )
    add(DB_REPLICA, "db-replica", {"clusterId": "9c1d", "name": "psf-prod-db-replica", "region": "nyc3"}, stateful=True)
    add(
        VOLUME,
        "backups-vol",
        {"name": "psf-prod-backups", "region": "sfo2", "size": 500.0, "description": "backups for backup-1"},
        stateful=True,
        ignore_changes=("description",),
        outputs={"volumeUrn": "do:volume:5e1f"},
    )
    add(
        RESERVED_IP,
        "mail-ipv4",
        {"region": "nyc3"},
        stateful=True,
        outputs={"ipAddress": "164.90.0.10", "reservedIpUrn": "do:reservedip:164.90.0.10"},
    )
    # The droplets', volume's and database's URNs are listed; the address's only by dependency, as at a
    # preview, when a new address's URN is not known yet.
    add(
        PROJECT_RESOURCES,
        "nyc1-project-resources",
        {
            "project": "4a1b",
            "resources": [f"do:droplet:{n}" for n in (301, 302, 303, 304)] + ["do:volume:5e1f", "do:dbaas:9c1d"],
        },
        dependencies=(urn(stack, RESERVED_IP, "mail-ipv4"),),
    )
    add(VPC, "nyc1-vpc", {"name": f"psf-{stack}-nyc1", "region": "nyc3", "ipRange": "10.120.0.0/20"})
    add(VPC, "sfo1-vpc", {"name": f"psf-{stack}-sfo1", "region": "sfo2", "ipRange": "10.130.0.0/20"})
    add(
        SPACES_BUCKET,
        "archive",
        {
            "name": "psf-prod-archive",
            "region": "nyc3",
            "acl": "private",
            "versioning": {"enabled": True},
            "forceDestroy": False,
        },
    )

    tls_only = {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    fastly_read = {
        "Sid": "FastlyRead",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": FASTLY}},
    }

    def bucket(name: str, tags: dict[str, str], *, logging: bool, website: bool, statements: list[Any]) -> None:
        physical = f"psf-{stack}-{name}"
        add(
            BUCKET[0],
            name,
            {"bucket": physical, "tags": tags, "forceDestroy": False},
            stateful=tags.get("stateful") == "true",
            outputs={"bucket": physical},
        )
        add(
            S3["pab"],
            f"{name}-pab",
            {
                "bucket": physical,
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
        )
        add(
            S3["ownership"],
            f"{name}-ownership",
            {"bucket": physical, "rule": {"objectOwnership": "BucketOwnerEnforced"}},
        )
        add(
            S3["sse"],
            f"{name}-sse",
            {
                "bucket": physical,
                "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}, "bucketKeyEnabled": True}],
            },
        )
        add(
            S3["versioning"],
            f"{name}-versioning",
            {"bucket": physical, "versioningConfiguration": {"status": "Enabled"}},
        )
        add(
            S3["lifecycle"],
            f"{name}-lifecycle",
            {
                "bucket": physical,
                "rules": [
                    {
                        "id": "abort-uploads",
                        "status": "Enabled",
                        "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7.0},
                        "filter": {"prefix": ""},
                    }
                ],
            },
        )
        add(
            S3["policy"],
            f"{name}-policy",
            {"bucket": physical, "policy": json.dumps({"Version": "2012-10-17", "Statement": statements})},
        )
        if logging:
            add(
                S3["logging"],
                f"{name}-logging",
                {"bucket": physical, "targetBucket": f"psf-{stack}-logs", "targetPrefix": f"{name}/"},
            )
        if website:
            add(S3["website"], f"{name}-website", {"bucket": physical, "indexDocument": {"suffix": "index.html"}})

    bucket("files", {"stateful": "true"}, logging=True, website=False, statements=[tls_only])
    bucket("logs", {"stateful": "true"}, logging=False, website=False, statements=[tls_only])
    bucket("jython-site", {"static-site": "true"}, logging=True, website=True, statements=[fastly_read])

    # python.org, delegated by the registrar, and its child zone test.python.org, which sends no mail and is
    # delegated by an NS record in python.org naming its own name servers.
    add(
        ZONE,
        "python-org",
        {"name": "python.org", "comment": "python.org", "tags": {"delegated-by": "registrar"}},
        stateful=True,
        id="ZPYORG",
        outputs={"zoneId": "ZPYORG", "nameServers": ["ns-1.awsdns-01.com", "ns-2.awsdns-02.net"]},
    )
    add(
        ZONE,
        "test-python-org",
        {"name": "test.python.org", "comment": "test.python.org"},
        stateful=True,
        id="ZTEST",
        outputs={"zoneId": "ZTEST", "nameServers": CHILD_NS},
    )
    for name, props in {
        "caa": {"name": "python.org", "type": "CAA", "records": ['0 issue "letsencrypt.org"']},
        "mx": {"name": "python.org", "type": "MX", "records": ["10 mail.python.org"]},
        "spf": {"name": "python.org", "type": "TXT", "records": ["v=spf1 mx -all"]},
        "dmarc": {"name": "_dmarc.python.org", "type": "TXT", "records": ["v=DMARC1; p=quarantine; np=reject"]},
        "www": {"name": "www", "type": "CNAME", "records": ["dualstack.python.map.fastly.net"]},
        "test-ns": {"name": "test.python.org", "type": "NS", "records": list(reversed(CHILD_NS))},
    }.items():
        add(DNS_RECORD, f"python-org-{name}", props | {"zoneId": "ZPYORG", "ttl": 3600.0})
    for name, props in {
        "caa": {"name": "test.python.org", "type": "CAA", "records": ['0 issue "letsencrypt.org"']},
        "spf": {"name": "test.python.org", "type": "TXT", "records": ["v=spf1 -all"]},
        "dmarc": {"name": "_dmarc.test.python.org", "type": "TXT", "records": ["v=DMARC1; p=reject"]},
    }.items():
        add(DNS_RECORD, f"test-python-org-{name}", props | {"zoneId": "ZTEST", "ttl": 3600.0})
    for zone_name, zone_id in (("python-org", "ZPYORG"), ("test-python-org", "ZTEST")):
        add(ZONE_DNSSEC, f"{zone_name}-dnssec", {"hostedZoneId": zone_id, "signingStatus": "SIGNING"})
        add(
            QUERY_LOG,
            f"{zone_name}-querylog",
            {"zoneId": zone_id, "cloudwatchLogGroupArn": "arn:aws:logs:us-east-1:1:x"},
        )

    add(
        FASTLY_SERVICE,
        "www",
        {
            "name": f"psf-{stack}-www",
            "forceDestroy": not prod,
            "domains": [{"name": "www.python.org"}],
            "backends": [
                {
                    "name": "app",
                    "address": "app.nyc1.psf.io",
                    "port": 443.0,
                    "useSsl": True,
                    "sslCertHostname": "app.psf.io",
                    "sslCaCert": CA_PEM,
                    "sslCheckCert": True,
                    "shield": "lga-ny-us",
                    "healthcheck": "app-health",
                },
                {
                    "name": "mirror",
                    "address": "psf-prod-jython-site.s3-website-us-east-1.amazonaws.com",
                    "port": 80.0,
                    "useSsl": False,
                    "shield": "iad-va-us",
                    "healthcheck": "mirror-health",
                },
                # The app's standby: the same role's certificate, outside the pool, only while the app is sick.
                {
                    "name": "app-standby",
                    "address": "app-standby.nyc1.psf.io",
                    "port": 443.0,
                    "useSsl": True,
                    "sslCertHostname": "app.psf.io",
                    "sslCaCert": CA_PEM,
                    "sslCheckCert": True,
                    "shield": "lga-ny-us",
                    "healthcheck": "app-standby-health",
                    "autoLoadbalance": False,
                    "requestCondition": "standby",
                },
            ],
            "healthchecks": [
                {"name": "app-health", "host": "app.nyc1.psf.io", "path": "/_haproxy_status"},
                {"name": "mirror-health", "host": "mirror", "path": "/last-modified"},
                {"name": "app-standby-health", "host": "app.nyc1.psf.io", "path": "/_haproxy_status"},
            ],
            "conditions": [STANDBY_CONDITION],
            "requestSettings": [{"name": "force-tls", "forceSsl": True, "xff": "append"}],
            "headers": [
                {
                    "name": "hsts",
                    "type": "response",
                    "action": "set",
                    "destination": "http.Strict-Transport-Security",
                    "source": '"max-age=63072000; includeSubDomains; preload"',
                },
                {
                    "name": "origin-token",
                    "type": "request",
                    "action": "set",
                    "destination": "http.Fastly-Token",
                    "source": "[secret]",
                },
            ],
            "dynamicsnippets": [{"name": "origin-token", "type": "recv", "priority": 100.0}],
            "staleIfError": True,
            "staleIfErrorTtl": 43200.0,
            "loggingS3s": [{"name": "s3", "bucketName": f"psf-{stack}-logs", "domain": "s3.amazonaws.com"}],
        },
        id="SVCWWW",
    )
    add(
        FASTLY_SNIPPET_CONTENT,
        "www-token",
        {"serviceId": "SVCWWW", "snippetId": "SNIP1", "content": "[secret]", "manageSnippets": True},
    )
    handles = f"{PAGER} {TEAM}" if prod else TEAM
    add(
        SYNTHETICS_TEST,
        "www-check",
        {
            "name": "www.python.org",
            "type": "api",
            "subtype": "http",
            "status": "live",
            "message": f"www.python.org is down {handles}",
            "tags": [f"env:{stack}", "service:www"],
            "requestDefinition": {"method": "GET", "url": "https://www.python.org/"},
            "requestHeaders": {"Fastly-Token": "[secret]", "Host": "www.python.org"},
        },
    )
    # www.python.org's certificate: a Fastly subscription, its challenge, its validation, two SSL tests.
    add(
        TLS_SUBSCRIPTION,
        "www-tls-1a2b3c4d",
        {
            "certificateAuthority": "lets-encrypt",
            "domains": ["www.python.org"],
            "commonName": "www.python.org",
            "configurationId": "CFG1",
            "forceDestroy": not prod,
        },
        id="SUB1",
    )
    add(TLS_VALIDATION, "www-tls-1a2b3c4d-validation", {"subscriptionId": "SUB1"}, id="SUB1")
    add(
        DNS_RECORD,
        "www-acme-www.python.org",
        {
            "name": "_acme-challenge.www.python.org",
            "type": "CNAME",
            "records": ["x1y2z3.fastly-validations.com"],
            "ttl": 60.0,
            "zoneId": "ZPYORG",
            "allowOverwrite": True,
        },
    )
    for kind, days in (("alert", 14), ("warning", 30)):
        add(
            SYNTHETICS_TEST,
            f"www-tls-{kind}",
            {
                "name": f"certificate of www.python.org ({kind})",
                "type": "api",
                "subtype": "ssl",
                "status": "live",
                "message": f"certificate expiring {handles if kind == 'alert' else TEAM}",
                "requestDefinition": {"host": "www.python.org", "port": "443", "servername": "www.python.org"},
                "assertions": [{"type": "certificate", "operator": "isInMoreThan", "target": str(days)}],
                "optionsList": {"acceptSelfSigned": False, "checkCertificateRevocation": True},
                "tags": ["service:www", "certificate:managed", f"certificate-check:{kind}"],
            },
        )
    add(
        MONITOR,
        "disk",
        {
            "name": "disk full",
            "type": "metric alert",
            "query": "avg(last_5m):disk > 0.9",
            "message": f"disk almost full {handles}",
            "tags": [f"env:{stack}", "service:www"],
        },
    )
    add(
        SLO,
        "www-uptime",
        {
            "name": "www uptime",
            "type": "monitor",
            "monitorIds": [1.0],
            "tags": [f"env:{stack}", "service:www"],
            "thresholds": [{"timeframe": "30d", "target": 99.9, "warning": 99.95}],
            "timeframe": "30d",
            "targetThreshold": 99.9,
            "warningThreshold": 99.95,
        },
    )
    board = {
        "title": "www",
        "layout_type": "ordered",
        "widgets": [
            {
                "definition": {
                    "type": "manage_status",
                    "title": "Monitors",
                    "query": f'tag:"env:{stack}" tag:"service:www"',
                }
            },
            {
                "definition": {
                    "type": "group",
                    "title": "Uptime",
                    "layout_type": "ordered",
                    "widgets": [
                        {
                            "definition": {
                                "type": "slo_list",
                                "title": "Objectives",
                                "requests": [{"request_type": "slo_list", "query": {"query_string": f"env:{stack}"}}],
                            }
                        }
                    ],
                }
            },
        ],
    }
    add(DASHBOARD_JSON, "www-dashboard", {"dashboard": json.dumps(board)})
    if prod:
        # The on-call rotation the alerts' @pagerduty-psf-infrastructure handle reaches.
        add(PD_USER, "on-call-user-ee", {"name": "Ee Durbin", "email": "[secret]"}, id="PUSER1")
        add(
            PD_SCHEDULE,
            "on-call-front-line",
            {
                "timeZone": "UTC",
                "layers": [
                    {
                        "name": "Weekly",
                        "start": "2026-01-05T16:00:00Z",
                        "rotationVirtualStart": "2026-01-05T16:00:00Z",
                        "rotationTurnLengthSeconds": 604800.0,
                        "users": ["PUSER1"],
                    }
                ],
            },
            id="PSCHED1",
        )
        add(
            PD_ESCALATION_POLICY,
            "on-call-escalation",
            {
                "name": "escalation",
                "numLoops": 2.0,
                "rules": [
                    {
                        "escalationDelayInMinutes": 30.0,
                        "targets": [{"type": "schedule_reference", "id": "PSCHED1"}],
                    },
                    {"escalationDelayInMinutes": 30.0, "targets": [{"type": "user_reference", "id": "PUSER1"}]},
                ],
            },
            id="PPOL1",
        )
        add(PD_SERVICE, "on-call-psf-infrastructure", {"name": "infra", "escalationPolicy": "PPOL1"}, id="PSVC1")
        add(PD_SERVICE_INTEGRATION, "on-call-datadog", {"name": "Datadog", "service": "PSVC1", "vendor": "PDD1"})
        add(
            DD_PAGERDUTY_SERVICE_OBJECT,
            "on-call-service-object",
            {"serviceName": "psf-infrastructure", "serviceKey": "[secret]"},
            dependencies=(urn(stack, PD_SERVICE_INTEGRATION, "on-call-datadog"),),
        )
    if prod:
        # A domain opted in at the registrar: its name servers, protected and retained.
        add(GANDI_NAMESERVERS, "python-org-ns", {"domain": "python.org", "nameservers": CHILD_NS}, stateful=True)
    out.append(Resource("psf:estate:Datacenter", "nyc1", urn(stack, "psf:estate:Datacenter", "nyc1"), custom=False))
    return out


# --- one-change edits ----------------------------------------------------------------------------------

DROP = object()


def _set_path(target: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if isinstance(target, list):
        index = int(last)
        if value is DROP:
            del target[index]
        elif index == len(target):
            target.append(value)
        else:
            target[index] = value
    elif value is DROP:
        del target[last]
    else:
        target[last] = value


@dataclass(frozen=True)
class Edit:
    """Set `path` of resource `name` (``@option``: a resource option; DROP deletes); no path drops the resource."""

    name: str
    path: str | None = None
    value: Any = DROP

    def apply(self, resources: list[Resource]) -> list[Resource]:
        assert any(r.name == self.name for r in resources), f"no resource {self.name}"
        out = []
        for r in resources:
            if r.name != self.name:
                out.append(r)
            elif self.path is None:
                continue
            elif self.path.startswith("@"):
                out.append(replace(r, **{self.path[1:]: self.value}))
            else:
                props = copy.deepcopy(dict(r.props))
                _set_path(props, self.path, self.value)
                out.append(replace(r, props=props))
        return out


@dataclass(frozen=True)
class Add:
    """Add one resource to the estate."""

    type: str
    name: str
    props: dict[str, Any]

    def apply(self, resources: list[Resource]) -> list[Resource]:
        stack = resources[0].stack
        package = self.type.split(":", 1)[0]
        new = Resource(
            self.type, self.name, urn(stack, self.type, self.name), self.props, provider=provider_urn(stack, package)
        )
        return [*resources, new]


def policy_doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def counts(resources: list[Resource]) -> dict[str, int]:
    return dict(Counter(rule.name for rule, f in evaluate(resources) if f.status == "violation"))


@dataclass(frozen=True)
class Case:
    id: str
    change: Edit | Add | tuple[Edit | Add, ...]
    expected: dict[str, int]
    stack: str = "prod"


INBOUND, EGRESS = "do-firewall-no-public-inbound", "do-firewall-no-open-egress"
HALVES = ["0.0.0.0/1", "128.0.0.0/1"]
V6_HALVES = ["::/1", "8000::/1"]
COVERED, VALIDATED = "fastly-tls-domains-covered", "fastly-tls-subscription-validated"
CHALLENGES, CONTRACT = "fastly-tls-challenge-records", "fastly-tls-subscription-contract"
IN_ZONE, CAA = "route53-acme-challenge-in-zone", "route53-caa-allows-certificate-authority"
EXPIRY = "datadog-certificate-expiry-alert"
MAIL_RULE, ZONE_MAIL = "route53-mail-spf-dmarc", "route53-zone-spf-dmarc"
DELEGATED, DMARC_TAGS = "route53-zone-delegated", "route53-dmarc-current-tags"

CASES = [
    # DigitalOcean firewalls: the documented waivers hold only on the firewall, protocol and port they name.
    Case("ssh-open-to-world", Edit("web-fw", "inboundRules.0.sourceAddresses", ["0.0.0.0/0"]), {INBOUND: 1}),
    Case(
        "web-443-open-on-non-waived-firewall", Edit("web-fw", "inboundRules.1.sourceAddresses", ["::/0"]), {INBOUND: 1}
    ),
    Case("smtp-on-non-mail-firewall", Edit("mail-fw", "name", "psf-prod-wiki"), {INBOUND: 1, EGRESS: 1}),
    Case("mail-firewall-other-port", Edit("mail-fw", "inboundRules.0.portRange", "587"), {INBOUND: 1}),
    Case("mail-firewall-udp-25", Edit("mail-fw", "inboundRules.0.protocol", "udp"), {INBOUND: 1}),
    Case("pythontest-ports-on-other-firewall", Edit("pythontest-fw", "name", "psf-prod-web2"), {INBOUND: 2}),
    Case("buildbot-port-on-other-firewall", Edit("buildbot-fw", "name", "psf-prod-ci"), {INBOUND: 1}),
    Case("buildbot-port-range", Edit("buildbot-fw", "inboundRules.0.portRange", "9000-9100"), {INBOUND: 1}),
    # The second form of "open to everything": networks that together cover the whole address space.
    Case("ssh-open-to-two-halves", Edit("web-fw", "inboundRules.0.sourceAddresses", HALVES), {INBOUND: 1}),
    Case("ssh-open-to-v6-halves", Edit("web-fw", "inboundRules.0.sourceAddresses", V6_HALVES), {INBOUND: 1}),
    Case("ssh-open-to-one-half", Edit("web-fw", "inboundRules.0.sourceAddresses", HALVES[:1]), {}),
    Case("egress-all-ports", Edit("web-fw", "outboundRules.2.destinationAddresses", ["0.0.0.0/0"]), {EGRESS: 1}),
    Case("egress-all-ports-halves", Edit("web-fw", "outboundRules.2.destinationAddresses", HALVES), {EGRESS: 1}),
    Case("egress-all-ports-v6", Edit("web-fw", "outboundRules.2.destinationAddresses", ["::/0"]), {EGRESS: 1}),
    Case("egress-odd-port", Edit("web-fw", "outboundRules.0.portRange", "8080"), {EGRESS: 1}),
    Case("droplet-without-keys", Edit("web-1", "sshKeys", []), {"do-droplet-ssh-keys": 1}),
    Case("droplet-keys-unset", Edit("web-1", "sshKeys"), {"do-droplet-ssh-keys": 1}),
    Case("droplet-untagged", Edit("web-1", "tags", ["psf-prod-other"]), {"do-droplet-firewalled": 1}),
    Case("firewall-loses-droplet-id", Edit("pythontest-fw", "dropletIds", []), {"do-droplet-firewalled": 1}),
    Case("firewall-removed", Edit("buildbot-fw"), {"do-droplet-firewalled": 1}),
    Case("db-firewall-removed", Edit("db-fw"), {"do-database-firewall": 1}),
    Case("db-firewall-other-cluster", Edit("db-fw", "clusterId", "other"), {"do-database-firewall": 1}),
    Case(
        "db-firewall-open",
        Edit("db-fw", "rules.0", {"type": "ip_addr", "value": "0.0.0.0/0"}),
        {"do-database-firewall": 1},
    ),
    Case(
        "db-firewall-open-in-halves",
        Edit(
            "db-fw",
            "rules",
            [{"type": "ip_addr", "value": "0.0.0.0/1"}, {"type": "ip_addr", "value": "128.0.0.0/1"}],
        ),
        {"do-database-firewall": 1},
    ),
    Case("db-replica-removed", Edit("db-replica"), {"do-database-standby-in-prod": 1}),
    Case("db-standby-instead-of-replica", (Edit("db-replica"), Edit("db", "nodeCount", 2.0)), {}),
    Case("spaces-unversioned", Edit("archive", "versioning.enabled", False), {"do-spaces-versioning": 1}),
    Case("spaces-public", Edit("archive", "acl", "public-read"), {"do-spaces-no-public-acl": 1}),
    Case("spaces-force-destroy", Edit("archive", "forceDestroy", True), {"do-spaces-no-force-destroy": 1}),
    # S3
    *(
        Case(f"pab-{key}-off", Edit("files-pab", key, False), {"s3-public-access-block-settings": 1})
        for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    ),
    Case("pab-setting-unset", Edit("jython-site-pab", "restrictPublicBuckets"), {"s3-public-access-block-settings": 1}),
    Case("pab-removed", Edit("files-pab"), {"s3-bucket-has-public-access-block": 1}),
    Case(
        "pab-for-other-bucket", Edit("logs-pab", "bucket", "psf-prod-other"), {"s3-bucket-has-public-access-block": 1}
    ),
    Case(
        "ownership-object-writer",
        Edit("files-ownership", "rule.objectOwnership", "ObjectWriter"),
        {"s3-acls-disabled": 1},
    ),
    Case("ownership-removed", Edit("jython-site-ownership"), {"s3-acls-disabled": 1}),
    Case("bucket-public-acl", Edit("files", "acl", "public-read"), {"s3-no-public-acl": 1}),
    Case(
        "bucket-acl-public-read-write",
        Add(S3["acl"], "files-acl", {"bucket": "psf-prod-files", "acl": "public-read-write"}),
        {"s3-no-public-acl": 1},
    ),
    Case(
        "bucket-acl-grant-all-users",
        Add(
            S3["acl"],
            "files-acl",
            {
                "bucket": "psf-prod-files",
                "accessControlPolicy": {
                    "grants": [
                        {
                            "permission": "READ",
                            "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"},
                        }
                    ],
                    "owner": {"id": "x"},
                },
            },
        ),
        {"s3-no-public-acl": 1},
    ),
    Case(
        "policy-public-read-unconditional",
        Edit(
            "jython-site-policy",
            "policy",
            policy_doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "*"}),
        ),
        {"s3-policy-no-public-grant": 1},
    ),
    Case("policy-not-json", Edit("jython-site-policy", "policy", "{not json"), {"s3-policy-no-public-grant": 1}),
    Case(
        "policy-without-tls-deny",
        Edit("files-policy", "policy", policy_doc()),
        {"s3-policy-deny-insecure-transport": 1},
    ),
    Case(
        "static-site-tag-removed",
        Edit("jython-site", "tags", {}),
        {"s3-website-static-sites-only": 1, "s3-policy-deny-insecure-transport": 1},
    ),
    Case(
        "versioning-suspended",
        Edit("files-versioning", "versioningConfiguration.status", "Suspended"),
        {"s3-versioning": 1},
    ),
    Case("versioning-removed", Edit("logs-versioning"), {"s3-versioning": 1}),
    Case(
        "sse-none",
        Edit("files-sse", "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "none"),
        {"s3-encryption-at-rest": 1},
    ),
    Case("sse-removed", Edit("logs-sse"), {"s3-encryption-at-rest": 1}),
    Case("logging-removed", Edit("files-logging"), {"s3-access-logging": 1}),
    Case("static-site-logging-removed", Edit("jython-site-logging"), {"s3-access-logging": 1}),
    Case(
        "lifecycle-disabled", Edit("files-lifecycle", "rules.0.status", "Disabled"), {"s3-lifecycle-abort-multipart": 1}
    ),
    Case(
        "lifecycle-no-abort",
        Edit("files-lifecycle", "rules.0.abortIncompleteMultipartUpload"),
        {"s3-lifecycle-abort-multipart": 1},
    ),
    Case(
        "website-on-file-bucket",
        Add(S3["website"], "files-website", {"bucket": "psf-prod-files"}),
        {"s3-website-static-sites-only": 1},
    ),
    Case(
        "inline-website-on-file-bucket",
        Edit("files", "website", {"indexDocument": "index.html"}),
        {"s3-website-static-sites-only": 1},
    ),
    # Route 53
    Case("dnssec-removed", Edit("python-org-dnssec"), {"route53-dnssec-in-prod": 1}),
    Case(
        "dnssec-not-signing", Edit("python-org-dnssec", "signingStatus", "NOT_SIGNING"), {"route53-dnssec-in-prod": 1}
    ),
    Case("query-log-removed", Edit("python-org-querylog"), {"route53-query-logging": 1}),
    Case("caa-removed", Edit("python-org-caa"), {"route53-caa": 1}),
    Case("spf-softfail", Edit("python-org-spf", "records", ["v=spf1 mx ~all"]), {MAIL_RULE: 1, ZONE_MAIL: 1}),
    Case("spf-removed", Edit("python-org-spf"), {MAIL_RULE: 1, ZONE_MAIL: 1}),
    Case("dmarc-removed", Edit("python-org-dmarc"), {MAIL_RULE: 1, ZONE_MAIL: 1}),
    Case("dmarc-p-none", Edit("python-org-dmarc", "records", ["v=DMARC1; p=none"]), {MAIL_RULE: 1, ZONE_MAIL: 1}),
    Case("private-zone-needs-none", Edit("test-python-org", "vpcs", [{"vpcId": "vpc-1"}]), {}),
    # Zones that send no mail must say so; DMARC records use only DMARCbis tags.
    Case("no-mail-zone-without-spf", Edit("test-python-org-spf"), {ZONE_MAIL: 1}),
    Case("no-mail-zone-without-dmarc", Edit("test-python-org-dmarc"), {ZONE_MAIL: 1}),
    Case("no-mail-zone-soft-fail", Edit("test-python-org-spf", "records", ["v=spf1 ~all"]), {ZONE_MAIL: 1}),
    Case("two-spf-records", Edit("test-python-org-spf", "records", ["v=spf1 -all", "v=spf1 mx -all"]), {ZONE_MAIL: 1}),
    Case("dmarc-in-test-mode", Edit("test-python-org-dmarc", "records", ["v=DMARC1; p=reject; t=y"]), {ZONE_MAIL: 1}),
    Case("dmarc-quarantine-enough", Edit("test-python-org-dmarc", "records", ["v=DMARC1; p=quarantine"]), {}),
    Case("dmarc-pct", Edit("python-org-dmarc", "records", ["v=DMARC1; p=quarantine; pct=100"]), {DMARC_TAGS: 1}),
    Case(
        "dmarc-rf-ri",
        Edit("test-python-org-dmarc", "records", ["v=DMARC1; p=reject; rf=afrf; ri=86400"]),
        {DMARC_TAGS: 1},
    ),
    # Every zone is delegated: from its parent zone in the stack, or as its delegated-by tag declares.
    Case("child-zone-not-delegated", Edit("python-org-test-ns"), {DELEGATED: 1}),
    Case("child-delegated-elsewhere", Edit("python-org-test-ns", "records", ["ns-9.awsdns-09.com"]), {DELEGATED: 1}),
    Case(
        "child-name-servers-unknown",
        Edit("test-python-org", "@outputs", {"zoneId": "ZTEST", "nameServers": ["[unknown]"]}),
        {},
    ),
    Case("apex-delegation-undeclared", Edit("python-org", "tags", {}), {DELEGATED: 1}),
    Case(
        "zone-delegated-by-a-stack-off-any-set",
        Edit("python-org", "tags", {"delegated-by": "organization/psf-infra/prod"}),
        {DELEGATED: 1},
        stack="staging",
    ),
    Case(
        "zone-delegated-by-a-stack-on-its-set",
        (
            Edit("python-org", "tags", {"delegated-by": "organization/psf-infra/prod"}),
            Edit("python-org", "delegationSetId", "N0123456789ABC"),
        ),
        {},
        stack="staging",
    ),
    # Fastly
    Case("no-force-tls", Edit("www", "requestSettings.0.forceSsl", False), {"fastly-force-tls": 1}),
    Case("hsts-short", Edit("www", "headers.0.source", '"max-age=300"'), {"fastly-hsts": 1}),
    Case("hsts-deleted", Edit("www", "headers.0.action", "delete"), {"fastly-hsts": 1}),
    Case("backend-without-healthcheck", Edit("www", "backends.0.healthcheck"), {"fastly-backend-healthcheck": 1}),
    Case(
        "backend-undefined-healthcheck",
        Edit("www", "backends.1.healthcheck", "nope"),
        {"fastly-backend-healthcheck": 1},
    ),
    Case("backend-plain-http", Edit("www", "backends.0.useSsl", False), {"fastly-backend-tls": 1}),
    Case("backend-no-cert-hostname", Edit("www", "backends.0.sslCertHostname"), {"fastly-backend-tls": 1}),
    Case("backend-no-cert-check", Edit("www", "backends.0.sslCheckCert", False), {"fastly-backend-tls": 1}),
    Case("mirror-not-s3-website", Edit("www", "backends.1.address", "mirror.sfo1.psf.io"), {"fastly-backend-tls": 1}),
    Case("no-stale", Edit("www", "staleIfError", False), {"fastly-serve-stale": 1}),
    Case("stale-ttl-zero", Edit("www", "staleIfErrorTtl", 0.0), {"fastly-serve-stale": 1}),
    Case("backend-no-shield", Edit("www", "backends.1.shield"), {"fastly-shielding": 1}),
    Case("no-logging", Edit("www", "loggingS3s", []), {"fastly-logging": 1}),
    Case(
        "token-header-on-response-and-no-token-snippet",
        (Edit("www", "headers.1.type", "response"), Edit("www", "dynamicsnippets", []), Edit("www-token")),
        {"fastly-origin-shared-secret": 1},
    ),
    Case("token-from-a-header-instead-of-a-snippet", (Edit("www", "dynamicsnippets", []), Edit("www-token")), {}),
    Case("token-header-plaintext", Edit("www", "headers.1.source", '"hunter2"'), {"no-plaintext-secrets": 1}),
    Case("token-from-edge-dictionary", Edit("www", "headers.1.source", 'table.lookup(origin, "token")'), {}),
    # Fastly: provider contracts
    Case("no-backend", Edit("www", "backends", []), {"fastly-service-has-backend": 1}),
    Case(
        "psf-host-probed-where-the-token-guard-refuses",
        Edit("www", "healthchecks.0.path", "/"),
        {"fastly-healthcheck-token-exempt": 1},
    ),
    Case(
        "psf-host-probe-carries-the-token",
        (Edit("www", "healthchecks.0.path", "/"), Edit("www", "healthchecks.0.headers", ["Fastly-Token: [secret]"])),
        {},
    ),
    Case(
        "other-host-may-probe-any-path",
        (Edit("www", "backends.0.sslCertHostname", "app.example.net"), Edit("www", "healthchecks.0.path", "/")),
        {},
    ),
    Case("psf-host-without-the-psf-ca", Edit("www", "backends.0.sslCaCert"), {"fastly-private-origin-ca": 1}),
    Case(
        "items-on-a-write-only-dictionary",
        (
            Edit("www", "dictionaries", [{"name": "secrets", "writeOnly": True, "dictionaryId": "D1"}]),
            Add(
                FASTLY_DICTIONARY_ITEMS, "www-items", {"serviceId": "SVCWWW", "dictionaryId": "D1", "items": "[secret]"}
            ),
        ),
        {"fastly-no-write-only-dictionary-items": 1},
    ),
    Case(
        "items-on-a-write-only-dictionary-before-ids-are-known",
        (
            Edit("www", "dictionaries", [{"name": "secrets", "writeOnly": True}]),
            Add(FASTLY_DICTIONARY_ITEMS, "www-items", {"serviceId": "SVCWWW", "items": "[secret]"}),
        ),
        {"fastly-no-write-only-dictionary-items": 1},
    ),
    Case(
        "items-on-a-readable-dictionary",
        (
            Edit("www", "dictionaries", [{"name": "secrets", "writeOnly": False, "dictionaryId": "D1"}]),
            Add(
                FASTLY_DICTIONARY_ITEMS, "www-items", {"serviceId": "SVCWWW", "dictionaryId": "D1", "items": "[secret]"}
            ),
        ),
        {},
    ),
    Case(
        "dynamic-snippet-inline-token",
        Edit("www", "dynamicsnippets.0.content", 'set req.http.Fastly-Token = "hunter2";'),
        {"fastly-dynamic-snippet-managed": 1, "no-plaintext-secrets": 1},
    ),
    Case("dynamic-snippet-without-content", Edit("www-token"), {"fastly-dynamic-snippet-managed": 1}),
    Case(
        "dynamic-snippet-unmanaged", Edit("www-token", "manageSnippets", False), {"fastly-dynamic-snippet-managed": 1}
    ),
    Case(
        "dynamic-snippet-content-plaintext",
        Edit("www-token", "content", 'set req.http.Fastly-Token = "hunter2";'),
        {"no-plaintext-secrets": 1},
    ),
    Case(
        "regular-snippet-with-a-token-literal",
        Edit("www", "snippets", [{"name": "t", "type": "recv", "content": 'set req.http.Fastly-Token = "x";'}]),
        {"no-plaintext-secrets": 1},
    ),
    Case(
        "condition-undefined", Edit("www", "backends.1.requestCondition", "fallback"), {"fastly-conditions-defined": 1}
    ),
    Case(
        "condition-of-the-wrong-type",
        (
            Edit(
                "www", "conditions", [STANDBY_CONDITION, {"name": "fallback", "type": "RESPONSE", "statement": "true"}]
            ),
            Edit("www", "backends.1.requestCondition", "fallback"),
        ),
        {"fastly-conditions-defined": 1},
    ),
    Case(
        "condition-defined",
        (
            Edit(
                "www",
                "conditions",
                [STANDBY_CONDITION, {"name": "fallback", "type": "REQUEST", "statement": "!req.backend.healthy"}],
            ),
            Edit("www", "backends.1.requestCondition", "fallback"),
        ),
        {},
    ),
    # The registrar: protected in prod, and the name servers never deleted (that re-enables Gandi's LiveDNS).
    Case(
        "registrar-name-servers-not-retained",
        Edit("python-org-ns", "@retain_on_delete", False),
        {"registrar-delegation-kept": 1},
    ),
    Case(
        "registrar-name-servers-not-protected",
        Edit("python-org-ns", "@protect", False),
        {"registrar-delegation-kept": 1},
    ),
    Case(
        "registrar-ds-key-unprotected",
        Add("gandi:domains/dNSSecKey:DNSSecKey", "python-org-ds", {"domain": "python.org", "algorithm": 13.0}),
        {"registrar-delegation-kept": 1},
    ),
    # A single PSF origin needs a standby of its role (the mirror a conditioned fallback, so the app is alone).
    Case("psf-origin-with-its-standby", Edit("www", "backends.1.requestCondition", "standby"), {}),
    Case(
        "psf-origin-whose-standby-is-another-role",
        (Edit("www", "backends.1.requestCondition", "standby"), Edit("www", "backends.2.sslCertHostname", "b.psf.io")),
        {"fastly-psf-origin-standby": 1},
    ),
    Case(
        "psf-origin-whose-standby-is-in-the-pool",
        (Edit("www", "backends.1.requestCondition", "standby"), Edit("www", "backends.2.autoLoadbalance", True)),
        {"fastly-psf-origin-standby": 1},
    ),
    Case(
        "psf-origin-whose-standby-serves-always",
        (
            Edit("www", "backends.1.requestCondition", "standby"),
            Edit("www", "conditions.0.statement", 'req.url.path ~ "^/"'),
        ),
        {"fastly-psf-origin-standby": 1},
    ),
    Case(
        "staging-psf-origin-without-a-standby",
        (Edit("www", "backends.1.requestCondition", "standby"), Edit("www", "backends.2.sslCertHostname", "b.psf.io")),
        {},
        stack="staging",
    ),
    Case("xff-unset", Edit("www", "requestSettings.0.xff"), {"fastly-request-setting-xff": 1}),
    Case(
        "datadog-logs-to-us3",
        Edit("www", "loggingDatadogs", [{"name": "datadog", "region": "US3", "token": "[secret]"}]),
        {"fastly-datadog-log-region": 1},
    ),
    Case("datadog-logs-to-eu", Edit("www", "loggingDatadogs", [{"name": "datadog", "region": "EU"}]), {}),
    Case("prod-service-force-destroy", Edit("www", "forceDestroy", True), {"fastly-no-force-destroy-in-prod": 1}),
    Case(
        "staging-service-without-force-destroy",
        Edit("www", "forceDestroy", False),
        {"fastly-force-destroy-outside-prod": 1},
        stack="staging",
    ),
    # DigitalOcean: provider limits and contracts
    Case(
        "firewall-with-11-droplets",
        Edit("pythontest-fw", "dropletIds", [float(i) for i in range(300, 311)]),
        {"do-firewall-limits": 1},
    ),
    Case(
        "firewall-with-6-tags",
        Edit("web-fw", "tags", ["psf-prod-web", "a", "b", "c", "d", "e"]),
        # The five new tags are no Tag resources either.
        {"do-firewall-limits": 1, "do-firewall-tags-declared": 5},
    ),
    # Projects: every droplet, volume, database and reserved address is in one.
    Case("droplet-in-no-project", Edit("nyc1-project-resources", "resources.0"), {"do-resource-in-project": 1}),
    Case(
        "address-neither-listed-nor-depended-on",
        Edit("nyc1-project-resources", "@dependencies", ()),
        {"do-resource-in-project": 1},
    ),
    Case("project-resources-removed", Edit("nyc1-project-resources"), {"do-resource-in-project": 7}),
    Case(
        "project-own-resources-count",
        (
            Edit("nyc1-project-resources"),
            Add(
                DO_PROJECT,
                "nyc1-project",
                {
                    "name": "psf-prod-nyc1",
                    "resources": [f"do:droplet:{n}" for n in (301, 302, 303, 304)]
                    + ["do:volume:5e1f", "do:dbaas:9c1d", "do:reservedip:164.90.0.10"],
                },
            ),
        ),
        {},
    ),
    # Tags: a firewall names only tags the stack creates, and waits for them.
    Case("tag-not-a-resource", Edit("tag-psf-prod-web"), {"do-firewall-tags-declared": 2}),
    Case("firewall-before-its-tag", Edit("mail-fw", "@dependencies", ()), {"do-firewall-tags-declared": 1}),
    Case(
        "egress-to-an-undeclared-tag",
        Edit(
            "web-fw",
            "outboundRules.3",
            {"protocol": "tcp", "portRange": "4505", "destinationTags": ["salt-master:psf-prod"]},
        ),
        {"do-firewall-tags-declared": 1},
    ),
    Case(
        "inbound-from-an-undeclared-tag",
        Edit("buildbot-fw", "inboundRules.2", {"protocol": "tcp", "portRange": "22", "sourceTags": ["backups"]}),
        {"do-firewall-tags-declared": 1},
    ),
    Case("prod-address-unprotected", Edit("mail-ipv4", "@protect", False), {"stateful-protected-in-prod": 1}),
    Case(
        "firewall-with-51-rules",
        Edit(
            "web-fw",
            "outboundRules",
            [{"protocol": "tcp", "portRange": str(p), "destinationAddresses": ["10.10.0.0/16"]} for p in range(48)],
        ),
        {"do-firewall-limits": 1},
    ),
    Case(
        "firewall-rule-with-1001-sources",
        Edit("web-fw", "inboundRules.1.sourceAddresses", [f"10.0.{i // 256}.{i % 256}" for i in range(1001)]),
        {"do-firewall-limits": 1},
    ),
    Case("vpc-ranges-overlap", Edit("sfo1-vpc", "ipRange", "10.120.8.0/21"), {"do-vpc-ranges": 1}),
    Case("vpc-public-range", Edit("sfo1-vpc", "ipRange", "8.8.0.0/20"), {"do-vpc-ranges": 1}),
    Case("vpc-smaller-than-24", Edit("sfo1-vpc", "ipRange", "10.130.0.0/28"), {"do-vpc-ranges": 1}),
    Case("vpc-not-a-network", Edit("sfo1-vpc", "ipRange", "10.130.0.1/20"), {"do-vpc-ranges": 1}),
    Case(
        "droplet-user-data-would-replace-it",
        Edit("web-1", "@ignore_changes", ("sshKeys",)),
        {"do-forcenew-inputs-ignored": 1},
    ),
    Case(
        "volume-description-would-replace-it",
        Edit("backups-vol", "@ignore_changes", ()),
        {"do-forcenew-inputs-ignored": 1},
    ),
    Case("crossguard-without-ignore-changes-is-silent", Edit("backups-vol", "@ignore_changes", None), {}),
    # Datadog
    Case(
        "synthetics-test-host-changed",
        Edit("www-check", "requestDefinition.url", "https://docs.python.org/"),
        {"datadog-synthetics-cover-public-hosts": 1},
    ),
    Case(
        "fastly-domain-without-test",
        Edit("www", "domains.1", {"name": "python.org"}),
        {"datadog-synthetics-cover-public-hosts": 1, COVERED: 1, EXPIRY: 1},
    ),
    Case("wildcard-domain-not-tested", Edit("www", "domains.1", {"name": "*.python.org"}), {COVERED: 1}),
    # Certificates: every name covered (or external), validated, challenged in its zone, allowed by CAA,
    # watched before it expires.
    Case("tls-subscription-removed", Edit("www-tls-1a2b3c4d"), {COVERED: 1}),
    Case(
        "tls-certificate-declared-external",
        (
            Edit("www-tls-1a2b3c4d"),
            Edit("www-tls-1a2b3c4d-validation"),
            Edit("www-acme-www.python.org"),
            Edit("www-tls-alert", "tags.1", "certificate:external"),
        ),
        {},
    ),
    Case(
        "tls-external-only-by-an-ssl-test",
        (Edit("www-tls-1a2b3c4d"), Edit("www-check", "tags", ["certificate:external"])),
        {COVERED: 1},
    ),
    Case(
        "tls-wildcard-covers-one-label-and-shares-the-apex-challenge",
        (
            Edit("www-tls-1a2b3c4d", "domains", ["*.python.org"]),
            Edit("www-tls-1a2b3c4d", "commonName", "*.python.org"),
            Edit("www-acme-www.python.org", "name", "_acme-challenge.python.org"),
        ),
        {},
    ),
    Case("tls-not-validated", Edit("www-tls-1a2b3c4d-validation"), {VALIDATED: 1}),
    Case(
        "tls-validation-of-another-subscription",
        Edit("www-tls-1a2b3c4d-validation", "subscriptionId", "SUB9"),
        {VALIDATED: 1},
    ),
    Case(
        "tls-validation-matched-by-name-before-ids-are-known",
        (Edit("www-tls-1a2b3c4d", "@id", None), Edit("www-tls-1a2b3c4d-validation", "subscriptionId", "[unknown]")),
        {},
    ),
    Case("tls-challenge-missing", Edit("www-acme-www.python.org"), {CHALLENGES: 1}),
    Case("tls-challenge-a-txt-record", Edit("www-acme-www.python.org", "type", "TXT"), {CHALLENGES: 1}),
    Case("tls-challenge-in-another-zone", Edit("www-acme-www.python.org", "zoneId", "ZTEST"), {IN_ZONE: 1}),
    Case("tls-challenge-outside-the-stack", Edit("www-acme-www.python.org", "zoneId", "ZELSEWHERE"), {IN_ZONE: 1}),
    Case(
        "tls-challenge-hidden-by-a-child-zone",
        (
            Edit("www-tls-1a2b3c4d", "domains", ["www.python.org", "a.test.python.org"]),
            Add(
                DNS_RECORD,
                "acme-a-test",
                {"name": "_acme-challenge.a.test.python.org", "type": "CNAME", "zoneId": "ZPYORG", "ttl": 60.0},
            ),
        ),
        {IN_ZONE: 1},
    ),
    Case("tls-challenge-zone-not-known-yet", Edit("www-acme-www.python.org", "zoneId", "[unknown]"), {}),
    Case("tls-caa-blocks-the-authority", Edit("python-org-caa", "records", ['0 issue "globalsign.com"']), {CAA: 1}),
    Case(
        "tls-caa-with-parameters-allows",
        Edit("python-org-caa", "records", ['0 issue "letsencrypt.org; validationmethods=dns-01"']),
        {},
    ),
    Case("tls-caa-forbids-every-ca", Edit("python-org-caa", "records", ['0 issue ";"']), {CAA: 1}),
    Case(
        "tls-caa-issuewild-governs-wildcards",
        (
            Edit("www-tls-1a2b3c4d", "domains", ["*.python.org"]),
            Edit("www-tls-1a2b3c4d", "commonName", "*.python.org"),
            Edit("www-acme-www.python.org", "name", "_acme-challenge.python.org"),
            Edit("python-org-caa", "records", ['0 issue "letsencrypt.org"', '0 issuewild ";"']),
        ),
        {CAA: 1},
    ),
    Case(
        "tls-authority-the-caa-does-not-name", Edit("www-tls-1a2b3c4d", "certificateAuthority", "globalsign"), {CAA: 1}
    ),
    Case("tls-unknown-authority", Edit("www-tls-1a2b3c4d", "certificateAuthority", "digicert"), {CONTRACT: 1}),
    Case(
        "tls-upper-case-domain",
        (
            Edit("www-tls-1a2b3c4d", "domains", ["WWW.python.org"]),
            Edit("www-tls-1a2b3c4d", "commonName", "WWW.python.org"),
        ),
        {CONTRACT: 1},
    ),
    Case("tls-common-name-not-a-domain", Edit("www-tls-1a2b3c4d", "commonName", "python.org"), {CONTRACT: 1}),
    Case(
        "tls-activation-of-a-managed-domain",
        Add(TLS_ACTIVATION, "www-activation", {"domain": "www.python.org", "certificateId": "C1"}),
        {"fastly-no-activation-for-managed-certificates": 1},
    ),
    Case("tls-activation-of-another-domain", Add(TLS_ACTIVATION, "x-activation", {"domain": "x.python.org"}), {}),
    # Ownership: a name whose edge or zone is owned elsewhere (its synthetics say so) is never served or held here.
    Case(
        "external-edge-still-served", Edit("www-check", "tags", ["edge:external"]), {"ownership-external-not-made": 1}
    ),
    Case("external-zone-still-held", Edit("www-check", "tags", ["zone:external"]), {"ownership-external-not-made": 1}),
    Case("external-tag-on-another-kind", Edit("www-check", "tags", ["certificate:external"]), {}),
    Case(
        "prod-subscription-force-destroy",
        Edit("www-tls-1a2b3c4d", "forceDestroy", True),
        {"fastly-no-force-destroy-in-prod": 1},
    ),
    Case(
        "staging-subscription-without-force-destroy",
        Edit("www-tls-1a2b3c4d", "forceDestroy", False),
        {"fastly-force-destroy-outside-prod": 1},
        stack="staging",
    ),
    Case("ssl-alert-removed", Edit("www-tls-alert"), {EXPIRY: 1}),
    Case("ssl-alert-too-late", Edit("www-tls-alert", "assertions.0.target", "7"), {EXPIRY: 1}),
    Case("ssl-alert-accepts-self-signed", Edit("www-tls-alert", "optionsList.acceptSelfSigned", True), {EXPIRY: 1}),
    Case(
        "ssl-warning-untagged-must-page-in-prod",
        Edit("www-tls-warning", "tags", ["service:www"]),
        {"datadog-prod-pages-on-call": 1},
    ),
    Case(
        "synthetics-plaintext-token",
        Edit("www-check", "requestHeaders.Fastly-Token", "hunter2"),
        {"no-plaintext-secrets": 1},
    ),
    Case(
        "monitor-notifies-nobody",
        Edit("disk", "message", "disk almost full"),
        {"datadog-alerts-notify-team": 1, "datadog-prod-pages-on-call": 1},
    ),
    Case(
        "prod-monitor-does-not-page",
        Edit("disk", "message", f"disk almost full {TEAM}"),
        {"datadog-prod-pages-on-call": 1},
    ),
    Case(
        "staging-synthetics-pages",
        Edit("www-check", "message", f"down {PAGER}"),
        {"datadog-staging-never-pages": 1},
        stack="staging",
    ),
    Case(
        "staging-monitor-escalation-pages",
        Edit("disk", "escalationMessage", PAGER),
        {"datadog-staging-never-pages": 1},
        stack="staging",
    ),
    # Deployment safety
    Case("prod-zone-unprotected", Edit("python-org", "@protect", False), {"stateful-protected-in-prod": 1}),
    Case("prod-bucket-not-retained", Edit("files", "@retain_on_delete", False), {"stateful-protected-in-prod": 1}),
    Case("prod-volume-unprotected", Edit("backups-vol", "@protect", False), {"stateful-protected-in-prod": 1}),
    Case(
        "prod-replica-neither",
        (Edit("db-replica", "@protect", False), Edit("db-replica", "@retain_on_delete", False)),
        {"stateful-protected-in-prod": 1},
    ),
    Case("prod-db-unprotected", Edit("db", "@protect", False), {"stateful-protected-in-prod": 1}),
    Case("untagged-bucket-is-not-stateful", (Edit("files", "tags", {}), Edit("files", "@protect", False)), {}),
    Case("prod-bucket-force-destroy", Edit("logs", "forceDestroy", True), {"stateful-no-force-destroy-in-prod": 1}),
    Case("prod-zone-force-destroy", Edit("python-org", "forceDestroy", True), {"stateful-no-force-destroy-in-prod": 1}),
    Case(
        "staging-zone-protected",
        Edit("python-org", "@protect", True),
        {"staging-nothing-protected": 1},
        stack="staging",
    ),
    Case(
        "staging-droplet-retained",
        Edit("web-1", "@retain_on_delete", True),
        {"staging-nothing-protected": 1},
        stack="staging",
    ),
    Case("staging-may-drop-replica", Edit("db-replica"), {}, stack="staging"),
    Case("staging-may-skip-dnssec", (Edit("python-org-dnssec"), Edit("test-python-org-dnssec")), {}, stack="staging"),
    Case("staging-may-force-destroy", Edit("logs", "forceDestroy", True), {}, stack="staging"),
    Case("default-provider-missing", Edit("web-1", "@provider", None), {"explicit-provider": 1}),
    Case(
        "default-provider-instance",
        Edit("files", "@provider", provider_urn("prod", "aws", "default_7_0_0")),
        {"explicit-provider": 1},
    ),
    Case("component-needs-no-provider", Edit("nyc1", "@provider", None), {}),
    # PagerDuty: staging pages no one; the provider's limits; every handle resolves
    Case(
        "staging-makes-a-schedule",
        Add(PD_SCHEDULE, "staging-rotation", {"timeZone": "UTC", "layers": []}),
        {"pagerduty-only-in-prod": 1, "pagerduty-schedule-limits": 1},
        stack="staging",
    ),
    Case(
        "staging-makes-a-service-object",
        Add(DD_PAGERDUTY_SERVICE_OBJECT, "staging-object", {"serviceName": "x", "serviceKey": "[secret]"}),
        {"pagerduty-only-in-prod": 1, "pagerduty-service-objects-hold-integration-keys": 1},
        stack="staging",
    ),
    Case(
        "rotation-of-a-minute",
        Edit("on-call-front-line", "layers.0.rotationTurnLengthSeconds", 60.0),
        {"pagerduty-schedule-limits": 1},
    ),
    Case("rotation-of-nobody", Edit("on-call-front-line", "layers.0.users", []), {"pagerduty-schedule-limits": 1}),
    Case(
        "escalation-at-once",
        Edit("on-call-escalation", "rules.1.escalationDelayInMinutes", 0.0),
        {"pagerduty-escalation-limits": 1},
    ),
    Case(
        "escalation-loops-ten-times", Edit("on-call-escalation", "numLoops", 10.0), {"pagerduty-escalation-limits": 1}
    ),
    Case("escalation-without-rules", Edit("on-call-escalation", "rules", []), {"pagerduty-escalation-limits": 1}),
    Case(
        "escalation-pages-a-person-first",
        Edit("on-call-escalation", "rules.0.targets.0.type", "user_reference"),
        {"pagerduty-front-line-first": 1},
    ),
    Case(
        "handle-without-service-object",
        Edit("on-call-service-object", "serviceName", "psf-infra"),
        # the uptime check, the disk monitor and the certificate alert all page it
        {"datadog-pagerduty-handles-resolve": 3},
    ),
    Case(
        "staging-handle-needs-no-service-object",
        Edit("www-check", "message", "down @infrastructure-staff@python.org @pagerduty-nowhere"),
        {"datadog-staging-never-pages": 1},
        stack="staging",
    ),
    Case(
        "contact-method-repeats-the-login-address",
        (
            Edit("on-call-user-ee", "email", "ee@example.org"),
            Add(PD_CONTACT_METHOD, "on-call-ee-email", {"type": "email_contact_method", "address": "EE@example.org"}),
            Edit("on-call-ee-email", "@dependencies", (urn("prod", PD_USER, "on-call-user-ee"),)),
        ),
        {"pagerduty-login-address-not-redeclared": 1},
    ),
    Case(
        "service-object-key-in-plaintext",
        Edit("on-call-service-object", "serviceKey", "0123456789abcdef"),
        {"pagerduty-service-objects-hold-integration-keys": 1},
    ),
    Case(
        "service-object-key-from-nowhere",
        Edit("on-call-service-object", "@dependencies", ()),
        {"pagerduty-service-objects-hold-integration-keys": 1},
    ),
    # Datadog dashboards find their monitors by tags
    Case(
        "dashboard-selects-a-tag-nothing-carries",
        Edit(
            "www-dashboard",
            "dashboard",
            json.dumps(
                {
                    "layout_type": "ordered",
                    "widgets": [{"definition": {"type": "manage_status", "title": "M", "query": 'tag:"service:wwww"'}}],
                }
            ),
        ),
        {"datadog-dashboards-select-what-exists": 1},
    ),
    Case(
        "dashboard-objectives-of-another-stack",
        Edit("www-uptime", "tags", ["env:staging", "service:www"]),
        {"datadog-dashboards-select-what-exists": 1},
    ),
    Case(
        "dashboard-not-json",
        Edit("www-dashboard", "dashboard", "{widgets"),
        {"datadog-dashboards-select-what-exists": 1},
    ),
    # The SLO API's thresholds and the Dashboards API's layouts
    Case(
        "slo-target-of-100",
        (Edit("www-uptime", "thresholds.0.target", 100.0), Edit("www-uptime", "targetThreshold", 100.0)),
        {"datadog-slo-thresholds": 1},
    ),
    Case(
        "slo-warning-below-target",
        (Edit("www-uptime", "thresholds.0.warning", 99.0), Edit("www-uptime", "warningThreshold", 99.0)),
        {"datadog-slo-thresholds": 1},
    ),
    Case(
        "slo-over-a-year",
        (Edit("www-uptime", "thresholds.0.timeframe", "365d"), Edit("www-uptime", "timeframe", "365d")),
        {"datadog-slo-thresholds": 1},
    ),
    Case("slo-without-thresholds", Edit("www-uptime", "thresholds", []), {"datadog-slo-thresholds": 1}),
    Case("slo-primary-mismatch", Edit("www-uptime", "targetThreshold", 99.5), {"datadog-slo-thresholds": 1}),
    Case("slo-of-no-monitor", Edit("www-uptime", "monitorIds", []), {"datadog-slo-thresholds": 1}),
    Case(
        "dashboard-auto-reflow-with-a-positioned-widget",
        Edit(
            "www-dashboard",
            "dashboard",
            json.dumps(
                {
                    "layout_type": "ordered",
                    "reflow_type": "auto",
                    "widgets": [
                        {
                            "definition": {"type": "manage_status", "title": "M", "query": 'tag:"service:www"'},
                            "layout": {"x": 0, "y": 0, "width": 4, "height": 2},
                        }
                    ],
                }
            ),
        ),
        {"datadog-dashboard-layout": 1},
    ),
    Case(
        "dashboard-free-layout-reflows",
        Edit("www-dashboard", "dashboard", json.dumps({"layout_type": "free", "reflow_type": "auto", "widgets": []})),
        {"datadog-dashboard-layout": 1},
    ),
    Case(
        "dashboard-group-not-ordered",
        Edit(
            "www-dashboard",
            "dashboard",
            json.dumps(
                {
                    "layout_type": "ordered",
                    "widgets": [{"definition": {"type": "group", "title": "G", "layout_type": "free", "widgets": []}}],
                }
            ),
        ),
        {"datadog-dashboard-layout": 1},
    ),
]


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_compliant_estate_passes_every_rule(stack: str) -> None:
    assert counts(estate(stack)) == {}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_one_change_gives_exactly_the_expected_violations(case: Case) -> None:
    resources = estate(case.stack)
    for change in case.change if isinstance(case.change, tuple) else (case.change,):
        resources = change.apply(resources)
    assert counts(resources) == case.expected


def test_every_rule_has_a_failing_case() -> None:
    covered = {name for case in CASES for name in case.expected} | {"s3-bucket-name-no-dots"}
    assert covered == set(RULES_BY_NAME)


def test_violation_messages_name_the_resource_and_the_fix() -> None:
    resources = Edit("web-fw", "inboundRules.0.sourceAddresses", ["0.0.0.0/0"]).apply(estate())
    (finding,) = RULES_BY_NAME[INBOUND].violations(resources)
    assert finding.urn == urn("prod", FIREWALL, "web-fw")
    assert "Firewall 'web-fw'" in finding.message
    assert "tcp 22" in finding.message
    assert "Fix:" in finding.message


@pytest.mark.parametrize(("name", "expected"), [("psf-prod-files", 0), ("psf.prod.files", 1), ("files.python.org", 1)])
def test_bucket_names_without_dots(name: str, expected: int) -> None:
    bucket = Resource(BUCKET[0], "files", urn("prod", BUCKET[0], "files"), {"bucket": name})
    assert len(RULES_BY_NAME["s3-bucket-name-no-dots"].violations([bucket])) == expected


def test_a_subscription_holds_at_most_a_hundred_names() -> None:
    rule = RULES_BY_NAME["fastly-tls-subscription-contract"]
    names = [f"h{n}.python.org" for n in range(100)]
    subscription = Resource(
        TLS_SUBSCRIPTION,
        "big",
        urn("prod", TLS_SUBSCRIPTION, "big"),
        {"certificateAuthority": "globalsign", "domains": names, "commonName": names[0]},
    )
    assert rule.violations([subscription]) == []
    too_many = replace(subscription, props={**subscription.props, "domains": [*names, "h100.python.org"]})
    (finding,) = rule.violations([too_many])
    assert "lists 101 domains" in finding.message


def test_a_certificate_warning_that_does_not_page_is_waived_not_silent() -> None:
    findings = [
        f for rule, f in evaluate(estate("prod")) if rule.name == "datadog-prod-pages-on-call" and f.status == "waived"
    ]
    assert [f.waiver for f in findings] == ["certificate-warning-no-page"]
    assert findings[0].urn == urn("prod", SYNTHETICS_TEST, "www-tls-warning")


# --- the rule table ------------------------------------------------------------------------------------

ANCHOR_RE = re.compile(r"^(CKV2?_(AWS|DIO)_\d+|DIG-\d{4}|AWS-\d{4}|KICS-[0-9a-f]{8}|ours)$")


def test_at_least_twenty_rules() -> None:
    assert len(RULES) >= 20


def test_rule_names_are_unique_and_kebab_case() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", n) for n in names)


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rule_is_well_formed(rule: Any) -> None:
    assert rule.anchors
    assert all(ANCHOR_RE.match(a) for a in rule.anchors), rule.anchors
    assert rule.enforcement in ENFORCEMENT_LEVELS
    assert rule.description and rule.description[0].isupper()
    assert rule.resource_types or rule.name in ("staging-nothing-protected", "explicit-provider")


def test_every_provider_family_is_covered() -> None:
    families = {t.split(":", 1)[0] for rule in RULES for t in rule.resource_types}
    assert {"digitalocean", "aws", "fastly", "datadog"} <= families


def test_rule_table_rejects_malformed_rules() -> None:
    from policy.rules import Rule

    def check(_: Resource) -> list[Any]:
        return []

    with pytest.raises(ValueError, match="kebab"):
        Rule("Bad_Name", "x", ("ours",), "mandatory", (), check=check)
    with pytest.raises(ValueError, match="anchor"):
        Rule("no-anchor", "x", (), "mandatory", (), check=check)
    with pytest.raises(ValueError, match="enforcement"):
        Rule("bad-level", "x", ("ours",), "remediate", (), check=check)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exactly one"):
        Rule("no-check", "x", ("ours",), "advisory", ())


# --- exceptions ----------------------------------------------------------------------------------------


def test_exceptions_have_unique_ids_reasons_and_real_rules() -> None:
    ids = [e.id for e in EXCEPTIONS]
    assert len(ids) == len(set(ids))
    for exception in EXCEPTIONS:
        assert len(exception.reason) > 30, exception.id
        assert exception.rule in RULES_BY_NAME, exception.id


def _firewall(name: str, waiver: FirewallWaiver, port: str) -> Resource:
    key, addresses = (
        ("inboundRules", "sourceAddresses")
        if waiver.direction == "inbound"
        else ("outboundRules", "destinationAddresses")
    )
    rule: dict[str, Any] = {"protocol": waiver.protocols[0], addresses: ANYWHERE}
    if port:
        rule["portRange"] = port
    return Resource(FIREWALL, "fw", urn("prod", FIREWALL, "fw"), {"name": name, key: [rule]})


@pytest.mark.parametrize("waiver", FIREWALL_WAIVERS, ids=[w.id for w in FIREWALL_WAIVERS])
def test_firewall_waiver_is_honoured_where_it_applies(waiver: FirewallWaiver) -> None:
    rule = RULES_BY_NAME[waiver.rule]
    for port in waiver.ports:
        fw = _firewall(waiver.firewall_name.replace("*", "psf-prod-"), waiver, port)
        findings = rule.findings([fw])
        assert [(f.status, f.waiver) for f in findings] == [("waived", waiver.id)]
        assert waiver.reason in findings[0].message


@pytest.mark.parametrize("waiver", [w for w in FIREWALL_WAIVERS if w.firewall_name != "*"], ids=lambda w: w.id)
def test_firewall_waiver_does_not_apply_to_other_firewalls(waiver: FirewallWaiver) -> None:
    fw = _firewall("psf-prod-wiki", waiver, waiver.ports[0])
    assert len(RULES_BY_NAME[waiver.rule].violations([fw])) == 1


def test_mail_smtp_open_passes_and_the_same_port_elsewhere_fails() -> None:
    mail = next(w for w in FIREWALL_WAIVERS if w.id == "public-smtp")
    rule = RULES_BY_NAME[INBOUND]
    assert rule.violations([_firewall("psf-prod-mail", mail, "25")]) == []
    assert len(rule.violations([_firewall("psf-prod-docs", mail, "25")])) == 1


def test_standby_waiver_is_honoured_for_the_service_it_names_only() -> None:
    rule = RULES_BY_NAME["fastly-psf-origin-standby"]
    (waiver,) = STANDBY_WAIVERS
    alone = Edit("www", "backends.1.requestCondition", "standby").apply(estate())
    alone = Edit("www", "backends.2.sslCertHostname", "b.psf.io").apply(alone)
    mail = Edit("www", "name", "psf-prod-mail").apply(alone)
    findings = rule.findings(mail)
    assert [(f.status, f.waiver) for f in findings] == [("waived", waiver.id)]
    assert waiver.reason in findings[0].message
    assert len(rule.violations(Edit("www", "name", "psf-prod-mailman-docs").apply(alone))) == 1


def test_every_other_exception_is_used_by_the_compliant_estate() -> None:
    waived = {f.waiver for _, f in evaluate(estate()) if f.status == "waived"}
    others = {e.id for e in EXCEPTIONS if isinstance(e, Waiver)}
    assert others <= waived
    assert waived <= {e.id for e in EXCEPTIONS}


# --- what an adapter cannot see ------------------------------------------------------------------------


def test_secret_headers_list_leaves_header_checks_unverified_not_failed() -> None:
    resources = Edit("www", "headers", "[secret]").apply(estate())
    assert counts(resources) == {}
    unverified = {rule.name for rule, f in evaluate(resources) if f.status == "unverified"}
    # The origin token is set by a dynamic snippet, which a secret headers list does not hide.
    assert unverified == {"fastly-hsts"}
    resources = Edit("www", "dynamicsnippets", []).apply(Edit("www-token").apply(resources))
    unverified = {rule.name for rule, f in evaluate(resources) if f.status == "unverified"}
    assert unverified == {"fastly-hsts", "fastly-origin-shared-secret"}


def test_plaintext_is_unverified_when_secrets_are_not_marked() -> None:
    resources = [
        replace(r, secrets_marked=False) if r.name == "www" else r
        for r in Edit("www", "headers.1.source", '"hunter2"').apply(estate())
    ]
    findings = RULES_BY_NAME["no-plaintext-secrets"].findings(resources)
    assert [f.status for f in findings] == ["unverified"]


def test_an_email_contact_method_at_the_login_address_is_refused() -> None:
    """PagerDuty already made it (the user's default); the provider's create of a second one fails."""
    user = urn("prod", PD_USER, "on-call-user-team")
    method = urn("prod", PD_CONTACT_METHOD, "on-call-team-email")
    base = [r for r in estate() if r.type != PD_USER] + [
        Resource(PD_USER, "on-call-user-team", user, {"name": "Team", "email": "team@example.org"})
    ]

    def with_method(address: str, kind: str = "email_contact_method", **change: Any) -> list[Resource]:
        props = {"userId": "PUSER9", "type": kind, "address": address, "label": "Team list"}
        return [*base, Resource(PD_CONTACT_METHOD, "on-call-team-email", method, props, dependencies=(user,), **change)]

    rule = RULES_BY_NAME["pagerduty-login-address-not-redeclared"]
    assert rule.enforcement == "mandatory"
    assert [f.status for f in rule.findings(with_method("Team@Example.org"))] == ["violation"]
    assert rule.findings(with_method("on-call@example.org")) == []
    assert rule.findings(with_method("team@example.org", "sms_contact_method")) == []
    # A recording hides both addresses when they are secrets: it cannot tell, and says so.
    secret = [*base[:-1], replace(base[-1], props={"name": "Team", "email": "[secret]"})]
    secret.append(
        Resource(
            PD_CONTACT_METHOD,
            "on-call-team-email",
            method,
            {"type": "email_contact_method", "address": "[secret]"},
            dependencies=(user,),
        )
    )
    assert [f.status for f in rule.findings(secret)] == ["unverified"]


def test_unknown_retain_on_delete_is_unverified_in_prod() -> None:
    resources = Edit("python-org", "@retain_on_delete", None).apply(estate())
    findings = RULES_BY_NAME["stateful-protected-in-prod"].findings(resources)
    assert [f.status for f in findings] == ["unverified"]


@pytest.mark.parametrize(("stack", "prod"), [("prod", True), ("staging", False), ("test", False), ("prod-eu", False)])
def test_environment_comes_from_the_urn(stack: str, prod: bool) -> None:
    resource = Resource(ZONE, "z", urn(stack, ZONE, "z"))
    assert resource.stack == stack
    assert resource.is_prod is prod


# --- the CrossGuard pack -------------------------------------------------------------------------------


def test_pack_builds_one_policy_per_rule() -> None:
    policies = pack.build_policies()
    assert [p.name for p in policies] == [r.name for r in RULES]
    for policy, rule in zip(policies, RULES, strict=True):
        assert isinstance(policy, StackValidationPolicy if rule.is_stack_rule else ResourceValidationPolicy)
        assert (
            policy.enforcement_level
            == {
                "mandatory": EnforcementLevel.MANDATORY,
                "advisory": EnforcementLevel.ADVISORY,
            }[rule.enforcement]
        )
        assert policy.tags == list(rule.anchors)
        assert policy.description == rule.description


def _opts(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _policy(name: str) -> Any:
    return next(p for p in pack.build_policies() if p.name == name)


def _crossguard_args(resource: Resource, provider: str = "do") -> ResourceValidationArgs:
    prov = PolicyProviderResource(
        "pulumi:providers:digitalocean", {}, provider_urn("prod", "digitalocean", provider), provider
    )
    props = unknown_checking_proxy(copy.deepcopy(dict(resource.props)))
    return ResourceValidationArgs(resource.type, props, resource.urn, resource.name, _opts(resource.protect), prov)


def _run(policy: Any, args: Any) -> list[tuple[str, str | None]]:
    reported: list[tuple[str, str | None]] = []
    policy.validate(args, lambda message, urn=None: reported.append((message, urn)))
    return reported


def test_crossguard_resource_policy_reports_through_the_proxy() -> None:
    fw = next(
        r for r in Edit("web-fw", "inboundRules.0.sourceAddresses", ["0.0.0.0/0"]).apply(estate()) if r.name == "web-fw"
    )
    reported = _run(_policy(INBOUND), _crossguard_args(fw))
    assert len(reported) == 1
    assert "tcp 22" in reported[0][0]
    # The waived SMTP rule stays quiet under CrossGuard too.
    mail = next(r for r in estate() if r.name == "mail-fw")
    assert _run(_policy(INBOUND), _crossguard_args(mail)) == []
    # A policy ignores types it does not read.
    droplet = next(r for r in estate() if r.name == "web-1")
    assert _run(_policy(INBOUND), _crossguard_args(droplet)) == []


def test_crossguard_flags_default_providers() -> None:
    droplet = next(r for r in estate() if r.name == "web-1")
    assert _run(_policy("explicit-provider"), _crossguard_args(droplet)) == []
    reported = _run(_policy("explicit-provider"), _crossguard_args(droplet, provider="default_4_50_0"))
    assert len(reported) == 1
    assert "default_4_50_0" in reported[0][0]


def test_crossguard_protect_without_visible_retain_passes() -> None:
    zone = next(r for r in estate() if r.name == "python-org")
    assert _run(_policy("stateful-protected-in-prod"), _crossguard_args(zone)) == []
    assert len(_run(_policy("stateful-protected-in-prod"), _crossguard_args(replace(zone, protect=False)))) == 1


def test_crossguard_sees_ignore_changes() -> None:
    volume = next(r for r in estate() if r.name == "backups-vol")
    args = _crossguard_args(volume)
    assert len(_run(_policy("do-forcenew-inputs-ignored"), args)) == 1
    keeps = PolicyResourceOptions(True, ["description"], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    args = ResourceValidationArgs(volume.type, args.props, volume.urn, volume.name, keeps, args.provider)
    assert _run(_policy("do-forcenew-inputs-ignored"), args) == []


def test_crossguard_stack_policy_reports_the_offending_urn() -> None:
    resources = Edit("web-1", "tags", ["psf-prod-other"]).apply(estate())
    prov = PolicyProviderResource("pulumi:providers:digitalocean", {}, provider_urn("prod", "digitalocean", "do"), "do")
    stack = [
        PolicyResource(
            r.type,
            unknown_checking_proxy(copy.deepcopy(dict(r.props) | dict(r.outputs))),
            r.urn,
            r.name,
            _opts(r.protect),
            prov,
            None,
            [],
            {},
        )
        for r in resources
    ]
    reported = _run(_policy("do-droplet-firewalled"), StackValidationArgs(stack))
    assert [u for _, u in reported] == [urn("prod", DROPLET, "web-1")]


# --- the offline adapter over a real recording ---------------------------------------------------------


def _program(*, open_ssh: bool, default_provider: bool) -> Callable[[], None]:
    def program() -> None:
        do = digitalocean.Provider("do", token=pulumi.Output.secret("x"))
        opts = pulumi.ResourceOptions(provider=do)
        keep = pulumi.ResourceOptions(ignore_changes=["userData", "sshKeys"])
        # The tag as a resource, named through its output: droplet and firewall depend on it.
        tag = digitalocean.Tag("tag-web", name="web", opts=opts)
        droplet = digitalocean.Droplet(
            "web-1",
            image="ubuntu-24-04-x64",
            size="s-1vcpu-1gb",
            region="nyc3",
            ssh_keys=["3b:16"],
            tags=[tag.name],
            opts=keep if default_provider else pulumi.ResourceOptions.merge(opts, keep),
        )
        project = digitalocean.Project("nyc1-project", name="psf-test-nyc1", opts=opts)
        digitalocean.ProjectResources(
            "nyc1-project-resources", project=project.id, resources=[droplet.droplet_urn], opts=opts
        )
        digitalocean.Firewall(
            "web-fw",
            name="psf-test-web",
            tags=[tag.name],
            inbound_rules=[
                digitalocean.FirewallInboundRuleArgs(
                    protocol="tcp", port_range="22", source_addresses=["0.0.0.0/0"] if open_ssh else ADMIN
                )
            ],
            opts=opts,
        )

    return program


def test_offline_evaluate_passes_a_compliant_recording() -> None:
    recording = record_program(_program(open_ssh=False, default_provider=False))
    assert offline.evaluate(recording) == []
    assert offline.format_report([]).startswith("policy check: no violations")


def test_offline_evaluate_reports_real_records() -> None:
    recording = record_program(_program(open_ssh=True, default_provider=True))
    violations = offline.evaluate(recording)
    assert Counter(v.rule for v in violations) == {INBOUND: 1, "explicit-provider": 1}
    firewall = recording.named("web-fw")
    assert next(v for v in violations if v.rule == INBOUND).urn == firewall.urn
    assert {v.enforcement for v in violations} == {"mandatory"}
    assert offline.blocking(violations) == violations
    report = offline.format_report(violations)
    assert "2 violation(s), 2 mandatory" in report
    assert "MANDATORY do-firewall-no-public-inbound" in report
    assert firewall.urn in report


def test_offline_report_lists_exemptions() -> None:
    def program() -> None:
        do = digitalocean.Provider("do", token=pulumi.Output.secret("x"))
        digitalocean.Firewall(
            "mail-fw",
            name="psf-test-mail",
            inbound_rules=[
                digitalocean.FirewallInboundRuleArgs(protocol="tcp", port_range="25", source_addresses=ANYWHERE)
            ],
            opts=pulumi.ResourceOptions(provider=do),
        )

    recording = record_program(program)
    assert offline.evaluate(recording) == []
    exempted = offline.exemptions(recording)
    assert [(e.rule, e.status, e.waiver) for e in exempted] == [(INBOUND, "waived", "public-smtp")]
    assert "waived do-firewall-no-public-inbound" in offline.format_report([], exempted)


def test_pack_serves_when_run_as_a_program(tmp_path: Path) -> None:
    # What the CLI does: run policy/ as a program from the pack's directory, unbuffered (`python -u`, as
    # pulumi-language-python starts an analyzer). PolicyPack then prints the analyzer's port and serves
    # until stopped. Without -u the port sits in a pipe buffer and readline() waits forever.
    code = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"
    with subprocess.Popen(
        [sys.executable, "-u", "-c", code, str(POLICY_DIR)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            port = proc.stdout.readline().strip()
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=30)
    assert port.isdigit(), err


def _redirect_service(location: str) -> Resource:
    props = {
        "name": "psf-prod-python-org-apex",
        "domains": [{"name": "python.org"}],
        "requestSettings": [{"name": "defaults", "forceSsl": False}],
        "conditions": [{"name": "redirect", "type": "REQUEST", "statement": 'req.url ~ "^/"'}],
        "responseObjects": [{"name": "redirect", "status": 301.0, "requestCondition": "redirect"}],
        "headers": [
            {"name": "hsts", "type": "response", "action": "set", "destination": "http.Strict-Transport-Security",
             "source": '"max-age=63072000"'},
            {"name": "redirect-location", "type": "response", "action": "set", "destination": "http.Location",
             "source": f'"{location}" + req.url'},
        ],
        "staleIfError": True,
        "loggingS3s": [{"name": "s3", "bucketName": "psf-prod-logs"}],
    }  # fmt: skip
    return Resource(FASTLY_SERVICE, "apex", urn("prod", FASTLY_SERVICE, "apex"), props, provider="fastly")


@pytest.mark.parametrize("location", ["https://www.python.org", "http://www.python.org"])
def test_a_redirect_only_service_is_refused_because_fastly_cannot_activate_it(location: str) -> None:
    rules = [r for r in RULES if FASTLY_SERVICE in r.resource_types and not r.is_stack_rule]
    service = _redirect_service(location)
    found = dict(Counter(rule.name for rule in rules for _ in rule.violations([service])))
    # Not even an https:// Location makes it deployable: it has no backend, and plain HTTP is not forced.
    assert found == {"fastly-service-has-backend": 1, "fastly-force-tls": 1, "fastly-request-setting-xff": 1}


def test_secret_healthchecks_are_unverified_not_failed() -> None:
    resources = Edit("www", "healthchecks", "[secret]").apply(estate())
    assert counts(resources) == {}
    findings = RULES_BY_NAME["fastly-backend-healthcheck"].findings(resources)
    assert [f.status for f in findings] == ["unverified"]
    # A backend naming no health check still fails.
    resources = Edit("www", "backends.0.healthcheck").apply(resources)
    assert counts(resources) == {"fastly-backend-healthcheck": 1}


# --- advisory findings accepted on purpose -----------------------------------------------------------------


def test_acceptances_name_advisory_rules_and_say_why() -> None:
    assert len({a.id for a in ACCEPTED}) == len(ACCEPTED)
    for acceptance in ACCEPTED:
        assert RULES_BY_NAME[acceptance.rule].enforcement == "advisory", acceptance.id
        assert len(acceptance.reason) > 60 and acceptance.resources, acceptance.id


def test_an_accepted_finding_is_not_a_violation_and_names_its_acceptance() -> None:
    acceptance = ACCEPTED[0]
    zone = Resource(ZONE, "python-org-zone", urn("prod", ZONE, "python-org-zone"), {"name": "python.org"})
    findings = RULES_BY_NAME[acceptance.rule].findings([zone])
    assert [(f.status, f.waiver) for f in findings] == [("accepted", acceptance.id)]
    assert RULES_BY_NAME[acceptance.rule].violations([zone]) == []


def test_an_acceptance_covers_only_the_resources_it_names() -> None:
    other = Resource(BUCKET[0], "pypi-files-bucket", urn("prod", BUCKET[0], "pypi-files-bucket"), {"bucket": "b"})
    site = Resource(BUCKET[0], "jython-site-bucket", urn("prod", BUCKET[0], "jython-site-bucket"), {"bucket": "j"})
    findings = RULES_BY_NAME["s3-access-logging"].findings([other, site])
    assert sorted((f.urn.rsplit("::", 1)[-1], f.status) for f in findings) == [
        ("jython-site-bucket", "accepted"),
        ("pypi-files-bucket", "violation"),
    ]


def test_a_non_prod_acceptance_leaves_prods_finding_a_violation() -> None:
    (acceptance,) = [a for a in ACCEPTED if a.non_prod_only]
    backend = {"name": "docs-1", "address": "192.0.2.1", "sslCertHostname": "docs.psf.io"}
    for stack, status in (("staging", "accepted"), ("prod", "violation")):
        service = Resource(
            FASTLY_SERVICE,
            "nyc1-docs-edge-vcl",
            urn(stack, FASTLY_SERVICE, "nyc1-docs-edge-vcl"),
            {"name": f"psf-{stack}-docs", "backends": [backend]},
        )
        findings = RULES_BY_NAME[acceptance.rule].findings([service])
        assert findings and {f.status for f in findings} == {status}, stack


def test_a_mandatory_rule_cannot_be_accepted() -> None:
    # A mandatory finding on a resource an acceptance's glob matches stays a violation.
    rule = Rule(
        "route53-query-logging",
        "test",
        ("ours",),
        "mandatory",
        (ZONE,),
        check=lambda r: [Finding(r.urn, "x")],
    )
    zone = Resource(ZONE, "python-org-zone", urn("prod", ZONE, "python-org-zone"))
    assert [f.status for f in rule.findings([zone])] == ["violation"]


def test_every_acceptance_is_used_by_a_committed_stack(prod: Any, staging: Any) -> None:
    used = {e.waiver for stack in (prod, staging) for e in offline.exemptions(stack) if e.status == "accepted"}
    assert used == {a.id for a in ACCEPTED}, "drop an acceptance that no longer matches anything"
