"""VmService (behind Fastly and direct) and ExternalOriginService, under mocks."""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

import pulumi_digitalocean as digitalocean
import pytest
import yaml

from components.common import ZoneRef
from components.edge import (
    EDGE_TYPE,
    EdgeOptions,
    Fallback,
    FastlyDnsTarget,
    HealthCheck,
    Origin,
    OriginTokenGuard,
    PathRoute,
    PublicHost,
)
from components.vm_service import (
    BOOTSTRAP_PATH,
    EXTERNAL_ORIGIN_TYPE,
    VM_SERVICE_TYPE,
    ExternalOriginArgs,
    ExternalOriginService,
    PublicPort,
    SaltBootstrap,
    VmEdge,
    VmService,
    VmServiceArgs,
    Volume,
)
from offline.recorder import FASTLY_IPV4, FASTLY_IPV6, Record, Recording
from tests.component_helpers import (
    TestProviders,
    assert_every_custom_resource_has_a_provider,
    assert_names_derived_from,
    one,
    program_error,
    record,
)

DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
VOLUME = "digitalocean:index/volume:Volume"
ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment"
RECORD = "aws:route53/record:Record"
SERVICE = "fastly:index/serviceVcl:ServiceVcl"

INTERNAL = ZoneRef("infra.example.net", "ZINTERNAL")
PUBLIC = ZoneRef("example.org", "ZPUBLIC")
OTHER = ZoneRef("example.com", "ZOTHER")
ADMINS = ("198.51.100.0/24", "2001:db8::/32")
VPC_CIDR = "10.120.0.0/20"
# A TLS configuration's targets, as the estate reads them from Fastly (documentation addresses here).
APEX_IPV4 = ("192.0.2.10", "192.0.2.11")
APEX_IPV6 = ("2001:db8::10", "2001:db8::11")
TARGET = FastlyDnsTarget(cname="dualstack.x.map.fastly.net", apex_ipv4=APEX_IPV4, apex_ipv6=APEX_IPV6)
SALT_MASTER = "salt.nyc1.infra.example.net"
BOOTSTRAP = SaltBootstrap(
    script_url="https://github.com/saltstack/salt-bootstrap/releases/download/v2025.02.24/bootstrap-salt.sh",
    script_sha256="a0e3a58fc6358a7c6f708ee4910229e72fbdab7161819514b0696146a2edb62d",
    salt_version="3006",
)
TOKEN = "origin-token-0123456789"

MIRROR = Origin(
    name="mirror",
    address="mirror.sfo1.infra.example.net",
    tls_hostname="mirror.sfo1.infra.example.net",
    health_check=HealthCheck(
        "/last-modified", method="GET", interval_ms=3_000, timeout_ms=2_000, threshold=2, window=4, initial=3
    ),
    shield="sjc-ca-us",
)
DOWNLOADS = Origin(
    name="downloads",
    address="downloads.nyc1.infra.example.net",
    tls_hostname="downloads.nyc1.infra.example.net",
    health_check=HealthCheck("/"),
    shield="lga-ny-us",
)


def base_args(**overrides: Any) -> VmServiceArgs:
    values: dict[str, Any] = {
        "name": "docs",
        "environment": "prod",
        "datacenter": "nyc1",
        "region": digitalocean.Region.NYC3,
        "vpc_id": "vpc-nyc1",
        "image": "ubuntu-24-04-x64",
        "size": digitalocean.DropletSlug.DROPLET_S2_VCPU4_GB,
        "ssh_keys": ("12345", "aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99"),
        "admin_cidrs": ADMINS,
        "internal_zone": INTERNAL,
        "salt_master": SALT_MASTER,
        "salt_bootstrap": BOOTSTRAP,
    }
    values.update(overrides)
    return VmServiceArgs(**values)


