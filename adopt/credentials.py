"""The stack's own credentials for reading the live accounts: its Pulumi config, or the environment.

Discovery reads with the credentials the stack deploys with, never whatever a shell or ``~/.aws`` happens
to hold: the same rule that disables the default providers. With the Pulumi CLI installed (and logged in
to the stack's backend) each key is read with ``pulumi config get --show-secrets``; without it, from one
environment variable per key, the names each cloud's own tools use. The source is always stated.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from offline.recorder import PROJECT, PROJECT_ROOT

# config key -> environment variable, per cloud.
KEYS: Final[Mapping[str, Mapping[str, str]]] = {
    "aws": {"awsAccessKeyId": "AWS_ACCESS_KEY_ID", "awsSecretAccessKey": "AWS_SECRET_ACCESS_KEY"},
    "digitalocean": {"digitaloceanToken": "DIGITALOCEAN_TOKEN"},
    "fastly": {"fastlyApiKey": "FASTLY_API_KEY"},
    "datadog": {"datadogApiKey": "DD_API_KEY", "datadogAppKey": "DD_APP_KEY"},
}
# Temporary AWS credentials (a CI role) carry a session token, which is not part of the stack's config.
AWS_SESSION_TOKEN: Final = "AWS_SESSION_TOKEN"
SOURCES: Final = ("auto", "pulumi", "env")


class CredentialsError(Exception):
    """A credential is missing or could not be read; one line naming the key and how to provide it."""


@dataclass(frozen=True)
class Credentials:
    """The secrets of one cloud, by config key, and where they came from (said on stderr, never the values)."""

    cloud: str
    values: Mapping[str, str]
    source: str
    session_token: str | None = None

    def __getitem__(self, key: str) -> str:
        return self.values[key]

    def __repr__(self) -> str:
        return f"Credentials({self.cloud}, from {self.source})"


Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run(argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def resolve_source(source: str) -> str:
    """``pulumi`` or ``env``: ``auto`` picks the stack's config when the CLI is installed."""
    if source not in SOURCES:
        raise CredentialsError(f"--credentials {source!r} is invalid: one of {', '.join(SOURCES)}")
    if source == "auto":
        return "pulumi" if shutil.which("pulumi") else "env"
    return source


def load(
    cloud: str,
    stack: str,
    source: str,
    *,
    environ: Mapping[str, str] | None = None,
    run: Runner | None = None,
    cwd: Path = PROJECT_ROOT,
) -> Credentials:
    """The credentials of ``cloud`` for ``stack`` from ``source``, ``pulumi`` or ``env`` (:func:`resolve_source`)."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for key, variable in KEYS[cloud].items():
        if source == "env":
            value = env.get(variable, "")
            if not value:
                raise CredentialsError(
                    f"credential {PROJECT}:{key} for {cloud} is not set: export {variable} "
                    f"(or install the Pulumi CLI to read stack {stack}'s config)"
                )
        elif source == "pulumi":
            value = _from_config(stack, key, run or (lambda argv: _run(argv, cwd)))
        else:
            raise CredentialsError(f"credentials source {source!r} is invalid: pulumi or env")
        values[key] = value
    described = (
        f"pulumi config of stack {stack}"
        if source == "pulumi"
        else "environment (" + ", ".join(KEYS[cloud].values()) + ")"
    )
    token = (env.get(AWS_SESSION_TOKEN) or None) if cloud == "aws" and source == "env" else None
    return Credentials(cloud, values, described, token)


def _from_config(stack: str, key: str, run: Runner) -> str:
    pulumi = shutil.which("pulumi") or "pulumi"
    argv = [pulumi, "config", "get", "--stack", stack, "--show-secrets", f"{PROJECT}:{key}"]
    try:
        done = run(argv)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CredentialsError(f"`pulumi config get {PROJECT}:{key} --stack {stack}` did not run: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise CredentialsError(
            f"credential {PROJECT}:{key} of stack {stack} could not be read: {last} "
            f"(set it with `pulumi config set --secret {key}`)"
        )
    value = done.stdout.strip()
    if not value:
        raise CredentialsError(f"credential {PROJECT}:{key} of stack {stack} is empty")
    return value
