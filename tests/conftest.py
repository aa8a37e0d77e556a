"""Shared fixtures: each stack is evaluated once per test session and every test reads the same records."""

from __future__ import annotations

import pytest

from offline.recorder import Recording, record_stack


@pytest.fixture(scope="session")
def prod() -> Recording:
    return record_stack("prod")


@pytest.fixture(scope="session")
def staging() -> Recording:
    return record_stack("staging")


@pytest.fixture(scope="session", params=["prod", "staging"])
def stack(request: pytest.FixtureRequest) -> Recording:
    """Each of the two stacks in turn, for properties both must have."""
    return record_stack(request.param)