BEHIND = base_args(
    replicas=2,
    backups=True,
    volumes=(Volume("data", 100), Volume("scratch", 20, protect=False)),
    private_cidrs=(VPC_CIDR,),
    public_ports=(PublicPort(9020),),
    public_hosts=(PublicHost("docs.example.org", PUBLIC), PublicHost("example.com", OTHER)),
    edge=VmEdge(
        options=EdgeOptions(
            service_name="prod-docs",
            origin_token=TOKEN,
            fallback=Fallback(MIRROR),
            path_routes=(PathRoute("/ftp/", (DOWNLOADS,)),),
        ),
        health_check=HealthCheck("/_health/"),
        dns_target=TARGET,
        shield_pop="lga-ny-us",
    ),
)

DIRECT = base_args(
    name="pythontest",
    role="testhost",
    size="s-1vcpu-1gb",
    public_ports=(PublicPort(80), PublicPort(443), PublicPort(25), PublicPort(53, protocol="udp")),
    public_hosts=(PublicHost("example.com", OTHER), PublicHost("www.example.com", OTHER)),
)


def behind_program(p: TestProviders) -> None:
    VmService("nyc1-docs", BEHIND, do_provider=p.digitalocean, aws_provider=p.aws, fastly_provider=p.fastly)


def direct_program(p: TestProviders) -> None:
    VmService("nyc1-pythontest", DIRECT, do_provider=p.digitalocean, aws_provider=p.aws)
    # A second instance of the same type: its children must not collide with the first one's.
    VmService(
        "ams1-mail",
        base_args(name="mail", datacenter="ams1", region=digitalocean.Region.AMS3, public_ports=(PublicPort(25),)),
        do_provider=p.digitalocean,
        aws_provider=p.aws,
    )


def external_program(p: TestProviders) -> None:
    ExternalOriginService(
        "www",
        ExternalOriginArgs(
            origin_host="example-app.herokuapp.com",
            health_check=HealthCheck("/_health/"),
            public_hosts=(PublicHost("www.example.org", PUBLIC),),
            extra_domains=("staging.example.org",),
            options=EdgeOptions(service_name="prod-www", activate=False),
            dns_target=TARGET,
            shield_pop="iad-va-us",
        ),
        fastly_provider=p.fastly,
        aws_provider=p.aws,
    )


@pytest.fixture(scope="module")
def behind() -> Recording:
    return record(behind_program)


@pytest.fixture(scope="module")
def direct() -> Recording:
    return record(direct_program)


@pytest.fixture(scope="module")
def external() -> Recording:
    return record(external_program)


def under(recording: Recording, component: str, type_: str) -> list[Record]:
    root = recording.named(component)
    return [r for r in recording.descendants(root) if r.type == type_]


def rules(firewall: Record) -> list[dict[str, Any]]:
    return list(firewall.inputs["inboundRules"])


def rules_for(firewall: Record, port: str, protocol: str = "tcp") -> list[dict[str, Any]]:
    return [r for r in rules(firewall) if r.get("portRange") == port and r["protocol"] == protocol]


# --- firewall ---------------------------------------------------------------------------------------------


def test_web_port_open_only_to_fastly(behind: Recording) -> None:
    firewall = one(behind, FIREWALL)
    (web,) = rules_for(firewall, "443")
    assert web["sourceAddresses"] == [*FASTLY_IPV4, *FASTLY_IPV6]
    assert rules_for(firewall, "80") == []


def test_no_world_access_to_web_ports_behind_fastly(behind: Recording) -> None:
    for rule in rules(one(behind, FIREWALL)):
        if rule.get("portRange") in ("80", "443", "1-65535"):
            assert not {"0.0.0.0/0", "::/0"} & set(rule["sourceAddresses"]), rule


def test_ssh_only_from_admins(behind: Recording, direct: Recording) -> None:
    for firewall in (one(behind, FIREWALL), *direct.of_type(FIREWALL)):
        (ssh,) = rules_for(firewall, "22")
        assert ssh["sourceAddresses"] == list(ADMINS)
        wide = [r for r in rules(firewall) if r.get("portRange") == "1-65535"]
        assert all(r["sourceAddresses"] == [VPC_CIDR] for r in wide)


