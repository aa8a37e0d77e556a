"""The workflows and what guards them: pins, per-environment secrets, permissions, code owners, Dependabot.

zizmor and ShellCheck (``make workflows``) audit the workflows against general rules; these tests hold them
to this repository's own design: which environment holds which stack's credentials, that every secret the
program needs reaches it, and that the README's tables name exactly what the workflows read.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.recorder import PROJECT_ROOT
from stacks.settings import config_schema
from tools.workflow_shell import ShellBlock, WorkflowShellError, blocks_of, check, script_block, yaml_blocks

GITHUB = PROJECT_ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
PREPARE = GITHUB / "actions" / "prepare-stack"
PREPARE_USES = "$/.github/actions/prepare-stack"
TEAM = "@python/infrastructure-staff"
DEPLOY = GITHUB / "workflows" / "deploy.yml"
INTEGRATION = GITHUB / "workflows" / "integration.yml"

# Environment -> the stack whose credentials it holds. Read environments hold read-only provider tokens
# and a state role that can only read; only the two write environments can change the estate.
READ_ENVIRONMENTS = {"staging-read": "staging", "production-read": "prod"}
WRITE_ENVIRONMENTS = {"staging": "staging", "production": "prod"}
SECRET_KEYS = sorted(k for k, spec in config_schema().items() if spec.secret)
# The secrets every stack needs; the others only a stack whose settings ask for them (prod).
REQUIRED_SECRET_KEYS = sorted(k for k, spec in config_schema().items() if spec.secret and spec.required)
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def _jobs() -> Iterator[tuple[Path, str, dict[str, Any]]]:
    for path in WORKFLOWS:
        for job_id, job in _load(path)["jobs"].items():
            yield path, job_id, job


def _steps() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path, _, job in _jobs():
        for step in job.get("steps", []):
            yield path, step
    for path in ACTIONS:
        for step in _load(path)["runs"].get("steps", []):
            yield path, step


def _all_uses() -> Iterator[tuple[Path, str]]:
    for path, _, job in _jobs():
        if "uses" in job:
            yield path, job["uses"]
    for path, step in _steps():
        if "uses" in step:
            yield path, step["uses"]


# --- pinned actions -----------------------------------------------------------------------------------------


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    uses = list(_all_uses())
    assert len(uses) > 10
    for path, ref in uses:
        if ref.startswith("$/"):
            continue  # this repository at the running commit
        assert PINNED.match(ref), f"{path.name}: `uses: {ref}` is not pinned to a full commit SHA"
        assert re.search(rf"uses: {re.escape(ref)} # v\d+\.\d+\.\d+\s*$", path.read_text(), re.MULTILINE), (
            f"{path.name}: `uses: {ref}` needs its release as a `# vX.Y.Z` comment (Dependabot keeps it current)"
        )


def test_one_commit_per_action() -> None:
    seen: dict[str, set[str]] = {}
    for _, ref in _all_uses():
        if not ref.startswith("$/"):
            name, sha = ref.split("@")
            seen.setdefault(name, set()).add(sha)
    assert {name: shas for name, shas in seen.items() if len(shas) > 1} == {}


# --- secrets per environment --------------------------------------------------------------------------------


def test_no_expression_hands_over_the_whole_secrets_context() -> None:
    for path in [*WORKFLOWS, *ACTIONS]:
        text = path.read_text()
        for shape in ("secrets[", "toJSON(secrets", "secrets: inherit"):
            assert shape not in text, f"{path.name}: `{shape}` exposes every secret"


def test_only_jobs_in_an_environment_read_secrets() -> None:
    for path, job_id, job in _jobs():
        names = set(re.findall(r"secrets\.(\w+)", json.dumps(job))) - {"GITHUB_TOKEN"}
        if names:
            assert "environment" in job, f"{path.name} {job_id} reads {sorted(names)} outside an environment"


def _job_stacks(job: dict[str, Any]) -> list[tuple[str, str]]:
    """(environment, stack) pairs a job runs as: one per matrix entry, or its literal pair."""
    environment = job["environment"]
    if environment == "${{ matrix.environment }}":
        return [(entry["environment"], entry["stack"]) for entry in job["strategy"]["matrix"]["include"]]
    stacks = {step["with"]["stack"] for step in job["steps"] if step.get("uses") == PREPARE_USES}
    assert len(stacks) == 1, f"a job in {environment} prepares one stack, not {sorted(stacks)}"
    return [(environment, stacks.pop())]


def _pulumi_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if str(step.get("uses", "")).startswith("pulumi/actions@") and "with" in step]


def _runs_integration_test(job: dict[str, Any]) -> bool:
    return any("pytest tests/integration" in str(step.get("run", "")) for step in job.get("steps", []))


def _changes_a_stack(job: dict[str, Any]) -> bool:
    """A `pulumi up`, or the Automation API test that ups and destroys a stack of its own."""
    ups = [s for s in _pulumi_steps(job) if s["with"].get("command") == "up"]
    return bool(ups) or _runs_integration_test(job)


def test_each_job_holds_only_its_own_stacks_credentials() -> None:
    environment_jobs = [(path, job_id, job) for path, job_id, job in _jobs() if "environment" in job]
    assert len(environment_jobs) == 8
    for path, job_id, job in environment_jobs:
        for environment, stack in _job_stacks(job):
            owner = {**READ_ENVIRONMENTS, **WRITE_ENVIRONMENTS}.get(environment)
            assert owner == stack, f"{path.name} {job_id}: environment {environment} runs stack {stack}"
        named = {str(s["with"].get("stack")) for s in job["steps"] if s.get("uses") == PREPARE_USES}
        named |= {str(s["with"].get("stack-name")) for s in _pulumi_steps(job) if "stack-name" in s["with"]}
        literal = {n for n in named if not n.startswith("${{")}
        assert literal <= {stack for _, stack in _job_stacks(job)}, f"{path.name} {job_id} names {sorted(named)}"


def test_only_a_job_that_changes_a_stack_holds_write_credentials() -> None:
    for path, job_id, job in _jobs():
        if "environment" not in job:
            continue
        environments = {environment for environment, _ in _job_stacks(job)}
        if _changes_a_stack(job):
            assert path.name in {"deploy.yml", "integration.yml"}, (path.name, job_id)
            assert environments <= set(WRITE_ENVIRONMENTS), (path.name, job_id)
        else:
            assert environments <= set(READ_ENVIRONMENTS), f"{path.name} {job_id} reads with write credentials"


def _concurrency(job: dict[str, Any]) -> dict[str, Any]:
    value = job.get("concurrency", {})
    return {"group": value} if isinstance(value, str) else value


def test_pull_requests_never_reach_a_write_environment_and_schedules_never_prod() -> None:
    staging_deploy = _concurrency(_load(DEPLOY)["jobs"]["deploy-staging"])
    for path in WORKFLOWS:
        triggers = set(_load(path)[True])  # YAML reads the key `on` as true
        for _, job_id, job in (j for j in _jobs() if j[0] == path):
            if "environment" not in job:
                continue
            environments = {e for e, _ in _job_stacks(job)}
            if {"pull_request", "pull_request_target"} & triggers:
                assert environments <= set(READ_ENVIRONMENTS), (path.name, job_id)
            if "schedule" in triggers:
                assert environments <= {*READ_ENVIRONMENTS, "staging"}, (path.name, job_id)
                if "staging" in environments:
                    # A scheduled job that writes to staging's account waits for staging's deploys (and they
                    # for it), and is never cancelled half-way.
                    concurrency = _concurrency(job)
                    assert concurrency.get("group") == staging_deploy["group"], (path.name, job_id)
                    assert concurrency.get("cancel-in-progress") is False, (path.name, job_id)


def _script_table() -> list[tuple[str, str, bool]]:
    """(config key, V_ variable, optional) for each line of the table in set-secret-config.sh."""
    text = (PREPARE / "set-secret-config.sh").read_text()
    rows = re.findall(r"^(\w+)\s+(V_[A-Z0-9_]+)(\s+optional)?$", text, re.MULTILINE)
    return [(key, var, bool(optional)) for key, var, optional in rows]


def _script_keys() -> dict[str, str]:
    """config key -> V_ variable, from the table in set-secret-config.sh."""
    return {key: var for key, var, _ in _script_table()}


def test_the_script_takes_exactly_the_optional_secrets_as_optional() -> None:
    optional = sorted(key for key, _, is_optional in _script_table() if is_optional)
    assert optional == sorted(k for k, spec in config_schema().items() if spec.optional_secret)


def test_every_secret_the_program_needs_reaches_every_stack_job() -> None:
    keys = _script_keys()
    assert sorted(keys) == SECRET_KEYS, "set-secret-config.sh must set exactly the schema's secret keys"
    action = _load(PREPARE / "action.yml")
    step = next(s for s in action["runs"]["steps"] if "set-secret-config.sh" in s.get("run", ""))
    # V_X: ${{ inputs.y }} -> the workflows must pass secrets.X as input y.
    expected: dict[str, str] = {}
    for var in keys.values():
        match = re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", step["env"][var])
        assert match, f"{var} must come from an input of the action"
        expected[match.group(1)] = f"${{{{ secrets.{var.removeprefix('V_')} }}}}"
    expected["passphrase"] = "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    assert step["if"] == "inputs.secret-config == 'true'"
    required = {name for name, spec in action["inputs"].items() if "default" not in spec}
    callers = [(path, step) for path, step in _steps() if step.get("uses") == PREPARE_USES]
    assert len(callers) == 8
    without = 0
    for path, step in callers:
        given = step["with"]
        assert required <= set(given), f"{path.name}: missing inputs {sorted(required - set(given))}"
        if given.get("secret-config", "true") == "false":
            # It writes no secret config, so it gets no secret to write.
            without += 1
            assert not set(expected) & set(given), f"{path.name}: passes secrets it does not use"
            continue
        for name, value in expected.items():
            assert given[name] == value, f"{path.name}: input {name} must be {value}"
    assert without == 3  # the two verify jobs and the integration test


FAKE_PULUMI = """#!/usr/bin/env bash
printf '%s|%s\\n' "$*" "$(cat)" >> "$PULUMI_LOG"
"""


def _fake_bin(tmp_path: Path, **scripts: str) -> Path:
    """``tmp_path``/bin holding an executable per script, to put first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def _run_secret_script(tmp_path: Path, values: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bin_dir = _fake_bin(tmp_path, pulumi=FAKE_PULUMI)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PULUMI_LOG": str(tmp_path / "calls.log"),
        "STACK": "staging",
        "PULUMI_CONFIG_PASSPHRASE": "passphrase",
        **values,
    }
    script = PREPARE / "set-secret-config.sh"
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, check=False)


