"""The preview check that refuses an import which would also change the live resource (pulumi/pulumi#16397)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools import import_guard

ZONE = "urn:pulumi:prod::psf-infra::psf:estate:Global$infra:dns:DnsZone$aws:route53/zone:Zone::python-org-zone"
MX = "urn:pulumi:prod::psf-infra::psf:estate:Global$infra:dns:DnsZone$aws:route53/record:Record::python-org-apex-mx"


def preview(*steps: dict[str, Any]) -> dict[str, Any]:
    """A document shaped as `pulumi preview --json` prints it (steps, changeSummary)."""
    summary: dict[str, int] = {}
    for step in steps:
        summary[step["op"]] = summary.get(step["op"], 0) + 1
    return {"steps": list(steps), "changeSummary": summary}


def step(op: str, urn: str, **extra: Any) -> dict[str, Any]:
    return {
        "op": op,
        "urn": urn,
        "provider": "urn:pulumi:prod::psf-infra::pulumi:providers:aws::aws-global::x",
        **extra,
    }


def test_clean_imports_and_ordinary_changes_pass() -> None:
    document = preview(step("import", ZONE, detailedDiff={}), step("create", MX), step("same", ZONE + "-other"))
    assert import_guard.findings(document) == []
    # An update of a resource that is not imported is an ordinary change, reviewed as such.
    assert import_guard.findings(preview(step("update", MX, diffReasons=["ttl"]))) == []


@pytest.mark.parametrize(
    ("steps", "says"),
    [
        ([step("import", ZONE), step("update", ZONE, diffReasons=["comment"])], "imported, then update of comment"),
        (
            [step("import", ZONE, detailedDiff={"comment": {"kind": "update", "inputDiff": True}})],
            "with a diff in comment",
        ),
        ([step("import-replacement", ZONE, replaceReasons=["name"])], "imported as a replacement"),
        ([step("import", MX), step("replace", MX), step("create-replacement", MX)], "then create-replacement/replace"),
    ],
)
def test_an_import_that_also_changes_is_refused(steps: list[dict[str, Any]], says: str) -> None:
    (finding,) = import_guard.findings(preview(*steps))
    assert says in str(finding) and finding.urn in (ZONE, MX)


def test_the_command_exits_non_zero_with_one_line_per_resource(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(preview(step("import", ZONE), step("update", ZONE, diffReasons=["comment"]))))
    assert import_guard.main([str(path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"error: {ZONE}: imported, then update of comment" and len(lines) == 2
    path.write_text(json.dumps(preview(step("import", ZONE))))
    assert import_guard.main([str(path)]) == 0
    assert capsys.readouterr().out == "1 import(s), none changing the live resource\n"


@pytest.mark.parametrize("text", ["not json", "[]", '{"steps": [{"op": "create"}]}', '{"changeSummary": {}}'])
def test_anything_but_a_preview_document_is_an_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "preview.json"
    path.write_text(text)
    assert import_guard.main([str(path)]) == 2