def test_extra_ports_only_when_named(behind: Recording) -> None:
    firewall = one(behind, FIREWALL)
    (buildbot,) = rules_for(firewall, "9020")
    assert buildbot["sourceAddresses"] == ["0.0.0.0/0", "::/0"]
    ports = {r.get("portRange") for r in rules(firewall)}
    assert ports == {"22", "443", "9020", "1-65535", None}  # None: ICMP has no ports


def test_private_network_trusted(behind: Recording) -> None:
    firewall = one(behind, FIREWALL)
    assert {r["protocol"] for r in rules_for(firewall, "1-65535", "tcp") + rules_for(firewall, "1-65535", "udp")} == {
        "tcp",
        "udp",
    }


def test_direct_variant_opens_its_ports(direct: Recording) -> None:
    firewall = under(direct, "nyc1-pythontest", FIREWALL)[0]
    for port, protocol in (("80", "tcp"), ("443", "tcp"), ("25", "tcp"), ("53", "udp")):
        (rule,) = rules_for(firewall, port, protocol)
        assert rule["sourceAddresses"] == ["0.0.0.0/0", "::/0"]
    mail = under(direct, "ams1-mail", FIREWALL)[0]
    assert {r.get("portRange") for r in rules(mail)} == {"22", "25", None}


def test_every_droplet_is_covered_by_exactly_one_firewall(behind: Recording, direct: Recording) -> None:
    for recording in (behind, direct):
        covered: list[int] = []
        for firewall in recording.of_type(FIREWALL):
            covered += [int(i) for i in firewall.inputs["dropletIds"]]
        droplets = sorted(int(d.id or 0) for d in recording.of_type(DROPLET))
        assert sorted(covered) == droplets


def test_egress_is_open_and_documented(behind: Recording) -> None:
    outbound = one(behind, FIREWALL).inputs["outboundRules"]
    assert {r["protocol"] for r in outbound} == {"tcp", "udp", "icmp"}
    assert all(r["destinationAddresses"] == ["0.0.0.0/0", "::/0"] for r in outbound)
    assert "DIG-0003" in (VmService.__doc__ or "")


def test_firewall_physical_name(behind: Recording) -> None:
    assert one(behind, FIREWALL).inputs["name"] == "prod-nyc1-docs"


# --- droplets ---------------------------------------------------------------------------------------------


def test_droplets(behind: Recording) -> None:
    droplets = behind.of_type(DROPLET)
    # Records arrive in whatever order the engine registered them; compare sets, not lists.
    assert sorted(d.inputs["name"] for d in droplets) == [
        "docs-1.nyc1.infra.example.net",
        "docs-2.nyc1.infra.example.net",
    ]
    for droplet in droplets:
        assert droplet.inputs["monitoring"] is True
        assert droplet.inputs["ipv6"] is True
        assert droplet.inputs["backups"] is True
        assert droplet.inputs["region"] == "nyc3"
        assert droplet.inputs["size"] == "s-2vcpu-4gb"
        assert droplet.inputs["vpcUuid"] == "vpc-nyc1"
        assert droplet.inputs["sshKeys"] == list(BEHIND.ssh_keys)
        assert droplet.inputs["tags"] == ["environment:prod", "datacenter:nyc1", "service:docs", "role:docs"]


def test_backups_only_when_asked(direct: Recording) -> None:
    assert all(d.inputs["backups"] is False for d in direct.of_type(DROPLET))
    assert all("backupPolicy" not in d.inputs for d in direct.of_type(DROPLET))


def test_backups_are_weekly_as_promised(behind: Recording) -> None:
    # Without a policy DigitalOcean backs up daily (provider docs), at a higher price than the weekly plan.
    for droplet in behind.of_type(DROPLET):
        assert droplet.inputs["backupPolicy"] == {"plan": "weekly", "weekday": "SUN", "hour": 4}


