"""Standbys and the secondary MX (seed 004: two servers per role), proved from the recordings of both stacks.

- every single-server role has a standby or says why the software cannot run one, and the program refuses a
  role that does neither;
- a standby is a Fastly backend of its role's service used only while the primary is unhealthy (or on the
  retry after it failed), before the static mirror where a role has both;
- it runs where its role says, under a name psf-salt's pattern gives the role, with the primary's volumes and
  the database's admission, and its firewall opens the origin port to Fastly and Datadog's probes only;
- Datadog tells "primary down, standby serving" (a composite) from "service down" (the public checks);
- mail has a secondary MX in another datacenter, at a lower priority, named in SPF like the primary;
- staging runs none of it, and pages no one.
"""

from __future__ import annotations

import re

import pytest

from components.monitors import CompositeAlert, HttpCheck, ServiceMonitors, ServiceMonitorsArgs
from offline.recorder import DATADOG_SYNTHETICS_IPV4, DATADOG_SYNTHETICS_IPV6, Record, Recording
from stacks import ams1, psf_salt
from stacks.context import STANDBY_SUFFIX, Host, Standby, WebRole, synthetics_networks
from stacks.roles import ROLES
from tests.component_helpers import TestProviders, record
from tests.test_estate_hosts import minion, settings_of

DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
VOLUME = "digitalocean:index/volume:Volume"
SERVICE = "fastly:index/serviceVcl:ServiceVcl"
RECORD = "aws:route53/record:Record"
SYNTHETICS = "datadog:index/syntheticsTest:SyntheticsTest"
MONITOR = "datadog:index/monitor:Monitor"
DB_FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"
WEB_STANDBYS = [r for r in ROLES if r.standby is not None and r.standby.serves_web]


def droplet(stack: Recording, role: WebRole) -> Record:
    """The standby's one droplet."""
    assert role.standby is not None
    return stack.named(f"{role.standby.datacenter}-{role.standby_key}-1")


def edge_of(stack: Recording, role: WebRole) -> Record:
    (service,) = [s for s in stack.of_type(SERVICE) if s.inputs["name"] == f"psf-{stack.stack}-{role.key}"]
    return service


def by_name(items: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(i["name"]): i for i in items}


# --- every single-server role: a standby, or the reason there is none --------------------------------------


def test_every_single_server_role_has_a_standby_or_a_reason() -> None:
    single = [r for r in ROLES if r.single]
    assert {r.key for r in single} == {"salt", "buildbot", "bugs", "hg", "wiki", "mail", "backup", "mirror"}
    for role in single:
        assert role.standby is not None or role.no_standby, role.key
        if role.behind_fastly and (role.standby is None or not role.standby.serves_web):
            # Its web face has none: only a stated reason lets that through.
            assert role.no_standby, role.key
    # Every role behind Fastly that runs on one server has a web standby, except Mailman (waived in policy).
    assert {r.key for r in single if r.behind_fastly and r not in WEB_STANDBYS} == {"mail"}


def test_a_single_server_role_without_a_standby_or_a_reason_is_refused() -> None:
    with pytest.raises(ValueError, match=r"WebRole\(tracker\)\.standby .* needs a standby Fastly can use"):
        WebRole(key="tracker", hosts=(Host("t.example.org", "example.org"),), single="one writer")
    relay = Standby(datacenter="sfo1", host_label="relay", placement="x", sync="y", psf_salt="z", serves_web=False)
    with pytest.raises(ValueError, match="needs a standby Fastly can use"):
        WebRole(key="tracker", hosts=(Host("t.example.org", "example.org"),), single="one writer", standby=relay)
    with pytest.raises(ValueError, match="is for single-server roles"):
        WebRole(key="docs", standby=relay)
    with pytest.raises(ValueError, match=r"Standby\.sync"):
        Standby(datacenter="sfo1", host_label="relay", placement="x", sync=" ", psf_salt="z")


