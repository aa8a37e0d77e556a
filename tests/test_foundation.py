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
    assert capsys.readouterr().err.startswith("error: Pulumi.dev.yaml: no stack file of that name")


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


# --- the plan's exit codes, output and options ---------------------------------------------------------------


def test_plan_exits_3_on_a_mandatory_violation(capsys: pytest.CaptureFixture[str]) -> None:
    from tests import mutant_plan

    assert mutant_plan.main(["--stack", "staging", "--quiet", "--summary"]) == 3
    captured = capsys.readouterr()
    assert "MANDATORY do-firewall-no-public-inbound" in captured.out
    assert captured.err.splitlines()[-1].startswith("error: 1 mandatory policy violation(s)")


def test_plan_json_runs_the_policy_check_and_exits_3_on_a_mandatory_violation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from tests import mutant_plan

    assert mutant_plan.main(["--stack", "staging", "--quiet", "--json"]) == 3
    document = json.loads(capsys.readouterr().out)
    assert document["policy"]["mandatory"] == 1
    assert [v["rule"] for v in document["policy"]["violations"] if v["enforcement"] == "mandatory"] == [
        "do-firewall-no-public-inbound"
    ]


def test_plan_json_of_a_clean_stack_reports_its_policy_result(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert plan.main(["--stack", "prod", "--quiet", "--json"]) == 0
    policy = json.loads(capsys.readouterr().out)["policy"]
    assert policy["mandatory"] == 0 and policy["rules"] >= 40
    assert {e["status"] for e in policy["exempted"]} >= {"waived", "accepted"}


def _tree(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(" +   ")]


def test_plan_tree_columns_fit_their_content(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main(["--stack", "prod", "--quiet"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("     Type"))
    name_at, plan_at = header.index("Name"), header.index("Plan")
    rows = _tree(out)
    assert len(rows) > 300
    for row in rows:
        # Every type ends before the name column and every name before the plan column, two spaces clear.
        assert row[name_at - 2 : name_at] == "  " and row[name_at] != " ", row
        assert row[plan_at - 2 : plan_at] == "  " and row[plan_at : plan_at + 6] == "create", row
    assert max(len(r[:name_at].rstrip()) for r in rows) == name_at - 2, "the type column is no wider than needed"


def test_plan_marks_protected_and_retained_resources(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main(["--stack", "prod", "--quiet"]) == 0
    prod_out = capsys.readouterr().out
    zone_rows = [r for r in _tree(prod_out) if "aws:route53/zone:Zone " in r]
    assert zone_rows and all(r.endswith("create  protected, retained") for r in zone_rows)
    assert "Protected: " in prod_out
    assert plan.main(["--stack", "staging", "--quiet"]) == 0
    assert not [r for r in _tree(capsys.readouterr().out) if "protected" in r or "retained" in r]


def test_plan_says_what_it_is_doing_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main(["--stack", "staging", "--summary"]) == 0
    progress = capsys.readouterr().err.splitlines()
    assert progress[0].startswith("plan: evaluating the program for stack 'staging'")
    assert progress[1].startswith("plan: recorded ") and "running the policy pack" in progress[1]


def test_plan_summary_prints_overrides_and_counts_but_no_tree(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--stack", "staging", "--quiet", "--summary", "--set", "replicas=2", "--set", "fastlyApiKey=abc"]
    assert plan.main(args) == 0
    out = capsys.readouterr().out
    assert "Config overrides in effect (--set, this plan only): replicas = '2', fastlyApiKey = [secret]" in out
    assert "abc" not in out
    assert not _tree(out) and "Resources: " in out and "By type:" in out


def test_accepted_advisory_findings_do_not_read_like_failures(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main(["--stack", "staging", "--quiet", "--summary"]) == 0
    out = capsys.readouterr().out
    assert "ADVISORY route53-query-logging" not in out
    assert "advisory finding(s) accepted on purpose: dns-query-logs" in out


# --- make plan: exit codes survive make ----------------------------------------------------------------------


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )


def test_make_plan_names_exit_2_for_a_configuration_error() -> None:
    result = _make("plan", "STACK=staging", "ARGS=--set replicas=0")
    assert result.returncode == 2  # GNU make's own status for any failed recipe
    lines = result.stderr.splitlines()
    assert lines[0] == "error: config psf-infra:replicas = '0' is invalid: must be a whole number from 1 to 5"
    assert "make plan: the offline plan exited 2: bad configuration or arguments" in lines
    assert lines[-1].endswith("Error 2")


def test_make_plan_names_exit_3_for_a_mandatory_violation() -> None:
    result = _make("plan", "STACK=staging", f"PLAN={sys.executable} -m tests.mutant_plan", "ARGS=--summary --quiet")
    assert result.returncode == 2
    assert "make plan: the offline plan exited 3: a mandatory policy violation" in result.stderr
    assert result.stderr.splitlines()[-1].endswith("Error 3")
    assert "MANDATORY do-firewall-no-public-inbound" in result.stdout


def test_readme_example_of_an_array_in_args_survives_make() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    example = next(
        line.strip()
        for line in readme.splitlines()
        if line.strip().startswith("make plan STACK=staging ARGS=") and "adminCidrs" in line
    )
    result = subprocess.run(["bash", "-c", example], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'adminCidrs = \'["140.211.10.0/24", "192.0.2.0/24"]\'' in result.stdout


def test_a_program_failure_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(*args: Any, **kwargs: Any) -> Recording:
        try:
            raise KeyError("no such zone\nsecond line")
        except KeyError as exc:
            raise ProgramFailedError(exc, ()) from exc

    monkeypatch.setattr(plan, "record_stack", failing)
    assert plan.main(["--stack", "staging", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: the program failed (KeyError: 'no such zone\\nsecond line'); this is not a configuration error "
        "the settings know of. Rerun with --traceback to see where."
    ]
    assert plan.main(["--stack", "staging", "--quiet", "--traceback"]) == 1
    assert "Traceback" in capsys.readouterr().err