def test_user_data_ssh_keys_and_image_never_replace_a_droplet(behind: Recording, direct: Recording) -> None:
    # The provider replaces a droplet when any of these changes (ForceNew); Salt keeps running hosts current.
    for droplet in behind.of_type(DROPLET) + direct.of_type(DROPLET):
        assert set(droplet.options.ignore_changes) == {"userData", "sshKeys", "image"}
        assert {"userData", "sshKeys", "image"} <= set(droplet.inputs)


def test_a_volume_survives_a_new_description(behind: Recording) -> None:
    # description is ForceNew in the provider and names the droplet: a host rename would recreate the disk.
    for volume in behind.of_type(VOLUME):
        assert volume.options.ignore_changes == ("description",)
        assert volume.inputs["description"].endswith(".nyc1.infra.example.net")


def test_cloud_init_hands_the_host_to_salt(direct: Recording) -> None:
    droplet = under(direct, "nyc1-pythontest", DROPLET)[0]
    text = droplet.inputs["userData"]
    assert text.startswith("#cloud-config\n")
    document = yaml.safe_load(text)
    files = {f["path"]: f["content"] for f in document["write_files"]}
    # Without minion_ids the minion is named after its host; without datadog_tags no grains file is written.
    assert yaml.safe_load(files["/etc/salt/minion.d/master.conf"]) == {
        "master": SALT_MASTER,
        "id": "pythontest-1.nyc1.infra.example.net",
    }
    assert "/etc/salt/grains" not in files
    assert document["fqdn"] == "pythontest-1.nyc1.infra.example.net"
    assert document["runcmd"] == [[BOOTSTRAP_PATH]]
    script = files[BOOTSTRAP_PATH]
    assert f"-A {SALT_MASTER} -i pythontest-1.nyc1.infra.example.net stable 3006" in script
    assert BOOTSTRAP.script_sha256 in script


def test_volumes_one_per_droplet_and_protected_when_asked(behind: Recording) -> None:
    volumes = {v.name: v for v in behind.of_type(VOLUME)}
    assert sorted(volumes) == ["nyc1-docs-1-data", "nyc1-docs-1-scratch", "nyc1-docs-2-data", "nyc1-docs-2-scratch"]
    assert volumes["nyc1-docs-1-data"].options.protect is True
    assert volumes["nyc1-docs-2-data"].options.protect is True
    assert volumes["nyc1-docs-1-scratch"].options.protect is False
    # Protected volumes are retained on delete too; unprotected ones go with the stack.
    assert volumes["nyc1-docs-1-data"].options.retain_on_delete is True
    assert volumes["nyc1-docs-1-scratch"].options.retain_on_delete is False
    assert volumes["nyc1-docs-1-data"].inputs["size"] == 100
    assert volumes["nyc1-docs-1-data"].inputs["name"] == "prod-nyc1-docs-1-data"
    assert volumes["nyc1-docs-1-data"].inputs["region"] == "nyc3"
    droplet_ids = {d.name: int(d.id or 0) for d in behind.of_type(DROPLET)}
    attachments = {a.name: a for a in behind.of_type(ATTACHMENT)}
    assert attachments["nyc1-docs-2-data-attachment"].inputs["dropletId"] == droplet_ids["nyc1-docs-2"]
    assert attachments["nyc1-docs-1-data-attachment"].inputs["volumeId"] == volumes["nyc1-docs-1-data"].id


# --- DNS --------------------------------------------------------------------------------------------------


def records(recording: Recording) -> dict[str, Record]:
    return {r.name: r for r in recording.of_type(RECORD)}