# --- the standby is a backend only while the primary is sick ----------------------------------------------


@pytest.mark.parametrize("role", WEB_STANDBYS, ids=lambda r: r.key)
def test_the_standby_backend_serves_only_while_the_primary_is_unhealthy(prod: Recording, role: WebRole) -> None:
    service = edge_of(prod, role)
    backends = by_name(service.inputs["backends"])
    conditions = by_name(service.inputs["conditions"])
    primaries = [b for b in backends.values() if "requestCondition" not in b]
    standby = backends[role.standby_key]
    assert len(primaries) == 1 and primaries[0]["autoLoadbalance"] is True
    # Outside the balanced pool, under its own condition, at the standby droplet's address.
    assert standby["autoLoadbalance"] is False and standby["requestCondition"] == "standby"
    assert standby["address"] == droplet(prod, role).outputs["ipv4Address"]
    assert conditions["standby"]["statement"] == "(!req.backend.healthy || req.restarts > 0)"
    assert conditions["standby"]["priority"] == 20
    # Checked like the primary: the role's certificate from the PSF CA, the token-exempt status URI.
    for key in ("sslCertHostname", "sslSniHostname", "sslCaCert", "port", "minTlsVersion"):
        assert standby[key] == primaries[0][key], key
    checks = by_name(service.inputs["healthchecks"])
    assert checks[str(standby["healthcheck"])]["path"] == checks[str(primaries[0]["healthcheck"])]["path"]
    # The stale snippets retry a failed GET or HEAD on it once.
    for snippet in service.inputs["snippets"]:
        if snippet["name"].startswith("serve-stale"):
            assert "req.restarts == 0" in snippet["content"] and "restart;" in snippet["content"]


def test_the_mirror_comes_after_the_standby(prod: Recording) -> None:
    # The wiki is a static archive: primary, then its standby, then the sfo1 mirror.
    wiki = next(r for r in ROLES if r.key == "wiki")
    service = edge_of(prod, wiki)
    backends = by_name(service.inputs["backends"])
    conditions = by_name(service.inputs["conditions"])
    assert [b["requestCondition"] for b in service.inputs["backends"] if "requestCondition" in b] == [
        "standby",
        "fallback",
    ]
    assert backends["mirror"]["address"] == prod.named("sfo1-mirror-1").outputs["ipv4Address"]
    # Fastly runs request conditions in priority order and the last that holds picks the backend; by then
    # req.backend is the standby, so the mirror wins only when the standby is sick too, or on a second retry.
    assert float(str(conditions["fallback"]["priority"])) > float(str(conditions["standby"]["priority"]))
    assert conditions["fallback"]["statement"] == "(!req.backend.healthy || req.restarts > 1)"
    fetch = next(s for s in service.inputs["snippets"] if s["name"] == "serve-stale-fetch")["content"]
    assert '((req.method == "GET" || req.method == "HEAD") && (req.restarts == 0 || req.restarts == 1))' in fetch


def test_services_without_a_standby_keep_their_vcl(prod: Recording) -> None:
    # docs has two primaries and the mirror: its fallback condition and retry are what they were.
    docs = next(s for s in prod.of_type(SERVICE) if s.inputs["name"] == "psf-prod-docs")
    assert [c["name"] for c in docs.inputs["conditions"]] == ["fallback"]
    assert docs.inputs["conditions"][0]["statement"] == "(!req.backend.healthy || req.restarts > 0)"
    fetch = next(s for s in docs.inputs["snippets"] if s["name"] == "serve-stale-fetch")["content"]
    assert 'if (req.restarts == 0 && (req.method == "GET" || req.method == "HEAD")) {' in fetch


# --- the standby's server, volumes, firewall and names ----------------------------------------------------


