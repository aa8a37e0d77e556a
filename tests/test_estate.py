"""The estate: every service on the overview page is present, placed, fronted, named and monitored.

Each stack is recorded once per session (tests/conftest.py); these tests only read the records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from components.edge import CERTIFICATE_AUTHORITIES
from offline.plan import summary
from offline.recorder import Record, Recording
from stacks import nyc1, sfo1
from stacks.ams1 import MAIL
from stacks.catalog import SERVICES
from stacks.context import WebRole
from stacks.ownership import Ownership
from stacks.settings import Settings, parse_settings
from tests.test_settings import base

DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
FASTLY = "fastly:index/serviceVcl:ServiceVcl"
RECORD = "aws:route53/record:Record"
ZONE = "aws:route53/zone:Zone"
SYNTHETICS = "datadog:index/syntheticsTest:SyntheticsTest"
MONITOR = "datadog:index/monitor:Monitor"
BUCKET = "aws:s3/bucket:Bucket"


@dataclass(frozen=True)
class Expected:
    """Where a seed-page service runs and how it is reached, in prod's names."""

    where: str  # a datacenter, or "global" for services with no droplets of ours
    hosts: tuple[tuple[str, str], ...]  # (host, zone)
    fronted: str  # "fastly" or "direct"


# Seed 000, service by service.
SEED_PAGE: dict[str, Expected] = {
    "buildbot": Expected("nyc1", (("buildbot.python.org", "python.org"),), "fastly"),
    "bugs": Expected(
        "nyc1",
        (
            ("bugs.python.org", "python.org"),
            ("bugs.jython.org", "jython.org"),
            ("issues.roundup-tracker.org", "roundup-tracker.org"),
        ),
        "fastly",
    ),
    "docs": Expected("nyc1", (("docs.python.org", "python.org"),), "fastly"),
    "hg": Expected("nyc1", (("hg.python.org", "python.org"),), "fastly"),
    "mail": Expected("ams1", (("mail.python.org", "python.org"),), "fastly"),
    "planet": Expected(
        "nyc1", (("planetpython.org", "planetpython.org"), ("planet.jython.org", "jython.org")), "fastly"
    ),
    "pythontest": Expected("nyc1", (("pythontest.net", "pythontest.net"),), "direct"),
    "speed": Expected("nyc1", (("speed.python.org", "python.org"),), "fastly"),
    "wiki": Expected("nyc1", (("wiki.python.org", "python.org"),), "fastly"),
    "pypy": Expected("nyc1", (("pypy.org", "pypy.org"),), "fastly"),
    "jython": Expected("global", (("www.jython.org", "jython.org"),), "fastly"),
    "python-org": Expected(
        "global",
        (("www.python.org", "python.org"), ("python.org", "python.org"), ("staging.python.org", "python.org")),
        "fastly",
    ),
    "legacy": Expected("global", (("legacy.python.org", "python.org"),), "fastly"),
    "pycon": Expected("global", (("us.pycon.org", "pycon.org"),), "fastly"),
    "pypi": Expected("global", (("pypi.org", "pypi.org"),), "fastly"),
}
ALL_ROLES: tuple[WebRole, ...] = (*nyc1.WEB_ROLES, MAIL, sfo1.BACKUP, sfo1.MIRROR)


def settings_of(recording: Recording) -> Settings:
    return parse_settings(recording.stack, base(recording.stack))


def public_name(recording: Recording, host: str, zone: str) -> str:
    return settings_of(recording).public_host(host, zone)


def droplets_of(recording: Recording, key: str) -> list[Record]:
    return [d for d in recording.of_type(DROPLET) if f"service:{key}" in d.inputs["tags"]]


def fastly_domains(recording: Recording) -> set[str]:
    return {d["name"] for s in recording.of_type(FASTLY) for d in s.inputs["domains"]}


def synthetic_urls(recording: Recording) -> set[str]:
    return {t.inputs["requestDefinition"].get("url", "") for t in recording.of_type(SYNTHETICS)}