def test_every_droplet_has_internal_a_and_aaaa(behind: Recording) -> None:
    found = records(behind)
    for droplet in behind.of_type(DROPLET):
        n = droplet.name.rsplit("-", 1)[1]
        a, aaaa = found[f"nyc1-docs-{n}-a"], found[f"nyc1-docs-{n}-aaaa"]
        assert a.inputs["name"] == aaaa.inputs["name"] == f"docs-{n}.nyc1.infra.example.net"
        assert a.inputs["zoneId"] == aaaa.inputs["zoneId"] == "ZINTERNAL"
        assert (a.inputs["type"], aaaa.inputs["type"]) == ("A", "AAAA")
        assert a.inputs["records"] == [droplet.outputs["ipv4Address"]]
        assert aaaa.inputs["records"] == [droplet.outputs["ipv6Address"]]
        assert a.inputs["ttl"] == 3_600


def test_public_hosts_behind_fastly_point_at_fastly(behind: Recording) -> None:
    found = records(behind)
    cname = found["nyc1-docs-edge-dns-docs.example.org-cname"]
    assert (cname.inputs["type"], cname.inputs["records"], cname.inputs["zoneId"]) == (
        "CNAME",
        ["dualstack.x.map.fastly.net"],
        "ZPUBLIC",
    )
    apex_a, apex_aaaa = found["nyc1-docs-edge-dns-example.com-a"], found["nyc1-docs-edge-dns-example.com-aaaa"]
    assert apex_a.inputs["records"] == list(APEX_IPV4)
    assert apex_aaaa.inputs["records"] == list(APEX_IPV6)
    assert apex_a.inputs["zoneId"] == "ZOTHER"


def test_direct_public_hosts_point_at_the_droplets(direct: Recording) -> None:
    found = records(direct)
    (droplet,) = under(direct, "nyc1-pythontest", DROPLET)
    for host in ("example.com", "www.example.com"):
        a, aaaa = found[f"nyc1-pythontest-{host}-a"], found[f"nyc1-pythontest-{host}-aaaa"]
        assert a.inputs["name"] == host
        assert a.inputs["records"] == [droplet.outputs["ipv4Address"]]
        assert aaaa.inputs["records"] == [droplet.outputs["ipv6Address"]]
        ipaddress.IPv6Address(aaaa.inputs["records"][0])


def test_direct_variant_has_no_fastly(direct: Recording) -> None:
    assert direct.of_type(SERVICE) == []
    assert direct.of_type(EDGE_TYPE) == []
    assert "fastly:index/getFastlyIpRanges:getFastlyIpRanges" not in direct.calls


# --- edge -------------------------------------------------------------------------------------------------


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def test_one_backend_per_droplet_at_its_address(behind: Recording) -> None:
    backends = by_name(one(behind, SERVICE).inputs["backends"])
    for n in (1, 2):
        droplet = behind.named(f"nyc1-docs-{n}")
        backend = backends[f"docs-{n}"]
        assert backend["address"] == droplet.outputs["ipv4Address"]
        assert backend["sslCertHostname"] == backend["sslSniHostname"] == droplet.inputs["name"]
        assert backend["shield"] == "lga-ny-us"
        assert backend["autoLoadbalance"] is True
        assert "requestCondition" not in backend


GUARD = OriginTokenGuard(("/_haproxy_status",))
CA_PEM = "-----BEGIN CERTIFICATE-----\nTUlJQ2Zha2U=\n-----END CERTIFICATE-----"
GUARDED = dataclasses.replace(
    BEHIND,
    edge=VmEdge(
        options=EdgeOptions(service_name="prod-docs", origin_token=TOKEN),
        health_check=HealthCheck("/_haproxy_status"),
        dns_target=TARGET,
        shield_pop="lga-ny-us",
        origin_tls_hostname="docs.infra.example.net",
        origin_ca_certificate=CA_PEM,
        origin_token_guard=GUARD,
    ),
)