@pytest.mark.parametrize("role", [r for r in ROLES if r.standby is not None], ids=lambda r: r.key)
def test_the_standby_runs_where_its_role_says_with_the_primarys_layout(prod: Recording, role: WebRole) -> None:
    assert role.standby is not None
    standby = droplet(prod, role)
    primary = prod.named(f"{'ams1' if role.key == 'mail' else 'nyc1'}-{role.key}-1")
    assert standby.datacenter == role.standby.datacenter
    assert standby.inputs["name"] == f"{role.standby.host_label}.{role.standby.datacenter}.psf.io"
    # The role's psf-salt pattern matches its minion ID, so the hosts' configuration makes it the role's.
    salt_role = psf_salt.role(role.salt_role) if role.standby.psf_salt_role else None
    if salt_role is not None:
        assert salt_role.matches(minion(standby)["id"]), minion(standby)["id"]
    else:
        assert f"role:{role.salt_role}" not in standby.inputs["tags"]
    assert f"service:{role.standby_key}" in standby.inputs["tags"]
    # Its data is a copy: no DigitalOcean backups of its own; its volumes are the layout it needs, protected.
    assert standby.inputs["backups"] is False
    layout = role.standby.volumes if role.standby.volumes is not None else role.volumes
    volumes = [v for v in prod.of_type(VOLUME) if v.name.startswith(f"{role.standby.datacenter}-{role.standby_key}-")]
    assert sorted(v.inputs["size"] for v in volumes) == sorted(v.size_gib for v in layout)
    assert all(v.options.protect for v in volumes)
    if role.standby.weight is None:
        assert standby.inputs["size"] == primary.inputs["size"]


@pytest.mark.parametrize("role", WEB_STANDBYS, ids=lambda r: r.key)
def test_origin_ports_admit_fastly_and_datadogs_probes_only(prod: Recording, role: WebRole) -> None:
    assert role.standby is not None
    probes = synthetics_networks(
        [dict(DATADOG_SYNTHETICS_IPV4), dict(DATADOG_SYNTHETICS_IPV6)], settings_of(prod).synthetics_locations
    )
    assert probes and "203.0.113.60/32" not in probes, "only the stack's own locations"
    for name in (f"nyc1-{role.key}-fw", f"{role.standby.datacenter}-{role.standby_key}-fw"):
        rules = [r for r in prod.named(name).inputs["inboundRules"] if r.get("portRange") == "443"]
        assert len(rules) == 2, name
        assert "151.101.0.0/16" in rules[0]["sourceAddresses"]
        assert rules[1]["sourceAddresses"] == probes, name


def test_the_bugs_standby_is_admitted_to_the_database(prod: Recording) -> None:
    bugs = next(r for r in ROLES if r.key == "bugs")
    standby = droplet(prod, bugs)
    tags = {r["value"] for r in prod.of_type(DB_FIREWALL)[0].inputs["rules"]}
    assert set(standby.inputs["tags"]) & tags
    assert standby.urn in prod.of_type(DB_FIREWALL)[0].options.dependencies


# --- what Datadog sees ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", WEB_STANDBYS, ids=lambda r: r.key)
def test_monitors_tell_a_standby_serving_from_the_service_down(prod: Recording, role: WebRole) -> None:
    tests = {t.inputs["requestDefinition"].get("url"): t for t in prod.of_type(SYNTHETICS) if t.inputs["tags"]}
    primary_host = prod.named(f"nyc1-{role.key}-1").inputs["name"]
    on_primary = tests[f"https://{primary_host}/_haproxy_status"]
    on_standby = tests[f"https://{droplet(prod, role).inputs['name']}/_haproxy_status"]
    for test in (on_primary, on_standby):
        # The PSF CA is not Datadog's: the certificate is accepted, the status is asserted.
        assert test.inputs["optionsList"]["allowInsecure"] is True
        assert f"service:{role.key}" in test.inputs["tags"]
    public = [tests[f"https://{h.name}/"] for h in role.hosts]
    composite = prod.named(f"{role.key}-monitors-standby-serving")
    assert composite.inputs["type"] == "composite"
    # Alert while the primary's check fails and every public check passes: users are served by the standby.
    ids = [str(int(on_primary.outputs["monitorId"])), *(f"!{int(t.outputs['monitorId'])}" for t in public)]
    assert composite.inputs["query"] == " && ".join(ids)
    assert "standby" in composite.inputs["message"] and "@pagerduty" in composite.inputs["message"]


