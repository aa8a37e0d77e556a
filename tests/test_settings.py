"""Settings: every key accepts its good values and refuses each kind of bad value, naming the key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacks.settings import (
    DATACENTERS,
    PROJECT_ROOT,
    Environment,
    Secret,
    Settings,
    SettingsError,
    config_schema,
    parse_settings,
    settings_for_stack,
)
from stacks.stack_files import read_stack_file

SCHEMA = config_schema()
SECRET_KEYS = [k for k, spec in SCHEMA.items() if spec.secret]


def base(stack: str) -> dict[str, Any]:
    """A stack file's values as the program receives them (text), unnamespaced, plus the secrets."""
    raw: dict[str, Any] = dict(read_stack_file(PROJECT_ROOT, stack).project_values())
    raw.update({k: f"value-of-{k}" for k in SECRET_KEYS})
    return raw


BOOLEAN = ([True, False, "true", "false", "True"], ["yes", 1, "", "on"])
HOSTNAME = (
    ["app.herokuapp.com", "a-b.example.org"],
    ["", "x", "http://x.org", "UPPER.org", "a..org", "-a.org", "a" * 64 + ".org", ("a" * 60 + ".") * 5 + "org"],
)
SIZE = (["s-1vcpu-1gb", "s-4vcpu-8gb", "c-4"], ["s-1vcpu-1g", "huge", "", "S-1VCPU-1GB"])