def test_droplet_origins_check_the_role_certificate_against_the_private_ca() -> None:
    def program(p: TestProviders) -> None:
        VmService("nyc1-docs", GUARDED, do_provider=p.digitalocean, aws_provider=p.aws, fastly_provider=p.fastly)

    inputs = one(record(program), SERVICE).inputs
    for backend in inputs["backends"]:
        # One name for every droplet of the role, as the hosts' certificate carries it, checked and sent as SNI.
        assert backend["sslCertHostname"] == backend["sslSniHostname"] == "docs.infra.example.net"
        assert backend["sslCaCert"] == CA_PEM
    assert {c["path"] for c in inputs["healthchecks"]} == {"/_haproxy_status"}


def test_a_guarded_origin_probed_where_it_refuses_the_probe_is_refused() -> None:
    with pytest.raises(ValueError, match=r"Origin\(docs-1\)\.health_check\.path = '/' is invalid"):
        dataclasses.replace(
            GUARDED,
            edge=dataclasses.replace(GUARDED.edge, health_check=HealthCheck("/")),  # type: ignore[arg-type]
        )


def test_fallback_and_routes_pass_through(behind: Recording) -> None:
    inputs = one(behind, SERVICE).inputs
    backends = by_name(inputs["backends"])
    assert backends["mirror"]["requestCondition"] == "fallback"
    assert backends["mirror"]["autoLoadbalance"] is False
    assert backends["downloads"]["requestCondition"] == "route /ftp/"
    conditions = by_name(inputs["conditions"])
    assert (
        conditions["fallback"]["statement"]
        == '(!req.backend.healthy || req.restarts > 0) && !(req.url.path ~ "^/ftp/")'
    )
    checks = by_name(inputs["healthchecks"])
    assert checks["mirror-health"]["checkInterval"] == 3_000
    assert checks["docs-1-health"]["path"] == "/_health/"
    assert checks["docs-1-health"]["host"] == "docs.example.org"


def test_edge_serves_the_public_hosts(behind: Recording) -> None:
    inputs = one(behind, SERVICE).inputs
    assert [d["name"] for d in inputs["domains"]] == ["docs.example.org", "example.com"]
    assert inputs["name"] == "prod-docs"


# --- external origin --------------------------------------------------------------------------------------


def test_external_origin_backend(external: Recording) -> None:
    inputs = one(external, SERVICE).inputs
    (backend,) = inputs["backends"]
    assert backend["address"] == "example-app.herokuapp.com"
    assert backend["sslCertHostname"] == backend["sslSniHostname"] == "example-app.herokuapp.com"
    assert backend["shield"] == "iad-va-us"
    assert backend["useSsl"] is True
    assert inputs["activate"] is False
    assert [d["name"] for d in inputs["domains"]] == ["www.example.org", "staging.example.org"]


def test_external_origin_dns(external: Recording) -> None:
    (cname,) = external.of_type(RECORD)
    assert cname.inputs["name"] == "www.example.org"
    assert cname.inputs["type"] == "CNAME"
    assert one(external, EXTERNAL_ORIGIN_TYPE).name == "www"


# --- structure --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["behind", "direct", "external"])
def test_every_custom_resource_has_an_explicit_provider(scenario: str, request: pytest.FixtureRequest) -> None:
    assert_every_custom_resource_has_a_provider(request.getfixturevalue(scenario))


@pytest.mark.parametrize("scenario", ["behind", "direct", "external"])
def test_children_are_named_after_their_component(scenario: str, request: pytest.FixtureRequest) -> None:
    recording: Recording = request.getfixturevalue(scenario)
    components = [r for r in recording.records if r.type in (VM_SERVICE_TYPE, EXTERNAL_ORIGIN_TYPE)]
    assert components
    for component in components:
        assert_names_derived_from(recording, component)


def test_two_services_do_not_collide(direct: Recording) -> None:
    names = [r.name for r in direct.resources]
    assert len(names) == len(set(names))
    assert len(direct.of_type(VM_SERVICE_TYPE)) == 2


# --- argument errors --------------------------------------------------------------------------------------

