"""ManagedPostgres on its own under mocks."""

from __future__ import annotations

import pulumi
import pulumi_digitalocean as digitalocean
import pytest

from components.database import ManagedPostgres, ManagedPostgresArgs
from offline.recorder import Recording, record_program

CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster"


def args(**overrides: object) -> ManagedPostgresArgs:
    base: dict[str, object] = {
        "cluster_name": "pg-test",
        "region": "nyc3",
        "vpc_id": "vpc-1",
        "databases": ("roundup", "buildbot"),
        "client_tags": ("service:bugs", "service:buildbot"),
    }
    return ManagedPostgresArgs(**(base | overrides))  # type: ignore[arg-type]


def record(a: ManagedPostgresArgs) -> Recording:
    def program() -> None:
        provider = digitalocean.Provider("do", token=pulumi.Output.secret("t"))
        ManagedPostgres("pg", a, pulumi.ResourceOptions(provider=provider))

    return record_program(program)


@pytest.fixture(scope="module")
def protected() -> Recording:
    return record(args(replica=True, protect=True))


@pytest.fixture(scope="module")
def plain() -> Recording:
    return record(args())


def test_cluster_in_vpc_with_version_and_maintenance(protected: Recording) -> None:
    cluster = protected.of_type(CLUSTER)[0]
    assert cluster.inputs["engine"] == "pg" and cluster.inputs["version"] == "16"
    assert cluster.inputs["privateNetworkUuid"] == "vpc-1"
    assert cluster.inputs["maintenanceWindows"] == [{"day": "sunday", "hour": "06:00:00"}]


def test_protected_cluster_and_replica(protected: Recording) -> None:
    for type_ in (CLUSTER, "digitalocean:index/databaseReplica:DatabaseReplica"):
        record_ = protected.of_type(type_)[0]
        assert record_.options.protect and record_.options.retain_on_delete, type_


def test_unprotected_by_default_and_no_replica(plain: Recording) -> None:
    assert not plain.of_type(CLUSTER)[0].options.protect
    assert plain.of_type("digitalocean:index/databaseReplica:DatabaseReplica") == []


def test_firewall_admits_only_client_tags(protected: Recording) -> None:
    firewall = protected.of_type("digitalocean:index/databaseFirewall:DatabaseFirewall")[0]
    assert firewall.inputs["rules"] == [
        {"type": "tag", "value": "service:bugs"},
        {"type": "tag", "value": "service:buildbot"},
    ]


def test_databases_are_created_and_go_with_the_cluster(protected: Recording) -> None:
    dbs = protected.of_type("digitalocean:index/databaseDb:DatabaseDb")
    assert sorted(d.inputs["name"] for d in dbs) == ["buildbot", "roundup"]
    cluster_urn = protected.of_type(CLUSTER)[0].urn
    assert all(d.options.deleted_with == cluster_urn for d in dbs)


def test_every_child_has_the_provider(protected: Recording) -> None:
    assert all(r.options.provider for r in protected.resources if r.custom)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cluster_name", "PG"),
        ("size", "s-1vcpu-1gb"),
        ("version", "9.6"),
        ("node_count", 0),
        ("databases", ("Bad-Name",)),
        ("databases", ("a", "a")),
        ("client_tags", ()),
        ("client_tags", ("has space",)),
    ],
)
def test_argument_errors_name_the_argument(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"ManagedPostgres: {field.split('_')[0]}"):
        args(**{field: value})


def test_provider_is_required() -> None:
    from offline.recorder import ProgramFailedError

    with pytest.raises(ProgramFailedError, match="must carry the DigitalOcean provider"):
        record_program(lambda: ManagedPostgres("pg", args()))


def test_firewall_waits_for_the_droplets_that_carry_its_tags() -> None:
    # DigitalOcean creates a tag with its first resource; a rule naming a tag nobody carries yet may fail.
    def program() -> None:
        provider = digitalocean.Provider("do", token=pulumi.Output.secret("t"))
        opts = pulumi.ResourceOptions(provider=provider)
        client = digitalocean.Droplet(
            "bugs-1", image="ubuntu-24-04-x64", size="s-1vcpu-1gb", region="nyc3", tags=["service:bugs"], opts=opts
        )
        ManagedPostgres("pg", args(clients=(client,)), opts)

    recording = record_program(program)
    firewall = recording.named("pg-firewall")
    assert recording.named("bugs-1").urn in firewall.options.dependencies
    # Only the firewall waits: the cluster, which takes minutes to build, starts at once.
    assert recording.named("bugs-1").urn not in recording.named("pg-cluster").options.dependencies