def test_secret_config_goes_to_pulumi_on_stdin(tmp_path: Path) -> None:
    keys = _script_keys()
    result = _run_secret_script(tmp_path, {var: f"value of {key}" for key, var in keys.items()})
    assert result.returncode == 0, result.stdout + result.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls == [f"config set --secret --stack staging {key}|value of {key}" for key in keys]


def test_a_stack_without_the_optional_secrets_gets_the_others(tmp_path: Path) -> None:
    table = _script_table()
    result = _run_secret_script(tmp_path, {var: f"value of {key}" for key, var, optional in table if not optional})
    assert result.returncode == 0, result.stdout + result.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls == [f"config set --secret --stack staging {key}|value of {key}" for key, _, o in table if not o]


def test_a_missing_secret_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    keys = _script_keys()
    values = {var: "x" for var in keys.values() if var != "V_FASTLY_API_KEY"}
    result = _run_secret_script(tmp_path, values)
    assert result.returncode == 1
    assert result.stdout.strip() == (
        "::error::Missing secrets of this job's GitHub environment: FASTLY_API_KEY (README: What the repository needs)"
    )
    assert not (tmp_path / "calls.log").exists()


# --- make verify after each deploy, and the integration test ----------------------------------------------

VERIFY_RUN = re.compile(r"^\s*make verify STACK=(\w+)\b", re.MULTILINE)


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def _ancestors(jobs: dict[str, dict[str, Any]], job_id: str) -> set[str]:
    """Every job ``job_id`` waits for, directly or through others."""
    seen: set[str] = set()
    todo = _needs(jobs[job_id])
    while todo:
        need = todo.pop()
        if need not in seen:
            seen.add(need)
            todo += _needs(jobs[need])
    return seen