EDGE = VmEdge(options=EdgeOptions(service_name="svc"), health_check=HealthCheck("/"), dns_target=TARGET)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"name": "Docs"}, "VmServiceArgs.name"),
        ({"environment": "prod env"}, "VmServiceArgs.environment"),
        ({"region": "nyc3"}, "VmServiceArgs.region"),
        ({"size": "s-99vcpu-1tb"}, "VmServiceArgs.size"),
        ({"image": "Ubuntu 24.04"}, "VmServiceArgs.image"),
        ({"replicas": 0}, "VmServiceArgs.replicas"),
        # A DigitalOcean firewall covers at most 10 droplets, and each service has one firewall.
        ({"replicas": 11}, "VmServiceArgs.replicas"),
        ({"ssh_keys": ()}, "VmServiceArgs.ssh_keys"),
        ({"ssh_keys": ("my laptop",)}, "VmServiceArgs.ssh_keys"),
        ({"admin_cidrs": ()}, "VmServiceArgs.admin_cidrs"),
        ({"admin_cidrs": ("0.0.0.0/0",)}, "VmServiceArgs.admin_cidrs"),
        ({"admin_cidrs": ("198.51.100.7/24",)}, "VmServiceArgs.admin_cidrs"),
        ({"private_cidrs": ("::/0",)}, "VmServiceArgs.private_cidrs"),
        ({"salt_master": "not a host"}, "VmServiceArgs.salt_master"),
        ({"volumes": (Volume("data", 1), Volume("data", 2))}, "VmServiceArgs.volumes"),
        ({"public_ports": (PublicPort(25), PublicPort(25))}, "VmServiceArgs.public_ports"),
        ({"edge": EDGE}, "VmServiceArgs.public_hosts"),
        (
            {"edge": EDGE, "public_hosts": (PublicHost("d.example.org", PUBLIC),), "public_ports": (PublicPort(443),)},
            "VmServiceArgs.public_ports",
        ),
        (
            {
                "edge": VmEdge(
                    options=EdgeOptions(
                        service_name="svc", fallback=Fallback(dataclasses.replace(DOWNLOADS, name="docs-1"))
                    ),
                    health_check=HealthCheck("/"),
                    dns_target=TARGET,
                ),
                "public_hosts": (PublicHost("d.example.org", PUBLIC),),
            },
            "origin names",
        ),
        ({"dns_ttl": 1}, "VmServiceArgs.dns_ttl"),
        ({"name": "a" * 32, "volumes": (Volume("b" * 32, 10),)}, "VmServiceArgs.volumes"),
    ],
)
def test_vm_argument_errors_name_the_argument(overrides: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match="is invalid") as raised:
        base_args(**overrides)
    assert named in str(raised.value)


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: Volume("Data", 10), "Volume.name"),
        (lambda: Volume("data", 0), "Volume(data).size_gib"),
        (lambda: Volume("data", 10, filesystem="btrfs"), "Volume(data).filesystem"),
        (lambda: PublicPort(70_000), "PublicPort.port"),
        (lambda: PublicPort(25, protocol="sctp"), "PublicPort(25).protocol"),
        (lambda: PublicPort(25, sources=("mail servers",)), "PublicPort(25).sources"),
        (
            lambda: VmEdge(
                options=EdgeOptions(service_name="s"), health_check=HealthCheck("/"), dns_target=TARGET, origin_port=0
            ),
            "VmEdge.origin_port",
        ),
        (
            lambda: ExternalOriginArgs(
                origin_host="https://app.example.com",
                health_check=HealthCheck("/"),
                public_hosts=(PublicHost("www.example.org", PUBLIC),),
                options=EdgeOptions(service_name="s"),
                dns_target=TARGET,
            ),
            "ExternalOriginArgs.origin_host",
        ),
    ],
)
def test_part_argument_errors_name_the_argument(build: Any, named: str) -> None:
    with pytest.raises(ValueError, match="is invalid") as raised:
        build()
    assert named in str(raised.value)