def record_names(recording: Recording) -> set[str]:
    return {r.inputs["name"] for r in recording.of_type(RECORD)}


@pytest.mark.parametrize("key", sorted(SEED_PAGE))
def test_seed_service_is_present_placed_fronted_named_and_monitored(stack: Recording, key: str) -> None:
    expected = SEED_PAGE[key]
    droplets = droplets_of(stack, key)
    if expected.where == "global":
        assert droplets == [], f"{key} has no droplets of ours"
    else:
        assert droplets, f"{key} has no droplets"
        assert {d.datacenter for d in droplets} == {expected.where}
        assert all(f"datacenter:{expected.where}" in d.inputs["tags"] for d in droplets)
    external = settings_of(stack).owners.edge(key) is Ownership.EXTERNAL
    for host, zone in expected.hosts:
        name = public_name(stack, host, zone)
        assert any(url.startswith(f"https://{name}/") for url in synthetic_urls(stack)), f"{name} is not monitored"
        if external:
            # Served and named by its owner (prod's pypi.org: pypi-infra): watched here, never made.
            assert name not in record_names(stack) and name not in fastly_domains(stack), name
            continue
        assert name in record_names(stack), f"{name} has no DNS record"
        if expected.fronted == "fastly":
            assert name in fastly_domains(stack), f"{name} is not a Fastly domain"
        else:
            assert name not in fastly_domains(stack)


def test_every_catalog_service_is_in_the_estate(stack: Recording) -> None:
    tags = {t for m in stack.of_type(MONITOR) + stack.of_type(SYNTHETICS) for t in m.inputs["tags"]}
    placed = {t.split(":", 1)[1] for t in tags if t.startswith("service:")}
    for key in SERVICES:
        if key in {"database", "cdn-logs", "dns"}:
            continue  # shared systems without monitors of their own; checked below
        assert key in placed, f"catalog service {key} is not monitored"
    assert stack.of_type("digitalocean:index/databaseCluster:DatabaseCluster")
    assert any("cdn-logs" in b.inputs["bucket"] for b in stack.of_type(BUCKET))


def test_monitor_messages_name_owners_and_contact(stack: Recording) -> None:
    for monitor in stack.of_type(MONITOR) + stack.of_type(SYNTHETICS):
        key = next(t.split(":", 1)[1] for t in monitor.inputs["tags"] if t.startswith("service:"))
        entry = SERVICES[key]
        assert entry.contact in monitor.inputs["message"], monitor.name
        assert entry.owners[0] in monitor.inputs["message"], monitor.name
        assert f"env:{stack.stack}" in monitor.inputs["tags"]
        assert f"contact:{entry.contact.replace('@', '_at_')}" in monitor.inputs["tags"], monitor.name
        assert any(t.startswith("owner:") for t in monitor.inputs["tags"]), monitor.name


def test_mail_is_direct_for_smtp_with_mx_spf_dkim_dmarc(stack: Recording) -> None:
    firewall = stack.named("ams1-mail-fw")
    smtp = [r for r in firewall.inputs["inboundRules"] if r.get("portRange") == "25"]
    assert smtp and set(smtp[0]["sourceAddresses"]) == {"0.0.0.0/0", "::/0"}
    records = {(r.inputs["name"], r.inputs["type"]): r.inputs["records"] for r in stack.of_type(RECORD)}
    domain = public_name(stack, "python.org", "python.org")
    internal = settings_of(stack).internal_domain
    # Delivered to the reserved address's name; the host itself is mail.ams1 (psf-salt's exact pattern). Prod
    # also has the secondary MX in sfo1 (tests/test_estate_standby.py); staging runs no standbys.
    secondary = [f"20 mx.sfo1.{internal}"] if settings_of(stack).standbys else []
    assert records[(domain, "MX")] == [f"10 mx.ams1.{internal}", *secondary]
    spf = [v for v in records[(domain, "TXT")] if v.startswith("v=spf1")]
    assert spf and spf[0].endswith(" -all")
    assert records[(f"_dmarc.{domain}", "TXT")][0].startswith("v=DMARC1; p=quarantine")
    assert any(url == f"tcp://mx.ams1.{internal}:25" for url in _tcp_urls(stack))