def _verify_jobs(jobs: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """stack -> the jobs with a step that runs `make verify STACK=<stack>`."""
    found: dict[str, list[str]] = {}
    for job_id, job in jobs.items():
        for step in job.get("steps", []):
            for stack in VERIFY_RUN.findall(str(step.get("run", ""))):
                found.setdefault(stack, []).append(job_id)
    return found


def test_the_deploy_verifies_each_stack_after_its_up_and_prod_waits_for_staging() -> None:
    jobs = _load(DEPLOY)["jobs"]
    with_steps = {job_id: job for job_id, job in jobs.items() if "steps" in job}
    ups = {
        step["with"]["stack-name"]: job_id
        for job_id, job in with_steps.items()
        for step in _pulumi_steps(job)
        if step["with"].get("command") == "up"
    }
    assert ups == {"staging": "deploy-staging", "prod": "deploy-prod"}
    verifies = _verify_jobs(jobs)
    assert sorted(verifies) == ["prod", "staging"]
    read_environment = {stack: environment for environment, stack in READ_ENVIRONMENTS.items()}
    for stack, up in ups.items():
        assert len(verifies[stack]) == 1, f"one job verifies {stack}: {verifies[stack]}"
        verify = verifies[stack][0]
        job = jobs[verify]
        assert _needs(job) == [up], f"{verify} runs right after {up}, and only after it"
        # It only reads: the stack's read environment, none of its secrets, no preview and no up.
        assert job["environment"] == read_environment[stack]
        assert "secrets." not in json.dumps(job), f"{verify} needs no secret"
        assert not _pulumi_steps(job)
        (prepare,) = [s for s in job["steps"] if s.get("uses") == PREPARE_USES]
        assert (prepare["with"]["stack"], prepare["with"]["secret-config"]) == (stack, "false")
        steps = [s.get("uses") or s.get("run") for s in job["steps"]]
        assert steps.index(PREPARE_USES) < next(i for i, s in enumerate(steps) if VERIFY_RUN.search(str(s)))
    # Prod's deploy (and so its approval) waits for staging to pass.
    assert verifies["staging"][0] in _ancestors(jobs, "deploy-prod")
    assert "deploy-prod" not in _ancestors(jobs, verifies["staging"][0])


FAKE_MAKE = """#!/usr/bin/env bash
printf '%s\\n' "make $*" >> "$CALLS"
attempt=$(( $(cat "$COUNT" 2>/dev/null || echo 0) + 1 ))
echo "$attempt" > "$COUNT"
echo "table of attempt $attempt"
[ "$attempt" -gt "$FAILURES" ] || exit 2   # make's status when its recipe fails
"""
FAKE_SLEEP = """#!/usr/bin/env bash
printf '%s\\n' "sleep $*" >> "$CALLS"
"""


def _run_step(step: dict[str, Any], tmp_path: Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A `run:` step as GitHub runs one without `shell:` (bash -e), with a runner's temp and summary files."""
    assert "shell" not in step and "${{" not in step["run"], "the step must run as it is written"
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    env = {"RUNNER_TEMP": str(tmp_path), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), **env}
    return subprocess.run(["bash", "-e", str(script)], cwd=cwd, env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("failures", "status", "makes"), [(0, 0, 1), (2, 0, 3), (3, 2, 3)])
def test_the_verify_step_tries_three_times_a_minute_apart(
    tmp_path: Path, failures: int, status: int, makes: int
) -> None:
    jobs = _load(DEPLOY)["jobs"]
    (job,) = _verify_jobs(jobs)["staging"]
    step = next(s for s in jobs[job]["steps"] if VERIFY_RUN.search(str(s.get("run", ""))))
    bin_dir = _fake_bin(tmp_path, make=FAKE_MAKE, sleep=FAKE_SLEEP)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "CALLS": str(tmp_path / "calls"),
        "COUNT": str(tmp_path / "count"),
        "FAILURES": str(failures),
    }
    result = _run_step(step, tmp_path, tmp_path, env)
    assert result.returncode == status, result.stdout + result.stderr
    make = "make verify STACK=staging ARGS=--timeout 10 --retries 2"
    assert (tmp_path / "calls").read_text().splitlines() == ([make, "sleep 60"] * makes)[: 2 * makes - 1]
    summary = (tmp_path / "summary.md").read_text()
    verdict = "passed" if status == 0 else "failed"
    assert summary.startswith(f"### make verify STACK=staging: {verdict} (attempt {makes} of 3)\n")
    assert f"table of attempt {makes}\n" in summary and f"table of attempt {makes - 1}\n" not in summary
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error::")]
    assert len(errors) == (0 if status == 0 else 1)


