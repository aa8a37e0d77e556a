"""The offline plan of a real stack with one injected fault: a mandatory policy violation.

    python -m tests.mutant_plan --stack staging [plan options]

The settings refuse every configuration known to lead to a mandatory violation, so no stack file can make
the real plan exit 3. This runs the real ``offline.plan.main`` over the real recording with one firewall's
SSH rule opened to two halves of the internet, to prove the plan (and ``make plan``, through its ``PLAN``
variable) exits 3 when the policy pack refuses. Used by tests/test_foundation.py.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

from offline import plan
from offline.recorder import PROJECT_ROOT, Recording, record_stack

FIREWALL = "digitalocean:index/firewall:Firewall"


def with_open_ssh(recording: Recording) -> Recording:
    """``recording`` with one firewall's SSH rule open to 0.0.0.0/1 and 128.0.0.0/1: the first by logical name.

    By name, not by position: registration order varies between runs, and firewalls differ in how many SSH
    rules they have, which the tests count.
    """
    records = list(recording.records)
    index = min((i for i, r in enumerate(records) if r.type == FIREWALL), key=lambda i: records[i].name)
    inputs = copy.deepcopy(dict(records[index].inputs))
    for rule in inputs["inboundRules"]:
        if rule.get("portRange") == "22":
            rule["sourceAddresses"] = ["0.0.0.0/1", "128.0.0.0/1"]
    records[index] = dataclasses.replace(records[index], inputs=inputs)
    return Recording(recording.stack, tuple(records), recording.stack_outputs, recording.calls)


def main(argv: Sequence[str] | None = None) -> int:
    """``offline.plan.main`` with the fault injected into whatever stack it records."""

    def faulty(stack: str, overrides: Mapping[str, Any] | None = None, *, root: Path = PROJECT_ROOT) -> Recording:
        return with_open_ssh(record_stack(stack, overrides, root=root))

    with mock.patch.object(plan, "record_stack", faulty):
        return plan.main(argv)


if __name__ == "__main__":
    sys.exit(main())