def _tcp_urls(stack: Recording) -> set[str]:
    urls = set()
    for test in stack.of_type(SYNTHETICS):
        request = test.inputs["requestDefinition"]
        if "port" in request:
            urls.add(f"tcp://{request['host']}:{int(request['port'])}")
    return urls


def test_dkim_is_published_when_the_mail_host_key_is_set() -> None:
    from offline.recorder import record_stack

    key = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 3
    recording = record_stack("staging", {"dkimKeys": [f"mail2026={key}"]})
    names = {r.inputs["name"]: r.inputs["records"] for r in recording.of_type(RECORD)}
    assert names["mail2026._domainkey.python-org.staging.psf.io"][0].startswith("v=DKIM1; k=rsa; p=MIIB")


def test_every_public_zone_has_caa_with_iodef(stack: Recording) -> None:
    # Every zone's own CAA record, not the first one found (tests/test_estate_mutants.py pins the difference).
    for zone in stack.of_type(ZONE):
        values = [
            v
            for r in stack.of_type(RECORD)
            if r.inputs["type"] == "CAA" and r.inputs["name"] == zone.inputs["name"]
            for v in r.inputs["records"]
        ]
        # The authority Fastly requests the stack's certificates from (tlsCertificateAuthority) is allowed everywhere.
        fastly_ca = CERTIFICATE_AUTHORITIES[settings_of(stack).tls_certificate_authority]
        assert f'0 issue "{fastly_ca}"' in values, zone.inputs["name"]
        assert '0 iodef "mailto:infrastructure-staff@python.org"' in values, zone.inputs["name"]


def test_every_zone_of_the_seeds_exists(stack: Recording) -> None:
    settings = settings_of(stack)
    zones = {z.inputs["name"] for z in stack.of_type(ZONE)}
    for domain in (
        "python.org",
        "jython.org",
        "roundup-tracker.org",
        "planetpython.org",
        "pythontest.net",
        "pycon.org",
        "pypi.org",
        "pypy.org",
    ):
        # A zone owned elsewhere (prod's pypi.org, pypi-infra's) is not made here.
        made = settings.owners.zone(domain) is not Ownership.EXTERNAL
        assert (settings.public_domain(domain) in zones) == made, domain
    assert settings.internal_domain in zones


def test_every_droplet_has_internal_host_records(stack: Recording) -> None:
    names = record_names(stack)
    for droplet in stack.of_type(DROPLET):
        assert droplet.inputs["name"] in names
        dc = droplet.datacenter
        assert f".{dc}.{settings_of(stack).internal_domain}" in droplet.inputs["name"]


def test_python_org_routes_ftp_to_downloads_and_redirects_the_apex(stack: Recording) -> None:
    www = next(s for s in stack.of_type(FASTLY) if s.inputs["name"].endswith("-python-org"))
    downloads = {d.outputs["ipv4Address"] for d in droplets_of(stack, "downloads")}
    routed = [b for b in www.inputs["backends"] if b["address"] in downloads]
    assert len(routed) == len(downloads) and all(b.get("requestCondition") for b in routed)
    conditions = {c["name"]: c["statement"] for c in www.inputs["conditions"]}
    assert any("/ftp/" in conditions[b["requestCondition"]] for b in routed)
    # The apex is a redirecting domain of the same service, as live: Fastly activates no backend-less service.
    apex = public_name(stack, "python.org", "python.org")
    assert apex in {d["name"] for d in www.inputs["domains"]}
    (redirect,) = www.inputs["responseObjects"]
    assert redirect["status"] == 301 and conditions[redirect["requestCondition"]] == f'req.http.host == "{apex}"'
    assert not [s for s in stack.of_type(FASTLY) if s.inputs["name"].endswith("-python-org-apex")]