def test_a_composite_refuses_checks_its_service_does_not_make() -> None:
    check = HttpCheck("www.example.org")
    with pytest.raises(ValueError, match=r"CompositeAlert\(up\).*must name URLs this service checks"):
        ServiceMonitorsArgs(
            service="www",
            environment="prod",
            datacenter="nyc1",
            http_checks=(check,),
            locations=("aws:us-east-1", "aws:us-west-2", "aws:eu-west-2"),
            owners=("Team",),
            contact="team@example.org",
            notify_handles=("@team",),
            host_thresholds=None,
            composites=(CompositeAlert("up", "t", "h", failing=("https://other.example.org/",)),),
        )


def test_a_composite_names_its_checks_monitors() -> None:
    checks = (HttpCheck("www.example.org"), HttpCheck("origin.example.org", path="/status", allow_insecure=True))

    def program(p: TestProviders) -> None:
        ServiceMonitors(
            "www",
            ServiceMonitorsArgs(
                service="www",
                environment="prod",
                datacenter="nyc1",
                http_checks=checks,
                locations=("aws:us-east-1", "aws:us-west-2", "aws:eu-west-2"),
                owners=("Team",),
                contact="team@example.org",
                notify_handles=("@team",),
                host_thresholds=None,
                composites=(
                    CompositeAlert("down", "origin down", "h", failing=(checks[1].url,), passing=(checks[0].url,)),
                ),
            ),
            provider=p.datadog,
        )

    recording = record(program)
    tests = {t.inputs["requestDefinition"]["url"]: t for t in recording.of_type(SYNTHETICS)}
    (composite,) = recording.of_type(MONITOR)
    origin, www = (int(tests[c.url].outputs["monitorId"]) for c in (checks[1], checks[0]))
    assert composite.inputs["query"] == f"{origin} && !{www}"
    assert "newGroupDelay" not in composite.inputs and "monitorThresholds" not in composite.inputs
    assert tests[checks[1].url].inputs["optionsList"]["allowInsecure"] is True
    assert "allowInsecure" not in tests[checks[0].url].inputs["optionsList"]


# --- the secondary MX ---------------------------------------------------------------------------------------


def test_mail_has_a_secondary_mx_in_another_datacenter(prod: Recording) -> None:
    standby = ams1.MAIL.standby
    assert standby is not None and standby.datacenter != "ams1"
    records = {(r.inputs["name"], r.inputs["type"]): r.inputs["records"] for r in prod.of_type(RECORD)}
    assert records[("python.org", "MX")] == ["10 mx.ams1.psf.io", "20 mx.sfo1.psf.io"]
    secondary = prod.named("sfo1-mail-standby-1")
    assert secondary.datacenter == "sfo1" and secondary.inputs["name"] == "mail-secondary.sfo1.psf.io"
    # The MX target names the secondary's reserved address, as the primary's does; the host name keeps the
    # droplet's own address, which its mail leaves from and SPF names.
    reserved = prod.named("sfo1-mail-standby-1-ipv4")
    assert reserved.options.protect and reserved.options.retain_on_delete
    assert records[("mx.sfo1.psf.io", "A")] == [reserved.outputs["ipAddress"]]
    assert records[("mail-secondary.sfo1.psf.io", "A")] == [secondary.outputs["ipv4Address"]]
    (spf,) = [v for v in records[("python.org", "TXT")] if v.startswith("v=spf1")]
    assert "a:mail-secondary.sfo1.psf.io" in spf.split() and spf.split()[1] == "mx"
    # SMTP open to the world on it as on the primary (the public-smtp waiver matches *mail*), and it relays
    # out on 25 to the primary.
    firewall = prod.named("sfo1-mail-standby-fw")
    assert any(r.get("portRange") == "25" for r in firewall.inputs["inboundRules"])
    assert any(r.get("portRange") == "25" for r in firewall.inputs["outboundRules"])
    # It runs no Mailman: no web origin, no lists volume, no psf-salt mail role (mail.ams1.psf.io exactly).
    assert not any(r.get("portRange") == "443" for r in firewall.inputs["inboundRules"])
    assert minion(secondary)["id"] == "mail-secondary.sfo1.psf.io"
    assert not psf_salt.role("mail").matches(minion(secondary)["id"])  # type: ignore[union-attr]