def test_behind_fastly_needs_the_fastly_provider() -> None:
    def program(p: TestProviders) -> None:
        VmService("svc", BEHIND, do_provider=p.digitalocean, aws_provider=p.aws)

    error = program_error(program)
    assert isinstance(error, ValueError)
    assert "fastly_provider" in str(error)


def test_argument_errors_come_before_any_resource() -> None:
    with pytest.raises(ValueError):
        base_args(replicas=0)
    # And a component given a wrong type refuses before registering itself.
    error = program_error(
        lambda p: VmService("svc", "docs", do_provider=p.digitalocean, aws_provider=p.aws)  # type: ignore[arg-type]
    )
    assert isinstance(error, ValueError)
    assert "VmService args" in str(error)


# --- Origin-only services and tag-scoped ports ---------------------------------------------------------------

ORIGIN_ONLY = base_args(
    name="mirror",
    datacenter="sfo1",
    region=digitalocean.Region.SFO2,
    fastly_origin=True,
    public_ports=(PublicPort(22, source_tags=("environment:prod",)),),
)


@pytest.fixture(scope="module")
def origin_only() -> Recording:
    return record(
        lambda p: VmService(
            "sfo1-mirror", ORIGIN_ONLY, do_provider=p.digitalocean, aws_provider=p.aws, fastly_provider=p.fastly
        )
    )


def test_fastly_origin_opens_443_to_fastly_only_and_makes_no_service(origin_only: Recording) -> None:
    firewall = one(origin_only, FIREWALL)
    web = rules_for(firewall, "443")
    assert len(web) == 1
    assert sorted(web[0]["sourceAddresses"]) == sorted([*FASTLY_IPV4, *FASTLY_IPV6])
    assert origin_only.of_type(SERVICE) == []


def test_source_tags_admit_only_tagged_droplets(origin_only: Recording) -> None:
    firewall = one(origin_only, FIREWALL)
    tagged = [r for r in rules(firewall) if r.get("sourceTags")]
    assert tagged == [{"portRange": "22", "protocol": "tcp", "sourceTags": ["environment:prod"]}]


def test_public_port_defaults_to_everyone_unless_tags_are_given() -> None:
    assert PublicPort(25).networks == ("0.0.0.0/0", "::/0")
    assert PublicPort(22, source_tags=("environment:prod",)).networks == ()
    with pytest.raises(ValueError, match=r"PublicPort\(22\).source_tags"):
        PublicPort(22, source_tags=("bad tag",))


def test_fastly_origin_needs_the_fastly_provider() -> None:
    error = program_error(lambda p: VmService("x", ORIGIN_ONLY, do_provider=p.digitalocean, aws_provider=p.aws))
    assert "fastly_provider" in str(error)


# --- direct probes of an origin ----------------------------------------------------------------------------

PROBES = ("192.0.2.10/32", "2001:db8:10::/48")


def test_probe_sources_open_the_origin_port_beside_fastlys() -> None:
    def program(p: TestProviders) -> None:
        VmService(
            "sfo1-standby",
            base_args(
                name="standby",
                datacenter="sfo1",
                region=digitalocean.Region.SFO2,
                fastly_origin=True,
                origin_probe_sources=PROBES,
            ),
            do_provider=p.digitalocean,
            aws_provider=p.aws,
            fastly_provider=p.fastly,
        )

    firewall = one(record(program), "digitalocean:index/firewall:Firewall")
    fastly, probes = rules_for(firewall, "443")
    assert "151.101.0.0/16" in fastly["sourceAddresses"]
    assert probes["sourceAddresses"] == list(PROBES)


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"origin_probe_sources": PROBES}, "needs an edge or fastly_origin"),
        ({"fastly_origin": True, "origin_probe_sources": ("0.0.0.0/0",)}, "whole internet"),
    ],
)
def test_probe_sources_are_refused_without_an_origin_port_or_for_everyone(overrides: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        base_args(**overrides)
