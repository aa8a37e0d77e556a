"""Every hostile configuration ends in one clear line and the right exit code, before anything is registered.

The cases are in tests/hostile.py (``python -m tests.hostile`` prints them as a table). For each: the exit
code is the one documented (2 for configuration), stdout is empty, stderr is exactly one line starting
``error:`` (or argparse's usage), the message says what the case expects, and no traceback appears.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile import CASES, PEM_BODY, Hostile, run, verdict


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_gets_one_line_and_its_exit_code(case: Hostile, tmp_path: Path) -> None:
    outcome = run(case, tmp_path)
    assert "Traceback" not in outcome.stdout + outcome.stderr
    assert outcome.exit == case.exit, outcome.stderr
    assert outcome.stdout == "", "nothing may be planned"
    lines = outcome.stderr.splitlines()
    if case.id == "bad-option":
        assert lines[0].startswith("usage:")
        return
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    for expected in case.says:
        assert expected in lines[0], lines[0]
    assert verdict(case, outcome) == "clear one-line error"


def test_case_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


def test_every_category_of_the_issue_is_covered() -> None:
    categories = {c.category for c in CASES}
    assert {"admin networks", "environment", "collisions", "stack file", "file shape", "messages"} <= categories
    assert len(CASES) >= 60


def test_a_pasted_private_key_is_never_echoed(tmp_path: Path) -> None:
    (case,) = [c for c in CASES if c.id == "ca-private-key"]
    outcome = run(case, tmp_path)
    assert outcome.exit == 2
    assert PEM_BODY not in outcome.stdout + outcome.stderr
    assert "PRIVATE KEY" not in outcome.stderr


@pytest.mark.parametrize(
    ("case_id", "secret"),
    [
        ("plaintext-secret", "abc123notencrypted"),
        ("pagerduty-token-plaintext", "u+abcdefghijklmnopqrst"),
        ("fastly-metrics-key-plaintext", "k" * 32),
        ("gandi-token-plaintext", "a-personal-access-token"),
        ("oncall-emails-bare", "ee@example.org"),
        ("oncall-emails-missing", "ee@example.org"),
    ],
)
def test_a_secret_in_a_bad_input_is_never_echoed(case_id: str, secret: str, tmp_path: Path) -> None:
    (case,) = [c for c in CASES if c.id == case_id]
    outcome = run(case, tmp_path)
    assert outcome.exit == 2
    assert secret not in outcome.stdout + outcome.stderr
