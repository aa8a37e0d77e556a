"""The cloud clients discovery uses never reach the program's path: `pulumi preview` and the plan do not pay for them.

The check follows every import statement (top-level and inside functions) from the program's entry points
through the project's own modules, so a lazy import in a rarely-run branch counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

from offline.recorder import PROJECT_ROOT

# What `pulumi preview` runs (__main__.py), and what the offline plan, policy check and docs run.
ENTRY_POINTS = ("__main__.py", "offline/plan.py", "offline/recorder.py", "offline/docs.py")
# The clients of adopt/ and their transports, and adopt/ itself.
FORBIDDEN = frozenset(
    {"adopt", "boto3", "botocore", "moto", "pydo", "azure", "fastly", "datadog_api_client", "urllib3", "trustme"}
)


def _module_file(name: str) -> Path | None:
    """The project's own file for a dotted module name, or None for a module from elsewhere."""
    base = PROJECT_ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    package = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{parent}.{node.module}" if node.module else parent
            else:
                module = node.module or ""
            names.add(module)
            # `from stacks import dns` imports the module stacks.dns.
            names |= {f"{module}.{alias.name}" for alias in node.names if _module_file(f"{module}.{alias.name}")}
    return names


def program_imports() -> dict[str, set[str]]:
    """Every module name the program's path imports -> the project files that import it."""
    seen: set[Path] = set()
    found: dict[str, set[str]] = {}
    todo = [PROJECT_ROOT / entry for entry in ENTRY_POINTS]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            found.setdefault(name, set()).add(str(path.relative_to(PROJECT_ROOT)))
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                if (own := _module_file(".".join(parts[:depth]))) is not None:
                    todo.append(own)
    return found


def test_the_program_path_imports_no_cloud_client() -> None:
    imported = program_imports()
    offending = {name: sorted(where) for name, where in imported.items() if name.split(".")[0] in FORBIDDEN}
    assert not offending, f"the program's path imports discovery's clients: {offending}"


def test_the_walk_reaches_the_program() -> None:
    # Proof the walk above follows the project's imports: it finds the estate and the components.
    imported = program_imports()
    assert "stacks.estate" in imported
    assert any(name.startswith("components.") for name in imported)
    assert any(name.split(".")[0] == "pulumi_aws" for name in imported)


def test_the_walk_sees_a_lazy_import() -> None:
    # discover.py imports its AWS reader inside a function: the walk parses every statement, not only the top.
    assert "adopt.live_aws" in _imports(PROJECT_ROOT / "adopt" / "discover.py")
