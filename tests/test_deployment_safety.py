"""Deployment safety: the rename guard, and secrets that stay secret everywhere."""

from __future__ import annotations

import json
import re

import pulumi
import pulumi_digitalocean as digitalocean
import pytest
import yaml

from offline.recorder import PROJECT_ROOT, SECRET, Recording, record_program
from offline.urns import REFRESH_COMMAND, current_urns, diff, read_snapshot
from stacks.settings import config_schema

SECRET_KEYS = sorted(k for k, spec in config_schema().items() if spec.secret)


# --- rename guard -----------------------------------------------------------------------------------------


def test_no_existing_urn_is_removed_or_renamed(stack: Recording) -> None:
    snapshot = read_snapshot(stack.stack)
    assert snapshot, f"no URN snapshot for {stack.stack}; run `{REFRESH_COMMAND}`"
    result = diff(stack, snapshot)
    assert result.ok, result.message()


def _volume_program(name: str, alias: str | None = None) -> Recording:
    def program() -> None:
        provider = digitalocean.Provider("do", token="t")
        aliases = [pulumi.Alias(name=alias)] if alias else None
        digitalocean.Volume(
            name, region="nyc3", size=10, opts=pulumi.ResourceOptions(provider=provider, aliases=aliases)
        )

    return record_program(program, stack="prod")


def test_a_rename_without_alias_is_caught_and_explained() -> None:
    before = current_urns(_volume_program("data"))
    result = diff(_volume_program("data-renamed"), before)
    assert not result.ok
    assert result.removed == ("urn:pulumi:prod::psf-infra::digitalocean:index/volume:Volume::data",)
    message = result.message()
    assert "would be DELETED" in message and "::data" in message
    assert REFRESH_COMMAND in message and "pulumi.Alias" in message


def test_a_rename_with_an_alias_is_accepted() -> None:
    before = current_urns(_volume_program("data"))
    result = diff(_volume_program("data-renamed", alias="data"), before)
    assert result.ok
    assert result.aliased == ("urn:pulumi:prod::psf-infra::digitalocean:index/volume:Volume::data",)


def test_an_addition_is_not_a_removal() -> None:
    result = diff(_volume_program("data"), [])
    assert result.ok and len(result.added) == 3  # stack, provider, volume


# --- secrets ----------------------------------------------------------------------------------------------

# Shapes of real credentials: DigitalOcean, AWS access keys, Datadog keys (32/40 hex), Fastly tokens.
CREDENTIAL_SHAPES = re.compile(
    r"dop_v1_[0-9a-f]{20,}|AKIA[0-9A-Z]{16}|\b[0-9a-f]{32}\b|\b[0-9a-f]{40}\b|[A-Za-z0-9_-]{32}"
)


@pytest.mark.parametrize("stack_name", ["prod", "staging"])
def test_no_committed_stack_file_holds_a_plaintext_secret(stack_name: str) -> None:
    document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack_name}.yaml").read_text())
    config = document["config"]
    for key in SECRET_KEYS:
        value = config.get(f"psf-infra:{key}")
        assert value is None or (isinstance(value, dict) and set(value) == {"secure"}), (
            f"psf-infra:{key} is in Pulumi.{stack_name}.yaml in plaintext; use `pulumi config set --secret {key}`"
        )
    for key, value in config.items():
        if key == "psf-infra:psfCaCertificate":
            # A CA's public certificate is base64 that looks like anything; it must never be a key.
            assert value == "" or (value.strip().startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE" not in value)
            continue
        assert not CREDENTIAL_SHAPES.search(json.dumps(value)), f"{key} looks like a credential"


def test_secret_keys_have_no_default_in_the_schema() -> None:
    # An optional secret's "" stands for "not set": never a usable value (stacks/paging.py says why it has one).
    for key in SECRET_KEYS:
        spec = config_schema()[key]
        assert spec.default is None or (spec.optional_secret and spec.default == ""), key


def test_an_optional_secret_set_in_plaintext_is_refused() -> None:
    from offline.recorder import ProgramFailedError, program_config
    from stacks.estate import main
    from stacks.settings import SettingsError

    config, secret_keys = program_config("prod")
    plain = [k for k in secret_keys if not k.endswith(":pagerdutyToken")]
    with pytest.raises(ProgramFailedError) as caught:
        record_program(main, stack="prod", config=config, secret_keys=plain)
    assert isinstance(caught.value.cause, SettingsError)
    assert "pulumi config set --secret pagerdutyToken" in str(caught.value.cause)
    assert "mock-pagerdutyToken" not in str(caught.value.cause)


def test_outputs_that_carry_secrets_are_secret(stack: Recording) -> None:
    tokens = stack.of_type("fastly:index/serviceDynamicSnippetContent:ServiceDynamicSnippetContent")
    assert tokens and all(t.inputs["content"] == SECRET for t in tokens), "the origin token must stay secret"
    role = stack.of_type("aws:iam/role:Role")[0]
    assert role.inputs["assumeRolePolicy"] == SECRET, "the Fastly customer ID (external ID) must stay secret"
    for provider in (r for r in stack.records if r.is_provider):
        for key, value in provider.inputs.items():
            if re.search(r"token|key|secret", key, re.IGNORECASE) and key not in {"skipCredentialsValidation"}:
                assert value == SECRET, f"{provider.type}.{key}"


def test_no_secret_value_reaches_any_record_or_output(stack: Recording) -> None:
    # record_stack supplies "mock-<key>" as each secret's value; none may surface in plain text.
    rendered = json.dumps(stack.to_json())
    for key in SECRET_KEYS:
        assert f"mock-{key}" not in rendered, key


def test_readme_lists_every_secret_key() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    for key in SECRET_KEYS:
        assert f"`{key}`" in readme or f" {key} " in readme, key