# key -> (good values, bad values), all tried on the staging stack file's values.
CASES: dict[str, tuple[list[Any], list[Any]]] = {
    "environment": (["staging"], ["production", "", "Staging", "test"]),
    "namePrefix": (["psf-staging", "ab1"], ["", "PSF", "1abc", "ab", "x" * 25, "psf_staging", "psf-"]),
    "datacenters": ([["nyc1"], ["ams1", "nyc1", "sfo1"], '["sfo1"]'], [["nyc2"], [], ["nyc1", "nyc1"], "nyc1", [1]]),
    "internalDomain": (
        ["psf.io", "int.staging.psf.io"],
        ["", "PSF.IO", "psf", "-a.io", "a..io", "python-org.staging.psf.io", "pypi-org.staging.psf.io"],
    ),
    "domainSuffix": (["staging.psf.io", "test.example.org"], ["", "Staging.psf.io", "nodots"]),
    "dropletImage": (["ubuntu-24-04-x64", "12345", "debian-12-x64"], ["", "Ubuntu 24", "-x", "a_b"]),
    "dropletSizeSmall": SIZE,
    "dropletSizeMedium": SIZE,
    "dropletSizeLarge": SIZE,
    "replicas": ([1, 5, "2"], [0, 6, "two", True, "1.5", -1]),
    "sshKeys": (
        [["123"], ["3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa", "42"]],
        [[], ["not-a-key"], "x", [""], ["3b:16"], ["1", "1"]],
    ),
    "adminCidrs": (
        [["140.211.10.0/24"], ["2605:bc80:3010::/48", "192.0.2.7/32"], ["10.0.0.0/16"], ["2001:db8::/32"]],
        [
            ["0.0.0.0/0"],
            ["::/0"],
            ["10.0.0.1/24"],
            ["banana"],
            [],
            "140.211.10.0/24",
            ["0.0.0.0/1", "128.0.0.0/1"],
            ["16.0.0.0/4"],
            ["10.0.0.0/15"],
            ["2000::/3"],
            ["10.0.0.0/16", "10.2.0.0/16"],
            ["127.0.0.1/32"],
            ["::ffff:0:0/96"],
            ["224.0.0.0/24"],
        ],
    ),
    "saltMaster": (["salt.nyc1.psf.io"], ["", "salt", "SALT.psf.io"]),
    "protect": BOOLEAN,
    "backups": BOOLEAN,
    "pageOnCall": ([False, "false"], [True, "true", "maybe"]),
    "pagerdutyHandle": (["@pagerduty-psf", "@pagerduty"], ["pagerduty", "@slack-infra", "", "@pagerduty psf"]),
    "notifyHandles": (
        [["@infrastructure-staff@python.org"], ["@slack-psf-infra", "@a@b.org"]],
        [[], ["no-at"], ["@"], ["@pagerduty-psf-infrastructure"], ["@PagerDuty"]],
    ),
    "fastlyActivate": BOOLEAN,
    "fastlyLogging": (["s3", "datadog"], ["syslog", "", "S3"]),
    "hstsMaxAge": ([31_536_000, 63_072_000, "31536000"], [300, 0, "long", 63_072_001]),
    "staleIfErrorTtl": ([60, 86_400], [0, 10**7, "forever"]),
    "databaseSize": (["db-s-1vcpu-1gb", "db-s-2vcpu-4gb"], ["s-1vcpu-1gb", "", "db-huge"]),
    "databaseReplica": BOOLEAN,
    "postgresVersion": (["16", "14", "17"], ["9.6", "18", "", "sixteen"]),
    "pythonOrgOrigin": HOSTNAME,
    "pyconOrigin": HOSTNAME,
    "pythonOrgStagingOrigin": HOSTNAME,
    "pypiOrigin": HOSTNAME,
    "benchmarkHostAddress": (["140.211.10.71", "8.8.8.8"], ["10.0.0.1", "256.1.1.1", "host.example", "", "127.0.0.1"]),
    "datadogSite": (["datadoghq.com", "datadoghq.eu"], ["datadog.com", ""]),
    "syntheticsLocations": (
        [["aws:us-east-1", "aws:eu-west-1", "aws:ap-south-1"]],
        [["aws:us-east-1"], ["nowhere", "aws:x", "aws:y"], []],
    ),
    "dkimKeys": (
        [[], ["mail=" + "A" * 216], ["2026a=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 3 + "=="]],
        [
            ["mail"],
            ["=abc"],
            ["Mail=" + "A" * 216],
            ["mail=short"],
            "mail=x",
            ["mail=" + "A" * 216, "mail=" + "B" * 216],
        ],
    ),
    "dnssec": BOOLEAN,
    **{key: (["s3cr3t-value"], ["", "   "]) for key in SECRET_KEYS},
}

GOOD = [(key, value) for key, (good, _) in CASES.items() for value in good]
BAD = [(key, value) for key, (_, bad) in CASES.items() for value in bad]


def test_every_declared_key_has_cases() -> None:
    assert set(CASES) == set(SCHEMA), "add good and bad values for new config keys to CASES"


def test_schema_declares_type_and_description_for_every_key() -> None:
    for key, spec in SCHEMA.items():
        assert spec.type in {"string", "integer", "boolean", "array"}, key
        assert spec.description, key


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_stack_files_parse(stack: str) -> None:
    parsed = parse_settings(stack, base(stack))
    assert parsed.environment is Environment(stack)
    assert {dc.name for dc in parsed.datacenters} == set(DATACENTERS)


@pytest.mark.parametrize(("key", "value"), GOOD, ids=[f"{k}={v!r}" for k, v in GOOD])
def test_good_value_is_accepted(key: str, value: Any) -> None:
    raw = base("staging") | {key: value}
    assert isinstance(parse_settings("staging", raw), Settings)


@pytest.mark.parametrize(("key", "value"), BAD, ids=[f"{k}={v!r}" for k, v in BAD])
def test_bad_value_is_refused_naming_the_key(key: str, value: Any) -> None:
    raw = base("staging") | {key: value}
    with pytest.raises(SettingsError) as caught:
        parse_settings("staging", raw)
    message = str(caught.value)
    assert caught.value.key == key
    assert f"psf-infra:{key}" in message
    assert "\n" not in message
    assert "is invalid:" in message


@pytest.mark.parametrize("key", [k for k, spec in SCHEMA.items() if spec.required])
def test_missing_required_key_names_it_and_how_to_set_it(key: str) -> None:
    raw = base("staging")
    raw.pop(key, None)
    with pytest.raises(SettingsError, match=f"psf-infra:{key} = \\(not set\\)") as caught:
        parse_settings("staging", raw)
    assert "pulumi config set" in str(caught.value)
    if SCHEMA[key].secret:
        assert "--secret" in str(caught.value)


def test_defaults_come_from_pulumi_yaml() -> None:
    raw = {k: v for k, v in base("prod").items() if SCHEMA[k].required}
    parsed = parse_settings("prod", raw)
    assert parsed.droplet_image == SCHEMA["dropletImage"].default
    assert parsed.replicas == SCHEMA["replicas"].default
    assert parsed.protect is True, "the safe default protects state"
    assert parsed.synthetics_locations == tuple(SCHEMA["syntheticsLocations"].default)


def test_unknown_key_is_refused() -> None:
    with pytest.raises(SettingsError, match="psf-infra:replica ") as caught:
        parse_settings("staging", base("staging") | {"replica": 3})
    assert "typo" in str(caught.value)


def test_prod_refuses_a_domain_suffix_and_staging_needs_one() -> None:
    with pytest.raises(SettingsError, match="domainSuffix"):
        parse_settings("prod", base("prod") | {"domainSuffix": "staging.psf.io"})
    with pytest.raises(SettingsError, match="domainSuffix"):
        parse_settings("staging", base("staging") | {"domainSuffix": ""})


def test_datacenters_map_to_digitalocean_regions() -> None:
    assert {name: dc.region.value for name, dc in DATACENTERS.items()} == {
        "ams1": "ams3",
        "nyc1": "nyc3",
        "sfo1": "sfo2",
    }


def test_secrets_never_show_in_repr() -> None:
    parsed = parse_settings("staging", base("staging"))
    assert "value-of" not in repr(parsed)
    assert repr(Secret("hunter2")) == "Secret(****)"


def test_public_names_differ_between_stacks() -> None:
    prod, staging = parse_settings("prod", base("prod")), parse_settings("staging", base("staging"))
    assert prod.public_domain("python.org") == "python.org"
    assert staging.public_domain("python.org") == "python-org.staging.psf.io"
    assert staging.public_host("docs.python.org", "python.org") == "docs.python-org.staging.psf.io"
    assert prod.physical_name("logs") != staging.physical_name("logs")


def test_settings_error_is_a_pulumi_run_error() -> None:
    # The Pulumi CLI prints a RunError as its message alone, without a traceback.
    from pulumi.errors import RunError

    assert issubclass(SettingsError, RunError)


config_values = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-10, max_value=10**9),
    st.booleans(),
    st.lists(st.text(max_size=20), max_size=4),
    st.sampled_from(["nyc1", "s-1vcpu-1gb", "140.211.10.0/24", "@pagerduty-x", "true", "16", "aws:us-east-1"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stack=st.sampled_from(["prod", "staging"]),
    changes=st.dictionaries(st.sampled_from(sorted(SCHEMA)), st.one_of(st.none(), config_values), max_size=5),
)
def test_random_config_gives_settings_or_a_settings_error(stack: str, changes: dict[str, Any]) -> None:
    raw = base(stack)
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    try:
        result = parse_settings(stack, raw)
    except SettingsError as exc:
        assert exc.key in SCHEMA
        assert "\n" not in str(exc)
    else:
        assert isinstance(result, Settings)


# --- one source of truth for what a stack is ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "environment", "ok"),
    [
        ("prod", "prod", True),
        ("staging", "staging", True),
        ("alice", "staging", True),
        ("staging", "prod", False),
        ("alice", "prod", False),
        ("prod", "staging", False),
    ],
)
def test_the_stack_name_decides_the_environment(stack: str, environment: str, ok: bool) -> None:
    raw = base("prod" if environment == "prod" else "staging") | {"environment": environment}
    if ok:
        assert parse_settings(stack, raw).environment is Environment(environment)
        return
    with pytest.raises(SettingsError, match="psf-infra:environment") as caught:
        parse_settings(stack, raw)
    assert f"in stack {stack!r}" in str(caught.value)


def test_settings_and_policy_share_the_rule() -> None:
    from policy.rules.base import Resource
    from stacks.environment import PROD_STACK, expected_environment

    for stack in ("prod", "staging", "alice", "prod-eu"):
        is_prod = Resource(
            "aws:route53/zone:Zone", "z", f"urn:pulumi:{stack}::psf-infra::aws:route53/zone:Zone::z"
        ).is_prod
        assert is_prod is (expected_environment(stack) is Environment.PROD), stack
    assert PROD_STACK == "prod"


# --- settings that weaken prod name their key ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("protect", "false"),
        ("backups", "false"),
        ("dnssec", "false"),
        ("databaseReplica", "false"),
        ("pageOnCall", "false"),
        ("replicas", "1"),
        ("datacenters", '["nyc1", "sfo1"]'),
    ],
)
def test_prod_refuses_what_weakens_it_naming_the_key(key: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings("prod", base("prod") | {key: value})
    assert caught.value.key == key
    assert f"psf-infra:{key} = {value!r}" in str(caught.value)
    assert "in prod" in str(caught.value)
    # The same value is fine outside prod.
    assert isinstance(parse_settings("staging", base("staging") | {key: value}), Settings)


def test_empty_secret_is_shown_as_empty_not_as_unset() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings("staging", base("staging") | {"fastlyApiKey": "  "})
    assert "psf-infra:fastlyApiKey = '' is invalid" in str(caught.value)


def test_a_secret_value_never_appears_in_an_error() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings("staging", base("staging") | {"fastlyApiKey": ["hunter2-secret"]})
    assert "hunter2" not in str(caught.value)


def test_long_domain_names_its_length() -> None:
    with pytest.raises(SettingsError, match=r"at most 253 characters.*this has 300"):
        parse_settings("staging", base("staging") | {"saltMaster": ("a" * 59 + ".") * 4 + "b" * 56 + ".org"})


@pytest.mark.parametrize(
    ("cidrs", "message"),
    [
        (["0.0.0.0/1", "128.0.0.0/1"], "no wider than /16"),
        (["10.0.0.0/16", "10.1.0.0/16"], "together span at most a /16"),
        (["2001:db8::/31"], "no wider than /32"),
        (["2001:db8::/32", "2001:db9::/32"], "together span at most a /32"),
    ],
)
def test_admin_networks_are_bounded_alone_and_together(cidrs: list[str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_settings("prod", base("prod") | {"adminCidrs": cidrs})


def test_adjacent_admin_networks_are_judged_merged() -> None:
    # 4,096 /28s that tile a /16 exactly are one /16: allowed; one more address is not.
    tiles = [f"10.0.{i // 16}.{(i % 16) * 16}/28" for i in range(4096)]
    assert len(parse_settings("staging", base("staging") | {"adminCidrs": tiles}).admin_cidrs) == 4096
    with pytest.raises(SettingsError, match="together"):
        parse_settings("staging", base("staging") | {"adminCidrs": [*tiles, "10.9.0.0/32"]})


# --- collisions between the stack files of a project ----------------------------------------------------------


def _project(tmp_path: Path, **stacks: dict[str, str]) -> Path:
    """A directory with the committed stack files plus stacks whose values are staging's with changes."""
    for name in ("prod", "staging"):
        (tmp_path / f"Pulumi.{name}.yaml").write_text((PROJECT_ROOT / f"Pulumi.{name}.yaml").read_text())
    for name, changes in stacks.items():
        text = (PROJECT_ROOT / "Pulumi.staging.yaml").read_text()
        for key, value in changes.items():
            text = re.sub(rf"(?m)^  psf-infra:{key}: .*$", f"  psf-infra:{key}: {value}", text)
        (tmp_path / f"Pulumi.{name}.yaml").write_text(text)
    return tmp_path


def _full(stack: str, root: Path) -> dict[str, Any]:
    from offline.recorder import program_config

    return program_config(stack, root=root)[0]


OWN = {"namePrefix": "psf-alice", "internalDomain": "int.alice.psf.io", "domainSuffix": "alice.psf.io"}


def test_a_stack_of_its_own_does_not_collide(tmp_path: Path) -> None:
    root = _project(tmp_path, alice=OWN)
    assert settings_for_stack("alice", _full("alice", root), root).name_prefix == "psf-alice"
    # ... and the committed stacks still plan beside it.
    assert settings_for_stack("staging", _full("staging", root), root).stack == "staging"


@pytest.mark.parametrize(
    ("changes", "key", "other"),
    [
        ({"namePrefix": "psf-staging"}, "namePrefix", "staging"),
        ({"namePrefix": "psf"}, "namePrefix", "prod"),
        ({"namePrefix": "psf-prod-eu"}, "namePrefix", "prod"),
        ({"internalDomain": "int.staging.psf.io"}, "internalDomain", "staging"),
        ({"internalDomain": "pypi.org"}, "internalDomain", "prod"),
        ({"internalDomain": "python-org.staging.psf.io"}, "internalDomain", "staging"),
        ({"domainSuffix": "staging.psf.io"}, "domainSuffix", "staging"),
    ],
)
def test_a_stack_taking_another_stacks_names_is_refused(
    tmp_path: Path, changes: dict[str, str], key: str, other: str
) -> None:
    root = _project(tmp_path, alice=OWN | changes)
    with pytest.raises(SettingsError) as caught:
        settings_for_stack("alice", _full("alice", root), root)
    assert caught.value.key == key
    assert f"stack {other!r} (Pulumi.{other}.yaml)" in str(caught.value)


def test_the_committed_stack_sees_the_newcomer_too(tmp_path: Path) -> None:
    # The collision is refused from both sides: prod cannot plan while a file claims its prefix.
    root = _project(tmp_path, alice=OWN | {"namePrefix": "psf-prod"})
    with pytest.raises(SettingsError, match=r"namePrefix.*'alice'"):
        settings_for_stack("prod", _full("prod", root), root)


def test_a_broken_sibling_claims_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "Pulumi.broken.yaml").write_text("config: [")
    assert settings_for_stack("staging", _full("staging", root), root).stack == "staging"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("psf-infr:replicas", "did you mean psf-infra:replicas"),
        ("aws:region", "default providers are disabled"),
        ("psf-infra:replica", "did you mean psf-infra:replicas"),
        ("other:thing", "would be ignored"),
    ],
)
def test_program_config_of_other_namespaces_is_refused(key: str, message: str) -> None:
    config = _full("staging", PROJECT_ROOT) | {key: "3"}
    with pytest.raises(SettingsError, match=message):
        settings_for_stack("staging", config)


def test_pulumi_keys_are_left_to_the_cli() -> None:
    config = _full("staging", PROJECT_ROOT) | {"pulumi:tags": "{}"}
    assert settings_for_stack("staging", config).stack == "staging"