def test_pypi_and_docs_fall_back_to_the_sfo1_mirror(stack: Recording) -> None:
    mirror_ip = droplets_of(stack, "mirror")[0].outputs["ipv4Address"]
    # Prod's PyPI edge is pypi-infra's (it keeps its own fallback to the mirror); staging's is made here.
    suffixes = ("-docs",) if stack.stack == "prod" else ("-pypi", "-docs")
    for suffix in suffixes:
        service = next(s for s in stack.of_type(FASTLY) if s.inputs["name"].endswith(suffix))
        fallback = [b for b in service.inputs["backends"] if b["address"] == mirror_ip]
        assert len(fallback) == 1 and not fallback[0]["autoLoadbalance"], suffix
        condition = next(c for c in service.inputs["conditions"] if c["name"] == fallback[0]["requestCondition"])
        assert "!req.backend.healthy" in condition["statement"]
        # PyPI falls back only for what the mirror holds of it; docs for every page.
        assert ("/simple/" in condition["statement"]) == (suffix == "-pypi"), condition["statement"]


def test_every_fastly_service_logs_to_the_cdn_log_bucket(stack: Recording) -> None:
    bucket = settings_of(stack).physical_name("cdn-logs")
    for service in stack.of_type(FASTLY):
        assert [log["bucketName"] for log in service.inputs["loggingS3s"]] == [bucket], service.name


def test_database_is_in_nyc1_with_firewall_and_databases(stack: Recording) -> None:
    cluster = stack.of_type("digitalocean:index/databaseCluster:DatabaseCluster")[0]
    assert cluster.datacenter == "nyc1" and cluster.inputs["region"] == "nyc3"
    dbs = {d.inputs["name"] for d in stack.of_type("digitalocean:index/databaseDb:DatabaseDb")}
    assert dbs == {"roundup", "buildbot", "codespeed"}
    rules = stack.of_type("digitalocean:index/databaseFirewall:DatabaseFirewall")[0].inputs["rules"]
    tag = f"postgres-client:{settings_of(stack).name_prefix}"
    assert rules == [{"type": "tag", "value": tag}]
    users = {t.split(":", 1)[1] for d in stack.of_type(DROPLET) if tag in d.inputs["tags"] for t in d.inputs["tags"]}
    assert {"bugs", "buildbot", "speed"} <= users
    assert not {"docs", "wiki", "mail"} & {
        t.split(":", 1)[1]
        for d in stack.of_type(DROPLET)
        if tag in d.inputs["tags"]
        for t in d.inputs["tags"]
        if t.startswith("service:")
    }


def test_backup_host_is_reachable_only_from_the_estate(stack: Recording) -> None:
    firewall = stack.named("sfo1-backup-fw")
    for rule in firewall.inputs["inboundRules"]:
        if rule.get("protocol") == "icmp":
            continue
        sources = set(rule.get("sourceAddresses", []))
        assert not sources & {"0.0.0.0/0", "::/0"}, rule
        if rule.get("sourceTags"):
            # Every droplet of this stack carries the stack's minion tag; no other stack's droplet does.
            assert rule["sourceTags"] == [f"salt-minion:{settings_of(stack).name_prefix}"]
    assert droplets_of(stack, "backup")[0].datacenter == "sfo1"


# --- prod versus staging ----------------------------------------------------------------------------------


def test_prod_runs_two_servers_wherever_the_software_allows(prod: Recording) -> None:
    for role in ALL_ROLES:
        count = len(droplets_of(prod, role.key))
        if role.single:
            assert count == 1 and len(role.single) > 20, f"{role.key}: a single server needs a reason"
        else:
            assert count >= 2, f"{role.key} runs {count} server(s) in prod"


def test_staging_runs_one_smallest_server_per_role(staging: Recording) -> None:
    for role in ALL_ROLES:
        droplets = droplets_of(staging, role.key)
        assert len(droplets) == 1, role.key
        assert droplets[0].inputs["size"] == "s-1vcpu-1gb"
    cluster = staging.of_type("digitalocean:index/databaseCluster:DatabaseCluster")[0]
    assert cluster.inputs["size"] == "db-s-1vcpu-1gb"
    assert staging.of_type("digitalocean:index/databaseReplica:DatabaseReplica") == []