def _integration_test_module() -> Any:
    path = PROJECT_ROOT / "tests" / "integration" / "test_up_verify_destroy.py"
    spec = importlib.util.spec_from_file_location("_integration_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _integration_job() -> dict[str, Any]:
    workflow = _load(INTEGRATION)
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}
    (job,) = workflow["jobs"].values()
    return job


def _integration_step(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if "pytest tests/integration" in str(s.get("run", ""))]
    return step


def test_the_integration_workflow_gives_the_test_what_it_needs_and_no_more() -> None:
    job = _integration_job()
    assert job["environment"] == "staging"
    step = _integration_step(job)
    module = _integration_test_module()
    env = step["env"]
    assert set(env) == {*module.NEEDED, "PSF_INFRA_INTEGRATION"}
    assert env["PSF_INFRA_INTEGRATION"] == "1"
    assert env["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    # The test's variable for each config key holds the environment secret the deploys set that key from.
    # A throw-away copy of staging pages no one and reads no Fastly metrics: the required secrets only.
    assert sorted(module.SECRETS) == REQUIRED_SECRET_KEYS
    for key, variable in _script_keys().items():
        if key not in module.SECRETS:
            continue
        assert env[module.SECRETS[key]] == f"${{{{ secrets.{variable.removeprefix('V_')} }}}}", key
    # No other step holds a secret, and the stack's own secret config is not written.
    assert "secrets." not in json.dumps([s for s in job["steps"] if s is not step])
    (prepare,) = [s for s in job["steps"] if s.get("uses") == PREPARE_USES]
    assert prepare["with"]["secret-config"] == "false"
    assert _concurrency(job)["queue"] == "max", "queueing it must not cancel a staging deploy already waiting"


def test_a_skipped_integration_test_fails_the_scheduled_run(tmp_path: Path) -> None:
    step = _integration_step(_integration_job())
    # The real test, with no credential at all: it skips itself, and the step must fail, giving the reason.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PSF_INFRA_INTEGRATION": "1"}
    result = _run_step(step, tmp_path, PROJECT_ROOT, env)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error::")]
    assert len(errors) == 1 and errors[0].startswith("::error::the integration test did not run: "), errors
    assert "the Pulumi CLI is not installed" in errors[0] or "credentials missing" in errors[0]


FAKE_PYTHON = """#!/usr/bin/env bash
if [ "$1" = -m ] && [ "$2" = pytest ]; then
  for arg; do
    case "$arg" in --junitxml=*) [ ! -f "$REPORT" ] || cp "$REPORT" "${arg#--junitxml=}" ;; esac
  done
  exit "$PYTEST_STATUS"
fi
exec "$REAL_PYTHON" "$@"
"""
CASE = '<testcase classname="test_up_verify_destroy" name="test_up_verify_destroy_on_a_throw_away_stack"'
REPORTS = {
    "passed": f'<testsuites><testsuite name="pytest" tests="1">{CASE} time="1.0"/></testsuite></testsuites>',
    "failed": f'<testsuites><testsuite name="pytest" tests="1">{CASE}><failure message="up"/></testcase>'
    "</testsuite></testsuites>",
    "empty": '<testsuites><testsuite name="pytest" tests="0"/></testsuites>',
}


@pytest.mark.parametrize(
    ("report", "pytest_status", "status", "error"),
    [
        ("passed", 0, 0, None),
        ("failed", 1, 1, None),
        ("empty", 0, 1, "::error::tests/integration collected no test"),
        ("missing", 4, 4, "::error::pytest wrote no readable report"),
    ],
)
def test_the_integration_step_passes_only_when_the_test_ran_and_passed(
    tmp_path: Path, report: str, pytest_status: int, status: int, error: str | None
) -> None:
    step = _integration_step(_integration_job())
    work = tmp_path / "work"
    _fake_bin(work / ".venv", python=FAKE_PYTHON)
    if report in REPORTS:
        (tmp_path / "report.xml").write_text(REPORTS[report])
    env = {
        "PATH": os.environ["PATH"],
        "REAL_PYTHON": sys.executable,
        "REPORT": str(tmp_path / "report.xml"),
        "PYTEST_STATUS": str(pytest_status),
    }
    result = _run_step(step, tmp_path, work, env)
    assert result.returncode == status, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error::")]
    assert [e[: len(error or "")] for e in errors] == ([error] if error else [])


def _apt_packages(text: str) -> set[str]:
    packages: set[str] = set()
    for line in re.findall(r"apt-get install ([^\n]*)", text):
        packages |= {word for word in line.split() if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", word)}
    return packages


def test_the_tests_workflow_installs_the_debian_packages_ci_installs() -> None:
    wanted = _apt_packages((PROJECT_ROOT / ".ci" / "run").read_text())
    assert {"nsd", "ldnsutils"} <= wanted
    (job,) = _load(GITHUB / "workflows" / "tests.yml")["jobs"].values()
    runs = [str(step.get("run", "")) for step in job["steps"]]
    install = next(i for i, run in enumerate(runs) if _apt_packages(run))
    assert _apt_packages(runs[install]) == wanted
    assert install < runs.index("make test"), "install them before the tests run"


# --- permissions and checkouts ------------------------------------------------------------------------------


def test_permissions_are_granted_per_job() -> None:
    for path in WORKFLOWS:
        assert _load(path)["permissions"] == {}, f"{path.name}: the workflow itself grants nothing"
    for path, job_id, job in _jobs():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{path.name} {job_id} must list its permissions"
        assert set(permissions.values()) <= {"read", "write", "none"}
        if permissions.get("id-token") == "write":
            assert "environment" in job, f"{path.name} {job_id}: an OIDC token only with an environment's role"


def test_no_checkout_keeps_its_credentials() -> None:
    checkouts = [(p, s) for p, s in _steps() if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkouts
    for path, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, path.name


# --- the README tells the truth -----------------------------------------------------------------------------


def _readme_section() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    return readme[readme.index("### What the repository needs") : readme.index("### Drift")]


def test_readme_names_exactly_the_secrets_and_variables_the_workflows_read() -> None:
    texts = "".join(p.read_text() for p in [*WORKFLOWS, *ACTIONS])
    used = set(re.findall(r"(?:secrets|vars)\.([A-Z][A-Z0-9_]+)", texts)) - {"GITHUB_TOKEN"}
    named = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", _readme_section()))
    assert used - named == set(), "the README's tables must name every secret and variable"
    assert named - used == set(), "the README names secrets or variables no workflow reads"


def test_readme_describes_every_environment() -> None:
    section = _readme_section()
    for environment in [*READ_ENVIRONMENTS, *WRITE_ENVIRONMENTS]:
        assert f"| `{environment}` |" in section, environment


# --- code owners --------------------------------------------------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    """A CODEOWNERS pattern (gitignore rules) as a regex over repository-relative paths."""
    body = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in body
    parts = re.split(r"(\*\*|\*|\?)", body)
    glob = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    regex = "".join(glob.get(part, re.escape(part)) for part in parts)
    prefix = "" if anchored else "(?:.*/)?"
    suffix = "/.*" if pattern.endswith("/") else "(?:/.*)?"
    return re.compile(f"^{prefix}{regex}{suffix}$")


def _owners(path: str) -> list[str]:
    owners: list[str] = []
    for line in (GITHUB / "CODEOWNERS").read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if fields and _pattern(fields[0]).match(path):
            owners = fields[1:]  # the last matching pattern wins
    return owners


def test_codeowners_patterns_follow_githubs_rules() -> None:
    assert _pattern("/policy/").match("policy/rules/dns.py")
    assert not _pattern("/policy/").match("tests/policy/x.py")
    assert _pattern("/Pulumi.*.yaml").match("Pulumi.prod.yaml")
    assert not _pattern("/Pulumi.*.yaml").match("Pulumi.yaml")
    assert _pattern("docs").match("a/docs/b.md")


def _tracked(*roots: str) -> list[str]:
    files = []
    for root in roots:
        base = PROJECT_ROOT / root
        candidates = [base] if base.is_file() else [p for p in base.rglob("*") if p.is_file()]
        files += [p.relative_to(PROJECT_ROOT).as_posix() for p in candidates if "__pycache__" not in p.parts]
    return files


def test_the_infrastructure_team_reviews_dns_stack_files_policy_and_workflows() -> None:
    zones = [p.relative_to(PROJECT_ROOT).as_posix() for p in sorted(PROJECT_ROOT.glob("components/dns_*.py"))]
    sensitive = _tracked("stacks/dns.py", *zones, "Pulumi.yaml", "policy", ".github")
    sensitive += [p.name for p in PROJECT_ROOT.glob("Pulumi.*.yaml")]
    assert len(sensitive) > 20
    for path in sensitive:
        assert TEAM in _owners(path), f"{path} needs the infrastructure team's review (.github/CODEOWNERS)"


def test_every_module_that_writes_dns_or_talks_to_the_registrar_is_owned() -> None:
    modules = [p for d in ("stacks", "components") for p in sorted((PROJECT_ROOT / d).glob("*.py"))]
    # A Route 53 resource or data source (route53.Record(...), route53.get_zone), or the registrar; a
    # metric name such as aws.route53.dns_queries in a monitor is not a DNS change.
    dns = [p for p in modules if re.search(r"\broute53\.(?:[A-Z]|get_)|\bpulumiverse_gandi\b", p.read_text())]
    assert dns
    for path in dns:
        relative = path.relative_to(PROJECT_ROOT).as_posix()
        assert TEAM in _owners(relative), f"{relative} changes DNS: add it to .github/CODEOWNERS"


# --- Dependabot and zizmor's configuration -------------------------------------------------------------------


def test_dependabot_updates_actions_and_pip_weekly_grouped() -> None:
    config = _load(GITHUB / "dependabot.yml")
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(updates) == {"github-actions", "pip"}
    for ecosystem, update in updates.items():
        assert update["schedule"]["interval"] == "weekly", ecosystem
        assert [g["patterns"] for g in update["groups"].values()] == [["*"]], ecosystem
        assert update["cooldown"]["default-days"] >= 7, ecosystem
    assert {"/", "/.github/actions/*"} <= set(updates["github-actions"]["directories"])
    manifests = {p.parent for p in PROJECT_ROOT.glob("**/requirements*.txt") if ".venv" not in p.parts}
    directories = {"/" + p.relative_to(PROJECT_ROOT).as_posix() if p != PROJECT_ROOT else "/" for p in manifests}
    assert directories == set(updates["pip"]["directories"])


def test_every_accepted_zizmor_finding_carries_its_reason() -> None:
    config = _load(GITHUB / "zizmor.yml")
    lines = (GITHUB / "zizmor.yml").read_text().splitlines()
    for rule, settings in config["rules"].items():
        assert not settings.get("disable"), f"zizmor audit {rule} is disabled: ignore single findings instead"
        for entry in settings.get("ignore", []):
            line = next(line for line in lines if line.strip().startswith(f"- {entry}"))
            assert re.search(r"#\s*\S", line), f"zizmor.yml: ignore {entry} of {rule} needs its reason"
    for path in [*WORKFLOWS, *ACTIONS]:
        for comment in re.findall(r"zizmor: ignore\[[^\]]*\](.*)", path.read_text()):
            assert comment.strip(" :-"), f"{path.name}: an inline zizmor ignore needs its reason"


# --- ShellCheck over the workflows (tools/workflow_shell.py) -------------------------------------------------

SAMPLE = """\
name: sample
on: push
jobs:
  a:
    runs-on: ubuntu-24.04
    steps:
      - name: unquoted
        run: |
          set -e
          echo $1 "${{ github.sha }}"
      - run: test -n "${{ github.ref }}"
      - shell: python
        run: print($x)
      - shell: sh
        run: |
          [[ -n "$HOME" ]]
  b:
    runs-on: ubuntu-24.04
    defaults:
      run:
        shell: pwsh
    steps:
      - run: echo $x
"""


def _sample(tmp_path: Path) -> Path:
    path = tmp_path / "sample.yml"
    path.write_text(SAMPLE)
    return path


def test_blocks_come_with_their_shell_and_line(tmp_path: Path) -> None:
    blocks = yaml_blocks(_sample(tmp_path))
    assert [(b.shell, b.first_line, b.indent) for b in blocks] == [("bash", 9, 10), ("bash", 11, 13), ("sh", 16, 10)]
    assert "${{" not in blocks[0].script and len(blocks[0].script) == len('set -e\necho $1 "${{ github.sha }}"\n')


def test_findings_point_at_the_workflow_line(tmp_path: Path) -> None:
    findings = check(yaml_blocks(_sample(tmp_path)))
    assert [(f.line, f.column, f.code) for f in findings] == [(10, 16, 2086), (16, 11, 3010)]
    assert str(findings[0]).startswith(f"{tmp_path / 'sample.yml'}:10:16: SC2086 (info) Double quote")
    assert "job a, step 1 (unquoted)" in str(findings[0])


def test_a_script_needs_a_shebang(tmp_path: Path) -> None:
    script = tmp_path / "run"
    script.write_text("echo hi\n")
    with pytest.raises(WorkflowShellError, match="no bash or sh shebang"):
        script_block(script)
    script.write_text("#!/usr/bin/env bash\necho hi\n")
    assert script_block(script) == ShellBlock(script, "script", "bash", "#!/usr/bin/env bash\necho hi\n", 1, 0)


def test_the_repositorys_shell_is_clean() -> None:
    scripts = [PROJECT_ROOT / ".ci" / "run", *sorted(GITHUB.glob("actions/*/*.sh"))]
    blocks = blocks_of([*WORKFLOWS, *ACTIONS, *scripts])
    assert len(blocks) > 15
    assert [str(f) for f in check(blocks)] == []


def test_the_drift_workflow_watches_registration_expiry_without_credentials() -> None:
    workflow = _load(GITHUB / "workflows" / "drift.yml")
    job = workflow["jobs"]["registration"]
    # RDAP is public: no environment, no secret, no state; it files an issue as the drift job does.
    assert "environment" not in job and "secrets." not in json.dumps(job)
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    runs = [str(s.get("run", "")) for s in job["steps"]]
    assert any("make registration STACK=prod" in run for run in runs)
    assert "registration:" in (PROJECT_ROOT / "Makefile").read_text()
