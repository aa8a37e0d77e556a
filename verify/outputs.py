"""A stack's outputs: from ``pulumi stack output --json`` when the CLI is there, or from a file of that JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class OutputsError(Exception):
    """The outputs could not be read; the message is one line saying why and what to do."""


def from_file(path: Path) -> Mapping[str, Any]:
    """The JSON object in ``path`` (what ``pulumi stack output --json`` prints)."""
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise OutputsError(f"--outputs {path}: cannot read it ({exc.strerror or exc})") from None
    except json.JSONDecodeError as exc:
        raise OutputsError(f"--outputs {path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(document, dict):
        raise OutputsError(f"--outputs {path}: expected a JSON object of stack outputs, got {type(document).__name__}")
    return document


def from_cli(stack: str, *, cwd: Path, timeout: float = 120.0) -> Mapping[str, Any]:
    """``pulumi stack output --json --stack <stack>`` run in the project directory (secrets stay masked)."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise OutputsError(
            "the Pulumi CLI is not installed: pass --outputs FILE with the JSON of `pulumi stack output --json`"
        )
    try:
        done = subprocess.run(
            [pulumi, "stack", "output", "--json", "--stack", stack],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OutputsError(f"`pulumi stack output --json --stack {stack}` did not run: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise OutputsError(f"`pulumi stack output --json --stack {stack}` failed: {last}")
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise OutputsError(f"`pulumi stack output --json` printed no JSON ({exc.msg})") from None
    if not isinstance(document, dict):
        raise OutputsError("`pulumi stack output --json` printed something other than an object")
    return document