def test_prod_database_has_a_replica(prod: Recording) -> None:
    assert len(prod.of_type("digitalocean:index/databaseReplica:DatabaseReplica")) == 1


def test_staging_costs_far_less_than_prod(prod: Recording, staging: Recording) -> None:
    p, s = summary(prod), summary(staging)
    assert s.vcpus * 3 <= p.vcpus, (s.vcpus, p.vcpus)
    assert s.droplets < p.droplets


def _messages(recording: Recording) -> str:
    return json.dumps([m.inputs for m in recording.of_type(MONITOR) + recording.of_type(SYNTHETICS)])


def test_prod_pages_on_call_and_staging_pages_no_one(prod: Recording, staging: Recording) -> None:
    assert "@pagerduty-psf-infrastructure" in _messages(prod)
    assert "@pagerduty" not in _messages(staging)


def _unique_names(recording: Recording) -> dict[str, set[str]]:
    def names(type_: str, key: str = "name") -> set[str]:
        return {str(r.inputs[key]) for r in recording.of_type(type_)}

    return {
        "buckets": names(BUCKET, "bucket"),
        "fastly services": names(FASTLY),
        "fastly domains": fastly_domains(recording),
        "monitors": names(MONITOR),
        "synthetics": names(SYNTHETICS),
        "zones": names(ZONE),
        "droplets": names(DROPLET),
        "firewalls": names(FIREWALL),
        "volumes": names("digitalocean:index/volume:Volume"),
        "database clusters": names("digitalocean:index/databaseCluster:DatabaseCluster"),
        "vpcs": names("digitalocean:index/vpc:Vpc"),
        "iam roles": names("aws:iam/role:Role"),
        "public records": {n for n in record_names(recording) if not n.endswith("psf.io")},
    }


def test_globally_unique_names_never_collide_between_stacks(prod: Recording, staging: Recording) -> None:
    p, s = _unique_names(prod), _unique_names(staging)
    for kind in p:
        assert p[kind], f"no {kind} in prod"
        clash = p[kind] & s[kind]
        assert not clash, f"{kind} shared by prod and staging: {sorted(clash)[:5]}"


def test_staging_public_names_live_under_the_staging_domain(staging: Recording) -> None:
    for name in fastly_domains(staging) | {z.inputs["name"] for z in staging.of_type(ZONE)}:
        assert name.endswith("staging.psf.io"), name


def _stateful(recording: Recording) -> list[Record]:
    kinds = {
        ZONE,
        "digitalocean:index/volume:Volume",
        "digitalocean:index/databaseCluster:DatabaseCluster",
        "digitalocean:index/databaseReplica:DatabaseReplica",
    }
    found = [r for r in recording.records if r.type in kinds]
    found += [b for b in recording.of_type(BUCKET) if b.inputs.get("tags", {}).get("stateful") == "true"]
    return found


def test_prod_protects_and_retains_every_stateful_resource(prod: Recording) -> None:
    stateful = _stateful(prod)
    kinds = {r.type for r in stateful}
    assert len(kinds) == 5, kinds
    buckets = {b.inputs["bucket"] for b in stateful if b.type == BUCKET}
    # PyPI's file bucket is pypi-infra's in prod (ownership storage:pypi-files=external).
    assert buckets == {"psf-prod-cdn-logs"}
    for record in stateful:
        assert record.options.protect and record.options.retain_on_delete, record.urn


def test_staging_protects_nothing(staging: Recording) -> None:
    assert _stateful(staging)
    protected = [r.urn for r in staging.records if r.options.protect or r.options.retain_on_delete]
    assert protected == [], "staging must be destroyable"


def test_unique_logical_names(stack: Recording) -> None:
    urns = [r.urn for r in stack.records]
    assert len(urns) == len(set(urns))
