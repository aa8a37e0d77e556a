"""The deployment tier (Pulumi's Automation API): ``up`` a throw-away stack, verify it from outside, ``destroy`` it.

It creates real, billed resources, so it runs only when asked: the Pulumi CLI on PATH, a state backend and
passphrase, the staging credentials (the names the workflows use), and ``PSF_INFRA_INTEGRATION=1``. Without any
of them it is skipped with the reason. The scheduled workflow runs it; nothing else does.

The throw-away stack is staging's config under names of its own: physical names ``psf-ci-<id>``, so it collides
with nothing in the shared accounts, and the domain ``ci.psf.io``, which prod delegates for it (a settings check
refuses a domain nobody delegates; one run at a time, as the workflow's concurrency group ensures). It checks
what such a stack can prove before certificates are issued: every record at its zone's servers, and the origins
locked.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
import yaml

from offline.recorder import PROJECT_ROOT, record_stack
from verify.net import NetOptions
from verify.report import Status
from verify.run import RunOptions, failures, verify

SECRETS = {
    "digitaloceanToken": "STAGING_DIGITALOCEAN_TOKEN",
    "awsAccessKeyId": "STAGING_AWS_ACCESS_KEY_ID",
    "awsSecretAccessKey": "STAGING_AWS_SECRET_ACCESS_KEY",
    "fastlyApiKey": "STAGING_FASTLY_API_KEY",
    "datadogApiKey": "STAGING_DATADOG_API_KEY",
    "datadogAppKey": "STAGING_DATADOG_APP_KEY",
    "fastlyOriginToken": "STAGING_FASTLY_ORIGIN_TOKEN",
    "fastlyCustomerId": "STAGING_FASTLY_CUSTOMER_ID",
}
NEEDED = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", *SECRETS.values())


def _skip_reason() -> str | None:
    if shutil.which("pulumi") is None:
        return "the Pulumi CLI is not installed (https://www.pulumi.com/docs/install/)"
    missing = [name for name in NEEDED if not os.environ.get(name)]
    if missing:
        return f"credentials missing from the environment: {', '.join(missing)}"
    if os.environ.get("PSF_INFRA_INTEGRATION") != "1":
        return "creates real, billed resources: set PSF_INFRA_INTEGRATION=1 to run it"
    return None


def test_up_verify_destroy_on_a_throw_away_stack() -> None:
    reason = _skip_reason()
    if reason is not None:
        pytest.skip(reason)
    from pulumi import automation as auto

    run = uuid.uuid4().hex[:8]
    name = f"ci-{run}"
    suffix = "ci.psf.io"
    config = dict(yaml.safe_load((PROJECT_ROOT / "Pulumi.staging.yaml").read_text())["config"])
    config |= {
        "psf-infra:namePrefix": f"psf-ci-{run}",
        "psf-infra:domainSuffix": suffix,
        "psf-infra:internalDomain": f"int.{suffix}",
        "psf-infra:saltMaster": f"salt.nyc1.int.{suffix}",
    }
    # The stack file keeps structured values (lists, booleans) as the engine and the program expect them.
    stack_file = PROJECT_ROOT / f"Pulumi.{name}.yaml"
    stack_file.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    try:
        stack = auto.create_stack(name, work_dir=str(PROJECT_ROOT))
    except BaseException:
        stack_file.unlink(missing_ok=True)
        raise
    try:
        for key, variable in SECRETS.items():
            stack.set_config(f"psf-infra:{key}", auto.ConfigValue(os.environ[variable], secret=True))
        stack.up(on_output=print, policy_packs=[str(PROJECT_ROOT / "policy")])
        outputs = {key: value.value for key, value in stack.outputs().items()}
        results = verify(
            record_stack(name),
            outputs,
            RunOptions(net=NetOptions(timeout=10, retries=3), checks=("record", "origins")),
        )
        assert any(r.status is Status.PASS for r in results)
        assert failures(results) == []
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack(name)
        stack_file.unlink(missing_ok=True)