def test_monitors_tell_the_secondary_queueing_from_mail_down(prod: Recording) -> None:
    tcp = {
        f"{t.inputs['requestDefinition']['host']}": t for t in prod.of_type(SYNTHETICS) if t.inputs["subtype"] == "tcp"
    }
    primary, secondary = tcp["mx.ams1.psf.io"], tcp["mx.sfo1.psf.io"]
    composite = prod.named("mail-monitors-standby-serving")
    assert composite.inputs["query"] == f"{int(primary.outputs['monitorId'])} && !{int(secondary.outputs['monitorId'])}"
    assert "mx.sfo1.psf.io" in composite.inputs["message"]


def test_the_mx_names_and_senders_agree_with_the_hosts(prod: Recording) -> None:
    settings = settings_of(prod)
    assert ams1.mail_hosts(settings) == ("mx.ams1.psf.io", "mx.sfo1.psf.io")
    assert ams1.mx_priorities(settings) == {"mx.ams1.psf.io": 10, "mx.sfo1.psf.io": 20}
    names = {d.inputs["name"] for d in prod.of_type(DROPLET)}
    assert set(ams1.mail_senders(settings)) <= names


# --- staging runs none of it ----------------------------------------------------------------------------------


def test_staging_runs_no_standby_and_no_secondary_mx(staging: Recording) -> None:
    assert not [d for d in staging.of_type(DROPLET) if any(t.endswith(f"-{STANDBY_SUFFIX}") for t in d.inputs["tags"])]
    records = {(r.inputs["name"], r.inputs["type"]): r.inputs["records"] for r in staging.of_type(RECORD)}
    internal = settings_of(staging).internal_domain
    assert records[("python-org.staging.psf.io", "MX")] == [f"10 mx.ams1.{internal}"]
    assert not [
        s for s in staging.of_type(SERVICE) if any(b.get("requestCondition") == "standby" for b in s.inputs["backends"])
    ]
    assert not [m for m in staging.of_type(MONITOR) if m.inputs["type"] == "composite"]


def test_a_standby_in_a_datacenter_the_stack_does_not_deploy_is_refused() -> None:
    from offline.recorder import ProgramFailedError, record_stack

    with pytest.raises(ProgramFailedError, match=r"psf-infra:datacenters .* must include sfo1, where the bugs standby"):
        record_stack(
            "prod", {"datacenters": ["ams1", "nyc1"], "vpcRanges": ["ams1=10.110.0.0/20", "nyc1=10.120.0.0/20"]}
        )


def test_the_psf_salt_notes_name_files_psf_salt_has() -> None:
    # Each standby's psf_salt note cites psf-salt's backup pillars by path; keep them to the ones that exist
    # (python/psf-salt 05305dee: pillar/prod/backup/{bugs,buildbot,docs,downloads,gnumailman,hg,mail,moin}.sls).
    known = {"bugs", "buildbot", "docs", "downloads", "gnumailman", "hg", "mail", "moin", "server"}
    for role in (r for r in ROLES if r.standby is not None):
        assert role.standby is not None
        for cited in re.findall(r"pillar/prod/backup/([a-z-]+)\.sls", role.standby.psf_salt):
            assert cited in known, (role.key, cited)
