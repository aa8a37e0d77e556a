"""The foundation: explicit providers, the recorder's records, and the offline plan end to end."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pulumi
import pulumi_digitalocean as digitalocean
import pytest
import yaml

from offline import plan
from offline.recorder import (
    PROJECT_ROOT,
    SECRET,
    ProgramFailedError,
    Recording,
    UnansweredCallError,
    record_program,
    record_stack,
)
from stacks.settings import SettingsError

PROVIDER_TYPES = {
    "pulumi:providers:digitalocean",
    "pulumi:providers:aws",
    "pulumi:providers:fastly",
    "pulumi:providers:datadog",
}


@pytest.mark.parametrize("stack_name", ["prod", "staging"])
def test_stack_file_disables_default_providers(stack_name: str) -> None:
    document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack_name}.yaml").read_text())
    assert document["config"]["pulumi:disable-default-providers"] == ["*"]


def test_one_explicit_provider_per_cloud(stack: Recording) -> None:
    providers = [r for r in stack.records if r.is_provider]
    # PagerDuty's only where the stack pages on-call: staging has no token and must not need one.
    expected = PROVIDER_TYPES | ({"pulumi:providers:pagerduty"} if stack.stack == "prod" else set())
    assert sorted(r.type for r in providers) == sorted(expected)


def test_every_custom_resource_uses_an_explicit_provider(stack: Recording) -> None:
    provider_urns = {r.urn for r in stack.records if r.is_provider}
    for record in stack.resources:
        # A stack reference is read by the engine's built-in provider, from the state backend, with no cloud
        # credentials.
        if record.custom and record.type != "pulumi:pulumi:StackReference":
            assert record.options.provider in provider_urns, record.urn


def test_aws_provider_is_us_east_1(stack: Recording) -> None:
    aws = stack.of_type("pulumi:providers:aws")[0]
    assert aws.inputs["region"] == "us-east-1"


def test_provider_credentials_are_secret(stack: Recording) -> None:
    expected = {
        "pulumi:providers:digitalocean": ["token"],
        "pulumi:providers:aws": ["accessKey", "secretKey"],
        "pulumi:providers:fastly": ["apiKey"],
        "pulumi:providers:datadog": ["apiKey", "appKey"],
    }
    for type_, keys in expected.items():
        provider = stack.of_type(type_)[0]
        for key in keys:
            assert provider.inputs[key] == SECRET, f"{type_}.{key} must be a secret"


def test_no_mock_secret_value_appears_in_records(stack: Recording) -> None:
    # record_stack feeds "mock-<key>" values for the secrets; none may surface anywhere in the records.
    import json

    assert "mock-" not in json.dumps(stack.to_json())


def test_every_datacenter_has_a_vpc_and_project(stack: Recording) -> None:
    for dc in ("ams1", "nyc1", "sfo1"):
        types = {r.type for r in stack.resources if r.datacenter == dc}
        assert {"digitalocean:index/vpc:Vpc", "digitalocean:index/project:Project"} <= types, dc


def test_vpc_ranges_do_not_overlap(stack: Recording) -> None:
    import ipaddress

    ranges = [ipaddress.ip_network(r.inputs["ipRange"]) for r in stack.of_type("digitalocean:index/vpc:Vpc")]
    for i, a in enumerate(ranges):
        for b in ranges[i + 1 :]:
            assert not a.overlaps(b)


def test_records_carry_options_and_parents() -> None:
    def program() -> None:
        provider = digitalocean.Provider("do", token=pulumi.Output.secret("t"))
        vpc = digitalocean.Vpc(
            "vpc", region="nyc3", ip_range="10.0.0.0/20", opts=pulumi.ResourceOptions(provider=provider)
        )
        digitalocean.Volume(
            "vol",
            region="nyc3",
            size=10,
            opts=pulumi.ResourceOptions(
                provider=provider,
                protect=True,
                retain_on_delete=True,
                ignore_changes=["size"],
                depends_on=[vpc],
                aliases=[pulumi.Alias(name="old-vol")],
            ),
        )

    recording = record_program(program)
    volume = recording.named("vol")
    assert volume.options.protect and volume.options.retain_on_delete
    assert volume.options.ignore_changes == ("size",)
    assert volume.options.dependencies == (recording.named("vpc").urn,)
    assert volume.options.aliases == (volume.urn.replace("::vol", "::old-vol"),)
    assert volume.options.provider == recording.named("do").urn
    assert recording.named("do").inputs["token"] == SECRET
    assert volume.parent is not None and volume.parent.endswith("pulumi:pulumi:Stack::psf-infra-test")


def test_unknown_data_source_is_refused() -> None:
    import pulumi_aws as aws

    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1")
        aws.get_availability_zones_output(opts=pulumi.InvokeOutputOptions(provider=provider))

    with pytest.raises(ProgramFailedError) as caught:
        record_program(program)
    assert isinstance(caught.value.cause, UnansweredCallError) or "no mock answer" in str(caught.value)


def test_bad_config_registers_nothing() -> None:
    with pytest.raises(ProgramFailedError) as caught:
        record_stack("staging", {"replicas": "0"})
    assert isinstance(caught.value.cause, SettingsError)
    assert [r.type for r in caught.value.records] == ["pulumi:pulumi:Stack"], "nothing may be half-created"


def test_missing_secret_is_a_settings_error() -> None:
    with pytest.raises(ProgramFailedError) as caught:
        record_stack("prod", {"fastlyOriginToken": ""})
    assert isinstance(caught.value.cause, SettingsError)
    assert "psf-infra:fastlyOriginToken" in str(caught.value.cause)


@pytest.mark.parametrize("stack_name", ["prod", "staging"])
def test_plan_prints_tree_and_summary(stack_name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main(["--stack", stack_name]) == 0
    out = capsys.readouterr().out
    assert "OFFLINE PLAN with mocked providers" in out and "not a cloud preview" in out
    assert "pulumi:pulumi:Stack" in out
    assert f"psf-infra-{stack_name}" in out
    assert "├─ psf:estate:Datacenter" in out
    assert "create" in out
    assert "By type:" in out and "By datacenter:" in out
    assert "Droplets:" in out and "total vCPUs:" in out
    assert "Elapsed:" in out


def test_plan_json_writes_records(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert plan.main(["--stack", "staging", "--json"]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert document["stack"] == "staging" and document["offline"] is True
    assert {r["type"] for r in document["resources"]} >= PROVIDER_TYPES
    assert all("options" in r and "inputs" in r for r in document["resources"])


def test_plan_broken_config_exits_nonzero_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "offline.plan", "--stack", "staging", "--set", 'datacenters=["nyc1", "lon1"]'],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == ["error: config psf-infra:datacenters = 'lon1' is invalid: must be one of ams1, nyc1, sfo1"]


def test_plan_unknown_stack_exits_nonzero(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main(["--stack", "dev"]) == 2
    assert "no stack file Pulumi.dev.yaml" in capsys.readouterr().err


@pytest.mark.parametrize(("slug", "cpus"), [("s-1vcpu-1gb", 1), ("s-4vcpu-8gb", 4), ("c-8", 8), ("8gb", 4)])
def test_vcpus_from_size_slug(slug: str, cpus: int) -> None:
    assert plan.vcpus(slug) == cpus


def test_duplicate_urns_are_refused_like_the_engine_does() -> None:
    def program() -> None:
        provider = digitalocean.Provider("do", token="t")
        for _ in range(2):
            digitalocean.Vpc("same", region="nyc3", opts=pulumi.ResourceOptions(provider=provider))

    with pytest.raises(ProgramFailedError, match="duplicate resource URN"):
        record_program(program)


def test_urns_follow_the_engine_for_nested_components() -> None:
    class Outer(pulumi.ComponentResource):
        def __init__(self) -> None:
            super().__init__("test:index:Outer", "outer")
            inner = pulumi.ComponentResource("test:index:Inner", "inner", opts=pulumi.ResourceOptions(parent=self))
            provider = digitalocean.Provider("do", token="t", opts=pulumi.ResourceOptions(parent=self))
            digitalocean.Vpc("vpc", region="nyc3", opts=pulumi.ResourceOptions(parent=inner, provider=provider))

    recording = record_program(Outer, stack="prod")
    assert recording.named("outer").urn == "urn:pulumi:prod::psf-infra::test:index:Outer::outer"
    assert recording.named("vpc").urn == (
        "urn:pulumi:prod::psf-infra::test:index:Outer$test:index:Inner$digitalocean:index/vpc:Vpc::vpc"
    )
